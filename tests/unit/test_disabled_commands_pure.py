"""Disabled commands, pure parts: ACL DRYRUN probes and answers, and the plan a
live state gives (issue 11.1). The live behaviour is in
tests/integration/test_disabled_commands.py."""

from __future__ import annotations

import textwrap

from borgconf.live import LiveState, acl_commands, deniable, dryrun_probes, parse_dryrun
from borgconf.planner import build_plan
from borgconf.spec import load_spec
from facts import load


def spec_from(tmp_path, body: str):
    p = tmp_path / "s.yaml"
    p.write_text("version: 1\n" + textwrap.dedent(body))
    return load_spec(p, env={})


def live(commands, allowed, config_file="/etc/redis/redis.conf") -> LiveState:
    return LiveState(address="127.0.0.1:6379", flavour="redis", version="7.0.15", run_id="r" * 40, config_file=config_file,
                     config=load("redis-7.0", "config-get.json"), commands=commands, allowed=allowed)


def test_dryrun_answers():
    assert parse_dryrun("OK") is True
    assert parse_dryrun("This user has no permissions to access the 'x' key") is True  # the command itself is allowed
    assert parse_dryrun("User default has no permissions to run the 'flushall' command") is False
    assert parse_dryrun("This user has no permissions to run the 'flushall' command") is False
    assert parse_dryrun(Exception("ERR wrong number of arguments")) is None


def test_dryrun_probes_pad_to_the_arity_and_cover_every_subcommand():
    assert dryrun_probes("FLUSHALL", ["flushall", -1, [], 0, 0, 0, ["@write"], [], [], []]) == [["FLUSHALL"]]
    assert dryrun_probes("KEYS", ["keys", 2, [], 0, 0, 0, [], [], [], []]) == [["KEYS", "x"]]
    config = ["config", -2, [], 0, 0, 0, [], [], [], [["config|get", -3], ["config|set", -4]]]
    assert dryrun_probes("CONFIG", config) == [["CONFIG", "GET", "x"], ["CONFIG", "SET", "x", "x"]]


def test_commands_borgconf_needs_are_never_denied_live(tmp_path):
    spec = spec_from(tmp_path, """
        target: {config_command: CFG_x}
        commands: {FLUSHALL: disabled, CONFIG: disabled, ACL: disabled, KEYS: renamed_k, DEBUG: enabled}
        """)
    # CFG_X (the config_command's name) is no command a server has at start-up, so validate refuses it
    # under commands: (issue 10); acl_commands must still never deny it if it gets there
    assert acl_commands({**spec.commands, "CFG_X": "disabled"}, spec.target) == ["FLUSHALL"]
    assert not deniable("info") and deniable("FLUSHDB")


def test_a_disabled_command_some_user_may_run_is_a_live_change(tmp_path):
    spec = spec_from(tmp_path, "commands: {FLUSHALL: disabled, FLUSHDB: disabled}\n")
    plan = build_plan(spec, {"default": live({"FLUSHALL": "enabled", "FLUSHDB": "enabled"}, {"FLUSHALL": ("default", "ops"), "FLUSHDB": ()})})
    (tp,) = plan.targets
    (c,) = tp.changes
    assert (c.kind, c.name, c.timing, c.before, c.after) == ("command", "FLUSHALL", "live", "allowed to default, ops", "denied to every user")
    assert "ACL SETUSER default -flushall ACL SETUSER ops -flushall" in c.reason.replace(";", "")
    assert [n.parameter for n in tp.noops] == ["rename-command FLUSHDB"]  # denied to everyone: never a perpetual diff


def test_renamed_away_is_disabled_and_a_spec_user_gets_the_denial_only_for_known_commands(tmp_path):
    spec = spec_from(tmp_path, """
        commands: {FLUSHALL: disabled, FLUSHDB: disabled}
        users:
          app: {password: pw-1, commands: "+@all"}
        """)
    state = live({"FLUSHALL": "disabled", "FLUSHDB": "enabled"}, {"FLUSHDB": ("default",)})
    state.users = {"app": None}
    (tp,) = build_plan(spec, {"default": state}).targets
    changes = {c.parameter: c for c in tp.changes}
    assert set(changes) == {"rename-command FLUSHDB", "user app"}
    assert changes["user app"].after.endswith("+@all -flushdb")  # FLUSHALL is gone: -flushall would not even load


def test_a_rename_names_the_line_the_file_and_the_restart(tmp_path):
    spec = spec_from(tmp_path, "commands: {KEYS: ${K}, FLUSHALL: disabled}\n".replace("${K}", "k_new_1"))
    (tp,) = build_plan(spec, {"default": live({"KEYS": "enabled", "FLUSHALL": "renamed:other"}, {})}).targets
    changes = {c.parameter: c for c in tp.changes}
    keys, flushall = changes["rename-command KEYS"], changes["rename-command FLUSHALL"]
    assert keys.timing == flushall.timing == "restart"
    assert "put the line `rename-command KEYS <the new name under commands.KEYS in" in keys.reason and "k_new_1" not in keys.reason
    assert "in /etc/redis/redis.conf, then restart the server" in keys.reason
    assert 'put the line `rename-command FLUSHALL ""` in /etc/redis/redis.conf (replacing its rename-command FLUSHALL line)' in flushall.reason
