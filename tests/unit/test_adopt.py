"""import (adopt.py): the pure part, facts -> spec text, from the CONFIG GET replies
captured in tests/redis-facts/; the written spec is loaded back with load_spec."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from borgconf import adopt
from borgconf import params as P
from borgconf.spec import load_spec
from borgconf.users import UserState, password_hash

ROOT = Path(__file__).resolve().parent.parent.parent
FACTS = ROOT / "tests" / "redis-facts"
SERVERS = {"redis-7.0": ("redis", "7.0.15"), "redis-8.2": ("redis", "8.2.3"), "valkey-8": ("valkey", "8.0.1")}


def facts_of(key: str, **changes) -> adopt.ServerFacts:
    flavour, version = SERVERS[key]
    config = json.loads((FACTS / key / "config-get.json").read_text())
    config.update(changes)
    return adopt.ServerFacts(address="127.0.0.1:6379", flavour=flavour, version=version, config=config, config_file="/etc/redis.conf")


def load(tmp_path, text: str, env: dict[str, str] | None = None):
    path = tmp_path / "imported.yaml"
    path.write_text(text)
    return load_spec(path, env=env or {})


# what the capture's base config set (redis-facts/README.md); dir has no compiled-in default
BASE_CONFIG_ONLY = {"port", "bind", "dir", "logfile", "daemonize"}
COMPILED_IN = {"save": "3600 1 300 100 60 10000", "port": "6379", "bind": "* -::*", "logfile": "", "daemonize": "no"}


@pytest.mark.parametrize("key", ["redis-7.0", "redis-8.2", "valkey-8", "valkey-8.1", "valkey-9.1"])
def test_import_defaults_are_the_catalogs_and_match_each_fresh_server(key):
    """import reads its defaults from the catalog (Param.default_for): every
    value a fresh server of that version reports, and the compiled-in
    port, bind, save, logfile and daemonize the capture's base config hid."""
    facts = json.loads((ROOT / "tests" / "redis-facts" / key / "config-get.json").read_text())
    want = {k: v for k, v in facts.items() if k not in BASE_CONFIG_ONLY}
    want.update(COMPILED_IN)
    got_key, defaults = adopt.version_defaults(*key.split("-"))
    assert got_key == key
    catalog = P.catalog()
    wrong = []
    for name, value in want.items():
        p = catalog.lookup(name)
        have = next((defaults[n] for n in p.names() if n in defaults), None) if p is not None else None
        if have is None or P.canonical_live(p, have) != P.canonical_live(p, value):
            wrong.append((name, value, have))
    assert wrong == []
    assert "dir" not in defaults


@pytest.mark.parametrize("key", list(SERVERS))
def test_a_fresh_server_imports_as_only_what_its_capture_config_changed(tmp_path, key):
    imported = adopt.build_spec(facts_of(key), "redis://redis:6379")
    spec = load(tmp_path, imported.text)
    # the capture ran with save "" (the compiled-in default has save points); port, bind, dir, ... are the environment's
    assert {name: sv.raw for name, sv in spec.server.items()} == {"save": []}
    assert "# Left out, owned by the environment (compose, systemd, the image): bind, dir, logfile, port\n" in imported.text
    assert spec.targets[0].url == "redis://redis:6379" and spec.targets[0].persist == "rewrite"


@pytest.mark.parametrize("flavour, version, key", [("redis", "7.0.15", "redis-7.0"), ("redis", "7.4.1", "redis-7.0"), ("redis", "8.0.2", "redis-8.2"), ("valkey", "9.0.0", "valkey-9.1"), ("valkey", "8.0.1", "valkey-8"), ("valkey", "8.1.8", "valkey-8.1"), ("valkey", "7.2.5", "valkey-8")])
def test_version_defaults_pick_the_nearest_captured_server(flavour, version, key):
    got, defaults = adopt.version_defaults(flavour, version)
    assert got == key and defaults["maxmemory"] == "0" and defaults["save"] == "3600 1 300 100 60 10000"


def test_changed_parameters_in_human_units_and_secrets_as_placeholders(tmp_path):
    f = facts_of(
        "redis-8.2",
        maxmemory=str(2 * 1024**3),
        save="900 1 300 10",
        appendonly="yes",
        requirepass="hunter2-secret",
        masterauth="primary-secret",
        **{"maxmemory-policy": "allkeys-lru", "client-output-buffer-limit": "normal 0 0 0 slave 268435456 67108864 60 pubsub 67108864 16777216 90",
           "dir": "/data", "slaveof": "10.0.0.1 6379", "replicaof": "10.0.0.1 6379", "masteruser": "a$b", "hz": "20"},
    )
    f.password_used = "hunter2-secret"
    imported = adopt.build_spec(f, "redis://redis:6379")
    text = imported.text
    assert "hunter2-secret" not in text and "primary-secret" not in text
    assert "maxmemory: 2gb\n" in text and "appendonly: true\n" in text
    assert "pubsub 64mb 16mb 90" in text
    spec = load(tmp_path, text, {"REDIS_PASSWORD": "hunter2-secret", "REDIS_MASTERAUTH": "primary-secret"})
    raw = {name: sv.raw for name, sv in spec.server.items()}
    assert raw["save"] == ["900 1", "300 10"] and raw["hz"] == 20 and raw["maxmemory-policy"] == "allkeys-lru"
    assert spec.server["masteruser"].checked == "a$b"  # a literal $ is written as $$
    assert spec.server["requirepass"].checked == "hunter2-secret" and spec.targets[0].password == "hunter2-secret"
    assert "dir" not in raw and spec.ignore == {"replicaof"}
    assert "# Left out, owned by the environment (compose, systemd, the image): bind, dir, logfile, port\n" in text
    assert set(imported.variables) == {"REDIS_PASSWORD", "REDIS_MASTERAUTH"}


def test_disabled_and_renamed_commands(tmp_path):
    f = facts_of("redis-7.0")
    f.listed = {n.lower() for n in adopt.DANGEROUS_COMMANDS} - {"flushall"}
    f.answered = {n: n not in ("FLUSHALL", "FLUSHDB", "CONFIG") for n in adopt.DANGEROUS_COMMANDS}
    f.config_command = "cfg-secret"
    text = adopt.build_spec(f, "redis://redis:6379").text
    assert "cfg-secret" not in text
    spec = load(tmp_path, text, {"REDIS_CONFIG_COMMAND": "cfg-secret", "REDIS_FLUSHDB_COMMAND": "fdb-secret"})
    assert spec.commands == {"FLUSHALL": "disabled", "FLUSHDB": "fdb-secret", "CONFIG": "cfg-secret"}
    assert spec.targets[0].config_command == "cfg-secret"


def test_users_with_placeholders_and_the_ones_a_spec_cannot_hold(tmp_path):
    f = facts_of("redis-7.0")
    h = password_hash("pw")
    f.users = {
        "default": UserState(True, ("~*",), ("&*",), ("+@all",), frozenset(), nopass=True),
        "n8n": UserState(True, ("~bull:*",), (), ("+@all", "-@dangerous"), frozenset({h})),
        "redis": UserState(False, ("~*",), ("&news",), (), frozenset({h})),
        "two": UserState(True, ("~*",), (), ("+@all",), frozenset({h, password_hash("x")})),
        "open": UserState(True, ("~*",), (), ("+@all",), frozenset(), nopass=True),
        "odd:name": UserState(True, ("~*",), (), ("+@all",), frozenset({h})),
    }
    imported = adopt.build_spec(f, "redis://redis:6379")
    assert "user two left out: 2 passwords" in imported.text and "user open left out: nopass" in imported.text
    assert "user 'odd:name' left out: the spec's user names" in imported.text and "ODD_NAME_PASSWORD" not in imported.text
    assert h not in imported.text
    spec = load(tmp_path, imported.text, {"N8N_PASSWORD": "pw", "USER_REDIS_PASSWORD": "pw"})
    assert set(spec.users) == {"n8n", "redis"}
    assert spec.users["n8n"].keys == ["bull:*"] and spec.users["n8n"].commands == "+@all -@dangerous"
    # REDIS_PASSWORD belongs to requirepass: the user "redis" gets another variable
    assert spec.users["redis"].enabled is False and spec.users["redis"].password == "pw"
    assert spec.users["redis"].channels == ["news"] and spec.users["redis"].commands == "-@all"


def test_databases_with_keys_become_commented_suggestions(tmp_path):
    f = facts_of("redis-7.0", databases="32")
    f.keyspace = {0: 12, 5: 3}
    text = adopt.build_spec(f, "redis://redis:6379").text
    assert "#   app0: {db: 0}   # 12 keys" in text and "#   app5: {db: 5}   # 3 keys" in text
    spec = load(tmp_path, text)
    assert spec.services == {} and spec.server["databases"].checked == 32


def test_a_server_without_config_file_imports_with_persist_none(tmp_path):
    f = facts_of("redis-7.0")
    f.config_file = ""
    spec = load(tmp_path, adopt.build_spec(f, "redis://redis:6379").text)
    assert spec.targets[0].persist == "none"


def test_a_value_the_spec_would_refuse_is_left_out_with_the_reason(tmp_path):
    f = facts_of("redis-7.0", **{"dbfilename": "x\ny"})
    imported = adopt.build_spec(f, "redis://redis:6379")
    assert "dbfilename" not in imported.parameters and any(n.startswith("dbfilename") for n in imported.left_out)
    load(tmp_path, imported.text)


# -- a replication group or cluster in one spec (build_group_spec) -------------

PRIMARY_PW = "Zt8-qLw3!vXe5mR"
OTHER_PW = "Hp4-sGc7!yNa2kW"


def _node(port, role="primary", primary=None, managed_by=None):
    from borgconf.discovery import Node

    return Node(f"127.0.0.1:{port}", "127.0.0.1", port, role, managed_by, primary)


def _group_facts(port, **changes):
    f = facts_of("redis-8.2", **{"save": "3600 1 300 100 60 10000", **changes})  # the capture ran without save points
    f.address = f"127.0.0.1:{port}"
    f.password_used = PRIMARY_PW
    return f


def test_group_spec_shares_what_all_agree_on_and_overrides_the_rest(tmp_path):
    common = {"hz": "20", "requirepass": PRIMARY_PW, "masterauth": PRIMARY_PW}
    nodes = [
        (_node(7000), _group_facts(7000, **common)),
        (_node(7001, "replica", "127.0.0.1:7000"), _group_facts(7001, **common, replicaof="127.0.0.1 7000", maxmemory=str(300 * 1024**2))),
    ]
    out = adopt.build_group_spec(nodes, "redis://127.0.0.1:7000", "replicas")
    assert PRIMARY_PW not in out.text
    spec = load(tmp_path, out.text, {"REDIS_PASSWORD": PRIMARY_PW, "REDIS_MASTERAUTH": PRIMARY_PW})
    assert [t.name for t in spec.targets] == ["127.0.0.1:7000", "127.0.0.1:7001"]
    assert set(spec.server) == {"hz", "requirepass", "masterauth"}
    assert spec.target_server.get("127.0.0.1:7000", {}) == {}
    assert set(spec.target_server["127.0.0.1:7001"]) == {"maxmemory"}
    assert "replicaof" in spec.ignore and not any(t.discover for t in spec.targets)
    assert set(out.variables) == {"REDIS_PASSWORD", "REDIS_MASTERAUTH"}


def test_group_spec_of_agreeing_nodes_is_one_discover_target(tmp_path):
    nodes = [(_node(7000), _group_facts(7000, hz="20")), (_node(7001, "replica", "127.0.0.1:7000"), _group_facts(7001, hz="20", replicaof="127.0.0.1 7000"))]
    out = adopt.build_group_spec(nodes, "redis://127.0.0.1:7000", "replicas")
    spec = load(tmp_path, out.text, {"REDIS_TARGET_PASSWORD": PRIMARY_PW})
    [t] = spec.targets
    assert t.discover == "replicas" and t.url == "redis://127.0.0.1:7000" and set(spec.server) == {"hz"}


def test_group_spec_secrets_that_differ_get_a_variable_per_node_and_users_that_differ_are_left_out(tmp_path):
    h = password_hash(OTHER_PW)
    user = UserState(enabled=True, hashes=(h,), keys=("~bull:*",), channels=(), commands=("+@all",))
    a = _group_facts(7000, requirepass=PRIMARY_PW)
    b = _group_facts(7001, requirepass=OTHER_PW)
    a.users, b.users = {"n8n": user}, {}
    out = adopt.build_group_spec([(_node(7000, managed_by="cluster"), a), (_node(7001, managed_by="cluster"), b)], "redis://127.0.0.1:7000", "cluster")
    assert PRIMARY_PW not in out.text and OTHER_PW not in out.text
    env = {"REDIS_PASSWORD_127_0_0_1_7000": PRIMARY_PW, "REDIS_PASSWORD_127_0_0_1_7001": OTHER_PW, "REDIS_TARGET_PASSWORD": PRIMARY_PW}
    spec = load(tmp_path, out.text, env)
    assert "requirepass" not in spec.server
    assert spec.target_server["127.0.0.1:7000"]["requirepass"].checked == PRIMARY_PW
    assert spec.target_server["127.0.0.1:7001"]["requirepass"].checked == OTHER_PW
    assert spec.targets[0].password == PRIMARY_PW  # it connected with that node's requirepass
    assert spec.users == {} and "user n8n left out: the nodes differ (127.0.0.1:7000 have it" in out.text
    assert set(out.variables) == set(env)


def test_group_spec_leaves_cluster_owned_parameters_out_of_every_server_block(tmp_path):
    owned = {"cluster-enabled": "yes", "cluster-port": "17000"}
    nodes = [(_node(7000, managed_by="cluster"), _group_facts(7000, **owned)), (_node(7001, managed_by="cluster"), _group_facts(7001, **{**owned, "cluster-port": "17001"}))]
    for n, f in nodes:
        f.mode = "cluster"
    out = adopt.build_group_spec(nodes, "redis://127.0.0.1:7000", "cluster")
    spec = load(tmp_path, out.text, {"REDIS_TARGET_PASSWORD": PRIMARY_PW})
    assert not spec.server and not spec.target_server.get("cluster")
    assert {"cluster-enabled", "cluster-port"} <= spec.ignore
