"""Rotating requirepass with the README's pattern (target.password and requirepass
both ${REDIS_PASSWORD}) on every supported server: borgconf logs in with the
previous password (target.previous_password, or BORGCONF_PASSWORD) while the
server still holds it, sets the new one, and the next plan is empty."""

from __future__ import annotations

import json

import pytest
import redis

from cli_helpers import run, write_spec

ROTATING = """
server:
  requirepass: ${REDIS_PASSWORD}
  hz: 12
"""
TARGET = "password: ${REDIS_PASSWORD}\nprevious_password: ${REDIS_PREVIOUS_PASSWORD:-}"


def _refused(server, password) -> bool:
    try:
        server.client(password=password).ping()
    except redis.exceptions.AuthenticationError:
        return True
    return False


def test_rotating_requirepass_with_previous_password(redis_factory, tmp_path, capsys, monkeypatch):
    server = redis_factory(password="old-pw-1")
    spec = write_spec(tmp_path / "s.yaml", server.url, ROTATING, target_extra=TARGET)
    monkeypatch.setenv("REDIS_PASSWORD", "old-pw-1")
    assert run(capsys, "apply", "--auto-approve", spec)[0] == 0  # hz 12: the start of the story
    assert run(capsys, "plan", "--detailed-exitcode", spec)[0] == 0

    # the operator changes the variable: today's "authentication failed", with the way out named
    monkeypatch.setenv("REDIS_PASSWORD", "new-pw-2")
    rc, out, err = run(capsys, "plan", spec)
    assert rc == 1 and "wrong password" in err and "target.previous_password" in err
    assert "new-pw-2" not in out + err and "old-pw-1" not in out + err

    monkeypatch.setenv("REDIS_PREVIOUS_PASSWORD", "old-pw-1")
    rc, out, err = run(capsys, "plan", "--detailed-exitcode", "--format", "json", spec)
    assert rc == 2, err
    doc = json.loads(out)
    (tp,) = doc["targets"]
    assert [c["parameter"] for c in tp["changes"]] == ["requirepass"]
    assert any("logged in with target.previous_password" in w for w in tp["warnings"])
    assert "new-pw-2" not in out and "old-pw-1" not in out

    rc, out, err = run(capsys, "-v", "apply", "--auto-approve", spec)
    assert rc == 0, err
    assert "new-pw-2" not in out + err and "old-pw-1" not in out + err
    assert _refused(server, "old-pw-1") and server.client(password="new-pw-2").ping()
    rc, out, err = run(capsys, "plan", "--detailed-exitcode", spec)
    assert rc == 0, out + err
    assert "logged in with" not in out

    # the server keeps it across a restart from its own config file
    server.password = "new-pw-2"
    server.restart()
    assert _refused(server, "old-pw-1")
    assert run(capsys, "plan", "--detailed-exitcode", spec)[0] == 0


def test_rotating_requirepass_with_borgconf_password(redis_factory, tmp_path, capsys, monkeypatch):
    server = redis_factory(password="old-pw-3")
    spec = write_spec(tmp_path / "s.yaml", server.url, ROTATING, target_extra="password: ${REDIS_PASSWORD}")
    monkeypatch.setenv("REDIS_PASSWORD", "new-pw-4")
    monkeypatch.setenv("BORGCONF_PASSWORD", "old-pw-3")
    rc, out, err = run(capsys, "plan", spec)
    assert rc == 0, err
    assert "logged in with BORGCONF_PASSWORD" in out
    assert run(capsys, "apply", "--auto-approve", spec)[0] == 0
    monkeypatch.delenv("BORGCONF_PASSWORD")
    assert run(capsys, "plan", "--detailed-exitcode", spec)[0] == 0
    assert _refused(server, "old-pw-3")
    server.password = "new-pw-4"
    server.restart()
    assert run(capsys, "plan", "--detailed-exitcode", spec)[0] == 0


def test_a_saved_plan_made_mid_rotation_applies(redis_factory, tmp_path, capsys, monkeypatch):
    server = redis_factory(password="old-pw-5")
    spec = write_spec(tmp_path / "s.yaml", server.url, ROTATING, target_extra=TARGET)
    monkeypatch.setenv("REDIS_PASSWORD", "new-pw-6")
    monkeypatch.setenv("REDIS_PREVIOUS_PASSWORD", "old-pw-5")
    plan = tmp_path / "plan.json"
    rc, out, err = run(capsys, "plan", "--out", plan, spec)
    assert rc == 0, err
    assert "old-pw-5" not in plan.read_text() and "new-pw-6" not in plan.read_text()
    rc, out, err = run(capsys, "apply", "--auto-approve", plan)
    assert rc == 0, err
    assert _refused(server, "old-pw-5") and server.client(password="new-pw-6").config_get("hz")["hz"] == "12"
    monkeypatch.delenv("REDIS_PREVIOUS_PASSWORD")
    assert run(capsys, "plan", "--detailed-exitcode", spec)[0] == 0


def test_previous_password_is_a_secret(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("REDIS_PASSWORD", "x-new")
    monkeypatch.setenv("REDIS_PREVIOUS_PASSWORD", "multi\nline")
    spec = write_spec(tmp_path / "s.yaml", "redis://127.0.0.1:1", ROTATING, target_extra=TARGET)
    rc, out, err = run(capsys, "validate", spec)
    assert rc == 1 and "previous_password" in err and "multi" not in err
