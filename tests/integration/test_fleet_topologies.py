"""Fleets end to end through the CLI (issue 12): a primary with a replica and a
chained replica, a three-primary cluster with one replica each, a Sentinel
watching a primary and a replica -- real servers on loopback (tests/topologies.py),
stopped by PID, on every server the fixture offers (Redis 7.0 and 8.2, Valkey 8.1
and 9.1). Each: the plan lists every node with its role, apply converges
every node, the plan after is empty, and a restart of a node from its own
config file keeps it empty. The rolling apply stops at a node made to fail its
health gate and names the nodes it already changed."""

from __future__ import annotations

import json

import pytest

from cli_helpers import run
from topologies import SENTINEL_MASTER, ClusterTopology, ReplicationTopology, SentinelTopology

pytestmark = pytest.mark.server

def _spec(path, body: str):
    path.write_text(body)
    return str(path)


def _plan_json(capsys, spec, *args):
    rc, out, err = run(capsys, "plan", "--format", "json", spec, *args)
    assert rc in (0, 2), err
    return json.loads(out), err


def _roles(doc):
    return {t["address"]: (t["role"], t["primary"]) for t in doc["targets"]}


def _converge_and_restart(capsys, spec, servers, topo_check=None):
    """apply converges every node, plan after is empty, and after a restart of
    each given server from its own config file the plan is still empty."""
    rc, out, err = run(capsys, "apply", "--auto-approve", spec)
    assert rc == 0, err
    rc, out, err = run(capsys, "plan", "--detailed-exitcode", spec)
    assert rc == 0, out + err
    for srv in servers:
        srv.restart()
        if topo_check is not None:
            topo_check()
        rc, out, err = run(capsys, "plan", "--detailed-exitcode", spec)
        assert rc == 0, f"after restarting {srv.port}:\n{out}{err}"
        assert "No changes." in out


def test_replicas_plan_apply_restart(redis_binary, tmp_path, capsys):
    with ReplicationTopology(redis_binary, tmp_path / "rep") as topo:
        spec = _spec(tmp_path / "s.yaml", f"""version: 1
targets:
  - name: cache
    url: redis://127.0.0.1:{topo.primary.port}
    discover: replicas
server:
  maxmemory: 100mb
  maxmemory-policy: allkeys-lru
  hz: 15
""")
        doc, _ = _plan_json(capsys, spec)
        assert _roles(doc) == topo.expected_roles()
        assert {t["name"] for t in doc["targets"]} == set(topo.expected_roles())  # named by address
        assert all(t["group"] == "cache" and t["managed_by"] is None for t in doc["targets"])
        assert all({c["parameter"] for c in t["changes"]} == {"maxmemory", "maxmemory-policy", "hz"} for t in doc["targets"])
        rc, out, err = run(capsys, "plan", spec)
        for addr, (role, primary) in topo.expected_roles().items():
            assert f"Target {addr} (" in out and (f"replica of {primary}" if primary else "primary, found by cache") in out
        _converge_and_restart(capsys, spec, [topo.chained, topo.replica, topo.primary])
        for srv in topo.servers:
            assert srv.client().config_get("hz")["hz"] == "15"


def test_rolling_apply_stops_at_the_node_that_fails_its_gate(redis_binary, tmp_path, capsys):
    pw = "fleet-gate-pass-1"
    with ReplicationTopology(redis_binary, tmp_path / "rep", password=pw) as topo:
        spec = _spec(tmp_path / "s.yaml", f"""version: 1
targets:
  - name: cache
    url: redis://127.0.0.1:{topo.primary.port}
    password: {pw}
    discover: replicas
server:
  hz: 17
""")
        rc, out, err = run(capsys, "plan", "--out", tmp_path / "plan.json", spec)
        assert rc == 0, err
        # the middle replica loses its link: a wrong masterauth, then its link is cut (it cannot come back)
        with topo.replica.client() as r:
            r.config_set("masterauth", "not-the-password")
            r.execute_command("CLIENT", "KILL", "TYPE", "master")
        rc, out, err = run(capsys, "apply", "--auto-approve", "--rolling", "--gate-timeout", "3", tmp_path / "plan.json")
        primary, replica, chained = (f"127.0.0.1:{s.port}" for s in (topo.primary, topo.replica, topo.chained))
        assert rc == 3, out + err
        assert f"rolling apply stopped at {replica}: its health gate failed: {replica}: master_link_status is down" in err
        assert f"Changed before stopping: {chained}, {replica}. Not reached: {primary}." in err
        assert out.index(f"Target {chained}: applied") < out.index(f"Target {replica}: applied")
        assert topo.chained.client().config_get("hz")["hz"] == "17"
        assert topo.replica.client().config_get("hz")["hz"] == "17"
        assert topo.primary.client().config_get("hz")["hz"] == "10"  # never reached
        assert pw not in out + err


def test_cluster_plan_apply_restart_and_rolling_order(redis_binary, tmp_path, capsys):
    with ClusterTopology(redis_binary, tmp_path / "clu") as topo:
        spec_text = f"""version: 1
targets:
  - name: shop
    url: redis://127.0.0.1:{topo.servers[0].port}
    discover: cluster
server:
  maxmemory: 64mb
  hz: 15
  cluster-announce-ip: 127.0.0.1
"""
        spec = _spec(tmp_path / "s.yaml", spec_text)
        doc, _ = _plan_json(capsys, spec)
        assert _roles(doc) == topo.roles()
        assert sorted(t["role"] for t in doc["targets"]) == ["primary"] * 3 + ["replica"] * 3
        assert all(t["managed_by"] == "cluster" for t in doc["targets"])
        assert all("cluster-announce-ip" not in {c["parameter"] for c in t["changes"]} for t in doc["targets"])
        assert all(any(w.startswith("cluster-announce-ip is not planned here") for w in t["warnings"]) for t in doc["targets"])
        replica = next(a for a, (r, _) in topo.roles().items() if r == "replica")
        _converge_and_restart(capsys, spec, [topo.server_at(replica)])
        # rolling: every replica before every primary (each replica's primary comes after it)
        _spec(tmp_path / "s.yaml", spec_text.replace("hz: 15", "hz: 16"))
        rc, out, err = run(capsys, "apply", "--auto-approve", "--rolling", spec)
        assert rc == 0, err
        order = [line.split()[1].rstrip(":") for line in out.splitlines() if ": applied " in line]
        roles = topo.roles()
        assert sorted(order) == sorted(roles)
        for addr, (role, primary) in roles.items():
            if role == "replica":
                assert order.index(addr) < order.index(primary), order
        rc, out, err = run(capsys, "plan", "--detailed-exitcode", spec)
        assert rc == 0, out + err
        # a node that is down: named as a failure, the other five still planned
        down = topo.server_at(replica)
        down.stop()
        rc, out, err = run(capsys, "plan", spec)
        assert rc == 1
        assert f"target {replica}: cannot reach {replica}" in err or f"target {replica}: discovered by shop" in err, err
        assert sum(line.startswith("Target ") for line in out.splitlines()) == 5
        assert "5 target(s) in sync" in out


def test_sentinel_plan_apply_restart(redis_binary, tmp_path, capsys):
    with SentinelTopology(redis_binary, tmp_path / "sen") as topo:
        spec = _spec(tmp_path / "s.yaml", f"""version: 1
targets:
  - name: ha
    url: redis://127.0.0.1:{topo.sentinel.port}
    discover: sentinel
    sentinel_master: {SENTINEL_MASTER}
server:
  maxmemory: 64mb
  hz: 15
  replicaof: 127.0.0.1 1
""")
        doc, _ = _plan_json(capsys, spec)
        assert _roles(doc) == topo.expected_roles()  # the Sentinel itself is not a node
        assert all(t["managed_by"] == "sentinel" for t in doc["targets"])
        assert all(any(w.startswith("replicaof is not planned here: replicaof is set by Sentinel") for w in t["warnings"]) for t in doc["targets"])
        rc, out, err = run(capsys, "apply", "--auto-approve", "--rolling", spec)
        assert rc == 0, err
        assert out.index(f"Target 127.0.0.1:{topo.replica.port}: applied") < out.index(f"Target 127.0.0.1:{topo.primary.port}: applied")
        rc, out, err = run(capsys, "plan", "--detailed-exitcode", spec)
        assert rc == 0, out + err
        topo.replica.restart()
        rc, out, err = run(capsys, "plan", "--detailed-exitcode", spec)
        assert rc == 0, out + err
        # a Sentinel named without discover: is said to be one, not "CONFIG was renamed"
        plain = _spec(tmp_path / "p.yaml", f"version: 1\ntarget:\n  url: redis://127.0.0.1:{topo.sentinel.port}\nserver:\n  hz: 15\n")
        rc, out, err = run(capsys, "plan", plain)
        assert rc == 1 and "is a Sentinel, not a Redis to configure" in err and "renamed" not in err


def test_group_passwords_are_refused_when_they_would_differ(redis_binary, tmp_path, capsys):
    with ReplicationTopology(redis_binary, tmp_path / "rep") as topo:
        # requirepass without masterauth on a group: its replicas could not follow
        spec = _spec(tmp_path / "s.yaml", f"""version: 1
targets:
  - name: cache
    url: redis://127.0.0.1:{topo.primary.port}
    discover: replicas
server:
  requirepass: group-pass-123
""")
        rc, out, err = run(capsys, "plan", spec)
        assert rc == 1 and "refused for the replication group" in err and "masterauth" in err
        assert "group-pass-123" not in out + err
        # static targets that replicate each other, a per-target override making them differ
        spec = _spec(tmp_path / "t.yaml", f"""version: 1
targets:
  - name: a
    url: redis://127.0.0.1:{topo.primary.port}
    server:
      requirepass: pass-a-1234
      masterauth: pass-a-1234
  - name: b
    url: redis://127.0.0.1:{topo.replica.port}
    server:
      requirepass: pass-b-1234
      masterauth: pass-b-1234
""")
        rc, out, err = run(capsys, "apply", "--auto-approve", spec)
        assert rc == 1 and "requirepass differs across the replication group" in err
        assert "pass-a-1234" not in out + err and "pass-b-1234" not in out + err
        for srv in topo.servers:
            assert srv.client().config_get("requirepass")["requirepass"] == ""  # nothing changed


def test_plan_lints_discovered_nodes_with_their_seeds_own_server_block(redis_binary, tmp_path, capsys):
    """Issue 12: a discover: target's own server: block applies to every node it
    finds, and lint sees it: a queue service under an evicting policy set only
    there is a finding naming that target and the line of its override."""
    with ReplicationTopology(redis_binary, tmp_path / "rep") as topo:
        spec = _spec(tmp_path / "s.yaml", f"""version: 1
targets:
  - name: jobs
    url: redis://127.0.0.1:{topo.primary.port}
    discover: replicas
    server:
      maxmemory-policy: allkeys-lru
server:
  maxmemory-policy: noeviction
  appendonly: yes
services:
  n8n: {{db: 0}}
""")
        rc, out, err = run(capsys, "plan", spec)
        assert rc == 0, err
        [line] = [ln for ln in out.splitlines() if "[queue-evicting-policy]" in ln]
        assert "s.yaml:7:" in line and "target jobs:" in line and "allkeys-lru" in line, out
