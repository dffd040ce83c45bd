"""weak-secret (issue 10, group 8) on real servers: a saved plan whose secret
became weak in the environment since it was made is refused by apply, before
the server is changed; and a spec's weak secret refuses plan and apply."""

from __future__ import annotations

from cli_helpers import run, write_spec


def test_a_saved_plan_is_refused_when_its_secret_became_weak(redis_factory, tmp_path, capsys, monkeypatch):
    """The target's password is no setting of the plan (no fingerprint of it):
    lint is what stops apply when the environment now gives a weak one."""
    server = redis_factory(password="Rk8vTq2mWz7xLp")
    monkeypatch.setenv("H10W_PW", "Rk8vTq2mWz7xLp")
    spec = write_spec(tmp_path / "s.yaml", server.url, "server:\n  hz: 17\n", target_extra="password: ${H10W_PW}")
    plan = tmp_path / "plan.json"
    rc, out, err = run(capsys, "plan", "--out", plan, spec)
    assert rc == 0, err
    monkeypatch.setenv("H10W_PW", "changeme")
    rc, out, err = run(capsys, "apply", "--auto-approve", plan)
    assert rc == 1 and "target.password: the value of ${H10W_PW} is a weak secret (lint weak-secret)" in err, err
    assert "changeme" not in out + err
    assert server.client().config_get("hz")["hz"] == "10"


def test_plan_and_apply_refuse_a_weak_secret_and_leave_the_server_alone(redis_server, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("H10W_PW", "Admin")
    spec = write_spec(tmp_path / "s.yaml", redis_server.url, "server:\n  hz: 18\n  requirepass: ${H10W_PW}\n")
    for command in (["plan"], ["apply", "--auto-approve"]):
        rc, out, err = run(capsys, *command, spec)
        assert rc == 1 and out == "" and "server.requirepass: the value of ${H10W_PW} is a weak secret" in err, err
    c = redis_server.client()
    assert c.config_get("hz")["hz"] == "10" and c.config_get("requirepass")["requirepass"] == ""
    monkeypatch.setenv("H10W_PW", "Vd3kWq8zTm5xRp")
    assert run(capsys, "apply", "--auto-approve", spec)[0] == 0
    redis_server.password = "Vd3kWq8zTm5xRp"
    assert redis_server.client().config_get("hz")["hz"] == "18"
