"""plan -> apply -> plan on real Redis 7.0 and 8.2: idempotent, atomic, safe."""

from __future__ import annotations

import json
import os
import re
import shutil

import pytest

from cli_helpers import config_file_cannot_be_rewritten, run, write_spec

SPELLINGS = [
    ("maxmemory", "2gb", "2147483648"),
    ("maxmemory", "2GB", "2147483648"),
    ("maxmemory", "2048mb", "2147483648"),
    ("maxmemory", "2147483648", "2147483648"),
    ("appendonly", "yes", "yes"),
    ("appendonly", "true", "yes"),
    ("appendonly", "'true'", "yes"),
    ("appendonly", "YES", "yes"),
    ("maxmemory-policy", "ALLKEYS-LRU", "allkeys-lru"),
    ("save", '["900 1", "300 10", "60 10000"]', "900 1 300 10 60 10000"),
    ("save", '"60 10000 300 10 900 1"', None),
    ("save", "[[300, 10], [900, 1], [60, 10000]]", None),
    ("save", "{900: 1, 300: 10, 60: 10000}", None),
    ("save", "[]", ""),
    ("notify-keyspace-events", "Ex", "xE"),
    ("notify-keyspace-events", "xE", "xE"),
    ("notify-keyspace-events", "KEA", "AKE"),
    ("client-output-buffer-limit", '"pubsub 64mb 16mb 90"', None),
    ("client-output-buffer-limit", "{replica: 512mb 128mb 120}", None),
    ("maxmemory-clients", "10%", "10%"),
    ("latency-tracking-info-percentiles", '"50.0 99.0"', "50 99"),
    ("oom-score-adj", "relative", "yes"),
    ("shutdown-on-sigterm", '"now nosave"', "nosave now"),
    ("hz", "20", "20"),
    ("slave-read-only", "no", "no"),
    ("list-max-ziplist-size", "-3", "-3"),
    ("stream-node-max-bytes", "4k", "4000"),
]


@pytest.mark.parametrize("param,spelling,reported", SPELLINGS, ids=[f"{p}={s}" for p, s, _ in SPELLINGS])
def test_apply_then_plan_is_empty_for_every_spelling(redis_server, tmp_path, capsys, param, spelling, reported):
    spec = write_spec(tmp_path / "s.yaml", redis_server.url, f"server:\n  {param}: {spelling}\n")
    if param == "save" and spelling == "[]":  # the fixture starts with save ""; make it a change
        redis_server.client().config_set("save", "3600 1")
    rc, out, err = run(capsys, "plan", "--detailed-exitcode", spec)
    assert rc == 2, out + err
    rc, out, err = run(capsys, "apply", "--auto-approve", "--allow-no-persistence", spec)
    assert rc == 0, out + err
    if reported is not None:
        assert redis_server.client().config_get(param)[param] == reported
    rc, out, err = run(capsys, "plan", "--detailed-exitcode", spec)
    assert rc == 0, out + err
    assert "No changes" in out


RICH_SPEC = """
server:
  maxmemory: 256mb
  maxmemory-policy: noeviction
  appendonly: true
  appendfsync: everysec
  save: ["900 1", "300 10", "60 10000"]
  notify-keyspace-events: KEA
  client-output-buffer-limit: {pubsub: 64mb 16mb 90, replica: 512mb 128mb 120}
  slowlog-log-slower-than: 10000
  latency-tracking-info-percentiles: "50 99 99.9 99.99"
  oom-score-adj-values: "0 100 900"
  slave-read-only: no
  hz: 25
  requirepass: ${T_PW}
"""


def test_plan_empty_after_restart_from_rewritten_config(redis_server, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("T_PW", "pw-after-restart")
    spec = write_spec(tmp_path / "s.yaml", redis_server.url, RICH_SPEC, target_extra="password: ${T_PW}")
    rc, out, err = run(capsys, "apply", "--auto-approve", spec)
    assert rc == 0, out + err
    assert "persisted with CONFIG REWRITE" in out
    rc, out, err = run(capsys, "plan", "--detailed-exitcode", spec)
    assert rc == 0, out + err
    redis_server.password = "pw-after-restart"  # the restarted server requires it
    redis_server.restart()
    rc, out, err = run(capsys, "plan", "--detailed-exitcode", spec)
    assert rc == 0, out + err
    assert "pw-after-restart" not in out + err
    assert "pw-after-restart" in redis_server.config_path.read_text()


def test_rewrite_failure_rolls_back_live_values(redis_server, tmp_path, capsys):
    spec = write_spec(tmp_path / "s.yaml", redis_server.url, "server:\n  maxmemory: 300mb\n  hz: 30\n")
    client = redis_server.client()
    before = client.config_get("maxmemory")["maxmemory"], client.config_get("hz")["hz"]
    with config_file_cannot_be_rewritten(redis_server):
        rc, out, err = run(capsys, "apply", "--auto-approve", spec)
    assert rc == 1
    assert "CONFIG REWRITE failed" in err and "restored" in err
    assert (client.config_get("maxmemory")["maxmemory"], client.config_get("hz")["hz"]) == before


def test_rewrite_impossible_is_refused_before_any_change(redis_factory, tmp_path, capsys):
    server = redis_factory(with_config_file=False)
    spec = write_spec(tmp_path / "s.yaml", server.url, "server:\n  maxmemory: 300mb\n")
    rc, out, err = run(capsys, "apply", "--auto-approve", spec)
    assert rc == 1 and "without a config file" in err and "nothing changed" in err
    assert server.client().config_get("maxmemory")["maxmemory"] == "0"
    rc, out, err = run(capsys, "apply", "--auto-approve", "--no-persist", spec)
    assert rc == 0 and "live only" in out
    assert server.client().config_get("maxmemory")["maxmemory"] == str(300 * 1024**2)


def test_saved_plan_applies_exactly_and_stale_plans_are_refused(redis_server, tmp_path, capsys):
    spec = write_spec(tmp_path / "s.yaml", redis_server.url, "server:\n  maxmemory: 300mb\n  maxmemory-policy: allkeys-lru\n")
    plan_file = tmp_path / "plan.json"
    rc, out, err = run(capsys, "plan", "--out", plan_file, spec)
    assert rc == 0
    doc = json.loads(plan_file.read_text())
    assert doc["format_version"] == "1.1" and doc["summary"] == {"live": 2, "restart": 0, "targets": 1}
    assert doc["targets"][0]["server"]["run_id"]

    # live drift: someone changed a value the plan is about to change
    client = redis_server.client()
    client.config_set("maxmemory", "100mb")
    rc, out, err = run(capsys, "apply", "--auto-approve", plan_file)
    assert rc == 1 and "changed since the plan was made" in err and "maxmemory" in err
    assert client.config_get("maxmemory-policy")["maxmemory-policy"] == "noeviction"
    client.config_set("maxmemory", "0")

    # the spec changed since the plan was made
    spec.write_text(spec.read_text() + "  hz: 11\n")
    rc, out, err = run(capsys, "apply", "--auto-approve", plan_file)
    assert rc == 1 and "changed since the plan was made" in err
    spec.write_text(spec.read_text().replace("  hz: 11\n", ""))

    rc, out, err = run(capsys, "apply", "--auto-approve", plan_file)
    assert rc == 0, out + err
    assert client.config_get("maxmemory")["maxmemory"] == str(300 * 1024**2)
    rc, out, err = run(capsys, "plan", "--detailed-exitcode", spec)
    assert rc == 0

    # a server restart invalidates the plan's evidence (run_id)
    rc, _, _ = run(capsys, "plan", "--out", plan_file, write_spec(tmp_path / "t.yaml", redis_server.url, "server:\n  hz: 12\n"))
    redis_server.restart()
    rc, out, err = run(capsys, "apply", "--auto-approve", plan_file)
    assert rc == 1 and "restarted" in err


def test_plan_file_from_a_newer_major_format_is_refused(redis_server, tmp_path, capsys):
    spec = write_spec(tmp_path / "s.yaml", redis_server.url, "server:\n  hz: 12\n")
    plan_file = tmp_path / "plan.json"
    run(capsys, "plan", "--out", plan_file, spec)
    doc = json.loads(plan_file.read_text())
    doc["format_version"] = "2"
    plan_file.write_text(json.dumps(doc))
    rc, out, err = run(capsys, "apply", "--auto-approve", plan_file)
    assert rc == 1 and "format_version" in err


def test_non_interactive_apply_without_auto_approve_changes_nothing(redis_server, tmp_path, capsys):
    spec = write_spec(tmp_path / "s.yaml", redis_server.url, "server:\n  maxmemory: 300mb\n")
    rc, out, err = run(capsys, "apply", spec)
    assert rc == 1 and "--auto-approve" in err
    assert redis_server.client().config_get("maxmemory")["maxmemory"] == "0"


def test_restart_class_changes_are_reported_never_applied(redis_server, tmp_path, capsys):
    spec = write_spec(tmp_path / "s.yaml", redis_server.url, "server:\n  databases: 32\n  hz: 15\n")
    rc, out, err = run(capsys, "plan", "--detailed-exitcode", spec)
    assert rc == 2 and "restart required" in out
    rc, out, err = run(capsys, "apply", "--auto-approve", spec)
    assert rc == 0, err
    assert "need a restart" in out
    assert redis_server.client().config_get("databases")["databases"] == "16"
    assert redis_server.client().config_get("hz")["hz"] == "15"
    rc, out, err = run(capsys, "plan", "--format", "json", spec)
    doc = json.loads(out)
    (change,) = doc["targets"][0]["changes"]
    assert change["parameter"] == "databases" and change["class"] == "restart"


def test_apply_names_each_change_once(redis_server, tmp_path, capsys):
    """The plan apply shows names each change; the outcome after it does not list them again."""
    spec = write_spec(tmp_path / "s.yaml", redis_server.url, "server:\n  databases: 32\n  hz: 15\n  maxmemory: 300mb\n")
    rc, out, err = run(capsys, "apply", "--auto-approve", spec)
    assert rc == 0, err
    plan_part, outcome = out.split("\nPlan: ", 1)
    for name in ("databases", "hz", "maxmemory"):
        assert len(re.findall(rf"^  [~!] {name}: ", out, re.M)) == 1, out
        assert name not in outcome, out
    assert "applied 2 live change(s)" in out and "1 change(s) need a restart" in out, out
    assert redis_server.client().config_get("hz")["hz"] == "15"


def test_rejected_config_set_changes_nothing(redis_server, tmp_path, capsys):
    # maxclients above the fd limit is refused by the server: the whole SET must not land
    spec = write_spec(tmp_path / "s.yaml", redis_server.url, "server:\n  hz: 40\n  maxclients: 100000000\n")
    rc, out, err = run(capsys, "apply", "--auto-approve", spec)
    assert rc == 1 and "nothing changed" in err
    assert redis_server.client().config_get("hz")["hz"] == "10"


def test_unknown_parameter_names_flavour_and_version(redis_server, tmp_path, capsys):
    # a parameter the catalog knows that this server does not have
    param, value = {
        "redis-7.0": ("locale-collate", "C"),
        "redis-8.2": ("aof-disable-auto-gc", "no"),
        "valkey-8.1": ("aof-disable-auto-gc", "no"),
        "valkey-9.1": ("aof-disable-auto-gc", "no"),
    }[redis_server.server_key]
    spec = write_spec(tmp_path / "s.yaml", redis_server.url, f"server:\n  {param}: {value}\n")
    rc, out, err = run(capsys, "plan", spec)
    assert rc == 1
    assert redis_server.label in err and param in err


def test_maxmemory_percent_resolves_against_server_memory(redis_server, tmp_path, capsys):
    total = int(redis_server.client().info("memory")["total_system_memory"])
    spec = write_spec(tmp_path / "s.yaml", redis_server.url, "server:\n  maxmemory: 10%\n")
    rc, out, err = run(capsys, "apply", "--auto-approve", spec)
    assert rc == 0, err
    assert redis_server.client().config_get("maxmemory")["maxmemory"] == str(total * 10 // 100)
    rc, out, err = run(capsys, "plan", "--detailed-exitcode", spec)
    assert rc == 0


def test_exit_codes(redis_server, tmp_path, capsys):
    spec = write_spec(tmp_path / "s.yaml", redis_server.url, "server:\n  hz: 13\n")
    assert run(capsys, "plan", spec)[0] == 0
    assert run(capsys, "plan", "--detailed-exitcode", spec)[0] == 2
    assert run(capsys, "plan", "--no-such-flag", spec)[0] == 1  # click usage errors too
    assert run(capsys, "nosuchcommand")[0] == 1
    assert run(capsys, "plan", tmp_path / "missing.yaml")[0] == 1


SECRET = "s3cr$t-#@:/%'\" pw\\x"


def test_secrets_never_reach_output_or_plan_files(redis_server, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("T_PW", SECRET)
    monkeypatch.setenv("T_MA", SECRET + "-masterauth")
    body = "server:\n  requirepass: ${T_PW}\n  masterauth: ${T_MA}\n  hz: 14\n"
    spec = write_spec(tmp_path / "s.yaml", redis_server.url, body, target_extra="password: ${T_PW}")
    plan_file = tmp_path / "plan.json"
    outputs = []
    for args in (
        ("-v", "plan", spec),
        ("plan", "--format", "json", "--out", plan_file, spec),
        ("-v", "apply", "--auto-approve", spec),
        ("-v", "plan", "--show-unchanged", spec),
    ):
        rc, out, err = run(capsys, *args)
        assert rc == 0, err
        outputs.append(out + err)
    assert redis_server.client(password=SECRET).config_get("requirepass")["requirepass"] == SECRET
    # a wrong password: the error names what is wrong, not the password
    monkeypatch.setenv("T_PW", SECRET + "-wrong")
    rc, out, err = run(capsys, "-v", "plan", spec)
    assert rc == 1 and "wrong password" in err
    outputs.append(out + err)
    files = plan_file.read_text()
    for text in outputs + [files]:
        for s in (SECRET, SECRET + "-masterauth", SECRET + "-wrong"):
            assert s not in text
        assert "s3cr" not in text
    doc = json.loads(files)
    sensitive = [c for c in doc["targets"][0]["changes"] if c["sensitive"]]
    assert {c["parameter"] for c in sensitive} == {"requirepass", "masterauth"}
    assert all(c["before"] is None and c["after"] is None for c in sensitive)
