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
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class UserState:
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

    def same_rules(self, other: "UserState") -> bool:
        """Equal rules. The denials of disabled commands are left out of the comparison
        (Redis 7.0 drops a ``-flushall`` that denies nothing more): whether the command
        is denied is what ``ACL DRYRUN`` answers, in the command's own change."""
        denied = set(self.denied) | set(other.denied)
        return (
            (self.enabled, self.keys, self.channels, self.nopass, self.selectors, self.extra_flags)
            == (other.enabled, other.keys, other.channels, other.nopass, other.selectors, other.extra_flags)
            and Counter(c for c in self.commands if c not in denied) == Counter(c for c in other.commands if c not in denied)
        )


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
    import dataclasses

    rules = tuple(c for c in state.commands if c not in denied) + denied
    return dataclasses.replace(state, commands=rules, denied=denied)


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


def desired_state(user) -> UserState:
    keys = tuple(sorted({key_rule(k) for k in user.keys}))
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


def in_sync(live: UserState | None, want: UserState) -> tuple[bool, bool]:
    """(rules equal, password equal)."""
    if live is None:
        return False, False
    return live.same_rules(want), live.hashes == want.hashes


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
