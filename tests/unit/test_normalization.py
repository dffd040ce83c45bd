"""Canonicalization agrees with what Redis 7.0, Redis 8.2 and Valkey 8 answered.

Every ``CONFIG SET`` experiment in ``redis-facts/*/normalization.json`` is
replayed through borgconf's rules: a value the server accepted must be
accepted and canonicalize to exactly what the server reported afterwards; a
value the server refused must be refused offline, unless the refusal depends
on the server's state (immutable, protected, fd limits, build options) or
borgconf deliberately accepts a friendlier spelling that it sends canonical.
"""

from __future__ import annotations

import pytest

from borgconf import params as P
from facts import SERVERS as _FIRST_SERVERS
from facts import load

SERVERS = (*_FIRST_SERVERS, "valkey-8.1", "valkey-9.1")

# refusals that depend on the running server, not on the value
STATE_ERRORS = (
    "can't set immutable config",
    "can't set protected config",
    "No such file or directory",
    "dir can't be empty",
    "try with",  # maxclients above the process's fd limit
    "Unable to listen",
    "shipped by default with the Redis source distribution",  # activedefrag without Redis's jemalloc
    "shipped by default with the source distribution",  # the same on the Valkey wheels (libc malloc)
)

# spellings borgconf accepts on purpose and sends in canonical form
FRIENDLIER = {
    ("appendonly", "true"): "true/false are booleans in a spec; borgconf sends yes",
    ("maxmemory", "25%"): "borgconf resolves percentages against total memory",
    ("save", "  3600   1   300  100  "): "borgconf splits on any whitespace and sends '3600 1 300 100'",
}

# values some server accepted that borgconf refuses because another supported server does
STRICTER = {
    ("maxmemory-samples", "65"): "Redis 8.2 and Valkey refuse 65 (range 1..64); Redis 7.0 took it",
    ("dir", "../b"): "a relative dir depends on the server's working directory: never reads back as written",
    ("dir", "."): "a relative dir depends on the server's working directory: never reads back as written",
}


def _cases():
    for server in SERVERS:
        for i, e in enumerate(load(server, "normalization.json")):
            if "param" in e:
                # the capture replaced its temp dir by "<dir>": put a real absolute path back
                e = {k: v.replace("<dir>", "/tmp/capture") if isinstance(v, str) else v for k, v in e.items()}
                yield pytest.param(server, e, id=f"{server}-{i}-{e['param']}-{e['set_value']!r}")


@pytest.mark.parametrize("server,entry", list(_cases()))
def test_canonical_matches_server(server, entry):
    name, value = entry["param"], entry["set_value"]
    p = P.catalog().lookup(name)
    error = entry.get("error")
    if p is None:
        assert error and "Unknown option" in error, f"{name} is missing from the catalog but {server} knows it"
        return
    if error and server not in p.servers:
        assert "Unknown option" in error
        return
    try:
        checked = P.check(p, value)
        accepted, why = True, ""
    except P.InvalidValue as exc:
        accepted, why = False, str(exc)

    if error:
        if any(s in error for s in STATE_ERRORS):
            return
        if p.choice_servers.get(str(value).lower()) and server not in p.choice_servers[str(value).lower()]:
            return  # a value only newer servers take: the server's own refusal is shown at apply
        if (name, value) in FRIENDLIER:
            assert accepted
            return
        assert not accepted, f"{server} refused {name}={value!r} ({error}) but borgconf accepts it"
        return

    before = P.canonical_live(p, entry["get_value_before"])
    after = P.canonical_live(p, entry["get_value_after"])
    if not accepted:
        if (name, value) in STRICTER:
            return
        # the only other reason to refuse a value the server took: it would be clamped
        assert p.clamp, f"{server} accepted {name}={value!r} but borgconf refused it: {why}"
        assert entry["get_value_after"] != str(value), "a clamp refusal must be for a value the server changed"
        assert "clamps" in why
        return
    got = P.desired(p, checked, live=before, total_memory=8 * 1024**3)
    assert got == after, f"{server}: {name}={value!r} canonicalizes to {got!r}, the server reported {entry['get_value_after']!r}"


@pytest.mark.parametrize("server", SERVERS)
def test_every_default_is_its_own_canonical(server):
    """A server's own report of a value is a fixed point: no perpetual diff on defaults."""
    config = load(server, "config-get.json")
    for name, raw in config.items():
        p = P.catalog().lookup(name)
        assert p is not None, name
        canon = P.canonical_live(p, raw)
        if p.cls != P.LIVE or p.type in ("string",):
            continue
        try:
            checked = P.check(p, raw)
        except P.InvalidValue as exc:
            pytest.fail(f"{server}: the default {name}={raw!r} does not validate: {exc}")
        assert P.desired(p, checked, live=canon) == canon, name


def test_memory_units_are_redis_units():
    assert P.parse_memory("1k") == 1000
    assert P.parse_memory("1kb") == 1024
    assert P.parse_memory("2GB") == P.parse_memory("2gb") == P.parse_memory("2048mb") == 2147483648
    assert P.parse_memory(2147483648) == 2147483648
    for bad in ("2 gb", "1.5gb", "-1", "+5", "0x10", "1tb", "2gib", " 2gb", True):
        with pytest.raises(P.InvalidValue):
            P.parse_memory(bad)


def test_keyspace_events_is_a_set_in_redis_order():
    p = P.catalog().lookup("notify-keyspace-events")
    for spelling in ("Ex", "xE", "EEx"):
        assert P.desired(p, P.check(p, spelling)) == "xE"
    for spelling in ("KEA", "AKE", "EAK", "Kg$lshzxetdE", "KEAn"):
        assert P.desired(p, P.check(p, spelling)) == "AKE"


def test_save_points_are_a_set():
    p = P.catalog().lookup("save")
    want = "900 1 300 10 60 10000"
    for spelling in (["900 1", "300 10", "60 10000"], "60 10000 300 10 900 1", [[300, 10], [900, 1], [60, 10000]], {900: 1, 300: 10, 60: 10000}, ["900 1 300 10", "60 10000", "900 1"]):
        assert P.desired(p, P.check(p, spelling)) == want
    assert P.desired(p, P.check(p, [])) == ""
    assert P.desired(p, P.check(p, "")) == ""


def test_clamped_values_are_validation_errors():
    p = P.catalog().lookup("hz")
    assert p.clamp == (1, 500)
    for bad in (0, 501, 1000):
        with pytest.raises(P.InvalidValue, match="clamps"):
            P.check(p, bad)
    assert P.check(p, 500) == 500


def test_maxmemory_percent_resolves_against_total_memory():
    p = P.catalog().lookup("maxmemory")
    checked = P.check(p, "25%")
    assert P.desired(p, checked, total_memory=8 * 1024**3) == str(2 * 1024**3)
    with pytest.raises(P.InvalidValue):
        P.desired(p, checked, total_memory=0)
    for bad in ("0%", "101%", "2.5%", "%"):
        with pytest.raises(P.InvalidValue):
            P.check(p, bad)


def test_client_output_buffer_limit_merges_classes_given():
    p = P.catalog().lookup("client-output-buffer-limit")
    live = "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60"
    got = P.desired(p, P.check(p, "PUBSUB 64mb 16mb 90"), live=live)
    assert got == "normal 0 0 0 slave 268435456 67108864 60 pubsub 67108864 16777216 90"
    got = P.desired(p, P.check(p, {"replica": "512mb 128mb 120"}), live=live)
    assert got == "normal 0 0 0 slave 536870912 134217728 120 pubsub 33554432 8388608 60"


def test_default_is_no_shutdown_flag():
    p = P.catalog().lookup("shutdown-on-sigint")
    assert P.desired(p, P.check(p, "default save")) == "save"  # what Redis 8.2 read back
    assert P.desired(p, P.check(p, "default")) == "default"
