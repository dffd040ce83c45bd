"""borgconf's own share of each command, measured inside the process (GitHub issue 15).

    .venv/bin/python benchmarks/own_share.py [--runs 15] [--baseline-tree DIR]

run.py measures whole processes against reference rows; on a shared, loaded
machine its per-round differences swing by hundreds of ms and cannot show a
change of 10 ms. This measures only what borgconf adds: each run is a fresh
interpreter that first does the reference row's work (imports click,
ruamel.yaml and pydantic's BaseModel; for plan and apply also the redis-py
floor's import and CONFIG GET * round trip), then times
``borgconf.__main__.main(argv)`` with ``time.perf_counter``. The minimum over
the runs is the figure least disturbed by other load; the median is given too.

``--baseline-tree DIR`` (a checkout of another commit, e.g. made with
``git worktree add /tmp/base <commit>``) runs the same commands from DIR,
interleaved with this tree's, and reports the difference.

The Redis server is a throwaway ``redis-server`` on a free 127.0.0.1 port
(tests/redis_servers.py), stopped by PID at the end; before each ``plan`` with
10 changes the parameters are set back to the server's own values and
persisted, so ``apply`` really changes 10 and ``plan`` after it is in sync.
Not part of the test suite.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from redis_servers import RedisServer, find_binaries  # noqa: E402
from run import CHANGES, DEPS, DUMMY_ENV, VALIDATE_SPECS, reset, write_spec  # noqa: E402

CHILD = """
import contextlib, io, sys, time
{path}{reference}
start, cpu = time.perf_counter(), time.process_time()
from borgconf.__main__ import main
with contextlib.redirect_stdout(io.StringIO()) as out:
    rc = main({argv!r})
elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
sys.stderr.write(out.getvalue()[-300:])
print(rc, elapsed * 1000, cpu * 1000)
"""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=15, help="timed runs of each command (default 15)")
    ap.add_argument("--baseline-tree", type=Path, help="a checkout of another commit to compare with, in the same rounds")
    args = ap.parse_args()
    python = sys.executable
    validate_spec = next((s for s in VALIDATE_SPECS if (ROOT / s).is_file()), None)
    binary = find_binaries().get("redis-8.2")
    if binary is None or validate_spec is None:
        raise SystemExit("needs a Redis 8.2 binary and a spec to validate (see run.py)")
    trees = {"this tree": None}
    if args.baseline_tree:
        trees = {"baseline": str(args.baseline_tree.resolve()), **trees}
    env = {k: v for k, v in os.environ.items() if k not in ("BORGCONF_URL", "BORGCONF_PASSWORD", "REDISCLI_AUTH", "PYTHONPATH", "PYTHONDONTWRITEBYTECODE")}
    env.update(DUMMY_ENV)
    env["NO_COLOR"] = "1"
    with tempfile.TemporaryDirectory(prefix="borgconf-own-") as tmp:
        env["PYTHONPYCACHEPREFIX"] = str(Path(tmp) / "pycache")
        server = RedisServer(binary, Path(tmp) / "redis")
        server.start()
        try:
            client = server.client()
            originals = {name: client.config_get(name)[name] for name in CHANGES}
            spec = Path(tmp) / "bench.yaml"
            write_spec(spec, server.url)
            online = f"{DEPS}; import redis; redis.Redis(port={server.port}).config_get('*')"
            steps = [
                ("`validate`", ["validate", validate_spec], DEPS, 0),
                ("`plan`, 10 changes", ["plan", str(spec), "--detailed-exitcode"], online, 2),
                ("`apply`, 10 changes", ["apply", str(spec), "--auto-approve"], online, 0),
                ("`plan`, in sync", ["plan", str(spec), "--detailed-exitcode"], online, 0),
            ]
            times: dict[tuple[str, str], list[float]] = {}
            cpus: dict[tuple[str, str], list[float]] = {}  # the process's CPU time: no waiting for a CPU
            for n in range(args.runs + 1):  # round 0 warms up and writes bytecode
                for tree, path in trees.items():
                    for label, argv, reference, want in steps:
                        if argv[0] == "plan" and want == 2:
                            reset(client, originals)
                        code = CHILD.format(path=f"sys.path.insert(0, {path!r})\n" if path else "", reference=reference, argv=argv)
                        r = subprocess.run([python, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
                        rc, ms, cpu_ms = r.stdout.split() if r.returncode == 0 and r.stdout.count(" ") == 2 else ("-1", "0", "0")
                        if int(rc) != want:
                            raise SystemExit(f"{tree}: {' '.join(argv)} exited {rc} (expected {want})\n{r.stderr}")
                        if n:
                            times.setdefault((label, tree), []).append(float(ms))
                            cpus.setdefault((label, tree), []).append(float(cpu_ms))
                print(f"  round {n}/{args.runs}", file=sys.stderr)
            reset(client, originals)
            client.close()
        finally:
            server.stop()
    cols = list(trees)
    print(f"{args.runs} runs each, interleaved; load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}, {os.cpu_count()} CPU(s)\n")
    for what, table in (("wall", times), ("CPU", cpus)):
        head = f"| own share, in process, {what} ms | " + " | ".join(f"{t} min | {t} median" for t in cols)
        head += " | change of the min | change of the median |" if len(cols) == 2 else " |"
        rows = [head, "|" + "---|" * (1 + 2 * len(cols) + (2 if len(cols) == 2 else 0))]
        for label, *_ in steps:
            cells = []
            for t in cols:
                v = table[(label, t)]
                cells += [f"{min(v):.1f}", f"{statistics.median(v):.1f}"]
            if len(cols) == 2:
                a, b = table[(label, cols[0])], table[(label, cols[1])]
                cells += [f"{min(b) - min(a):+.1f}", f"{statistics.median(b) - statistics.median(a):+.1f}"]
            rows.append(f"| {label} | " + " | ".join(cells) + " |")
        print("\n".join(rows) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
