"""Fleet scale benchmark of borgconf plan and apply (GitHub issue 12, item 7).

    .venv/bin/python benchmarks/fleet_scale.py [--sizes 1,10,50,100] [--runs 3]
                                               [--parallel 16] [--version-select 8.2]
                                               [--server-dir /dev/shm] [--out-name NAME.md]

Starts max(N) throwaway ``redis-server`` processes (tests/redis_servers.py:
127.0.0.1, free ports, a real redis.conf each in a temporary directory,
stopped by PID at the end; no other server is ever contacted). For each N it
writes a spec with ``targets:`` listing the first N servers and the same ten
live parameters as benchmarks/run.py, then times, as fresh processes of the
installed console script (start-up counted):

* ``borgconf plan SPEC --detailed-exitcode`` with 10 x N changes (exit 2 checked);
* ``borgconf apply SPEC --auto-approve``: 10 x N live changes, CONFIG SET,
  verify and CONFIG REWRITE on every target (exit 0 checked);
* ``borgconf plan SPEC --detailed-exitcode`` in sync right after (exit 0 checked).

Before each run the ten parameters are set back to every server's own values
and persisted (not timed), so every timed apply really changes 10 x N values.
Sizes are interleaved run by run, so the machine's drift hits N = 1 and
N = 100 alike. Each figure is the median of the runs; its ratio is over the
same figure at the smallest N of the same run.

Where the servers keep their files matters on one machine: every apply ends
with CONFIG REWRITE, which writes redis.conf and fsyncs it, and 100 servers
sharing one disk queue those fsyncs on it (a fleet's servers, each on its own
machine, do not). ``--server-dir /dev/shm`` puts their directories on tmpfs;
the table says which file system they were on. Peak RSS is the child's own
``ru_maxrss`` (see benchmarks/run.py, LAUNCHER). The goal of issue 12 is
plan and apply at N = 100 within 2x of N = 1; a miss shows as ``no`` and never
turns into an exit code. The table is printed and written to
``benchmarks/results/fleet-scale.md``.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as _dt
import os
import platform
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from run import CHANGES, Launcher, RunFailed, git_describe, interpreter_of, reset  # noqa: E402  (also puts tests/ on sys.path)

from redis_servers import RedisServer, binary_version, find_binaries  # noqa: E402

GOAL = 2.0  # issue 12: N = 100 within 2x of N = 1


def write_spec(path: Path, servers: list[RedisServer]) -> None:
    lines = ["version: 1", "targets:"]
    for i, srv in enumerate(servers):
        lines += [f"  - name: node-{i:03d}", f"    url: {srv.url}", "    persist: rewrite"]
    lines.append("server:")
    lines += [f"  {name}: {value}" for name, value in CHANGES.items()]
    path.write_text("\n".join(lines) + "\n")


def start_servers(binary: str, n: int, tmpdir: Path, workers: int = 4) -> list[RedisServer]:
    """n servers started; if one fails to start, those that did are stopped."""
    servers = [RedisServer(binary, tmpdir / f"redis-{i:03d}") for i in range(n)]
    try:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            list(pool.map(lambda s: s.start(), servers))
    except BaseException:
        for s in servers:
            s.stop()  # a server never started is left as it is
        raise
    return servers


def _filesystem(path: Path) -> str:
    """The file system a path is on, as /proc/mounts names it (e.g. "tmpfs at /dev/shm")."""
    best = ("?", "?")
    try:
        with open("/proc/mounts") as f:
            for line in f:
                _dev, mount, fstype = line.split()[:3]
                if (str(path) + "/").startswith(mount.rstrip("/") + "/") and len(mount) >= len(best[1]):
                    best = (fstype, mount)
    except OSError:
        pass
    return f"`{path}` ({best[0]} at {best[1]})"


def fmt(x: float) -> str:
    return f"{x:.3f}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="1,10,50,100", help="comma-separated N (default 1,10,50,100)")
    ap.add_argument("--runs", type=int, default=3, help="timed runs of every figure (default 3)")
    ap.add_argument("--parallel", type=int, default=16, help="borgconf --parallel (default 16, borgconf's own default)")
    ap.add_argument("--version-select", default="8.2", choices=["7.0", "8.2"])
    ap.add_argument("--borgconf", default=str(Path(sys.executable).parent / "borgconf"))
    ap.add_argument("--results", default=str(HERE / "results"))
    ap.add_argument(
        "--server-dir",
        default=None,
        help="where the servers' directories (redis.conf, CONFIG REWRITE's file) go: default the system's temporary "
        "directory; e.g. /dev/shm, so that 100 servers on one machine do not queue their CONFIG REWRITE fsyncs on one "
        "disk, as servers on their own machines do not",
    )
    ap.add_argument("--out-name", default="fleet-scale.md", help="file name of the table in --results (default fleet-scale.md)")
    args = ap.parse_args()
    sizes = sorted({int(x) for x in args.sizes.split(",") if x.strip()})
    if Path(args.out_name).name != args.out_name or not args.out_name.endswith(".md"):
        raise SystemExit("--out-name must be a file name ending in .md (it is written in --results)")
    if not sizes or sizes[0] < 1 or args.runs < 1:
        raise SystemExit("--sizes needs positive numbers and --runs at least 1")
    found = find_binaries()  # keyed by server ("redis-8.2") since the fixture offers four servers
    binary = found.get(args.version_select) or found.get(f"redis-{args.version_select}")
    if binary is None:
        raise SystemExit(f"no redis-server {args.version_select} binary (run bash tests/run.sh first)")
    script = Path(args.borgconf)
    python = interpreter_of(script)
    env = {k: v for k, v in os.environ.items() if k not in ("BORGCONF_URL", "BORGCONF_PASSWORD", "REDISCLI_AUTH", "PYTHONPATH", "PYTHONDONTWRITEBYTECODE")}
    env["NO_COLOR"] = "1"

    times: dict[tuple[int, str], list[float]] = {}
    rss: dict[tuple[int, str], list[int]] = {}
    figures = ("plan", "apply", "plan in sync")
    with contextlib.ExitStack() as stack:  # every step undone in reverse, whichever fails
        tmpdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="borgconf-fleet-")))
        env["PYTHONPYCACHEPREFIX"] = str(tmpdir / "pycache")
        load_before = os.getloadavg()
        t0 = time.perf_counter()
        server_root = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="borgconf-fleet-servers-", dir=args.server_dir))) if args.server_dir else tmpdir
        servers = start_servers(binary, max(sizes), server_root)
        stack.callback(lambda: [s.stop() for s in servers])
        clients: list = []
        stack.callback(lambda: [c.close() for c in clients])
        started = time.perf_counter() - t0
        print(f"started {len(servers)} redis-server {binary_version(binary)} in {started:.1f} s", flush=True)
        clients += [s.client(socket_timeout=10) for s in servers]
        originals = [{name: c.config_get(name)[name] for name in CHANGES} for c in clients]
        specs = {}
        for n in sizes:
            specs[n] = tmpdir / f"fleet-{n}.yaml"
            write_spec(specs[n], servers[:n])
        launcher = Launcher(python, env, ROOT, tmpdir)
        stack.callback(launcher.close)
        for rnd in range(args.runs + 1):  # round 0 warms up (page cache, bytecode) and is not counted
            for n in sizes:
                with ThreadPoolExecutor(max_workers=8) as pool:
                    list(pool.map(lambda i: reset(clients[i], originals[i]), range(n)))
                par = ["--parallel", str(args.parallel)]
                runs = {
                    "plan": ([str(script), "plan", str(specs[n]), "--detailed-exitcode", *par], 2, f"Plan: {10 * n} to change live"),
                    "apply": ([str(script), "apply", str(specs[n]), "--auto-approve", *par], 0, None),
                    "plan in sync": ([str(script), "plan", str(specs[n]), "--detailed-exitcode", *par], 0, None),
                }
                for fig in figures:
                    argv, rc, out = runs[fig]
                    elapsed, maxrss, _cpu = launcher.run(argv, expect_rc=rc, expect_out=out)
                    if rnd:
                        times.setdefault((n, fig), []).append(elapsed)
                        rss.setdefault((n, fig), []).append(maxrss)
                print(f"round {rnd} N={n}: " + ", ".join(f"{f} {times.get((n, f), [0])[-1]:.2f}s" for f in figures) if rnd else f"warm-up N={n} done", flush=True)
        # every server really holds the applied values
        for c in clients:
            got = {name: c.config_get(name)[name] for name in ("maxmemory-policy", "hz")}
            if got != {"maxmemory-policy": CHANGES["maxmemory-policy"], "hz": CHANGES["hz"]}:
                raise RunFailed(f"a server does not hold the applied values: {got}")

    load_after = os.getloadavg()
    base = sizes[0]
    head = "| N | figure | median s | min–max s | × N=%d | s per target | peak RSS MiB | RSS × N=%d | RSS KiB per extra target | within %g× |" % (base, base, GOAL)
    rows = [head, "|" + "---|" * 10]
    for n in sizes:
        for fig in figures:
            t, r = times[(n, fig)], rss[(n, fig)]
            med, rmed = statistics.median(t), statistics.median(r)
            bmed, brss = statistics.median(times[(base, fig)]), statistics.median(rss[(base, fig)])
            ratio = med / bmed
            per_extra = f"{(rmed - brss) / (n - base):.0f}" if n > base else "—"
            met = "—" if n == base else ("yes" if ratio <= GOAL else "**no**")
            rows.append(
                f"| {n} | {fig} | {fmt(med)} | {fmt(min(t))}–{fmt(max(t))} | {ratio:.2f}× | {med / n:.4f} | {rmed / 1024:.1f} | {rmed / brss:.2f}× | {per_extra} | {met} |"
            )
    table = "\n".join(rows)
    host = platform.node() or "unknown"
    top = max(sizes)
    notes = [
        f"# Fleet scale: borgconf plan and apply over N targets ({_dt.datetime.now(_dt.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')})",
        "",
        f"- borgconf {git_describe()}, `{script}`; Python {platform.python_version()}; redis-server {binary_version(binary)} × {top} on 127.0.0.1",
        f"- machine: {host}, {os.cpu_count()} CPU(s), {platform.platform()}; load average {' '.join(f'{x:.2f}' for x in load_before)} before, {' '.join(f'{x:.2f}' for x in load_after)} after (a shared machine: other work shares the CPUs)",
        f"- {args.runs} timed runs per figure (median; one warm-up round not counted); sizes interleaved run by run; `--parallel {args.parallel}`",
        f"- each target: 10 live parameters (`{', '.join(CHANGES)}`); apply = CONFIG SET, verify, CONFIG REWRITE on every target",
        "- peak RSS: the borgconf process's own `ru_maxrss` (one process plans/applies all N targets)",
        f"- goal (issue 12): plan and apply at N = {top} within {GOAL:g}× of N = {base}",
        f"- {top} servers started in {started:.1f} s (not timed in the table); their directories (redis.conf, rewritten by CONFIG REWRITE with an fsync) on {_filesystem(server_root)}",
        f"- command: `python benchmarks/fleet_scale.py --sizes {','.join(map(str, sizes))} --runs {args.runs} --parallel {args.parallel} --version-select {args.version_select}"
        + (f" --server-dir {args.server_dir}" if args.server_dir else "") + "`",
        "",
        table,
        "",
    ]
    text = "\n".join(notes)
    print(text)
    out_dir = Path(args.results)
    out_dir.mkdir(parents=True, exist_ok=True)
    name = args.out_name
    (out_dir / name).write_text(text)
    print(f"written to {out_dir / name}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except RunFailed as e:
        print(f"benchmark aborted: {e}", file=sys.stderr)
        sys.exit(1)
