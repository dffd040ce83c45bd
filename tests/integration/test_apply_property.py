"""Property: for generated valid server: blocks, apply then plan is empty (real servers).

Values are drawn from each live parameter's type in the catalog. Parameters
whose effect reaches outside the test server (listeners, TLS files, the
process's OOM score, file-descriptor limits) are left out, each with a reason.
"""

from __future__ import annotations

import json
import string

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from borgconf import params as P
from borgconf.cli import main
from borgconf.lock import parse_client_list

EXCLUDED = {
    "port": "opens a listener",
    "tls-port": "opens a TLS listener (the builds have no TLS)",
    "bind": "changes the listeners",
    "bind-source-addr": "needs a local address to bind outgoing connections",
    "maxclients": "bounded by the process's file-descriptor limit",
    "oom-score-adj": "changes the process's OOM score",
    "oom-score-adj-values": "changes the process's OOM score",
    "activedefrag": "Debian's Redis 7.0 build and the Valkey wheels refuse it (not Redis's jemalloc)",
    "requirepass": "would lock the test client out (covered by its own tests)",
    "proc-title-template": "a format string the server validates",
    "locale-collate": "a locale name the system must have",
    "ignore-warnings": "only known warning names are accepted",
    "propagation-error-behavior": "panic values would crash the server on errors",
    "maxmemory": "drawn separately (see below), random values evict",
    "min-replicas-to-write": "a primary without replicas then refuses every write",
    "rdma-bind": "the Valkey wheels are built without RDMA: every change is refused",
    "rdma-port": "the Valkey wheels are built without RDMA: every change is refused",
}


def _simple_text():
    return st.text(alphabet=string.ascii_lowercase + string.digits, min_size=1, max_size=12)


def strategy_for(p: P.Param, server: str):
    t = p.type
    lo = p.clamp[0] if p.clamp else (p.min if p.min is not None else 0)
    hi = p.clamp[1] if p.clamp else (p.max if p.max is not None else 2**31 - 1)
    hi = min(hi, 2**31 - 1)
    if t == "bool":
        return st.sampled_from([True, False, "yes", "no", "YES", "true"])
    if t == "int":
        return st.integers(min_value=max(lo, -(2**31)), max_value=hi)
    if t == "memory":
        base = st.integers(min_value=max(lo, 0), max_value=min(hi, 2**34))
        units = st.sampled_from(["", "k", "kb", "m", "mb", "gb"])
        small = st.tuples(st.integers(min_value=1, max_value=64), units).map(lambda x: f"{x[0]}{x[1]}")
        def fits(v):
            try:
                P.check(p, v)
                return True
            except P.InvalidValue:
                return False
        return st.one_of(base, small).filter(fits)
    if t == "enum":
        ok = [c for c in p.choices if server in p.choice_servers.get(c, (server,))]
        return st.sampled_from(ok + [c.upper() for c in ok] + list(p.choice_aliases))
    if t == "enum-set":
        return st.lists(st.sampled_from(p.choices_for(server)), min_size=1, max_size=3, unique=True).map(" ".join).filter(lambda v: _ok(p, v))
    if t == "save":
        pair = st.tuples(st.integers(1, 100000), st.integers(0, 100000)).map(lambda x: f"{x[0]} {x[1]}")
        return st.lists(pair, max_size=4)
    if t == "keyspace-events":
        return st.lists(st.sampled_from(list("AKEg$lshzxetdm")), max_size=6).map("".join)
    if t == "client-output-buffer-limit":
        limits = st.tuples(st.sampled_from(["0", "1mb", "64mb", "256mb", "1gb"]), st.sampled_from(["0", "512kb", "8mb"]), st.integers(0, 600))
        return st.dictionaries(st.sampled_from(["normal", "replica", "pubsub"]), limits.map(lambda x: f"{x[0]} {x[1]} {x[2]}"), min_size=1)
    if t == "float-list":
        return st.lists(st.floats(min_value=0, max_value=100, allow_nan=False).map(lambda f: round(f, 3)), max_size=4)
    if t == "string":  # text, or the values a rule-bound string (an address) takes
        return st.one_of(_simple_text(), st.sampled_from(["", "127.0.0.1"])).filter(lambda v: _ok(p, v))
    return None


def _ok(p, v):
    try:
        P.check(p, v)
        return True
    except P.InvalidValue:
        return False


# values that would make the server drop borgconf's own connection mid-apply
BOUNDED = {
    "maxmemory-clients": st.sampled_from(["0", "10%", "100mb", "1gb"]),  # tiny limits evict every client
    "timeout": st.one_of(st.just(0), st.integers(60, 3600)),  # idle clients are closed after it
}


def live_params(server: str) -> dict:
    out = {}
    for p in P.catalog():
        if p.cls != P.LIVE or p.sensitive or p.name in EXCLUDED or server not in p.servers:
            continue
        if p.name.startswith("tls-"):
            continue  # neither build has TLS: the server refuses any TLS change
        s = BOUNDED[p.name] if p.name in BOUNDED else strategy_for(p, server)
        if s is not None:
            out[p.name] = s
    return out


def test_generated_server_blocks_apply_then_plan_empty(redis_server, tmp_path, capsys):
    key = redis_server.server_key
    strategies = live_params(key)
    names = sorted(strategies)
    maxmemory = st.sampled_from(["0", "200mb", "1gb", "3gb"])
    block = st.lists(st.sampled_from(names), unique=True, min_size=1, max_size=8).flatmap(
        lambda keys: st.fixed_dictionaries({k: strategies[k] for k in keys})
    )
    spec = tmp_path / "s.yaml"

    # the types product.md names, every run, whatever the generator draws
    @example(block={"save": ["900 1", "300 10", "60 10000"], "notify-keyspace-events": "KEA", "maxmemory-policy": "ALLKEYS-LRU",
                    "maxmemory-clients": "10%", "client-output-buffer-limit": {"pubsub": "64mb 16mb 90"}}, mm="1gb")
    @example(block={"save": [], "notify-keyspace-events": "Ex", "latency-tracking-info-percentiles": [50.0, 99.9],
                    "shutdown-on-sigterm": "now nosave", "appendonly": True}, mm="0")
    @example(block={"notify-keyspace-events": "", "maxmemory-policy": "noeviction", "client-output-buffer-limit": "replica 512mb 128mb 120",
                    "hz": 500, "slave-read-only": "no", "list-max-ziplist-size": -3}, mm="200mb")
    @settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True, database=None)
    @given(block=block, mm=maxmemory)
    def prop(block, mm):
        server_block = {**block, "maxmemory": mm}
        spec.write_text(json.dumps({"version": 1, "target": {"url": redis_server.url}, "server": server_block}))
        capsys.readouterr()
        rc = main(["apply", "--auto-approve", "--allow-evict", "--allow-no-persistence", "--allow-hide-data", str(spec)])
        out, err = capsys.readouterr()
        assert rc == 0, f"apply failed for {server_block}: {err}"
        admin = redis_server.client()
        left = parse_client_list(admin.execute_command("CLIENT", "LIST", "TYPE", "normal"))
        assert left == [], f"LOCK LEFT by {server_block}: {left} {out} {err}"  # the lock connection is closed after use
        assert admin.info("keyspace") == {}, f"apply wrote a key: {server_block}"  # the lock is no key
        rc = main(["plan", "--detailed-exitcode", str(spec)])
        out, err = capsys.readouterr()
        assert rc == 0, f"perpetual diff for {server_block}:\n{out}{err}"

    prop()
