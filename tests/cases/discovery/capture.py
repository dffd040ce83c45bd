"""Capture the replies discovery parses, from real topologies (issue 12).

    .venv/bin/python tests/cases/discovery/capture.py [7.0 8.2]

Starts each topology of tests/topologies.py on loopback, asks it what
borgconf's discovery asks (RESP2, decoded, no redis-py callbacks; INFO as the
server's raw text) and writes the replies to tests/cases/discovery/redis-<v>/,
with ``expected.json``: what the topology helper knows it built (ports it
started, which node it made a replica of which). Stops everything by PID.
"""

from __future__ import annotations

import json
import re
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

import redis  # noqa: E402
from redis.backoff import NoBackoff  # noqa: E402
from redis.retry import Retry  # noqa: E402

from redis_servers import binary_version, find_binaries  # noqa: E402
from topologies import SENTINEL_MASTER, ClusterTopology, ReplicationTopology, SentinelTopology, wait_until  # noqa: E402


def client(port: int) -> redis.Redis:
    return redis.Redis(host="127.0.0.1", port=port, decode_responses=True, protocol=2, retry=Retry(NoBackoff(), 0))


def raw(port: int, *args):
    """The reply as the server sent it (no response callback)."""
    c = client(port)
    conn = c.connection_pool.get_connection()
    try:
        conn.send_command(*args)
        return conn.read_response()
    finally:
        c.connection_pool.release(conn)
        c.close()


def write(d: Path, name: str, value) -> None:
    path = d / name
    if isinstance(value, str) and name.endswith(".txt"):
        text = value.replace("\r\n", "\n")
        # local paths say nothing about the reply's shape
        text = re.sub(r"(?m)^(executable|config_file):.*$", r"\1:/scrubbed", text)
        path.write_text(text)
    else:
        path.write_text(json.dumps(value, indent=1) + "\n")


def capture(version: str, binary: str, out: Path, tmp: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    expected: dict = {"version": binary_version(binary)}
    with ReplicationTopology(binary, tmp / "rep") as t:
        for name, srv in (("primary", t.primary), ("replica", t.replica), ("chained", t.chained)):
            write(out, f"replication-{name}.info.txt", raw(srv.port, "INFO", "replication"))
        write(out, "redis-server.info.txt", raw(t.primary.port, "INFO", "server"))
        expected["replication"] = {name: f"127.0.0.1:{s.port}" for name, s in (("primary", t.primary), ("replica", t.replica), ("chained", t.chained))}
    with SentinelTopology(binary, tmp / "sen") as t:
        p = t.sentinel.port
        write(out, "sentinel-server.info.txt", raw(p, "INFO", "server"))
        write(out, "sentinel-get-master-addr.json", raw(p, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", SENTINEL_MASTER))
        write(out, "sentinel-get-master-addr-unknown.json", raw(p, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", "nosuchmaster"))
        write(out, "sentinel-master.json", raw(p, "SENTINEL", "MASTER", SENTINEL_MASTER))
        write(out, "sentinel-replicas.json", raw(p, "SENTINEL", "REPLICAS", SENTINEL_MASTER))
        expected["sentinel"] = {"primary": f"127.0.0.1:{t.primary.port}", "replica": f"127.0.0.1:{t.replica.port}", "sentinel": f"127.0.0.1:{p}"}
        t.replica.stop()

        def replica_down():
            for rep in raw(p, "SENTINEL", "REPLICAS", SENTINEL_MASTER):
                d = dict(zip(rep[::2], rep[1::2]))
                if "s_down" in d["flags"]:
                    return True
            return False

        wait_until(replica_down, "Sentinel flags the stopped replica s_down")
        write(out, "sentinel-replicas-down.json", raw(p, "SENTINEL", "REPLICAS", SENTINEL_MASTER))
    with ClusterTopology(binary, tmp / "clu") as t:
        seed = t.servers[0].port
        write(out, "cluster-shards.json", raw(seed, "CLUSTER", "SHARDS"))
        write(out, "cluster-nodes.txt", raw(seed, "CLUSTER", "NODES"))
        write(out, "cluster-info.txt", raw(seed, "CLUSTER", "INFO"))
        roles = t.roles()
        expected["cluster"] = {a: {"role": r, "primary": pr} for a, (r, pr) in roles.items()}
        victim = next(a for a, (r, _) in roles.items() if r == "replica" and a != f"127.0.0.1:{seed}")
        t.server_at(victim).stop()
        expected["cluster_failed"] = victim

        def marked_fail():
            return any(victim in ln and ",fail" in ln.split()[2] + "," and "fail?" not in ln.split()[2] for ln in raw(seed, "CLUSTER", "NODES").splitlines())

        wait_until(marked_fail, f"cluster marks {victim} as fail")
        write(out, "cluster-shards-failed.json", raw(seed, "CLUSTER", "SHARDS"))
        write(out, "cluster-nodes-failed.txt", raw(seed, "CLUSTER", "NODES"))
        rep_of_victim = roles[victim][1]
        write(out, "cluster-replica-info-replication.txt", raw(next(s.port for s in t.servers if s.running and f"127.0.0.1:{s.port}" != rep_of_victim and roles[f"127.0.0.1:{s.port}"][0] == "replica"), "INFO", "replication"))
    write(out, "expected.json", expected)


def main(argv: list[str]) -> int:
    found = find_binaries()
    for version in argv or sorted(found):
        with tempfile.TemporaryDirectory(prefix="borgconf-capture-") as tmp:
            capture(version, found[version], HERE / f"redis-{version}", Path(tmp))
            print(f"captured redis-{version} into {HERE / f'redis-{version}'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
