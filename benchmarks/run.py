"""Start-up and round-trip benchmark of the borgconf CLI (GitHub issue 5).

    .venv/bin/python benchmarks/run.py [--runs N] [--version-select 8.2|7.0]

Every figure is a fresh subprocess of the installed ``borgconf`` console
script, so interpreter start-up and imports are counted. Each is compared with
floors measured in the same run, interleaved round by round so that drift of
the machine hits floors and figures alike:

* ``python -c pass`` (the interpreter of the console script);
* ``python -c "import redis; redis.Redis(port=P).config_get('*')"``, the least
  any Python tool reading a Redis configuration pays.

The Redis server is a throwaway ``redis-server`` started here (on a free
127.0.0.1 port, with its own redis.conf in a temporary directory) and stopped
by PID at the end; no other server is ever contacted. Before each timed
``apply`` the 10 parameters are set back to the server's own values and
persisted (outside the timing), so every timed apply really changes 10
parameters and runs CONFIG REWRITE; the ``plan`` in sync runs right after it.

Peak RSS is the child's own ``ru_maxrss`` from ``os.wait4`` in a small
launcher process (see LAUNCHER for why not subprocess from here). Results are
printed and written to ``benchmarks/results/<date>-<host>.md`` and
``benchmarks/results/latest.md``. Not part of the test suite's pass/fail: a
target that is missed is reported, never turned into an exit code.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import os
import platform
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from redis_servers import RedisServer, binary_version, find_binaries  # noqa: E402

# Ten live parameters with values other than the defaults of Redis 7.0 and 8.2.
CHANGES = {
    "maxmemory": "256mb",
    "maxmemory-policy": "allkeys-lru",
    "maxmemory-samples": "7",
    "timeout": "300",
    "tcp-keepalive": "60",
    "slowlog-log-slower-than": "5000",
    "slowlog-max-len": "256",
    "hz": "20",
    "latency-monitor-threshold": "100",
    "lazyfree-lazy-eviction": "yes",
}

DEPS = "import click, ruamel.yaml; from pydantic import BaseModel"

# borgconf's own share (GitHub issue 15): a figure's time minus the reference row
# that imports the same dependencies and, for commands that talk to Redis, does
# the redis-py floor's round trip. Figure key -> reference key.
OWN_SHARE = {
    "validate": "deps",
    "insync": "deps_redis",
    "plan10": "deps_redis",
    "apply": "deps_redis",
    "status": "deps_redis",
    "import": "deps_redis",
}
OWN_SHARE_TARGET_MS = 30.0

VALIDATE_SPECS = ("specs/borgstack.yaml", "examples/demo.yaml")  # the first that exists

# Dummy values for the ${VAR}s of the validated spec; never a real secret.
DUMMY_ENV = {"REDIS_PASSWORD": "benchmark-dummy-password"}


@dataclass
class Figure:
    key: str
    label: str
    floor: str | None  # key of the floor the time is compared with
    target: float | None  # max ratio against that floor
    rss_target: float | None = 1.5  # max peak RSS ratio against the redis-py floor
    times: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)  # user + system CPU seconds of the child
    rss_kib: list[int] = field(default_factory=list)


class RunFailed(RuntimeError):
    pass


# A small process that forks and execs each measured command and reaps it with
# wait4. Not subprocess from this process: subprocess spawns with vfork, and a
# vforked child's peak RSS (ru_maxrss) includes this process's own peak
# (redis-py is imported here), so every figure would read the same ~32 MiB.
# A child forked from this launcher starts from its few MiB, below any Python.
LAUNCHER = r"""
import os, sys, time
for line in sys.stdin:
    out, err, *argv = line.rstrip("\n").split("\0")
    start = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        try:
            fd = os.open(os.devnull, os.O_RDONLY); os.dup2(fd, 0)
            fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600); os.dup2(fd, 1)
            fd = os.open(err, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600); os.dup2(fd, 2)
            os.execv(argv[0], argv)
        finally:
            os._exit(127)
    _, status, usage = os.wait4(pid, 0)
    elapsed = time.perf_counter() - start
    sys.stdout.write("%d %.9f %d %.6f\n" % (os.waitstatus_to_exitcode(status), elapsed, usage.ru_maxrss, usage.ru_utime + usage.ru_stime))
    sys.stdout.flush()
"""


class Launcher:
    def __init__(self, python: str, env: dict[str, str], cwd: Path, tmpdir: Path):
        self.proc = subprocess.Popen([python, "-I", "-S", "-c", LAUNCHER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, cwd=cwd, text=True)
        self.out, self.err = tmpdir / "child.out", tmpdir / "child.err"

    def run(self, argv: list[str], *, expect_rc: int, expect_out: str | None) -> tuple[float, int, float]:
        """Wall time (s), peak RSS (KiB) and CPU time (s) of one child process, checked for what it must do."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write("\0".join([str(self.out), str(self.err), *argv]) + "\n")
        self.proc.stdin.flush()
        reply = self.proc.stdout.readline().split()
        if len(reply) != 4:
            raise RunFailed(f"the launcher died running {' '.join(argv)}")
        rc, elapsed, maxrss, cpu = int(reply[0]), float(reply[1]), int(reply[2]), float(reply[3])
        stdout = self.out.read_text(errors="replace")
        if rc != expect_rc or (expect_out is not None and expect_out not in stdout):
            raise RunFailed(
                f"{' '.join(argv)}: exit {rc} (expected {expect_rc})"
                + (f", expected {expect_out!r} in the output" if expect_out else "")
                + f"\n--- stdout\n{stdout}--- stderr\n{self.err.read_text(errors='replace')}"
            )
        return elapsed, maxrss, cpu  # Linux: KiB

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=10)


def interpreter_of(script: Path) -> str:
    first = script.read_text(errors="replace").splitlines()[0]
    if not first.startswith("#!"):
        raise SystemExit(f"{script} has no #! line; pass --borgconf the console script")
    return first[2:].strip().split()[0]


def write_spec(path: Path, url: str) -> None:
    lines = ["version: 1", "target:", f"  url: {url}", "  persist: rewrite", "server:"]
    lines += [f"  {name}: {value}" for name, value in CHANGES.items()]
    path.write_text("\n".join(lines) + "\n")


def reset(client, originals: dict[str, str]) -> None:
    """Untimed: the 10 parameters back to the server's own values, persisted."""
    args: list[str] = []
    for name, value in originals.items():
        args += [name, value]
    client.execute_command("CONFIG", "SET", *args)
    client.execute_command("CONFIG", "REWRITE")


def fmt_s(x: float) -> str:
    return f"{x:.3f}"


def table(figures: list[Figure], floors: dict[str, Figure]) -> str:
    redis_rss = statistics.median(floors["redis"].rss_kib)
    head = "| figure | median s | min–max s | ratio | target | met | CPU s | peak RSS MiB | RSS ratio | RSS target | RSS met |"
    rows = [head, "|" + "---|" * 11]
    for f in [*floors.values(), *figures]:
        med = statistics.median(f.times)
        rss = statistics.median(f.rss_kib)
        if f.floor:
            ratio = med / statistics.median(floors[f.floor].times)
            ratio_s = f"{ratio:.2f}× {floors[f.floor].label}"
        else:
            ratio, ratio_s = None, "(floor)"
        target_s = f"≤ {f.target:g}×" if f.target is not None else "—"
        met = "—" if f.target is None or ratio is None else ("yes" if ratio <= f.target else "**no**")
        rss_ratio = rss / redis_rss
        rss_target_s = f"≤ {f.rss_target:g}×" if f.rss_target is not None else "—"
        rss_met = "—" if f.rss_target is None else ("yes" if rss_ratio <= f.rss_target else "**no**")
        rows.append(
            f"| {f.label} | {fmt_s(med)} | {fmt_s(min(f.times))}–{fmt_s(max(f.times))} | {ratio_s} | {target_s} | {met}"
            f" | {fmt_s(statistics.median(f.cpu))} | {rss / 1024:.1f} | {rss_ratio:.2f}× | {rss_target_s} | {rss_met} |"
        )
    return "\n".join(rows)


def own_share_table(by_key: dict[str, Figure]) -> str:
    """borgconf's own share: per round, figure minus its reference (both ran in the same round)."""
    head = "| borgconf's own share | reference | median ms | min–max ms | target | met | CPU median ms | CPU min–max ms |"
    rows = [head, "|" + "---|" * 8]
    pairs = [*OWN_SHARE.items(), *((f"base_{k}", r) for k, r in OWN_SHARE.items())]
    for key, ref_key in pairs:
        if key not in by_key:
            continue
        f, ref = by_key[key], by_key[ref_key]
        diffs = [(a - b) * 1000 for a, b in zip(f.times, ref.times)]
        cpu = [(a - b) * 1000 for a, b in zip(f.cpu, ref.cpu)]
        med = statistics.median(diffs)
        met = "yes" if med <= OWN_SHARE_TARGET_MS else "**no**"
        ref_label = "deps" if ref_key == "deps" else "deps + redis-py floor"
        rows.append(
            f"| {f.label} | {ref_label} | {med:.0f} | {min(diffs):.0f}–{max(diffs):.0f} | ≤ {OWN_SHARE_TARGET_MS:g} | {met}"
            f" | {statistics.median(cpu):.0f} | {min(cpu):.0f}–{max(cpu):.0f} |"
        )
    return "\n".join(rows)


def git_describe() -> str:
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT, capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return (rev or "unknown") + (" (uncommitted changes)" if dirty else "")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=11, help="timed runs of every figure (at least 5; default 11)")
    ap.add_argument("--version-select", choices=("8.2", "7.0"), default="8.2", help="redis-server to start (default 8.2)")
    ap.add_argument("--borgconf", type=Path, default=Path(sys.executable).parent / "borgconf", help="the console script (default: next to this Python)")
    ap.add_argument(
        "--baseline",
        type=Path,
        help="another borgconf console script (e.g. an older commit's) whose validate, plan and apply run in the same rounds: its own share is reported beside this one's",
    )
    ap.add_argument("--results", type=Path, default=ROOT / "benchmarks" / "results", help="where the Markdown tables go")
    args = ap.parse_args()
    if args.runs < 5:
        ap.error("--runs must be at least 5")
    script = args.borgconf.resolve()
    if not script.is_file():
        ap.error(f"{script} not found: install borgconf (pip install -e .) or pass --borgconf")
    python = interpreter_of(script)
    baseline = args.baseline.resolve() if args.baseline else None
    if baseline is not None and not baseline.is_file():
        ap.error(f"{baseline} not found")
    binaries = find_binaries()  # keyed by server ("redis-8.2") since the fixtures offer four servers
    if f"redis-{args.version_select}" not in binaries:
        ap.error(f"no redis-server {args.version_select} on this machine (found: {', '.join(binaries) or 'none'}); see tests/setup.sh")
    binary = binaries[f"redis-{args.version_select}"]

    validate_spec = next((s for s in VALIDATE_SPECS if (ROOT / s).is_file()), None)
    if validate_spec is None:
        raise SystemExit(f"none of {', '.join(VALIDATE_SPECS)} exists")
    notes = []
    if validate_spec != VALIDATE_SPECS[0]:
        notes.append(f"{VALIDATE_SPECS[0]} does not exist yet: validate ran on {validate_spec} instead.")

    # nothing from the caller's environment may point borgconf at another server
    env = {k: v for k, v in os.environ.items() if k not in ("BORGCONF_URL", "BORGCONF_PASSWORD", "REDISCLI_AUTH", "PYTHONPATH", "PYTHONDONTWRITEBYTECODE")}
    env.update(DUMMY_ENV)
    env["NO_COLOR"] = "1"

    with tempfile.TemporaryDirectory(prefix="borgconf-bench-") as tmp:
        tmpdir = Path(tmp)
        # compiled bytecode as after `pip install`, kept out of the checkout and the
        # venv: the warm-up round writes it here, every timed run reads it
        env["PYTHONPYCACHEPREFIX"] = str(tmpdir / "pycache")
        server = RedisServer(binary, tmpdir / "redis")
        server.start()
        try:
            client = server.client()
            originals = {name: client.config_get(name)[name] for name in CHANGES}
            spec = tmpdir / "bench.yaml"
            write_spec(spec, server.url)
            floors = {
                "pass": Figure("pass", "`python -c pass`", None, None, rss_target=None),
                "redis": Figure("redis", "redis-py floor", None, None, rss_target=None),
            }
            # not borgconf: what its dependencies alone cost, to tell their share of a gap from ours
            references = [
                Figure("deps", "reference: import click, pydantic (BaseModel), ruamel.yaml", "redis", None, rss_target=None),
                Figure("deps_redis", "reference: redis-py floor + import click, pydantic, ruamel.yaml", "redis", None, rss_target=None),
            ]
            figures = [
                Figure("version", "`borgconf --version`", "pass", 3.0),
                Figure("validate", f"`borgconf validate {validate_spec}`", "redis", 0.5),
                Figure("plan10", "`plan`, 10 changes", "redis", None),
                Figure("apply", "`apply`, 10 changes + CONFIG REWRITE", "redis", 1.5),
                Figure("insync", "`plan`, in sync", "redis", 1.2),
                Figure("status", "`status`", "redis", None),
                Figure("import", "`import --url`", "redis", None),
            ]
            bc = str(script)
            # the baseline's figures: same commands, same rounds, right after ours
            BASE = ("validate", "plan10", "apply", "insync", "status", "import")
            base_figures = [Figure(f"base_{f.key}", f"baseline: {f.label}", f.floor, None, rss_target=None) for f in figures if f.key in BASE] if baseline else []
            commands = {
                "pass": ([python, "-c", "pass"], 0, None),
                "redis": ([python, "-c", f"import redis; redis.Redis(port={server.port}).config_get('*')"], 0, None),
                "deps": ([python, "-c", DEPS], 0, None),
                "deps_redis": ([python, "-c", f"{DEPS}; import redis; redis.Redis(port={server.port}).config_get('*')"], 0, None),
                "version": ([bc, "--version"], 0, "borgconf "),
                "validate": ([bc, "validate", validate_spec], 0, ": valid ("),
                "plan10": ([bc, "plan", str(spec), "--detailed-exitcode"], 2, "Plan: 10 to change live"),
                "apply": ([bc, "apply", str(spec), "--auto-approve"], 0, "applied 10 live change(s) (~ above), verified, persisted with CONFIG REWRITE"),
                "insync": ([bc, "plan", str(spec), "--detailed-exitcode"], 0, "No changes."),
                "status": ([bc, "status", str(spec)], 0, "Target default ("),
                "import": ([bc, "import", "--url", server.url], 0, "version: 1"),
            }
            if baseline:
                for key in BASE:
                    argv, rc, expect = commands[key]
                    commands[f"base_{key}"] = ([str(baseline), *argv[1:]], rc, expect)
            by_key = {**floors, **{f.key: f for f in (*references, *figures, *base_figures)}}
            order = ["pass", "redis", "deps", "deps_redis", "version", "validate", "plan10", "apply", "insync", "status", "import"] + [f.key for f in base_figures]
            launcher = Launcher(python, env, ROOT, tmpdir)
            # what a child inherits from the launcher: peak RSS below this is not measurable
            baseline_kib = min(launcher.run(["/bin/true"], expect_rc=0, expect_out=None)[1] for _ in range(3))
            notes.append(f"Peak RSS of `/bin/true` started the same way: {baseline_kib / 1024:.1f} MiB (the measuring method's own floor).")
            print(f"borgconf benchmark: {args.runs} runs + 1 warm-up, redis-server {binary_version(binary)} on {server.url}", file=sys.stderr)
            for n in range(args.runs + 1):  # round 0 warms the page cache and writes .pyc files
                for key in order:
                    if key in ("plan10", "base_plan10"):
                        reset(client, originals)
                    elif key in ("insync", "base_insync"):
                        # the apply just before must have left exactly the spec's values
                        now = {name: client.config_get(name)[name] for name in CHANGES}
                        if any(now[name] == originals[name] for name in CHANGES):
                            raise RunFailed(f"apply left some of the 10 parameters as they were: {now}")
                    argv, rc, expect = commands[key]
                    elapsed, rss, cpu = launcher.run(argv, expect_rc=rc, expect_out=expect)
                    if n:
                        by_key[key].times.append(elapsed)
                        by_key[key].cpu.append(cpu)
                        by_key[key].rss_kib.append(rss)
                print(f"  round {n}/{args.runs}{' (warm-up)' if not n else ''}", file=sys.stderr)
            launcher.close()
            reset(client, originals)
            client.close()
            server_version = binary_version(binary)
        finally:
            server.stop()

    now = _dt.datetime.now().astimezone()
    host = re.sub(r"[^A-Za-z0-9_.-]", "-", socket.gethostname()) or "local"
    body = table(references + figures + base_figures, floors)
    own = own_share_table(by_key)
    met = [f for f in figures if f.target is not None]
    report = "\n".join(
        [
            f"# borgconf benchmark, {now:%Y-%m-%d %H:%M %Z}",
            "",
            f"Command: `{Path(sys.executable).name} benchmarks/run.py --runs {args.runs} --version-select {args.version_select}"
            + (f" --baseline {args.baseline}" if args.baseline else "")
            + "`",
            "",
            f"- borgconf {git_describe()}, console script `{script}`" + (f"; baseline (same rounds): `{baseline}`" if baseline else ""),
            f"- Python {platform.python_version()} ({python}), redis-server {server_version}, {platform.platform()}, {os.cpu_count()} CPU(s), load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}",
            f"- {args.runs} timed runs of each figure (after one warm-up round), interleaved; median, min–max; ratios are medians over the floor's median; CPU s = median user + system CPU time of the child",
            f"- Floors: `python -c pass`; redis-py floor = `python -c \"import redis; redis.Redis(port=P).config_get('*')\"`",
            f"- References (no target): `python -c \"{DEPS}\"`, and the same followed by the redis-py floor's code: what borgconf's dependencies cost before borgconf does anything",
            "- Every process reads compiled bytecode (a fresh PYTHONPYCACHEPREFIX filled by the warm-up round), as after `pip install`",
            "- Spec for plan/apply: 10 live parameters (" + ", ".join(CHANGES) + "); each apply starts from the server's own values",
            *(f"- Note: {n}" for n in notes),
            "",
            body,
            "",
            "Own share = the figure minus its reference row in the same round (validate: the imports only; plan and apply: the imports + the redis-py floor's round trip); median and min–max of the per-round differences."
            " The target is on wall time (median ms). CPU ms is the same difference in the children's user + system CPU time (`ru_utime + ru_stime` from `os.wait4`):"
            " it does not count time spent waiting for a CPU, so on a loaded machine it shows what the wall figures cannot.",
            "",
            own,
            "",
            f"Time targets met: {sum(1 for f in met if statistics.median(f.times) / statistics.median(floors[f.floor].times) <= f.target)}/{len(met)}; "
            f"RSS targets met: {sum(1 for f in figures if statistics.median(f.rss_kib) / statistics.median(floors['redis'].rss_kib) <= 1.5)}/{len(figures)}.",
            "",
        ]
    )
    args.results.mkdir(parents=True, exist_ok=True)
    dated = args.results / f"{now:%Y-%m-%d}-{host}.md"
    dated.write_text(report)
    (args.results / "latest.md").write_text(report)
    print(report)
    print(f"written: {dated.relative_to(ROOT) if dated.is_relative_to(ROOT) else dated}, {args.results / 'latest.md'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except RunFailed as e:
        print(f"benchmark aborted: {e}", file=sys.stderr)
        sys.exit(1)
