"""The demo's .env connects to the demo's server (issue 11, point 5).

The URLs in the rendered .env take the spec's target URL's host and port when
the spec gives no render.host / render.port (examples/demo.yaml names its
server's port through ${DEMO_REDIS_PORT}): rendered against a throwaway server
of each supported kind, every <NAME>_REDIS_URL answers PING with the password
it carries, on its service's database. examples/demo.sh itself is run once,
end to end: it connects with the .env it rendered.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import redis
from dotenv import dotenv_values

_TESTS = str(Path(__file__).resolve().parents[1])
if _TESTS not in sys.path:
    sys.path.insert(0, _TESTS)

from cli_helpers import run  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "examples" / "demo.yaml"
PASSWORD = "Dm7qZr4xKv9tWp"
SERVICES = {"N8N_REDIS_URL": 0, "CHATWOOT_REDIS_URL": 1}  # examples/demo.yaml's services and databases


def test_the_rendered_demo_env_connects_to_the_demo_server(redis_factory, tmp_path, capsys, monkeypatch):
    server = redis_factory(password=PASSWORD)
    spec = tmp_path / "demo.yaml"
    shutil.copy(DEMO, spec)
    monkeypatch.setenv("DEMO_REDIS_PORT", str(server.port))
    monkeypatch.setenv("REDIS_PASSWORD", PASSWORD)
    monkeypatch.delenv("BORGCONF_URL", raising=False)

    rc, out, err = run(capsys, "render", spec)
    assert rc == 0, out + err
    assert PASSWORD not in out + err
    env = dotenv_values(tmp_path / ".env")
    assert {k for k in env if k.endswith("_REDIS_URL")} == set(SERVICES)
    for name, db in SERVICES.items():
        url = env[name]
        parts = urlsplit(url)
        assert (parts.hostname, parts.port, parts.path) == ("127.0.0.1", server.port, f"/{db}"), url
        client = redis.Redis.from_url(url, socket_connect_timeout=5, decode_responses=True)
        try:
            assert client.ping()  # the server has requirepass: the URL's password is the right one
            assert int(client.client_info()["db"]) == db  # the server's own word for the database
            client.set(f"demo-env-{name}", "1")
        finally:
            client.close()
        # and the key landed in that database, seen by another client
        direct = redis.Redis(host="127.0.0.1", port=server.port, password=PASSWORD, db=db)
        try:
            assert direct.exists(f"demo-env-{name}") == 1
        finally:
            direct.close()


def test_demo_sh_connects_with_the_env_it_rendered(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BORGCONF_", "DEMO_", "REDIS"))}
    env["REDIS_PASSWORD"] = PASSWORD
    env["TMPDIR"] = str(tmp_path)
    before = sorted(p.relative_to(ROOT) for p in (ROOT / "examples").rglob("*"))
    proc = subprocess.run(["bash", str(ROOT / "examples" / "demo.sh")], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    # the demo's plan and apply write the spec's rendered files (they hold the password)
    # next to its copy in the temp dir, never into the checkout
    assert sorted(p.relative_to(ROOT) for p in (ROOT / "examples").rglob("*")) == before
    assert "N8N_REDIS_URL: PING ok on database 0" in proc.stdout
    assert "CHATWOOT_REDIS_URL: PING ok on database 1" in proc.stdout
    assert PASSWORD not in proc.stdout + proc.stderr
