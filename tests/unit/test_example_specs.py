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
    assert {"specs/borgstack.yaml", "examples/demo.yaml", "examples/acl-users.yaml"} <= names, names
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


# Known defects of the generated schema (borgconf/models.py json_schema), not of
# the specs: strict, so the mark must go when the schema is fixed.
SCHEMA_DEFECTS = {
    "examples/acl-users.yaml": "the schema's pattern for target.config_command (and every other pattern-checked "
    "string: username, target name, render.host, services.*.user) refuses a ${VAR} placeholder, which borgconf "
    "accepts and interpolates before validating; an editor shows this spec as invalid",
}


def _schema_params():
    for p in SPECS:
        reason = SCHEMA_DEFECTS.get(_id(p))
        yield pytest.param(p, marks=pytest.mark.xfail(strict=True, reason=reason)) if reason else p


@pytest.mark.parametrize("spec", list(_schema_params()), ids=_id)
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
