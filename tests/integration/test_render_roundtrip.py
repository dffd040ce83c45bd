"""render -> redis-server -> plan on real Redis 7.0 and 8.2.

A redis.conf rendered from a spec, started with redis-server, is in sync with
that spec (``plan --detailed-exitcode`` exits 0): for specs/borgstack.yaml,
every example spec, and specs that use the awkward value types. The .env it
writes reads back through python-dotenv exactly, and every URL in it connects
with redis-py's ``from_url`` to a server with that password, on the right
database.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import redis
from dotenv import dotenv_values
from redis.backoff import NoBackoff
from redis.retry import Retry

from borgconf import redact
from borgconf.render import render_files
from cli_helpers import run

ROOT = Path(__file__).resolve().parents[2]
SHIPPED_SPECS = [ROOT / "specs" / "borgstack.yaml", *sorted((ROOT / "examples").glob("*.yaml"))]
CLEAN_ENV = ("REDIS_PASSWORD", "N8N_REDIS_PASSWORD", "REDIS_CONFIG_COMMAND", "BORGCONF_URL", "BORGCONF_PASSWORD", "REDISCLI_AUTH", "TEST_PORT", "APP_PASSWORD")


@pytest.fixture(autouse=True)
def _clean(monkeypatch):
    for name in CLEAN_ENV:
        monkeypatch.delenv(name, raising=False)
    redact.clear()
    yield
    redact.clear()


def env_of(path: Path) -> dict[str, str]:
    return {k: v for k, v in dotenv_values(path).items() if v is not None}


def secrets_in(env: dict[str, str]) -> list[str]:
    return [v for k, v in env.items() if v and ("PASSWORD" in k or k.endswith("_COMMAND") or k.endswith("_URL"))]


def render_start_plan(capsys, redis_factory, spec: Path, out: Path, *extra_plan_args: str):
    rc, out1, err1 = run(capsys, "render", spec, "--out-dir", out)
    assert rc == 0, err1
    env = env_of(out / ".env")
    server = redis_factory(config_file=out / "redis.conf", password=env.get("REDIS_PASSWORD"))
    # rendered under --out-dir, not at the spec's render paths: the plan is the server's
    rc, out2, err2 = run(capsys, "plan", "--detailed-exitcode", "--no-files", spec, "--env-file", out / ".env", "--url", server.url, *extra_plan_args)
    for text in (out1, err1, out2, err2):
        for secret in secrets_in(env):
            assert secret not in text
    return rc, out2 + err2, server, env


@pytest.mark.parametrize("spec", SHIPPED_SPECS, ids=lambda p: str(p.relative_to(ROOT)))
def test_shipped_specs_render_start_and_plan_empty(spec, redis_factory, tmp_path, capsys):
    rc, output, server, env = render_start_plan(capsys, redis_factory, spec, tmp_path / "out")
    assert rc == 0, output
    assert "No changes" in output
    assert server.client().info("server")["config_file"] == str(tmp_path / "out" / "redis.conf")


def test_borgstack_disables_flushall_and_flushdb(redis_factory, tmp_path, capsys):
    rc, output, server, env = render_start_plan(capsys, redis_factory, ROOT / "specs" / "borgstack.yaml", tmp_path / "out")
    assert rc == 0, output
    c = server.client()
    for cmd in ("FLUSHALL", "FLUSHDB"):
        with pytest.raises(redis.ResponseError, match="unknown command"):
            c.execute_command(cmd)
    assert c.config_get("appendonly")["appendonly"] == "yes"
    assert c.config_get("save")["save"] == "900 1 300 10 60 10000"


AWKWARD = {
    "spellings": """
        maxmemory: 2GB
        maxmemory-policy: ALLKEYS-LRU
        appendonly: 'true'
        save: {900: 1, 300: 10}
        notify-keyspace-events: KEA
        client-output-buffer-limit: "pubsub 64mb 16mb 90 replica 512mb 128mb 120"
        maxmemory-clients: 10%
        latency-tracking-info-percentiles: "50.0 99.0"
        oom-score-adj: relative
        oom-score-adj-values: "0 200 800"
        shutdown-on-sigterm: "now nosave"
        hz: 20
        slave-read-only: no
        list-max-ziplist-size: -3
        stream-node-max-bytes: 4k
        databases: 32
        timeout: 300
        proc-title-template: "{title} {listen-addr} {server-mode} #x"
        masterauth: 'a "quoted" # secret \\ with $dollar'
        requirepass: ${REDIS_PASSWORD}
    """,
    "empties-and-percent": """
        maxmemory: 25%
        save: []
        appendonly: no
        notify-keyspace-events: ""
        slowlog-log-slower-than: -1
        ignore-warnings: ""
        requirepass: ${REDIS_PASSWORD}
    """,
}


@pytest.mark.parametrize("name", sorted(AWKWARD))
def test_awkward_values_round_trip(name, redis_factory, tmp_path, capsys):
    server_block = textwrap.indent(textwrap.dedent(AWKWARD[name]).strip(), "  ")
    spec = tmp_path / "spec.yaml"
    # the rendered redis.conf is for this machine (the test's server runs here): a
    # percentage resolves against its memory, given as render.total_memory (issue 11)
    import os

    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    spec.write_text(f"version: 1\ntarget:\n  password: ${{REDIS_PASSWORD}}\nserver:\n{server_block}\nrender:\n  total_memory: {memory}\n")
    rc, output, server, env = render_start_plan(capsys, redis_factory, spec, tmp_path / "out")
    assert rc == 0, output
    assert "No changes" in output


TRICKY_PASSWORDS = [
    "p@ss:w/rd%20#1 'x' \"y\" $ \\z",  # every character of the list
    "dollar$sign",
    "it's \"quoted\"",
    "back\\slash and space",
    "#starts-with-hash",
    "pct%41%-Zq4vN8",
]


@pytest.mark.parametrize("password", TRICKY_PASSWORDS)
def test_env_reads_back_and_every_url_connects_on_its_database(password, redis_factory, tmp_path, capsys, monkeypatch):
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        textwrap.dedent(
            """\
            version: 1
            target: {password: "${REDIS_PASSWORD}"}
            server:
              requirepass: ${REDIS_PASSWORD}
            users:
              app: {password: "${APP_PASSWORD}", keys: ["*"], commands: "+@all"}
            services:
              n8n:
                db: 0
                env:
                  QUEUE_BULL_REDIS_HOST: "{{ host }}"
                  QUEUE_BULL_REDIS_PORT: "{{ port }}"
                  QUEUE_BULL_REDIS_PASSWORD: "{{ password }}"
                  QUEUE_BULL_REDIS_DB: "{{ db }}"
              chatwoot: {db: 1, env: {REDIS_URL: "{{ url }}"}}
              directus: {db: 2}
              lowcoder: {db: 3}
              app: {db: 7, user: app}
            render:
              host: 127.0.0.1
              port: ${TEST_PORT}
            """
        )
    )
    # first render: the server's port is not known yet; its redis.conf does not depend on it
    render_files(str(spec), environ={"REDIS_PASSWORD": password, "APP_PASSWORD": password[::-1], "TEST_PORT": "1"})
    conf_before = (tmp_path / "redis.conf").read_text()
    server = redis_factory(config_file=tmp_path / "redis.conf", password=password)
    assert server.client().config_get("requirepass")["requirepass"] == password

    # second render: the passwords come back from .env, the URLs get the real port
    monkeypatch.setenv("TEST_PORT", str(server.port))
    rc, out, err = run(capsys, "render", spec)
    assert rc == 0, err
    for text in (out, err):
        assert password not in text and password[::-1] not in text
    assert (tmp_path / "redis.conf").read_text() == conf_before

    env = env_of(tmp_path / ".env")
    assert env["REDIS_PASSWORD"] == password and env["APP_PASSWORD"] == password[::-1]
    assert env["QUEUE_BULL_REDIS_PASSWORD"] == password

    urls = {"N8N_REDIS_URL": 0, "CHATWOOT_REDIS_URL": 1, "REDIS_URL": 1, "DIRECTUS_REDIS_URL": 2, "LOWCODER_REDIS_URL": 3, "APP_REDIS_URL": 7}
    for var, db in urls.items():
        client = redis.Redis.from_url(env[var], decode_responses=True, retry=Retry(NoBackoff(), 0))
        client.set(f"written-through-{var}", 1)
        info = client.client_info()
        assert info["db"] == str(db) or info["db"] == db, var
        assert info["user"] == ("app" if var == "APP_REDIS_URL" else "default"), var
        client.close()
    bull = redis.Redis(
        host=env["QUEUE_BULL_REDIS_HOST"], port=int(env["QUEUE_BULL_REDIS_PORT"]),
        password=env["QUEUE_BULL_REDIS_PASSWORD"], db=int(env["QUEUE_BULL_REDIS_DB"]),
    )
    assert bull.ping() and bull.exists("written-through-N8N_REDIS_URL") == 1
    keyspace = server.client().info("keyspace")
    assert {int(k[2:]): v["keys"] for k, v in keyspace.items()} == {0: 1, 1: 2, 2: 1, 3: 1, 7: 1}
