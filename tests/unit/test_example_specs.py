"""Every spec shipped in specs/ and examples/ points editors at the JSON Schema
(the yaml-language-server modeline on its first line), is valid under that
schema (checked with the jsonschema library, as an editor would), and is valid
for borgconf itself (`borgconf validate`, with its ${VAR}s set).

A spec is any YAML file under specs/ or examples/ whose top level is a mapping
with ``version: 1`` (docker-compose files and CI pipelines are not specs).
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

import jsonschema
import pytest
from ruamel.yaml import YAML

_TESTS = str(Path(__file__).resolve().parents[1])
if _TESTS not in sys.path:
    sys.path.insert(0, _TESTS)

from cli_helpers import run  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT / "specs" / "borgconf.schema.json"
MODELINE = re.compile(r"# yaml-language-server: \$schema=(\S+)")
VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-[^}]*)?\}")


def _load(path: Path):
    return YAML(typ="safe").load(path.read_text(encoding="utf-8"))


def _is_spec(path: Path) -> bool:
    try:
        data = _load(path)
    except Exception:
        return False
    return isinstance(data, dict) and data.get("version") == 1 and not isinstance(data.get("version"), bool)


def shipped_specs() -> list[Path]:
    candidates = [*ROOT.joinpath("specs").glob("*.y*ml"), *ROOT.joinpath("examples").rglob("*.y*ml")]
    return sorted(p for p in candidates if _is_spec(p))


SPECS = shipped_specs()


def _id(p: Path) -> str:
    return str(p.relative_to(ROOT))


def test_the_known_specs_are_found():
    names = {_id(p) for p in SPECS}
    assert {"specs/borgstack.yaml", "specs/base.yaml", "specs/staging.yaml", "specs/prod.yaml", "examples/demo.yaml", "examples/acl-users.yaml"} <= names, names
    assert not any(n.startswith("examples/ci/") or n.endswith("docker-compose.yml") for n in names), names


@pytest.mark.parametrize("spec", SPECS, ids=_id)
def test_first_line_is_the_schema_modeline(spec):
    first = spec.read_text(encoding="utf-8").splitlines()[0]
    m = MODELINE.fullmatch(first)
    assert m, f"{_id(spec)}:1: expected '# yaml-language-server: $schema=<path of specs/borgconf.schema.json>', got {first!r}"
    assert m.group(1) == os.path.relpath(SCHEMA, spec.parent), m.group(1)
    assert (spec.parent / m.group(1)).resolve() == SCHEMA


@pytest.fixture(scope="module")
def validator():
    schema = json.loads(SCHEMA.read_text())
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


@pytest.mark.parametrize("spec", SPECS, ids=_id)
def test_spec_is_valid_under_the_json_schema(spec, validator):
    errors = sorted(validator.iter_errors(_load(spec)), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{_id(spec)}: {'.'.join(map(str, e.absolute_path))}: {e.message}" for e in errors)


def test_the_json_schema_can_refuse(validator):
    """The check above is not vacuous: the schema refuses what borgconf refuses."""
    good = _load(ROOT / "examples" / "demo.yaml")
    assert not list(validator.iter_errors(good))
    for bad in ({**good, "sever": {}}, {**good, "version": 2}, {**good, "services": {"n8n": {"db": -1}}}, {**good, "target": {"url": "redis://x", "pasword": "y"}}):
        assert list(validator.iter_errors(bad)), bad


@pytest.mark.parametrize("spec", SPECS, ids=_id)
def test_spec_is_valid_for_borgconf(spec, capsys, monkeypatch):
    # every spec's variables, so that a spec that extends another finds its base's too
    for name in {n for p in SPECS for n in VAR.findall(p.read_text(encoding="utf-8"))}:
        monkeypatch.setenv(name, "Example_value_1")  # also a valid renamed CONFIG name
    rc, out, err = run(capsys, "validate", spec)
    assert rc == 0, err
    assert f"{spec}: valid" in out


PLACEHOLDER_FIELDS = [
    ("target", "config_command"), ("target", "username"), ("target", "name"), ("target", "persist"), ("target", "timeout"),
    ("render", "host"), ("render", "port"),
]


@pytest.mark.parametrize("section, key", PLACEHOLDER_FIELDS, ids=lambda v: v)
def test_the_json_schema_takes_a_placeholder_where_borgconf_does(validator, section, key, tmp_path, capsys, monkeypatch):
    """borgconf interpolates ${VAR}s before validating: the editor must not flag them."""
    doc = {"version": 1, section: {key: "${X_VALUE}"}}
    assert not list(validator.iter_errors(doc))
    assert list(validator.iter_errors({"version": 1, section: {key: "not valid!"}}))  # still checked without one
    # and borgconf agrees, with the variable set to a valid value
    value = {"config_command": "CFG_k7Qm2xPz", "username": "app", "name": "a", "persist": "none", "timeout": "7", "host": "cache", "port": "7000"}[key]
    monkeypatch.setenv("X_VALUE", value)
    spec = tmp_path / "s.yaml"
    spec.write_text(f"version: 1\n{section}:\n  {key}: ${{X_VALUE}}\n")
    rc, out, err = run(capsys, "validate", spec)
    assert rc == 0, err


def test_the_json_schema_takes_a_placeholder_in_services_and_users(validator):
    doc = {"version": 1, "users": {"app": {"enabled": "${ON}"}}, "services": {"n8n": {"db": "${DB}", "user": "${U}", "role": "${R}"}}}
    assert not list(validator.iter_errors(doc))
    assert list(validator.iter_errors({"version": 1, "services": {"n8n": {"db": "zero"}}}))


def test_the_json_schema_takes_nulls_only_in_a_spec_that_extends_another(validator):
    child = {"extends": "base.yaml", "server": {"hz": None}, "target": None, "render": {"host": None, "port": None},
             "ignore": ["hz"], "services": {"n8n": {"role": "cache"}}, "targets": [{"name": "a", "url": "redis://a:6379"}]}
    assert not list(validator.iter_errors(child))  # no version, no db: the base gives them
    whole = {k: v for k, v in child.items() if k != "extends"}
    assert list(validator.iter_errors({**whole, "version": 1}))  # a spec on its own: null is no host, db is required
    assert list(validator.iter_errors({**child, "sever": {}}))  # an overlay is still checked
    assert list(validator.iter_errors({**child, "render": {"host": "not a host!"}}))


def test_the_worked_overlay_example(monkeypatch):
    """specs/staging.yaml and specs/prod.yaml extend specs/base.yaml: what each takes and what it changes."""
    from borgconf.spec import load_spec

    env = {"REDIS_PASSWORD": "Example_value_1"}
    base = load_spec(ROOT / "specs" / "base.yaml", env=env)
    staging = load_spec(ROOT / "specs" / "staging.yaml", env=env)
    prod = load_spec(ROOT / "specs" / "prod.yaml", env=env)
    assert base.server["hz"].checked == 10 and base.ignore == set()
    mm = {s: spec.server["maxmemory"].checked for s, spec in (("base", base), ("staging", staging), ("prod", prod))}
    assert mm == {"base": 256 * 2**20, "staging": 128 * 2**20, "prod": 2 * 2**30}
    # the services, commands and policy are shared
    for spec in (staging, prod):
        assert spec.services == base.services and spec.commands == base.commands
        assert spec.server["maxmemory-policy"].checked == "noeviction"
    # staging: one target, the base's settings under its own URL; a null took slowlog away
    (t,) = staging.targets
    assert (t.url, t.username, t.password, t.persist) == ("redis://redis.staging.internal:6379", "default", "Example_value_1", "rewrite")
    assert "slowlog-log-slower-than" not in staging.server and "slowlog-log-slower-than" in base.server
    # prod: two targets, each with the base target's password; hz handed to another actor
    assert [(t.name, t.username, t.password, t.timeout) for t in prod.targets] == [
        ("prod-a", "default", "Example_value_1", 5), ("prod-b", "default", "Example_value_1", 5)]
    assert "hz" not in prod.server and prod.ignore == {"hz"}
