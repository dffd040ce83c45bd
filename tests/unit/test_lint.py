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
  requirepass: pw
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
    assert "no-requirepass" in ids(tmp_path, GOOD.replace("  requirepass: pw\n", ""))
    body = GOOD.replace("appendonly: yes", "appendonly: no\n  save: []")
    assert ids(tmp_path, body) == ["no-persistence"]


def test_config_renamed(tmp_path):
    assert ids(tmp_path, GOOD + "commands:\n  CONFIG: CFG_x\n") == ["config-renamed"]
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
