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


# ---------------------------------------------------------------- the live sweep (issue 10)
#
# tests/capture_facts.py sent boundary and odd values of every type to each
# server (CONFIG SET on a throwaway instance) and recorded accept/reject and the
# read-back in redis-facts/<server>/sweep.json.  borgconf's validation for that
# server (check(..., server=)) must agree, except for the disagreements below,
# each kept on purpose.

SWEEP_SERVERS = ("redis-7.0", "redis-8.2", "valkey-8.1", "valkey-9.1")

# the server took it, borgconf refuses it: why
KEPT_STRICTER = {
    ("bind", "-1"): "the server reads '-1' as optional address '1' (inet_aton: 0.0.0.1); not an address anyone means",
    ("client-output-buffer-limit", ""): "an empty value changes nothing on the server; in a spec it is a mistake",
    ("cluster-announce-ip", "%s"): "Valkey 9.1 refuses it; the strictest rule of the supported servers is kept",
    ("cluster-announce-ip", "x y"): "Valkey 9.1 refuses it; the strictest rule of the supported servers is kept",
    ("cluster-announce-ip", "a@b"): "Valkey 9.1 refuses it; the strictest rule of the supported servers is kept",
    ("cluster-announce-human-nodename", "x y"): "Valkey 9.1 refuses it; the strictest rule of the supported servers is kept",
    ("cluster-announce-human-nodename", "a:b"): "Redis 8.2 refuses it; the strictest rule of the supported servers is kept",
    ("maxmemory", "18446744073709551616"): "above 2^64-1: the server saturates it to 2^64-1, so it never reads back as written",
    ("cluster-link-sendbuf-limit", "18446744073709551616"): "above 2^64-1: the server saturates it, never reads back as written",
    ("maxmemory-clients", "18446744073709551615"): "the server's percent check overflows and reads it back as '1%'",
    ("maxmemory-clients", "18446744073709551616"): "the server's percent check overflows and reads it back as '1%'",
    ("slot-migration-max-failover-repl-bytes", "-1"): "a size is never negative in a spec (0 is the documented off value)",
    ("slot-migration-max-failover-repl-bytes", "18446744073709551615"): "the server wraps it to -1",
}
# the server refused it, borgconf accepts it, and what borgconf would send is refused too: why
KEPT_LAXER = {
    ("activedefrag", "yes"): "build-dependent: Redis's jemalloc is needed; the server's refusal shows at apply (atomic)",
    ("activedefrag", "YES"): "build-dependent: Redis's jemalloc is needed; the server's refusal shows at apply (atomic)",
    ("activedefrag", "true"): "build-dependent: Redis's jemalloc is needed; the server's refusal shows at apply (atomic)",
    ("locale-collate", "en_US.UTF-8"): "host-dependent: only the server's host knows which locales are installed",
    ("locale-collate", "en_US"): "host-dependent: only the server's host knows which locales are installed",
}
LAXER_PREFIXES = {
    "rdma-": "build-dependent: the Valkey wheels have no RDMA and refuse any change",
}


def _clamped(p, value, r) -> bool:
    return bool(p.clamp) and r["accept"] and r["read_back"] != value


def _sweep_cases():
    for server in SWEEP_SERVERS:
        config = load(server, "config-get.json")
        for name, row in load(server, "sweep.json")["results"].items():
            for value, r in row.items():
                yield server, config, name, row, value, r


def test_sweep_covers_every_type_on_every_server():
    for server in SWEEP_SERVERS:
        sweep = load(server, "sweep.json")
        assert sweep["server"] == server
        types = {P.catalog().lookup(n).type for n in sweep["results"]}
        assert types >= {"bool", "int", "memory", "enum", "enum-set", "string", "save", "keyspace-events",
                         "client-output-buffer-limit", "int-list", "float-list"}, (server, types)
        assert sum(len(row) for row in sweep["results"].values()) > 1000


def test_sweep_borgconf_agrees_with_each_server():
    wrong = []
    kept_used = set()
    for server, config, name, row, value, r in _sweep_cases():
        p = P.catalog().lookup(name)
        assert p is not None and p.available_on(server), (server, name)
        try:
            checked = P.check(p, value, server=server)
            accepted = True
        except P.InvalidValue:
            accepted = False
        live = P.canonical_live(p, config.get(name))
        if accepted and r["accept"]:
            if isinstance(checked, tuple):
                continue  # a percentage borgconf resolves: the server never sees it
            got = P.desired(p, checked, live=live, total_memory=8 * 1024**3)
            if p.type != "string" and got != P.canonical_live(p, r["read_back"]):
                wrong.append(f"{server}: {name}={value!r} reads back {r['read_back']!r}, borgconf predicts {got!r}")
        elif r["accept"] and not accepted:
            if _clamped(p, value, r) or (p.type == "memory" and value == "" and r["read_back"] == "0"):
                continue  # clamps and '' (= 0) are refused with a message saying what to write
            if (name, value) in KEPT_STRICTER:
                kept_used.add((name, value))
                continue
            wrong.append(f"{server}: {name}={value!r} is taken by the server (reads back {r['read_back']!r}) but borgconf refuses it")
        elif accepted and not r["accept"]:
            sent = None if isinstance(checked, tuple) else P.desired(p, checked, live=live, total_memory=8 * 1024**3)
            if isinstance(checked, tuple) or (sent in row and row[sent]["accept"]) or (sent == live):
                continue  # a friendlier spelling: what borgconf sends is taken (true -> yes, 25% -> bytes)
            if (name, value) in KEPT_LAXER:
                kept_used.add((name, value))
                continue
            if any(name.startswith(prefix) for prefix in LAXER_PREFIXES):
                continue
            wrong.append(f"{server}: {name}={value!r} is refused by the server ({r['error']}) but borgconf accepts it")
    assert not wrong, "\n".join(wrong)
    unused = (set(KEPT_STRICTER) | set(KEPT_LAXER)) - kept_used
    assert not unused, f"kept disagreements that no longer happen (remove them): {sorted(unused)}"


def test_issue_10_disagreements_are_fixed():
    """The list in issue 10, per server, through the same validation plan uses."""
    cat = P.catalog()

    def ok(name, value, server=None):
        try:
            P.check(cat.lookup(name), value, server=server)
            return True
        except P.InvalidValue:
            return False

    # Redis accepts, borgconf rejected
    assert ok("maxmemory-samples", "65", "redis-7.0") and not ok("maxmemory-samples", "65", "redis-8.2")
    assert not ok("maxmemory-samples", "65")  # validate: the range every supported server takes
    for flags in ("KEo", "KEc"):
        assert ok("notify-keyspace-events", flags, "redis-8.2")
        for server in ("redis-7.0", "valkey-8.1", "valkey-9.1"):
            assert not ok("notify-keyspace-events", flags, server)
    assert ok("oom-score-adj-values", "+5 0 0")
    assert P.desired(cat.lookup("oom-score-adj-values"), P.check(cat.lookup("oom-score-adj-values"), "+5 0 0")) == "5 0 0"
    assert ok("maxmemory-clients", "0%")
    # borgconf accepted, Redis rejects
    assert not ok("loglevel", "nothing", "redis-7.0") and ok("loglevel", "nothing", "redis-8.2")
    assert not ok("maxmemory", str(2**63), "redis-8.2") and ok("maxmemory", str(2**63), "redis-7.0")
    assert not ok("maxmemory", str(2**63))
    assert not ok("cluster-announce-hostname", "my host")
    assert ok("cluster-announce-hostname", "node-1.example.com")
    assert not ok("locale-collate", "not-a-locale") and ok("locale-collate", "C") and ok("locale-collate", "en_US.UTF-8")
    assert not ok("proc-title-template", "") and not ok("proc-title-template", "{nope}")
    assert not ok("proc-title-template", "{title}") and not ok("proc-title-template", "{title")
    assert ok("proc-title-template", "{title} {listen-addr} {server-mode}")


def test_n_keyspace_flag_is_kept_as_redis_reports_it():
    p = P.catalog().lookup("notify-keyspace-events")
    # the sweep: every server reports n before K E (and drops it after A)
    for server in SWEEP_SERVERS:
        row = load(server, "sweep.json")["results"]["notify-keyspace-events"]
        assert row["Kn"]["read_back"] == "nK" and row["KEnm"]["read_back"] == "nKEm" and row["KEAn"]["read_back"] == "AKE"
    assert P.desired(p, P.check(p, "KEn")) == "nKE"
    assert P.canonical_live(p, "nKE") == "nKE"
    # a live nKE is not "in sync" with a spec saying KE
    assert P.desired(p, P.check(p, "KE")) != P.canonical_live(p, "nKE")
    assert P.desired(p, P.check(p, "KEA")) == P.canonical_live(p, "AKE")


# ---------------------------------------------------------------- per-server catalog API


def _info_key(server: str) -> str:
    info = dict(line.split(":", 1) for line in load_text(server, "info-server.txt").splitlines() if ":" in line)
    if "valkey_version" in info:
        return P.server_key("valkey", info["valkey_version"])
    return P.server_key("redis", info["redis_version"])


def load_text(server: str, name: str) -> str:
    from facts import text

    return text(server, name)


@pytest.mark.parametrize("server", SERVERS)
def test_server_key_from_info(server):
    assert _info_key(server) == server
    assert server in P.SERVER_KEYS


@pytest.mark.parametrize("server", SERVERS)
def test_cls_for_matches_each_servers_mutability(server):
    mutability = load(server, "mutability.json")
    expected = {"live": ("ok", "No RDMA building support."), "restart": ("can't set immutable config",),
                "protected": ("can't set protected config",)}
    for name, reply in mutability.items():
        p = P.catalog().lookup(name)
        cls = p.cls_for(server)
        assert reply == "ok" or reply.endswith(expected[cls]), (server, name, cls, reply)
        if reply == "ok":
            assert cls == P.LIVE, (server, name)


def test_io_threads_is_live_on_valkey_9_only():
    p = P.catalog().lookup("io-threads")
    assert [k for k in P.SERVER_KEYS if p.cls_for(k) == P.LIVE] == ["valkey-9.1"]
    assert p.cls == P.RESTART and p.cls_for(None) == P.RESTART and p.cls_for("redis-7.2") == P.RESTART


@pytest.mark.parametrize("server", SERVERS)
def test_default_for_is_the_fresh_servers_value(server):
    config = load(server, "config-get.json")
    for p in P.catalog():
        here = [config[n] for n in p.names() if n in config]
        if not here:
            assert p.default_for(server) is None, (server, p.name)
            continue
        if p.base_config:
            # the capture's config file set these: the built-in default is what a fresh server has
            assert p.default_for(server) == p.compiled_default, p.name
            continue
        assert p.default_for(server) == here[0], (server, p.name)
    assert P.catalog().lookup("port").default_for(server) == "6379"
    assert P.catalog().lookup("dir").default_for(server) is None  # the server's working directory


def test_name_for_is_the_name_config_rewrite_writes():
    cat = P.catalog()
    for server in ("valkey-8.1", "valkey-9.1"):
        case = [c for c in load(server, "config-file.json") if c["case"].startswith("masterauth and masteruser")][0]
        written = {line.split()[0] for line in case["file_after_rewrite_matching_lines"]}
        assert written == {P.name_for("masterauth", server), P.name_for("masteruser", server)} == {"primaryauth", "primaryuser"}
    # Valkey 8.0.1 (no binary here to rewrite with) reports primaryauth in CONFIG GET *
    assert "primaryauth" in load("valkey-8", "config-get.json") and P.name_for("masterauth", "valkey-8") == "primaryauth"
    for server in ("redis-7.0", "redis-8.2"):
        assert "primaryauth" not in load(server, "config-get.json")
        assert cat.lookup("primaryauth").name_for(server) == "masterauth"
        assert P.name_for("masteruser", server) == "masteruser"
    assert P.name_for("maxmemory", "valkey-9.1") == "maxmemory"


# ---------------------------------------------------------------- the planner uses them


def _live(server: str):
    from borgconf.live import LiveState, parse_info

    info = dict(line.split(":", 1) for line in load_text(server, "info-server.txt").splitlines() if ":" in line and not line.startswith("#"))
    facts = parse_info(info)
    facts["total_memory"] = 8 * 1024**3
    return LiveState(address="127.0.0.1:6379", config=load(server, "config-get.json"), **facts)


@pytest.mark.parametrize("server", SERVERS)
def test_planner_class_is_the_servers_own(server):
    from borgconf.planner import param_class

    live = _live(server)
    p = P.catalog().lookup("io-threads")
    assert param_class(p, live) == ("live" if server == "valkey-9.1" else "restart")


def test_plan_refuses_what_only_other_servers_take(tmp_path):
    import textwrap

    from borgconf.errors import BorgconfError
    from borgconf.planner import desired_values
    from borgconf.spec import load_spec

    spec_file = tmp_path / "s.yaml"
    spec_file.write_text("version: 1\n" + textwrap.dedent("""\
        server:
          loglevel: nothing
        """))
    spec = load_spec(spec_file, env={})
    assert desired_values(spec, _live("redis-8.2"))["loglevel"] == "nothing"
    with pytest.raises(BorgconfError, match="not taken by redis-7.0"):
        desired_values(spec, _live("redis-7.0"))


def test_the_catalog_makes_each_param_when_first_asked_and_keeps_the_files_order():
    # issue 15: a Param is made on first lookup; iteration, len and names stay the file's
    import json
    from pathlib import Path

    raw = json.loads((Path(P.__file__).parent / "data" / "params.json").read_text())["params"]
    cat = P.Catalog(entries=raw)
    first = cat.lookup("UNIXSOCKETPERM")  # looked up before the others are made
    assert first is cat.lookup("unixsocketperm") and first.name == "unixsocketperm"
    assert [p.name for p in cat] == list(raw) and len(cat) == len(raw)
    assert list(cat.params) == list(raw) and cat.params == P.catalog().params
    for name, e in raw.items():
        assert all(cat.lookup(a).name == name for a in e.get("aliases", ()))
    assert cat.lookup("no-such-parameter") is None and cat.suggest("maxmemori") == "maxmemory"
