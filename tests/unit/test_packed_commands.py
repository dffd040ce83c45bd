"""wire._packed: the bytes a round trip sends are exactly what redis-py's own
pack_commands gives, whichever way they are made (one hiredis call per command
for text and whole numbers; redis-py's serializer for anything else)."""

from __future__ import annotations

import random

import pytest
import redis
import redis.exceptions as rx

from borgconf import wire


def _conn(**kw):
    return redis.Connection(host="127.0.0.1", port=1, decode_responses=True, **kw)  # never connected: packing needs no socket


def _word(rng: random.Random) -> str:
    alphabet = "abcXYZ019 -_:*?[]\\\"'\r\n\t\x0b\x0c\x00\x1c\x85é€😀\u2028\u3000"
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))


def _arg(rng: random.Random):
    kind = rng.randrange(5)
    if kind == 0:
        return rng.randint(-(10**30), 10**30)
    if kind == 1:
        return rng.choice([0, -1, 1, 2**63, -(2**63), 2**64 - 1, 2**64, -(2**64), 10**40])
    return _word(rng)


def _outcome(fn, commands):
    """The bytes packed, or the exception's type and text."""
    try:
        return b"".join(fn(commands))
    except Exception as exc:  # noqa: BLE001  (compared, not hidden)
        return (type(exc), str(exc))


def test_the_same_bytes_or_error_as_redis_py():
    rng = random.Random(12)
    conn = _conn()
    for _ in range(3000):
        first = rng.choice(["CONFIG", "CLIENT", "INFO", "ACL", "MYCONFIG", _word(rng), rng.randint(-5, 5)])
        commands = [(first, *(_arg(rng) for _ in range(rng.randint(0, 9)))) for _ in range(rng.randint(1, 6))]
        want = _outcome(conn.pack_commands, commands)
        assert _outcome(lambda c: wire._packed(conn, c), commands) == want, commands


def test_text_and_whole_numbers_take_the_fast_path(monkeypatch):
    """hiredis packs them: redis-py's pack_commands is not called (the point of _packed)."""
    conn = _conn()
    calls = []
    monkeypatch.setattr(conn, "pack_commands", lambda commands: calls.append(commands) or [b""])
    packed = wire._packed(conn, [("CLIENT", "LIST", "ID", 42), ("CONFIG", "SET", "maxmemory", "100mb", "save", "")])
    assert calls == [] and len(packed) == 1 and packed[0].startswith(b"*4\r\n$6\r\nCLIENT\r\n")


def test_a_command_of_apply_is_packed_as_redis_py_does():
    conn = _conn()
    commands = [
        ("CLIENT", "SETNAME", "borgconf-apply-0123"),
        ("CLIENT", "LIST", "ID", 42),
        ("CONFIG", "SET", "maxmemory", "104857600", "hz", "15", "save", ""),
        ("CONFIG", "GET", "maxmemory", "dynamic-h[z]"),
        ("INFO", "server", "memory", "keyspace", "replication"),
    ]
    assert wire._packed(conn, commands) == [b"".join(conn.pack_commands(commands))]


@pytest.mark.parametrize("first", ["CONFIG\tGET", "CONFIG\nGET", "CONFIG\rGET", "CONFIG\x0bGET", "CONFIG\x0cGET", "CONFIG GET", "", 5, " CONFIG"])
def test_a_first_argument_redis_py_splits_or_refuses(first):
    conn = _conn()
    commands = [(first, "maxmemory")]
    assert _outcome(lambda c: wire._packed(conn, c), commands) == _outcome(conn.pack_commands, commands)


class _Loud(str):
    def encode(self, *args, **kwargs):
        return b"other"


def test_a_str_subclass_is_packed_by_redis_py():
    conn = _conn()
    commands = [("SET", "k", _Loud("text"))]
    assert wire._packed(conn, commands) == conn.pack_commands(commands)


def test_a_number_too_long_for_repr_is_an_error_not_a_crash():
    """hiredis formats an int with repr() without checking for its failure: past Python's
    4300-digit limit that crashes the interpreter. In a child process, so that a crash
    fails this test instead of killing the test run."""
    import subprocess
    import sys

    code = (
        "import redis\nfrom borgconf import wire\n"
        "conn = redis.Connection(host='127.0.0.1', port=1, decode_responses=True)\n"
        "try:\n    wire._packed(conn, [('CLIENT', 'LIST', 'ID', 10**4301)])\n"
        "except ValueError as exc:\n    print('ValueError', 'digits' in str(exc))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stdout.strip()) == (0, "ValueError True"), (done.returncode, done.stderr[-500:])


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
    assert wire._packed(conn, commands) == conn.pack_commands(commands)


@pytest.mark.parametrize("value", [True, None, object()])
def test_what_redis_py_refuses_it_still_refuses(value):
    conn = _conn()
    with pytest.raises(rx.DataError):
        conn.pack_commands([("SET", "k", value)])
    with pytest.raises(rx.DataError):
        wire._packed(conn, [("SET", "k", value)])


def test_text_that_is_not_utf8_raises_as_redis_py_does():
    conn = _conn()
    with pytest.raises(UnicodeEncodeError):
        conn.pack_commands([("SET", "k", "\udcff")])
    with pytest.raises(UnicodeEncodeError):
        wire._packed(conn, [("SET", "k", "\udcff")])


@pytest.mark.parametrize("kw", [{"encoding": "latin-1"}, {"encoding_errors": "surrogateescape"}], ids=["latin-1", "surrogateescape"])
def test_another_encoding_is_left_to_redis_py(kw, monkeypatch):
    conn = _conn(**kw)
    commands = [("SET", "k", "é\udcff" if "encoding_errors" in kw else "é")]
    want = _outcome(conn.pack_commands, commands)
    assert _outcome(lambda c: wire._packed(conn, c), commands) == want
    calls = []
    monkeypatch.setattr(conn, "pack_commands", lambda commands: calls.append(commands) or [b""])
    wire._packed(conn, commands)
    assert calls == [commands]  # redis-py's serializer, with the connection's encoder


def test_without_hiredis_redis_py_packs(monkeypatch):
    monkeypatch.setattr(wire, "_hiredis_pack", lambda: None)
    conn = _conn()
    commands = [("CONFIG", "GET", "hz")]
    assert wire._packed(conn, commands) == conn.pack_commands(commands)
