"""``borgconf import``: a spec of a server as it runs (adoption of an existing install).

Two layers, like the rest of borgconf: :func:`read_server` only reads (two
round trips: ``CONFIG GET *``, ``INFO``, ``COMMAND LIST``, ``ACL LIST``, then
``COMMAND INFO`` of every listed command and ``ACL GETUSER`` of every user),
and :func:`build_spec` is pure: facts in, spec text out, tested from captured
replies.

What goes into the spec:

* the parameters whose value differs from the default of that server's
  version (:func:`version_defaults`), in the spec's units (``2gb``, ``save``
  as pairs, booleans as true/false);
* secrets only as ``${VAR}`` placeholders: ``requirepass`` is
  ``${REDIS_PASSWORD}``, ``masterauth`` ``${REDIS_MASTERAUTH}``, a user's
  password ``${<USER>_PASSWORD}`` (only its hash can be read anyway), a renamed
  CONFIG ``${REDIS_CONFIG_COMMAND}`` and any other renamed command
  ``${REDIS_<COMMAND>_COMMAND}`` (Redis never reveals a new name);
* disabled commands, seen live: a command neither answered by ``COMMAND INFO``
  nor listed by ``COMMAND LIST`` (``rename-command X ""``), or one that no user
  may run (ACL rules; ``ACL DRYRUN`` asks the server);
* parameters the environment owns (port, bind, dir, logfile, pidfile,
  daemonize, ...) are left out and named in a comment: compose, systemd or the
  image decide them, and a spec that set them would fight its deployment.
  ``replicaof`` of a replica goes to ``ignore:`` (the topology owns it);
* non-empty databases as commented service suggestions (a service needs the
  application's name, which only the operator knows).

Every value written is put through the same checks as a spec value, so the
written spec validates; a value that would not is left out with a comment.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from . import params as P
from .errors import BorgconfError
from .records import field, record

#: Parameters owned by the environment a server runs in (never written).
ENVIRONMENT_OWNED = frozenset(
    {
        "port", "bind", "bind-source-addr", "dir", "logfile", "pidfile", "daemonize", "supervised",
        "unixsocket", "unixsocketperm", "unixsocketgroup", "aclfile", "cluster-config-file",
        "server_cpulist", "bio_cpulist", "aof_rewrite_cpulist", "bgsave_cpulist",
        "server-cpulist", "bio-cpulist", "aof-rewrite-cpulist", "bgsave-cpulist",
        "tls-port", "tls-cert-file", "tls-key-file", "tls-client-cert-file", "tls-client-key-file",
        "tls-dh-params-file", "tls-ca-cert-file", "tls-ca-cert-dir", "syslog-enabled", "syslog-ident",
        "syslog-facility", "always-show-logo", "set-proc-title", "proc-title-template", "locale-collate",
        "oom-score-adj", "oom-score-adj-values", "enable-debug-command", "enable-module-command",
        "enable-protected-configs", "cluster-announce-ip", "cluster-announce-port",
        "cluster-announce-bus-port", "cluster-announce-tls-port", "cluster-announce-hostname",
        "replica-announce-ip", "replica-announce-port",
    }
)
#: Owned by the replication topology (Sentinel, an operator): listed under ignore: when set.
TOPOLOGY_OWNED = ("replicaof",)
#: Valkey 8.1+ names one setting twice (the catalog lists both names): written under the
#: name every server knows. Proven on the servers by tests/integration/test_import.py.
SAME_SETTING = {
    "commandlog-execution-slower-than": "slowlog-log-slower-than",
    "commandlog-slow-execution-max-len": "slowlog-max-len",
}
#: Secrets: the placeholder written instead of the value.
SECRET_PLACEHOLDERS = {
    "requirepass": "REDIS_PASSWORD",
    "masterauth": "REDIS_MASTERAUTH",
    "tls-key-file-pass": "REDIS_TLS_KEY_FILE_PASS",
    "tls-client-key-file-pass": "REDIS_TLS_CLIENT_KEY_FILE_PASS",
}
#: Commands operators disable or rename; all exist on Redis 7.0+, 8.x and Valkey 8.
DANGEROUS_COMMANDS = (
    "FLUSHALL", "FLUSHDB", "CONFIG", "KEYS", "DEBUG", "SHUTDOWN", "SAVE", "BGSAVE", "BGREWRITEAOF",
    "MONITOR", "REPLICAOF", "SLAVEOF", "MIGRATE", "RESTORE", "SWAPDB", "MODULE", "SCRIPT", "EVAL",
    "EVALSHA", "FUNCTION", "ACL", "CLUSTER", "CLIENT", "SYNC", "PSYNC", "FAILOVER", "SORT",
    "LATENCY", "PFDEBUG", "PFSELFTEST", "OBJECT", "MEMORY", "SLOWLOG", "LASTSAVE",
)


# ---------------------------------------------------------------- defaults per version


@lru_cache(maxsize=1)
def _known_servers() -> frozenset[str]:
    """The servers the catalog was captured from (tests/redis-facts)."""
    return frozenset(k for p in P.catalog().params.values() for k in p.servers)


@lru_cache(maxsize=8)
def _catalog_defaults(key: str) -> dict[str, str]:
    out = {}
    for p in P.catalog().params.values():
        default = p.default_for(key)
        if default is not None:
            out[p.name] = default
    return out


def server_key(flavour: str, version: str) -> str:
    """The key of the captured server whose defaults apply: the server's own
    ("valkey-9.1"), else the nearest captured one of its flavour."""
    from .params import server_key as exact

    key = exact(flavour, version)
    if key in _known_servers():
        return key
    major = version.split(".", 1)[0]
    if flavour == "valkey":
        return "valkey-9.1" if major.isdigit() and int(major) >= 9 else "valkey-8.1" if major.isdigit() and int(major) >= 8 else "valkey-8"
    return "redis-8.2" if major.isdigit() and int(major) >= 8 else "redis-7.0"


def version_defaults(flavour: str, version: str) -> tuple[str, dict[str, str]]:
    """(server key, {parameter: default as the server reports it}) for a server:
    the catalog's ``Param.default_for(server_key)`` (compiled-in defaults, so
    port, bind and save too; ``dir`` has none)."""
    key = server_key(flavour, version)
    return key, _catalog_defaults(key)


# ---------------------------------------------------------------- facts


@record
class ServerFacts:
    """What import read from one server (all replies already parsed)."""

    address: str
    flavour: str
    version: str
    config: dict[str, str]
    keyspace: dict[int, int] = field(default_factory=dict)
    config_file: str = ""
    mode: str = "standalone"
    role: str = "master"
    listed: set[str] = field(default_factory=set)  # COMMAND LIST, lower case, top-level names
    answered: dict[str, bool] = field(default_factory=dict)  # COMMAND INFO <NAME> not null
    denied: set[str] = field(default_factory=set)  # dangerous commands no user may run (ACL rules: disabled live)
    users: dict[str, Any] = field(default_factory=dict)  # name -> users.UserState
    password_used: str | None = None  # the password import connected with (never written)
    config_command: str = "CONFIG"


def _is_unknown_command(reply: Any) -> bool:
    return isinstance(reply, Exception) and "unknown command" in str(reply).lower()


def read_server(client, target, *, config_command: str = "CONFIG", password: str | None = None) -> ServerFacts:
    """Read everything import needs; writes nothing."""
    import redis.exceptions as rx

    from .live import first_call, info_dict, parse_config_reply, parse_info, translate
    from .wire import raising, round_trip
    from .users import parse_acl_list, parse_getuser

    address = getattr(client, "borgconf_address", target.address)

    def first():  # CONFIG GET's error is its own (a renamed CONFIG), below
        replies = round_trip(client, [(config_command, "GET", "*"), ("INFO", "server", "memory", "replication", "keyspace"), ("COMMAND", "LIST"), ("ACL", "LIST")])
        return [replies[0], *raising(replies[1:])]

    try:
        replies = first_call(client, address, first)
    except rx.RedisError as exc:
        raise translate(exc, target, address, "read the server (INFO, COMMAND LIST, ACL LIST)") from None
    config_reply, info, listed_reply, acl_reply = replies
    info = info_dict(info)
    if _is_unknown_command(config_reply):
        raise BorgconfError(
            f"{address} does not answer {config_command!r} (CONFIG renamed or disabled): "
            "set BORGCONF_CONFIG_COMMAND to the name CONFIG answers to"
        )
    if isinstance(config_reply, Exception):
        raise translate(config_reply, target, address, "read the configuration (CONFIG GET)")
    config = parse_config_reply(config_reply)
    facts = parse_info(info)
    listed = {str(n).lower() for n in listed_reply or [] if "|" not in str(n)}
    acl_lines = parse_acl_list(acl_reply)
    names = sorted({n.upper() for n in listed} | set(DANGEROUS_COMMANDS))
    users = sorted(acl_lines)

    def second():
        return raising(round_trip(client, [("COMMAND", "INFO", *names), *(("ACL", "GETUSER", name) for name in users)]))

    try:
        info_reply, *getusers = second()
    except rx.RedisError as exc:
        raise translate(exc, target, address, "read commands and users (COMMAND INFO, ACL GETUSER)") from None
    answered = {name: reply is not None for name, reply in zip(names, info_reply or [])}
    denied = _denied_to_everyone(client, target, address, dict(zip(names, info_reply or [])), answered, users)
    return ServerFacts(
        address=address,
        flavour=facts["flavour"],
        version=facts["version"],
        config=config,
        keyspace=facts["keyspace"],
        config_file=facts["config_file"],
        mode=facts["mode"],
        role=str(info.get("role", "master")),
        listed=listed,
        answered=answered,
        denied=denied,
        users={name: parse_getuser(r, acl_lines.get(name, "")) for name, r in zip(users, getusers)},
        password_used=password,
        config_command=config_command,
    )


# ---------------------------------------------------------------- the spec


def _denied_to_everyone(client, target, address: str, infos: dict[str, Any], answered: dict[str, bool], users: list[str]) -> set[str]:
    """The dangerous commands that exist under their own name and that no user may run
    (ACL DRYRUN, the server's own answer): disabled live through ACL rules, the way
    ``commands: {X: disabled}`` converges (issue 11), so import writes them as disabled."""
    from .live import deniable, read_allowed

    asks = {n: infos[n] for n in DANGEROUS_COMMANDS if answered.get(n) and infos.get(n) is not None and deniable(n, target)}
    if not asks or not users:
        return set()
    allowed, _ = read_allowed(client, target, address, asks, users)
    return {cmd for cmd, who in allowed.items() if not who}


def command_states(facts: ServerFacts) -> dict[str, str]:
    """{COMMAND: "disabled" | "renamed"} for every command not reachable under its own name.

    Renamed: still in ``COMMAND LIST`` under its original name, yet ``COMMAND
    INFO <name>`` answers null (see redis-facts/*/renames.md). Disabled: neither.
    Only the well-known dangerous commands can be told disabled (a command the
    server never had looks the same).
    """
    out = {}
    for name, ok in sorted(facts.answered.items()):
        if ok:
            continue
        if name.lower() in facts.listed:
            out[name] = "renamed"
        elif name in DANGEROUS_COMMANDS:
            out[name] = "disabled"
    for name in sorted(facts.denied):  # reachable by name, but denied to every user
        out[name] = "disabled"
    return dict(sorted(out.items()))


def _escape(text: str) -> str:
    return text.replace("$", "$$")  # a literal $ in a spec (interpolation reads ${...})


def env_name(text: str) -> str:
    return re.sub(r"[^A-Z0-9_]", "_", text.upper())


def spec_value(p: P.Param, raw: str) -> Any:
    """A live value in the spec's own spelling: 2gb, save pairs, true/false, numbers."""
    canonical = P.canonical_live(p, raw)
    t = p.type
    if t == "memory" and canonical is not None and canonical.isdigit():
        shown = _human(int(canonical))
        return int(canonical) if shown == canonical else shown
    if t == "bool" and canonical in ("yes", "no"):
        return canonical == "yes"
    if t == "save":
        return [f"{s} {c}" for s, c in P.parse_save(canonical or "")]
    if t == "int" and not p.octal and canonical is not None and re.fullmatch(r"-?\d+", canonical):
        return int(canonical)
    if t == "client-output-buffer-limit" and canonical:
        parsed = P.parse_cobl(canonical)
        return " ".join(f"{c} {_human(h)} {_human(s)} {sec}" for c, (h, s, sec) in parsed.items())
    return _escape(canonical or "")


def _human(n: int) -> str:
    for unit, size in (("gb", 1024**3), ("mb", 1024**2), ("kb", 1024)):
        if n and n % size == 0:
            return f"{n // size}{unit}"
    return str(n)


@record
class Imported:
    text: str  # the spec file
    parameters: list[str]  # parameters written under server:
    variables: dict[str, str]  # ${VAR} -> what it stands for
    left_out: list[str]  # parameters not written, with the reason


@record
class _Parts:
    """What import writes for one server, before it becomes a spec's text."""

    server: dict[str, Any]
    secrets: dict[str, str]  # sensitive parameter -> its live value (compared across nodes, never written)
    variables: dict[str, str]
    env_owned: list[str]
    left_out: list[str]
    ignore: list[str]
    commands: dict[str, str]
    users: dict[str, Any]
    user_notes: list[str]
    target: dict[str, Any]


def _parts(facts: ServerFacts, url: str) -> _Parts:
    """The spec parts of one server (pure)."""
    from .discovery import owned_by_topology

    catalog = P.catalog()
    _, defaults = version_defaults(facts.flavour, facts.version)
    server: dict[str, Any] = {}
    secrets: dict[str, str] = {}
    variables: dict[str, str] = {}
    env_owned: list[str] = []
    left_out: list[str] = []
    ignore: list[str] = []
    seen: set[str] = set()
    managed_by = "cluster" if facts.mode == "cluster" else None
    for raw_name in sorted(facts.config):
        p = catalog.lookup(raw_name)
        if p is None:
            left_out.append(f"{raw_name}: not in borgconf's catalog")
            continue
        if p.name in seen:
            continue  # an alias the server reports too (slave-read-only, ...)
        if SAME_SETTING.get(p.name) in facts.config:
            continue  # Valkey's new name of a setting written under its old one
        seen.add(p.name)
        raw = p.value_in(facts.config)
        known = p.value_in(defaults)
        if p.name in ENVIRONMENT_OWNED or any(a in ENVIRONMENT_OWNED for a in p.aliases):
            if known is None or P.canonical_live(p, raw) != P.canonical_live(p, known):
                env_owned.append(p.name)  # dir has no default: always the deployment's
            continue
        default = known if known is not None else p.default
        if default is not None and P.canonical_live(p, raw) == P.canonical_live(p, default):
            continue
        if p.name in TOPOLOGY_OWNED or owned_by_topology(p.name, managed_by):
            if raw.strip():
                ignore.append(p.name)
            continue
        if p.sensitive:
            if raw == "":
                continue
            var = SECRET_PLACEHOLDERS.get(p.name, env_name(f"REDIS_{p.name}"))
            server[p.name] = f"${{{var}}}"
            secrets[p.name] = raw
            variables[var] = f"server.{p.name} (the server's current value)"
            continue
        value = spec_value(p, raw)
        try:
            P.check(p, value if not isinstance(value, str) else value.replace("$$", "$"))
        except P.InvalidValue as e:
            left_out.append(f"{p.name}: {e}")
            continue
        server[p.name] = value

    target: dict[str, Any] = {"url": url}
    if facts.password_used:
        if facts.password_used == facts.config.get("requirepass"):
            target["password"] = "${REDIS_PASSWORD}"
        else:
            target["password"] = "${REDIS_TARGET_PASSWORD}"
            variables["REDIS_TARGET_PASSWORD"] = "the password borgconf connects with"
    commands: dict[str, str] = {}
    for cmd, state in command_states(facts).items():
        if state == "disabled":
            commands[cmd] = "disabled"
        elif cmd == "CONFIG":
            commands[cmd] = "${REDIS_CONFIG_COMMAND}"
            variables["REDIS_CONFIG_COMMAND"] = "the name CONFIG was renamed to"
        else:
            var = f"REDIS_{env_name(cmd)}_COMMAND"
            commands[cmd] = f"${{{var}}}"
            variables[var] = f"the name {cmd} was renamed to"
    if facts.config_command != "CONFIG" or commands.get("CONFIG", "").startswith("${"):
        target["config_command"] = "${REDIS_CONFIG_COMMAND}"
        variables["REDIS_CONFIG_COMMAND"] = "the name CONFIG was renamed to"
        commands["CONFIG"] = "${REDIS_CONFIG_COMMAND}"
    target["persist"] = "rewrite" if facts.config_file else "none"

    users: dict[str, Any] = {}
    user_notes: list[str] = []
    taken = set(variables) | {"REDIS_PASSWORD"}
    for name, state in sorted(facts.users.items()):
        if name == "default" or state is None:
            continue
        why = _inexpressible(state)
        if why:
            user_notes.append(f"user {name} left out: {why}")
            continue
        entry: dict[str, Any] = {}
        if not state.enabled:
            entry["enabled"] = False
        entry["keys"] = [_escape(_strip(k, "~")) for k in state.keys]
        if state.channels:
            entry["channels"] = [_escape(_strip(c, "&")) for c in state.channels]
        entry["commands"] = " ".join(state.commands) or "-@all"
        problem = _user_problem(name, entry)
        if problem:
            user_notes.append(f"user {name!r} left out: {problem}")
            continue
        if state.hashes:
            var = env_name(name) + "_PASSWORD"
            while var in taken:
                var = "USER_" + var
            taken.add(var)
            entry = {"password": f"${{{var}}}", **entry}
            variables[var] = f"the password of user {name}"
        users[name] = entry
    return _Parts(server, secrets, variables, env_owned, left_out, ignore, commands, users, user_notes, target)


def build_spec(facts: ServerFacts, url: str, *, now: str | None = None) -> Imported:
    """The spec text of a server (pure)."""
    key, _ = version_defaults(facts.flavour, facts.version)
    part = _parts(facts, url)
    header = (
        f"Written by `borgconf import` from {facts.address} ({_label(facts)}, role {facts.role}"
        + (f", {facts.mode}" if facts.mode != "standalone" else "")
        + ")"
        + (f" at {now}" if now else "")
        + f".\nParameters: those that differ from the defaults of {key}."
    )
    targets = [_comment("The server runs without a config file: CONFIG REWRITE cannot persist; persist: none.")] if part.target["persist"] == "none" else []
    targets.append(_dump({"target": part.target}))
    return Imported(
        text=_write(header, targets, part.server, part.ignore, part.commands, part.users, part.user_notes, part.env_owned, part.left_out, part.variables,
                    _databases(facts.config), facts.keyspace),
        parameters=list(part.server),
        variables=part.variables,
        left_out=part.left_out,
    )


def _label(facts: ServerFacts) -> str:
    return f"{'Valkey' if facts.flavour == 'valkey' else 'Redis'} {facts.version}"


def _databases(config: dict[str, str]) -> int:
    return int(config.get("databases", "16") or 16)


# ---------------------------------------------------------------- a replication group or cluster


def node_name(address: str) -> str:
    """A discovered node's target name: its address (as a plan names a discovered node)."""
    return address.replace("[", "").replace("]", "")


def build_group_spec(nodes: list[tuple[Any, ServerFacts]], url: str, mode: str, *, now: str | None = None) -> Imported:
    """One spec for every node of a replication group or cluster (pure).

    ``nodes``: (discovery.Node, its facts), in discovery's order. What every
    node agrees on goes into the shared ``server:`` block (a secret: when its
    live value is the same on every node), users and commands likewise; a
    parameter where nodes differ goes into each node's own ``server:`` (a
    target per node, named by its address). When no node differs, the spec is
    one target with ``discover:`` at ``url``, which also finds nodes added
    later. What the topology owns (``replicaof``, ``cluster-*`` of the node)
    is under ``ignore:`` and never in a ``server:`` block."""
    scheme = url.split("://", 1)[0]
    parts = [(node, facts, _parts(facts, f"{scheme}://{node.address}")) for node, facts in nodes]
    if not parts:
        raise BorgconfError(f"discover: {mode} found no node at {url}")

    def same(name: str) -> bool:
        first = parts[0][2]
        return all(name in p.server and p.server[name] == first.server[name] and p.secrets.get(name) == first.secrets.get(name) for _, _, p in parts)

    names = list(dict.fromkeys(n for _, _, p in parts for n in p.server))
    shared = {n: parts[0][2].server[n] for n in names if same(n)}
    variables: dict[str, str] = {}
    overrides: dict[str, dict[str, Any]] = {}
    for node, facts, p in parts:
        own: dict[str, Any] = {}
        for n, v in p.server.items():
            if n in shared:
                continue
            if n in p.secrets:  # a secret that differs: this node's own variable
                base = v[2:-1]
                v = f"${{{base}_{env_name(node_name(node.address))}}}"
                variables[v[2:-1]] = f"server.{n} of {node.address} (its current value)"
                if p.target.get("password") == "${REDIS_PASSWORD}" and n == "requirepass":
                    p.target["password"] = v
            own[n] = v
        overrides[node.address] = own
    notes: list[str] = []

    def agreed(attr: str, what: str) -> dict[str, Any]:
        out = {}
        keys = list(dict.fromkeys(k for _, _, p in parts for k in getattr(p, attr)))
        for k in keys:
            values = [getattr(p, attr).get(k) for _, _, p in parts]
            if all(v == values[0] for v in values):
                out[k] = values[0]
            else:
                have = [n.address for (n, _, _), v in zip(parts, values) if v is not None]
                notes.append(f"{what} {k} left out: the nodes differ ({', '.join(have)} have it, not all alike); a spec holds one for every node")
        return out

    users = agreed("users", "user")
    commands = agreed("commands", "command")
    ignore = sorted({n for _, _, p in parts for n in p.ignore})
    env_owned = sorted({n for _, _, p in parts for n in p.env_owned})
    left_out = list(dict.fromkeys(n for _, _, p in parts for n in p.left_out))
    user_notes = list(dict.fromkeys([*(n for _, _, p in parts for n in p.user_notes), *notes]))
    differ = any(overrides.values())
    _, first, first_part = parts[0]
    keys = sorted({version_defaults(f.flavour, f.version)[0] for _, f, _ in parts})
    roles = ", ".join(f"{n.address} ({_label(f)}, {'replica of ' + n.primary if n.role == 'replica' and n.primary else n.role})" for n, f, _ in parts)
    header = (
        f"Written by `borgconf import` from the {'Redis Cluster' if mode == 'cluster' else 'replication group'} found at {url} "
        + f"(discover: {mode})" + (f" at {now}" if now else "") + f": {len(parts)} node(s): {roles}."
        + f"\nParameters: those that differ from the defaults of {', '.join(keys)}; what every node agrees on is in the shared server: block."
    )
    if differ:
        targets = [_comment(
            "The nodes differ, so each is a target with its own server: block (merged over the shared one); "
            f"a target with discover: {mode} would give every node the same settings."
        )]
        listed = []
        for node, facts, p in parts:
            t = {"name": node_name(node.address), **p.target}
            if overrides[node.address]:
                t["server"] = overrides[node.address]
            listed.append(t)
        targets.append(_dump({"targets": listed}))
    else:
        seed = dict(first_part.target)
        seed["url"] = url
        seed = {"name": "group" if mode == "replicas" else "cluster", **seed, "discover": mode}
        if any(p.target.get("persist") != seed["persist"] for _, _, p in parts):
            seed["persist"] = "none"
        targets = [_comment(f"Every node agrees: one target with discover: {mode} stands for all of them (and for nodes added later)."), _dump({"targets": [seed]})]
    described = dict(variables)
    for _, _, p in parts:
        for k, v in p.variables.items():
            described.setdefault(k, v)
    written = str([shared, commands, users, [p.target for _, _, p in parts], list(overrides.values())])
    variables = {k: described[k] for k in sorted(set(re.findall(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)\}", written)))}
    keyspace: dict[int, int] = {}
    for node, facts, _ in parts:
        if node.role == "primary":
            for db, n in facts.keyspace.items():
                keyspace[db] = keyspace.get(db, 0) + n
    return Imported(
        text=_write(header, targets, shared, ignore, commands, users, user_notes, env_owned, left_out, variables, _databases(first.config), keyspace),
        parameters=list(shared) + [f"{name}: {n}" for name, o in overrides.items() for n in o],
        variables=variables,
        left_out=left_out,
    )


def _user_problem(name: str, entry: dict) -> str:
    """Why a spec could not hold this user as read (a name or rule the spec refuses), or ""."""
    from pydantic import ValidationError

    from .spec.names import USER_NAME
    from .spec.schema import User

    if not USER_NAME.fullmatch(name):
        return "the spec's user names are letters, digits, _ . @ -"
    try:
        User.model_validate({k: (v.replace("$$", "$") if isinstance(v, str) else v) for k, v in entry.items() if k != "password"})
    except ValidationError as e:
        return "; ".join(str(err["msg"]).removeprefix("Value error, ") for err in e.errors(include_url=False))
    return ""


def _strip(pattern: str, sigil: str) -> str:
    rest = pattern[1:] if pattern.startswith(sigil) else pattern
    return rest if rest and not rest.startswith(("~", "%", "&")) else pattern


def _inexpressible(state) -> str:
    if state.nopass:
        return "nopass (a spec user always needs a password or none at all)"
    if len(state.hashes) > 1:
        return f"{len(state.hashes)} passwords (a spec user has one)"
    if state.selectors:
        return "ACL selectors"
    if state.extra_flags:
        return "flags " + ", ".join(state.extra_flags)
    return ""


def _dump(data: dict) -> str:
    import io

    from ruamel.yaml import YAML

    yaml = YAML()
    yaml.default_flow_style = False
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=4, offset=2)
    buf = io.StringIO()
    yaml.dump(data, buf)
    return buf.getvalue()


def _comment(text: str) -> str:
    return "".join(f"# {line}".rstrip() + "\n" for line in text.splitlines())


def _write(header, targets, server, ignore, commands, users, user_notes, env_owned, left_out, variables, databases, keyspace) -> str:
    parts = [
        _comment(
            header
            + ("\nNo secret is in this file: set these variables (environment or --env-file) before plan:" if variables else "")
        )
    ]
    for var, what in sorted(variables.items()):
        parts.append(_comment(f"  {var}: {what}"))
    parts.append("\n")
    parts.append(_dump({"version": 1}))
    parts += targets
    parts.append("\n")
    if env_owned:
        parts.append(_comment("Left out, owned by the environment (compose, systemd, the image): " + ", ".join(sorted(env_owned))))
    for note in left_out:
        parts.append(_comment(f"Left out: {note}"))
    parts.append(_dump({"server": server}) if server else "server: {}\n")
    if ignore:
        parts.append("\n" + _comment("Owned by the replication topology: never planned."))
        parts.append(_dump({"ignore": ignore}))
    if commands:
        parts.append("\n" + _comment("Seen live: disabled (rename-command X \"\", or denied to every user by ACL rules) and renamed commands."))
        parts.append(_dump({"commands": commands}))
    if users or user_notes:
        parts.append("\n" + _comment("ACL users (only password hashes can be read: each password is a variable)."))
        for note in user_notes:
            parts.append(_comment(note))
        if users:
            parts.append(_dump({"users": users}))
    parts.append("\n")
    used = sorted(db for db, n in keyspace.items() if n > 0)
    if used:
        parts.append(_comment(f"Databases holding keys (of {databases}): name the application of each, e.g."))
        for db in used:
            parts.append(_comment(f"  app{db}: {{db: {db}}}   # {keyspace[db]} keys"))
    else:
        parts.append(_comment(f"No database holds keys yet (of {databases}); one service per application, e.g."))
        parts.append(_comment("  myapp: {db: 0, role: cache}"))
    parts.append("services: {}\n")
    return "".join(parts)


def import_server(target, url: str, *, config_command: str = "CONFIG", now: str | None = None) -> Imported:
    """Connect, read, build (the CLI's one call)."""
    from .live import target_password

    facts = _read(target, config_command, target_password(target), url=url)
    _register_secrets(facts, config_command)
    return build_spec(facts, url, now=now)


def _read(target, config_command: str, password: str | None, *, url: str | None = None) -> ServerFacts:
    """Connect to one server, read it (read_server), close."""
    from .live import connect

    client = connect(target, url=url)
    try:
        return read_server(client, target, config_command=config_command, password=password)
    finally:
        client.close()


def _register_secrets(facts: ServerFacts, config_command: str) -> None:
    """The server's secrets (and a renamed CONFIG) with the redactor, before anything
    is built from them; after the reads, in the calling thread (every output reads redact's set)."""
    from . import redact

    for secret in (facts.config.get(n) for n in SECRET_PLACEHOLDERS):
        if secret:
            redact.register(secret)
    if config_command != "CONFIG":
        redact.register(config_command)


def import_group(target, url: str, mode: str, *, config_command: str = "CONFIG", now: str | None = None, parallel: int = 8) -> Imported:
    """Discover every node from the server at ``url`` (discovery.discover, mode
    ``replicas`` or ``cluster``), read each (concurrently, at most ``parallel``
    at once) and build one spec of them all. A node discovery reports as failed
    or unreadable is an error naming it: nothing is written for part of a group."""
    import concurrent.futures as cf

    from .discovery import discover
    from .fleet import _url_address, node_target
    from .live import connect, target_password

    password = target_password(target)
    seed = target.model_copy(update={"url": url})

    def connect_node(host: str, port: int):
        return connect(node_target(seed, host, port))

    nodes = discover(connect_node, _url_address(url), mode, parallel=parallel)
    bad = [n for n in nodes if not n.port or not n.healthy]
    if bad:
        raise BorgconfError(
            f"discover: {mode} from {_url_address(url)}: " + "; ".join(f"{n.address}: {n.problem or 'not healthy'}" for n in bad)
            + "; import reads every node (nothing written)"
        )

    def read(node):
        return _read(node_target(seed, node.host, node.port), config_command, password)

    with cf.ThreadPoolExecutor(max_workers=max(1, min(parallel, len(nodes)))) as pool:
        facts = list(pool.map(read, nodes))  # the first node's error, in discovery's order
    for f in facts:
        _register_secrets(f, config_command)
    return build_group_spec(list(zip(nodes, facts)), url, mode, now=now)


def write_spec(path: str, text: str, *, force: bool = False) -> None:
    """0600, atomically; an existing file only with ``force``."""
    import os

    from .files import write_atomic

    if os.path.lexists(path) and not force:
        raise BorgconfError(f"{path} exists; pass --force to overwrite it")
    try:
        write_atomic(path, text, mode=0o600)
    except OSError as e:
        raise BorgconfError(f"cannot write {path}: {e.strerror or e}") from None


__all__ = ["ServerFacts", "Imported", "read_server", "build_spec", "build_group_spec", "import_server", "import_group", "node_name", "write_spec", "version_defaults", "server_key", "command_states", "spec_value", "ENVIRONMENT_OWNED", "DANGEROUS_COMMANDS"]
