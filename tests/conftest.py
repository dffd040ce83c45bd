"""Shared pytest fixtures: real server processes (Redis 7.0 and 8.2, Valkey 8.1 and 9.1).

Fixtures
--------
``redis_version``  the server key: "redis-7.0", "redis-8.2", "valkey-8.1" or
                   "valkey-9.1"; every test using it (directly or through
                   the fixtures below) runs once per server, with that key as
                   its id.  A missing binary skips the test locally and fails
                   it when ``CI`` is set.  ``server_key`` is the same value.
``redis_binary``   path of the redis-server binary for the current version
                   (for tests that drive :class:`RedisServer` themselves).
``redis_server``   a started :class:`RedisServer` for the current version in
                   ``tmp_path`` (real config file, no password), stopped after
                   the test.
``redis_factory``  ``make(config_lines=(), *, with_config_file=True,
                   password=None, version=None, config_file=None)`` -> started
                   server (``config_file``: start from that file, e.g. a
                   rendered redis.conf; see RedisServer); version (a server
                   key) None means the current ``redis_version`` (the test is
                   parametrized over all servers even if it always passes
                   version=).  All servers are stopped after the test.

Every server is a process of its own on a free port in the test's own
``tmp_path``, so the tests are safe under pytest-xdist (``-n``).

Tests using any of them get the ``server`` marker automatically, so
``pytest -m "not server"`` runs only the tests that need no Redis.
"""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

import pytest

_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:  # so `import redis_servers` works in any import mode
    sys.path.insert(0, _HERE)

from redis_servers import HOW_TO_GET, SUPPORTED_SERVERS, RedisServer, find_binaries  # noqa: E402

SERVER_FIXTURES = frozenset({"redis_version", "server_key", "redis_binary", "redis_server", "redis_factory"})

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
        flavour, _, line = version.partition("-")
        reason = f"no {flavour}-server {line}.x binary found: {HOW_TO_GET.get(version, '?')}"
        if _in_ci():
            pytest.fail(f"{reason} [CI is set: all of {', '.join(SUPPORTED_SERVERS)} are required]", pytrace=False)
        pytest.skip(reason)
    return binary


@pytest.fixture(params=list(SUPPORTED_SERVERS), ids=list(SUPPORTED_SERVERS))
def redis_version(request) -> str:
    version = request.param
    _binary_for(version)
    return version


@pytest.fixture
def server_key(redis_version) -> str:
    return redis_version


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
        version = {"7.0": "redis-7.0", "8.2": "redis-8.2"}.get(version, version)  # old spelling
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


@pytest.fixture
def no_network(monkeypatch):
    """Any attempt to connect anywhere fails the test."""
    attempts: list[object] = []

    def refuse(*args, **kwargs):
        attempts.append(args)
        raise AssertionError(f"a connection was attempted: {args!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    yield attempts
    assert not attempts, f"connections attempted: {attempts}"
