"""A change is data with a typed identity (kind, name) and one of a closed set of
actions; a no-op says why; the plan file keeps its format."""

from __future__ import annotations

import json

import pytest

from borgconf.errors import PlanError
from borgconf.findings import Finding
from borgconf.plan import ACTIONS, Change, ChangeId, Plan
from borgconf.planner import build_plan
from borgconf.live import LiveState, parse_info
from borgconf.spec import load_spec
from facts import load, text


def live_from_capture(server: str) -> LiveState:
    info = dict(line.split(":", 1) for line in text(server, "info-server.txt").splitlines() if ":" in line and not line.startswith("#"))
    facts = parse_info(info)
    facts["total_memory"] = 8 * 1024**3
    return LiveState(address="127.0.0.1:6379", config=load(server, "config-get.json"), **facts)


def spec_from(tmp_path, body: str):
    p = tmp_path / "s.yaml"
    p.write_text("version: 1\n" + body)
    return load_spec(p, env={})


def test_identity_is_kind_and_name_and_the_label_is_derived():
    assert str(ChangeId("parameter", "maxmemory")) == "maxmemory"
    assert str(ChangeId("command", "CONFIG")) == "rename-command CONFIG"
    assert str(ChangeId("user", "app")) == "user app"
    assert ChangeId.parse("user app", "user") == ChangeId("user", "app")
    with pytest.raises(PlanError):
        ChangeId.parse("app", "user")  # a user change's label says so
    with pytest.raises(PlanError):
        ChangeId("table", "x")


def test_actions_are_a_closed_set():
    assert ACTIONS == ("create", "update", "delete", "noop")
    with pytest.raises(PlanError):
        Change(ChangeId("parameter", "hz"), timing="live", before="10", after="20", action="replace")
    with pytest.raises(PlanError):
        Change(ChangeId("parameter", "hz"), timing="soon", before="10", after="20")


def test_a_hand_edited_plan_with_an_unknown_action_or_label_is_refused(tmp_path):
    spec = spec_from(tmp_path, "server:\n  hz: 20\n")
    doc = build_plan(spec, {"default": live_from_capture("redis-7.0")}).to_json()
    bad = json.loads(json.dumps(doc))
    bad["targets"][0]["changes"][0]["action"] = "drop"
    with pytest.raises(PlanError, match="unknown action"):
        Plan.from_json(bad)
    bad = json.loads(json.dumps(doc))
    bad["targets"][0]["changes"][0].update(kind="user", parameter="hz")
    with pytest.raises(PlanError, match="unknown change"):
        Plan.from_json(bad)


def test_creating_a_user_is_a_create_and_no_ops_carry_a_reason(tmp_path):
    spec = spec_from(tmp_path, "server:\n  hz: 10\n  maxmemory: 1gb\nusers:\n  app: {password: pw, keys: ['app:*']}\n")
    live = live_from_capture("redis-7.0")
    (tp,) = build_plan(spec, {"default": live}).targets
    by_id = {c.id: c for c in tp.changes}
    assert by_id[ChangeId("user", "app")].action == "create"
    assert by_id[ChangeId("parameter", "maxmemory")].action == "update"
    (hz,) = [c for c in tp.noops if c.id == ChangeId("parameter", "hz")]
    assert hz.action == "noop" and hz.reason == "already 10"
    assert tp.in_sync == ["hz"]
    doc = tp.to_json()
    change = next(c for c in doc["changes"] if c["parameter"] == "user app")
    assert {"parameter", "kind", "action", "class"} <= set(change) and change["kind"] == "user" and change["action"] == "create"
    assert doc["in_sync"] == ["hz"]


def test_one_finding_type_for_lint_and_safety():
    from borgconf import lint, safety

    assert lint.Finding is safety.Finding is Finding
    f = Finding("evicts-keys", "", "below the memory in use", subjects=("maxmemory",), flag="allow-evict")
    assert f.parameters == ("maxmemory",) and str(f) == "[evicts-keys] below the memory in use"
    assert str(Finding("no-requirepass", "s.yaml:2:1", "no requirepass", target="a")) == "[no-requirepass] s.yaml:2:1: target a: no requirepass"


def test_show_unchanged_lists_each_no_op_with_its_reason(tmp_path):
    import io

    from borgconf.views import Out, render_plan

    spec = spec_from(tmp_path, "server:\n  hz: 10\n  maxmemory: 1gb\n  requirepass: pw-x\n")
    live = live_from_capture("redis-7.0")
    live.config["requirepass"] = "pw-x"
    buf = io.StringIO()
    render_plan(build_plan(spec, {"default": live}), Out(buf), show_in_sync=True)
    text = buf.getvalue()
    assert "  = hz: already 10\n" in text and "  = requirepass: already as the spec says\n" in text
    assert "pw-x" not in text


def test_a_finding_many_targets_share_is_one_line_naming_them():
    """A fleet where no target has requirepass: one warning line naming the targets
    (the first three and how many more), not one line per target; a finding of one
    target, or of another place or message, keeps its own line (issue 12)."""
    from borgconf.findings import Finding, grouped

    fleet = [Finding("no-requirepass", "f.yaml:4:3", "no requirepass", target=f"node-{i}") for i in range(100)]
    other = Finding("no-persistence", "f.yaml:4:3", "no AOF", target="node-7")
    lines = [line for line, _ in grouped([*fleet[:50], other, *fleet[50:]])]
    assert lines == [
        "[no-requirepass] f.yaml:4:3: 100 targets (node-0, node-1, node-2 and 97 more): no requirepass",
        "[no-persistence] f.yaml:4:3: target node-7: no AOF",
    ]
    two = [line for line, _ in grouped(fleet[:2])]
    assert two == ["[no-requirepass] f.yaml:4:3: 2 targets (node-0, node-1): no requirepass"]
    assert [line for line, _ in grouped([Finding("x", "", "m")])] == ["[x] m"]
