"""What borgconf knows about Redis parameters: the catalog and canonical values.

The catalog (``data/params.json``) is data: type, class, aliases and
sensitivity of every parameter that Redis 7.0, Redis 8.2 and Valkey 8.0, 8.1
and 9.1 report in ``CONFIG GET *``, with what differs per server: class
(``Param.cls_for``), the name a server writes (``Param.name_for``), the value
on a fresh server (``Param.default_for``), ranges and choices (``check(...,
server=)``). Servers are named by *server keys* ("redis-7.0", "redis-8.2",
"valkey-8", "valkey-8.1", "valkey-9.1"; :func:`server_key` makes one from
INFO's flavour and version). The functions here are pure: they turn a value from a
spec, or a value a server reported, into the *canonical* string that the
server itself would report after ``CONFIG SET`` of that value. Desired and
live values are only ever compared canonical to canonical, so every spelling
Redis treats as equal (2gb / 2GB / 2048mb) plans as equal.

Each rule is pinned by tests driven by the servers' own answers in
``redis-facts/*/normalization.json`` and by round trips on real servers.
"""

from __future__ import annotations

import json
import os
import re
from functools import lru_cache
from typing import Any

from .records import field, record

LIVE, RESTART, PROTECTED = "live", "restart", "protected"


class InvalidValue(ValueError):
    """A value is not valid for its parameter; the message says what was expected."""


@record(frozen=True)
class Param:
    """One parameter of the catalog: its type, class and what differs per server."""

    name: str
    type: str
    cls: str
    aliases: tuple[str, ...] = ()
    sensitive: bool = False
    servers: tuple[str, ...] = ()
    choices: tuple[str, ...] = ()
    choice_aliases: dict[str, str] = field(default_factory=dict)
    choice_servers: dict[str, tuple[str, ...]] = field(default_factory=dict)  # choices only some servers take
    min: int | float | None = None
    max: int | float | None = None
    clamp: tuple[int, int] | None = None
    percent: str | None = None  # "resolve" (borgconf resolves) | "native" (Redis keeps "10%")
    count: int | None = None
    default: str | None = None
    exclusive: tuple[tuple[str, ...], ...] = ()  # enum-set flags that cannot go together
    octal: bool = False  # written and reported in octal digits (unixsocketperm 770)
    class_servers: dict[str, str] = field(default_factory=dict)  # class where servers differ
    default_servers: dict[str, str] = field(default_factory=dict)  # fresh-server value where servers differ
    range_servers: dict[str, tuple[int, int]] = field(default_factory=dict)  # (min, max) where servers differ
    server_names: dict[str, str] = field(default_factory=dict)  # name a server reports / rewrites, if not .name
    flag_servers: dict[str, tuple[str, ...]] = field(default_factory=dict)  # keyspace flags only some servers take
    compiled_default: str | None = None  # built-in default where the captures set the value in their config file
    base_config: bool = False  # the captured value came from the capture's own config file, not the server

    def names(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)

    def value_in(self, reply: dict[str, str]) -> str | None:
        """What a CONFIG GET reply holds for this parameter, under its name or an alias (None: not there)."""
        return next((reply[n] for n in self.names() if n in reply), None)

    def cls_for(self, server_key: str | None) -> str:
        """Class (live / restart / protected) on that server; ``cls`` (the strictest) for an unknown one."""
        if server_key is None:
            return self.cls
        return self.class_servers.get(server_key, self.cls)

    def name_for(self, server_key: str | None) -> str:
        """The name that server uses for this parameter (Valkey: primaryauth for masterauth)."""
        if server_key is None:
            return self.name
        return self.server_names.get(server_key, self.name)

    def default_for(self, server_key: str) -> str | None:
        """The value a fresh server of that version reports (None: unknown server, parameter
        absent there, or a value that depends on where the server runs, such as dir)."""
        if server_key not in self.servers:
            return None
        if self.base_config:
            return self.compiled_default
        return self.default_servers.get(server_key, self.default)

    def range_for(self, server_key: str | None) -> tuple[int | float | None, int | float | None]:
        """(min, max) on that server; without a server the range every server takes."""
        if server_key is not None and server_key in self.range_servers:
            lo, hi = self.range_servers[server_key]
            return lo, hi
        return self.min, self.max

    def choices_for(self, server_key: str | None) -> tuple[str, ...]:
        """Enum choices that server takes; without a server every choice some server takes."""
        if server_key is None:
            return self.choices
        return tuple(c for c in self.choices if server_key in self.choice_servers.get(c, (server_key,)))

    def available_on(self, server_key: str) -> bool:
        return server_key in self.servers


#: Server keys the catalog was built from (tests/redis-facts/<key>/).
SERVER_KEYS = ("redis-7.0", "redis-8.2", "valkey-8", "valkey-8.1", "valkey-9.1")


@lru_cache(maxsize=64)  # pure, and asked per parameter per target: a fleet has few flavours and versions
def server_key(flavour: str, version: str) -> str:
    """"redis-7.0" for ("redis", "7.0.15"), "valkey-9.1" for ("valkey", "9.1.2").

    Valkey 8.0.x is "valkey-8" (the key its captured facts have). A key the
    catalog does not know (e.g. "redis-7.2") is still returned: ``cls_for``
    then gives the strictest class and ``default_for`` None.
    """
    parts = str(version).split(".")
    major_minor = ".".join(parts[:2]) if len(parts) >= 2 else str(version)
    key = f"{str(flavour).lower()}-{major_minor}"
    return "valkey-8" if key == "valkey-8.0" else key


def name_for(param: "Param | str", server_key: str | None) -> str:
    """The name ``server_key`` uses for a parameter (given as Param or any of its names)."""
    p = param if isinstance(param, Param) else catalog().lookup(param)
    if p is None:
        return str(param)
    return p.name_for(server_key)


class Catalog:
    """The parameters by name and alias. Built from the catalog's entries as
    read, each Param made when first asked for: a spec names a few of the
    catalog's 220, and making them all costs more than reading the file (issue 15)."""

    def __init__(self, *, entries: dict[str, dict]):
        self._entries = dict(entries)
        self._made: dict[str, Param] = {}
        self._index: dict[str, str] = {}
        for name, e in self._entries.items():
            for n in (name, *e.get("aliases", ())):  # Param.names(), before the Param is made
                self._index[n.lower()] = name

    def _param(self, name: str) -> Param:
        p = self._made.get(name)
        if p is None:
            p = self._made[name] = _param_of(name, self._entries[name])
        return p

    @property
    def params(self) -> dict[str, Param]:
        """Every parameter, in the catalog's order."""
        return {name: self._param(name) for name in self._entries}

    def lookup(self, name: str) -> Param | None:
        canonical = self._index.get(str(name).lower())
        return self._param(canonical) if canonical else None

    def suggest(self, name: str) -> str | None:
        import difflib

        close = difflib.get_close_matches(str(name).lower(), list(self._index), n=1, cutoff=0.75)
        return self._index[close[0]] if close else None

    def __iter__(self):
        return iter(self.params.values())

    def __len__(self) -> int:
        return len(self._entries)


def _param_of(name: str, e: dict) -> Param:
    return Param(
        name=name,
        type=e["type"],
        cls=e["class"],
        aliases=tuple(e.get("aliases", ())),
        sensitive=bool(e.get("sensitive", False)),
        servers=tuple(e.get("servers", ())),
        choices=tuple(e.get("choices", ())),
        choice_aliases=dict(e.get("choice_aliases", {})),
        choice_servers={k: tuple(v) for k, v in e.get("choice_servers", {}).items()},
        min=e.get("min"),
        max=e.get("max"),
        clamp=tuple(e["clamp"]) if e.get("clamp") else None,
        percent=e.get("percent"),
        count=e.get("count"),
        default=e.get("default"),
        exclusive=tuple(tuple(g) for g in e.get("exclusive", ())),
        octal=bool(e.get("octal", False)),
        class_servers=dict(e.get("class_servers", {})),
        default_servers=dict(e.get("default_servers", {})),
        range_servers={k: (v[0], v[1]) for k, v in e.get("range_servers", {}).items()},
        server_names=dict(e.get("server_names", {})),
        flag_servers={k: tuple(v) for k, v in e.get("flag_servers", {}).items()},
        compiled_default=e.get("compiled_default"),
        base_config=bool(e.get("base_config", False)),
    )


@lru_cache(maxsize=1)
def catalog() -> Catalog:
    # beside this module, as render finds templates/: importlib.resources would
    # import tempfile, shutil, zipfile... (~5-10 ms of start-up, issue 15)
    with open(os.path.join(os.path.dirname(__file__), "data", "params.json"), encoding="utf-8") as f:
        raw = json.load(f)
    return Catalog(entries=raw["params"])


# ---------------------------------------------------------------- scalars

_UNITS = {"": 1, "b": 1, "k": 1000, "kb": 1024, "m": 1000**2, "mb": 1024**2, "g": 1000**3, "gb": 1024**3}
_MEMORY = re.compile(r"^(\d+)([a-z]*)$")
_INT = re.compile(r"^-?\d+$")


def _scalar_text(value: Any, what: str) -> str:
    if isinstance(value, bool) or value is None or isinstance(value, (list, dict)):
        raise InvalidValue(f"{_show(value)} is not {what}")
    text = str(value)
    if any(c in text for c in "\n\r\x00"):
        raise InvalidValue(f"a newline or NUL is not allowed in a value ({what} expected)")
    return text


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "an empty value"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return repr(str(value))


def parse_memory(value: Any) -> int:
    """Bytes of a Redis memory value: k=1000, kb=1024, case-insensitive, no sign, no fraction."""
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 0:
            raise InvalidValue(f"{value} is not a memory size (e.g. 2gb, 512mb, 100000)")
        return value
    text = _scalar_text(value, "a memory size")
    m = _MEMORY.match(text.lower())
    if not m or m.group(2) not in _UNITS:
        raise InvalidValue(f"{text!r} is not a memory size (e.g. 2gb, 512mb, 25%)")
    return int(m.group(1)) * _UNITS[m.group(2)]


def parse_int(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    text = _scalar_text(value, "an integer")
    if not _INT.match(text):
        raise InvalidValue(f"{text!r} is not an integer")
    return int(text)


def parse_bool(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    text = _scalar_text(value, "a boolean (yes/no, true/false)").lower()
    if text in ("yes", "true"):
        return "yes"
    if text in ("no", "false"):
        return "no"
    raise InvalidValue(f"{text!r} is not a boolean (yes/no, true/false)")


def _range_check(p: Param, n: int | float, unit: str = "", server: str | None = None) -> None:
    if p.clamp and not (p.clamp[0] <= n <= p.clamp[1]):
        raise InvalidValue(
            f"{n}{unit} is outside {p.clamp[0]}..{p.clamp[1]}: Redis silently clamps {p.name} "
            f"to that range, so the value would never read back as written"
        )
    lo, hi = p.range_for(server)
    where = f" on {server}" if server else ""
    if lo is not None and n < lo:
        raise InvalidValue(f"{n}{unit} is below the minimum {lo} of {p.name}{where}{_range_note(p, server, n)}")
    if hi is not None and n > hi:
        raise InvalidValue(f"{n}{unit} is above the maximum {hi} of {p.name}{where}{_range_note(p, server, n)}")


def _range_note(p: Param, server: str | None, n: int | float) -> str:
    if server is not None or not p.range_servers:
        return ""
    takes = [k for k, (lo, hi) in p.range_servers.items() if lo <= n <= hi]
    return f" (the range every supported server takes; {', '.join(takes)} would take it)" if takes else ""


# ---------------------------------------------------------------- compound types

_COBL_CLASSES = ("normal", "slave", "pubsub")
_COBL_ALIASES = {"normal": "normal", "slave": "slave", "replica": "slave", "pubsub": "pubsub"}
_KEYSPACE_TYPES = "g$lshzxetd"  # what "A" stands for, in the order Redis prints them
_KEYSPACE_EXTRA = "noc"  # new-key, overwritten, type-changed: not in "A"; printed after the types, unless "A"
_KEYSPACE_ALL = set(_KEYSPACE_TYPES) | set(_KEYSPACE_EXTRA) | set("AKEm")


def parse_save(value: Any) -> list[tuple[int, int]]:
    """RDB save points: [] / "" (off), "900 1 300 10", ["900 1", "300 10"], [[900, 1]], {900: 1}."""
    if value is None:
        return []
    items: list[Any]
    if isinstance(value, dict):
        items = [f"{k} {v}" for k, v in value.items()]
    elif isinstance(value, list):
        items = [" ".join(str(x) for x in v) if isinstance(v, list) else v for v in value]
    else:
        items = [_scalar_text(value, "save points")]
    numbers: list[int] = []
    for item in items:
        text = _scalar_text(item, "a save point (\"<seconds> <changes>\")")
        for tok in text.split():
            if not _INT.match(tok) or tok.startswith("-"):
                raise InvalidValue(f"{text!r} is not a save point: expected \"<seconds> <changes>\" pairs of whole numbers")
            numbers.append(int(tok))
    if len(numbers) % 2:
        raise InvalidValue("save points come in pairs \"<seconds> <changes>\"; one number is left over")
    pairs = [(numbers[i], numbers[i + 1]) for i in range(0, len(numbers), 2)]
    for seconds, _changes in pairs:
        if seconds < 1:
            raise InvalidValue(f"save point seconds must be at least 1 (got {seconds})")
    return pairs


def canonical_save(pairs: list[tuple[int, int]]) -> str:
    # Redis keeps the order and duplicates it was given; the points act as a set
    ordered = sorted(set(pairs), key=lambda p: (-p[0], p[1]))
    return " ".join(f"{s} {c}" for s, c in ordered)


def parse_keyspace_events(value: Any, p: "Param | None" = None, server: str | None = None) -> set[str]:
    """Flags of notify-keyspace-events. With ``p`` and ``server``, only the flags
    that server takes (``o`` and ``c`` are Redis 8.2's); without a server, every
    flag some supported server takes."""
    if value is None:
        return set()
    text = _scalar_text(value, "keyspace event flags")
    allowed = set(_KEYSPACE_ALL)
    if p is not None and server is not None:
        allowed -= {f for f, where in p.flag_servers.items() if server not in where}
    bad = sorted(set(text) - allowed, key=text.index)
    if bad:
        shown = "".join(c for c in "Ag$lshzxetdnocKEm" if c in allowed)
        only = {f: p.flag_servers[f] for f in bad if p is not None and f in p.flag_servers}
        extra = "".join(f"; {f!r} only on {', '.join(w)}" for f, w in only.items())
        where = f" on {server}" if server else ""
        raise InvalidValue(f"{text!r} has invalid event class characters {''.join(bad)!r}{where}; use {shown!r}{extra}")
    flags = set(text)
    if "A" in flags:
        flags.discard("A")
        flags |= set(_KEYSPACE_TYPES)
    return flags


def canonical_keyspace_events(flags: set[str]) -> str:
    """As Redis prints them: "A" or the types, then n o c (not after "A": Redis
    keeps them set but does not print them then), then K E m."""
    out = ""
    if set(_KEYSPACE_TYPES) <= flags:
        out = "A"
    else:
        out = "".join(c for c in _KEYSPACE_TYPES + _KEYSPACE_EXTRA if c in flags)
    return out + "".join(c for c in "KEm" if c in flags)


def parse_cobl(value: Any) -> dict[str, tuple[int, int, int]]:
    """client-output-buffer-limit: "pubsub 32mb 8mb 60 ..." or {pubsub: "32mb 8mb 60"}."""
    tokens: list[str] = []
    if isinstance(value, dict):
        for cls, limits in value.items():
            tokens.append(str(cls))
            tokens.extend(_scalar_text(limits, "hard soft seconds").split() if not isinstance(limits, list) else [str(x) for x in limits])
    else:
        tokens = _scalar_text(value, "client-output-buffer-limit classes").split()
    if not tokens or len(tokens) % 4:
        raise InvalidValue("expected groups of '<class> <hard> <soft> <seconds>' (class: normal, replica, pubsub)")
    out: dict[str, tuple[int, int, int]] = {}
    for i in range(0, len(tokens), 4):
        cls = _COBL_ALIASES.get(tokens[i].lower())
        if cls is None:
            raise InvalidValue(f"{tokens[i]!r} is not a client class (normal, replica, pubsub)")
        hard, soft = parse_memory(tokens[i + 1]), parse_memory(tokens[i + 2])
        seconds = parse_int(tokens[i + 3])
        if seconds < 0:
            raise InvalidValue(f"client-output-buffer-limit seconds must not be negative (got {seconds})")
        out[cls] = (hard, soft, seconds)
    return out


def canonical_cobl(classes: dict[str, tuple[int, int, int]]) -> str:
    return " ".join(f"{c} {h} {s} {t}" for c in _COBL_CLASSES if c in classes for (h, s, t) in [classes[c]])


_RESOLVED_PATHS = {"dir"}
_FILENAMES = {"dbfilename", "appendfilename", "appenddirname"}


def _format_float(x: float) -> str:
    # Redis prints these with "%f" and trims trailing zeros: 99.9, 50, 99.99999
    text = f"{float(x):.6f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


# ---------------------------------------------------------------- the two entry points


def check(p: Param, value: Any, *, server: str | None = None) -> Any:
    """Validate a spec value offline; return its parsed form (input of :func:`desired`).

    ``server`` (a server key, see :func:`server_key`): the rules of that server
    exactly (its range, choices and keyspace flags). Without it (validate, which
    does not know the target): ranges are what every supported server takes,
    choices and flags what some supported server takes (the server that does
    not take one refuses it at plan when the planner checks with ``server=``).
    """
    t = p.type
    if t == "bool":
        return parse_bool(value)
    if t == "int" and p.octal:
        text = _scalar_text(value, "a mode in octal digits (e.g. 770)")
        if not re.fullmatch(r"0?[0-7]{1,4}", text) or int(text, 8) > 0o777:
            raise InvalidValue(f"{text!r} is not a permission mode in octal digits from 0 to 777 (e.g. 770)")
        return format(int(text, 8), "o")
    if t == "int":
        n = parse_int(value)
        _range_check(p, n, server=server)
        return n
    if t == "memory":
        if p.percent and isinstance(value, str) and value.strip().endswith("%"):
            text = _scalar_text(value, "a percentage")
            m = re.match(r"^(\d+)%$", text)
            # Redis takes 0% for maxmemory-clients (= no limit); a resolved 0% would be no maxmemory at all
            low = 0 if p.percent == "native" else 1
            if not m or not (low <= int(m.group(1)) <= 100):
                raise InvalidValue(f"{text!r} is not a percentage from {low}% to 100%")
            return ("percent", int(m.group(1)))
        n = parse_memory(value)
        _range_check(p, n, " bytes", server=server)
        return n
    if t == "enum":
        choices = p.choices_for(server)
        text = _scalar_text(value, "one of " + ", ".join(choices)).lower() if not isinstance(value, bool) else parse_bool(value)
        text = p.choice_aliases.get(text, text)
        if text not in choices:
            if text in p.choices:
                raise InvalidValue(
                    f"{str(value)!r} is not taken by {server} (only by {', '.join(p.choice_servers.get(text, ()))});"
                    f" it takes: {', '.join(choices)}"
                )
            raise InvalidValue(f"{str(value)!r} is not one of: {', '.join(choices)}")
        return text
    if t == "enum-set":
        choices = p.choices_for(server)
        tokens = [tok.lower() for tok in _scalar_text(value, "flags").split()]
        bad = [tok for tok in tokens if tok not in choices]
        if not tokens or bad:
            raise InvalidValue(f"{str(value)!r} is not a set of: {', '.join(choices)}")
        for group in p.exclusive:
            if len(set(group) & set(tokens)) > 1:
                raise InvalidValue(f"{' and '.join(group)} cannot go together in {p.name}")
        if "default" in p.choices and len(set(tokens)) > 1:
            tokens = [tok for tok in tokens if tok != "default"]  # "default" is no flag: Redis drops it
        return " ".join(c for c in p.choices if c in tokens)
    if t == "save":
        return parse_save(value)
    if t == "keyspace-events":
        return parse_keyspace_events(value, p, server)
    if t == "client-output-buffer-limit":
        return parse_cobl(value)
    if t in ("int-list", "float-list", "string-list"):
        if isinstance(value, list):
            tokens = [_scalar_text(v, "a list item") for v in value]
        else:
            tokens = _scalar_text(value, "a space-separated list").split() if value is not None else []
        if t == "string-list":
            if p.name == "bind":
                _check_bind(tokens)
            return " ".join(tokens)
        if p.count is not None and len(tokens) != p.count:
            raise InvalidValue(f"expected exactly {p.count} numbers, got {len(tokens)}")
        if t == "int-list":
            # Redis reads these with strtol: a leading + is fine ("+5 0 0" reads back "5 0 0")
            nums = [parse_int(tok[1:] if re.fullmatch(r"\+\d+", tok) else tok) for tok in tokens]
            for n in nums:
                _range_check(p, n, server=server)
            return " ".join(str(n) for n in nums)
        out = []
        for tok in tokens:
            try:
                f = float(tok)
            except ValueError:
                raise InvalidValue(f"{tok!r} is not a number") from None
            if f != f or f in (float("inf"), float("-inf")):
                raise InvalidValue(f"{tok!r} is not a finite number")
            _range_check(p, f, server=server)
            out.append(_format_float(f))
        return " ".join(out)
    if t == "replicaof":
        text = "" if value is None else _scalar_text(value, "'<host> <port>'")
        parts = text.split()
        if text.lower().strip() in ("", "no one"):
            return ""
        if len(parts) != 2 or not parts[1].isdigit():
            raise InvalidValue(f"{text!r} is not '<host> <port>'")
        return " ".join(parts)
    # string
    if value is None:
        return ""
    text = _scalar_text(value, "a string")
    if p.name in _RESOLVED_PATHS:
        # the server resolves it against its own working directory: only an
        # absolute path reads back as written
        import posixpath

        if not text.startswith("/"):
            raise InvalidValue(f"{text!r} is relative; {p.name} needs an absolute path (Redis resolves it against its working directory)")
        return posixpath.normpath(text) if text != "/" else text
    if p.name in _FILENAMES and ("/" in text or not text):
        raise InvalidValue(f"{text!r}: {p.name} is a file name in dir, not a path")
    check_string = _STRING_CHECKS.get(p.name)
    if check_string is not None:
        check_string(p, text)
    return text


# ---------------------------------------------------------------- string rules the servers apply


def _check_hostname(p: Param, text: str) -> None:
    # Redis/Valkey: "Hostnames may only contain alphanumeric characters, hyphens or dots"
    if text and not re.fullmatch(r"[A-Za-z0-9.-]+", text):
        raise InvalidValue(f"{text!r}: {p.name} may only contain letters, digits, hyphens and dots")


# Redis's isValidAuxChar refuses these; Valkey 9.1 also refuses whitespace (the strictest rule is kept)
_AUX_BAD = set("!#$%&()*+:;<>?@[]^{|}~")


def _check_aux(p: Param, text: str, bad_chars: set[str] = _AUX_BAD) -> None:
    bad = sorted({c for c in text if c in bad_chars or c.isspace() or not c.isprintable()})
    if bad:
        raise InvalidValue(f"{text!r}: {p.name} may not contain {' '.join(repr(c) for c in bad)}")


def _check_announce_ip(p: Param, text: str) -> None:
    # Valkey 9.1 checks it like an aux field, ':' allowed (IPv6); older servers take anything
    _check_aux(p, text, _AUX_BAD - {":"})


def _check_ip(version: int):
    def check_ip(p: Param, text: str) -> None:
        import ipaddress

        if not text:
            return
        try:
            addr = ipaddress.ip_address(text)
        except ValueError:
            addr = None
        if addr is None or addr.version != version:
            raise InvalidValue(f"{text!r} is not an IPv{version} address ({p.name})")

    return check_ip


# C, POSIX, C.UTF-8, or language_TERRITORY[.codeset][@modifier]; whether the server's host has
# that locale installed is only known there (the server refuses an unknown one at apply)
# (a pattern, compiled by re on first use: few specs set a locale) (issue 15)
_LOCALE = r"(C|POSIX|C\.[A-Za-z0-9-]+|[a-z]{2,3}_[A-Z]{2}(\.[A-Za-z0-9-]+)?(@[A-Za-z0-9]+)?)"


def _check_locale(p: Param, text: str) -> None:
    if text and not re.fullmatch(_LOCALE, text):
        raise InvalidValue(f"{text!r} is not a locale name (e.g. C, POSIX, en_US.UTF-8) for {p.name}")


_TITLE_VARS = {"title", "listen-addr", "server-mode", "port", "tls-port", "unixsocket", "config-file"}
_TITLE_MAYBE_EMPTY = {"title", "server-mode", "unixsocket", "config-file"}


def _check_title_template(p: Param, text: str) -> None:
    # Redis's validateProcTitleTemplate expands the template with an empty title and refuses an
    # empty result, an unknown {variable} or an unclosed "{" (a lone "}" is text)
    for m in re.finditer(r"\{([^{}]*)\}", text):
        if m.group(1) not in _TITLE_VARS:
            raise InvalidValue(f"{{{m.group(1)}}} is not a variable of {p.name} ({', '.join(sorted(_TITLE_VARS))})")
    if "{" in re.sub(r"\{[^{}]*\}", "", text):
        raise InvalidValue(f"{text!r}: an unclosed '{{' in {p.name}")
    rest = re.sub(r"\{(" + "|".join(sorted(_TITLE_MAYBE_EMPTY)) + r")\}", "", text)
    if not rest.strip():
        raise InvalidValue(
            f"{text!r}: {p.name} must show more than {{title}} (the server refuses a template that can expand"
            " to nothing), e.g. '{title} {listen-addr} {server-mode}'"
        )


def _check_bind(tokens: list[str]) -> None:
    import ipaddress

    for tok in tokens:
        addr = tok[1:] if tok.startswith("-") else tok
        if addr in ("*", "::*"):
            continue
        try:
            ipaddress.ip_address(addr)
        except ValueError:
            raise InvalidValue(f"{tok!r} is not an address for bind (an IP address, *, ::*, optionally with a leading -)") from None


_STRING_CHECKS = {
    "cluster-announce-hostname": _check_hostname,
    "cluster-announce-human-nodename": _check_aux,
    "cluster-announce-ip": _check_announce_ip,
    "cluster-announce-client-ipv4": _check_ip(4),
    "cluster-announce-client-ipv6": _check_ip(6),
    "locale-collate": _check_locale,
    "proc-title-template": _check_title_template,
}


def desired(p: Param, checked: Any, *, live: str | None = None, total_memory: int | None = None) -> str:
    """The canonical string a server reports after ``CONFIG SET`` of a checked spec value.

    ``live`` is the server's canonical current value (needed where Redis merges:
    client-output-buffer-limit sets only the classes given); ``total_memory``
    resolves ``maxmemory: 25%``.
    """
    t = p.type
    if t == "memory":
        if isinstance(checked, tuple):
            if p.percent == "native":  # the server keeps the percentage: no memory needed
                return f"{checked[1]}%" if checked[1] else "0"  # Redis reports 0% as 0
            if not total_memory:
                raise InvalidValue(
                    f"{checked[1]}% needs the server's total memory, which it did not report (INFO memory total_system_memory)"
                )
            return str(total_memory * checked[1] // 100)
        return str(checked)
    if t == "int":
        return str(checked)
    if t == "save":
        return canonical_save(checked)
    if t == "keyspace-events":
        return canonical_keyspace_events(checked)
    if t == "client-output-buffer-limit":
        merged = parse_cobl(live) if live else {}
        merged.update(checked)
        return canonical_cobl(merged)
    return str(checked)


def canonical_live(p: Param, text: str | None) -> str | None:
    """A value as a server reported it, in canonical form (None stays None)."""
    if text is None:
        return None
    try:
        t = p.type
        if t == "memory":
            if text.endswith("%"):
                return text
            return str(parse_memory(text))
        if t == "save":
            return canonical_save(parse_save(text))
        if t == "keyspace-events":
            return canonical_keyspace_events(parse_keyspace_events(text))
        if t == "client-output-buffer-limit":
            return canonical_cobl(parse_cobl(text))
        if t in ("bool", "enum", "enum-set"):
            return text.lower()
        if t in ("string-list", "int-list", "float-list"):
            return " ".join(text.split())
    except InvalidValue:
        return text
    return text


def display(p: Param, canonical: str | None) -> str | None:
    """A human-friendly rendering of a canonical value (2147483648 -> 2gb) for views."""
    if canonical is None or p.type != "memory" or not canonical.isdigit():
        return canonical
    n = int(canonical)
    for unit, size in (("gb", 1024**3), ("mb", 1024**2), ("kb", 1024)):
        if n and n % size == 0:
            return f"{n // size}{unit}"
    return canonical
