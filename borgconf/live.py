"""Facts: what a live server says. This layer only reads; it never writes.

One round trip (a pipeline) reads ``CONFIG GET *``, ``INFO server memory
keyspace`` and, when the spec names dangerous commands, ``COMMAND INFO`` and
``COMMAND LIST FILTERBY PATTERN`` (renamed or disabled?).
Parsing is separated from talking (``parse_*``), so it is tested from the
replies captured in ``redis-facts/``.
"""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from .errors import AuthError, BorgconfError, ConnectionFailed
from .records import field, record
from .wire import raising, round_trip


@record
class LiveState:
    """What one server reported: its configuration, version and facts."""

    address: str
    flavour: str  # "redis" | "valkey"
    version: str
    run_id: str
    config_file: str
    config: dict[str, str]
    total_memory: int = 0
    used_memory: int = 0
    keyspace: dict[int, int] = field(default_factory=dict)  # db -> keys
    commands: dict[str, str] = field(default_factory=dict)  # COMMAND -> enabled | disabled | new name | RENAMED_ELSEWHERE
    mode: str = "standalone"
    users: dict[str, Any] = field(default_factory=dict)  # name -> users.UserState | None (absent)
    auth: str = ""  # where the password that logged in came from (live.candidate_passwords), never the value
    role: str = "primary"  # "primary" | "replica" (INFO replication)
    primary: str | None = None  # host:port of its primary (a replica)
    command_table: Any = None  # users.CommandTable (COMMAND), read when users are compared; None otherwise
    acl: dict[str, str] = field(default_factory=dict)  # every user on the server -> its ACL LIST rules
    allowed: dict[str, tuple[str, ...]] = field(default_factory=dict)  # disabled COMMAND -> users ACL DRYRUN lets run it
    acl_problems: list[str] = field(default_factory=list)  # ACL DRYRUN answers that say neither yes nor no
    command_info: dict[str, Any] = field(default_factory=dict)  # COMMAND INFO of the spec's commands still known

    @property
    def server_label(self) -> str:
        return f"{'Valkey' if self.flavour == 'valkey' else 'Redis'} {self.version}"


# What a plan is made of, of a LiveState: every field but the two that move on
# their own (memory in use, keys per database), which no plan reads, and where the
# password that logged in came from (tests/unit/test_live_state.py pins the list)
PLAN_INPUTS = (
    "address", "flavour", "version", "run_id", "config_file", "config", "total_memory", "commands", "mode",
    "users", "role", "primary", "command_table", "acl", "allowed", "acl_problems", "command_info",
)


def same_plan_inputs(a: LiveState, b: LiveState) -> bool:
    """Whether two reads of a server give a plan the same inputs (PLAN_INPUTS):
    then planning again gives the same plan."""
    return all(getattr(a, name) == getattr(b, name) for name in PLAN_INPUTS)


def target_password(target) -> str | None:
    """The spec's password, else BORGCONF_PASSWORD, else REDISCLI_AUTH (no flag: argv is visible)."""
    return target.password or os.environ.get("BORGCONF_PASSWORD") or os.environ.get("REDISCLI_AUTH") or None


def candidate_passwords(target) -> list[tuple[str, str]]:
    """(where it comes from, password) to try, in order: the spec's password, then
    ``target.previous_password`` (a rotation under way: the server still has the
    old one), then BORGCONF_PASSWORD and REDISCLI_AUTH. Each value once."""
    out: list[tuple[str, str]] = []
    for source, value in (
        ("target.password", target.password),
        ("target.previous_password", getattr(target, "previous_password", None)),
        ("BORGCONF_PASSWORD", os.environ.get("BORGCONF_PASSWORD")),
        ("REDISCLI_AUTH", os.environ.get("REDISCLI_AUTH")),
    ):
        if value and all(value != v for _, v in out):
            out.append((source, value))
    return out


def _raw_reply(reply, **options):
    return reply


@lru_cache(maxsize=1)
def _one_try():
    """``Retry(NoBackoff(), 0)``: one try, no backoff. redis-py deep-copies the
    Retry it is given twice per client (for the pool, then for the connection),
    as it may change it (update_supported_errors, update_retries): each of those
    replaces an attribute, and NoBackoff holds no state, so a copy of the
    attributes is that deep copy, for a twentieth of its cost, per target of a
    fleet (issue 12). The backoff is always a NoBackoff (made here), so the copies
    share no state."""
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    class OneTry(Retry):
        def __init__(self) -> None:
            super().__init__(NoBackoff(), 0)

        def __deepcopy__(self, memo):
            copy = object.__new__(type(self))
            copy.__dict__.update(self.__dict__)
            return copy

    return OneTry


def connect(target, *, url: str | None = None):
    """A redis-py client for a target; nothing is sent until the first command."""
    import redis

    from . import redact

    parts = urlsplit(url or target.url)
    candidates = candidate_passwords(target)
    for _, value in candidates:
        redact.register(value)
    password = candidates[0][1] if candidates else None
    kwargs: dict[str, Any] = dict(
        host=parts.hostname or "127.0.0.1",
        port=6379 if parts.port is None else parts.port,
        username=target.username or None,
        password=password,
        socket_timeout=target.timeout,
        socket_connect_timeout=target.timeout,
        decode_responses=True,
        protocol=2,
        # one try: redis-py 8 retries with seconds of backoff by default, and a
        # reconciler must fail within target.timeout, not minutes later
        retry=_one_try()(),
    )
    if parts.scheme == "rediss":
        kwargs["ssl"] = True
        if target.tls is not None:
            kwargs.update(
                ssl_ca_certs=target.tls.ca_certs,
                ssl_certfile=target.tls.certfile,
                ssl_keyfile=target.tls.keyfile,
                ssl_check_hostname=target.tls.check_hostname,
            )
    # no CLIENT SETINFO on connect: two round trips fewer (driver_info since redis-py 7)
    try:
        client = redis.Redis(**kwargs, driver_info=None)
    except TypeError:
        client = redis.Redis(**kwargs, lib_name=None, lib_version=None)
    # raw replies: COMMAND INFO may hold nulls, and a renamed CONFIG has no callback anyway;
    # INFO as the server's text: read_state takes the few fields it needs from it, where
    # redis-py would convert every line (issue 12: twice per target in a fleet apply)
    client.set_response_callback("COMMAND", _raw_reply)
    client.set_response_callback("INFO", _raw_reply)
    client.borgconf_address = f"{kwargs['host']}:{kwargs['port']}"  # type: ignore[attr-defined]
    # first_call tries the others when the server refuses the first (a rotation under way)
    client.borgconf_passwords = candidates  # type: ignore[attr-defined]
    client.borgconf_auth = candidates[0][0] if candidates else ""  # type: ignore[attr-defined]
    return client


def fresh_client(client, target, timeout: float):
    """A new client to the same server as ``client`` (same address, TLS, and the
    password that worked last), whose commands may take up to ``timeout``
    seconds: after a command got no answer, apply re-reads the server over it to
    learn what happened. A test double without a connection pool answers for itself."""
    pool = getattr(client, "connection_pool", None)
    if pool is None:
        return client
    from .discovery import format_address

    kw = pool.connection_kwargs
    scheme = urlsplit(target.url).scheme
    fresh = connect(target.model_copy(update={"timeout": timeout}), url=f"{scheme}://{format_address(kw['host'], int(kw['port']))}")
    fresh.connection_pool.connection_kwargs["password"] = kw.get("password")
    fresh.borgconf_auth = getattr(client, "borgconf_auth", "")  # type: ignore[attr-defined]
    return fresh


def _tried(target) -> str:
    names = [source for source, _ in candidate_passwords(target)]
    return ", ".join(names) if names else "no password was given: target.password, BORGCONF_PASSWORD or REDISCLI_AUTH"


def translate(exc: Exception, target, address: str, doing: str) -> BorgconfError:
    """A redis-py exception as a borgconf error that says what is missing."""
    import redis.exceptions as rx

    text = str(exc)
    user = target.username or "default"
    if "NOAUTH" in text or "Authentication required" in text:
        return AuthError(f"{address} requires a password: set target.password (or BORGCONF_PASSWORD / REDISCLI_AUTH)")
    if isinstance(exc, rx.AuthenticationError) or "WRONGPASS" in text or "invalid password" in text:
        return AuthError(
            f"authentication failed at {address} for user {user!r}: wrong password (tried {_tried(target)}; "
            "while rotating a password, give the old one as target.previous_password)"
        )
    if "NOPERM" in text or isinstance(exc, rx.NoPermissionError):
        return AuthError(f"user {user!r} is not allowed to {doing} at {address}: {text} (grant it with ACL SETUSER, e.g. +config|get +config|set +config|rewrite +info, and +acl|getuser +acl|list +acl|setuser when the spec has users, +acl|dryrun +acl|list +acl|setuser when it disables commands)")
    if isinstance(exc, rx.TimeoutError):
        return ConnectionFailed(f"no answer from {address} within {target.timeout:g}s while trying to {doing}")
    if isinstance(exc, rx.ConnectionError):
        reason = text.split(". ", 1)[-1] if text else "connection failed"
        return ConnectionFailed(f"cannot reach {address} to {doing}: {reason}")
    if "unknown command" in text.lower() and doing.startswith("read"):
        return BorgconfError(
            f"{address} does not know the command {target.config_command!r}: if CONFIG was renamed, set target.config_command"
        )
    return BorgconfError(f"{address} refused to {doing}: {text}")


def parse_config_reply(reply: Any) -> dict[str, str]:
    if isinstance(reply, dict):
        return {str(k): "" if v is None else str(v) for k, v in reply.items()}
    it = iter(reply or [])
    return {str(k): "" if v is None else str(v) for k, v in zip(it, it)}


def info_dict(reply: Any) -> dict[str, Any]:
    """Every INFO field, ``slave0`` and ``db0`` lines as dicts (as redis-py has them;
    values as the server wrote them), for the readers that want all of it (status,
    import): a client made by :func:`connect` gets INFO as the server's text."""
    if not isinstance(reply, str):
        return reply
    from .discovery import parse_info_text

    fields: dict[str, Any] = parse_info_text(reply)
    for key, value in fields.items():  # db0:keys=1,expires=0 and slave0:ip=..,port=.. as dicts
        if (key.startswith("db") and key[2:].isdigit()) or (key.startswith("slave") and key[5:].isdigit()):
            fields[key] = _kv(value)
    return fields


def _kv(value: str) -> dict[str, str]:
    """``keys=1,expires=0`` -> {"keys": "1", "expires": "0"} (an INFO line's value)."""
    return dict(kv.partition("=")[::2] for kv in value.split(","))


# the INFO fields parse_info and read_state read (a plan needs a dozen of INFO's ~100)
INFO_FIELDS = (
    "server_name", "valkey_version", "redis_version", "run_id", "config_file", "total_system_memory",
    "used_memory", "redis_mode", "server_mode", "role", "master_host", "master_port",
)


@lru_cache(maxsize=1)
def _info_line():
    import re

    return re.compile(r"^(" + "|".join(map(re.escape, INFO_FIELDS)) + r"|db[0-9]+)[ \t]*:[ \t]*(.*?)[ \t\r]*$", re.M)


def info_text_fields(text: str) -> dict[str, Any]:
    """The fields of INFO's text that a plan reads (:data:`INFO_FIELDS`), as written;
    a keyspace line (``db0:keys=1,expires=0``) as a dict, as redis-py has it."""
    out: dict[str, Any] = {}
    for key, value in _info_line().findall(text):
        if key.startswith("db"):
            out[key] = _kv(value)
        else:
            out[key] = value
    return out


def parse_info(info: dict[str, Any] | str) -> dict[str, Any]:
    """Flavour, version and the memory / keyspace facts from an INFO reply
    (the server's text, or a dict as redis-py or :func:`info_text_fields` give it)."""
    if isinstance(info, str):
        info = info_text_fields(info)
    if info.get("server_name") == "valkey" or "valkey_version" in info:
        flavour, version = "valkey", str(info.get("valkey_version") or info.get("redis_version"))
    else:
        flavour, version = "redis", str(info.get("redis_version", "unknown"))
    keyspace = {}
    for key, value in info.items():
        if isinstance(key, str) and key.startswith("db") and key[2:].isdigit() and isinstance(value, dict):
            keyspace[int(key[2:])] = int(value.get("keys", 0))
    return dict(
        flavour=flavour,
        version=version,
        run_id=str(info.get("run_id", "")),
        config_file=str(info.get("config_file") or ""),
        total_memory=int(info.get("total_system_memory") or 0),
        used_memory=int(info.get("used_memory") or 0),
        keyspace=keyspace,
        mode=str(info.get("redis_mode") or info.get("server_mode") or "standalone"),
        **_replication(info),
    )


def _replication(info: dict[str, Any]) -> dict[str, Any]:
    """Role and primary from INFO replication (absent from the INFO asked: a primary)."""
    if info.get("role") not in ("slave", "replica"):
        return {}
    from .discovery import format_address

    host, port = info.get("master_host"), info.get("master_port")
    return {"role": "replica", "primary": format_address(str(host), int(port)) if host and str(port).isdigit() else None}


RENAMED_ELSEWHERE = "renamed:other"  # ':' cannot be in a command name, so no spec asks for it


def parse_command_info(
    names: list[str], reply: list[Any], wanted: dict[str, str], listed: dict[str, bool] | None = None
) -> dict[str, str]:
    """State of each command named in the spec.

    ``names`` were asked with one ``COMMAND INFO``: the original names, then the
    new names the spec asks for. A disabled (or renamed) command answers null
    under its original name; a renamed one answers under its new name with its
    original name inside (see redis-facts/*/renames.md). ``listed`` tells
    whether ``COMMAND LIST`` still holds the original name: it does for a
    renamed command and not for a disabled one, so a command renamed to a name
    the spec does not give is :data:`RENAMED_ELSEWHERE`, never "disabled".
    """
    answers = dict(zip(names, reply or []))
    state: dict[str, str] = {}
    for cmd, want in wanted.items():
        if answers.get(cmd) is not None:
            state[cmd] = "enabled"
            continue
        if want not in ("disabled", "enabled"):
            info = answers.get(want)
            if info is not None and str(info[0]).lower() == cmd.lower():
                state[cmd] = want
                continue
        state[cmd] = RENAMED_ELSEWHERE if listed is not None and listed.get(cmd) else "disabled"
    return state


def parse_command_list(wanted: list[str], replies: list[Any]) -> dict[str, bool]:
    """Replies to ``COMMAND LIST FILTERBY PATTERN <name>`` (one per command)."""
    return {cmd: any(str(n).lower() == cmd.lower() for n in (reply or [])) for cmd, reply in zip(wanted, replies)}


def _use_password(client, password: str | None) -> None:
    pool = client.connection_pool
    pool.connection_kwargs["password"] = password
    pool.disconnect()
    pool.reset()  # drop the connection objects that hold the old password


# What borgconf itself sends: denying one of these through ACL would lock borgconf
# out of the server it manages, so disabling them stays rename-command (restart).
BORGCONF_NEEDS = frozenset({"CONFIG", "ACL", "INFO", "COMMAND", "CLIENT", "AUTH", "HELLO", "PING", "QUIT", "RESET", "SELECT"})


def deniable(cmd: str, target=None) -> bool:
    """Whether ``commands: {cmd: disabled}`` is converged live through ACL rules."""
    own = {target.config_command.upper()} if target is not None else set()
    return cmd.upper() not in BORGCONF_NEEDS | own


def acl_commands(spec_commands: dict[str, str], target=None) -> list[str]:
    """The spec's disabled commands that ACL rules deny live."""
    return [cmd for cmd, want in spec_commands.items() if want == "disabled" and deniable(cmd, target)]


def dryrun_probes(cmd: str, info: Any) -> list[list[str]]:
    """Argument lists ``ACL DRYRUN <user> ...`` checks a command with: the command
    (padded to its arity), or each of its subcommands (``CONFIG GET x``)."""

    def probe(words: list[str], arity: Any) -> list[str]:
        try:
            n = abs(int(arity))
        except (TypeError, ValueError):
            n = len(words)
        return words + ["x"] * max(0, n - len(words))

    subs = info[9] if isinstance(info, (list, tuple)) and len(info) > 9 and info[9] else []
    if subs:
        return [probe([w.upper() for w in str(sub[0]).split("|")], sub[1]) for sub in subs]
    arity = info[1] if isinstance(info, (list, tuple)) and len(info) > 1 else 1
    return [probe([cmd], arity)]


def parse_dryrun(reply: Any) -> bool | None:
    """True: the user may run the command; False: ACL denies it; None: an answer that says neither."""
    text = str(reply)
    if isinstance(reply, Exception):
        return None
    if text == "OK" or "permissions to access" in text:  # a key or channel refused: the command itself is allowed
        return True
    if "permissions to run" in text:
        return False
    return None


def first_call(client, address: str, fn):
    """Run the first command(s) of a connection.

    A new install does not have the password the spec brings yet: then connect
    without one. A server that refuses the spec's password may still hold the
    previous one (a rotation under way: the spec already names the new
    password, the server gets it from this apply): then try
    ``target.previous_password``, BORGCONF_PASSWORD and REDISCLI_AUTH in turn.
    Which one worked is ``client.borgconf_auth`` (a name, never the value) and
    a -v log line."""
    import logging

    import redis.exceptions as rx

    log = logging.getLogger("borgconf")
    candidates = list(getattr(client, "borgconf_passwords", None) or [])
    tried = 1
    while True:
        try:
            return fn()
        except rx.AuthenticationError as exc:
            text = str(exc)
            if "without any password configured" in text:
                log.debug("%s has no password yet; connecting without one", address)
                client.borgconf_auth = "no password (the server has none yet)"
                _use_password(client, None)
                return fn()
            if tried >= len(candidates):
                raise
            source, password = candidates[tried]
            tried += 1
            log.debug("%s refused %s; trying %s", address, candidates[tried - 2][0], source)
            client.borgconf_auth = source
            _use_password(client, password)


#: Parameters a plan reads whatever the spec sets: lint (policy, persistence,
#: password, cluster mode), data safety (maxmemory, databases, AOF and save
#: points), a replication group's shared secrets, the parameter class of a
#: protected config, and where users are persisted (aclfile).
ALWAYS_READ = (
    "appendonly", "save", "requirepass", "masterauth", "masteruser", "maxmemory", "maxmemory-policy",
    "databases", "enable-protected-configs", "aclfile", "cluster-enabled",
)


def config_names(spec) -> tuple[str, ...]:
    """The names one ``CONFIG GET`` asks for a spec (once per fleet, not per
    target): every parameter of the shared and the targets' own server:
    blocks and :data:`ALWAYS_READ`, each under all its names (aliases, and the
    name a server of another flavour reports: Valkey's primaryauth). A
    parameter the server does not know is simply not in the reply, as with
    ``CONFIG GET *`` (see :func:`config_get_args`)."""
    from . import params as P

    catalog = P.catalog()
    params = [sv.param for sv in spec.server.values()]
    params += [sv.param for own in spec.target_server.values() for sv in own.values()]
    params += [p for p in (catalog.lookup(n) for n in ALWAYS_READ) if p is not None]
    return param_names(params)


def param_names(params) -> tuple[str, ...]:
    """Every name of each parameter, in order and once: its aliases, and the names
    servers of another flavour report (Valkey's primaryauth)."""
    return tuple(dict.fromkeys(n for p in params for n in (*p.names(), *p.server_names.values())))


# An unauthenticated client may send at most 10 arguments per command (Redis and
# Valkey close the connection otherwise, before saying NOAUTH): CONFIG GET + 8 names.
_NAMES_PER_GET = 8


def _listed_everywhere(name: str) -> bool:
    """A parameter's own name that ``CONFIG GET *`` lists on every server the catalog
    was built from (params.SERVER_KEYS): hidden on none of them."""
    from . import params as P

    p = P.catalog().lookup(name)
    return p is not None and p.name == name and all(k in p.servers for k in P.SERVER_KEYS)


@lru_cache(maxsize=32)  # the same names for every target of a fleet, twice per target in apply
def config_get_args(names: tuple[str, ...]) -> tuple[tuple[str, ...], ...]:
    """The arguments of the CONFIG GETs that read ``names`` (after the command name),
    so that the reply is exactly what ``CONFIG GET *`` says of them. A server answers
    an exact name even for its hidden configs (``aof-disable-auto-gc`` on Redis 8.2
    and Valkey), which ``*`` leaves out, and a plan must call those unknown as
    before: a name that may be hidden somewhere (an alias, another flavour's name,
    a parameter some server does not list) is asked as a glob that matches only
    itself (``dynamic-hz`` -> ``dynamic-h[z]``); a parameter every known server
    lists is asked by its name, which the server looks up instead of matching the
    glob against each of its ~200 parameters (7x its CPU, twice per target in a
    fleet apply). Several names per command (Redis 7.0+ and Valkey), 8 at most."""
    patterns = [n if _listed_everywhere(n) else n[:-1] + "[" + n[-1] + "]" for n in names if n]
    return tuple(("GET", *patterns[i : i + _NAMES_PER_GET]) for i in range(0, len(patterns), _NAMES_PER_GET)) or (("GET", "*"),)


def _command_reads(target, wanted: dict[str, str], users) -> tuple[list[str], list[str], bool]:
    """For state_commands and read_state alike: the commands COMMAND INFO asks about
    (the spec's and their new names), those ACL rules deny on this target, and
    whether ACL LIST is read (users to compare, or denials to check)."""
    ask = list(wanted) + [v for v in wanted.values() if v not in ("disabled", "enabled")]
    denials = acl_commands(wanted, target)
    return ask, denials, bool(users or denials)


def state_commands(target, commands: dict[str, str] | None = None, users: list[str] | None = None, config: tuple[str, ...] | None = None) -> list[tuple]:
    """The commands :func:`read_state` sends, in its one round trip (the apply lock
    sends them after taking the lock, in the same round trip: ApplyLock.prefetch)."""
    wanted = commands or {}
    ask, _, list_users = _command_reads(target, wanted, users)
    out: list[tuple] = [(target.config_command, *args) for args in (config_get_args(config) if config else [("GET", "*")])]
    out.append(("INFO", "server", "memory", "keyspace", "replication"))
    out += [("ACL", "GETUSER", name) for name in users or []]
    if list_users:
        out.append(("ACL", "LIST"))
    if ask:
        out.append(("COMMAND", "INFO", *ask))
        out += [("COMMAND", "LIST", "FILTERBY", "PATTERN", cmd.lower()) for cmd in wanted]
    return out


def read_state(client, target, commands: dict[str, str] | None = None, users: list[str] | None = None, command_table: bool = False, config: tuple[str, ...] | None = None, replies: list | None = None) -> LiveState:
    """Everything a plan needs from one server, in one round trip; with
    ``command_table`` (users whose rules name categories), also ``COMMAND``,
    so that command rules are compared by what they grant (users.granted).
    ``config``: the parameter names to read (:func:`config_names`), else all
    of them (``CONFIG GET *``, some 200 parameters to parse on every read).
    ``replies``: the replies to :func:`state_commands` with the same arguments,
    already read over ``client``'s connection (the apply lock's prefetch)."""
    address = getattr(client, "borgconf_address", target.address)
    user_names = list(users or [])
    wanted = commands or {}
    ask, denials, list_users = _command_reads(target, wanted, user_names)
    import redis.exceptions as rx

    gets = config_get_args(config) if config else (("GET", "*"),)

    def once():
        if replies is None:
            got = round_trip(client, state_commands(target, wanted, user_names, config))
        else:
            got = list(replies)
        config_replies, got = got[: len(gets)], [None, *got[len(gets) :]]
        if isinstance(got[1], str):
            got[1] = info_text_fields(got[1])
        if isinstance(got[1], dict):
            from .discovery import is_sentinel

            if is_sentinel(got[1]):  # its CONFIG GET fails: say what it is, not "CONFIG was renamed"
                raise BorgconfError(
                    f"{address} is a Sentinel, not a Redis to configure: give the Sentinel's url with "
                    "discover: sentinel and sentinel_master: NAME, and borgconf plans the servers it watches"
                )
        raising([*config_replies, *got])
        merged: dict[str, str] = {}
        for r in config_replies:
            merged.update(parse_config_reply(r))
        got[0] = merged
        return got

    try:
        # replies read already: the connection has authenticated (no password to try again)
        replies = first_call(client, address, once) if replies is None else once()
    except rx.RedisError as exc:
        raise translate(exc, target, address, "read the configuration (CONFIG GET, INFO)") from None
    config = replies[0]
    facts = parse_info(replies[1])
    from .users import parse_acl_list, parse_getuser

    n = len(user_names)
    acl_lines = parse_acl_list(replies[2 + n]) if list_users else {}
    user_state = {name: parse_getuser(r, acl_lines.get(name, "")) for name, r in zip(user_names, replies[2 : 2 + n])}
    rest = replies[2 + n + (1 if list_users else 0) :]
    cmd_state = parse_command_info(ask, rest[0], wanted, parse_command_list(list(wanted), rest[1:])) if ask else {}
    auth = str(getattr(client, "borgconf_auth", "") or "")
    table = None
    if command_table and user_names:
        from .users import parse_command_table

        try:  # read-only; a server (or proxy) without COMMAND leaves rules compared as written
            table = parse_command_table(client.execute_command("COMMAND"))
        except rx.RedisError:
            table = None
    state = LiveState(address=address, config=config, commands=cmd_state, users=user_state, auth=auth, command_table=table, acl=acl_lines, **facts)
    live_cmds = [c for c in denials if cmd_state.get(c) == "enabled"]
    infos = dict(zip(ask, rest[0] or [])) if ask else {}
    state.command_info = {c: infos[c] for c in wanted if infos.get(c) is not None}
    if live_cmds:
        state.allowed, state.acl_problems = read_allowed(client, target, address, {c: infos.get(c) for c in live_cmds}, list(acl_lines))
    return state


def read_allowed(client, target, address: str, infos: dict[str, Any], acl_users: list[str]) -> tuple[dict[str, tuple[str, ...]], list[str]]:
    """Which users may run each command (``ACL DRYRUN``, one round trip): the server's
    own answer, selectors, categories and subcommands included. A container command
    counts as allowed when any of its subcommands is."""
    import redis.exceptions as rx

    asks = [(cmd, user, probe) for cmd, info in infos.items() for user in acl_users for probe in dryrun_probes(cmd, info)]
    try:  # (over the apply lock's connection when ``client`` is the lock's: round_trip)
        replies = round_trip(client, [("ACL", "DRYRUN", user, *probe) for _, user, probe in asks]) if asks else []
    except rx.RedisError as exc:
        raise translate(exc, target, address, "check who may run the disabled commands (ACL DRYRUN)") from None
    allowed: dict[str, list[str]] = {cmd: [] for cmd in infos}
    problems: list[str] = []
    for (cmd, user, probe), reply in zip(asks, replies):
        if isinstance(reply, rx.NoPermissionError) or (isinstance(reply, Exception) and "NOPERM" in str(reply)):
            raise translate(reply, target, address, "check who may run the disabled commands (ACL DRYRUN)")
        verdict = parse_dryrun(reply)
        if verdict is None:
            problems.append(f"ACL DRYRUN {user} {' '.join(probe)}: {reply}")
        elif verdict and user not in allowed[cmd]:
            allowed[cmd].append(user)
    return {cmd: tuple(sorted(users)) for cmd, users in allowed.items()}, problems


__all__ = ["LiveState", "round_trip", "raising", "PLAN_INPUTS", "same_plan_inputs", "connect", "candidate_passwords", "first_call", "read_state", "state_commands", "config_names", "param_names", "config_get_args", "ALWAYS_READ", "read_allowed", "acl_commands", "deniable", "dryrun_probes", "parse_dryrun", "BORGCONF_NEEDS", "translate", "target_password", "parse_info", "info_dict", "info_text_fields", "INFO_FIELDS", "parse_config_reply", "parse_command_info", "parse_command_list", "RENAMED_ELSEWHERE"]
