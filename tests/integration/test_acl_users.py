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


def test_rules_redis_rewrites_are_a_clear_error_not_a_perpetual_diff(redis_server, tmp_path, capsys, monkeypatch):
    # -@dangerous before +@all: Redis keeps only the effective +@all
    spec = write_spec(tmp_path / "s.yaml", redis_server.url, 'users:\n  odd: {password: "x-pw-123", commands: "-@dangerous +@all"}\n')
    rc, out, err = run(capsys, "apply", "--auto-approve", spec)
    assert rc == 1 and "write them that way" in err and "restored" in err
    assert redis_server.client().execute_command("ACL", "GETUSER", "odd") is None  # rolled back: the user is gone again
