"""The apply lock: a named connection, not a key (issue 9).

Two applies on one server must never interleave. The lock is held by a
*connection*: a contender names a connection of its own ``borgconf-apply-<hex>``
(CLIENT SETNAME) and reads ``CLIENT LIST TYPE normal``.

The rule (safety)
    A contender holds the lock when a ``CLIENT LIST`` taken *after* its
    ``CLIENT SETNAME`` shows no other connection whose name starts with
    :data:`PREFIX`.  Proof: if A and B both held, A's list came after A was
    named and did not show B, so B was named after A's list; likewise A was
    named after B's list: nameA < listA < nameB < listB < nameA, impossible.
    (A name stays until its connection closes or its owner clears it, and an
    owner clears it only while waiting, never while holding.)

    The plain "lowest client id among named connections holds it" rule is NOT
    safe on its own: an older connection (lower id) may name itself *after* a
    newer one concluded it was alone; both would then hold.  The id is used
    only for priority between waiters: a waiter that sees other named
    connections keeps its name if it has the lowest id among them (it goes
    next), and clears it otherwise, so waiters never starve each other.

Why it holds where the key lock did not
    * OOM (maxmemory reached, ``noeviction``): CLIENT SETNAME / CLIENT LIST
      are not ``denyoom`` commands; nothing is written, so nothing is refused.
    * every eviction policy: there is no key, so nothing can be evicted.
    * a stall of any length (SIGSTOP, a slow command): there is no TTL; the
      name lives as long as the connection.  (A server with ``timeout N``
      closes a connection idle for N s: a holder stalled that long loses the
      lock *visibly* -- see below -- and can never act as if it still held it.)
    * the holder dies (kill -9, crash, network gone): the kernel closes its
      socket, the server drops the connection and with it the name; the next
      contender's CLIENT LIST no longer shows it.
    * no application key, in any database: the lock is server-wide state of
      a connection, not data.

The lock connection never reconnects.  redis-py silently reconnects a broken
connection (and would come back unnamed, i.e. unlocked).  :class:`ApplyLock`
registers a connect callback that refuses every reconnect of its connection
with :class:`LockError`, and :attr:`ApplyLock.client` runs commands on that
one connection only.  So a command sent through ``lock.client`` reaches the
server only while the connection that took the lock is alive, i.e. only while
the lock has been held without a break since it was taken.  :meth:`check`
says so explicitly (``CLIENT LIST ID <own id>`` still shows our name);
:meth:`ApplyLock.call` sends that check and a command in one round trip, and a
round trip of ``lock.client`` (wire.round_trip) runs on the lock connection too.

ACL: the user needs ``+client|setname +client|list``.  Without them taking
the lock fails with a LockError naming those permissions; it is never skipped
unless the caller passes ``required=False``.

Errors: waiting in vain and missing permissions raise :class:`LockError`; a
connection or authentication failure is raised as the redis-py exception, so
that the caller can translate it (and retry a first contact without password).
"""

from __future__ import annotations

import logging
import random
import secrets
import time
from contextlib import contextmanager
from typing import Any, Iterator

from .errors import LockError
from .wire import round_trip
from .records import record

PREFIX = "borgconf-apply-"
PERMISSIONS = "+client|setname +client|list"

log = logging.getLogger("borgconf")


@record(frozen=True)
class Contender:
    """One named connection seen in CLIENT LIST."""

    id: int
    name: str
    addr: str
    age: int  # seconds since the connection was opened


def _text(reply: Any) -> str:
    if isinstance(reply, bytes):
        return reply.decode("utf-8", "replace")
    return str(reply or "")


def parse_client_list(reply: Any, prefix: str = PREFIX) -> list[Contender]:
    """The connections of a CLIENT LIST reply whose name starts with ``prefix``.

    Names cannot hold spaces or newlines (CLIENT SETNAME refuses them), so a
    line is ``key=value`` fields separated by single spaces."""
    out = []
    named = " name=" + prefix
    for line in _text(reply).splitlines():
        if named not in line:  # (name is never a line's first field: id is) most lines are not contenders
            continue
        fields = dict(f.split("=", 1) for f in line.split(" ") if "=" in f)
        name = fields.get("name", "")
        if not name.startswith(prefix) or not fields.get("id", "").isdigit():
            continue
        age = fields.get("age", "0")
        out.append(Contender(int(fields["id"]), name, fields.get("addr", "?"), int(age) if age.isdigit() else 0))
    return sorted(out, key=lambda c: c.id)


def lists(reply: Any, client_id: int, name: str) -> bool:
    """Whether a CLIENT LIST reply lists connection ``client_id`` named ``name``:
    one of its lines has both fields. What :func:`parse_client_list` says of the
    reply to ``CLIENT LIST ID <client_id>`` (one line, or none once the connection
    is gone), without splitting the line into its ~35 fields: apply asks it twice
    per target (issue 12). A field is ``key=value`` between single spaces, and no
    value holds a space (Redis refuses one in a name or a user), so a field is
    found as `` key=value `` in the line with a space either side."""
    want_id, want_name = f" id={client_id} ", f" name={name} "
    for line in _text(reply).splitlines():
        padded = f" {line} "
        if want_id in padded and want_name in padded:
            return True
    return False


class ApplyLock:
    """The apply lock on one server. ``acquire()`` / ``check()`` / ``release()``,
    or use it as a context manager (or :func:`apply_lock`).

    ``client`` is a redis-py ``Redis`` (its pool supplies the lock connection,
    with the same address, credentials and timeouts).  ``timeout`` is how many
    seconds to wait for another holder; ``required=False`` makes ``acquire``
    return False instead of raising when the lock cannot be taken.
    """

    def __init__(self, client, *, timeout: float = 10.0, required: bool = True, address: str | None = None, poll: float = 0.05):
        self._parent = client
        self.timeout = float(timeout)
        self.required = required
        kw = client.connection_pool.connection_kwargs
        self.address = address or getattr(client, "borgconf_address", None) or f"{kw.get('host', '?')}:{kw.get('port', '?')}"
        self.poll = poll
        self.name = PREFIX + secrets.token_hex(16)
        self.id: int | None = None
        self.held = False
        self.client = None  # redis.Redis bound to the lock connection, while held
        self._conn = None
        self._lost: str | None = None
        # commands to send right after the first CLIENT LIST, in the same round trip
        # (apply's read under the lock); their replies are ``prefetched`` when that
        # list showed the lock held, i.e. they ran under the lock; else None
        self.prefetch: list[tuple] = []
        self.prefetched: list | None = None

    # -- the connection ----------------------------------------------------

    def _open(self) -> None:
        import redis

        lc = redis.Redis(connection_pool=self._parent.connection_pool, single_connection_client=True)
        lc.response_callbacks = self._parent.response_callbacks  # same replies as the caller's client
        self._conn = lc.connection
        self._lost = None
        self._conn.register_connect_callback(self._refuse_reconnect)
        # every round trip of the lock client (wire.round_trip: the read under the lock,
        # ACL DRYRUN) goes over this one connection: no second connection, no second AUTH
        self._lc = lc

    def _refuse_reconnect(self, conn) -> None:
        """Called by redis-py after any (re)connect of the lock connection:
        the name (the lock) did not survive the old connection, so refuse."""
        conn.disconnect()
        self.held = False
        raise LockError(self._lost_message())

    def _lost_message(self) -> str:
        return (
            f"the apply lock on {self.address} was lost: its connection (id {self.id}) closed "
            "(killed, timed out, or the server's idle 'timeout'); nothing more is sent"
        )

    def _close(self) -> None:
        conn, self._conn = self._conn, None
        self.client = None
        if conn is None:
            return
        conn.deregister_connect_callback(self._refuse_reconnect)
        try:
            conn.disconnect()  # the server drops the name with the connection
        finally:
            self._lc.connection = None
            self._lc.borgconf_lock_closed = True  # round_trip refuses it now: never the pool's other connections
            self._parent.connection_pool.release(conn)

    def _cmd(self, *args):
        import redis.exceptions as rx

        reply = round_trip(self._lc, [args], self._conn)[0]
        if isinstance(reply, rx.ResponseError):
            self._refused(args, reply)
        return reply

    def _refused(self, args, exc) -> None:
        import redis.exceptions as rx

        text = str(exc)
        if isinstance(exc, rx.NoPermissionError) or "NOPERM" in text:
            user = self._parent.connection_pool.connection_kwargs.get("username") or "default"
            raise LockError(
                f"user {user!r} may not take the apply lock on {self.address}: {text} "
                f"(grant {PERMISSIONS}: the lock is a named connection, it writes no key)"
            ) from None
        raise LockError(f"{self.address} refused the apply lock ({' '.join(map(str, args[:2]))}): {text}") from None

    def _named(self) -> list[Contender]:
        return parse_client_list(self._cmd("CLIENT", "LIST", "TYPE", "normal"))

    def _name_and_list(self, extra: list[tuple] = ()) -> tuple[list[Contender], list]:  # type: ignore[assignment]
        """CLIENT SETNAME, then CLIENT LIST, in one round trip: one connection's
        commands run in order, so the list is still taken after the naming.
        ``extra`` commands follow in the same round trip: when the list shows the
        lock held, they ran under it. Returns the contenders and their replies."""
        import redis.exceptions as rx

        replies = round_trip(self._lc, [("CLIENT", "SETNAME", self.name), ("CLIENT", "LIST", "TYPE", "normal"), *extra], self._conn)
        for args, reply in zip((("CLIENT", "SETNAME"), ("CLIENT", "LIST")), replies):
            if isinstance(reply, rx.ResponseError):
                self._refused(args, reply)
            if isinstance(reply, Exception):
                raise reply
        return parse_client_list(replies[1]), replies[2:]

    # -- API ---------------------------------------------------------------

    def acquire(self) -> bool:
        """Wait up to ``timeout`` seconds for the lock. True when held; False only
        with ``required=False``; LockError otherwise."""
        if self.held:
            return True
        self._close()
        ok = False
        try:
            self._open()
            ok = self._wait()
        except LockError as exc:
            if self.required:
                raise
            log.warning("apply lock not taken: %s", exc)
        finally:
            if not ok:
                self._close()
        return ok

    def _wait(self) -> bool:
        deadline = time.monotonic() + self.timeout
        self.prefetched = None
        seen, early = self._name_and_list(self.prefetch)
        named = True
        while True:
            me = next((c for c in seen if c.name == self.name), None)
            others = [c for c in seen if c.name != self.name]
            if named:
                if me is None:  # our own connection must be in the list
                    raise LockError(f"{self.address}: CLIENT LIST does not show the lock connection; cannot lock")
                self.id = me.id
                if not others:
                    self.held = True
                    self.client = self._lc
                    self.prefetched = early if self.prefetch else None
                    return True
                early = None  # read while another held the lock: not a read under it
                if me.id > others[0].id:  # an older contender goes first: step aside
                    self._cmd("CLIENT", "SETNAME", "")
                    named = False
            elif not others:
                seen, _ = self._name_and_list()
                named = True
                continue  # the list that counts is the one taken after naming
            if time.monotonic() >= deadline:
                holder = others[0]
                message = (
                    f"another borgconf apply is running on {self.address} (it holds the apply lock: connection "
                    f"id {holder.id} from {holder.addr}, open {holder.age} s); try again when it is done, "
                    "or wait longer with --lock-timeout"
                )
                if self.required:
                    raise LockError(message)
                log.warning("apply lock not taken: %s", message)
                return False
            time.sleep(self.poll * (0.5 + random.random()))
            seen = self._named()

    def check(self) -> None:
        """Raise LockError unless this lock is still held: its connection is the
        one that took the lock (never reconnected) and still carries the name."""
        self._checked(())

    def call(self, *args):
        """Run one command over the lock connection, with :meth:`check`'s
        ``CLIENT LIST ID`` in the same round trip (before it on the connection).
        The connection never reconnects and only its owner can rename it, so
        a live connection still holds the lock: the command reaches the server
        only while the lock is held, as after a separate check. Raises
        LockError when the check fails, else the command's error (redis-py's)."""
        return self._checked((args,) if args else ())[0]

    def call_then(self, args: tuple, *then: tuple) -> tuple[Any, list]:
        """:meth:`call` of ``args``, and the commands ``then`` right after it in the
        same round trip (apply reads back what its CONFIG SET set). Returns the
        reply to ``args`` (its error raised, as call) and the replies to ``then``,
        an error left in its place."""
        replies = self._checked((args, *then))
        return replies[0], replies[1:]

    def _checked(self, commands: tuple[tuple, ...]) -> list:
        """``CLIENT LIST ID <own id>``, then ``commands``, in one round trip.
        The first command's error is raised; the replies of the others are
        returned as they came, errors included ([None] when there is no command)."""
        import redis.exceptions as rx

        if not self.held or self._conn is None:
            raise LockError(self._lost_message() if self.id is not None else f"the apply lock on {self.address} is not held")
        try:
            mine_reply, *replies = round_trip(self._lc, [("CLIENT", "LIST", "ID", self.id), *commands], self._conn)
        except (rx.RedisError, LockError):
            self.held = False
            raise LockError(self._lost_message()) from None
        if isinstance(mine_reply, Exception) or not lists(mine_reply, self.id, self.name):
            self.held = False
            raise LockError(self._lost_message())
        if not replies:
            return [None]
        if isinstance(replies[0], Exception):
            raise replies[0]
        return replies

    def release(self) -> None:
        """Let go: clear the name (best effort) and close the connection."""
        import redis.exceptions as rx

        if self.held and self._conn is not None:
            try:
                self._cmd("CLIENT", "SETNAME", "")
            except (rx.RedisError, LockError):
                pass  # closing the connection drops the name anyway
        self.held = False
        self._close()

    def __enter__(self) -> "ApplyLock":
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()


@contextmanager
def apply_lock(client, *, timeout: float = 10.0, required: bool = True, address: str | None = None) -> Iterator[ApplyLock]:
    """``with apply_lock(client, timeout=10) as lock: ...; lock.check(); lock.client.execute_command(...)``

    With ``required=False`` the block also runs when the lock was not taken
    (``lock.held`` is False then, and ``lock.client`` None)."""
    lock = ApplyLock(client, timeout=timeout, required=required, address=address)
    lock.acquire()
    try:
        yield lock
    finally:
        lock.release()


__all__ = ["ApplyLock", "apply_lock", "parse_client_list", "lists", "Contender", "PREFIX", "PERMISSIONS"]
