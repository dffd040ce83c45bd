"""status: the pure evaluation (INFO + CONFIG GET + spec -> checks), from INFO replies
captured on real servers (tests/cases/info/, made by capture.py there)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from redis._parsers.helpers import parse_info

from borgconf.spec import load_spec
from borgconf.status import ERROR, OK, WARN, Health, TargetHealth, evaluate, health_json
from borgconf.live import parse_config_reply

CASES = Path(__file__).resolve().parent.parent / "cases" / "info"


def captured(name: str):
    doc = json.loads((CASES / f"{name}.json").read_text())
    return parse_info(doc["info"]), parse_config_reply(doc["config"]), doc["slowlog_len"]


def spec(tmp_path, services: str = "") -> object:
    path = tmp_path / "spec.yaml"
    path.write_text("version: 1\ntarget: {url: 'redis://127.0.0.1:1', persist: none}\n" + services)
    return load_spec(path)


def checks_of(name, s, **kw):
    info, config, slowlog_len = captured(name)
    return {c.name: c for c in evaluate(info, config, slowlog_len, s, **kw)}


SERVICES = "services:\n  jobs: {db: 0, role: queue}\n  cache: {db: 1, role: cache}\n"


def test_a_healthy_server_is_ok_on_every_line(tmp_path):
    info, _, _ = captured("healthy")
    checks = checks_of("healthy", spec(tmp_path, SERVICES), now=int(info["rdb_last_save_time"]) + 5)
    assert {c.verdict for c in checks.values()} == {OK}, [c for c in checks.values() if c.verdict != OK]
    assert checks["db 0 (jobs)"].value == "5 keys" and checks["db 1 (cache)"].value == "3 keys"
    assert checks["hit rate"].value.startswith("100.0%")
    assert "of 100.0mb" in checks["memory"].value
    assert checks["replication"].value == "primary, 0 replica(s)"


def test_an_evicting_server_warns_and_a_queue_makes_it_an_error(tmp_path):
    checks = checks_of("evicting", spec(tmp_path))
    assert checks["memory"].verdict == WARN and "above 90%" in checks["memory"].note
    assert checks["hit rate"].verdict == WARN and "30 misses" in checks["hit rate"].value
    assert checks["evicted keys"].verdict == WARN and int(checks["evicted keys"].value) > 0
    assert checks["rdb"].verdict == WARN and "no persistence" in checks["rdb"].note
    assert checks["db 7"].verdict == OK  # no services in the spec: nothing to compare with
    checks = checks_of("evicting", spec(tmp_path, SERVICES))
    assert checks["evicted keys"].verdict == ERROR and "jobs" in checks["evicted keys"].note
    assert checks["db 7"].verdict == WARN and "no service" in checks["db 7"].note


def test_replication_lines(tmp_path):
    s = spec(tmp_path)
    primary = checks_of("primary-with-replica", s)
    assert primary["replication"].value == "primary, 1 replica(s)"
    [replica_line] = [c for n, c in primary.items() if n.startswith("replica 127.0.0.1:")]
    assert replica_line.verdict == OK and replica_line.value.startswith("online")
    up = checks_of("replica-up", s)
    assert up["replica link"].verdict == OK and up["replica link"].value.startswith("up")
    down = checks_of("replica-down", s)
    assert down["replica link"].verdict == ERROR and down["replica link"].value.startswith("down")


def test_no_traffic_is_ok_with_a_note(tmp_path):
    info, config, n = captured("healthy")
    info["keyspace_hits"] = info["keyspace_misses"] = 0
    c = {c.name: c for c in evaluate(info, config, n, spec(tmp_path))}["hit rate"]
    assert (c.verdict, c.note) == (OK, "no reads yet")


@pytest.mark.parametrize(
    "changes, check, verdict",
    [
        ({"used_memory": 91}, "memory", WARN),
        ({"used_memory": 90}, "memory", OK),
        ({"used_memory": 101, "policy": "noeviction"}, "memory", ERROR),
        # a moment after an OOM refusal INFO reads a little under maxmemory: still full
        ({"used_memory": 99, "policy": "noeviction"}, "memory", ERROR),
        ({"used_memory": 98, "policy": "noeviction"}, "memory", WARN),
        ({"keyspace_hits": 90, "keyspace_misses": 10}, "hit rate", WARN),
        ({"keyspace_hits": 91, "keyspace_misses": 9}, "hit rate", OK),
        ({"connected_clients": 91}, "clients", WARN),
        ({"rejected_connections": 1}, "rejected connections", WARN),
        ({"rdb_last_bgsave_status": "err"}, "rdb", ERROR),
        ({"aof_enabled": 1, "aof_last_bgrewrite_status": "err"}, "aof", ERROR),
        ({"aof_enabled": 1, "aof_last_write_status": "err"}, "aof", ERROR),
        ({"aof_enabled": 1}, "aof", OK),
        ({"slowlog": 128}, "slowlog", WARN),
        ({"slowlog": 127}, "slowlog", OK),
    ],
)
def test_each_threshold(tmp_path, changes, check, verdict):
    info, config, n = captured("healthy")
    config.update({"maxmemory": "100", "maxclients": "100", "slowlog-max-len": "128"})
    if "policy" in changes:
        config["maxmemory-policy"] = changes.pop("policy")
    n = changes.pop("slowlog", n)
    info.update(changes)
    got = {c.name: c for c in evaluate(info, config, n, spec(tmp_path), now=int(info["rdb_last_save_time"]))}
    assert got[check].verdict == verdict, got[check]


def test_an_old_snapshot_with_changes_warns(tmp_path):
    info, config, n = captured("healthy")
    info["rdb_changes_since_last_save"] = 5
    got = {c.name: c for c in evaluate(info, config, n, spec(tmp_path), now=int(info["rdb_last_save_time"]) + 1801)}
    assert got["rdb"].verdict == WARN  # save 900 1: nothing saved for over 2 x 900 s


def test_json_has_format_version_and_worst_verdict(tmp_path):
    info, config, n = captured("evicting")
    t = TargetHealth(name="default", address="x:1", checks=evaluate(info, config, n, spec(tmp_path)))
    unread = TargetHealth(name="other", address="y:1", error="cannot reach y:1")
    doc = json.loads(health_json(Health(spec_path="spec.yaml", targets=[t, unread])))
    assert doc["format_version"] == "1"
    assert doc["summary"]["verdict"] == ERROR and doc["summary"]["targets"] == 2
    assert doc["targets"][0]["verdict"] == WARN and doc["targets"][1]["error"] == "cannot reach y:1"


def test_limits_that_differ_from_the_spec_warn(tmp_path):
    info, config, n = captured("healthy")  # maxmemory 100mb, noeviction
    same = spec(tmp_path, "server:\n  maxmemory: 100mb\n  maxmemory-policy: noeviction\n")
    assert "spec limits" not in {c.name for c in evaluate(info, config, n, same)}
    other = spec(tmp_path, "server:\n  maxmemory: 200mb\n  maxmemory-policy: noeviction\n")
    got = {c.name: c for c in evaluate(info, config, n, other)}["spec limits"]
    assert got.verdict == WARN and got.value == "maxmemory 100mb (the spec: 200mb)"
