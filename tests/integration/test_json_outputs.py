"""Machine-readable outputs on real servers (issue 9, item 6).

``plan --format json`` lists every target (one that cannot be read with its
``error``) and the lint findings (id, severity, message, file:line);
``apply --format json`` prints exactly one result document on stdout, also
when the apply is refused or fails on part of a fleet. No secret reaches any
output.
"""

from __future__ import annotations

import json

from cli_helpers import dead_port, run, write_fleet_with_a_dead_target, write_spec

SECRET = "Qx7-vZ3k9Lm2Wp8Rt4"  # masterauth: sensitive, harmless to the test servers (no replication)


def _fleet(tmp_path, ok_url: str, *, hz: int, name: str = "fleet.yaml"):
    return write_fleet_with_a_dead_target(tmp_path / name, ok_url, f"  hz: {hz}\n  masterauth: ${{MA}}\n", "services:\n  n8n: {db: 0}\n")


def _no_secret(*texts: str) -> None:
    for text in texts:
        assert SECRET not in text


def _one_document(out: str) -> dict:
    """stdout holds one JSON document and nothing else (json.loads refuses extra data)."""
    return json.loads(out)


def test_plan_json_lists_every_target_and_the_lint_findings(redis_factory, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("MA", SECRET)
    ok = redis_factory()
    spec = _fleet(tmp_path, ok.url, hz=23)
    rc, out, err = run(capsys, "plan", "--format", "json", spec)
    assert rc == 1 and "target dead" in err  # still an error, also on stderr
    doc = _one_document(out)
    assert doc["format_version"] == "1.1"
    assert [t["name"] for t in doc["targets"]] == ["a", "dead"]
    a, dead = doc["targets"]
    assert "error" not in a and [c["parameter"] for c in a["changes"]] == ["hz", "masterauth"]
    assert dead["error"].startswith("cannot reach 127.0.0.1:") and "Connection refused" in dead["error"]
    assert dead["server"] is None and dead["changes"] == [] and dead["address"].startswith("127.0.0.1:")
    assert doc["summary"] == {"live": 2, "restart": 0, "targets": 2, "unreadable": 1}
    # the same lint findings the text output shows, with id, severity and file:line
    findings = {f["id"]: f for f in doc["lint"]}
    assert {"no-requirepass", "no-persistence"} <= set(findings)
    f = findings["no-requirepass"]
    assert f["severity"] == "warning" and f["message"].startswith("no requirepass")
    assert f["file"] == str(spec) and f["line"] == 6 and f["where"] == f"{spec}:6:{f['column']}"
    rc, text_out, _ = run(capsys, "plan", spec)
    for finding in doc["lint"]:
        assert f"warning: [{finding['id']}] {finding['where']}: " in text_out
    # --strict makes them errors, in the document too
    rc, out, err = run(capsys, "plan", "--format", "json", "--strict", spec)
    assert rc == 1 and {f["severity"] for f in _one_document(out)["lint"]} == {"error"}
    # a target accepted on purpose shows as accepted
    spec.write_text(spec.read_text() + "lint:\n  accept: {no-persistence: \"a cache, rebuilt on restart\"}\n")
    rc, out, err = run(capsys, "plan", "--format", "json", spec)
    accepted = {f["id"]: f for f in _one_document(out)["lint"]}["no-persistence"]
    assert accepted["severity"] == "accepted" and accepted["accepted"] == "a cache, rebuilt on restart"
    # an authentication failure: listed with its error, no password in any output
    locked = redis_factory(password="Vr5-jK8qN2xT7wBz")
    monkeypatch.setenv("WRONG_PW", "Hs4-pY9mC3dL6eRa")
    auth = tmp_path / "auth.yaml"
    auth.write_text(f"""version: 1
targets:
  - {{name: a, url: "{ok.url}"}}
  - {{name: locked, url: "{locked.url}", password: "${{WRONG_PW}}"}}
server:
  hz: 12
""")
    rc, out, err = run(capsys, "plan", "--format", "json", auth)
    doc = _one_document(out)
    assert rc == 1 and [t["name"] for t in doc["targets"]] == ["a", "locked"] and "error" not in doc["targets"][0]
    assert "wrong password" in doc["targets"][1]["error"] and doc["targets"][1]["changes"] == [], doc["targets"][1]["error"]
    for text in (out, err):
        assert "Vr5-jK8qN2xT7wBz" not in text and "Hs4-pY9mC3dL6eRa" not in text
    # one unreadable target alone: still a document, listing it with its error
    solo = tmp_path / "solo.yaml"
    solo.write_text(f'version: 1\ntarget:\n  url: "redis://127.0.0.1:{dead_port()}"\n  timeout: 1\nserver:\n  hz: 12\n')
    rc, out, err = run(capsys, "plan", "--format", "json", solo)
    doc = _one_document(out)
    assert rc == 1 and [t["name"] for t in doc["targets"]] == ["default"] and "Connection refused" in doc["targets"][0]["error"]
    _no_secret(out, err, text_out)


def test_a_saved_plan_with_an_unreadable_target_applies_only_the_others(redis_factory, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("MA", SECRET)
    ok = redis_factory()
    spec = _fleet(tmp_path, ok.url, hz=24)
    plan = tmp_path / "plan.json"
    rc, out, err = run(capsys, "plan", "--out", plan, spec)
    assert rc == 1 and not plan.exists()  # --out still saves no incomplete plan
    rc, out, err = run(capsys, "plan", "--format", "json", spec)
    plan.write_text(out)  # but the JSON on stdout can be kept: it says which target is missing
    assert json.loads(plan.read_text())["lint"]
    client = ok.client()
    # --fail-fast: refused before anything is sent
    rc, out, err = run(capsys, "apply", "--auto-approve", "--fail-fast", "--format", "json", plan)
    doc = _one_document(out)
    assert rc == 1 and doc["outcome"] == "refused" and "could not be read" in doc["error"] and "nothing changed" in doc["error"]
    assert [(t["name"], t["status"]) for t in doc["targets"]] == [("a", "not_applied"), ("dead", "unreadable")]
    assert client.config_get("hz")["hz"] == "10"
    # --target a: only the readable target, exit 0
    rc, out, err = run(capsys, "apply", "--auto-approve", "--target", "a", "--format", "json", plan)
    doc = _one_document(out)
    assert rc == 0, err
    assert doc["outcome"] == "applied" and [t["name"] for t in doc["targets"]] == ["a"]
    assert client.config_get("hz")["hz"] == "24"
    # the whole plan again, now stale for a; dead is never applied, and says so
    client.config_set("hz", "10")
    client.config_set("masterauth", "")
    rc, out, err = run(capsys, "apply", "--auto-approve", plan)
    assert rc == 3, err
    assert "target dead: not applied: it could not be read when the plan was made" in err
    assert client.config_get("hz")["hz"] == "24"
    client.config_set("hz", "10")
    client.config_set("masterauth", "")
    rc, out, err = run(capsys, "apply", "--auto-approve", "--format", "json", plan)
    doc = _one_document(out)
    assert rc == 3 and doc["exit_code"] == 3 and doc["outcome"] == "partial"
    a, dead = doc["targets"]
    assert a["status"] == "applied" and a["persisted"] == "rewrite" and a["error"] is None
    assert dead["status"] == "unreadable" and dead["error"].startswith("not applied: it could not be read when the plan was made")
    _no_secret(out, err, plan.read_text())


def test_apply_json_on_success(redis_server, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("MA", SECRET)
    spec = write_spec(tmp_path / "s.yaml", redis_server.url, "server:\n  hz: 13\n  masterauth: ${MA}\n  databases: 20\n")
    rc, out, err = run(capsys, "apply", "--auto-approve", "--format", "json", spec)
    assert rc == 0, err
    doc = _one_document(out)
    assert doc["format_version"] == "1" and doc["outcome"] == "applied" and doc["exit_code"] == 0 and doc["error"] is None
    assert doc["spec"]["path"] == str(spec) and len(doc["spec"]["sha256"]) == 64 and doc["plan_file"] is None
    (t,) = doc["targets"]
    assert t["name"] == "default" and t["address"] == redis_server.url.split("//")[1] and t["error"] is None
    assert t["status"] == "applied" and t["persisted"] == "rewrite" and t["skipped"] == []
    applied = {c["name"]: c for c in t["applied"]}
    assert applied["hz"]["before"] == "10" and applied["hz"]["after"] == "13" and applied["hz"]["kind"] == "parameter"
    assert applied["masterauth"]["sensitive"] is True and applied["masterauth"]["before"] is None and applied["masterauth"]["after"] is None
    assert "fingerprint" not in applied["masterauth"]
    assert [c["name"] for c in t["restart_required"]] == ["databases"] and t["restart_required"][0]["class"] == "restart"
    assert {f["id"] for f in doc["lint"]} >= {"no-requirepass"}
    assert "Target default" in err  # the human plan and outcome go to stderr
    client = redis_server.client()
    assert client.config_get("hz")["hz"] == "13" and client.config_get("masterauth")["masterauth"] == SECRET
    # again: nothing to apply, still one document
    rc, out2, err2 = run(capsys, "apply", "--auto-approve", "--format", "json", spec)
    doc = _one_document(out2)
    assert rc == 0 and doc["outcome"] == "no_changes" and doc["targets"][0]["applied"] == []
    assert doc["targets"][0]["status"] == "no_changes" and [c["name"] for c in doc["targets"][0]["restart_required"]] == ["databases"]
    # a saved plan applied: plan_file named, same shape
    client.config_set("hz", "10")
    plan = tmp_path / "plan.json"
    assert run(capsys, "plan", "--out", plan, spec)[0] == 0
    rc, out3, err3 = run(capsys, "apply", "--auto-approve", "--format", "json", plan)
    doc = _one_document(out3)
    assert rc == 0 and doc["plan_file"] == str(plan) and [c["name"] for c in doc["targets"][0]["applied"]] == ["hz"]
    _no_secret(out, err, out2, err2, out3, err3, plan.read_text())


def test_apply_json_when_refused(redis_server, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("MA", SECRET)
    client = redis_server.client()
    client.set("big", "x" * 2_000_000)
    used = int(client.info("memory")["used_memory"])
    spec = write_spec(tmp_path / "s.yaml", redis_server.url, f"server:\n  maxmemory: {used // 2}\n  masterauth: ${{MA}}\n")
    # a data-loss refusal
    rc, out, err = run(capsys, "apply", "--auto-approve", "--format", "json", spec)
    doc = _one_document(out)
    assert rc == 1 and doc["exit_code"] == 1 and doc["outcome"] == "refused"
    assert "--allow-evict" in doc["error"] and "nothing changed" in doc["error"]
    assert doc["targets"][0]["status"] == "not_applied" and doc["targets"][0]["applied"] == []
    assert "--allow-evict" in err  # stderr still says it
    assert client.config_get("maxmemory")["maxmemory"] == "0"
    # not on a terminal without --auto-approve
    rc, out2, err2 = run(capsys, "apply", "--allow-evict", "--format", "json", spec)
    doc = _one_document(out2)
    assert rc == 1 and doc["outcome"] == "refused" and "--auto-approve" in doc["error"] and "nothing changed" in doc["error"]
    assert client.config_get("maxmemory")["maxmemory"] == "0"
    # a stale saved plan: refused under the lock, the target says why
    spec.write_text(spec.read_text().replace(f"maxmemory: {used // 2}", "maxmemory: 1gb"))
    plan = tmp_path / "plan.json"
    assert run(capsys, "plan", "--out", plan, spec)[0] == 0
    client.config_set("maxmemory", "2gb")
    rc, out3, err3 = run(capsys, "apply", "--auto-approve", "--format", "json", plan)
    doc = _one_document(out3)
    assert rc == 1 and doc["outcome"] == "refused"
    assert "changed since the plan was made" in doc["error"] and "changed since the plan was made" in doc["targets"][0]["error"]
    assert doc["targets"][0]["status"] == "refused" and doc["targets"][0]["applied"] == []
    assert client.config_get("maxmemory")["maxmemory"] == str(2 * 1024**3)
    # an edited plan file: refused before any connection, still a document
    edited = json.loads(plan.read_text())
    edited["targets"][0]["changes"][0]["after"] = 12345678
    (tmp_path / "edited.json").write_text(json.dumps(edited))
    rc, out4, err4 = run(capsys, "apply", "--auto-approve", "--format", "json", tmp_path / "edited.json")
    doc = _one_document(out4)
    assert rc == 1 and doc["outcome"] == "refused" and "targets[0].changes[0].after" in doc["error"] and doc["targets"] == []
    _no_secret(out, err, out2, err2, out3, err3, out4, err4)


def test_apply_json_on_a_partial_fleet_failure(redis_factory, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("MA", SECRET)
    ok = redis_factory()
    broken = redis_factory(with_config_file=False)  # CONFIG REWRITE impossible: this target fails
    spec = tmp_path / "fleet.yaml"
    spec.write_text(f"""version: 1
targets:
  - {{name: a, url: "{ok.url}"}}
  - {{name: b, url: "{broken.url}"}}
server:
  hz: 22
  masterauth: ${{MA}}
""")
    rc, out, err = run(capsys, "apply", "--auto-approve", "--format", "json", spec)
    assert rc == 3, err
    doc = _one_document(out)
    assert doc["exit_code"] == 3 and doc["outcome"] == "partial" and "b" in doc["error"]
    a, b = doc["targets"]
    assert a["name"] == "a" and a["status"] == "applied" and a["persisted"] == "rewrite" and a["error"] is None
    assert {c["name"] for c in a["applied"]} == {"hz", "masterauth"}
    assert b["name"] == "b" and b["status"] == "failed" and b["applied"] == [] and b["persisted"] is None
    assert "config file" in b["error"] and "(nothing changed)" in b["error"]  # as apply reports it
    assert doc["summary"] == {"targets": 2, "applied": 2, "restart_required": 0, "failed": 1}
    assert ok.client().config_get("hz")["hz"] == "22" and broken.client().config_get("hz")["hz"] == "10"
    # a fleet with an unreadable target, applied from the spec: it is listed with its error
    fleet = _fleet(tmp_path, ok.url, hz=25, name="dead.yaml")
    rc, out2, err2 = run(capsys, "apply", "--auto-approve", "--format", "json", fleet)
    doc = _one_document(out2)
    assert rc == 3 and doc["outcome"] == "partial" and [t["name"] for t in doc["targets"]] == ["a", "dead"]
    assert doc["targets"][1]["status"] == "unreadable" and "Connection refused" in doc["targets"][1]["error"]
    # no target could be read: still listed, each with its error; exit 1
    solo = tmp_path / "solo.yaml"
    solo.write_text(f'version: 1\ntarget:\n  url: "redis://127.0.0.1:{dead_port()}"\n  timeout: 1\nserver:\n  hz: 12\n')
    rc, out3, err3 = run(capsys, "apply", "--auto-approve", "--format", "json", solo)
    doc = _one_document(out3)
    assert rc == 1 and doc["outcome"] == "failed" and [t["status"] for t in doc["targets"]] == ["unreadable"]
    assert "Connection refused" in doc["targets"][0]["error"] and "in sync" not in err3
    rc, out4, err4 = run(capsys, "apply", "--auto-approve", solo)  # the text output is as before: one error
    assert rc == 1 and out4 == "" and "Connection refused" in err4
    _no_secret(out, err, out2, err2, out3, err3)
