"""Spec v1 loading: positions in every error, suggestions, variables, extends."""

from __future__ import annotations

import textwrap

import pytest

from borgconf.errors import SpecError
from borgconf.spec import interpolate, load_spec


def write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(textwrap.dedent(text).lstrip())
    return p


def problems(path, env=None, **kw):
    with pytest.raises(SpecError) as exc:
        load_spec(path, env=env if env is not None else {}, **kw)
    return exc.value.problems


def test_valid_spec_loads(tmp_path):
    p = write(tmp_path, "s.yaml", """
        version: 1
        target: {url: "redis://127.0.0.1:6390", password: "${PW}"}
        server:
          maxmemory: 2gb
          maxmemory-policy: noeviction
          appendonly: true
          save: ["900 1", "300 10"]
          slave-read-only: yes
        services:
          n8n: {db: 0, role: queue}
        """)
    spec = load_spec(p, env={"PW": "pw1"})
    assert spec.target.password == "pw1"
    assert set(spec.server) == {"maxmemory", "maxmemory-policy", "appendonly", "save", "replica-read-only"}
    assert spec.server["replica-read-only"].name_used == "slave-read-only"
    assert spec.services["n8n"].db == 0
    assert len(spec.sha256) == 64


def test_wrong_value_names_file_line_col_and_expectation(tmp_path):
    p = write(tmp_path, "prod.yaml", """
        version: 1
        server:
          maxmemory: 2 gigs
        """)
    (prob,) = problems(p)
    assert (prob.file, prob.line, prob.col) == (str(p), 3, 14)
    assert "server.maxmemory" in str(prob) and "not a memory size" in str(prob)
    assert str(prob).startswith(f"{p}:3:14: server.maxmemory: ")


def test_unknown_parameter_gets_a_suggestion(tmp_path):
    p = write(tmp_path, "s.yaml", """
        version: 1
        server:
          maxmemory-polcy: noeviction
        """)
    (prob,) = problems(p)
    assert "did you mean 'maxmemory-policy'" in prob.message
    assert (prob.line, prob.col) == (3, 3)


def test_unknown_top_level_key_gets_a_suggestion(tmp_path):
    p = write(tmp_path, "s.yaml", """
        version: 1
        servr: {}
        """)
    (prob,) = problems(p)
    assert "unknown key" in prob.message and "'server'" in prob.message
    assert prob.line == 2


def test_unknown_nested_key_gets_a_suggestion(tmp_path):
    p = write(tmp_path, "s.yaml", """
        version: 1
        target:
          pasword: x
        """)
    (prob,) = problems(p)
    assert "did you mean 'password'" in prob.message and prob.line == 3


def test_missing_variable_is_named(tmp_path):
    p = write(tmp_path, "s.yaml", """
        version: 1
        server:
          requirepass: ${REDIS_PASSWORD}
        """)
    (prob,) = problems(p)
    assert "REDIS_PASSWORD" in prob.message and "not set" in prob.message
    assert prob.line == 3


def test_variable_default_and_env_file(tmp_path):
    p = write(tmp_path, "s.yaml", """
        version: 1
        server:
          maxmemory: ${MAXMEM:-1gb}
          maxmemory-policy: ${POLICY}
        """)
    envf = write(tmp_path, ".env", "POLICY='allkeys-lru'\n")
    spec = load_spec(p, env={}, env_file=str(envf))
    assert spec.server["maxmemory"].checked == 1024**3
    assert spec.server["maxmemory-policy"].checked == "allkeys-lru"
    # the process environment wins over the file (as in docker compose)
    spec = load_spec(p, env={"POLICY": "noeviction", "MAXMEM": "2gb"}, env_file=str(envf))
    assert spec.server["maxmemory-policy"].checked == "noeviction"
    assert spec.server["maxmemory"].checked == 2 * 1024**3


def test_interpolate_rules():
    used = set()
    assert interpolate("a${X}b", {"X": "1"}, used) == "a1b" and used == {"X"}
    assert interpolate("${X:-d}", {}, set()) == "d"
    assert interpolate("${X:-d}", {"X": ""}, set()) == "d"
    assert interpolate("$${X}", {}, set()) == "${X}"
    with pytest.raises(KeyError):
        interpolate("${NOPE}", {}, set())


def test_extends_merges_mappings_and_replaces_lists(tmp_path):
    write(tmp_path, "base.yaml", """
        version: 1
        server:
          maxmemory: 1gb
          save: ["900 1", "300 10"]
          appendonly: yes
        """)
    p = write(tmp_path, "prod.yaml", """
        extends: base.yaml
        server:
          maxmemory: 4gb
          save: ["60 10000"]
        """)
    spec = load_spec(p, env={})
    assert spec.server["maxmemory"].checked == 4 * 1024**3
    assert spec.server["appendonly"].checked == "yes"
    assert spec.server["save"].checked == [(60, 10000)]
    assert len(spec.files) == 2


def test_error_in_base_names_the_base_file(tmp_path):
    write(tmp_path, "base.yaml", """
        version: 1
        server:
          hz: lots
        """)
    p = write(tmp_path, "prod.yaml", "extends: base.yaml\n")
    (prob,) = problems(p)
    assert prob.file.endswith("base.yaml") and prob.line == 3


def test_extends_cycle_and_missing_file(tmp_path):
    write(tmp_path, "a.yaml", "extends: b.yaml\nversion: 1\n")
    write(tmp_path, "b.yaml", "extends: a.yaml\nversion: 1\n")
    (prob,) = problems(tmp_path / "a.yaml")
    assert "cycle" in prob.message
    p = write(tmp_path, "c.yaml", "extends: nope.yaml\nversion: 1\n")
    (prob,) = problems(p)
    assert "not found" in prob.message and prob.line == 1


def test_all_problems_are_reported_together(tmp_path):
    p = write(tmp_path, "s.yaml", """
        version: 1
        server:
          hz: 1000
          appendonly: maybe
        services:
          a: {db: 0}
          b: {db: 0}
          c: {db: 16}
        """)
    probs = problems(p)
    text = "\n".join(map(str, probs))
    assert "clamps" in text and "not a boolean" in text and "already used" in text and "does not exist" in text
    assert len(probs) == 4


def test_sensitive_value_is_not_echoed(tmp_path):
    p = write(tmp_path, "s.yaml", """
        version: 1
        target: {password: [not-a-string-secret-xyz]}
        """)
    (prob,) = problems(p)
    assert "secret-xyz" not in str(prob)


def test_url_must_not_hold_a_password(tmp_path):
    p = write(tmp_path, "s.yaml", """
        version: 1
        target: {url: "redis://:hunter2@host:6379"}
        """)
    (prob,) = problems(p)
    assert "credentials" in prob.message and "hunter2" not in str(prob)


def test_yaml_syntax_error_has_position(tmp_path):
    p = write(tmp_path, "s.yaml", "version: 1\nserver: {maxmemory: 1gb\n")
    (prob,) = problems(p)
    assert "YAML syntax error" in prob.message and prob.line >= 2


def test_version_is_required(tmp_path):
    p = write(tmp_path, "s.yaml", "server: {}\n")
    (prob,) = problems(p)
    assert "version" in str(prob)


def test_a_parameter_cannot_be_both_set_and_ignored(tmp_path):
    write(tmp_path, "base.yaml", "version: 1\nserver:\n  hz: 12\n")
    p = write(tmp_path, "s.yaml", "extends: base.yaml\nignore: [hz]\n")
    (prob,) = problems(p)
    assert "both set and in ignore" in prob.message and prob.file.endswith("base.yaml") and prob.line == 3
