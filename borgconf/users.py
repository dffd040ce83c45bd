"""ACL users: the spec's users compared with ``ACL GETUSER``, set with ``ACL SETUSER``.

Passwords are compared by their SHA-256 (what ``ACL GETUSER`` reports) and
never shown or stored: a plan says only that a password changes. Rules are
compared the way Redis describes them back: categories keep their order,
while consecutive single-command rules (``+get +set``) are a set, since Redis
7.0 and 8.2 print those in different orders. Whatever Redis still rewrites
is caught by apply's read-back, which then names the spelling Redis uses.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class UserState:
    enabled: bool
    keys: tuple[str, ...]
    channels: tuple[str, ...]
    commands: tuple[str, ...]
    hashes: frozenset[str]
    nopass: bool = False

    def describe(self) -> str:
        """The rules without any password: safe to print and to save in a plan."""
        parts = ["on" if self.enabled else "off", *self.keys]
        parts += list(self.channels) or ["resetchannels"]
        parts += list(self.commands) or ["-@all"]
        if self.nopass:
            parts.append("nopass")
        return " ".join(parts)

    def same_rules(self, other: "UserState") -> bool:
        return (self.enabled, self.keys, self.channels, self.commands, self.nopass) == (
            other.enabled, other.keys, other.channels, other.commands, other.nopass)


def managed(spec) -> list[str]:
    """The spec's users borgconf manages ("default" belongs to requirepass)."""
    return [name for name in spec.users if name != "default"]


def password_hash(password: str) -> str:
    return hashlib.sha256(password.encode()).hexdigest()


def _key(pattern: str) -> str:
    return pattern if pattern.startswith(("~", "%")) else "~" + pattern


def normalize_commands(rules: str) -> tuple[str, ...]:
    tokens = [t.lower() for t in rules.split()]
    tokens = ["+@all" if t == "allcommands" else "-@all" if t == "nocommands" else t for t in tokens]
    while tokens and tokens[0] == "-@all":  # what every user starts from after `reset`
        tokens.pop(0)
    out: list[str] = []
    run: list[str] = []
    for t in tokens + [""]:
        if t and "@" not in t:
            run.append(t)
            continue
        out += sorted(run)
        run = []
        if t:
            out.append(t)
    return tuple(out)


def desired_state(user) -> UserState:
    keys = tuple(sorted({_key(k) for k in user.keys}))
    if "~*" in keys:
        keys = ("~*",)
    return UserState(
        enabled=user.enabled,
        keys=keys,
        channels=tuple(sorted({"&" + c for c in user.channels})),
        commands=normalize_commands(user.commands),
        hashes=frozenset({password_hash(user.password)} if user.password else ()),
    )


def parse_getuser(reply: Any) -> UserState | None:
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
    return UserState(
        enabled="on" in flags,
        keys=("~*",) if "~*" in keys_t else keys_t,
        channels=tuple(sorted({("&*" if c == "allchannels" else c) for c in channels if c != "resetchannels"})),
        commands=normalize_commands(str(d.get("commands", ""))),
        hashes=frozenset(str(h) for h in d.get("passwords", [])),
        nopass="nopass" in flags,
    )


def in_sync(live: UserState | None, want: UserState) -> tuple[bool, bool]:
    """(rules equal, password equal)."""
    if live is None:
        return False, False
    return live.same_rules(want), live.hashes == want.hashes


def setuser_args(name: str, want: UserState, password: str | None) -> list[str]:
    args = ["ACL", "SETUSER", name, "reset", "on" if want.enabled else "off"]
    if password:
        args.append(">" + password)
    args += list(want.keys) + list(want.channels) + list(want.commands)
    return args


def restore_args(name: str, state: UserState) -> list[str]:
    """Put a user back exactly as it was, passwords by their hashes."""
    args = ["ACL", "SETUSER", name, "reset", "on" if state.enabled else "off"]
    args += ["#" + h for h in sorted(state.hashes)]
    if state.nopass:
        args.append("nopass")
    return args + list(state.keys) + list(state.channels) + list(state.commands)
