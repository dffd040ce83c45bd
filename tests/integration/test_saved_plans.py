"""Saved plans on real Redis 7.0 and 8.2: they cannot skip the safety check, apply on a new install, never carry a masked value, refuse another server; --out fails clearly."""

from __future__ import annotations

import json


from cli_helpers import run, write_spec


def test_a_saved_plan_cannot_skip_the_safety_check(redis_server, tmp_path, capsys):
    spec = write_spec(tmp_path / "s.yaml", redis_server.url, "server:\n  maxmemory: 5mb\n  maxmemory-policy: allkeys-lru\n")
    plan = tmp_path / "plan.json"
    assert run(capsys, "plan", "--out", plan, spec)[0] == 0  # nothing at stake yet
    assert "allow" not in plan.read_text()
    client = redis_server.client()
    pipe = client.pipeline(transaction=False)
    for i in range(20000):
        pipe.set(f"k{i}", "x" * 500)
    pipe.execute()
    rc, out, err = run(capsys, "apply", "--auto-approve", plan)
    assert rc == 1 and "--allow-evict" in err
    assert client.dbsize() == 20000 and client.config_get("maxmemory")["maxmemory"] == "0"

def test_a_saved_plan_applies_on_a_new_install_without_a_password_yet(redis_server, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("NEW_PW", "fresh-install-pw")
    spec = write_spec(tmp_path / "s.yaml", redis_server.url, "server:\n  requirepass: ${NEW_PW}\n  hz: 13\n", target_extra="password: ${NEW_PW}")
    plan = tmp_path / "plan.json"
    assert run(capsys, "plan", "--out", plan, spec)[0] == 0
    rc, out, err = run(capsys, "apply", "--auto-approve", plan)
    assert rc == 0, err
    assert "0644" in out  # the REWRITE mode warning: the server's file now holds a password
    assert redis_server.client(password="fresh-install-pw").config_get("hz")["hz"] == "13"
    redis_server.password = "fresh-install-pw"
    assert run(capsys, "plan", "--detailed-exitcode", spec)[0] == 0

def test_masking_a_short_password_never_corrupts_a_plan(redis_server, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("SHORT_PW", "edis-repl")  # inside masteruser's value, after a letter
    spec = write_spec(tmp_path / "s.yaml", redis_server.url, "server:\n  masteruser: redis-repl\n  masterauth: ${SHORT_PW}\n")
    plan = tmp_path / "plan.json"
    assert run(capsys, "plan", "--out", plan, spec)[0] == 0
    change = next(c for c in json.loads(plan.read_text())["targets"][0]["changes"] if c["parameter"] == "masteruser")
    assert change["after"] == "redis-repl"
    assert run(capsys, "apply", "--auto-approve", plan)[0] == 0
    assert redis_server.client().config_get("masteruser")["masteruser"] == "redis-repl"
    assert run(capsys, "plan", "--detailed-exitcode", spec)[0] == 0

def test_a_plan_for_another_server_is_refused_naming_the_server(redis_factory, tmp_path, capsys):
    one, two = redis_factory(), redis_factory()
    spec = write_spec(tmp_path / "s.yaml", one.url, "server:\n  hz: 14\n")
    plan = tmp_path / "plan.json"
    assert run(capsys, "plan", "--out", plan, spec)[0] == 0
    rc, out, err = run(capsys, "apply", "--auto-approve", "--url", two.url, plan)
    # --url must name the address the plan recorded (issue 9 bug 5)
    assert rc == 1 and f"names 127.0.0.1:{two.port}, but the plan was made for target default at 127.0.0.1:{one.port}" in err
    assert two.client().config_get("hz")["hz"] == "10" and one.client().config_get("hz")["hz"] == "10"
    one.restart()  # same address, another server process: its run_id differs
    rc, out, err = run(capsys, "apply", "--auto-approve", plan)
    assert rc == 1 and f"127.0.0.1:{one.port} is not the server the plan was made for" in err
    assert one.client().config_get("hz")["hz"] == "10"


def test_a_plan_made_with_url_is_applied_there_without_it(redis_factory, tmp_path, capsys):
    """Bug 5: `plan --url X --out p.json` then `apply p.json` goes to X, as the hint says."""
    spec_server, other = redis_factory(), redis_factory()
    spec = write_spec(tmp_path / "s.yaml", spec_server.url, "server:\n  hz: 15\n")
    plan = tmp_path / "plan.json"
    rc, out, err = run(capsys, "plan", "--url", other.url, "--out", plan, spec)
    assert rc == 0 and f"borgconf apply {plan}" in out
    assert json.loads(plan.read_text())["targets"][0]["address"] == f"127.0.0.1:{other.port}"
    rc, out, err = run(capsys, "apply", "--auto-approve", plan)
    assert rc == 0, err
    assert other.client().config_get("hz")["hz"] == "15" and spec_server.client().config_get("hz")["hz"] == "10"
    assert run(capsys, "apply", "--auto-approve", "--url", other.url, plan)[0] == 1  # already applied: stale now

def test_plan_out_to_an_unwritable_path_is_a_clear_error(redis_server, tmp_path, capsys):
    spec = write_spec(tmp_path / "s.yaml", redis_server.url, "server:\n  hz: 14\n")
    rc, out, err = run(capsys, "plan", "--out", "/proc/nonexistent/plan.json", spec)
    assert rc == 1 and "cannot write the plan" in err and "internal error" not in err
