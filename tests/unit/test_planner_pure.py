"""The planner is pure: live facts (captured replies) + spec -> Plan data."""

from __future__ import annotations

import json
import textwrap

import pytest

from borgconf.live import LiveState, parse_command_info, parse_info
from borgconf.plan import Plan
from borgconf.planner import build_plan
from borgconf.spec import load_spec
from facts import SERVERS, load, text


def info_from_capture(server: str) -> dict:
    out = {}
    for line in text(server, "info-server.txt").splitlines():
        if ":" in line and not line.startswith("#"):
            k, v = line.split(":", 1)
            out[k] = v
    return out


def live_from_capture(server: str) -> LiveState:
    facts = parse_info(info_from_capture(server))
    facts["total_memory"] = 8 * 1024**3
    return LiveState(address="127.0.0.1:6379", config=load(server, "config-get.json"), **facts)


def spec_from(tmp_path, body: str, env=None):
    p = tmp_path / "s.yaml"
    p.write_text("version: 1\n" + textwrap.dedent(body))
    return load_spec(p, env=env or {})


@pytest.mark.parametrize("server", SERVERS)
def test_flavour_and_version_from_info(server):
    live = live_from_capture(server)
    expected = {"redis-7.0": ("redis", "7.0.15"), "redis-8.2": ("redis", "8.2.3"), "valkey-8": ("valkey", "8.0.1")}[server]
    assert (live.flavour, live.version) == expected
    assert len(live.run_id) == 40


@pytest.mark.parametrize("server", SERVERS)
def test_plan_lists_only_real_differences(tmp_path, server):
    spec = spec_from(tmp_path, """
        server:
          maxmemory: 2gb
          maxmemory-policy: NOEVICTION
          appendonly: false
          hz: 10
          databases: 32
          requirepass: topsecret
          slave-read-only: yes
        """)
    plan = build_plan(spec, {"default": live_from_capture(server)})
    (tp,) = plan.targets
    changes = {c.parameter: c for c in tp.changes}
    assert set(changes) == {"maxmemory", "databases", "requirepass"}
    assert set(tp.in_sync) == {"maxmemory-policy", "appendonly", "hz", "replica-read-only"}
    assert changes["maxmemory"].before == "0" and changes["maxmemory"].after == "2147483648"
    assert changes["databases"].timing == "restart" and "restart required" in changes["databases"].reason
    assert changes["requirepass"].sensitive and changes["requirepass"].after is None
    assert changes["requirepass"].secret_after == "topsecret"
    assert plan.summary() == {"live": 2, "restart": 1, "targets": 1}


def test_plan_json_round_trip_holds_no_secret(tmp_path):
    spec = spec_from(tmp_path, """
        server:
          requirepass: topsecret
          maxmemory: 1gb
        """)
    plan = build_plan(spec, {"default": live_from_capture("redis-8.2")})
    text_ = plan.dumps()
    assert "topsecret" not in text_
    doc = json.loads(text_)
    assert doc["format_version"] == "1.1" and doc["spec"]["sha256"] == spec.sha256  # 1.1: lint findings, unreadable targets
    again = Plan.loads(text_)
    assert again.to_json() == plan.to_json()
    assert all(c.secret_after is None for t in again.targets for c in t.changes)


def test_ignored_parameters_never_appear(tmp_path):
    spec = spec_from(tmp_path, """
        server:
          maxmemory: 1gb
        ignore: [replicaof, hz]
        """)
    live = live_from_capture("redis-7.0")
    live.config["hz"] = "99"
    plan = build_plan(spec, {"default": live})
    names = {c.parameter for c in plan.targets[0].changes} | set(plan.targets[0].in_sync)
    assert names == {"maxmemory"}


def test_protected_parameter_is_live_only_when_the_server_allows(tmp_path):
    spec = spec_from(tmp_path, "server:\n  dbfilename: other.rdb\n")
    live = live_from_capture("redis-7.0")
    assert build_plan(spec, {"default": live}).targets[0].changes[0].timing == "restart"
    live.config["enable-protected-configs"] = "yes"
    assert build_plan(spec, {"default": live}).targets[0].changes[0].timing == "live"


def test_command_info_reply_parsing_from_capture():
    # COMMAND INFO FLUSHALL FLUSHDB CONFIG FDB_x1 CFG_secret, as in renames.md
    names = ["FLUSHALL", "FLUSHDB", "CONFIG", "FDB_x1", "CFG_secret"]
    reply = [None, None, None, ["flushdb", -1, ["write"]], ["config", -2, []]]
    state = parse_command_info(names, reply, {"FLUSHALL": "disabled", "FLUSHDB": "FDB_x1", "CONFIG": "CFG_secret"})
    assert state == {"FLUSHALL": "disabled", "FLUSHDB": "FDB_x1", "CONFIG": "CFG_secret"}
    state = parse_command_info(["FLUSHALL"], [["flushall", -1, []]], {"FLUSHALL": "disabled"})
    assert state == {"FLUSHALL": "enabled"}
