"""Tests of the redis-server fixtures themselves (tests/redis_servers.py)."""

from __future__ import annotations

import os
import socket

import pytest
import redis

from redis_servers import RedisServer, find_binaries


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_find_binaries_versions_match_keys():
    found = find_binaries()
    if os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no"):
        assert set(found) >= {"7.0", "8.2"}, f"CI needs both Redis 7.0 and 8.2, found {sorted(found)}"
    for key, path in found.items():
        assert RedisServer(path, "/nonexistent").version.startswith(key + ".")


def test_server_answers_with_right_version(redis_server, redis_version):
    c = redis_server.client()
    assert c.ping() is True
    info = c.info("server")
    assert info["redis_version"].startswith(redis_version + ".")
    assert info["redis_version"] == redis_server.version
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
    other = "8.2" if redis_version == "7.0" else "7.0"
    a = redis_factory()
    b = redis_factory(version=other)
    assert a.port != b.port
    assert a.client().info("server")["redis_version"].startswith(redis_version + ".")
    assert b.client().info("server")["redis_version"].startswith(other + ".")


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
