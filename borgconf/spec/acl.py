"""ACL rules and command names, checked offline, as the servers check them.

The command tables of the supported servers (``COMMAND LIST`` of Redis 7.0,
Redis 8.2, Valkey 8.0, 8.1 and 9.1) ship as ``data/commands.json``: every
command and subcommand, which servers know it, which are module commands, and
the ACL categories (``ACLCommandCategories`` in Redis's src/acl.c; every
supported server answers the same 21 to ``ACL CAT``). It is read on first
use only, beside this package as the catalog is (no importlib.resources).

The rule grammar is Redis's own (``ACLSetUser`` and ``ACLSetSelector`` in
src/acl.c), so a rule these functions accept is one a server accepts from a
``user`` line of redis.conf, and one they refuse is one it refuses at start-up
("Error in user declaration", "Unknown command or category name in ACL"):

* ``~pattern``; ``%R~pattern``, ``%W~pattern``, ``%RW~pattern`` (R and W once
  each, in any order, then ``~``); ``allkeys`` (= ``~*``), ``resetkeys``; a
  pattern after ``~*``/``allkeys`` is refused (until ``resetkeys``);
* ``&pattern``, ``allchannels`` (= ``&*``), ``resetchannels``; likewise after ``&*``;
* ``+cmd``, ``-cmd``, ``+cmd|sub``, ``-cmd|sub`` (a real subcommand);
  ``+cmd|first-arg`` for a command without subcommands (deprecated, + only);
  ``+@category``, ``-@category``, ``allcommands`` (= ``+@all``), ``nocommands``
  (= ``-@all``);
* user flags ``on``, ``off``, ``nopass``, ``resetpass``, ``reset``,
  ``[skip-]sanitize-payload``, passwords (``>``, ``<``, ``#``, ``!``: 64
  lower-case hex digits), ``clearselectors`` and selectors ``(rules...)``.

Two refusals are borgconf's, not Redis's, for rules Redis takes but that can
only be a mistake: ``%R`` (or ``%RW``) without ``~pattern`` (a pattern that
matches only the empty key name), and a key or channel pattern written before
``*`` (``*`` alone says the same). A command (or subcommand) only some
supported servers know is accepted: a server without it refuses the rule, and
the spec names the command on purpose.
"""

from __future__ import annotations

import json
import os
from functools import lru_cache
from typing import NoReturn

from ..records import field, record

ALL_SERVERS = "*"


def _close(word: str, options, n: int = 1, cutoff: float = 0.6) -> list[str]:
    """difflib's close matches; difflib is imported only when a suggestion is needed (start-up, issue 15)."""
    import difflib

    return difflib.get_close_matches(word, options, n=n, cutoff=cutoff)


@record(frozen=True)
class CommandTable:
    """What the supported servers' command tables hold (lower-case names; a
    subcommand as ``container|sub``)."""

    servers: tuple[str, ...]
    categories: tuple[str, ...]
    known: dict  # name -> tuple of server keys that have it
    module: frozenset  # module commands (Redis 8.2's built-in vectorset: VADD...)
    subcommands: dict = field(default_factory=dict)  # container -> frozenset of full subcommand names

    def servers_of(self, name: str) -> tuple[str, ...]:
        """The supported servers that know ``name`` (a command or ``cmd|sub``), () for none."""
        return self.known.get(name.lower(), ())

    def is_command(self, name: str) -> bool:
        """A top-level command some supported server knows."""
        return "|" not in name and bool(self.servers_of(name))

    def suggest(self, name: str, *, subcommands: bool = False) -> str | None:
        words = [n for n in self.known if subcommands or "|" not in n]
        close = _close(name.lower(), words, n=1, cutoff=0.75)
        return close[0] if close else None

    def suggest_category(self, name: str) -> str | None:
        close = _close(name.lower(), [*self.categories, "all"], n=1, cutoff=0.6)
        return close[0] if close else None

    def only_some(self, name: str) -> str:
        """" (only redis-8.2, valkey-9.1)" for a name not every supported server knows, else ""."""
        have = self.servers_of(name)
        return f" (only {', '.join(have)})" if have and len(have) < len(self.servers) else ""


@lru_cache(maxsize=1)
def command_table() -> CommandTable:
    """``data/commands.json``, read once, on first use."""
    path = os.path.join(os.path.dirname(os.path.dirname(__file__)), "data", "commands.json")
    with open(path, encoding="utf-8") as f:
        raw = json.load(f)
    servers = tuple(raw["servers"])
    known = {name: servers if have == ALL_SERVERS else tuple(have) for name, have in raw["commands"].items()}
    subs: dict[str, set] = {}
    for name in known:
        if "|" in name:
            subs.setdefault(name.split("|", 1)[0], set()).add(name)
    return CommandTable(
        servers=servers,
        categories=tuple(raw["categories"]),
        known=known,
        module=frozenset(raw["module"]),
        subcommands={k: frozenset(v) for k, v in subs.items()},
    )


class RuleError(ValueError):
    """A rule a server refuses; the message says why (and what was probably meant)."""


@record
class Selector:
    """What ACLSetSelector remembers between rules that decides whether the next one is refused."""

    allkeys: bool = False
    allchannels: bool = False
    keys: list = field(default_factory=list)  # patterns given so far, for "a pattern before *"
    channels: list = field(default_factory=list)


def rule_kind(op: str) -> str:
    """"key", "channel", "command", "selector", "password" or "flag": which part of a user a rule sets."""
    low = op.lower()
    if low in ("allkeys", "resetkeys") or op[:1] in ("~", "%"):
        return "key"
    if low in ("allchannels", "resetchannels") or op[:1] == "&":
        return "channel"
    if low in ("allcommands", "nocommands") or op[:1] in ("+", "-"):
        return "command"
    if op[:1] == "(" and op[-1:] == ")":
        return "selector"
    if op[:1] in (">", "<", "#", "!") or low in ("nopass", "resetpass"):
        return "password"
    return "flag"


def _did_you_mean(rule: str | None) -> str:
    return f"; did you mean {rule!r}?" if rule else ""


def check_selector_rule(op: str, sel: Selector, table: CommandTable | None = None) -> None:
    """One rule of a selector (the root one or a ``(...)``): raise RuleError as ACLSetSelector would fail."""
    table = table or command_table()
    low = op.lower()
    if low in ("allkeys", "~*"):
        _check_before_all(sel.keys, "key", "allkeys" if low == "allkeys" else "~*")
        sel.allkeys, sel.keys = True, []
    elif low == "resetkeys":
        sel.allkeys, sel.keys = False, []
    elif low in ("allchannels", "&*"):
        _check_before_all(sel.channels, "channel", "allchannels" if low == "allchannels" else "&*")
        sel.allchannels, sel.channels = True, []
    elif low == "resetchannels":
        sel.allchannels, sel.channels = False, []
    elif low in ("allcommands", "+@all", "nocommands", "-@all"):
        pass
    elif op[:1] in ("~", "%"):
        _check_key_rule(op, sel)
    elif op[:1] == "&":
        if sel.allchannels:
            raise RuleError(f"{op!r} comes after &* (every channel): Redis refuses a channel pattern after * "
                            "(\"Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid\"); remove one of them")
        _check_no_spaces(op[1:], op)
        sel.channels.append(op[1:])
    elif op[:1] == "+" and op[1:2] != "@":
        _check_allow(op, table)
    elif op[:1] == "-" and op[1:2] != "@":
        _check_deny(op, table)
    elif op[:1] in ("+", "-"):
        category = op[2:]
        if category.lower() not in table.categories:
            hint = table.suggest_category(category)
            raise RuleError(f"unknown ACL category '@{category}' in {op!r} (Redis: \"Unknown command or category name in ACL\")"
                            + _did_you_mean(op[0] + "@" + hint if hint else None)
                            + ("" if hint else f" (categories: {', '.join(table.categories)}, all)"))
    else:
        raise RuleError(f"{op!r} is not an ACL rule (Redis: \"Syntax error\")")


def _check_before_all(patterns: list, what: str, rule: str) -> None:
    if patterns:
        plural = "patterns" if len(patterns) > 1 else "pattern"
        raise RuleError(f"{rule} allows every {what}: the {what} {plural} before it ({', '.join(map(repr, patterns))}) "
                        f"add nothing (Redis refuses any written after it); remove them or {rule}")


def _check_no_spaces(pattern: str, op: str) -> None:
    if any(c.isspace() or c == "\x00" for c in pattern):
        raise RuleError(f"{op!r}: a pattern cannot contain spaces (Redis: \"Syntax error\")")


def _check_key_rule(op: str, sel: Selector) -> None:
    if sel.allkeys:
        raise RuleError(f"{op!r} comes after ~* (every key): Redis refuses a key pattern after * "
                        "(\"Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid\"); remove one of them")
    offset, flags = 1, ""
    if op[0] == "%":
        tilde = False
        for offset in range(1, len(op)):
            c = op[offset].upper()
            if c in "RW" and c not in flags:
                flags += c
            elif op[offset] == "~" and flags:
                tilde = True
                break
            else:
                raise RuleError(f"{op!r} is not a key rule: after % come R and/or W (each once), then ~ and the pattern "
                                f"(%R~pattern, %W~pattern, %RW~pattern; Redis: \"Error in user declaration ... Syntax error\")"
                                + ("; for a pattern that starts with %, write ~" + op if not flags else ""))
        if not tilde:
            raise RuleError(f"{op!r} has no ~pattern after its permissions: write %{flags or 'R'}~pattern (alone it matches only the empty key name)")
        offset += 1
    pattern = op[offset:]
    _check_no_spaces(pattern, op)
    sel.keys.append(op)


def _check_allow(op: str, table: CommandTable) -> None:
    name = op[1:]
    if "|" not in name:
        _known_command(name, op, table)
        return
    container, _, sub = name.rpartition("|")
    if "|" in container and table.servers_of(container):
        raise RuleError(f"{op!r}: a first argument of a subcommand cannot be allowed (Redis: \"Allowing first-arg of a subcommand is not supported\")")
    _known_command(container, op, table)
    if not sub:
        raise RuleError(f"{op!r}: nothing after | (write +{container} or +{container}|subcommand; Redis: \"Syntax error\")")
    if container.lower() in table.subcommands and not table.servers_of(name):
        _no_such_subcommand(container, sub, op, table)
    # a command without subcommands: +select|0 allows that first argument (deprecated by Redis, still accepted)


def _check_deny(op: str, table: CommandTable) -> None:
    name = op[1:]
    if "|" not in name:
        _known_command(name, op, table)
        return
    container, _, sub = name.partition("|")
    _known_command(container, op, table)
    if table.servers_of(name):
        return
    if container.lower() in table.subcommands:
        _no_such_subcommand(container, sub, op, table)
    raise RuleError(f"{op!r}: a first argument can only be allowed (+{name}), not denied; deny -{container} and allow "
                    f"+{name} for the arguments a user may give (Redis: \"Unknown command or category name in ACL\")")


def _no_such_subcommand(container: str, sub: str, op: str, table: CommandTable) -> NoReturn:
    """``+cmd|sub`` / ``-cmd|sub`` naming no subcommand ``container`` has (one message, either sign)."""
    hint = _close(op[1:].lower(), sorted(table.subcommands[container.lower()]), n=1, cutoff=0.6)
    raise RuleError(f"{container} has no subcommand {sub!r} in {op!r} (Redis: \"Unknown command or category name in ACL\")"
                    + _did_you_mean(op[0] + hint[0] if hint else None))


def _known_command(name: str, op: str, table: CommandTable) -> None:
    if table.is_command(name):
        return
    hint = table.suggest(name)
    raise RuleError(f"unknown command {name!r} in {op!r}: no supported server ({', '.join(table.servers)}) has it "
                    "(Redis: \"Unknown command or category name in ACL\")" + _did_you_mean(op[0] + hint if hint else None))


__all__ = ["CommandTable", "RuleError", "Selector", "command_table", "rule_kind", "check_selector_rule"]
