"""One round trip to a server: commands in one write over redis-py's connection,
their replies in order (issue 12). Below live.py and discovery.py, which both
send theirs this way; it imports redis-py only when a round trip runs."""

from __future__ import annotations

from functools import lru_cache

from .errors import BorgconfError, LockError


def _packed(conn, commands) -> list[bytes]:
    """``conn.pack_commands(commands)``: the same bytes, in one call to hiredis per
    command when every argument is text or a whole number (as nearly all of
    borgconf's are) and the connection encodes text as strict UTF-8, as redis-py's
    own serializer then does; its per-argument encoding in Python cost about as
    much as the rest of a round trip's own work (issue 12). Anything else (bytes,
    a float, a bool that redis-py refuses, a str subclass, a command name holding
    white space that redis-py splits, a huge number, no hiredis) is packed by
    redis-py, errors included."""
    pack = _hiredis_pack()
    enc = getattr(conn, "encoder", None)
    if pack is None or enc is None or enc.encoding.lower() not in ("utf-8", "utf8") or enc.encoding_errors != "strict":
        return conn.pack_commands(commands)
    out = []
    for args in commands:
        first = args[0] if args else None
        # redis-py splits the first argument at ASCII white space (and drops an empty one);
        # hiredis formats an int with repr() and crashes when Python refuses one of over
        # 4300 digits, where redis-py raises ValueError: both are left to redis-py
        if type(first) is not str or first.split() != [first] or not all(type(a) is str or (type(a) is int and -_INT_BOUND < a < _INT_BOUND) for a in args):
            return conn.pack_commands(commands)
        out.append(pack(tuple(args)))
    return [b"".join(out)]


_INT_BOUND = 1 << 64  # the whole numbers _packed gives hiredis: a connection id, a port, a count


@lru_cache(maxsize=1)
def _hiredis_pack():
    try:
        from hiredis import pack_command
    except ImportError:  # redis-py without hiredis: its own serializer
        return None
    return pack_command


def round_trip(client, commands, conn=None) -> list:
    """``commands`` in one write and their replies in order, an error reply in its
    place (a pipeline's ``execute(raise_on_error=False)``), over ``conn`` or a
    connection of ``client``'s pool. What redis-py's Pipeline does, without its
    per-round-trip bookkeeping (a Pipeline object, retries, metrics): half its
    cost, and apply makes five round trips per target (issue 12). Any other
    error closes the connection (replies may be left on it) and is raised.
    A client bound to one connection (``single_connection_client``: the apply
    lock's ``client``) uses that connection, never another of its pool: apply's
    read under the lock must go over the connection that holds the lock.
    A test double without a connection pool runs its own pipeline."""
    pool = getattr(client, "connection_pool", None)
    if pool is None:
        pipe = client.pipeline(transaction=False)
        for args in commands:
            pipe.execute_command(*args)
        return pipe.execute(raise_on_error=False)
    import redis.exceptions as rx

    if conn is None:
        conn = getattr(client, "connection", None)  # a single-connection client's own
        if conn is None and getattr(client, "borgconf_lock_closed", False):
            raise LockError("the apply lock's client is used after the lock was let go; nothing was sent")
    own = conn is None
    if own:
        conn = pool.get_connection()
    try:
        conn.send_packed_command(_packed(conn, commands))
        out = []
        for args in commands:
            try:
                out.append(client.parse_response(conn, args[0]))
            except rx.ResponseError as exc:
                out.append(exc)
        return out
    except UnicodeDecodeError:
        # a value set as raw bytes (a password, a path): the reply cannot be read as
        # text. Never the decoder's message: it quotes the bytes, and they may be a secret's
        conn.disconnect()
        where = getattr(client, "borgconf_address", None) or "the server"
        raise BorgconfError(
            f"{where} answered with bytes that are not UTF-8 text (a configuration value set as raw bytes?); "
            "borgconf reads the configuration as text"
        ) from None
    except BaseException:
        conn.disconnect()
        raise
    finally:
        if own:
            pool.release(conn)


def raising(replies: list) -> list:
    """``replies`` of :func:`round_trip`, the first error reply raised (a pipeline's
    ``execute(raise_on_error=True)``)."""
    for r in replies:
        if isinstance(r, Exception):
            raise r
    return replies


__all__ = ["round_trip", "raising"]
