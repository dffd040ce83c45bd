"""Capture the INFO replies that tests/unit/test_status_evaluate.py evaluates.

    .venv/bin/python tests/cases/info/capture.py

Starts throwaway servers (tests/redis_servers.py, Redis 8.2) and saves, per
scenario, the raw text of `INFO server clients memory persistence stats
replication keyspace` plus the CONFIG GET of the limits, as <scenario>.json.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))
from redis_servers import RedisServer, find_binaries  # noqa: E402

from borgconf.status import CONFIG_NEEDED, INFO_SECTIONS  # noqa: E402


def grab(server, name: str) -> None:
    c = server.client()
    c.set_response_callback("INFO", lambda r, **kw: r)
    raw = c.execute_command("INFO", *INFO_SECTIONS)
    config = c.execute_command("CONFIG", "GET", *CONFIG_NEEDED)
    text = raw.decode() if isinstance(raw, bytes) else raw
    doc = {"info": text, "config": config, "slowlog_len": int(c.execute_command("SLOWLOG", "LEN"))}
    (HERE / f"{name}.json").write_text(json.dumps(doc, indent=1) + "\n")


def main() -> None:
    binary = find_binaries()["8.2"]
    with tempfile.TemporaryDirectory() as tmp:
        healthy = RedisServer(binary, Path(tmp) / "a", ["maxmemory 100mb", "save 900 1"]).start()
        c = healthy.client()
        for db, n in ((0, 5), (1, 3)):
            c.execute_command("SELECT", db)
            for i in range(n):
                c.set(f"k{i}", i)
        for _ in range(20):
            c.execute_command("SELECT", 0)
            c.get("k1")
        grab(healthy, "healthy")
        replica = RedisServer(binary, Path(tmp) / "b", [f"replicaof 127.0.0.1 {healthy.port}"]).start()
        for _ in range(100):
            if replica.client().info("replication").get("master_link_status") == "up":
                break
            time.sleep(0.05)
        grab(healthy, "primary-with-replica")
        grab(replica, "replica-up")
        healthy.stop()
        time.sleep(0.5)
        grab(replica, "replica-down")
        replica.stop()
        full = RedisServer(binary, Path(tmp) / "c", ["maxmemory 2mb", "maxmemory-policy allkeys-lru"]).start()
        c = full.client()
        for i in range(3000):
            c.set(f"k{i}", "x" * 1000)
        for i in range(30):
            c.get(f"missing{i}")
        c.execute_command("SELECT", 7)
        c.set("stray", 1)
        grab(full, "evicting")
        full.stop()


if __name__ == "__main__":
    main()
