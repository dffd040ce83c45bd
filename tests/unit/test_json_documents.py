"""views.lint_json and views.ApplyReport: the machine-readable documents, without a server."""

from __future__ import annotations

import json

import pytest

from borgconf.apply import ApplyResult
from borgconf.errors import ApplyError, BorgconfError, Refused, StalePlan
from borgconf.findings import Finding
from borgconf.fleet import FleetApply
from borgconf.plan import Change, ChangeId, Plan, TargetPlan, UnreadTarget
from borgconf.views import ApplyReport, lint_json

RUN_ID = "a" * 40


def test_lint_json_splits_where_and_names_the_severity():
    found = [
        Finding("no-requirepass", "specs/a:b.yaml:3:4", "no requirepass", target="cache"),
        Finding("config-renamed", "specs/prod.yaml", "renaming CONFIG breaks Sentinel"),
        Finding("no-persistence", "", "no AOF", accepted="a cache"),
    ]
    a, b, c = lint_json(found)
    assert (a["file"], a["line"], a["column"], a["where"], a["target"]) == ("specs/a:b.yaml", 3, 4, "specs/a:b.yaml:3:4", "cache")
    assert a["severity"] == "warning" and a["accepted"] is None and a["id"] == "no-requirepass"
    assert (b["file"], b["line"], b["column"]) == ("specs/prod.yaml", None, None)
    assert (c["file"], c["severity"], c["accepted"]) == (None, "accepted", "a cache")
    assert [f["severity"] for f in lint_json(found, strict=True)] == ["error", "error", "accepted"]


def _plan() -> Plan:
    def tp(name, port):
        return TargetPlan(name, f"127.0.0.1:{port}", "redis", "7.0.15", RUN_ID, changes=[
            Change(ChangeId("parameter", "hz"), "live", "10", "12"),
            Change(ChangeId("parameter", "masterauth"), "live", None, None, sensitive=True, fingerprint="scrypt$1$1$1$" + "0" * 64),
            Change(ChangeId("parameter", "databases"), "restart", "16", "20"),
        ])
    p = Plan("s.yaml", "0" * 64, [tp("a", 1), tp("b", 2)], unread=[UnreadTarget("dead", "127.0.0.1:3", "Connection refused.")], order=["a", "dead", "b"])
    return p


class _Spec:
    path, sha256 = "s.yaml", "0" * 64


def _report(done=None) -> ApplyReport:
    r = ApplyReport("s.yaml")
    r.planned(_Spec(), _plan(), [])
    if done is not None:
        r.applied(done)
    return r


def test_a_partial_fleet_lists_every_target_in_order_with_masked_values():
    p = _plan()
    done = FleetApply(results=[ApplyResult("a", applied=p.targets[0].live_changes, restart_required=p.targets[0].restart_changes, persisted="rewrite")],
                      failures={"b": ApplyError("CONFIG REWRITE failed on 127.0.0.1:2 (boom); the previous live values were restored")})
    doc = json.loads(_report(done).dumps(3))
    assert doc["outcome"] == "partial" and doc["exit_code"] == 3 and [t["name"] for t in doc["targets"]] == ["a", "dead", "b"]
    a, dead, b = doc["targets"]
    assert a["status"] == "applied" and a["persisted"] == "rewrite" and [c["name"] for c in a["applied"]] == ["hz", "masterauth"]
    masked = a["applied"][1]
    assert masked["sensitive"] is True and masked["before"] is None and masked["after"] is None and "fingerprint" not in masked
    assert [c["name"] for c in a["restart_required"]] == ["databases"]
    assert dead["status"] == "unreadable" and dead["error"] == "not applied: it could not be read or planned: Connection refused."
    assert b["status"] == "failed" and b["error"].endswith("the previous live values were restored") and b["persisted"] is None
    assert doc["summary"] == {"targets": 3, "applied": 2, "restart_required": 2, "failed": 2}


@pytest.mark.parametrize(("error", "outcome"), [
    (Refused("not approved; nothing changed"), "refused"),
    (StalePlan("s.yaml changed since the plan was made; plan again"), "refused"),
    (BorgconfError("no target could be read (a, b)"), "failed"),
    (KeyboardInterrupt(), "failed"),
])
def test_an_apply_that_raises_still_gives_its_document(error, outcome):
    doc = _report().document(1, error)
    assert doc["outcome"] == outcome and doc["exit_code"] == 1
    assert doc["error"] == ("interrupted" if isinstance(error, KeyboardInterrupt) else str(error))
    assert [t["status"] for t in doc["targets"]] == ["not_applied", "unreadable", "not_applied"]


def test_refusals_on_every_target_are_a_refused_outcome_and_a_gate_failure_is_named():
    done = FleetApply(failures={"a": StalePlan("a moved on"), "b": Refused("data at stake (nothing changed)")})
    r = _report(done)
    r.plan.unread = []
    doc = r.document(1)
    assert doc["outcome"] == "refused" and [t["status"] for t in doc["targets"]] == ["refused", "refused"]
    p = _plan()
    done = FleetApply(results=[ApplyResult("b", applied=p.targets[1].live_changes, persisted="rewrite")], gate_failed=("b", ["replica link down"]), not_reached=["a"])
    doc = _report(done).document(3)
    by = {t["name"]: t for t in doc["targets"]}
    assert by["b"]["status"] == "gate_failed" and "replica link down" in by["b"]["error"]
    assert by["a"]["status"] == "not_reached" and by["a"]["applied"] == []


@pytest.mark.parametrize(
    "args, says",
    [
        (["--format", "json", "--lock-timeout", "soon", "{spec}"], "--lock-timeout"),
        (["--format=json", "--parallel", "0", "{spec}"], "--parallel"),
        (["--format", "json"], "SPEC_OR_PLAN"),
        (["--format", "json", "--no-such-option", "{spec}"], "--no-such-option"),
    ],
)
def test_apply_json_prints_its_document_on_a_usage_error_too(tmp_path, capsys, args, says):
    """apply --format json prints one document whatever happens: a command line click
    cannot parse is refused with its usage error (nothing changed, exit 1)."""
    from cli_helpers import run

    spec = tmp_path / "s.yaml"
    spec.write_text("version: 1\nserver:\n  hz: 20\n")
    rc, out, err = run(capsys, "apply", *[a.replace("{spec}", str(spec)) for a in args])
    assert rc == 1
    doc = json.loads(out)  # exactly one document
    assert doc["outcome"] == "refused" and doc["exit_code"] == 1 and doc["targets"] == []
    assert says in doc["error"] and "nothing changed" in doc["error"] and says in err
    rc, out, err = run(capsys, "apply", *[a.replace("{spec}", str(spec)) for a in args if "json" not in a and a != "--format"])
    assert rc == 1 and out == ""  # without --format json: stdout stays empty


def test_apply_json_on_a_usage_error_after_a_global_option(tmp_path, capsys):
    """The document comes also when a global option stands before apply (-v apply ...)."""
    from cli_helpers import run

    spec = tmp_path / "s.yaml"
    spec.write_text("version: 1\nserver:\n  hz: 20\n")
    rc, out, err = run(capsys, "-v", "apply", "--format", "json", "--lock-timeout", "soon", spec)
    assert rc == 1 and json.loads(out)["outcome"] == "refused" and "--lock-timeout" in err
    rc, out, err = run(capsys, "-v", "plan", "--format", "json", "--parallel", "0", spec)
    assert rc == 1 and out == ""  # plan's document is the plan: none on a usage error
