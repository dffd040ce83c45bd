"""Issue 10, group 6: YAML 1.2 reads plain scalars such as 0123456, 0x1F2E3D4C,
1e3, .inf, 0b101 and true as numbers and booleans. In a text field borgconf takes
the scalar's text as written; in a secret field it refuses it ("quote it") rather
than guess; ``version`` and ``db`` take only integers written as integers."""

from __future__ import annotations

import pytest

from borgconf import redact
from borgconf.errors import SpecError
from borgconf.spec import load_spec

WRITTEN = ["0123456", "0x1F2E3D4C5B6A", "1e3", ".inf", "-.inf", ".nan", "0b101", "0o17", "1_000", "12.50", "true", "false"]


@pytest.fixture(autouse=True)
def _clean_redactor():
    redact.clear()
    yield
    redact.clear()


def _load(tmp_path, text: str):
    path = tmp_path / "s.yaml"
    path.write_text(text)
    return load_spec(path, env={})


def _error(tmp_path, text: str) -> str:
    with pytest.raises(SpecError) as e:
        _load(tmp_path, text)
    assert len(e.value.problems) == 1, str(e.value)
    return str(e.value)


@pytest.mark.parametrize("written", WRITTEN)
def test_text_fields_take_the_text_as_written(tmp_path, written):
    spec = _load(
        tmp_path,
        "version: 1\n"
        f"target: {{name: {written}}}\n"
        f"server: {{requirepass: 'Strong-Enough-Pass-1', unixsocket: /run/x, syslog-ident: {written}}}\n"
        f"services: {{app: {{db: 1, env: {{REDIS_X: {written}}}}}}}\n"
        f"users: {{app: {{password: 'Strong-Enough-Pass-2', keys: [{written}], channels: [{written}]}}}}\n"
        f"render: {{host: {written}}}\n",
    )
    assert spec.target.name == written
    assert spec.server["syslog-ident"].checked == written
    assert spec.services["app"].env["REDIS_X"] == written
    assert spec.users["app"].keys == [written] and spec.users["app"].channels == [written]
    assert spec.render.host == written


def test_an_alias_keeps_the_text_of_its_anchor(tmp_path):
    spec = _load(tmp_path, "version: 1\nusers:\n  app: {password: 'Strong-Enough-Pass-2', keys: [&k 0x10, *k]}\n")
    assert spec.users["app"].keys == ["0x10", "0x10"]


SECRET_FIELDS = [
    "server: {requirepass: %s}",
    "server: {masterauth: %s}",
    "target: {password: %s}",
    "targets: [{name: a, password: %s}]",
    "users: {app: {password: %s}}",
    "commands: {FLUSHALL: %s}",
    "target: {config_command: %s}",
]


@pytest.mark.parametrize("field", SECRET_FIELDS)
@pytest.mark.parametrize("written", ["01234567891", "0x1F2E3D4C5B6A", "1e300", ".inf", "0b10101010101", "123_456_789", "true"])
def test_secret_fields_refuse_what_yaml_does_not_read_as_text(tmp_path, field, written):
    message = _error(tmp_path, "version: 1\n" + field % written + "\n")
    assert "not as text: quote it" in message
    number = {"true": "True"}.get(written)
    assert written not in message and (number is None or number not in message)


@pytest.mark.parametrize("field", SECRET_FIELDS)
def test_secret_fields_take_the_quoted_text(tmp_path, field):
    quoted = "Z0123456789" if "config_command" in field else "0123456789"  # a command name starts with a letter
    spec = _load(tmp_path, "version: 1\n" + field % f"'{quoted}'" + "\n")
    assert quoted in spec.secrets()


@pytest.mark.parametrize("written", ["true", "1.0", "1e0", "0x1", "0o1", "'1'", "1_0"])
def test_version_is_the_integer_1(tmp_path, written):
    assert "version: " in _error(tmp_path, f"version: {written}\n")


@pytest.mark.parametrize("written", ["true", "false", "1.0", "1e0", "0x1", "0b1", "1_0"])
def test_db_is_an_integer(tmp_path, written):
    assert "services.app.db" in _error(tmp_path, f"version: 1\nservices:\n  app: {{db: {written}}}\n")


def test_db_from_a_variable_is_still_an_integer(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("version: 1\nservices:\n  app: {db: '${DB}'}\n")
    assert load_spec(path, env={"DB": "3"}).services["app"].db == 3
    with pytest.raises(SpecError):
        load_spec(path, env={"DB": "3.0"})
    with pytest.raises(SpecError):
        load_spec(path, env={"DB": "3e0"})
