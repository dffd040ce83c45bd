"""Discovery parsers (borgconf/discovery.py) from replies captured from real
topologies (tests/cases/discovery/redis-<v>/, written by capture.py there), and
the replica walk over a small fake client (cycles, unreachable nodes, hostile
addresses). The same code against live topologies: tests/integration/test_discovery.py."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
import redis.exceptions as rx
from redis._parsers.helpers import parse_info as redispy_parse_info

from borgconf import discovery as D

CASES = Path(__file__).resolve().parents[1] / "cases" / "discovery"
VERSIONS = sorted(p.name for p in CASES.glob("redis-*"))


def test_captures_exist_for_both_versions():
    assert {"redis-7.0", "redis-8.2"} <= set(VERSIONS)


@pytest.fixture(params=VERSIONS)
def case(request):
    d = CASES / request.param

    def read(name):
        text = (d / name).read_text()
        return json.loads(text) if name.endswith(".json") else text

    read.expected = json.loads((d / "expected.json").read_text())
    return read


# -- INFO replication ------------------------------------------------------


@pytest.mark.parametrize("as_dict", [False, True], ids=["raw-text", "redis-py-dict"])
def test_replication_chain(case, as_dict):
    exp = case.expected["replication"]

    def info(name):
        text = case(f"replication-{name}.info.txt")
        return redispy_parse_info(text) if as_dict else text

    p, r, c = (D.parse_replication(info(n)) for n in ("primary", "replica", "chained"))
    assert (p.role, p.primary, p.problem) == ("primary", None, None)
    assert [x.address for x in p.replicas] == [exp["replica"]]
    assert p.replicas[0].state == "online" and p.replicas[0].port == int(exp["replica"].rsplit(":", 1)[1])
    assert (r.role, r.primary, r.link_status) == ("replica", exp["primary"], "up")
    assert [x.address for x in r.replicas] == [exp["chained"]]
    assert (c.role, c.primary, c.link_status, c.replicas) == ("replica", exp["replica"], "up", [])
    assert D.gate_replica_link(info("chained")) is None
    assert D.gate_replica_link(info("primary")) is None


def test_replication_link_down_fails_the_gate(case):
    text = case("replication-replica.info.txt").replace("master_link_status:up", "master_link_status:down")
    assert D.gate_replica_link(text) == "master_link_status is down"
    assert D.parse_replication(text).link_status == "down"
    syncing = case("replication-replica.info.txt").replace("master_sync_in_progress:0", "master_sync_in_progress:1")
    assert D.gate_replica_link(syncing) == "a full sync from the primary is in progress"


def test_replication_hostile_addresses_are_problems_not_addresses():
    text = "role:master\nslave0:ip=127.0.0.1,port=70000,state=online,offset=1,lag=0\nslave1:ip=a b,port=6380,state=online,offset=1,lag=0\nslave2:ip=10.0.0.2,port=6381,state=online,offset=1,lag=0\n"
    rep = D.parse_replication(text)
    assert [x.problem is None for x in rep.replicas] == [False, False, True]
    assert "port 70000" in rep.replicas[0].problem
    assert rep.replicas[2].address == "10.0.0.2:6381"
    assert D.parse_replication("role:slave\nmaster_host:\nmaster_port:6379\n").problem.startswith("its primary")
    assert D.parse_replication("nothing here").problem is not None


def test_replica_numbering_is_numeric_not_lexical():
    lines = [f"slave{i}:ip=10.0.0.{i},port=6379,state=online,offset=0,lag=0" for i in range(12)]
    rep = D.parse_replication("role:master\n" + "\n".join(lines))
    assert [x.host for x in rep.replicas] == [f"10.0.0.{i}" for i in range(12)]


def test_ipv6_addresses():
    rep = D.parse_replication("role:slave\nmaster_host:::1\nmaster_port:6379\nmaster_link_status:up\n")
    assert rep.primary == "[::1]:6379"
    assert D.split_address("[::1]:6380") == ("::1", 6380)
    assert D.split_address("127.0.0.1:6380") == ("127.0.0.1", 6380)
    for bad in ("127.0.0.1", "host:0", "host:99999", "a b:1", ""):
        with pytest.raises(ValueError):
            D.split_address(bad)


# -- Sentinel detection ----------------------------------------------------


def test_sentinel_is_detected_from_info_server(case):
    assert D.is_sentinel(case("sentinel-server.info.txt"))
    assert D.is_sentinel(redispy_parse_info(case("sentinel-server.info.txt")))
    assert not D.is_sentinel(case("redis-server.info.txt"))
    assert not D.is_sentinel(redispy_parse_info(case("redis-server.info.txt")))


# -- Redis Cluster ---------------------------------------------------------


def _roles(nodes):
    return {n.address: {"role": n.role, "primary": n.primary} for n in nodes}


def test_cluster_shards_every_node_with_its_role(case):
    nodes = D.parse_cluster_shards(case("cluster-shards.json"))
    assert _roles(nodes) == case.expected["cluster"]
    assert all(n.managed_by == "cluster" and n.healthy and n.problem is None for n in nodes)
    assert all(n.node_id and len(n.node_id) == 40 for n in nodes)
    # the captured replicas say health "loading" (offset 0, never written): not a failure
    assert any(m[m.index("health") + 1] == "loading" for shard in case("cluster-shards.json") for m in shard[shard.index("nodes") + 1])


def test_cluster_nodes_fallback_same_answer(case):
    nodes = D.parse_cluster_nodes(case("cluster-nodes.txt"))
    assert _roles(nodes) == case.expected["cluster"]
    assert all(n.healthy for n in nodes)
    assert [n.role for n in nodes] == ["primary"] * 3 + ["replica"] * 3


def test_cluster_failed_node_reported(case):
    victim = case.expected["cluster_failed"]
    for nodes in (
        D.parse_cluster_shards(case("cluster-shards-failed.json")),
        D.parse_cluster_nodes(case("cluster-nodes-failed.txt")),
        D.merge_cluster_flags(D.parse_cluster_shards(case("cluster-shards-failed.json")), D.parse_cluster_nodes(case("cluster-nodes-failed.txt"))),
    ):
        assert set(_roles(nodes)) == set(case.expected["cluster"])  # still listed, not dropped
        bad = {n.address: n.problem for n in nodes if not n.healthy}
        assert list(bad) == [victim]
        assert "fail" in bad[victim]


def test_cluster_pfail_from_nodes_merged_into_shards(case):
    victim = case.expected["cluster_failed"]
    shards = D.parse_cluster_shards(case("cluster-shards.json"))
    text = case("cluster-nodes.txt")
    line = next(ln for ln in text.splitlines() if victim in ln)
    parts = line.split()
    parts[2] = parts[2] + ",fail?"
    pfail = text.replace(line, " ".join(parts))
    merged = D.merge_cluster_flags(shards, D.parse_cluster_nodes(pfail))
    assert [(n.address, n.problem) for n in merged if not n.healthy] == [(victim, "cluster flags fail?")]


def test_cluster_info_gate(case):
    text = case("cluster-info.txt")
    assert D.gate_cluster_state(text) is None
    assert D.gate_cluster_state(text.replace("cluster_state:ok", "cluster_state:fail")) == "cluster_state is fail"
    assert D.gate_cluster_state("") == "cluster_state is unknown"


def test_cluster_replica_info_replication_names_its_primary(case):
    rep = D.parse_replication(case("cluster-replica-info-replication.txt"))
    assert rep.role == "replica" and rep.primary in case.expected["cluster"]
    assert case.expected["cluster"][rep.primary]["role"] == "primary"


def test_cluster_nodes_noaddr_and_handshake():
    text = (
        "a" * 40 + " 127.0.0.1:7000@17000 myself,master - 0 0 1 connected 0-16383\n"
        + "b" * 40 + " :0@0 slave,noaddr " + "a" * 40 + " 0 0 1 disconnected\n"
        + "c" * 40 + " 127.0.0.1:7002@17002,node-c.example handshake - 0 0 0 connected\n"
    )
    nodes = {n.node_id[0]: n for n in D.parse_cluster_nodes(text)}
    assert nodes["a"].address == "127.0.0.1:7000" and nodes["a"].healthy
    assert not nodes["b"].healthy and nodes["b"].port == 0  # never a usable address
    assert nodes["b"].primary == "127.0.0.1:7000"
    assert nodes["c"].address == "127.0.0.1:7002" and nodes["c"].problem == "cluster flags handshake"


# -- Sentinel --------------------------------------------------------------


def test_sentinel_master_addr(case):
    exp = case.expected["sentinel"]
    assert D.format_address(*D.parse_sentinel_master_addr(case("sentinel-get-master-addr.json"))) == exp["primary"]
    assert D.parse_sentinel_master_addr(case("sentinel-get-master-addr-unknown.json")) is None
    master = D.parse_sentinel_master(case("sentinel-master.json"))
    assert master["flags"] == "master" and f"{master['ip']}:{master['port']}" == exp["primary"]


def test_sentinel_replicas(case):
    exp = case.expected["sentinel"]
    nodes = D.parse_sentinel_replicas(case("sentinel-replicas.json"), exp["primary"])
    assert [(n.address, n.role, n.managed_by, n.primary, n.healthy) for n in nodes] == [(exp["replica"], "replica", "sentinel", exp["primary"], True)]
    assert exp["sentinel"] not in {n.address for n in nodes}


def test_sentinel_replica_down_skipped_with_reason(case):
    exp = case.expected["sentinel"]
    (node,) = D.parse_sentinel_replicas(case("sentinel-replicas-down.json"), exp["primary"])
    assert node.address == exp["replica"] and not node.healthy
    assert node.problem.startswith("Sentinel flags ") and "s_down" in node.problem


def test_sentinel_replicas_resp3_maps(case):
    exp = case.expected["sentinel"]
    flat = case("sentinel-replicas.json")
    maps = [dict(zip(r[::2], r[1::2])) for r in flat]
    assert [n.address for n in D.parse_sentinel_replicas(maps, exp["primary"])] == [exp["replica"]]


# -- the replica walk (fake client: the walk's bookkeeping, not Redis) -----


class FakeClient:
    def __init__(self, infos, addr, calls):
        self.infos, self.addr, self.calls = infos, addr, calls

    def execute_command(self, *args):
        self.calls.append((self.addr, args))
        reply = self.infos.get(self.addr)
        if reply is None:
            raise rx.ConnectionError(f"Error 111 connecting to {self.addr}. Connection refused.")
        return reply

    def close(self):
        pass


def fake_connect(infos, calls):
    lock = threading.Lock()

    def connect(host, port):
        with lock:
            return FakeClient(infos, D.format_address(host, port), calls)

    return connect


def _primary(*children):
    lines = [f"slave{i}:ip={c.split(':')[0]},port={c.split(':')[1]},state=online,offset=1,lag=0" for i, c in enumerate(children)]
    return "redis_mode:standalone\nrole:master\n" + "\n".join(lines)


def _replica(of, *children, link="up"):
    h, p = of.split(":")
    return f"role:slave\nmaster_host:{h}\nmaster_port:{p}\nmaster_link_status:{link}\n" + _primary(*children).split("role:master\n", 1)[1]


def test_walk_is_cycle_safe_and_visits_each_node_once():
    a, b, c = "10.0.0.1:6379", "10.0.0.2:6379", "10.0.0.3:6379"
    # b lists a as its replica (a loop in the replies): a must not be walked again
    infos = {a: _primary(b), b: _replica(a, c, a), c: _replica(b, b)}
    calls = []
    nodes = D.discover_replicas(fake_connect(infos, calls), "10.0.0.1", 6379, parallel=2)
    assert [(n.address, n.role, n.primary) for n in nodes] == [(a, "primary", None), (b, "replica", a), (c, "replica", b)]
    assert sorted(addr for addr, _ in calls) == [a, b, c]


def test_walk_reports_unreachable_and_down_replicas():
    a, b, c, d = "10.0.0.1:6379", "10.0.0.2:6379", "10.0.0.3:6379", "10.0.0.4:6379"
    infos = {a: _primary(b, c, d), b: _replica(a, link="down"), d: _primary()}
    nodes = {n.address: n for n in D.discover_replicas(fake_connect(infos, []), "10.0.0.1", 6379)}
    assert nodes[a].healthy
    assert nodes[b].problem == "master_link_status down"
    assert nodes[c].problem.startswith("cannot connect") and not nodes[c].healthy
    assert "says it is a primary" in nodes[d].problem


def test_walk_refuses_a_sentinel_and_an_unreachable_seed():
    s = "127.0.0.1:26379"
    with pytest.raises(D.DiscoveryError, match="is a Sentinel"):
        D.discover_replicas(fake_connect({s: "redis_mode:sentinel\n"}, []), "127.0.0.1", 26379)
    with pytest.raises(D.DiscoveryError, match="cannot discover replicas from 127.0.0.1:1"):
        D.discover_replicas(fake_connect({}, []), "127.0.0.1", 1)


def test_walk_is_bounded():
    nodes = [f"10.0.{i // 250}.{i % 250 + 1}:6379" for i in range(30)]
    infos = {nodes[0]: _primary(*nodes[1:])}
    infos.update({n: _replica(nodes[0]) for n in nodes[1:]})
    with pytest.raises(D.DiscoveryError, match="more than 10 nodes"):
        D.discover_replicas(fake_connect(infos, []), "10.0.0.1", 6379, max_nodes=10)
    assert len(D.discover_replicas(fake_connect(infos, []), "10.0.0.1", 6379)) == 30


def test_discover_mode_checks():
    with pytest.raises(D.DiscoveryError, match="sentinel_master"):
        D.discover(fake_connect({}, []), "127.0.0.1:26379", "sentinel")
    with pytest.raises(D.DiscoveryError, match="unknown discover mode"):
        D.discover(fake_connect({}, []), "127.0.0.1:6379", "swarm")


# -- health gate -----------------------------------------------------------


def test_gate_ping():
    assert D.gate_ping(True) is None and D.gate_ping("PONG") is None
    assert D.gate_ping(False) is not None and D.gate_ping("LOADING") is not None


# -- parameters a topology owns / a group shares ---------------------------


@pytest.mark.parametrize("name", ["replicaof", "slaveof", "REPLICAOF", "replica-announce-ip", "replica-announce-port", "slave-announce-ip"])
def test_owned_by_cluster_and_sentinel(name):
    for who in ("cluster", "sentinel"):
        reason = D.owned_by_topology(name, who)
        assert reason and name.lower() in reason
    assert D.owned_by_topology(name, None) is None


@pytest.mark.parametrize("name", ["cluster-enabled", "cluster-config-file", "cluster-port", "cluster-announce-ip", "cluster-announce-port", "cluster-announce-bus-port", "cluster-announce-tls-port", "cluster-announce-hostname", "cluster-announce-human-nodename"])
def test_owned_by_cluster_only(name):
    assert D.owned_by_topology(name, "cluster")
    assert D.owned_by_topology(name, "sentinel") is None


@pytest.mark.parametrize("name", ["maxmemory", "replica-announced", "cluster-node-timeout", "requirepass", "masterauth", "replica-read-only"])
def test_not_owned(name):
    assert D.owned_by_topology(name, "cluster") is None and D.owned_by_topology(name, "sentinel") is None


def test_group_shared():
    for name in ("requirepass", "masterauth", "primaryauth", "masteruser"):
        assert D.shared_in_group(name)
    assert D.shared_in_group("maxmemory") is None
    same = {"a:1": {"requirepass": "s3cret-A", "masterauth": "s3cret-A", "maxmemory": 1}, "b:1": {"requirepass": "s3cret-A", "primaryauth": "s3cret-A", "maxmemory": 2}}
    assert D.group_shared_problems(same) == []
    differ = {"a:1": {"requirepass": "s3cret-A", "masterauth": "s3cret-A"}, "b:1": {"requirepass": "s3cret-B", "masterauth": "s3cret-B"}}
    problems = D.group_shared_problems(differ)
    assert [p.split(" ", 1)[0] for p in problems] == ["masterauth", "requirepass"]
    assert not any("s3cret" in p for p in problems)  # secrets are never echoed
    missing = {"a:1": {"requirepass": "s3cret-A", "masterauth": "s3cret-A"}, "b:1": {}}
    assert len(D.group_shared_problems(missing)) == 2
    no_auth = {"a:1": {"requirepass": "s3cret-A"}, "b:1": {"requirepass": "s3cret-A"}}
    assert [p.split(":", 1)[0] for p in D.group_shared_problems(no_auth)] == ["a", "b"]
    with_user = {"a:1": {"requirepass": "x", "masteruser": "repl", "masterauth": "y"}}
    assert D.group_shared_problems(with_user) == []


def test_owned_names_against_the_catalog():
    """Every parameter the topology owns is a real one, under its canonical name
    (the planner asks with Param.name), and nothing else in the catalog is owned."""
    from borgconf import params as P

    ps = P.catalog().params
    names = [p.name for p in (ps.values() if isinstance(ps, dict) else ps)]
    cluster = {n for n in names if D.owned_by_topology(n, "cluster")}
    sentinel = {n for n in names if D.owned_by_topology(n, "sentinel")}
    assert sentinel == {"replicaof", "replica-announce-ip", "replica-announce-port"}
    assert cluster == sentinel | {
        "cluster-enabled", "cluster-config-file", "cluster-port", "cluster-announce-ip", "cluster-announce-port",
        "cluster-announce-bus-port", "cluster-announce-tls-port", "cluster-announce-hostname",
        "cluster-announce-human-nodename", "cluster-announce-client-ipv4", "cluster-announce-client-ipv6",
        "cluster-announce-client-port", "cluster-announce-client-tls-port",  # Valkey 9.1's per-node client ports
    }
    assert {n for n in names if D.shared_in_group(n)} == {"requirepass", "masterauth", "masteruser"}


def test_cluster_nodes_myself_without_ip():
    text = "a" * 40 + " :7000@17000 myself,master - 0 0 0 connected\n"
    assert not D.parse_cluster_nodes(text)[0].healthy
    (node,) = D.parse_cluster_nodes(text, myself_host="10.1.2.3")
    assert (node.address, node.healthy) == ("10.1.2.3:7000", True)
