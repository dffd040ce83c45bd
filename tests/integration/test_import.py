"""borgconf import on real Redis 7.0 and 8.2: a server changed in 20 parameters, with a
password, a user, a disabled and two renamed commands (CONFIG among them) is imported;
the spec validates and, with its placeholders set to the real secrets, plans empty,
also after a restart of the server from its own config file."""

from __future__ import annotations

import json
import os
import stat

import pytest

from borgconf import redact
from cli_helpers import run

PASSWORD = "pw-$ecret-42"
USER_PASSWORD = "n8n-pw-77"
CONFIG_NAME = "cfg_x9Kq2mZ7"
FLUSHDB_NAME = "fdb_x9Kq2mZ7"

CHANGED = [
    "maxmemory 100mb",
    "maxmemory-policy allkeys-lru",
    "maxmemory-samples 7",
    "appendonly yes",
    "appendfsync always",
    "save 900 1 300 10",
    "slowlog-log-slower-than 5000",
    "slowlog-max-len 256",
    "timeout 300",
    "tcp-keepalive 60",
    "hz 20",
    "notify-keyspace-events Ex",
    "lazyfree-lazy-eviction yes",
    "maxclients 500",
    'client-output-buffer-limit "pubsub 64mb 16mb 90"',
    "databases 32",
    "latency-monitor-threshold 100",
    "activerehashing no",
    "stop-writes-on-bgsave-error no",
    "list-max-listpack-size -3",
    "repl-backlog-size 4mb",
]
COMMANDS = ['rename-command FLUSHALL ""', f"rename-command FLUSHDB {FLUSHDB_NAME}", f"rename-command CONFIG {CONFIG_NAME}"]
USER = f"user n8n on >{USER_PASSWORD} ~bull:* &jobs:* +@all -@dangerous"
SECRETS = (PASSWORD, USER_PASSWORD, CONFIG_NAME, FLUSHDB_NAME)
PLACEHOLDERS = {"REDIS_PASSWORD": PASSWORD, "N8N_PASSWORD": USER_PASSWORD, "REDIS_CONFIG_COMMAND": CONFIG_NAME, "REDIS_FLUSHDB_COMMAND": FLUSHDB_NAME}


@pytest.fixture(autouse=True)
def _clean(monkeypatch):
    for name in (*PLACEHOLDERS, "BORGCONF_CONFIG_COMMAND"):
        monkeypatch.delenv(name, raising=False)
    redact.clear()
    yield
    redact.clear()


def plan(capsys, spec):
    rc, out, err = run(capsys, "plan", spec, "--format", "json", "--detailed-exitcode")
    assert rc in (0, 2), err
    [target] = json.loads(out)["targets"]
    return rc, target, out + err


def test_import_of_a_changed_server_validates_and_plans_empty(redis_factory, tmp_path, capsys, monkeypatch):
    server = redis_factory([*CHANGED, *COMMANDS, USER], password=PASSWORD)
    c = server.client()
    c.set("job:1", "x")
    c.execute_command("SELECT", 4)
    c.set("cache:1", "y")
    monkeypatch.setenv("BORGCONF_PASSWORD", PASSWORD)
    monkeypatch.setenv("BORGCONF_CONFIG_COMMAND", CONFIG_NAME)
    spec = tmp_path / "imported.yaml"
    rc, out, err = run(capsys, "import", "--url", server.url, "-o", spec)
    assert rc == 0, err
    text = spec.read_text()
    for secret in SECRETS:
        assert secret not in text + out + err
    assert stat.S_IMODE(os.stat(spec).st_mode) == 0o600
    assert "maxmemory: 100mb" in text and "repl-backlog-size: 4mb" in text and "pubsub 64mb 16mb 90" in text
    assert "#   app0: {db: 0}   # 1 keys" in text and "#   app4: {db: 4}   # 1 keys" in text
    assert "Left out, owned by the environment" in text and "\n  dir:" not in text and "\n  port:" not in text

    # validate needs no server; the placeholders must be set (a missing one is an error naming it)
    rc, out, err = run(capsys, "validate", spec)
    assert rc == 1 and "REDIS_PASSWORD" in err
    for name, value in PLACEHOLDERS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("BORGCONF_PASSWORD")
    monkeypatch.delenv("BORGCONF_CONFIG_COMMAND")
    rc, out, err = run(capsys, "validate", spec)
    assert rc == 0, err
    # the 21 changed + requirepass; Valkey's lazyfree-lazy-eviction default is already yes
    imported = 22 - (server.flavour == "valkey")
    assert f"{imported} parameter(s)" in out, out
    assert "commandlog-" not in text  # Valkey's second name of slowlog-*: one setting, written once
    # the old name still sets the setting the new name reports
    c = server.client()
    c.execute_command(CONFIG_NAME, "SET", "slowlog-max-len", "300")
    if server.flavour == "valkey":
        reply = c.execute_command(CONFIG_NAME, "GET", "commandlog-slow-execution-max-len")
        assert (reply if isinstance(reply, dict) else dict(zip(reply[::2], reply[1::2]))) == {"commandlog-slow-execution-max-len": "300"}
    c.execute_command(CONFIG_NAME, "SET", "slowlog-max-len", "256")

    rc, target, shown = plan(capsys, spec)
    assert rc == 0 and target["changes"] == [], shown
    in_sync = set(target["in_sync"])
    assert {"rename-command FLUSHALL", "rename-command FLUSHDB", "rename-command CONFIG", "user n8n", "requirepass"} <= in_sync
    assert len([n for n in in_sync if " " not in n]) == imported
    for secret in SECRETS:
        assert secret not in shown

    # what import wrote is how the server starts: still in sync after a restart
    server.restart()
    rc, target, shown = plan(capsys, spec)
    assert rc == 0 and target["changes"] == [], shown


def test_import_refuses_to_overwrite_and_needs_the_renamed_config(redis_factory, tmp_path, capsys, monkeypatch):
    server = redis_factory([f"rename-command CONFIG {CONFIG_NAME}"])
    spec = tmp_path / "spec.yaml"
    rc, out, err = run(capsys, "import", "--url", server.url, "-o", spec)
    assert rc == 1 and "BORGCONF_CONFIG_COMMAND" in err and not spec.exists()
    monkeypatch.setenv("BORGCONF_CONFIG_COMMAND", CONFIG_NAME)
    rc, out, err = run(capsys, "import", "--url", server.url, "-o", spec)
    assert rc == 0, err
    spec.write_text("mine\n")
    rc, out, err = run(capsys, "import", "--url", server.url, "-o", spec)
    assert rc == 1 and "--force" in err and spec.read_text() == "mine\n"
    rc, out, err = run(capsys, "import", "--url", server.url, "-o", spec, "--force")
    assert rc == 0 and "version: 1" in spec.read_text() and CONFIG_NAME not in spec.read_text() + out + err


def test_import_to_stdout_of_a_server_without_config_file(redis_factory, tmp_path, capsys, monkeypatch):
    server = redis_factory(["maxmemory 64mb"], with_config_file=False)
    rc, out, err = run(capsys, "import", "--url", server.url)
    assert rc == 0, err
    assert "persist: none" in out and "maxmemory: 64mb" in out
    spec = tmp_path / "spec.yaml"
    spec.write_text(out)
    rc, target, shown = plan(capsys, spec)
    assert rc == 0 and target["changes"] == [], shown


def test_a_wrong_password_is_an_error_without_the_password(redis_factory, capsys, monkeypatch):
    server = redis_factory(password=PASSWORD)
    monkeypatch.setenv("REDISCLI_AUTH", "wrong-pw-123")
    rc, out, err = run(capsys, "import", "--url", server.url)
    assert rc == 1 and "authentication failed" in err and "wrong-pw-123" not in out + err


def test_import_of_a_replica_ignores_replicaof_and_hides_masterauth(redis_factory, tmp_path, capsys, monkeypatch):
    primary = redis_factory(password=PASSWORD)
    replica = redis_factory([f"replicaof 127.0.0.1 {primary.port}", f'masterauth "{PASSWORD}"'], password=PASSWORD)
    monkeypatch.setenv("BORGCONF_PASSWORD", PASSWORD)
    spec = tmp_path / "replica.yaml"
    rc, out, err = run(capsys, "import", "--url", replica.url, "-o", spec)
    assert rc == 0, err
    text = spec.read_text()
    assert PASSWORD not in text + out + err
    assert "role slave" in text and "masterauth: ${REDIS_MASTERAUTH}" in text
    assert "ignore:\n  - replicaof\n" in text and "\n  replicaof:" not in text
    monkeypatch.delenv("BORGCONF_PASSWORD")
    monkeypatch.setenv("REDIS_PASSWORD", PASSWORD)
    monkeypatch.setenv("REDIS_MASTERAUTH", PASSWORD)
    rc, target, shown = plan(capsys, spec)
    assert rc == 0 and target["changes"] == [] and "masterauth" in target["in_sync"], shown
    assert PASSWORD not in shown


# -- import --discover: one spec for a replication group or a cluster (issue 13) --

GROUP_PASSWORD = "Kq7-vN2x!pRw9zT"  # requirepass and masterauth of every node


def _set_everywhere(servers, *pairs):
    for srv in servers:
        c = srv.client()
        for name, value in pairs:
            c.config_set(name, value)


def _import_group(capsys, monkeypatch, url, mode, spec):
    monkeypatch.setenv("BORGCONF_PASSWORD", GROUP_PASSWORD)
    rc, out, err = run(capsys, "import", "--url", url, "--discover", mode, "-o", spec, "--force")
    assert rc == 0, err
    monkeypatch.delenv("BORGCONF_PASSWORD")
    text = spec.read_text()
    assert GROUP_PASSWORD not in text + out + err
    assert stat.S_IMODE(os.stat(spec).st_mode) == 0o600
    return text


def _plans_empty_everywhere(capsys, monkeypatch, spec, addresses):
    monkeypatch.setenv("REDIS_PASSWORD", GROUP_PASSWORD)
    monkeypatch.setenv("REDIS_MASTERAUTH", GROUP_PASSWORD)
    rc, out, err = run(capsys, "validate", spec)
    assert rc == 0, err
    rc, out, err = run(capsys, "plan", spec, "--format", "json", "--detailed-exitcode")
    assert rc == 0, out + err
    doc = json.loads(out)
    assert {t["address"] for t in doc["targets"]} == set(addresses)
    assert all(t["changes"] == [] for t in doc["targets"]), out
    assert GROUP_PASSWORD not in out + err
    return doc


def _server_blocks(text):
    """Every server: block of the spec (shared first, then each target's), parsed."""
    from ruamel.yaml import YAML

    doc = YAML(typ="safe").load(text)
    return doc.get("server") or {}, {t["name"]: t.get("server") or {} for t in doc.get("targets") or []}, doc


def test_import_of_a_replication_group_writes_one_spec_with_per_node_overrides(redis_binary, tmp_path, capsys, monkeypatch):
    from topologies import ReplicationTopology

    with ReplicationTopology(redis_binary, tmp_path / "rep", password=GROUP_PASSWORD) as topo:
        addresses = list(topo.expected_roles())
        _set_everywhere(topo.servers, ("hz", "15"), ("maxmemory-policy", "allkeys-lru"))
        spec = tmp_path / "group.yaml"
        # every node agrees: one target with discover: replicas
        text = _import_group(capsys, monkeypatch, topo.primary.url, "replicas", spec)
        shared, own, doc = _server_blocks(text)
        assert [t.get("discover") for t in doc["targets"]] == ["replicas"] and own == {"group": {}}
        assert shared["hz"] == 15 and shared["maxmemory-policy"] == "allkeys-lru"
        assert shared["requirepass"] == "${REDIS_PASSWORD}" and shared["masterauth"] == "${REDIS_MASTERAUTH}"
        assert "replicaof" not in shared and "replicaof" in doc["ignore"]
        _plans_empty_everywhere(capsys, monkeypatch, spec, addresses)

        # the chained replica differs in one parameter: a target per node, its own server: block
        topo.chained.client().config_set("maxmemory", "200mb")
        monkeypatch.delenv("REDIS_PASSWORD")
        text = _import_group(capsys, monkeypatch, topo.primary.url, "replicas", spec)
        shared, own, doc = _server_blocks(text)
        assert [t["name"] for t in doc["targets"]] == addresses and not any("discover" in t for t in doc["targets"])
        assert own == {a: ({"maxmemory": "200mb"} if a == f"127.0.0.1:{topo.chained.port}" else {}) for a in addresses}
        assert "maxmemory" not in shared and shared["hz"] == 15
        assert not any(k in block for block in (shared, *own.values()) for k in ("replicaof", "slaveof", "replica-announce-ip"))
        _plans_empty_everywhere(capsys, monkeypatch, spec, addresses)


def test_import_of_a_cluster_writes_one_spec_with_per_node_overrides(redis_binary, tmp_path, capsys, monkeypatch):
    from topologies import ClusterTopology

    with ClusterTopology(redis_binary, tmp_path / "cl", password=GROUP_PASSWORD) as topo:
        addresses = [f"127.0.0.1:{s.port}" for s in topo.servers]
        _set_everywhere(topo.servers, ("maxmemory-policy", "volatile-lru"), ("slowlog-max-len", "512"))
        odd = topo.servers[4]
        odd.client().config_set("hz", "25")
        spec = tmp_path / "cluster.yaml"
        text = _import_group(capsys, monkeypatch, topo.servers[0].url, "cluster", spec)
        shared, own, doc = _server_blocks(text)
        assert sorted(own) == sorted(addresses)
        assert own == {a: ({"hz": 25} if a == f"127.0.0.1:{odd.port}" else {}) for a in own}
        assert shared["maxmemory-policy"] == "volatile-lru" and shared["slowlog-max-len"] == 512
        # what the topology owns is in no server: block
        for block in (shared, *own.values()):
            assert not any(k.startswith("cluster-announce") or k in ("cluster-enabled", "cluster-port", "cluster-config-file", "replicaof") for k in block), block
        assert {"cluster-enabled", "cluster-port"} <= set(doc["ignore"])
        assert "Redis Cluster found at" in text
        plan_doc = _plans_empty_everywhere(capsys, monkeypatch, spec, addresses)
        assert {t["managed_by"] for t in plan_doc["targets"]} == {"cluster"}


def test_a_command_denied_to_every_user_by_acl_rules_is_imported_as_disabled(redis_factory, tmp_path, capsys, monkeypatch):
    # FLUSHALL denied live through ACL rules (how borgconf itself disables a command on a
    # running server, issue 11) to every user; KEYS denied to one user only stays allowed
    server = redis_factory([f"user app on >{USER_PASSWORD} ~app:* +@all -flushall -keys"], password=PASSWORD)
    c = server.client()
    c.execute_command("ACL", "SETUSER", "default", "-flushall")
    c.config_rewrite()
    monkeypatch.setenv("BORGCONF_PASSWORD", PASSWORD)
    spec = tmp_path / "imported.yaml"
    rc, out, err = run(capsys, "import", "--url", server.url, "-o", spec)
    assert rc == 0, err
    text = spec.read_text()
    assert "FLUSHALL: disabled" in text, text
    assert "KEYS:" not in text  # the default user may still run it
    monkeypatch.setenv("REDIS_PASSWORD", PASSWORD)
    monkeypatch.setenv("APP_PASSWORD", USER_PASSWORD)
    monkeypatch.delenv("BORGCONF_PASSWORD")
    rc, target, shown = plan(capsys, spec)
    assert rc == 0 and target["changes"] == [], shown
    assert "rename-command FLUSHALL" in target["in_sync"]
    # the rendered redis.conf of the imported spec keeps it disabled on a new install
    rc, out, err = run(capsys, "render", spec, "--out-dir", tmp_path / "out")
    assert rc == 0, err
    assert 'rename-command FLUSHALL ""' in (tmp_path / "out" / "redis.conf").read_text()
