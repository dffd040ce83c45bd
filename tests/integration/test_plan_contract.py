"""A saved plan is a contract (issue 9, items 1-5), on every server of the fixture.

The corpus: a plan saved with ``plan --out`` and then tampered with, each the
way an attacker with write access to the CI artifact (or an operator with an
old file) would. Each is refused with exit 1, a message naming what is wrong,
and the server's ``CONFIG GET *`` unchanged. At the end the untampered plan
still applies (the corpus does not refuse everything) and the spec is in sync,
also after a restart of the server from its own config file.
"""

from __future__ import annotations

import copy
import json
import os
import re

import pytest

from cli_helpers import run, write_spec

SPEC_BODY = """\
server:
  maxmemory: 100mb
  hz: 11
  masterauth: ${MA}
  databases: 20
ignore: [replicaof]
"""


def _summary(doc: dict) -> None:
    """Keep the summary consistent, as a competent tamperer would."""
    changes = [c for t in doc["targets"] for c in t["changes"]]
    doc["summary"] = {"live": sum(c["class"] == "live" for c in changes), "restart": sum(c["class"] == "restart" for c in changes), "targets": len(doc["targets"])}


def _change(doc: dict, name: str) -> dict:
    return next(c for c in doc["targets"][0]["changes"] if c["parameter"] == name)


def _added(parameter: str, before: str, after: str, **extra):
    def f(doc):
        doc["targets"][0]["changes"].append({"parameter": parameter, "kind": "parameter", "action": "update", "class": "live",
                                             "before": before, "after": after, "sensitive": False, "warnings": [], **extra})
    return f


def _set(name: str, **fields):
    def f(doc):
        _change(doc, name).update(fields)
    return f


def _top(key, value):
    def f(doc):
        doc[key] = value
    return f


def _spec_path(value):
    def f(doc):
        doc["spec"]["path"] = value
    return f


def _duplicate(doc):
    doc["targets"][0]["changes"].append(copy.deepcopy(_change(doc, "hz")))


def _remove(name):
    def f(doc):
        doc["targets"][0]["changes"] = [c for c in doc["targets"][0]["changes"] if c["parameter"] != name]
    return f


def _run_id_empty(doc):
    doc["targets"][0]["server"]["run_id"] = ""


def _no_fingerprint(doc):
    del _change(doc, "masterauth")["fingerprint"]


def _other_fingerprint(doc):
    c = _change(doc, "masterauth")
    c["fingerprint"] = c["fingerprint"][:-8] + ("0" * 8 if not c["fingerprint"].endswith("0" * 8) else "1" * 8)


def _persist_none(doc):
    doc["targets"][0]["persist"] = "none"


def _user(doc):
    doc["targets"][0]["changes"].append({"parameter": "user evil", "kind": "user", "action": "create", "class": "live", "before": None,
                                         "after": "on ~* +@all", "sensitive": False, "warnings": [], "password_change": False})


# name -> (how the plan document is edited, what the refusal must say); raw edits below
CORPUS = {
    "after_edited": (_set("maxmemory", after="12345678"), "maxmemory: after differs from what the spec and the server give now"),
    "before_edited": (_set("hz", before="12"), "hz is '10', the plan expected '12'"),
    "added_protected_mode": (_added("protected-mode", "yes", "no"), "change protected-mode: the spec does not set protected-mode"),
    "added_bind": (_added("bind", "127.0.0.1", "0.0.0.0"), "change bind: the spec does not set bind"),
    "added_appendonly": (_added("appendonly", "no", "yes"), "change appendonly: the spec does not set appendonly"),
    "added_maxmemory_policy": (_added("maxmemory-policy", "noeviction", "allkeys-lru"), "the spec does not set maxmemory-policy"),
    "added_replicaof_ignored": (_added("replicaof", "", "10.9.8.7 6379"), "the spec puts replicaof in ignore:"),
    "added_masteruser_newline": (_added("masteruser", "", "repl\nuser evil on >x +@all"), "holds a control character"),
    "added_user": (_user, "the spec does not manage user evil"),
    "class_live_to_restart": (_set("hz", **{"class": "restart"}), "hz: class differs"),
    "class_restart_to_live": (_set("databases", **{"class": "live"}), "databases: class differs"),
    "duplicated_change": (_duplicate, "a parameter has more than one change"),
    "change_removed": (_remove("hz"), "hz: needs a change the plan does not hold"),
    "flipped_sensitive_off": (_set("masterauth", sensitive=False, after="known", fingerprint=None), "'sensitive' is false, but masterauth is sensitive"),
    "flipped_sensitive_on": (_set("hz", sensitive=True, before=None, after=None), "'sensitive' is true, but hz is not sensitive"),
    "fingerprint_removed": (_no_fingerprint, "holds no fingerprint of the secret"),
    "fingerprint_swapped": (_other_fingerprint, "the secret the spec gives for masterauth changed since the plan was made"),
    "after_int": (_set("hz", after=12), "targets[0].changes[1].after"),
    "after_list": (_set("hz", after=["12"]), "targets[0].changes[1].after"),
    "run_id_empty": (_run_id_empty, "targets[0].server.run_id"),
    "spec_path_etc_shadow": (_spec_path("/etc/shadow"), "outside the plan's directory or repository"),
    "spec_path_escapes": (_spec_path("../../../../../../etc/passwd"), "outside the plan's directory or repository"),
    "format_version_2": (_top("format_version", "2"), "format_version '2' is not supported"),
    "unknown_key": (_top("apply_anyway", True), "apply_anyway: is not a field"),
    "persist_edited": (_persist_none, "the plan persists with 'none', the spec with 'rewrite'"),
}
RAW = {
    "truncated": (lambda text: text[: len(text) // 2].encode(), "not JSON"),
    "non_utf8": (lambda text: text.replace('"hz"', '"h\xff"', 1).encode("latin-1"), "not UTF-8"),
    "after_nan": (lambda text: re.sub(r'"after": "\d+"', '"after": NaN', text, count=1).encode(), "NaN is not a JSON value"),
    "thirty_mb": (lambda text: text[:-2].encode() + b', "pad": "' + b"x" * (30 * 1024 * 1024) + b'"}\n', "bytes: a borgconf plan file is at most"),
}


def test_tampered_plans_are_refused_and_change_nothing(redis_server, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("MA", "one-secret-for-the-primary")
    spec = write_spec(tmp_path / "s.yaml", redis_server.url, SPEC_BODY)
    plan = tmp_path / "plan.json"
    rc, out, err = run(capsys, "plan", "--out", plan, spec)
    assert rc == 0, err
    text = plan.read_text()
    original = json.loads(text)
    assert [c["parameter"] for c in original["targets"][0]["changes"]] == ["maxmemory", "hz", "masterauth", "databases"]
    client = redis_server.client()
    before = client.config_get("*")
    refusals = {}
    for name, (edit, expected) in CORPUS.items():
        doc = copy.deepcopy(original)
        edit(doc)
        if name not in ("duplicated_change",):
            _summary(doc)
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps(doc))
        rc, out, err = run(capsys, "apply", "--auto-approve", path)
        refusals[name] = err.strip()
        assert rc == 1 and expected in err, f"{name}: {err}"
        assert "internal error" not in err and "Traceback" not in err, name
        assert client.config_get("*") == before, f"{name} changed the server"
    for name, (make, expected) in RAW.items():
        path = tmp_path / f"{name}.json"
        path.write_bytes(make(text))
        rc, out, err = run(capsys, "apply", "--auto-approve", path)
        refusals[name] = err.strip()
        assert rc == 1 and expected in err, f"{name}: {err}"
        assert client.config_get("*") == before, f"{name} changed the server"
    # the secret changed between plan and apply: refused naming the parameter
    monkeypatch.setenv("MA", "another-secret")
    rc, out, err = run(capsys, "apply", "--auto-approve", plan)
    refusals["secret_changed"] = err.strip()
    assert rc == 1 and "the secret the spec gives for masterauth changed since the plan was made" in err
    assert client.config_get("*") == before
    monkeypatch.setenv("MA", "one-secret-for-the-primary")
    # the spec edited after the plan
    edited = tmp_path / "edited"
    edited.mkdir()
    write_spec(edited / "s.yaml", redis_server.url, SPEC_BODY.replace("hz: 11", "hz: 12"))
    assert original["spec"]["path"] == "s.yaml"  # recorded relative to the plan file
    (edited / "plan.json").write_text(text)
    rc, out, err = run(capsys, "apply", "--auto-approve", edited / "plan.json")
    refusals["spec_edited"] = err.strip()
    assert rc == 1 and "changed since the plan was made" in err
    assert client.config_get("*") == before
    # nothing secret or from /etc was printed, whichever the case
    for message in refusals.values():
        assert "one-secret-for-the-primary" not in message and "root:" not in message
    if os.environ.get("BORGCONF_CORPUS_REPORT"):
        with open(os.environ["BORGCONF_CORPUS_REPORT"], "a") as f:
            f.write(json.dumps({redis_server.server_key: refusals}, indent=1) + "\n")
    assert len(refusals) >= 20
    # the untampered plan applies, and the spec is in sync, also after a restart
    rc, out, err = run(capsys, "apply", "--auto-approve", plan)
    assert rc == 0, err
    assert client.config_get("hz")["hz"] == "11" and client.config_get("masterauth")["masterauth"] == "one-secret-for-the-primary"
    assert run(capsys, "plan", "--detailed-exitcode", spec)[0] == 2  # databases stays a restart-required change
    redis_server.restart()
    rc, out, err = run(capsys, "plan", "--format", "json", spec)
    left = [c["parameter"] for c in json.loads(out)["targets"][0]["changes"]]
    assert left == ["databases"], out


def test_the_plan_file_holds_no_recoverable_form_of_a_secret(redis_server, tmp_path, capsys, monkeypatch):
    import base64
    import hashlib

    secret = "pl4n-f1le-s3cret"
    monkeypatch.setenv("MA", secret)
    spec = write_spec(tmp_path / "s.yaml", redis_server.url, "server:\n  masterauth: ${MA}\n  requirepass: ${MA}\n", target_extra="password: ${MA}")
    plan = tmp_path / "plan.json"
    assert run(capsys, "plan", "--out", plan, spec)[0] == 0
    raw = plan.read_text()
    forms = [secret, secret.encode().hex(), base64.b64encode(secret.encode()).decode(), base64.b32encode(secret.encode()).decode()]
    forms += [hashlib.new(h, secret.encode()).hexdigest() for h in ("md5", "sha1", "sha256", "sha512")]
    for form in forms:
        assert form not in raw and form.lower() not in raw.lower()
    doc = json.loads(raw)
    fps = [c["fingerprint"] for c in doc["targets"][0]["changes"] if c["sensitive"]]
    assert len(fps) == 2 and all(f.startswith("scrypt$16384$8$1$") for f in fps)
    assert fps[0] != fps[1]  # the same secret in two parameters does not show as equal
    assert re.fullmatch(r"[0-9a-f]{32}", doc["fingerprint_salt"])
    plan2 = tmp_path / "plan2.json"
    assert run(capsys, "plan", "--out", plan2, spec)[0] == 0
    assert json.loads(plan2.read_text())["fingerprint_salt"] != doc["fingerprint_salt"]  # a salt per plan


@pytest.mark.parametrize("how", ["env_empty", "null", "default_empty"])
def test_an_empty_secret_is_refused_at_validate_plan_and_apply(redis_server, tmp_path, capsys, monkeypatch, how):
    monkeypatch.setenv("REDIS_PASSWORD", "")
    value = {"env_empty": "${REDIS_PASSWORD}", "null": "~", "default_empty": "${UNSET_PW_X:-}"}[how]
    spec = write_spec(tmp_path / "s.yaml", redis_server.url, f"server:\n  requirepass: {value}\n  hz: 12\n")
    for command in (["validate"], ["plan"], ["apply", "--auto-approve"]):
        rc, out, err = run(capsys, *command, spec)
        assert rc == 1, (command, out, err)
        assert "server.requirepass" in err and "needs a value" in err
        if how == "env_empty":
            assert "${REDIS_PASSWORD} is empty" in err
    client = redis_server.client()
    assert client.config_get("hz")["hz"] == "10" and client.ping()


def test_turning_authentication_off_needs_the_explicit_spelling_and_a_flag(redis_factory, tmp_path, capsys):
    server = redis_factory(password="old-password-1")
    spec = write_spec(tmp_path / "s.yaml", server.url, "server:\n  requirepass: {disabled: true}\n", target_extra="password: old-password-1")
    rc, out, err = run(capsys, "plan", spec)
    assert rc == 0 and "--allow-no-auth" in out and "0644" not in out
    rc, out, err = run(capsys, "apply", "--auto-approve", spec)
    assert rc == 1 and "--allow-no-auth" in err
    assert "no-requirepass" in out  # apply shows the same lint as plan
    assert server.client(password="old-password-1").config_get("requirepass")["requirepass"] == "old-password-1"
    plan = tmp_path / "plan.json"
    assert run(capsys, "plan", "--out", plan, spec)[0] == 0
    doc = json.loads(plan.read_text())
    doc["targets"][0]["changes"][0]["requires"] = []  # a tampered plan cannot drop the flag
    doc["targets"][0]["changes"][0]["warnings"] = []
    (tmp_path / "dropped.json").write_text(json.dumps(doc))
    rc, out, err = run(capsys, "apply", "--auto-approve", tmp_path / "dropped.json")
    assert rc == 1 and "--allow-no-auth" in err
    rc, out, err = run(capsys, "apply", "--auto-approve", "--allow-no-auth", plan)
    assert rc == 0, err
    assert server.client(password=None).ping()
    server.password = None
    server.restart()
    assert server.client().ping()
    assert run(capsys, "plan", "--detailed-exitcode", spec)[0] == 0


def test_apply_of_a_saved_plan_shows_the_lint_the_plan_showed(redis_factory, tmp_path, capsys):
    """The plan is made against the server, which has a password though the spec sets
    no requirepass: no no-requirepass finding. Applying the saved plan lints offline;
    it shows the findings the plan recorded (no-persistence: the spec's empty save),
    not no-requirepass, which only the server's facts rule out."""
    server = redis_factory(password="saved-plan-pass-1")
    spec = write_spec(tmp_path / "s.yaml", server.url, "server:\n  hz: 13\n  save: \"\"\n", target_extra="password: saved-plan-pass-1")
    plan = tmp_path / "plan.json"
    rc, out, err = run(capsys, "plan", "--out", plan, spec)
    assert rc == 0, err
    assert "[no-persistence]" in out + err and "no-requirepass" not in out + err
    assert {f["id"] for f in json.loads(plan.read_text())["lint"]} == {"no-persistence"}
    rc, out, err = run(capsys, "apply", "--auto-approve", plan)
    assert rc == 0, out + err
    assert "[no-persistence]" in out + err and "no-requirepass" not in out + err
    assert server.client(password="saved-plan-pass-1").config_get("hz")["hz"] == "13"


def test_apply_of_a_format_1_0_plan_shows_every_finding_of_its_own_lint(redis_factory, tmp_path, capsys):
    """A plan of format 1.0 recorded no lint: apply cannot know which findings the
    plan showed, so it shows all of its own offline lint, no-requirepass included
    (the server's password is not read before the lock)."""
    server = redis_factory(password="saved-plan-pass-4")
    spec = write_spec(tmp_path / "s.yaml", server.url, "server:\n  hz: 16\n  save: \"\"\n", target_extra="password: saved-plan-pass-4")
    plan = tmp_path / "plan.json"
    rc, out, err = run(capsys, "plan", "--out", plan, spec)
    assert rc == 0 and "no-requirepass" not in out + err, out + err
    doc = json.loads(plan.read_text())
    doc["format_version"] = "1.0"
    del doc["lint"]
    plan.write_text(json.dumps(doc))
    rc, out, err = run(capsys, "apply", "--auto-approve", plan)
    assert rc == 0, out + err
    assert "[no-persistence]" in out + err and "[no-requirepass]" in out + err
    assert server.client(password="saved-plan-pass-4").config_get("hz")["hz"] == "16"


def test_apply_of_a_saved_plan_made_from_a_relative_spec_path_keeps_the_plans_findings(redis_factory, tmp_path, capsys, monkeypatch):
    """The plan names the spec as written (specs/s.yaml) and is saved elsewhere
    (out/plan.json); apply loads the spec by the path the plan records. A
    finding the plan had (no-persistence) is still shown; one a server ruled out
    (no-requirepass) is not."""
    server = redis_factory(password="saved-plan-pass-2")
    (tmp_path / ".git").mkdir()  # a repository: the plan may name a spec anywhere in it
    (tmp_path / "specs").mkdir()
    (tmp_path / "out").mkdir()
    write_spec(tmp_path / "specs" / "s.yaml", server.url, "server:\n  hz: 14\n  save: \"\"\n", target_extra="password: saved-plan-pass-2")
    monkeypatch.chdir(tmp_path)
    rc, out, err = run(capsys, "plan", "--out", "out/plan.json", "specs/s.yaml")
    assert rc == 0, err
    assert "[no-persistence]" in out + err and "no-requirepass" not in out + err
    rc, out, err = run(capsys, "apply", "--auto-approve", "out/plan.json")
    assert rc == 0, out + err
    assert "[no-persistence]" in out + err and "no-requirepass" not in out + err


def test_a_plan_file_cannot_hide_a_finding_live_facts_do_not_rule_out(redis_factory, tmp_path, capsys):
    """A finding live facts cannot rule out (keyspace-events-n) is shown at apply
    whatever the plan file says, even from a plan whose lint was emptied."""
    server = redis_factory(password="saved-plan-pass-3")
    spec = write_spec(tmp_path / "s.yaml", server.url, "server:\n  hz: 15\n  notify-keyspace-events: Exn\n", target_extra="password: saved-plan-pass-3")
    plan = tmp_path / "plan.json"
    rc, out, err = run(capsys, "plan", "--out", plan, spec)
    assert rc == 0, err
    assert "[keyspace-events-n]" in out + err
    doc = json.loads(plan.read_text())
    doc["lint"] = []  # a plan file emptied of its findings
    plan.write_text(json.dumps(doc))
    rc, out, err = run(capsys, "apply", "--auto-approve", plan)
    assert rc == 0, out + err
    assert "[keyspace-events-n]" in out + err
