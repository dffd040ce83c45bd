"""lock.parse_client_list: the contenders of a CLIENT LIST reply. Only lines with a
``name=borgconf-apply-...`` field are split into fields (a busy server lists
thousands of clients, and apply reads the list three times per target); the
result must be what splitting every line gives."""

from __future__ import annotations

import random
import re

from borgconf.lock import PREFIX, Contender, lists, parse_client_list

# lines as Redis 7.0, Redis 8.2 and Valkey write them (fields vary by version)
LINES = [
    "id=3 addr=127.0.0.1:51234 laddr=127.0.0.1:6379 fd=8 name= age=12 idle=0 flags=N db=0 sub=0 psub=0 ssub=0 multi=-1 qbuf=26 qbuf-free=20448 argv-mem=10 multi-mem=0 rbs=1024 rbp=0 obl=0 oll=0 omem=0 tot-mem=22426 events=r cmd=client|list user=default redir=-1 resp=2",
    f"id=7 addr=127.0.0.1:51240 laddr=127.0.0.1:6379 fd=9 name={PREFIX}0123abcd age=3 idle=0 flags=N db=0 cmd=client|list user=default lib-name=redis-py lib-ver=8.2.0",
    f"id=5 addr=[::1]:40000 laddr=[::1]:6379 fd=10 name={PREFIX}ffff age=40 idle=1 flags=N db=0 cmd=client|setname user=ops",
    f"id=9 addr=127.0.0.1:51250 fd=11 name=app age=1 idle=0 flags=N db=2 cmd=get user=app lib-name={PREFIX}fake lib-ver=1",
    f"id=11 addr=127.0.0.1:51251 fd=12 name=not-{PREFIX}x age=1 idle=0 flags=N db=0 cmd=get user=app",
    f"id=x12 addr=127.0.0.1:51252 fd=13 name={PREFIX}bad-id age=1 idle=0 flags=N db=0 cmd=get user=app",
    f"id=13 addr=127.0.0.1:51253 fd=14 name={PREFIX}no-age idle=0 flags=N db=0 cmd=get user=app",
    "",
]


_FIELD = re.compile(r"(?:^| )([^ =]+)=([^ ]*)")


def _every_line(reply: str, prefix: str = PREFIX) -> list[Contender]:
    """The reference: every line's fields, found by a pattern (not the split that
    borgconf uses, and not redis-py's parser, which older redis-py versions the
    project allows break on an empty line)."""
    out = []
    for line in reply.splitlines():
        fields = dict(_FIELD.findall(line))
        name, cid, age = fields.get("name", ""), fields.get("id", ""), fields.get("age", "")
        if name.startswith(prefix) and cid.isdigit():
            out.append(Contender(int(cid), name, fields.get("addr", "?"), int(age) if age.isdigit() else 0))
    return sorted(out, key=lambda c: c.id)


def test_contenders_are_the_named_lines_by_id():
    reply = "\n".join(LINES)
    assert parse_client_list(reply) == [
        Contender(5, f"{PREFIX}ffff", "[::1]:40000", 40),
        Contender(7, f"{PREFIX}0123abcd", "127.0.0.1:51240", 3),
        Contender(13, f"{PREFIX}no-age", "127.0.0.1:51253", 0),
    ]
    assert parse_client_list(reply.encode()) == parse_client_list(reply)  # bytes as text
    assert parse_client_list(None) == [] and parse_client_list("") == []
    assert parse_client_list(reply, prefix="app") == [Contender(9, "app", "127.0.0.1:51250", 1)]


def test_the_same_as_splitting_every_line_on_shuffled_replies():
    rng = random.Random(12)
    for _ in range(300):
        lines = rng.sample(LINES, rng.randint(0, len(LINES)))
        reply = ("\r\n" if rng.random() < 0.5 else "\n").join(lines)
        for prefix in (PREFIX, "app", "not-", ""):
            assert parse_client_list(reply, prefix) == _every_line(reply, prefix)


def test_lists_says_what_the_parse_says_of_one_connection():
    """lock.lists (apply's check that the lock connection still holds its name)
    against the reference, for every line of LINES asked about by every id and
    name of LINES, one line at a time (the reply to CLIENT LIST ID) and all of them."""
    fields = [dict(_FIELD.findall(line)) for line in LINES]
    ids = [int(f["id"]) for f in fields if f.get("id", "").isdigit()]
    names = [f.get("name", "") for f in fields] + [f.get("lib-name", "") for f in fields] + [PREFIX, f"{PREFIX}0123", "x"]
    checked = 0
    for reply in [*LINES, "\n".join(LINES), "\r\n".join(LINES), ""]:
        seen = {(c.id, c.name) for c in _every_line(reply, prefix="")}
        for cid in ids + [1, 70]:
            for name in names:
                if not name:
                    continue
                assert lists(reply, cid, name) == ((cid, name) in seen), (reply, cid, name)
                assert lists(reply.encode(), cid, name) == lists(reply, cid, name)
                checked += (cid, name) in seen
    assert checked > 10  # both answers were asked for
    assert not lists(None, 7, f"{PREFIX}0123abcd")


def test_the_lock_is_lost_on_a_reply_no_server_gives_its_own_connection(monkeypatch):
    """ApplyLock._checked on CLIENT LIST ID replies a live server cannot give about the
    connection that asks (another id's line; no line at all). round_trip is replaced
    by canned replies; what a real server gives (renamed, cleared, the name as
    lib-name) is tests/integration/test_apply_lock.py's
    test_the_lock_is_lost_once_its_connection_no_longer_carries_its_name."""
    import types

    import pytest

    from borgconf import lock as L
    from borgconf.errors import LockError

    client = types.SimpleNamespace(connection_pool=types.SimpleNamespace(connection_kwargs={"host": "h", "port": 1}))
    lk = L.ApplyLock(client)
    lk.id, lk._conn, lk._lc = 7, object(), object()
    mine = f"id=7 addr=127.0.0.1:1 fd=9 name={lk.name} age=3 idle=0 flags=N db=0 cmd=client|list user=default lib-name=x"
    for reply, held in [(mine, True), (mine + "\n", True), (mine.replace("id=7", "id=8"), False), ("", False)]:
        monkeypatch.setattr(L, "round_trip", lambda *a, r=reply: [r, "PONG"])
        lk.held = True
        if held:
            assert lk.call("PING") == "PONG"
        else:
            with pytest.raises(LockError, match="was lost"):
                lk.call("PING")
            assert not lk.held
