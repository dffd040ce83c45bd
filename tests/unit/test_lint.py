"""Lint: each finding has a stable id and one line of why; --strict makes them errors."""

from __future__ import annotations

import textwrap

import pytest

from borgconf.lint import lint
from borgconf.live import LiveState
from borgconf.spec import load_spec
from cli_helpers import run

GOOD = """
server:
  maxmemory-policy: noeviction
  appendonly: yes
  requirepass: Zq4vN8wLr2Tx
services:
  n8n: {db: 0}
"""


def spec_from(tmp_path, body):
    p = tmp_path / "s.yaml"
    p.write_text("version: 1\n" + textwrap.dedent(body))
    return load_spec(p, env={})


def ids(tmp_path, body, lives=None):
    return [f.id for f in lint(spec_from(tmp_path, body), lives)]


def live(**kw):
    base = dict(address="h:1", flavour="redis", version="7.0.15", run_id="x", config_file="/c", config={"maxmemory-policy": "noeviction", "appendonly": "no", "save": "", "requirepass": ""}, total_memory=1000 * 1024**2)
    base.update(kw)
    return LiveState(**base)


def test_clean_spec_has_no_findings(tmp_path):
    assert ids(tmp_path, GOOD) == []


def test_queue_on_an_evicting_policy(tmp_path):
    body = GOOD.replace("noeviction", "allkeys-lru")
    assert ids(tmp_path, body) == ["queue-evicting-policy"]  # n8n is a queue by default
    assert ids(tmp_path, body.replace("n8n: {db: 0}", "directus: {db: 0}")) == []  # a cache may evict
    assert ids(tmp_path, body.replace("n8n: {db: 0}", "myapp: {db: 0, role: queue}")) == ["queue-evicting-policy"]


def test_maxmemory_without_headroom(tmp_path):
    body = GOOD.replace("server:\n", "server:\n  maxmemory: 80%\n")
    assert ids(tmp_path, body) == ["maxmemory-no-headroom"]
    body = GOOD.replace("server:\n", "server:\n  maxmemory: 900mb\n")
    assert ids(tmp_path, body) == []
    assert ids(tmp_path, body, {"default": live()}) == ["maxmemory-no-headroom"]


def test_no_requirepass_and_no_persistence(tmp_path):
    assert "no-requirepass" in ids(tmp_path, GOOD.replace("  requirepass: Zq4vN8wLr2Tx\n", ""))
    body = GOOD.replace("appendonly: yes", "appendonly: no\n  save: []")
    assert ids(tmp_path, body) == ["no-persistence"]


def test_config_renamed(tmp_path):
    assert ids(tmp_path, GOOD + "commands:\n  CONFIG: CFG_k7Qm2xPz\n") == ["config-renamed"]
    assert ids(tmp_path, GOOD + "commands:\n  FLUSHALL: disabled\n") == []


def test_service_db_on_a_cluster(tmp_path):
    body = GOOD + "  chatwoot: {db: 1}\n"
    assert ids(tmp_path, body) == []
    assert ids(tmp_path, body, {"default": live(mode="cluster")}) == ["cluster-db"]


def test_keyspace_events_n(tmp_path):
    body = GOOD.replace("server:\n", "server:\n  notify-keyspace-events: KEAn\n")
    assert ids(tmp_path, body) == ["keyspace-events-n"]


def test_findings_name_file_and_line(tmp_path):
    (f,) = lint(spec_from(tmp_path, GOOD.replace("noeviction", "allkeys-lru")))
    assert str(f).startswith("[queue-evicting-policy] ") and "s.yaml:8:" in str(f)  # the n8n service line


def test_strict_makes_findings_errors(tmp_path, capsys):
    p = tmp_path / "s.yaml"
    p.write_text("version: 1\nserver:\n  appendonly: yes\n")
    rc, out, err = run(capsys, "validate", p)
    assert rc == 0 and "[no-requirepass]" in out
    rc, out, err = run(capsys, "validate", "--strict", p)
    assert rc == 1 and "--strict" in err


def test_fleet_lint_does_not_depend_on_which_server_answers_first(tmp_path):
    """Each target is linted against its own facts: the finding for the small
    server is there whatever order the reads completed in."""
    body = GOOD.replace("server:\n", "server:\n  maxmemory: 900mb\n")
    small, big = live(total_memory=1000 * 1024**2), live(total_memory=100 * 1024**3)
    one = [str(f) for f in lint(spec_from(tmp_path, body), {"small": small, "big": big})]
    other = [str(f) for f in lint(spec_from(tmp_path, body), {"big": big, "small": small})]
    assert one == other
    assert [f.id for f in lint(spec_from(tmp_path, body), {"big": big, "small": small})] == ["maxmemory-no-headroom"]
    assert "small" in one[0]  # names the target it is about


def test_offline_appendonly_off_keeps_the_default_save_points(tmp_path, capsys):
    """Without `save` in the spec the server's default save points stay in force
    (Redis 7.0: 3600 1 300 100 60 10000): turning AOF off alone is persistent."""
    body = GOOD.replace("appendonly: yes", "appendonly: no")
    assert ids(tmp_path, body) == []
    assert ids(tmp_path, body.replace("appendonly: no", "appendonly: no\n  save: []")) == ["no-persistence"]
    (tmp_path / "s.yaml").write_text("version: 1\n" + body)
    rc, out, err = run(capsys, "validate", "--strict", tmp_path / "s.yaml")
    assert rc == 0, err


# -- lint: {accept: {ID: reason}} ----------------------------------------------

QUEUE_ON_LRU = GOOD.replace("noeviction", "allkeys-lru")
ACCEPT = 'lint:\n  accept:\n    queue-evicting-policy: "cache-only Redis; queues use another instance"\n'


def test_every_lint_id_is_registered():
    """lint.accept checks ids against LINT_IDS: a finding made in lint.py with
    an id missing there could never be accepted."""
    import re
    from pathlib import Path

    import borgconf.lint as L

    made = set(re.findall(r'Finding\(\s*"([a-z0-9-]+)"', Path(L.__file__).read_text()))
    assert made == set(L.LINT_IDS), (made, set(L.LINT_IDS))


def test_an_accepted_finding_is_shown_as_accepted_and_does_not_fail_strict(tmp_path, capsys):
    p = tmp_path / "s.yaml"
    p.write_text("version: 1\n" + textwrap.dedent(QUEUE_ON_LRU) + ACCEPT)
    (f,) = lint(load_spec(p, env={}))
    assert f.id == "queue-evicting-policy" and f.accepted == "cache-only Redis; queues use another instance"
    rc, out, err = run(capsys, "validate", "--strict", p)
    assert rc == 0, err
    assert "warning" not in out + err
    assert "accepted: [queue-evicting-policy]" in out and "cache-only Redis; queues use another instance" in out
    # accepting one id leaves the others: a missing requirepass still fails --strict
    p.write_text(p.read_text().replace("  requirepass: Zq4vN8wLr2Tx\n", ""))
    rc, out, err = run(capsys, "validate", "--strict", p)
    assert rc == 1 and "1 lint finding(s) and --strict" in err, err
    assert "warning: [no-requirepass]" in out and "accepted: [queue-evicting-policy]" in out


def test_without_accept_the_same_finding_fails_strict(tmp_path, capsys):
    p = tmp_path / "s.yaml"
    p.write_text("version: 1\n" + textwrap.dedent(QUEUE_ON_LRU))
    rc, out, err = run(capsys, "validate", "--strict", p)
    assert rc == 1 and "warning: [queue-evicting-policy]" in out


@pytest.mark.parametrize("reason", ['""', '"   "', "null", "[]"])
def test_accepting_needs_a_reason(tmp_path, capsys, reason):
    p = tmp_path / "s.yaml"
    p.write_text("version: 1\n" + textwrap.dedent(QUEUE_ON_LRU) + f"lint:\n  accept:\n    queue-evicting-policy: {reason}\n")
    rc, out, err = run(capsys, "validate", p)
    assert rc == 1, out
    line = len(p.read_text().splitlines())
    assert f"s.yaml:{line}:" in err and "lint.accept.queue-evicting-policy" in err, err


def test_an_unknown_lint_id_is_an_error_with_a_suggestion(tmp_path, capsys):
    p = tmp_path / "s.yaml"
    p.write_text("version: 1\n" + textwrap.dedent(QUEUE_ON_LRU) + ACCEPT.replace("queue-evicting-policy", "queue-evicting-polcy"))
    rc, out, err = run(capsys, "validate", p)
    line = len(p.read_text().splitlines())
    assert rc == 1
    assert f"s.yaml:{line}:5: lint.accept.queue-evicting-polcy: unknown lint id 'queue-evicting-polcy'; did you mean 'queue-evicting-policy'?" in err, err
    p.write_text(p.read_text().replace("queue-evicting-polcy", "everything"))
    rc, out, err = run(capsys, "validate", p)
    assert rc == 1 and "unknown lint id 'everything' (lint ids: queue-evicting-policy," in err, err


def test_lint_accept_in_the_json_schema():
    import jsonschema

    from borgconf.spec.schema import json_schema

    schema = json_schema()
    v = jsonschema.validators.validator_for(schema)(schema)
    ok = {"version": 1, "lint": {"accept": {"no-requirepass": "behind a private network"}}}
    assert not list(v.iter_errors(ok))
    assert list(v.iter_errors({"version": 1, "lint": {"accept": {"no-requirepas": "x"}}}))
    assert list(v.iter_errors({"version": 1, "lint": {"accept": {"no-requirepass": " "}}}))
    assert list(v.iter_errors({"version": 1, "lint": {"acept": {}}}))


def test_lint_accept_is_inherited_and_a_child_null_takes_it_back(tmp_path, capsys):
    (tmp_path / "base.yaml").write_text("version: 1\n" + textwrap.dedent(QUEUE_ON_LRU) + ACCEPT)
    (tmp_path / "child.yaml").write_text("extends: base.yaml\nserver:\n  maxmemory: 1mb\n")
    (tmp_path / "strict.yaml").write_text("extends: base.yaml\nlint:\n  accept:\n    queue-evicting-policy: null\n")
    assert run(capsys, "validate", "--strict", tmp_path / "child.yaml")[0] == 0
    rc, out, err = run(capsys, "validate", "--strict", tmp_path / "strict.yaml")
    assert rc == 1 and "warning: [queue-evicting-policy]" in out


# -- every target's effective settings (issue 12: a target's own server: block) -

FLEET = """
targets:
  - name: cache-a
    url: redis://127.0.0.1:7001
  - name: queue-b
    url: redis://127.0.0.1:7002
    server:
      maxmemory-policy: allkeys-lru
  - name: queue-c
    url: redis://127.0.0.1:7003
    server:
      appendonly: no
      save: []
server:
  maxmemory-policy: noeviction
  appendonly: yes
  requirepass: Vb7-kQ2m-Zr9x
services:
  n8n: {db: 0}
"""


def test_a_target_override_is_linted_with_its_target_and_line(tmp_path):
    """A per-target server: block is merged over the shared one and linted: the
    finding names the target and the line of its override."""
    findings = lint(spec_from(tmp_path, FLEET))
    assert [(f.id, f.target) for f in findings] == [("queue-evicting-policy", "queue-b"), ("no-persistence", "queue-c")]
    lines = (tmp_path / "s.yaml").read_text().splitlines()
    evict, persist = findings
    assert evict.where.startswith(str(tmp_path / "s.yaml") + ":")
    assert "maxmemory-policy: allkeys-lru" in lines[int(evict.where.split(":")[-2]) - 1]
    assert "appendonly: no" in lines[int(persist.where.split(":")[-2]) - 1]
    assert "target queue-b: service n8n is a queue but maxmemory-policy is allkeys-lru" in str(evict)


def test_identical_findings_across_targets_are_reported_once(tmp_path):
    """The shared block's finding is the same for every target: once, with no target."""
    body = FLEET.replace("  requirepass: Vb7-kQ2m-Zr9x\n", "")
    findings = lint(spec_from(tmp_path, body))
    assert [(f.id, f.target) for f in findings].count(("no-requirepass", "")) == 1
    assert sorted(f.id for f in findings) == ["no-persistence", "no-requirepass", "queue-evicting-policy"]
    # two targets overriding the same way are two findings, each naming its own target and line
    body = FLEET.replace("      appendonly: no\n      save: []", "      maxmemory-policy: volatile-lru")
    found = [(f.id, f.target) for f in lint(spec_from(tmp_path, body))]
    assert found == [("queue-evicting-policy", "queue-b"), ("queue-evicting-policy", "queue-c")]


def test_an_override_that_fixes_the_shared_block_clears_the_finding_for_that_target(tmp_path):
    body = FLEET.replace("maxmemory-policy: noeviction", "maxmemory-policy: allkeys-lru").replace(
        "      maxmemory-policy: allkeys-lru", "      maxmemory-policy: noeviction")
    findings = lint(spec_from(tmp_path, body))
    # cache-a and queue-c evict through the shared block (one finding, no target); queue-b does not
    assert [(f.id, f.target) for f in findings] == [("queue-evicting-policy", ""), ("no-persistence", "queue-c")]
    # every target overriding it: no finding from the shared block at all
    body = body.replace("    url: redis://127.0.0.1:7001\n", "    url: redis://127.0.0.1:7001\n    server: {maxmemory-policy: noeviction}\n")
    body = body.replace("      appendonly: no\n", "      appendonly: no\n      maxmemory-policy: noeviction\n")
    assert [(f.id, f.target) for f in lint(spec_from(tmp_path, body))] == [("no-persistence", "queue-c")]


def test_single_target_override_and_override_headroom(tmp_path):
    body = GOOD + "target:\n  url: redis://127.0.0.1:7001\n  server:\n    maxmemory: 90%\n"
    (f,) = lint(spec_from(tmp_path, body))
    assert f.id == "maxmemory-no-headroom" and f.target == "default"
    assert "maxmemory: 90%" in (tmp_path / "s.yaml").read_text().splitlines()[int(f.where.split(":")[-2]) - 1]


def test_live_lint_uses_each_targets_merged_settings(tmp_path):
    """With live states, each target is linted with its own merged block; a node
    found by discover: takes the own block of the target that found it."""
    spec = spec_from(tmp_path, FLEET)
    lives = {"cache-a": live(), "queue-b": live(), "queue-c": live()}
    assert [(f.id, f.target) for f in lint(spec, lives)] == [("queue-evicting-policy", "queue-b"), ("no-persistence", "queue-c")]
    body = FLEET.replace("    url: redis://127.0.0.1:7002\n", "    url: redis://127.0.0.1:7002\n    discover: replicas\n")
    spec = spec_from(tmp_path, body)
    lives = {"127.0.0.1:7002": live(), "127.0.0.1:7004": live()}
    groups = {"127.0.0.1:7002": "queue-b", "127.0.0.1:7004": "queue-b"}
    assert [(f.id, f.target) for f in lint(spec, lives, groups)] == [("queue-evicting-policy", "queue-b")]


def test_validate_prints_the_override_finding(tmp_path, capsys):
    p = tmp_path / "s.yaml"
    p.write_text("version: 1\n" + textwrap.dedent(FLEET))
    rc, out, err = run(capsys, "validate", "--strict", p)
    assert rc == 1 and "2 lint finding(s)" in err
    assert "[queue-evicting-policy]" in out and "target queue-b:" in out and "target queue-c:" in out
