"""Issue 10 group 5: a redis.conf borgconf renders always starts.

Every valid spec of the repository (specs/, examples/) and the valid specs
below (renamed and disabled commands, ACL users with key, channel and command
rules, quoting-hostile values) is rendered (into tmp_path: ``--out-dir``), a
real server is started from the rendered file on every fixture server
(Redis 7.0, 8.2, Valkey 8.1, 9.1), and the plan against it is empty; then the
server restarts from its own config file and the plan is empty again.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from dotenv import dotenv_values

from borgconf import redact
from borgconf.render import render_files
from cli_helpers import run

ROOT = Path(__file__).resolve().parents[2]
REPOSITORY_SPECS = sorted(p for d in ("specs", "examples") for p in (ROOT / d).glob("*.yaml"))

EXTRA_SPECS = {
    "commands_and_users": """\
        version: 1
        target:
          password: ${REDIS_PASSWORD}
          config_command: ${CFG}
        server:
          requirepass: ${REDIS_PASSWORD}
          maxmemory: 64mb
          maxmemory-policy: allkeys-lru
          notify-keyspace-events: KEA
        commands:
          FLUSHALL: disabled
          FLUSHDB: disabled
          KEYS: disabled
          DEBUG: disabled
          CONFIG: ${CFG}
        users:
          app: {password: "${APP_PW}", keys: ["app:*", "shared:{tenant}:*"], channels: ["events:*"], commands: "+@read +@write -@dangerous"}
          reader: {password: "${READER_PW}", keys: ["*"], commands: "+@read -keys"}
          off: {enabled: false, commands: "+ping"}
        services:
          app: {db: 0, user: app}
        """,
    # issue 10: renames and ACL rules of every form validate accepts (checked offline by spec/acl.py)
    "renames_and_acl_rules": """\
        version: 1
        target:
          password: ${REDIS_PASSWORD}
        server:
          requirepass: ${REDIS_PASSWORD}
        commands:
          FLUSHALL: disabled
          flushdb: Disabled
          KEYS: ${KEYS_NEW_NAME}
          DEBUG: ${DEBUG_NEW_NAME}
          SHUTDOWN: enabled
          MONITOR: disabled
        users:
          rw: {password: "${RW_PW}", keys: ["%R~cache:*", "%W~jobs:*", "%RW~app:*", "~{tenant}:*"], channels: ["news.*", "alerts"], commands: "+@read +@write -@dangerous +config|get -flushall"}
          ops: {password: "${OPS_PW}", keys: ["*"], channels: ["*"], commands: "-@all +@connection +info +client|list +client|setname +acl|whoami +keys"}
          jobs: {password: "${JOBS_PW}", keys: ["%RW~bull:*"], commands: "nocommands +@list +@stream +@hash -hgetall +@pubsub -publish"}
          probe: {password: "${PROBE_PW}", keys: [], commands: "+ping +GET"}
          legacy: {password: "${LEGACY_PW}", keys: ["%r~a:*", "%w~a:*", "%R~b:*"], commands: "-@all +get +select|0 +config -config|set"}
        services:
          app: {db: 0, user: rw}
        """,
    "quoting": """\
        version: 1
        target:
          password: ${REDIS_PASSWORD}
        server:
          requirepass: ${REDIS_PASSWORD}
          save: ["900 1", "60 10000"]
          client-output-buffer-limit: {pubsub: 32mb 8mb 60, replica: 256mb 64mb 60}
        users:
          odd: {password: "p#s s\\"w'rd \\\\ x", keys: ["q'uote", "h#sh", "{t}:*"], commands: "+get +set"}
        """,
}


@pytest.fixture(autouse=True)
def _clean(monkeypatch):
    for name in ("REDIS_PASSWORD", "CFG", "KEYS_NEW_NAME", "DEBUG_NEW_NAME", "BORGCONF_URL", "BORGCONF_PASSWORD", "REDISCLI_AUTH", "REDIS_CONFIG_COMMAND"):
        monkeypatch.delenv(name, raising=False)
    redact.clear()
    yield
    redact.clear()


def _corpus() -> list:
    cases = [pytest.param(p, id=str(p.relative_to(ROOT))) for p in REPOSITORY_SPECS]
    cases += [pytest.param(name, id=name) for name in EXTRA_SPECS]
    return cases


def _spec_path(case, tmp_path: Path) -> Path:
    if isinstance(case, Path):
        return case
    path = tmp_path / f"{case}.yaml"
    path.write_text(textwrap.dedent(EXTRA_SPECS[case]))
    return path


def _empty_plan(capsys, spec: Path, env_file: Path, server, target: str) -> None:
    # a fleet spec (targets:) is checked through its first target, pointed at this server
    rc, out, err = run(capsys, "plan", "--format", "json", "--detailed-exitcode", "--no-files", spec, "--env-file", env_file, "--url", server.url, "--target", target)
    assert rc == 0, out + err
    target = json.loads(out)["targets"][0]
    assert target["changes"] == [], target


def test_the_corpus_is_not_empty():
    assert len(REPOSITORY_SPECS) >= 3, REPOSITORY_SPECS


@pytest.mark.parametrize("case", _corpus())
def test_every_rendered_redis_conf_starts_and_plans_empty(case, redis_factory, tmp_path, capsys):
    spec = _spec_path(case, tmp_path)
    out_dir = tmp_path / "out"
    result = render_files(str(spec), out_dir=out_dir, environ={})
    conf = result.files[0].path
    env_file = result.files[1].path
    assert conf.parent == out_dir and conf.is_file()
    env = {k: v for k, v in dotenv_values(env_file).items() if v is not None}
    # the fixture puts its own port, bind, dir, logfile, pidfile after the file; the rest is the file's
    server = redis_factory(config_file=conf, password=env.get("REDIS_PASSWORD"))
    assert server.running
    target = result.spec.targets[0].name
    _empty_plan(capsys, spec, env_file, server, target)
    server.restart()
    _empty_plan(capsys, spec, env_file, server, target)
