"""Issue 10, group 2: no validation message quotes a secret, whichever field it
landed in. A value that came from ``${VAR}`` is never quoted (the environment is
not the spec's to show); a secret (a password field's value, a variable used in
one or named like one) is registered with the redactor before any message is
formed, so it is masked wherever else it is repeated.

The sweep puts hostile secrets into every parameter of the catalog (through a
variable and as a repeated literal) and checks every message that comes out.
"""

from __future__ import annotations

import pytest

from borgconf import params as P
from borgconf import redact
from borgconf.errors import SpecError
from borgconf.spec import load_spec

SECRETS = [
    "Hunter2SecretXYZ",
    "98765432109876",  # digits: a range check would quote the number
    "KEA-gxe-tm-Secret",  # keyspace flags: a flag check would quote the characters it refused
    "/abs/path/Secret-9",  # a path
    "yes-Secret-longer",
    "allkeys-lru-Secret",
    "0.0.0.0-Secret-99",
]


@pytest.fixture(autouse=True)
def _clean_redactor():
    redact.clear()
    yield
    redact.clear()


def _load(tmp_path, text: str, env: dict[str, str]):
    path = tmp_path / "s.yaml"
    path.write_text(text)
    return load_spec(path, env=env)


def _messages(tmp_path, text: str, env: dict[str, str]) -> str:
    try:
        _load(tmp_path, text, env)
    except SpecError as e:
        return str(e)
    return ""


def _leaks(text: str, secret: str) -> bool:
    """The secret, or a run of 5 of its characters that is not plain English, shows."""
    return secret in text or secret[2:-2] in text


@pytest.mark.parametrize("secret", SECRETS)
def test_no_parameter_quotes_a_variable_s_value(tmp_path, secret):
    refused = 0
    for p in P.catalog():
        if p.sensitive:
            continue
        out = _messages(tmp_path, f"version: 1\nserver:\n  {p.name}: ${{VALUE}}\n", {"VALUE": secret})
        refused += bool(out)
        assert not _leaks(out, secret), f"{p.name}: {out}"
    assert refused > 50  # the sweep did reach the checks


@pytest.mark.parametrize("secret", SECRETS)
def test_no_parameter_quotes_a_repeated_password(tmp_path, secret):
    for p in P.catalog():
        if p.sensitive:
            continue
        text = f"version: 1\nserver:\n  requirepass: '{secret}'\n  {p.name}: '{secret}'\n"
        out = _messages(tmp_path, text, {})
        assert not _leaks(out, secret), f"{p.name}: {out}"


FIELDS = [
    "target: {name: %s}",
    "target: {username: %s}",
    "target: {persist: %s}",
    "target: {timeout: %s}",
    "targets: [{name: a}, {name: %s}]",
    "render: {host: %s}",
    "render: {port: %s}",
    "services: {app: {db: %s}}",
    "services: {app: {db: 1, role: %s}}",
    "services: {app: {db: 1, user: %s}}",
    "users: {app: {enabled: %s}}",
    "ignore: [%s]",
    "commands: {FLUSHDB: %s}",
]


@pytest.mark.parametrize("field", FIELDS)
@pytest.mark.parametrize("secret", ["Hunter2SecretXYZ!", "Hunter2 Secret XYZ"])
def test_no_field_quotes_a_variable_s_value(tmp_path, field, secret):
    out = _messages(tmp_path, "version: 1\n" + field % '"${REDIS_PASSWORD}"' + "\n", {"REDIS_PASSWORD": secret})
    assert out, "the value must be refused for the test to mean anything"
    assert not _leaks(out, secret), out


@pytest.mark.parametrize("field", FIELDS)
def test_no_field_quotes_a_repeated_password(tmp_path, field):
    secret = "Hunter2 Secret XYZ"
    text = f"version: 1\nserver: {{requirepass: '{secret}'}}\n" + field % f"'{secret}'" + "\n"
    out = _messages(tmp_path, text, {})
    assert out
    assert not _leaks(out, secret), out


def test_secrets_are_registered_before_validation_fails(tmp_path):
    """A spec that fails validation still registered its secrets: what the CLI
    prints after the failure (or a log line) masks them too."""
    text = "version: 1\nserver:\n  requirepass: ${REDIS_PASSWORD}\n  maxmemory: lots\nusers:\n  app: {password: Lit-Secret-Value-1}\n"
    with pytest.raises(SpecError):
        _load(tmp_path, text, {"REDIS_PASSWORD": "Hunter2SecretXYZ", "API_TOKEN": "unused-token-value"})
    assert {"Hunter2SecretXYZ", "Lit-Secret-Value-1"} <= redact.known()
    assert "unused-token-value" not in redact.known()  # only what the spec uses


def test_a_variable_named_like_a_secret_is_registered_wherever_it_lands(tmp_path):
    spec = _load(tmp_path, "version: 1\ntarget: {name: '${DB_PASSWORD}'}\nserver: {requirepass: Hunter2SecretXYZ}\n", {"DB_PASSWORD": "Db-Secret-123"})
    assert spec.target.name == "Db-Secret-123"
    assert "Db-Secret-123" in redact.known()


def test_an_ordinary_variable_is_not_masked_everywhere(tmp_path):
    """A host name from ${REDIS_HOST} is not a secret: the redactor leaves it, only
    validation messages about its field do not quote it."""
    spec = _load(tmp_path, "version: 1\nrender: {host: '${REDIS_HOST}'}\nserver: {requirepass: Hunter2SecretXYZ}\n", {"REDIS_HOST": "cache-host"})
    assert spec.render.host == "cache-host"
    assert "cache-host" not in redact.known()
    out = _messages(tmp_path, "version: 1\nrender: {host: '${REDIS_HOST}'}\n", {"REDIS_HOST": "cache host"})
    assert "cache host" not in out and "the value of ${REDIS_HOST}" in out


def test_a_variable_left_unset_is_named_not_masked(tmp_path):
    out = _messages(tmp_path, "version: 1\nserver: {requirepass: '${REDIS_PASSWORD}', maxmemory: '${REDIS_PASSWORD}'}\n", {})
    assert "variable ${REDIS_PASSWORD} is not set" in out


def test_the_planner_does_not_quote_a_variable_s_value():
    """A value valid offline that a server refuses: the planner's message names
    the variable, never its value."""
    from borgconf.errors import BorgconfError
    from borgconf.planner import desired_values
    from borgconf.spec.types import ServerValue

    p = P.catalog().lookup("shutdown-on-sigint")
    value = "failover"  # Valkey 9.1 only: valid offline, refused for Redis 7.0
    assert p.available_on("redis-7.0") and P.check(p, value)
    with pytest.raises(P.InvalidValue):
        P.check(p, value, server="redis-7.0")

    class Live:
        flavour, version, total_memory = "redis", "7.0.15", 1 << 30
        config = {"shutdown-on-sigint": "default"}
        server_label = "Redis 7.0.15"

    class Spec:
        server = {"shutdown-on-sigint": ServerValue(p, P.check(p, value), value, "shutdown-on-sigint")}
        var_paths = {("server", "shutdown-on-sigint"): {"POLICY"}}

    with pytest.raises(BorgconfError) as e:
        desired_values(Spec, Live)
    assert value not in str(e.value) and "${POLICY}" in str(e.value), str(e.value)
