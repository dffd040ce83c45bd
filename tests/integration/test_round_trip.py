"""wire.round_trip: borgconf's pipelines (the read, and the apply lock's round
trips) without redis-py's Pipeline object, on the four real servers: replies in
order with an error reply in its place, the connection back in the pool (or
kept, when it is the lock's), and closed after any other error, so no reply is
left on it for the next command (issue 12: five round trips per target)."""

from __future__ import annotations

import pytest
import redis.exceptions as rx

from borgconf.errors import BorgconfError
from borgconf.live import connect, first_call
from borgconf.wire import round_trip
from borgconf.spec.schema import Target


def _client(server, **target):
    return connect(Target(name="t", url=server.url, **target))


def test_replies_come_in_order_with_an_error_in_its_place(redis_server):
    client = _client(redis_server)
    got = round_trip(client, [("CONFIG", "GET", "h[z]"), ("CONFIG", "SET", "no-such-parameter", "1"), ("ECHO", "after"), ("CLIENT", "ID")])
    assert got[0] == ["hz", "10"]
    assert isinstance(got[1], rx.ResponseError) and "no-such-parameter" in str(got[1])
    assert got[2] == "after"  # the error did not stop or shift the replies after it
    pool = client.connection_pool
    assert len(pool._in_use_connections) == 0 and len(pool._available_connections) == 1  # back in the pool
    assert round_trip(client, [("CLIENT", "ID")]) == [got[3]]  # and reused: the same connection


def test_a_broken_connection_is_closed_and_the_error_raised(redis_server):
    client = _client(redis_server)
    pool = client.connection_pool
    conn = pool.get_connection()  # as the apply lock holds its own
    try:
        (first,) = round_trip(client, [("CLIENT", "ID")], conn)
        redis_server.client().execute_command("CLIENT", "KILL", "ID", first)
        with pytest.raises(rx.ConnectionError):
            round_trip(client, [("PING",), ("PING",)], conn)
        assert conn._sock is None  # closed, not left half read (redis-py's failed read closes it; so does round_trip)
    finally:
        pool.release(conn)
    # from the pool, a dead idle connection is replaced before anything is sent (redis-py)
    (again,) = round_trip(client, [("CLIENT", "ID")])
    redis_server.client().execute_command("CLIENT", "KILL", "ID", again)
    (second,) = round_trip(client, [("CLIENT", "ID")])
    assert second not in (first, again)


def test_a_reply_that_cannot_be_decoded_closes_the_connection(redis_server):
    """A value that is not UTF-8 (a CONFIG value or a password set by another tool
    can be any bytes): decoding it raises, with the replies after it still on the
    socket. They must not become the answers to the next round trip. (redis-py's
    read closes the connection on a failed read; round_trip closes it on any
    error, also one raised between two reads, as a Ctrl-C in plan can be.)"""
    redis_server.client().set("k", b"\xff\xfe")
    client = _client(redis_server)
    conn = client.connection_pool.get_connection()
    try:
        with pytest.raises(BorgconfError, match="not UTF-8 text") as info:
            round_trip(client, [("GET", "k"), ("ECHO", "left behind")], conn)
        assert "xff" not in str(info.value) and "position" not in str(info.value)  # never the bytes
        assert conn._sock is None
        assert round_trip(client, [("ECHO", "next")], conn) == ["next"]
    finally:
        client.connection_pool.release(conn)


def test_an_error_between_two_replies_closes_the_connection(redis_server):
    """Raised after a reply was read and before the next (a response callback, a
    Ctrl-C in plan): redis-py's read did not fail, so round_trip itself closes the
    connection, else the next round trip would get the replies left behind."""
    client = _client(redis_server)

    def boom(reply, **options):
        raise ValueError("a callback that fails")

    client.set_response_callback("ECHO", boom)
    conn = client.connection_pool.get_connection()
    try:
        with pytest.raises(ValueError, match="a callback that fails"):
            round_trip(client, [("ECHO", "a"), ("PING",)], conn)
        assert conn._sock is None
        (mine,) = round_trip(client, [("CLIENT", "ID")], conn)
        assert type(mine) is int  # its own reply, not the PING's (True) left behind
    finally:
        client.connection_pool.release(conn)


def test_the_apply_locks_client_reads_over_the_lock_connection(redis_server):
    """lock.client is bound to the connection that holds the lock: apply's read under
    the lock (read_state over lock.client, when the lock had to wait and its prefetch
    does not count) goes over it, and fails once that connection is gone, as the
    lock's own commands do; never over another connection of the pool."""
    from borgconf.errors import BorgconfError
    from borgconf.live import read_state
    from borgconf.lock import ApplyLock

    parent = _client(redis_server)
    lock = ApplyLock(parent, timeout=1)
    assert lock.acquire()
    try:
        assert round_trip(lock.client, [("CLIENT", "ID")]) == [lock.id]
        held_client = lock.client
        t = Target(name="t", url=redis_server.url)
        read_state(lock.client, t, config=("hz",))  # over the lock connection, while it lives
        redis_server.client().execute_command("CLIENT", "KILL", "ID", lock.id)
        with pytest.raises(BorgconfError, match="Connection closed by server|was lost"):
            read_state(lock.client, t, config=("hz",))  # not read over a new connection
    finally:
        lock.release()
    with pytest.raises(BorgconfError, match="after the lock was let go"):  # nor once it is let go
        round_trip(held_client, [("CLIENT", "ID")])


def test_over_a_given_connection_it_stays_out_of_the_pool(redis_server):
    client = _client(redis_server)
    pool = client.connection_pool
    conn = pool.get_connection()
    try:
        ids = round_trip(client, [("CLIENT", "ID"), ("CLIENT", "ID")], conn)
        assert ids[0] == ids[1]
        assert conn in pool._in_use_connections and conn not in pool._available_connections
    finally:
        pool.release(conn)


def test_noauth_closes_the_connection_and_first_call_tries_the_password(redis_factory, monkeypatch):
    server = redis_factory(password="right-pw")
    monkeypatch.delenv("BORGCONF_PASSWORD", raising=False)
    monkeypatch.delenv("REDISCLI_AUTH", raising=False)
    client = _client(server)
    with pytest.raises(rx.AuthenticationError):  # NOAUTH for each of the three: none may stay on the socket
        round_trip(client, [("CONFIG", "GET", "h[z]"), ("CLIENT", "ID"), ("PING",)])
    # (redis-py closes the connection on NOAUTH itself; round_trip would too)
    assert all(c._sock is None for c in client.connection_pool._available_connections)
    monkeypatch.setenv("BORGCONF_PASSWORD", "right-pw")
    client = _client(server)  # wrong first, then the right one: first_call goes on to it
    client.borgconf_passwords = [("target.password", "wrong-pw"), ("BORGCONF_PASSWORD", "right-pw")]
    client.connection_pool.connection_kwargs["password"] = "wrong-pw"
    assert first_call(client, server.url, lambda: round_trip(client, [("PING",), ("ECHO", "x")])) == [True, "x"]
    assert client.borgconf_auth == "BORGCONF_PASSWORD"


def test_a_client_without_a_pool_runs_its_own_pipeline_with_errors_in_place():
    """A test double (tests/fakeredis_client.py) has no connection pool: round_trip
    runs its pipeline, and an error reply stays in its place there too."""
    from fakeredis_client import FakeRedis

    fake = FakeRedis({"hz": "11"})
    got = round_trip(fake, [("CONFIG", "GET", "hz"), ("CONFIG", "SET", "no-such-parameter", "1"), ("CONFIG", "GET", "hz")])
    assert got[0] == got[2] == ["hz", "11"]
    assert isinstance(got[1], rx.ResponseError) and "no-such-parameter" in str(got[1])


def test_a_password_set_as_raw_bytes_is_a_clear_error_without_its_bytes(redis_server, tmp_path, capsys):
    """masterauth (read by every plan, and by import) set by another tool to bytes that
    are not UTF-8: plan and import say what is wrong and quote none of them (the
    decoder's message would)."""
    from cli_helpers import run, write_spec

    redis_server.client().config_set("masterauth", b"\xffs3\xfecret")
    spec = write_spec(tmp_path / "s.yaml", redis_server.url, "server:\n  hz: 12\n")
    for args in (("plan", str(spec)), ("import", "--url", redis_server.url, "-o", str(tmp_path / "imported.yaml"))):
        rc, out, err = run(capsys, *args)
        assert rc == 1, out + err
        assert "not UTF-8 text" in err and "internal error" not in err, err
        assert "xff" not in err and "xfe" not in err and "s3" not in err
