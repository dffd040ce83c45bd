"""Fleets without a server (issue 12): the spec's discover:, sentinel_master:
and per-target server: blocks, --target globs, the planner's place for each
node (role, manager, owned parameters, group passwords, per-target errors), the
rolling order and the progress counter."""

from __future__ import annotations

import io
import json
import textwrap

import pytest

from borgconf.errors import BorgconfError, SpecError
from borgconf.fleet import NodeInfo, node_target, rolling_order, select_targets
from borgconf.plan import Plan, TargetPlan
from borgconf.planner import build_plan
from borgconf.spec import load_spec
from borgconf.views import Progress, placement
from borgconf.live import LiveState, parse_info
from facts import load, text


def live_from_capture(server: str) -> LiveState:
    info = dict(line.split(":", 1) for line in text(server, "info-server.txt").splitlines() if ":" in line and not line.startswith("#"))
    facts = parse_info(info)
    facts["total_memory"] = 8 * 1024**3
    return LiveState(address="127.0.0.1:6379", config=load(server, "config-get.json"), **facts)


def spec_from(tmp_path, body: str):
    p = tmp_path / "s.yaml"
    p.write_text("version: 1\n" + textwrap.dedent(body))
    return load_spec(p, env={})


def refused(tmp_path, body: str) -> str:
    with pytest.raises(SpecError) as info:
        spec_from(tmp_path, body)
    return "\n".join(str(p) for p in info.value.problems)


def test_discover_modes_and_their_rules(tmp_path):
    s = spec_from(tmp_path, """
        targets:
          - {name: a, url: "redis://10.0.0.1:6379", discover: replicas}
          - {name: b, url: "redis://10.0.0.2:6379", discover: cluster}
          - {name: c, url: "redis://10.0.0.3:26379", discover: sentinel, sentinel_master: mymaster}
          - {name: d, url: "redis://10.0.0.4:6379"}
        """)
    assert [t.discover for t in s.targets] == ["replicas", "cluster", "sentinel", None]
    assert "needs sentinel_master" in refused(tmp_path, 'targets:\n  - {url: "redis://h:1", discover: sentinel}\n')
    assert "only for discover: sentinel" in refused(tmp_path, 'targets:\n  - {url: "redis://h:1", discover: cluster, sentinel_master: m}\n')
    assert "discover" in refused(tmp_path, 'targets:\n  - {url: "redis://h:1", discover: everything}\n')
    msg = refused(tmp_path, 'targets:\n  - {url: "redis://h:1", discover: replicas, persist: file}\n')
    assert "persist: file cannot serve discover: replicas" in msg and "s.yaml:3:" in msg
    assert "Sentinel master name" in refused(tmp_path, 'targets:\n  - {url: "redis://h:1", discover: sentinel, sentinel_master: "a b"}\n')


def test_two_targets_with_the_same_address_are_refused_at_validate(tmp_path):
    msg = refused(tmp_path, """
        targets:
          - {name: a, url: "redis://Cache.example:6379"}
          - {name: b, url: "redis://cache.example"}
        """)
    assert "targets 'a' and 'b' are the same server" in msg and "s.yaml:5:" in msg
    # another port is another server
    spec_from(tmp_path, 'targets:\n  - {name: a, url: "redis://h:6379"}\n  - {name: b, url: "redis://h:6380"}\n')


def test_per_target_server_merges_over_the_shared_block(tmp_path):
    s = spec_from(tmp_path, """
        targets:
          - {name: a, url: "redis://h:1"}
          - name: b
            url: "redis://h:2"
            server: {maxmemory: 2gb, requirepass: own-secret-b}
        server:
          maxmemory: 1gb
          hz: 15
        """)
    assert s.server_for("a") is s.server
    b = s.server_for("b")
    assert b["maxmemory"].checked != s.server["maxmemory"].checked and b["hz"] is s.server["hz"]
    assert "own-secret-b" in s.secrets()  # registered with the redactor like any secret
    msg = refused(tmp_path, """
        targets:
          - name: b
            url: "redis://h:2"
            server: {maxmemroy: 2gb, requirepass: 12, hz: 9999}
        """)
    assert "targets[0].server.maxmemroy: unknown parameter 'maxmemroy'; did you mean 'maxmemory'?" in msg
    assert "targets[0].server.hz" in msg
    msg = refused(tmp_path, 'target:\n  url: "redis://h:2"\n  server: {maxmemory: 1gb}\nignore: [maxmemory]\n')
    assert "maxmemory is both set and in ignore:" in msg


def test_a_secret_in_a_target_block_is_never_echoed(tmp_path):
    msg = refused(tmp_path, 'targets:\n  - name: b\n    url: "redis://h:2"\n    server: {requirepass: ["s3cret-in-a-list"]}\n')
    assert "s3cret" not in msg and "targets[0].server.requirepass" in msg


def test_target_globs(tmp_path):
    s = spec_from(tmp_path, """
        targets:
          - {name: cache-1, url: "redis://h:1"}
          - {name: cache-2, url: "redis://h:2"}
          - {name: queue-1, url: "redis://h:3"}
        """)
    assert [t.name for t in select_targets(s, "cache-*")] == ["cache-1", "cache-2"]
    assert [t.name for t in select_targets(s, "*-1")] == ["cache-1", "queue-1"]
    assert [t.name for t in select_targets(s, "queue-1")] == ["queue-1"]
    assert [t.name for t in select_targets(s, "cache-[2]")] == ["cache-2"]
    with pytest.raises(BorgconfError, match="no target matching 'db-\\*'"):
        select_targets(s, "db-*")
    with pytest.raises(BorgconfError, match="overrides one target"):
        select_targets(s, "cache-*", url="redis://h:9")


def test_node_target_copies_the_seed_at_the_node_address(tmp_path):
    s = spec_from(tmp_path, 'target:\n  url: "rediss://seed:6379"\n  password: pw-123456\n  discover: cluster\n  timeout: 2\n')
    t = node_target(s.target, "::1", 7001)
    assert (t.name, t.url, t.address) == ("[::1]:7001", "rediss://[::1]:7001", "::1:7001")
    assert (t.password, t.timeout, t.discover) == ("pw-123456", 2.0, None)


def _live(server: str, address: str, **kw):
    live = live_from_capture(server)
    live.address = address
    for k, v in kw.items():
        setattr(live, k, v)
    return live


def test_mixed_fleet_a_parameter_one_server_lacks_fails_that_target_only(tmp_path):
    s = spec_from(tmp_path, """
        targets:
          - {name: old, url: "redis://h:1"}
          - {name: new, url: "redis://h:2"}
        server:
          hz: 15
          locale-collate: C
        """)
    failures: dict = {}
    plan = build_plan(s, {"old": _live("redis-7.0", "h:1"), "new": _live("redis-8.2", "h:2")}, failures=failures)
    assert [tp.name for tp in plan.targets] == ["new"]
    assert str(failures["old"]) == "Redis 7.0.15 at h:1 does not know parameter 'locale-collate'"
    with pytest.raises(BorgconfError, match="Redis 7.0.15"):
        build_plan(s, {"old": _live("redis-7.0", "h:1"), "new": _live("redis-8.2", "h:2")})


def test_owned_parameters_are_not_planned_on_managed_nodes_and_say_why(tmp_path):
    s = spec_from(tmp_path, """
        target: {name: shop, url: "redis://h:1", discover: cluster}
        server: {hz: 15, replicaof: "10.0.0.9 6379", cluster-announce-ip: 10.0.0.1}
        """)
    t = node_target(s.target, "h", 1)
    for manager, owned in (("cluster", {"replicaof", "cluster-announce-ip"}), ("sentinel", {"replicaof"}), (None, {"replicaof"})):
        tp = build_plan(s, {t.name: _live("redis-8.2", "h:1")}, targets=[t], nodes={t.name: NodeInfo("replica", manager, "h:0", "shop")}).targets[0]
        planned = {c.parameter for c in tp.changes} | {c.parameter for c in tp.noops}
        assert owned.isdisjoint(planned) and "hz" in planned, (manager, planned)
        assert sorted(w.split(" ", 1)[0] for w in tp.warnings) == sorted(owned), tp.warnings
        assert (tp.role, tp.managed_by, tp.primary, tp.group) == ("replica", manager, "h:0", "shop")
        assert placement(tp) == "replica of h:0" + (f", managed by {'Redis Cluster' if manager == 'cluster' else 'Sentinel'}" if manager else "") + ", found by shop"


def test_persist_file_on_a_replica_is_refused(tmp_path):
    s = spec_from(tmp_path, 'target: {url: "redis://h:1", persist: file}\nserver: {hz: 15}\n')
    failures: dict = {}
    build_plan(s, {"default": _live("redis-8.2", "h:1", role="replica", primary="h:0")}, failures=failures)
    assert "is a replica: persist: file" in str(failures["default"])
    assert build_plan(s, {"default": _live("redis-8.2", "h:1")}).targets[0].changes


def test_group_passwords_refused_when_they_would_differ(tmp_path):
    body = """
        targets:
          - {name: a, url: "redis://h:1", server: {requirepass: pass-aaaa, masterauth: pass-aaaa}}
          - {name: b, url: "redis://h:2", server: {requirepass: pass-bbbb, masterauth: pass-bbbb}}
          - {name: c, url: "redis://h:3"}
        """
    s = spec_from(tmp_path, body)
    lives = {"a": _live("redis-8.2", "h:1"), "b": _live("redis-8.2", "h:2", role="replica", primary="h:1"), "c": _live("redis-8.2", "h:3")}
    failures: dict = {}
    plan = build_plan(s, lives, failures=failures)
    assert [tp.name for tp in plan.targets] == ["c"]  # not in the group: still planned
    assert set(failures) == {"a", "b"}
    msg = str(failures["a"])
    assert "requirepass differs across the replication group" in msg and "pass-" not in msg
    # not replicating each other: each its own
    lives["b"] = _live("redis-8.2", "h:2")
    assert [tp.name for tp in build_plan(s, lives).targets] == ["a", "b", "c"]
    # the same password on both, masterauth equal to it: accepted
    same = spec_from(tmp_path, body.replace("pass-bbbb", "pass-aaaa"))
    lives["b"] = _live("redis-8.2", "h:2", role="replica", primary="h:1")
    assert len(build_plan(same, lives).targets) == 3
    # requirepass without masterauth on a group: refused (replicas could not follow)
    nomaster = spec_from(tmp_path, "targets:\n  - {name: a, url: 'redis://h:1'}\n  - {name: b, url: 'redis://h:2'}\nserver: {requirepass: pass-aaaa}\n")
    with pytest.raises(BorgconfError, match="masterauth does not equal it"):
        build_plan(nomaster, {"a": lives["a"], "b": lives["b"]})


def _tp(name, role="primary", primary=None):
    return TargetPlan(name, name, "redis", "8.2.3", "f" * 40, role=role, primary=primary)


def test_rolling_order_replicas_before_their_primary():
    plans = [_tp("p1"), _tp("r1", "replica", "p1"), _tp("c1", "replica", "r1"), _tp("solo"), _tp("p2"), _tp("r2", "replica", "p2")]
    order = [tp.name for tp in rolling_order(plans)]
    assert order == ["c1", "r1", "r2", "p1", "solo", "p2"]
    loop = [_tp("x", "replica", "y"), _tp("y", "replica", "x")]  # a hostile plan file cannot loop it
    assert sorted(tp.name for tp in rolling_order(loop)) == ["x", "y"]


def test_plan_json_round_trips_the_place_of_each_node():
    tp = _tp("127.0.0.1:7001", "replica", "127.0.0.1:7000")
    tp.managed_by, tp.group = "sentinel", "ha"
    doc = Plan("s.yaml", "a" * 64, [tp]).to_json()
    assert {k: doc["targets"][0][k] for k in ("role", "managed_by", "primary", "group")} == {"role": "replica", "managed_by": "sentinel", "primary": "127.0.0.1:7000", "group": "ha"}
    back = Plan.from_json(json.loads(json.dumps(doc))).targets[0]
    assert (back.role, back.managed_by, back.primary, back.group) == ("replica", "sentinel", "127.0.0.1:7000", "ha")
    doc["targets"][0]["role"] = "boss"
    with pytest.raises(Exception, match="role 'boss'"):
        Plan.from_json(doc)


def test_progress_counts_one_line_per_target():
    buf = io.StringIO()
    p = Progress("read", 3, stream=buf)
    p("a")
    p("b", BorgconfError("no answer"))
    assert buf.getvalue() == "[1/3] a: read\n[2/3] b: failed (no answer)\n"
    counter = io.StringIO()
    q = Progress("read", stream=counter)
    q("x")
    assert counter.getvalue() == "[1] x: read\n"


def test_a_group_change_waits_for_every_node(tmp_path):
    """A password or user of a replication group changes on all its nodes or
    none: a node discovery found but could not read holds the others back; a
    change the group does not share goes on."""
    s = spec_from(tmp_path, """
        target: {name: cache, url: "redis://h:1", discover: replicas}
        server: {hz: 15}
        """)
    a, b = node_target(s.target, "h", 1), node_target(s.target, "h", 2)
    nodes = {"h:1": NodeInfo("primary", None, None, "cache"), "h:2": NodeInfo("replica", None, "h:1", "cache")}
    lives = {"h:1": _live("redis-8.2", "h:1")}
    assert [c.parameter for c in build_plan(s, lives, targets=[a, b], nodes=nodes).targets[0].changes] == ["hz"]
    s2 = spec_from(tmp_path, """
        target: {name: cache, url: "redis://h:1", discover: replicas}
        server: {hz: 15, requirepass: group-pass-1, masterauth: group-pass-1}
        """)
    failures: dict = {}
    assert build_plan(s2, lives, targets=[a, b], nodes=nodes, failures=failures).targets == []
    msg = str(failures["h:1"])
    assert "requirepass, masterauth must change on every node of the replication group cache together" in msg and "h:2 could not be read" in msg
    assert "group-pass" not in msg
    both = {**lives, "h:2": _live("redis-8.2", "h:2", role="replica", primary="h:1")}
    assert len(build_plan(s2, both, targets=[a, b], nodes=nodes).targets) == 2


def test_a_saved_plan_reaches_discovered_nodes_through_their_seed_only(tmp_path):
    from borgconf.errors import PlanError
    from borgconf.fleet import load_saved_plan

    s = spec_from(tmp_path, 'targets:\n  - {name: cache, url: "redis://h:1", discover: replicas, password: pw-1234567}\n  - {name: solo, url: "redis://h:9"}\n')
    tp = _tp("10.0.0.2:6380", "replica", "h:1")
    tp.group = "cache"
    solo = _tp("solo")
    solo.address = "h:9"  # a saved plan records host:port
    plan = Plan(str(tmp_path / "s.yaml"), s.sha256, [tp, solo])
    path = tmp_path / "plan.json"
    path.write_text(plan.dumps())
    saved = load_saved_plan(str(path))
    assert [(t.name, t.url, t.password) for t in saved.targets] == [("10.0.0.2:6380", "redis://10.0.0.2:6380", "pw-1234567"), ("solo", "redis://h:9", None)]
    assert [t.name for t in load_saved_plan(str(path), target_name="so*").targets] == ["solo"]
    for name, group, why in (("evil", "cache", "named by its address"), ("10.0.0.2:6380", "solo", "has no discover:")):
        bad = Plan(str(tmp_path / "s.yaml"), s.sha256, [_tp(name, "replica")])
        bad.targets[0].address, bad.targets[0].group = "10.0.0.2:6380", group
        path.write_text(bad.dumps())
        with pytest.raises(PlanError, match=why):
            load_saved_plan(str(path))


def test_config_get_args_ask_each_name_as_a_glob_of_itself_at_most_8_a_command():
    """An unauthenticated client may send 10 arguments a command (more and the
    server closes the connection before saying NOAUTH); a glob of one name
    keeps hidden configs out, as CONFIG GET * does. (Names the catalog does not
    know, as here, are always globs.)"""
    from fnmatch import fnmatchcase

    from borgconf.live import config_get_args

    names = tuple(f"param-{i}" for i in range(19))
    gets = config_get_args(names)
    assert [len(g) for g in gets] == [9, 9, 4] and all(g[0] == "GET" for g in gets)
    patterns = [p for g in gets for p in g[1:]]
    assert patterns[0] == "param-[0]" and patterns[10] == "param-1[0]"
    assert all(fnmatchcase(n, p) and sum(fnmatchcase(m, p) for m in names) == 1 for n, p in zip(names, patterns))
    assert config_get_args(()) == (("GET", "*"),)


def test_config_get_args_ask_a_parameter_every_server_lists_by_its_name():
    """A glob makes the server match it against every parameter it has; a name it
    looks up. Only a parameter CONFIG GET * lists on every known server is asked
    by name: one hidden somewhere (aof-disable-auto-gc on Redis 8.2 and Valkey),
    one some server does not list (dynamic-hz), an alias (slaveof) and another
    flavour's name (primaryauth) stay globs of themselves."""
    from borgconf.live import config_get_args

    [get] = config_get_args(("hz", "maxmemory", "masterauth", "aof-disable-auto-gc", "dynamic-hz", "slaveof", "primaryauth"))
    assert get == ("GET", "hz", "maxmemory", "masterauth", "aof-disable-auto-g[c]", "dynamic-h[z]", "slaveo[f]", "primaryaut[h]")
