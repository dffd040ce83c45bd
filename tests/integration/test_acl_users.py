"""ACL users are planned and applied like parameters, passwords never shown."""

from __future__ import annotations

import json

from cli_helpers import run, write_spec

USERS = """
server:
  hz: 11
users:
  n8n: {password: "${N8N_PW}", keys: ["bull:*"], commands: "+@all -@dangerous"}
  viewer: {password: "${V_PW}", keys: ["*"], channels: ["news.*"], commands: "+get +set +info"}
"""


def test_users_apply_then_plan_empty_and_survive_a_restart(redis_server, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("N8N_PW", "n8n-pw-one")
    monkeypatch.setenv("V_PW", "viewer-pw-one")
    spec = write_spec(tmp_path / "s.yaml", redis_server.url, USERS)
    plan = tmp_path / "plan.json"
    rc, out, err = run(capsys, "plan", "--detailed-exitcode", "--out", plan, spec)
    assert rc == 2 and "user n8n: (absent) -> on ~bull:* resetchannels +@all -@dangerous" in out
    assert "n8n-pw-one" not in out + err + plan.read_text()
    rc, out, err = run(capsys, "apply", "--auto-approve", plan)
    assert rc == 0, err
    client = redis_server.client(username="viewer", password="viewer-pw-one")
    assert client.set("k", "v") and client.get("k") == "v"
    n8n = redis_server.client(username="n8n", password="n8n-pw-one")
    n8n.set("bull:1", "job")
    assert run(capsys, "plan", "--detailed-exitcode", spec)[0] == 0
    redis_server.restart()  # CONFIG REWRITE persisted the users
    assert run(capsys, "plan", "--detailed-exitcode", spec)[0] == 0


def test_a_password_change_is_planned_without_showing_it(redis_server, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("N8N_PW", "n8n-pw-one")
    monkeypatch.setenv("V_PW", "viewer-pw-one")
    spec = write_spec(tmp_path / "s.yaml", redis_server.url, USERS)
    assert run(capsys, "apply", "--auto-approve", spec)[0] == 0
    monkeypatch.setenv("N8N_PW", "n8n-pw-two")
    rc, out, err = run(capsys, "plan", "--format", "json", spec)
    (change,) = json.loads(out)["targets"][0]["changes"]
    assert change["parameter"] == "user n8n" and "password" in change["reason"]
    assert "n8n-pw" not in out
    assert run(capsys, "apply", "--auto-approve", spec)[0] == 0
    assert redis_server.client(username="n8n", password="n8n-pw-two").ping()


def test_rules_redis_respells_converge_by_what_they_grant(redis_server, tmp_path, capsys, monkeypatch):
    # -@dangerous before +@all: Redis keeps only the effective +@all. Issue 10: rules are
    # compared by what they grant (the server's COMMAND table), so this converges
    spec = write_spec(tmp_path / "s.yaml", redis_server.url, 'users:\n  odd: {password: "x-pw-123", commands: "-@dangerous +@all"}\n')
    rc, out, err = run(capsys, "apply", "--auto-approve", spec)
    assert rc == 0, err
    odd = redis_server.client(username="odd", password="x-pw-123")
    assert odd.execute_command("ACL", "DRYRUN", "odd", "FLUSHALL") == "OK"  # +@all grants the dangerous ones too
    assert run(capsys, "plan", "--detailed-exitcode", spec)[0] == 0
    redis_server.restart()  # users live only in memory here: apply again, then plan empty
    assert run(capsys, "apply", "--auto-approve", spec)[0] == 0
    assert run(capsys, "plan", "--detailed-exitcode", spec)[0] == 0


def test_rule_order_is_kept_and_converges(redis_server, tmp_path, capsys):
    spec = write_spec(tmp_path / "s.yaml", redis_server.url, 'users:\n  ops: {password: "ops-pw-123", commands: "+@all -config +config|get"}\n')
    rc, out, err = run(capsys, "apply", "--auto-approve", spec)
    assert rc == 0, err
    ops = redis_server.client(username="ops", password="ops-pw-123")
    assert ops.config_get("maxmemory") and run(capsys, "plan", "--detailed-exitcode", spec)[0] == 0


def test_users_apply_when_new_users_get_all_channels(redis_server, tmp_path, capsys):
    redis_server.client().config_set("acl-pubsub-default", "allchannels")
    spec = write_spec(tmp_path / "s.yaml", redis_server.url, 'users:\n  app: {password: "app-pw-123", keys: ["app:*"], channels: ["news.*"]}\n')
    assert run(capsys, "apply", "--auto-approve", spec)[0] == 0
    assert run(capsys, "plan", "--detailed-exitcode", spec)[0] == 0


def test_rollback_restores_users_exactly_as_they_were(redis_server, tmp_path, capsys):
    client = redis_server.client()
    client.execute_command("ACL", "SETUSER", "a", "reset", "on", ">pw-a-Kq2mZ7x", "~app:*", "+@all", "-config", "+config|get", "(~secret:* +get)")
    before = [l for l in client.execute_command("ACL", "LIST") if l.startswith("user a ")]
    # b's channels make its ACL SETUSER fail after a was already changed
    spec = write_spec(tmp_path / "s.yaml", redis_server.url, 'users:\n  a: {password: "pw-a-Kq2mZ7x", keys: ["other:*"]}\n  b: {password: "pw-b-Kq2mZ7x", channels: ["*", "x"]}\n')
    rc, out, err = run(capsys, "apply", "--auto-approve", spec)
    assert rc == 1 and "restored" in err
    assert [l for l in client.execute_command("ACL", "LIST") if l.startswith("user a ")] == before
    assert client.execute_command("ACL", "GETUSER", "b") is None


def test_live_selectors_are_a_difference(redis_server, tmp_path, capsys):
    redis_server.client().execute_command("ACL", "SETUSER", "u", "reset", "on", ">pw-u-1-Kq2mZ7", "~app:*", "+@all", "(~secret:* +@all)")
    spec = write_spec(tmp_path / "s.yaml", redis_server.url, 'users:\n  u: {password: "pw-u-1-Kq2mZ7", keys: ["app:*"]}\n')
    rc, out, err = run(capsys, "plan", "--detailed-exitcode", spec)
    assert rc == 2 and "(~secret:*" in out
    assert run(capsys, "apply", "--auto-approve", spec)[0] == 0
    assert run(capsys, "plan", "--detailed-exitcode", spec)[0] == 0


def test_a_saved_plan_never_rotates_a_password_it_did_not_show(redis_server, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("SP_PW", "pw-one-123")
    spec = write_spec(tmp_path / "s.yaml", redis_server.url, 'users:\n  sp: {password: "${SP_PW}", keys: ["a:*"]}\n')
    assert run(capsys, "apply", "--auto-approve", spec)[0] == 0
    spec.write_text(spec.read_text().replace('"a:*"', '"b:*"'))
    plan = tmp_path / "plan.json"
    assert run(capsys, "plan", "--out", plan, spec)[0] == 0
    monkeypatch.setenv("SP_PW", "pw-two-123")
    rc, out, err = run(capsys, "apply", "--auto-approve", plan)
    assert rc == 1 and "password of user sp changed" in err
    assert redis_server.client(username="sp", password="pw-one-123").ping()
    monkeypatch.setenv("SP_PW", "pw-one-123")
    assert run(capsys, "apply", "--auto-approve", plan)[0] == 0
    assert redis_server.client(username="sp", password="pw-one-123").ping()  # kept, by its hash


def test_users_are_saved_to_the_acl_file_when_the_server_uses_one(redis_factory, tmp_path, capsys):
    acl = tmp_path / "users.acl"
    acl.write_text("")
    server = redis_factory([f"aclfile {acl}"])
    spec = write_spec(tmp_path / "s.yaml", server.url, 'users:\n  app: {password: "app-pw-123", keys: ["app:*"]}\n')
    assert run(capsys, "apply", "--auto-approve", spec)[0] == 0
    assert "user app on" in acl.read_text() and "app-pw-123" not in acl.read_text()
    server.restart()
    assert run(capsys, "plan", "--detailed-exitcode", spec)[0] == 0


def test_rediscli_auth_supplies_the_password(redis_factory, tmp_path, capsys, monkeypatch):
    server = redis_factory(password="from-rediscli-auth")
    spec = write_spec(tmp_path / "s.yaml", server.url, "server:\n  hz: 12\n")
    assert run(capsys, "plan", spec)[0] == 1
    monkeypatch.setenv("REDISCLI_AUTH", "from-rediscli-auth")
    rc, out, err = run(capsys, "plan", "--detailed-exitcode", spec)
    assert rc == 2 and "from-rediscli-auth" not in out + err


def test_a_disabled_user_stays_but_cannot_log_in(redis_server, tmp_path, capsys, monkeypatch):
    """README: `enabled: false`: the user stays but cannot log in (ACL "off")."""
    import pytest
    import redis

    monkeypatch.setenv("N8N_PW", "n8n-pw-one")
    monkeypatch.setenv("V_PW", "viewer-pw-one")
    spec = write_spec(tmp_path / "s.yaml", redis_server.url, USERS)
    assert run(capsys, "apply", "--auto-approve", spec)[0] == 0
    assert redis_server.client(username="viewer", password="viewer-pw-one").set("k", "v")
    spec = write_spec(tmp_path / "s.yaml", redis_server.url, USERS.replace('commands: "+get +set +info"}', 'commands: "+get +set +info", enabled: false}'))
    rc, out, err = run(capsys, "plan", "--detailed-exitcode", spec)
    assert rc == 2 and "user viewer: on " in out and "-> off " in out, out
    assert run(capsys, "apply", "--auto-approve", spec)[0] == 0
    with pytest.raises(redis.exceptions.AuthenticationError):
        redis_server.client(username="viewer", password="viewer-pw-one").set("k", "v")
    assert redis_server.client().execute_command("ACL", "GETUSER", "viewer") is not None  # still there
    assert run(capsys, "plan", "--detailed-exitcode", spec)[0] == 0
    redis_server.restart()
    assert run(capsys, "plan", "--detailed-exitcode", spec)[0] == 0
