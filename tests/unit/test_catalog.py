"""The parameter catalog (borgconf/data/params.json) against the servers' own answers.

Loads the catalog with plain ``json`` (no borgconf import) and checks it against
the facts captured from Redis 7.0, Redis 8.2 and Valkey 8 in
``tests/redis-facts`` (a copy of the project's shared redis-facts; see its README.md):

* every name in ``CONFIG GET *`` is exactly one canonical param or alias;
* class (live / restart / protected) matches what ``CONFIG SET`` of the current
  value answered (mutability.json);
* every reported value is a valid value of the declared type;
* ``servers`` is where the name appears; ``sensitive`` is exactly the secrets;
* the normalization experiments: values the server accepted are accepted by the
  type, values it refused (for a type reason) are refused, read-backs of
  integers and memory sizes are predicted (units, clamps), and range / enum
  error texts match the declared bounds and choices.

The validators below are a small independent model of Redis's parsing; they
are deliberately not borgconf's own code.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CATALOG_PATH = REPO / "borgconf" / "data" / "params.json"
FACTS = REPO / "tests" / "redis-facts"
SERVERS = ("redis-7.0", "redis-8.2", "valkey-8", "valkey-8.1", "valkey-9.1")

TYPES = {
    "bool", "int", "memory", "enum", "enum-set", "string", "string-list", "save",
    "keyspace-events", "client-output-buffer-limit", "int-list", "float-list", "replicaof",
}
CLASSES = ("live", "restart", "protected")
SECRETS = {"requirepass", "masterauth", "tls-key-file-pass", "tls-client-key-file-pass"}

# Refusals in normalization.json that are about the environment or a
# string's meaning, not about the declared type (so the type model cannot
# and need not predict them).
NOT_TYPE_ERRORS = (
    "The operating system is not able to handle the specified number of clients",  # fd limit
    "Active defragmentation cannot be enabled",  # builds without defrag jemalloc (7.0 Debian, the Valkey wheels)
    "No such file or directory",  # dir: chdir() failed
    "dir can't be empty",
    "dbfilename can't be a path",
)

assert FACTS.is_dir(), f"redis-facts not found at {FACTS}"  # shipped with the tests: never skip


# ---------------------------------------------------------------- loading


def _load(path: Path):
    return json.loads(path.read_text())


@pytest.fixture(scope="module")
def raw():
    return _load(CATALOG_PATH)


@pytest.fixture(scope="module")
def params(raw):
    return raw["params"]


@pytest.fixture(scope="module")
def index(params):
    """Every name (canonical or alias) -> canonical name."""
    out = {}
    for name, e in params.items():
        for n in (name, *e.get("aliases", [])):
            out[n] = name
    return out


def _facts(server: str, what: str):
    return _load(FACTS / server / f"{what}.json")


@pytest.fixture(scope="module", params=SERVERS)
def server(request):
    return request.param


def _server_class(entry: dict, server: str) -> str:
    return entry.get("class_servers", {}).get(server, entry["class"])


def _range(entry: dict, server: str):
    lo, hi = entry.get("range_servers", {}).get(server, (entry.get("min"), entry.get("max")))
    return lo, hi


def _choices(entry: dict, server: str) -> list[str]:
    only = entry.get("choice_servers", {})
    return [c for c in entry["choices"] if c not in only or server in only[c]]


# ---------------------------------------------------------------- value model

_INT_STRICT = re.compile(r"^(0|-?[1-9]\d*)$")  # what string2ll accepts
_MEMORY_IN = re.compile(r"^(\d+)(b|k|kb|m|mb|g|gb)?$", re.IGNORECASE)
_UNITS = {None: 1, "b": 1, "k": 1000, "kb": 1024, "m": 1000**2, "mb": 1024**2, "g": 1000**3, "gb": 1024**3}
_FLOAT = re.compile(r"^-?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$")


def _in_range(v, lo, hi) -> bool:
    return (lo is None or v >= lo) and (hi is None or v <= hi)


def parse_int_input(entry: dict, text: str):
    """The integer Redis reads from ``text`` (before clamping), or None if it refuses it."""
    if entry.get("octal"):
        return int(text, 8) if re.fullmatch(r"[0-7]+", text) else None
    return int(text) if _INT_STRICT.match(text) else None


def parse_memory_input(text: str):
    m = _MEMORY_IN.match(text)
    if not m:
        return None
    return int(m.group(1)) * _UNITS[m.group(2).lower() if m.group(2) else None]


def _percent_ok(entry: dict, text: str) -> bool:
    m = re.fullmatch(r"(\d+)%", text)
    return bool(m) and entry.get("percent") == "native" and int(m.group(1)) <= entry.get("percent_max", 100)


def accepts(entry: dict, server: str, text: str) -> bool:
    """Would ``CONFIG SET <param> <text>`` pass the type check on ``server``?"""
    t = entry["type"]
    lo, hi = _range(entry, server)
    if t == "bool":
        return text.lower() in ("yes", "no")
    if t == "int":
        v = parse_int_input(entry, text)
        return v is not None and _in_range(v, lo, hi)
    if t == "memory":
        if text.endswith("%"):
            return _percent_ok(entry, text)
        v = parse_memory_input(text)
        return v is not None and _in_range(v, lo, hi)
    if t == "enum":
        return text.lower() in _choices(entry, server)
    if t == "enum-set":
        words = [w.lower() for w in text.split(" ")]
        if not all(w in _choices(entry, server) for w in words):
            return False
        return not any(all(x in words for x in group) for group in entry.get("exclusive", []))
    if t in ("string", "string-list"):
        return True
    if t == "save":
        if text == "":
            return True
        parts = text.split(" ")
        if len(parts) % 2 or not all(re.fullmatch(r"[-+]?\d+", p) for p in parts):
            return False
        return all(int(s) >= 1 and int(c) >= 0 for s, c in zip(parts[::2], parts[1::2]))
    if t == "keyspace-events":
        return all(ch in entry["flags"] for ch in text)
    if t == "client-output-buffer-limit":
        parts = text.split(" ")
        if len(parts) % 4:
            return False
        names = set(entry["classes"]) | set(entry.get("class_aliases", {}))
        for i in range(0, len(parts), 4):
            cls, hard, soft, secs = parts[i : i + 4]
            if cls.lower() not in names:
                return False
            if parse_memory_input(hard) is None or parse_memory_input(soft) is None:
                return False
            if not re.fullmatch(r"\d+", secs):
                return False
        return True
    if t == "int-list":
        parts = text.split(" ")
        return len(parts) == entry["count"] and all(
            re.fullmatch(r"-?\d+", p) and _in_range(int(p), entry["min"], entry["max"]) for p in parts
        )
    if t == "float-list":
        if text == "":
            return True
        return all(_FLOAT.match(p) and _in_range(float(p), entry["min"], entry["max"]) for p in text.split(" "))
    if t == "replicaof":
        parts = text.split(" ")
        if len(parts) != 2:
            return False
        if [p.lower() for p in parts] == ["no", "one"]:
            return True
        return bool(re.fullmatch(r"\d+", parts[1])) and 0 <= int(parts[1]) <= 65535
    raise AssertionError(f"unknown type {t}")


def reported_ok(entry: dict, server: str, text: str) -> bool:
    """Is ``text`` a value ``CONFIG GET`` could report for this param on ``server``?"""
    t = entry["type"]
    lo, hi = _range(entry, server)
    if t == "bool":
        return text in ("yes", "no")
    if t == "int":
        if entry.get("octal"):
            return bool(re.fullmatch(r"[0-7]+", text)) and _in_range(int(text, 8), lo, hi)
        if not _INT_STRICT.match(text):
            return False
        v = int(text)
        if "clamp" in entry:
            c_lo, c_hi = entry["clamp"]
            return c_lo <= v <= c_hi
        return _in_range(v, lo, hi)
    if t == "memory":
        if text.endswith("%"):
            return _percent_ok(entry, text)
        if not re.fullmatch(r"0|[1-9]\d*", text):
            return False
        v = int(text)
        if "clamp" in entry:
            # the floor applies on CONFIG SET only; a config file may hold a smaller value
            return _in_range(v, lo, entry["clamp"][1])
        return _in_range(v, lo, hi)
    if t == "enum":
        return text in _choices(entry, server) and text not in entry.get("choice_aliases", {})
    if t == "enum-set":
        words = text.split(" ")
        order = entry["choices"]
        if not all(w in order for w in words) or len(set(words)) != len(words):
            return False
        if words != sorted(words, key=order.index):
            return False
        if "default" in words and len(words) > 1:
            return False
        return not any(all(x in words for x in g) for g in entry.get("exclusive", []))
    if t == "string":
        return isinstance(text, str)
    if t == "string-list":
        if text == "":
            return True
        words = text.split(" ")
        return all(words) and len(words) <= entry.get("max_items", len(words))
    if t == "save":
        return accepts(entry, server, text) and all(_INT_STRICT.match(p) for p in text.split(" ") if text)
    if t == "keyspace-events":
        return all(ch in entry["flags"] for ch in text) and len(set(text)) == len(text)
    if t == "client-output-buffer-limit":
        parts = text.split(" ")
        if len(parts) != 4 * len(entry["classes"]):
            return False
        for i, cls in enumerate(entry["classes"]):
            block = parts[4 * i : 4 * i + 4]
            if block[0] != cls or not all(re.fullmatch(r"0|[1-9]\d*", x) for x in block[1:]):
                return False
        return True
    if t == "int-list":
        return accepts(entry, server, text) and all(_INT_STRICT.match(p) for p in text.split(" "))
    if t == "float-list":
        return accepts(entry, server, text)
    if t == "replicaof":
        return text == "" or (accepts(entry, server, text) and text.split(" ")[0].lower() != "no")
    raise AssertionError(f"unknown type {t}")


def predicted_readback(entry: dict, text: str):
    """For int/memory params: the string CONFIG GET should show after CONFIG SET ``text``."""
    if entry["type"] == "int":
        v = parse_int_input(entry, text)
        fmt = (lambda x: format(x, "o")) if entry.get("octal") else str
    elif entry["type"] == "memory":
        if text.endswith("%"):
            return text
        v = parse_memory_input(text)
        fmt = str
    else:
        return None
    if "clamp" in entry:
        v = min(max(v, entry["clamp"][0]), entry["clamp"][1])
    return fmt(v)


# ---------------------------------------------------------------- structure


def test_file_shape(raw, params):
    assert raw["format"] == 1
    assert set(raw) == {"format", "params"}
    assert list(params) == sorted(params), "params must be sorted by name"
    for name, e in params.items():
        assert list(e) == sorted(e), f"{name}: entry keys must be sorted"
        for key in ("type", "class", "aliases", "sensitive", "servers", "default"):
            assert key in e, f"{name}: missing {key}"
        assert e["type"] in TYPES, name
        assert e["class"] in CLASSES, name
        assert e["servers"] and e["servers"] == [s for s in SERVERS if s in e["servers"]], name
        assert isinstance(e["sensitive"], bool), name
        if "class_servers" in e:
            cs = e["class_servers"]
            assert set(cs) == set(e["servers"]) and len(set(cs.values())) > 1, name
            assert e["class"] == max(cs.values(), key=CLASSES.index), name


def test_type_specific_fields(params):
    for name, e in params.items():
        t = e["type"]
        if t in ("int", "memory"):
            assert e["min"] <= e["max"], name
            if "clamp" in e:
                lo, hi = e["clamp"]
                assert e["min"] <= lo <= hi <= e["max"], name
            for srv, (lo, hi) in e.get("range_servers", {}).items():
                assert srv in e["servers"] and lo <= hi, name
                assert lo <= e["min"] and e["max"] <= hi, f"{name}: min/max must be the intersection"
        else:
            assert "clamp" not in e and "range_servers" not in e, name
        if t == "memory":
            assert e.get("percent") in (None, "resolve", "native"), name
        else:
            assert "percent" not in e, name
        if t in ("enum", "enum-set"):
            ch = e["choices"]
            assert ch and len(set(ch)) == len(ch) and all(c == c.lower() for c in ch), name
            for alias, target in e.get("choice_aliases", {}).items():
                assert alias in ch and target in ch and alias != target, name
            for c, srvs in e.get("choice_servers", {}).items():
                assert c in ch and set(srvs) < set(e["servers"]), name
        else:
            assert "choices" not in e, name
        if t == "int-list":
            assert e["count"] >= 1, name
    assert params["maxmemory"]["percent"] == "resolve"
    assert params["maxmemory-clients"]["percent"] == "native"
    assert params["hz"]["clamp"] == [1, 500]
    assert params["oom-score-adj-values"] == {**params["oom-score-adj-values"], "count": 3, "min": -2000, "max": 2000}
    assert params["oom-score-adj"]["choice_aliases"] == {"relative": "yes"}
    assert params["loglevel"]["choice_servers"] == {"nothing": ["redis-8.2", "valkey-8", "valkey-8.1", "valkey-9.1"]}
    assert params["log-format"]["choice_servers"] == {"json": ["valkey-9.1"]}


# Not observable in redis-facts for every param, so pinned from src/config.c
# (standardConfig tables of Redis 7.0 / 8.x and Valkey 8): the size params
# created with MEMORY_CONFIG (they take k/kb/m/mb/g/gb). Note the asymmetry:
# set-max-listpack-value and tracking-table-max-keys are plain integers.
MEMORY_CONFIG_PARAMS = {
    "active-defrag-ignore-bytes", "auto-aof-rewrite-min-size", "client-query-buffer-limit",
    "cluster-link-sendbuf-limit", "hash-max-listpack-value", "hll-sparse-max-bytes", "maxmemory",
    "maxmemory-clients", "proto-max-bulk-len", "repl-backlog-size", "replica-full-sync-buffer-limit",
    "stream-node-max-bytes", "zset-max-listpack-value",
    "slot-migration-max-failover-repl-bytes",  # Valkey 9.1 (takes 1kb; see its sweep.json)
}

ENUM_CHOICES = {  # configEnum tables, in table order (= the order of Redis's error text)
    "acl-pubsub-default": ["allchannels", "resetchannels"],
    "appendfsync": ["everysec", "always", "no"],
    "cluster-preferred-endpoint-type": ["ip", "hostname", "unknown-endpoint"],
    "enable-debug-command": ["no", "yes", "local"],
    "enable-module-command": ["no", "yes", "local"],
    "enable-protected-configs": ["no", "yes", "local"],
    "loglevel": ["debug", "verbose", "notice", "warning", "nothing"],
    "maxmemory-policy": [
        "volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl",
        "allkeys-lru", "allkeys-lfu", "allkeys-random", "noeviction",
    ],
    "oom-score-adj": ["no", "yes", "relative", "absolute"],
    "propagation-error-behavior": ["ignore", "panic", "panic-on-replicas"],
    "repl-diskless-load": ["disabled", "on-empty-db", "swapdb"],
    "sanitize-dump-payload": ["no", "yes", "clients"],
    "supervised": ["upstart", "systemd", "auto", "no"],
    "syslog-facility": ["user"] + [f"local{i}" for i in range(8)],
    "tls-auth-clients": ["no", "yes", "optional"],
    # Valkey 8.1 / 9.1 (their error texts in tests/redis-facts/valkey-*/sweep.json)
    "cluster-config-save-behavior": ["sync", "best-effort"],
    "log-format": ["legacy", "logfmt", "json"],
    "log-timestamp-format": ["legacy", "iso8601", "milliseconds"],
    "rdb-version-check": ["strict", "relaxed"],
    "tls-auth-clients-user": ["cn", "uri", "off"],  # Valkey prints CN, URI, off; enums are case-blind
    "shutdown-on-sigint": ["default", "save", "nosave", "now", "force", "safe", "failover"],  # safe, failover: Valkey 9.1
    "shutdown-on-sigterm": ["default", "save", "nosave", "now", "force", "safe", "failover"],
}


def test_source_pins(params):
    assert {n for n, e in params.items() if e["type"] == "memory"} == MEMORY_CONFIG_PARAMS
    assert {n: e["choices"] for n, e in params.items() if "choices" in e} == ENUM_CHOICES
    assert params["bind"]["type"] == "string-list"
    assert params["replica-ignore-disk-write-errors"]["type"] == "bool"


def test_canonical_names_are_the_modern_ones(params, index):
    for name in params:
        assert "_" not in name and "slave" not in name and "ziplist" not in name, name
        assert not name.startswith("primary"), name
    assert index["lua-time-limit"] == "busy-reply-threshold"
    assert index["slaveof"] == "replicaof"
    assert index["primaryauth"] == "masterauth"
    assert index["primaryuser"] == "masteruser"
    assert index["bio_cpulist"] == "bio-cpulist"


# ---------------------------------------------------------------- against the servers


def test_union_size(params):
    union = set()
    for s in SERVERS:
        union |= set(_facts(s, "config-get"))
    names = [n for name, e in params.items() for n in (name, *e["aliases"])]
    assert len(names) == len(set(names)), "a name is both a param and an alias, or an alias of two params"
    assert set(names) == union


def test_every_name_is_one_param_or_alias(params, index, server):
    reported = _facts(server, "config-get")
    canonical = set(params)
    aliases = [a for e in params.values() for a in e["aliases"]]
    assert not canonical & set(aliases)
    assert len(aliases) == len(set(aliases))
    missing = sorted(n for n in reported if n not in index)
    assert not missing, f"{server}: names not in the catalog: {missing}"


def test_class_matches_mutability(params, index, server):
    mutability = _facts(server, "mutability")
    expected = {"live": "ok", "restart": "can't set immutable config", "protected": "can't set protected config"}
    # a live parameter of a feature the build lacks refuses every CONFIG SET (the Valkey wheels have no RDMA)
    build_refusals = ("No RDMA building support.",)
    wrong = []
    for name, reply in mutability.items():
        cls = _server_class(params[index[name]], server)
        ok = (reply == "ok" or reply.endswith(build_refusals)) if cls == "live" else reply.endswith(expected[cls])
        if not ok:
            wrong.append((name, cls, reply))
    assert not wrong, f"{server}: {wrong}"


def test_reported_values_are_valid(params, index, server):
    reported = _facts(server, "config-get")
    bad = [(n, v) for n, v in reported.items() if not reported_ok(params[index[n]], server, v)]
    assert not bad, f"{server}: {bad}"


def test_aliases_report_the_same_value(params, server):
    reported = _facts(server, "config-get")
    for name, e in params.items():
        values = {reported[n] for n in (name, *e["aliases"]) if n in reported}
        assert len(values) <= 1, f"{server}: {name} and its aliases differ: {values}"


def test_defaults_match_the_servers(params, server):
    reported = _facts(server, "config-get")
    for name, e in params.items():
        here = [reported[n] for n in (name, *e["aliases"]) if n in reported]
        if not here:
            continue
        expected = e.get("default_servers", {}).get(server, e["default"])
        assert here[0] == expected, f"{server}: {name} default {expected!r}, server reported {here[0]!r}"
        assert reported_ok(e, server, e["default"]) or "default_servers" in e, name


def test_servers_field(params):
    reported = {s: set(_facts(s, "config-get")) for s in SERVERS}
    for name, e in params.items():
        where = [s for s in SERVERS if reported[s] & {name, *e["aliases"]}]
        assert e["servers"] == where, name
        if "default_servers" in e:
            assert set(e["default_servers"]) == set(where), name


def test_sensitive(params):
    assert {n for n, e in params.items() if e["sensitive"]} == SECRETS


# ---------------------------------------------------------------- normalization experiments


def _normalization(server):
    return [x for x in _facts(server, "normalization") if "param" in x]


def test_accepted_values_are_accepted_and_read_back_as_predicted(params, index, server):
    for x in _normalization(server):
        if "error" in x:
            continue
        e = params[index[x["param"].lower()]]
        what = f"{server}: CONFIG SET {x['param']} {x['set_value']!r}"
        assert accepts(e, server, x["set_value"]), f"{what} answered OK but the type refuses it"
        assert reported_ok(e, server, x["get_value_after"]), f"{what} read back {x['get_value_after']!r}"
        if x["get_value_before"] is not None:
            assert reported_ok(e, server, x["get_value_before"]), what
        predicted = predicted_readback(e, x["set_value"])
        if predicted is not None:
            assert x["get_value_after"] == predicted, f"{what}: read back {x['get_value_after']!r}, model {predicted!r}"


def test_refused_values_are_refused(params, index, server):
    seen_type_errors = 0
    for x in _normalization(server):
        err = x.get("error")
        if err is None:
            continue
        canonical = index.get(x["param"].lower())
        what = f"{server}: CONFIG SET {x['param']} {x['set_value']!r} -> {err}"
        if "Unknown option" in err:
            assert canonical is None or server not in params[canonical]["servers"], what
            continue
        e = params[canonical]
        if err.endswith("can't set immutable config"):
            assert _server_class(e, server) == "restart", what
            continue
        if err.endswith("can't set protected config"):
            assert _server_class(e, server) == "protected", what
            continue
        if any(s in err for s in NOT_TYPE_ERRORS):
            continue
        assert not accepts(e, server, x["set_value"]), f"{what}, but the type accepts it"
        seen_type_errors += 1
        m = re.search(r"argument must be between (-?\d+) and (-?\d+) inclusive", err)
        if m:
            assert _range(e, server) == (int(m.group(1)), int(m.group(2))), what
        m = re.search(r"must be one of the following: (.*)$", err)
        if m:
            assert _choices(e, server) == m.group(1).split(", "), what
    assert seen_type_errors >= 20, "expected the refusal experiments to be exercised"


def test_config_get_replies_in_experiments_are_valid(params, index, server):
    """CONFIG GET replies captured in normalization.json and config-file.json."""
    reported = set(_facts(server, "config-get"))
    replies = []
    for x in _facts(server, "normalization"):
        if x.get("command", [None])[:2] == ["CONFIG", "GET"] and isinstance(x.get("reply"), list):
            replies.append(x["reply"])
    for case in _facts(server, "config-file"):
        for r in case.get("replies", []):
            if r["command"][:2] == ["CONFIG", "GET"] and isinstance(r.get("reply"), list):
                replies.append(r["reply"])
    assert replies
    for reply in replies:
        for name, value in zip(reply[::2], reply[1::2]):
            canonical = index.get(name.lower())
            if canonical is None:
                # only hidden configs (absent from CONFIG GET *) may be unknown
                assert name.lower() not in reported, name
                continue
            assert reported_ok(params[canonical], server, value), f"{server}: {name} = {value!r}"
