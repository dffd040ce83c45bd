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


def test_a_parameter_cannot_be_both_set_and_ignored_in_one_file(tmp_path):
    p = write(tmp_path, "one.yaml", "version: 1\nserver:\n  hz: 12\nignore: [hz]\n")
    (prob,) = problems(p)
    assert "both set and in ignore" in prob.message and prob.file.endswith("one.yaml") and prob.line == 3
    # in a child as well: the child both sets and ignores it (and the base sets it too)
    write(tmp_path, "base.yaml", "version: 1\nserver:\n  hz: 12\n")
    p = write(tmp_path, "s.yaml", "extends: base.yaml\nserver:\n  hz: 13\nignore: [hz]\n")
    (prob,) = problems(p)
    assert "both set and in ignore" in prob.message and prob.file.endswith("s.yaml") and prob.line == 3
    # and in a base: its own conflict is not hidden by a child that says nothing about it
    write(tmp_path, "base.yaml", "version: 1\nserver:\n  hz: 12\nignore: [hz]\n")
    p = write(tmp_path, "s.yaml", "extends: base.yaml\nserver:\n  maxmemory: 1mb\n")
    (prob,) = problems(p)
    assert "both set and in ignore" in prob.message and prob.file.endswith("base.yaml") and prob.line == 3


# -- overlays: what a child spec can take away from its base ---------------------

BASE = """
    version: 1
    target:
      url: redis://10.0.0.1:6379
      username: app
      password: ${PW}
      config_command: CFG_${ENV:-x}
      persist: file
      timeout: 3
    server:
      hz: 10
      maxmemory: 100mb
      slaveof: 10.0.0.9 6379
      appendonly: yes
    ignore: [maxclients]
    render: {host: cache, port: 7000}
    """


def test_a_child_ignore_wins_over_a_value_from_the_base(tmp_path):
    """The child hands hz to another actor: the base's hz is neither planned nor set."""
    write(tmp_path, "base.yaml", BASE)
    p = write(tmp_path, "prod.yaml", "extends: base.yaml\nignore: [hz, replicaof]\n")
    spec = load_spec(p, env={"PW": "pw"})
    assert "hz" not in spec.server and "replicaof" not in spec.server  # slaveof: the same parameter, another name
    assert spec.ignore == {"hz", "replicaof"}  # the child's list replaced the base's [maxclients]
    assert spec.server["maxmemory"].raw == "100mb"
    assert spec.where(("ignore", 0))[0].endswith("prod.yaml")


def test_a_child_value_wins_over_an_ignore_from_the_base(tmp_path):
    write(tmp_path, "base.yaml", BASE)
    p = write(tmp_path, "prod.yaml", "extends: base.yaml\nserver:\n  maxclients: 500\n")
    spec = load_spec(p, env={"PW": "pw"})
    assert spec.server["maxclients"].checked == 500 and spec.ignore == set()


def test_three_levels_the_nearest_file_wins(tmp_path):
    write(tmp_path, "base.yaml", BASE)
    write(tmp_path, "mid.yaml", "extends: base.yaml\nignore: [hz]\n")
    p = write(tmp_path, "top.yaml", "extends: mid.yaml\nserver:\n  hz: 20\n")
    spec = load_spec(p, env={"PW": "pw"})
    assert spec.server["hz"].checked == 20 and spec.ignore == set()
    spec = load_spec(tmp_path / "mid.yaml", env={"PW": "pw"})
    assert "hz" not in spec.server and spec.ignore == {"hz"}


def test_a_null_in_a_child_removes_the_inherited_key(tmp_path):
    write(tmp_path, "base.yaml", BASE)
    p = write(tmp_path, "prod.yaml", """
        extends: base.yaml
        server:
          hz: null
          replicaof: null          # removes the base's slaveof: the same parameter
          appendonly: ~
        render: {port: null}
        target: {config_command: null}
        """)
    spec = load_spec(p, env={"PW": "pw"})
    assert set(spec.server) == {"maxmemory"}
    assert spec.render.port is None and spec.render.host == "cache"
    assert spec.target.config_command == "CONFIG" and spec.target.username == "app"  # back to the default; the rest kept
    assert spec.ignore == {"maxclients"}


def test_a_null_outside_an_overlay_is_still_an_error(tmp_path):
    p = write(tmp_path, "one.yaml", "version: 1\nserver:\n  hz: null\n")
    (prob,) = problems(p)
    assert prob.path == "server.hz" and prob.line == 3


def test_a_child_value_replaces_the_base_value_under_another_name(tmp_path):
    write(tmp_path, "base.yaml", BASE)
    p = write(tmp_path, "prod.yaml", "extends: base.yaml\nserver:\n  replicaof: 10.0.0.8 6380\n")
    spec = load_spec(p, env={"PW": "pw"})
    assert spec.server["replicaof"].raw == "10.0.0.8 6380"


def test_targets_in_a_child_replace_the_base_target_and_inherit_its_settings(tmp_path):
    write(tmp_path, "base.yaml", BASE)
    p = write(tmp_path, "prod.yaml", """
        extends: base.yaml
        targets:
          - {name: a, url: "redis://10.0.1.1:6379"}
          - name: b
            url: redis://10.0.1.2:6379
            password: ${PW_B}
            timeout: 9
        """)
    spec = load_spec(p, env={"PW": "pw-a", "PW_B": "pw-b"})
    a, b = spec.targets
    assert (a.name, a.url, a.username, a.password, a.config_command, a.persist, a.timeout) == ("a", "redis://10.0.1.1:6379", "app", "pw-a", "CFG_x", "file", 3)
    assert (b.name, b.url, b.username, b.password, b.timeout) == ("b", "redis://10.0.1.2:6379", "app", "pw-b", 9)
    # an error in an inherited setting names the base, where it is written
    write(tmp_path, "base.yaml", BASE.replace("timeout: 3", "timeout: -1"))
    (prob, *rest) = problems(p, env={"PW": "pw-a", "PW_B": "pw-b"})
    assert prob.path == "targets[0].timeout" and prob.file.endswith("base.yaml") and prob.line == 8, prob


def test_target_null_in_a_child_takes_nothing_from_the_base_target(tmp_path):
    write(tmp_path, "base.yaml", BASE)
    p = write(tmp_path, "prod.yaml", """
        extends: base.yaml
        target: null
        targets:
          - {name: a, url: "redis://10.0.1.1:6379"}
        """)
    (a,) = load_spec(p, env={"PW": "pw"}).targets
    assert (a.username, a.password, a.config_command, a.persist) == (None, None, "CONFIG", "rewrite")


def test_target_in_a_child_replaces_inherited_targets(tmp_path):
    write(tmp_path, "base.yaml", "version: 1\ntargets:\n  - {name: a, url: 'redis://10.0.1.1:6379'}\n  - {name: b, url: 'redis://10.0.1.2:6379'}\n")
    p = write(tmp_path, "one.yaml", "extends: base.yaml\ntarget: {url: 'redis://10.0.2.1:6379'}\n")
    (t,) = load_spec(p, env={}).targets
    assert t.url == "redis://10.0.2.1:6379"
    # in one file, both forms are still an error
    p = write(tmp_path, "both.yaml", "version: 1\ntarget: {url: 'redis://10.0.2.1:6379'}\ntargets: []\n")
    assert "either target: or targets:" in str(problems(p)[0])


def test_the_extends_fence_outside_a_repository_is_the_spec_directory(tmp_path):
    """(inside a repository: tests/unit/test_spec_edge_values.py)"""
    assert not any((d / ".git").exists() for d in (tmp_path, *tmp_path.parents))
    (tmp_path / "specs").mkdir()
    write(tmp_path, "base.yaml", "version: 1\n")
    write(tmp_path, "specs/base.yml", "version: 1\nserver:\n  hz: 12\n")
    write(tmp_path, "specs/base.txt", "version: 1\n")
    ok = write(tmp_path, "specs/ok.yaml", "extends: base.yml\n")
    assert load_spec(ok, env={}).server["hz"].checked == 12
    for target in ("../base.yaml", "base.txt"):
        p = write(tmp_path, "specs/bad.yaml", f"extends: {target}\n")
        (prob,) = problems(p)
        assert "inside" in prob.message and str(tmp_path / "specs") in prob.message and prob.line == 1


def test_extends_depth_is_bounded(tmp_path):
    from borgconf.spec.yamlread import MAX_EXTENDS_DEPTH

    write(tmp_path, "s0.yaml", "version: 1\nserver:\n  hz: 11\n")
    for i in range(1, MAX_EXTENDS_DEPTH + 2):
        write(tmp_path, f"s{i}.yaml", f"extends: s{i - 1}.yaml\n")
    assert MAX_EXTENDS_DEPTH == 16  # README: "a chain of at most 16 files"
    assert load_spec(tmp_path / f"s{MAX_EXTENDS_DEPTH - 1}.yaml", env={}).server["hz"].checked == 11  # s15 .. s0
    (prob,) = problems(tmp_path / f"s{MAX_EXTENDS_DEPTH}.yaml")
    assert "more than 16 levels" in prob.message
