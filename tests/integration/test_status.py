"""borgconf status on real servers, driven into each warning: memory at maxmemory
(evicting, and refusing writes), misses, rejected connections, a stray database,
a replica whose link is down; and the healthy case (exit 0)."""

from __future__ import annotations

import json
import time

import pytest
import redis

from borgconf import redact
from cli_helpers import dead_port, run, write_spec


@pytest.fixture(autouse=True)
def _clean():
    redact.clear()
    yield
    redact.clear()


def status(capsys, spec, *args):
    rc, out, err = run(capsys, "status", spec, "--detailed-exitcode", *args)
    return rc, out, err


def status_json(capsys, spec):
    rc, out, err = run(capsys, "status", spec, "--detailed-exitcode", "--format", "json")
    doc = json.loads(out)
    assert doc["format_version"] == "1"
    [t] = doc["targets"]
    return rc, {c["check"]: c for c in t["checks"]}, doc


SERVICES = "services:\n  jobs: {db: 0, role: queue}\n  cache: {db: 1, role: cache}\n"


def test_a_healthy_server_exits_0(redis_server, tmp_path, capsys):
    spec = write_spec(tmp_path / "spec.yaml", redis_server.url, "server:\n  maxmemory: 100mb\n" + SERVICES, target_extra="persist: none")
    c = redis_server.client()
    c.config_set("maxmemory", "100mb")
    c.config_set("appendonly", "yes")  # some persistence, or status warns (rightly)
    c.set("job:1", "x")
    for _ in range(20):
        c.get("job:1")
    rc, checks, doc = status_json(capsys, spec)
    assert rc == 0, checks
    assert {c["verdict"] for c in checks.values()} == {"ok"}
    assert checks["db 0 (jobs)"]["value"] == "1 keys" and checks["db 1 (cache)"]["value"] == "0 keys"
    assert doc["targets"][0]["server"]["version"] == redis_server.version
    rc, out, err = status(capsys, spec)
    assert rc == 0 and "healthy" in out and "memory" in out, out + err


def fill(client, n=5000):
    for i in range(n):
        client.set(f"k{i}", "x" * 1000)


def test_memory_full_and_evicting_warns(redis_factory, tmp_path, capsys):
    server = redis_factory(["maxmemory 3mb", "maxmemory-policy allkeys-lru", "appendonly yes"])
    spec = write_spec(tmp_path / "spec.yaml", server.url, target_extra="persist: none")
    fill(server.client())
    rc, checks, _ = status_json(capsys, spec)
    assert rc == 2, checks
    assert checks["memory"]["verdict"] == "warn", checks["memory"]
    assert checks["evicted keys"]["verdict"] == "warn" and int(checks["evicted keys"]["value"]) > 0
    # with a queue service, evictions lose jobs: an error
    spec.write_text(spec.read_text() + "services:\n  jobs: {db: 0, role: queue}\n")
    rc, checks, _ = status_json(capsys, spec)
    assert rc == 1 and checks["evicted keys"]["verdict"] == "error"


def test_memory_full_with_noeviction_is_an_error(redis_factory, tmp_path, capsys):
    server = redis_factory(["maxmemory 3mb", "maxmemory-policy noeviction", "appendonly yes"])
    spec = write_spec(tmp_path / "spec.yaml", server.url, target_extra="persist: none")
    with pytest.raises(redis.exceptions.OutOfMemoryError):
        fill(server.client())
    rc, checks, _ = status_json(capsys, spec)
    assert rc == 1 and checks["memory"]["verdict"] == "error", checks["memory"]
    assert "refused" in checks["memory"]["note"]


def test_misses_stray_keys_and_no_persistence_warn(redis_server, tmp_path, capsys):
    spec = write_spec(tmp_path / "spec.yaml", redis_server.url, SERVICES, target_extra="persist: none")
    c = redis_server.client()
    c.set("a", 1)
    c.get("a")
    for i in range(10):
        c.get(f"missing{i}")
    c.execute_command("SELECT", 9)
    c.set("stray", 1)
    rc, checks, _ = status_json(capsys, spec)
    assert rc == 2
    assert checks["hit rate"]["verdict"] == "warn" and "1 hits, 10 misses" in checks["hit rate"]["value"]
    assert checks["db 9"]["verdict"] == "warn"
    assert checks["rdb"]["verdict"] == "warn"  # the fixture runs with save "" and no AOF
    rc, out, _ = status(capsys, spec)
    assert rc == 2 and "warning(s)" in out and "warn   hit rate" in out


def test_rejected_connections_warn(redis_server, tmp_path, capsys):
    spec = write_spec(tmp_path / "spec.yaml", redis_server.url, target_extra="persist: none")
    c = redis_server.client()
    c.config_set("appendonly", "yes")
    c.config_set("maxclients", "2")
    extra = [redis_server.client() for _ in range(3)]
    for e in extra:
        try:
            e.ping()
        except redis.exceptions.ConnectionError:
            pass
    for e in extra:
        e.close()
    c.config_set("maxclients", "10000")  # so that status itself can connect
    rc, checks, _ = status_json(capsys, spec)
    assert checks["rejected connections"]["verdict"] == "warn" and int(checks["rejected connections"]["value"]) >= 1
    assert rc == 2


def test_a_replica_with_its_link_down_is_an_error_and_up_is_ok(redis_factory, tmp_path, capsys):
    primary = redis_factory(["appendonly yes"])
    replica = redis_factory(["appendonly yes", f"replicaof 127.0.0.1 {primary.port}"])
    deadline = time.monotonic() + 10
    while replica.client().info("replication").get("master_link_status") != "up":
        assert time.monotonic() < deadline, "the replica never synced"
        time.sleep(0.05)
    spec = write_spec(tmp_path / "spec.yaml", replica.url, "ignore: [replicaof]\n", target_extra="persist: none")
    rc, checks, doc = status_json(capsys, spec)
    assert rc == 0, checks
    assert checks["replica link"]["verdict"] == "ok" and doc["targets"][0]["server"]["role"] == "replica"
    pspec = write_spec(tmp_path / "p.yaml", primary.url, target_extra="persist: none")
    rc, pchecks, pdoc = status_json(capsys, pspec)
    assert pchecks["replication"]["value"] == "primary, 1 replica(s)"
    assert pdoc["targets"][0]["server"]["role"] == "primary"  # the plan's words, not INFO's master / slave
    # stop the replica's link: point it at a port where nothing listens
    replica.client().execute_command("REPLICAOF", "127.0.0.1", str(dead_port()))
    rc, checks, _ = status_json(capsys, spec)
    assert rc == 1 and checks["replica link"]["verdict"] == "error" and checks["replica link"]["value"].startswith("down")
    rc, out, _ = status(capsys, spec)
    assert rc == 1 and "error  replica link" in out


def test_a_fleet_reports_every_target_and_an_unreachable_one(redis_factory, tmp_path, capsys):
    a, b = redis_factory(["appendonly yes"]), redis_factory(["appendonly yes"])
    spec = tmp_path / "fleet.yaml"
    spec.write_text(
        "version: 1\ntargets:\n"
        f"  - {{name: a, url: '{a.url}', persist: none}}\n"
        f"  - {{name: b, url: '{b.url}', persist: none}}\n"
        f"  - {{name: gone, url: 'redis://127.0.0.1:{dead_port()}', persist: none, timeout: 1}}\n"
    )
    rc, out, err = run(capsys, "status", spec, "--format", "json", "--detailed-exitcode")
    doc = json.loads(out)
    assert [t["name"] for t in doc["targets"]] == ["a", "b", "gone"]
    assert doc["targets"][0]["verdict"] == "ok" and "error" in doc["targets"][2]
    assert rc == 1 and "target gone" in err
    rc, out, err = run(capsys, "status", spec, "--target", "a", "--detailed-exitcode")
    assert rc == 0 and "Target a" in out and "Target b" not in out
