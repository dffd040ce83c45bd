"""Lint weak-secret (issue 10, group 8): a secret shorter than 8 characters,
equal to a user name, or a common word is an error -- validate, plan, apply and
render refuse it before anything connects or is written, the message names the
parameter (and the ${VAR}), never the secret nor which rule it broke (that
would narrow it down), and lint.accept cannot accept it."""

from __future__ import annotations

import textwrap

import pytest

from borgconf import redact
from borgconf.lint import COMMON_SECRETS, ERROR_IDS, LINT_IDS, lint, weak_secrets
from borgconf.spec import load_spec
from cli_helpers import run

STRONG = "Zq4vN8wLr2Tx"  # 12 characters, not a word
USER_PW = "Hb7mQx2Vk9Lp"
CMD = "CFG_k7Qm2xPz"


def spec_from(tmp_path, body: str, env: dict | None = None):
    p = tmp_path / "s.yaml"
    p.write_text("version: 1\n" + textwrap.dedent(body).lstrip())
    return load_spec(p, env=env or {})


def weak(tmp_path, body: str, env: dict | None = None) -> list[str]:
    """The paths weak-secret names (the text before the first ': ' of each message)."""
    return [f.message.split(": ", 1)[0] for f in weak_secrets(spec_from(tmp_path, body, env))]




def test_strong_secrets_have_no_finding(tmp_path):
    body = f"""
    target: {{username: app, password: {STRONG}, previous_password: {USER_PW}x, config_command: {CMD}}}
    server: {{requirepass: {STRONG}, masterauth: {USER_PW}}}
    users:
      app: {{password: {USER_PW}}}
    commands: {{CONFIG: {CMD}, FLUSHALL: disabled, KEYS: enabled}}
    """
    spec = spec_from(tmp_path, body)
    assert weak_secrets(spec) == []
    assert "weak-secret" not in [f.id for f in lint(spec)]


@pytest.mark.parametrize("value", ["a", "Ab1$xyz", "1234567"])
def test_shorter_than_8_characters(tmp_path, value):
    assert weak(tmp_path, f"server: {{requirepass: '{value}'}}") == ["server.requirepass"]
    assert weak(tmp_path, f"server: {{requirepass: '{value}x'}}") == ([] if len(value) == 7 else ["server.requirepass"])


@pytest.mark.parametrize("value", ["password", "PassWord", "changeme", "CHANGEME", "default", "foobared", "administrator", "12345678"])
def test_a_common_word_in_any_case(tmp_path, value):
    assert value.lower() in COMMON_SECRETS
    assert weak(tmp_path, f"server: {{masterauth: '{value}'}}") == ["server.masterauth"]


def test_equal_to_a_user_name_in_any_case(tmp_path):
    body = f"""
    target: {{username: deployer1}}
    server: {{requirepass: {STRONG}}}
    users:
      reporting: {{password: ReportinG}}
      deployer1: {{password: {USER_PW}}}
    """
    assert weak(tmp_path, body) == ["users.reporting.password"]
    assert weak(tmp_path, body.replace("ReportinG", "DEPLOYER1")) == ["users.reporting.password"]  # the target's user
    assert weak(tmp_path, body.replace("ReportinG", "reporting-x")) == []


def test_every_kind_of_secret_is_checked(tmp_path):
    """Whatever spec.secrets calls a secret: sensitive parameters (also in a
    target's own server: block), target passwords, user passwords, renamed
    commands and a renamed config_command."""
    body = """
    targets:
      - name: a
        url: redis://10.0.0.1:6379
        password: short1
        previous_password: redis
        config_command: CFG
        server: {masterauth: secret}
    server: {requirepass: admin}
    users:
      app: {password: test}
    commands: {CONFIG: CFG, FLUSHALL: disabled}
    """
    assert sorted(weak(tmp_path, body)) == sorted([
        "targets[0].password", "targets[0].previous_password", "targets[0].config_command",
        "targets[0].server.masterauth", "server.requirepass", "users.app.password", "commands.CONFIG",
    ])
    assert weak(tmp_path, "target: {config_command: CONFIG}\ncommands: {FLUSHALL: disabled, KEYS: enabled}\n") == []  # not secrets


def test_the_message_names_the_place_and_the_variable_never_the_secret(tmp_path):
    spec = spec_from(tmp_path, "server:\n  requirepass: ${REDIS_PASSWORD}\nusers:\n  app: {password: changeme}\n", {"REDIS_PASSWORD": "letmein"})
    first, second = weak_secrets(spec)
    assert first.id == second.id == "weak-secret" and first.severity == "error"
    assert [f for f in lint(spec) if f.id == "weak-secret"] == [first, second]  # lint lists them, as errors
    assert first.where.endswith("s.yaml:3:16") and first.message.startswith("server.requirepass: the value of ${REDIS_PASSWORD} is a weak secret")
    assert second.where.endswith("s.yaml:5:19") and second.message.startswith("users.app.password: the value is a weak secret")
    for f in (first, second):
        text = str(f).lower()
        assert "letmein" not in text and "changeme" not in text
        # which rule it broke is not said either: "a common word" would narrow it to a short list
        assert "8 or more characters that are not a common word or a user name" in text


@pytest.mark.parametrize("command", ["validate", "plan", "apply"])
def test_validate_plan_and_apply_refuse_before_connecting(tmp_path, capsys, monkeypatch, no_network, command):
    monkeypatch.setenv("H10W_PW", "change")
    p = tmp_path / "s.yaml"
    p.write_text("version: 1\ntarget: {url: 'redis://127.0.0.1:1'}\nserver:\n  hz: 10\n  requirepass: ${H10W_PW}\n")
    args = [command, p] + (["--auto-approve"] if command == "apply" else [])
    rc, out, err = run(capsys, *args)
    assert rc == 1 and out == ""
    (line,) = err.splitlines()
    assert line.startswith(f"error: {p}:5:16: server.requirepass: the value of ${{H10W_PW}} is a weak secret (lint weak-secret)"), err
    assert "change" not in err.replace("${H10W_PW}", "")


def test_strict_or_not_and_lint_accept_cannot_accept_it(tmp_path, capsys):
    p = tmp_path / "s.yaml"
    p.write_text(f"version: 1\nserver:\n  requirepass: redis\nlint:\n  accept:\n    weak-secret: a test server\n")
    rc, out, err = run(capsys, "validate", p)
    assert rc == 1 and "s.yaml:6:5: lint.accept.weak-secret: weak-secret is an error, not a warning: it cannot be accepted" in err, err
    p.write_text("version: 1\nserver:\n  requirepass: redis\n")
    for strict in ([], ["--strict"]):
        rc, out, err = run(capsys, "validate", *strict, p)
        assert rc == 1 and "weak secret" in err and out == ""
    assert "weak-secret" in LINT_IDS and "weak-secret" in ERROR_IDS


def test_the_json_schema_does_not_offer_to_accept_it():
    import jsonschema

    from borgconf.spec.schema import json_schema

    schema = json_schema()
    v = jsonschema.validators.validator_for(schema)(schema)
    assert list(v.iter_errors({"version": 1, "lint": {"accept": {"weak-secret": "why"}}}))
    assert not list(v.iter_errors({"version": 1, "lint": {"accept": {"no-requirepass": "why"}}}))


def test_render_refuses_before_writing_and_generated_secrets_are_strong(tmp_path, capsys, monkeypatch):
    from borgconf.render.secrets import generate_secret
    from borgconf.spec.secrets import COMMAND_NAME, PASSWORD

    for kind in (PASSWORD, COMMAND_NAME):
        value = generate_secret(kind)
        assert len(value) >= 12 and value.lower() not in COMMON_SECRETS
    monkeypatch.delenv("REDIS_PASSWORD", raising=False)
    monkeypatch.delenv("CFG_NAME", raising=False)
    p = tmp_path / "s.yaml"
    p.write_text("version: 1\ntarget: {config_command: '${CFG_NAME}'}\nserver:\n  requirepass: ${REDIS_PASSWORD}\ncommands: {CONFIG: '${CFG_NAME}'}\n"
                 "services:\n  app: {db: 0}\n")
    rc, out, err = run(capsys, "render", p)
    assert rc == 0, err
    assert "weak" not in out + err and "generated REDIS_PASSWORD" in out and "generated CFG_NAME" in out
    # an .env holding a weak secret: refused, nothing (re)written
    env = tmp_path / ".env"
    env.write_text(env.read_text().replace(env.read_text().split("REDIS_PASSWORD=")[1].split("\n")[0], "'redis'", 1))
    before = {f: f.read_text() for f in (env, tmp_path / "redis.conf")}
    rc, out, err = run(capsys, "render", p)
    assert rc == 1 and "server.requirepass: the value of ${REDIS_PASSWORD} is a weak secret" in err, err
    assert {f: f.read_text() for f in before} == before
    rc, out, err = run(capsys, "render", "--check", p)
    assert rc == 1 and "weak secret" in err


def test_a_weak_secret_is_never_shown_masked_around_words(tmp_path, capsys, monkeypatch):
    """The issue's case: with the password ``default`` (a user's name) masking
    would print "for user '***'"; it is refused instead, and the redactor
    leaves the words of the refusal alone."""
    redact.clear()
    monkeypatch.setenv("H10W_PW", "default")
    p = tmp_path / "s.yaml"
    p.write_text("version: 1\ntarget: {username: default, password: '${H10W_PW}'}\n")
    rc, out, err = run(capsys, "validate", p)
    assert rc == 1 and "***" not in err and "target.password: the value of ${H10W_PW} is a weak secret" in err, err
    redact.clear()
