"""live._packed: the bytes a round trip sends are exactly what redis-py's own
pack_commands gives, whichever way they are made (one hiredis call per command
for text and whole numbers; redis-py's serializer for anything else)."""

from __future__ import annotations

import random

import pytest
import redis
import redis.exceptions as rx

from borgconf import live


def _conn(**kw):
    return redis.Connection(host="127.0.0.1", port=1, decode_responses=True, **kw)  # never connected: packing needs no socket


def _word(rng: random.Random) -> str:
    alphabet = "abcXYZ019 -_:*?[]\\\"'\r\n\t\x00é€😀\u2028"
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))


def _arg(rng: random.Random):
    kind = rng.randrange(5)
    if kind == 0:
        return rng.randint(-(10**20), 10**20)
    if kind == 1:
        return rng.choice([0, -1, 1, 2**63, -(2**63)])
    return _word(rng)


def test_the_same_bytes_as_redis_py_for_text_and_whole_numbers():
    rng = random.Random(12)
    conn = _conn()
    fast = 0
    for _ in range(2000):
        commands = [
            (rng.choice(["CONFIG", "CLIENT", "INFO", "ACL", "MYCONFIG"]), *(_arg(rng) for _ in range(rng.randint(0, 9))))
            for _ in range(rng.randint(1, 6))
        ]
        want = b"".join(conn.pack_commands(commands))
        assert b"".join(live._packed(conn, commands)) == want, commands
        fast += len(live._packed(conn, commands)) == 1
    assert fast > 1000  # the fast path was taken, not only redis-py's


def test_a_command_of_apply_is_packed_as_redis_py_does():
    conn = _conn()
    commands = [
        ("CLIENT", "SETNAME", "borgconf-apply-0123"),
        ("CLIENT", "LIST", "ID", 42),
        ("CONFIG", "SET", "maxmemory", "104857600", "hz", "15", "save", ""),
        ("CONFIG", "GET", "maxmemory", "dynamic-h[z]"),
        ("INFO", "server", "memory", "keyspace", "replication"),
    ]
    assert live._packed(conn, commands) == [b"".join(conn.pack_commands(commands))]


@pytest.mark.parametrize(
    "commands",
    [
        [("SET", "k", b"\xff\xfe")],  # bytes
        [("SET", "k", 1.5)],  # a float: redis-py writes its repr
        [("SET", "k", memoryview(b"abc"))],
        [("CLIENT LIST",)],  # a command name with a space: redis-py splits it
        [("GET", "k"), ("SET", "k", 2.0)],  # one command of several
    ],
)
def test_anything_else_is_packed_by_redis_py(commands):
    conn = _conn()
    assert live._packed(conn, commands) == conn.pack_commands(commands)


@pytest.mark.parametrize("value", [True, None, object()])
def test_what_redis_py_refuses_it_still_refuses(value):
    conn = _conn()
    with pytest.raises(rx.DataError):
        conn.pack_commands([("SET", "k", value)])
    with pytest.raises(rx.DataError):
        live._packed(conn, [("SET", "k", value)])


def test_text_that_is_not_utf8_raises_as_redis_py_does():
    conn = _conn()
    with pytest.raises(UnicodeEncodeError):
        conn.pack_commands([("SET", "k", "\udcff")])
    with pytest.raises(UnicodeEncodeError):
        live._packed(conn, [("SET", "k", "\udcff")])


def test_another_encoding_is_left_to_redis_py():
    conn = _conn(encoding="latin-1")
    commands = [("SET", "k", "é")]
    assert live._packed(conn, commands) == conn.pack_commands(commands)
    assert b"".join(live._packed(conn, commands)).endswith(b"$1\r\n\xe9\r\n")


def test_without_hiredis_redis_py_packs(monkeypatch):
    monkeypatch.setattr(live, "_hiredis_pack", lambda: None)
    conn = _conn()
    commands = [("CONFIG", "GET", "hz")]
    assert live._packed(conn, commands) == conn.pack_commands(commands)


def test_one_try_is_copied_as_a_deep_copy_would_be():
    import copy

    from redis.backoff import NoBackoff
    from redis.retry import Retry

    one = live._one_try()()
    assert one == Retry(NoBackoff(), 0) and one.get_retries() == 0
    twin = copy.deepcopy(one)
    assert twin == one and twin is not one
    twin.update_supported_errors([ValueError])
    twin.update_retries(3)
    assert one == Retry(NoBackoff(), 0) and one.get_retries() == 0  # the original is untouched
    assert ValueError in twin._supported_errors and twin.get_retries() == 3


def test_a_client_of_connect_tries_once():
    from borgconf.spec.schema import Target

    client = live.connect(Target(name="t", url="redis://127.0.0.1:1"))
    retry = client.connection_pool.connection_kwargs["retry"]
    assert retry.get_retries() == 0
    conn = client.connection_pool.make_connection()
    assert conn.retry.get_retries() == 0 and conn.retry is not retry
