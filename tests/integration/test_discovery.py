"""Discovery against real topologies on loopback (issue 12), on every Redis
version the fixture offers: a primary with a replica and a chained replica, a
three-primary cluster with one replica each, and a Sentinel watching a primary
and a replica. Clients come from borgconf's own ``live.connect`` (RESP2,
decoded, no retries), as the CLI will make them."""

from __future__ import annotations

import time

import pytest

from borgconf import discovery as D
from borgconf.live import connect as live_connect
from borgconf.spec.schema import Target
from topologies import SENTINEL_MASTER, ClusterTopology, ReplicationTopology, SentinelTopology

pytestmark = pytest.mark.server

POLL = 30.0  # seconds a failure may take to be noticed (cluster node timeout 2 s, Sentinel down-after 1 s)


def connect(host: str, port: int):
    return live_connect(Target(url=f"redis://{host}:{port}", timeout=2.0))


def _roles(nodes):
    return {n.address: (n.role, n.primary) for n in nodes}


def _poll(fn, what):
    deadline = time.monotonic() + POLL
    while True:
        result = fn()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"{what} not within {POLL:.0f}s")
        time.sleep(0.2)


def test_replicas_chained(redis_binary, tmp_path):
    with ReplicationTopology(redis_binary, tmp_path / "rep") as topo:
        expected = topo.expected_roles()
        primary = f"127.0.0.1:{topo.primary.port}"
        nodes = D.discover(connect, primary, "replicas")
        assert _roles(nodes) == expected
        assert [n.address for n in nodes][0] == primary
        assert all(n.healthy and n.problem is None and n.managed_by is None for n in nodes)
        for n in nodes:
            c = connect(n.host, n.port)
            try:
                assert D.health_problems(c, n) == []
            finally:
                c.close()
        # from the middle of the chain: itself and what is under it
        mid = D.discover(connect, f"127.0.0.1:{topo.replica.port}", "replicas")
        assert _roles(mid) == {a: r for a, r in expected.items() if a != primary}

        # a replica whose primary is gone fails its gate and is reported unhealthy
        topo.primary.stop()
        c = connect("127.0.0.1", topo.replica.port)
        try:
            node = next(n for n in nodes if n.address == f"127.0.0.1:{topo.replica.port}")
            problems = _poll(lambda: D.health_problems(c, node), "the replica's gate failing")
            assert problems == [f"{node.address}: master_link_status is down"]
        finally:
            c.close()
        again = _poll(lambda: [n for n in D.discover(connect, f"127.0.0.1:{topo.replica.port}", "replicas") if not n.healthy], "an unhealthy replica")
        assert [(n.address, n.problem) for n in again] == [(node.address, "master_link_status down")]


def test_cluster_every_node_and_a_failed_one(redis_binary, tmp_path):
    with ClusterTopology(redis_binary, tmp_path / "clu") as topo:
        expected = topo.roles()
        assert sorted(r for r, _ in expected.values()) == ["primary"] * 3 + ["replica"] * 3
        for srv in (topo.servers[0], topo.servers[-1]):  # from a primary and from a replica
            nodes = D.discover(connect, f"127.0.0.1:{srv.port}", "cluster")
            assert _roles(nodes) == expected
            assert all(n.managed_by == "cluster" and n.healthy for n in nodes), [n for n in nodes if not n.healthy]
        for n in nodes:
            c = connect(n.host, n.port)
            try:
                assert D.health_problems(c, n) == []
            finally:
                c.close()
        seed = f"127.0.0.1:{topo.servers[0].port}"
        victim = next(a for a, (r, _) in expected.items() if r == "replica" and a != seed)
        topo.server_at(victim).stop()

        def failed():
            nodes = D.discover(connect, seed, "cluster")
            return nodes if any(n.address == victim and not n.healthy for n in nodes) else None

        nodes = _poll(failed, f"{victim} reported failed")
        assert _roles(nodes) == expected  # the failed node is still listed
        bad = [(n.address, n.problem) for n in nodes if not n.healthy]
        assert [a for a, _ in bad] == [victim]
        assert "fail" in bad[0][1]
        # the killed node fails its own gate
        dead = next(n for n in nodes if n.address == victim)
        c = connect(dead.host, dead.port)
        try:
            assert D.health_problems(c, dead)[0].startswith(f"{victim}: cannot connect")
        finally:
            c.close()


def test_cluster_discovery_refuses_a_plain_server(redis_server):
    with pytest.raises(D.DiscoveryError, match="not a cluster node"):
        D.discover(connect, f"127.0.0.1:{redis_server.port}", "cluster")
    with pytest.raises(D.DiscoveryError, match="is not a Sentinel"):
        D.discover(connect, f"127.0.0.1:{redis_server.port}", "sentinel", sentinel_master=SENTINEL_MASTER)


def test_sentinel_master_and_replica_never_the_sentinel(redis_binary, tmp_path):
    with SentinelTopology(redis_binary, tmp_path / "sen") as topo:
        sentinel = f"127.0.0.1:{topo.sentinel.port}"
        nodes = D.discover(connect, sentinel, "sentinel", sentinel_master=SENTINEL_MASTER)
        assert _roles(nodes) == topo.expected_roles()
        assert sentinel not in {n.address for n in nodes}
        assert all(n.managed_by == "sentinel" and n.healthy for n in nodes)
        with pytest.raises(D.DiscoveryError, match="is a Sentinel"):
            D.discover(connect, sentinel, "replicas")
        with pytest.raises(D.DiscoveryError, match="is a Sentinel"):
            D.discover(connect, sentinel, "cluster")
        with pytest.raises(D.DiscoveryError, match="does not monitor a master named 'nosuch'"):
            D.discover(connect, sentinel, "sentinel", sentinel_master="nosuch")

        replica = f"127.0.0.1:{topo.replica.port}"
        topo.replica.stop()

        def down():
            nodes = D.discover(connect, sentinel, "sentinel", sentinel_master=SENTINEL_MASTER)
            return nodes if any(not n.healthy for n in nodes) else None

        nodes = _poll(down, "Sentinel flagging the stopped replica")
        assert [(n.address, n.healthy) for n in nodes] == [(f"127.0.0.1:{topo.primary.port}", True), (replica, False)]
        # "disconnected" at once, "s_down" after down-after-milliseconds
        assert nodes[1].problem.startswith("Sentinel flags ")


def test_every_topology_behind_a_password(redis_binary, tmp_path):
    """requirepass + masterauth on every node (what a replication group must
    share): discovery reaches every node with the target's password, and
    without it says that authentication failed instead of guessing roles."""
    pw = "fleet-pass-123"

    def authed(host, port):
        return live_connect(Target(url=f"redis://{host}:{port}", timeout=2.0, password=pw))

    with ReplicationTopology(redis_binary, tmp_path / "rep", password=pw) as topo:
        primary = f"127.0.0.1:{topo.primary.port}"
        assert _roles(D.discover(authed, primary, "replicas")) == topo.expected_roles()
        with pytest.raises(D.DiscoveryError, match="authentication failed"):
            D.discover(connect, primary, "replicas")
    with SentinelTopology(redis_binary, tmp_path / "sen", password=pw) as topo:
        # the Sentinel has no password of its own here; the nodes do
        nodes = D.discover(connect, f"127.0.0.1:{topo.sentinel.port}", "sentinel", sentinel_master=SENTINEL_MASTER)
        assert _roles(nodes) == topo.expected_roles() and all(n.healthy for n in nodes)
    with ClusterTopology(redis_binary, tmp_path / "clu", password=pw) as topo:
        nodes = D.discover(authed, f"127.0.0.1:{topo.servers[0].port}", "cluster")
        assert _roles(nodes) == topo.roles() and all(n.healthy for n in nodes)


def test_health_gate_cannot_see_a_wrong_masterauth(redis_binary, tmp_path):
    """Why requirepass/masterauth are checked as a group at plan time
    (group_shared_problems) and not left to the rolling apply's gate: a new
    requirepass on a primary keeps its replicas' links up, so the gate passes;
    the replicas only fail at their next reconnect."""
    with ReplicationTopology(redis_binary, tmp_path / "rep") as topo:
        node = D.Node(f"127.0.0.1:{topo.replica.port}", "127.0.0.1", topo.replica.port, "replica", primary=f"127.0.0.1:{topo.primary.port}")
        with topo.primary.client() as p:
            p.config_set("requirepass", "new-pass-1")
        assert D.group_shared_problems({"primary": {"requirepass": "new-pass-1"}, "replica": {}}) != []
        with topo.replica.client() as r:
            time.sleep(1.5)  # time for the link to drop, if a new requirepass dropped it (it does not)
            assert D.health_problems(r, node) == []  # the gate passes
            with topo.primary.client(password="new-pass-1") as p:
                p.execute_command("CLIENT", "KILL", "TYPE", "replica")
            problems = _poll(lambda: D.health_problems(r, node), "the replica failing to reconnect")
            assert problems == [f"{node.address}: master_link_status is down"]
            time.sleep(1.5)  # it keeps failing: the primary wants a password the replica does not have
            assert D.health_problems(r, node) == problems
            r.config_set("masterauth", "new-pass-1")
            assert _poll(lambda: D.health_problems(r, node) == [], "the link back up with masterauth")
