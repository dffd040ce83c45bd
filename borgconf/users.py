"""ACL users: the spec's users compared with ``ACL GETUSER``, set with ``ACL SETUSER``.

Passwords are compared by their SHA-256 (what ``ACL GETUSER`` reports) and
never shown or stored: a plan says only that a password changes. Rules are
sent in the spec's own order (their order is their meaning) and compared as
a multiset with what Redis describes back, since Redis 7.0 and 8.2 print the
same rules in different orders. Whatever Redis still rewrites is caught by
apply's read-back, which then names the spelling Redis uses. A live user with
selectors or extra flags is never "in sync" with a spec that has none.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from typing import Any

from .records import record


@record(frozen=True)
class UserState:
    """One ACL user as the spec wants it or the server has it."""

    enabled: bool
    keys: tuple[str, ...]
    channels: tuple[str, ...]
    commands: tuple[str, ...]  # in order (as sent, or as Redis describes them)
    hashes: frozenset[str]
    nopass: bool = False
    selectors: tuple[str, ...] = ()
    extra_flags: tuple[str, ...] = ()  # e.g. skip-sanitize-payload: access the spec does not give
    acl_line: str = ""  # the server's own ACL LIST rules (hashes, not passwords): replayed on rollback
    denied: tuple[str, ...] = ()  # "-flushall" rules the spec's disabled commands add (checked by ACL DRYRUN)

    def describe(self) -> str:
        """The rules without any password: safe to print and to save in a plan."""
        parts = ["on" if self.enabled else "off", *self.keys]
        parts += list(self.channels) or ["resetchannels"]
        parts += list(self.commands) or ["-@all"]
        parts += [f"({s})" for s in self.selectors]
        parts += list(self.extra_flags)
        if self.nopass:
            parts.append("nopass")
        return " ".join(parts)

    def same_rules(self, other: "UserState", table: "CommandTable | None" = None) -> bool:
        """Same flags, keys and channels, and the same command rules: spelled the
        same (as a multiset), or, given the server's command table, granting
        the same commands (Redis 7.0 describes ``+@read +@write -@dangerous`` as
        about 40 categories and commands; both spellings grant the same).
        The denials of disabled commands are left out of the comparison (Redis
        7.0 drops a ``-flushall`` that denies nothing more): whether the command
        is denied is what ``ACL DRYRUN`` answers, in the command's own change."""
        if (self.enabled, self.keys, self.channels, self.nopass, self.selectors, self.extra_flags) != (
            other.enabled, other.keys, other.channels, other.nopass, other.selectors, other.extra_flags
        ):
            return False
        denied = set(self.denied) | set(other.denied)
        mine = tuple(c for c in self.commands if c not in denied)
        theirs = tuple(c for c in other.commands if c not in denied)
        if Counter(mine) == Counter(theirs):
            return True
        if table is None:
            return False
        a, b = granted(mine, table), granted(theirs, table)
        return a is not None and a == b


# ---------------------------------------------------------------- what command rules grant


@record(frozen=True)
class CommandTable:
    """The server's own command table (``COMMAND``): which commands and
    subcommands exist, their ACL categories, which are module commands."""

    categories: dict  # name ("get", "config|get") -> frozenset of categories (lower case, no "@")
    subcommands: dict  # container name -> frozenset of its subcommand names
    module: frozenset

    @property
    def leaves(self) -> frozenset:
        """What a client can run: commands without subcommands, and every subcommand."""
        return frozenset(n for n in self.categories if n not in self.subcommands)


def _text(v: Any) -> str:
    return v.decode() if isinstance(v, bytes) else str(v)


def parse_command_table(reply: Any) -> CommandTable | None:
    """``COMMAND`` (RESP2 arrays: name, arity, flags, first, last, step,
    categories, tips, key specs, subcommands). None when the reply has
    another shape (then rules are compared as written)."""
    categories: dict[str, frozenset] = {}
    subcommands: dict[str, frozenset] = {}
    module: set[str] = set()

    def add(entry: Any) -> str | None:
        if not isinstance(entry, (list, tuple)) or len(entry) < 7:
            return None
        name = _text(entry[0]).lower()
        flags = {_text(f).lower() for f in (entry[2] or [])}
        categories[name] = frozenset(_text(c).lower().lstrip("@") for c in (entry[6] or []))
        if "module" in flags:
            module.add(name)
        subs = entry[9] if len(entry) > 9 else []
        names = [n for n in (add(sub) for sub in subs or []) if n]
        if names:
            subcommands[name] = frozenset(names)
        return name

    if not isinstance(reply, (list, tuple)):
        return None
    for entry in reply:
        if add(entry) is None:
            return None
    return CommandTable(categories, subcommands, frozenset(module)) if categories else None


def granted(rules: tuple[str, ...], table: CommandTable) -> tuple[bool, frozenset] | None:
    """What ``rules`` (applied after ``reset``) let a user run, as Redis's
    acl.c computes it: ``+@all``/``allcommands`` sets every bit and the
    all-commands flag; ``-@all`` clears them; ``+@cat``/``-@cat`` change every
    non-module command and subcommand of the category, a container with all
    its subcommands (ACLChangeSelectorPerm); ``+cmd``/``-cmd`` a command and its
    subcommands, ``+cmd|sub`` one subcommand; clearing any bit clears the
    all-commands flag. Returns (all-commands flag, the runnable commands
    allowed), or None for a rule this cannot evaluate (an unknown category or
    command, a first-argument rule such as ``+select|0``): then only the
    spelling can be compared."""
    every = set(table.categories)
    allowed: set[str] = set()
    opaque: set[str] = set()
    all_flag = False

    def change(name: str, on: bool) -> None:
        nonlocal all_flag
        names = {name, *table.subcommands.get(name, ())}
        if on:
            allowed.update(names)
        else:
            allowed.difference_update(names)
            all_flag = False

    for rule in rules:
        r = rule.lower()
        if r in ("+@all", "allcommands"):
            allowed, all_flag = set(every), True
            opaque.clear()  # every command, renamed or not
            continue
        if r in ("-@all", "nocommands"):
            allowed, all_flag = set(), False
            opaque.clear()
            continue
        if len(r) < 2 or r[0] not in "+-":
            return None
        on, what = r[0] == "+", r[1:]
        if what.startswith("@"):
            cat = what[1:]
            members = [n for n, cats in table.categories.items() if cat in cats and n.split("|")[0] not in table.module]
            if not members and not any(cat in cats for cats in table.categories.values()):
                return None  # no such category on this server
            for n in members:
                change(n, on)
        elif what in table.categories:
            change(what, on)
        elif what.split("|")[0] not in table.categories:
            # not in COMMAND: renamed or disabled by rename-command (ACL rules use the
            # original names). Compared as written: only an explicit rule changes it.
            (opaque.add if on else opaque.discard)(what)
            if not on:
                all_flag = False
        else:
            return None  # a first-argument rule (+select|0)
    return all_flag, frozenset(n for n in allowed if n in table.leaves) | frozenset("?" + n for n in opaque)


def managed(spec) -> list[str]:
    """The spec's users borgconf manages ("default" belongs to requirepass)."""
    return [name for name in spec.users if name != "default"]


def deny_rules(commands) -> tuple[str, ...]:
    """The ACL rules that deny commands: ``-flushall`` (a whole command, every subcommand)."""
    return tuple("-" + c.lower() for c in commands)


def with_denials(state: UserState, commands) -> UserState:
    """A desired user that also denies the spec's disabled commands, after its own rules
    (the last rule about a command wins)."""
    denied = deny_rules(commands)
    if not denied:
        return state
    from .records import replace

    rules = tuple(c for c in state.commands if c not in denied) + denied
    return replace(state, commands=rules, denied=denied)


def command_rules(acl_line: str) -> list[str]:
    """The command rules of an ``ACL LIST`` line's root selector, in order (Redis starts
    them with ``+@all`` or ``-@all``, so replaying them sets exactly those rules)."""
    words = [w for w in split_acl_rules(acl_line) if not w.startswith("(")]
    return [w for w in words if w[:1] in "+-" or w in ("allcommands", "nocommands")]


def password_hash(password: str) -> str:
    return hashlib.sha256(password.encode()).hexdigest()


def key_rule(pattern: str) -> str:
    return pattern if pattern.startswith(("~", "%")) else "~" + pattern


def channel_rule(pattern: str) -> str:
    return pattern if pattern.startswith("&") else "&" + pattern


def normalize_commands(rules: str) -> tuple[str, ...]:
    tokens = [t.lower() for t in rules.split()]
    tokens = ["+@all" if t == "allcommands" else "-@all" if t == "nocommands" else t for t in tokens]
    while tokens and tokens[0] == "-@all":  # what every user starts from after `reset`
        tokens.pop(0)
    return tuple(dict.fromkeys(tokens))  # a repeated rule says nothing new


def canonical_key_rules(rules) -> set[str]:
    """Key rules as Redis describes them back: one rule per pattern with its
    permissions merged (``%R~x`` and ``%W~x`` are ``~x``), ``%RW~x`` / ``%wr~x``
    as ``~x``, ``%r~x`` as ``%R~x`` (ACLSetSelector; rules validate accepted)."""
    perms: dict[str, set] = {}
    for rule in rules:
        if rule.startswith("%") and "~" in rule:
            flags, _, pattern = rule[1:].partition("~")
            perms.setdefault(pattern, set()).update(flags.upper())
        else:
            perms.setdefault(rule[1:], set()).update("RW")
    return {("~" + p) if f >= {"R", "W"} else f"%{''.join(sorted(f))}~{p}" for p, f in perms.items()}


def desired_state(user) -> UserState:
    keys = tuple(sorted(canonical_key_rules(key_rule(k) for k in user.keys)))
    if "~*" in keys:
        keys = ("~*",)
    return UserState(
        enabled=user.enabled,
        keys=keys,
        channels=tuple(sorted({channel_rule(c) for c in user.channels})),
        commands=normalize_commands(user.commands),
        hashes=frozenset({password_hash(user.password)} if user.password else ()),
    )


def split_acl_rules(text: str) -> list[str]:
    """ACL LIST rules: words, a selector "( ... )" being one word."""
    out, cur, depth = [], "", 0
    for ch in text:
        if ch == " " and depth == 0:
            if cur:
                out.append(cur)
            cur = ""
            continue
        depth += ch == "("
        depth -= ch == ")"
        cur += ch
    if cur:
        out.append(cur)
    return out


def parse_acl_list(lines: list[Any]) -> dict[str, str]:
    """``ACL LIST`` lines -> {user: its rules after the name}."""
    out = {}
    for line in lines or []:
        parts = str(line).split(" ", 2)
        if len(parts) >= 2 and parts[0] == "user":
            out[parts[1]] = parts[2] if len(parts) > 2 else ""
    return out


def parse_getuser(reply: Any, acl_line: str = "") -> UserState | None:
    """``ACL GETUSER`` (RESP2, flat list) as a UserState; None for no such user."""
    if not reply:
        return None
    if isinstance(reply, dict):
        d = reply
    else:
        it = iter(reply)
        d = dict(zip(it, it))
    flags = [str(f) for f in d.get("flags", [])]
    keys = d.get("keys", "")
    keys = keys.split() if isinstance(keys, str) else [str(k) for k in keys]
    channels = d.get("channels", "")
    channels = channels.split() if isinstance(channels, str) else [str(c) for c in channels]
    keys_t = tuple(sorted({("~*" if k == "allkeys" else k) for k in keys}))
    selectors = tuple(w[1:-1] for w in split_acl_rules(acl_line) if w.startswith("(")) if acl_line else ()
    if not acl_line and d.get("selectors"):
        selectors = tuple(str(s) for s in d["selectors"])
    return UserState(
        enabled="on" in flags,
        keys=("~*",) if "~*" in keys_t else keys_t,
        channels=tuple(sorted({("&*" if c == "allchannels" else c) for c in channels if c != "resetchannels"})),
        commands=normalize_commands(str(d.get("commands", ""))),
        hashes=frozenset(str(h) for h in d.get("passwords", [])),
        nopass="nopass" in flags,
        selectors=selectors,
        extra_flags=tuple(sorted(set(flags) - {"on", "off", "nopass", "sanitize-payload"})),
        acl_line=acl_line,
    )


def in_sync(live: UserState | None, want: UserState, table: CommandTable | None = None) -> tuple[bool, bool]:
    """(rules equal, password equal); with the server's command table, command
    rules are equal when they grant the same (UserState.same_rules)."""
    if live is None:
        return False, False
    return live.same_rules(want, table), live.hashes == want.hashes


def setuser_args(name: str, want: UserState, password: str | None, keep_hashes=()) -> list[str]:
    """`reset` then the spec's rules in the spec's order (`resetchannels`: acl-pubsub-default
    may be allchannels). Without a new password the current ones are kept by hash."""
    args = ["ACL", "SETUSER", name, "reset", "resetchannels", "on" if want.enabled else "off"]
    if password:
        args.append(">" + password)
    else:
        args += ["#" + h for h in sorted(keep_hashes)]
    return args + list(want.keys) + list(want.channels) + list(want.commands)


def restore_args(name: str, state: UserState) -> list[str]:
    """Put a user back exactly as the server described it (ACL LIST: hashes, flags,
    rules in order, selectors)."""
    if state.acl_line:
        return ["ACL", "SETUSER", name, "reset", *split_acl_rules(state.acl_line)]
    args = ["ACL", "SETUSER", name, "reset", "resetchannels", "on" if state.enabled else "off"]
    args += ["#" + h for h in sorted(state.hashes)]
    if state.nopass:
        args.append("nopass")
    return args + list(state.keys) + list(state.channels) + list(state.commands)
