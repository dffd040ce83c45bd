"""Dangerous commands and ``persist: file`` on real Redis 7.0 and 8.2.

Renamed and disabled commands are read live (COMMAND INFO + COMMAND LIST),
a rename change plans as restart-required, borgconf reaches a renamed CONFIG
through ``target.config_command``, and ``persist: file`` writes the rendered
redis.conf instead of calling CONFIG REWRITE.
"""

from __future__ import annotations

import json
import stat
import textwrap
from pathlib import Path

import pytest
import redis
from dotenv import dotenv_values

from borgconf import redact
from borgconf.live import parse_config_reply
from cli_helpers import run


@pytest.fixture(autouse=True)
def _clean(monkeypatch):
    for name in ("REDIS_PASSWORD", "CFG", "FDB", "BORGCONF_URL", "BORGCONF_PASSWORD", "REDISCLI_AUTH"):
        monkeypatch.delenv(name, raising=False)
    redact.clear()
    yield
    redact.clear()


SPEC = """\
version: 1
target:
  password: ${REDIS_PASSWORD}
  config_command: ${CFG}
  persist: none
server:
  requirepass: ${REDIS_PASSWORD}
  maxmemory: 100mb
commands:
  FLUSHALL: disabled
  FLUSHDB: ${FDB}
  CONFIG: ${CFG}
"""


def started(capsys, redis_factory, tmp_path: Path, spec_text: str = SPEC):
    spec = tmp_path / "spec.yaml"
    spec.write_text(spec_text)
    rc, out, err = run(capsys, "render", spec)
    assert rc == 0, err
    env = {k: v for k, v in dotenv_values(tmp_path / ".env").items() if v is not None}
    server = redis_factory(config_file=tmp_path / "redis.conf", password=env["REDIS_PASSWORD"])
    return spec, env, server


def plan_json(capsys, spec: Path, server, *args: str):
    rc, out, err = run(capsys, "plan", "--format", "json", "--detailed-exitcode", spec, "--env-file", spec.parent / ".env", "--url", server.url, *args)
    assert rc in (0, 2), err
    return rc, json.loads(out), out + err


def test_renamed_and_disabled_commands_are_seen_live(redis_factory, tmp_path, capsys):
    spec, env, server = started(capsys, redis_factory, tmp_path)
    c = server.client()
    with pytest.raises(redis.ResponseError, match="unknown command"):
        c.execute_command("CONFIG", "GET", "maxmemory")
    assert parse_config_reply(c.execute_command(env["CFG"], "GET", "maxmemory")) == {"maxmemory": "104857600"}
    rc, plan, text = plan_json(capsys, spec, server)
    assert rc == 0, text
    assert {"rename-command FLUSHALL", "rename-command FLUSHDB", "rename-command CONFIG"} <= set(plan["targets"][0]["in_sync"])
    for secret in (env["CFG"], env["FDB"], env["REDIS_PASSWORD"]):
        assert secret not in text


def test_a_rename_change_is_restart_required_and_secret(redis_factory, tmp_path, capsys):
    spec, env, server = started(capsys, redis_factory, tmp_path)
    # FLUSHDB is renamed on the server; the spec now wants it disabled, FLUSHALL back
    spec.write_text(SPEC.replace("FLUSHDB: ${FDB}", "FLUSHDB: disabled").replace("FLUSHALL: disabled", "FLUSHALL: enabled"))
    rc, plan, text = plan_json(capsys, spec, server)
    assert rc == 2
    changes = {c["parameter"]: c for c in plan["targets"][0]["changes"]}
    assert set(changes) == {"rename-command FLUSHDB", "rename-command FLUSHALL"}
    for c in changes.values():
        assert c["class"] == "restart" and c["kind"] == "command"
    flushdb = changes["rename-command FLUSHDB"]
    assert flushdb["sensitive"] is True and flushdb["before"] is None and flushdb["after"] is None
    assert (changes["rename-command FLUSHALL"]["before"], changes["rename-command FLUSHALL"]["after"]) == ("disabled", "enabled")
    assert env["FDB"] not in text
    rc, out, err = run(capsys, "plan", spec, "--env-file", tmp_path / ".env", "--url", server.url)
    assert "rename-command FLUSHDB" in out and "[restart required]" in out
    # the rendered file carries the change; a restart from it is in sync
    rc, out, err = run(capsys, "render", spec)
    assert rc == 0, err
    server.restart()
    rc, plan, text = plan_json(capsys, spec, server)
    assert rc == 0, text


def test_apply_through_a_renamed_config(redis_factory, tmp_path, capsys):
    spec, env, server = started(capsys, redis_factory, tmp_path)
    spec.write_text(SPEC.replace("maxmemory: 100mb", "maxmemory: 200mb"))
    rc, out, err = run(capsys, "apply", "--auto-approve", spec, "--env-file", tmp_path / ".env", "--url", server.url)
    assert rc == 0, out + err
    reply = server.client().execute_command(env["CFG"], "GET", "maxmemory")
    assert parse_config_reply(reply) == {"maxmemory": str(200 * 1024**2)}
    rc, plan, text = plan_json(capsys, spec, server)
    assert rc == 0, text
    for secret in (env["CFG"], env["REDIS_PASSWORD"]):
        assert secret not in out + err + text


def test_a_wrong_config_command_says_what_to_set(redis_factory, tmp_path, capsys):
    spec, env, server = started(capsys, redis_factory, tmp_path)
    spec.write_text(SPEC.replace("config_command: ${CFG}", "config_command: CONFIG"))
    rc, out, err = run(capsys, "plan", spec, "--env-file", tmp_path / ".env", "--url", server.url)
    assert rc == 1
    assert "target.config_command" in err
    assert env["CFG"] not in out + err


PERSIST_FILE = """\
version: 1
target:
  password: ${REDIS_PASSWORD}
  persist: file
server:
  requirepass: ${REDIS_PASSWORD}
  maxmemory: 100mb
  maxmemory-policy: noeviction
  appendonly: yes
commands:
  FLUSHALL: disabled
render:
  redis_conf: conf/redis.conf
"""


def test_persist_file_writes_the_rendered_redis_conf_instead_of_rewrite(redis_factory, tmp_path, capsys):
    spec = tmp_path / "spec.yaml"
    spec.write_text(PERSIST_FILE)
    rc, out, err = run(capsys, "render", spec)
    assert rc == 0, err
    conf = tmp_path / "conf" / "redis.conf"
    password = dotenv_values(tmp_path / ".env")["REDIS_PASSWORD"]
    server = redis_factory(config_file=conf, password=password)

    spec.write_text(PERSIST_FILE.replace("maxmemory: 100mb", "maxmemory: 300mb").replace("noeviction", "allkeys-lru"))
    rc, out, err = run(capsys, "apply", "--auto-approve", spec, "--env-file", tmp_path / ".env", "--url", server.url)
    assert rc == 0, out + err
    assert "persisted to the rendered redis.conf" in out
    text = conf.read_text()
    assert "maxmemory 300mb" in text and "maxmemory-policy allkeys-lru" in text
    assert 'rename-command FLUSHALL ""' in text
    assert stat.S_IMODE(conf.stat().st_mode) == 0o600
    stats = server.client().info("commandstats")
    assert "cmdstat_config|rewrite" not in stats
    assert password not in out + err

    # the persisted file is the spec: a restart from it plans empty
    server.restart()
    rc, out, err = run(capsys, "plan", "--detailed-exitcode", spec, "--env-file", tmp_path / ".env", "--url", server.url)
    assert rc == 0, out + err
    rc, out, err = run(capsys, "render", "--check", spec)
    assert rc == 0, out + err


def test_persist_file_resolves_a_percentage_against_the_servers_memory(redis_factory, tmp_path, capsys, monkeypatch):
    """`maxmemory: 25%` is 25% of a server's memory, never of the machine
    borgconf runs on (issue 11, point 4): render takes render.total_memory (and
    without it refuses, validate first); the file persisted by apply says what
    the server now runs with: 25% of the server's own total_system_memory."""
    from borgconf import params as P

    spec = tmp_path / "spec.yaml"
    spec.write_text(PERSIST_FILE.replace("maxmemory: 100mb", "maxmemory: 25%"))
    for command in ("validate", "render"):
        with monkeypatch.context() as m:
            if command == "validate":  # render generates it
                m.setenv("REDIS_PASSWORD", "Nb5tRx8kQm2wZy")
            rc, out, err = run(capsys, command, spec)
        assert rc == 1 and "spec.yaml:7:14: server.maxmemory: 25% is a share of the memory" in err and "set render.total_memory" in err, (command, err)
    assert not (tmp_path / "conf").exists()

    spec.write_text(spec.read_text() + "  total_memory: 4gb\n")
    rc, out, err = run(capsys, "render", spec)
    assert rc == 0, err
    conf = tmp_path / "conf" / "redis.conf"
    assert "\nmaxmemory 1gb\n" in conf.read_text()  # a quarter of render.total_memory
    password = dotenv_values(tmp_path / ".env")["REDIS_PASSWORD"]
    server = redis_factory(config_file=conf, password=password)
    total = int(server.client().info("memory")["total_system_memory"])
    assert total != 4 * 1024**3  # so the server's memory and render.total_memory tell apart

    rc, out, err = run(capsys, "apply", "--auto-approve", spec, "--env-file", tmp_path / ".env", "--url", server.url)
    assert rc == 0, out + err
    live = int(server.client().config_get("maxmemory")["maxmemory"])
    assert live == total * 25 // 100
    shown = P.display(P.catalog().lookup("maxmemory"), str(live)) or str(live)
    assert f"\nmaxmemory {shown}\n" in conf.read_text()

    # restarted from the persisted file, the server is still as the spec says
    server.restart()
    rc, out, err = run(capsys, "plan", "--detailed-exitcode", spec, "--env-file", tmp_path / ".env", "--url", server.url)
    assert rc == 0, out + err
