"""``commands: {X: disabled}`` converges live on every server (issue 11.1/11.2).

X is denied through ACL rules to every user on the server (the default user,
the spec's users, users other actors created), persisted with CONFIG REWRITE,
and a restart from the rewritten file keeps it: the next plan is empty. Who may
still run X is the server's own answer (ACL DRYRUN), so a user added later with
X allowed is drift the next plan shows.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import redis

from borgconf import redact
from cli_helpers import run

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _clean(monkeypatch):
    for name in ("REDIS_PASSWORD", "BORGCONF_URL", "BORGCONF_PASSWORD", "REDISCLI_AUTH", "APP_PW"):
        monkeypatch.delenv(name, raising=False)
    redact.clear()
    yield
    redact.clear()


def _client(server, password, username=None):
    return redis.Redis(host=server.host, port=server.port, username=username, password=password, decode_responses=True)


def _refused(client, command: str) -> bool:
    try:
        client.execute_command(command)
    except redis.exceptions.NoPermissionError:
        return True
    return False


def borgstack_spec(tmp_path: Path) -> Path:
    """specs/borgstack.yaml as a new user runs it against a server: persist: rewrite."""
    text = (ROOT / "specs" / "borgstack.yaml").read_text()
    assert "persist: file" in text and "FLUSHALL: disabled" in text and "FLUSHDB: disabled" in text
    text = text.replace("persist: file", "persist: rewrite").replace("../examples/borgstack/", "out/")
    spec = tmp_path / "borgstack.yaml"
    spec.write_text(text)
    return spec


def plan_rc(capsys, spec, *args):
    rc, out, err = run(capsys, "plan", "--detailed-exitcode", spec, *args)
    assert rc in (0, 2), out + err
    return rc, out + err


def test_borgstack_spec_converges_live_and_after_a_restart(redis_factory, tmp_path, capsys, monkeypatch):
    server = redis_factory()  # a fresh server: no password, FLUSHALL allowed
    password = "borgstack-pw-" + server.server_key
    monkeypatch.setenv("REDIS_PASSWORD", password)
    monkeypatch.setenv("BORGCONF_URL", server.url)
    spec = borgstack_spec(tmp_path)
    c = server.client()
    for db in range(4):
        c.execute_command("SELECT", db)
        c.set(f"key{db}", f"value{db}")

    rc, text = plan_rc(capsys, spec)
    assert rc == 2
    assert "rename-command FLUSHALL: allowed to default -> denied to every user" in text
    assert "ACL SETUSER default -flushall" in text and "restart required" not in text

    rc, out, err = run(capsys, "apply", "--auto-approve", spec)
    assert rc == 0, out + err
    assert "persisted with CONFIG REWRITE" in out
    assert password not in out + err
    rc, text = plan_rc(capsys, spec)
    assert rc == 0, text

    def check():
        client = _client(server, password)
        assert client.ping()  # the password works
        for cmd in ("FLUSHALL", "FLUSHDB"):
            assert _refused(client, cmd), cmd
        for db in range(4):
            client.execute_command("SELECT", db)
            assert client.get(f"key{db}") == f"value{db}"
        users = [line.split()[1] for line in client.execute_command("ACL", "LIST")]
        assert users == ["default"]

    check()
    rewritten = server.config_path.read_text()
    assert re.search(r"^user default .*-flushall", rewritten, re.M) and re.search(r"^user default .*-flushdb", rewritten, re.M)
    server.password = password
    server.restart()
    check()
    rc, text = plan_rc(capsys, spec)
    assert rc == 0, text


SPEC = """\
version: 1
target:
  url: {url}
  password: ${{REDIS_PASSWORD}}
server:
  requirepass: ${{REDIS_PASSWORD}}
commands:
  FLUSHALL: disabled
users:
  app: {{password: "${{APP_PW}}", keys: ["app:*"], commands: "+@all -@admin"}}
  reader: {{password: "reader-pw-1", keys: ["*"], commands: "-@all +get +info +ping"}}
"""


def test_every_user_is_denied_and_a_later_user_is_drift(redis_factory, tmp_path, capsys, monkeypatch):
    server = redis_factory(password="root-pw-1")
    monkeypatch.setenv("REDIS_PASSWORD", "root-pw-1")
    monkeypatch.setenv("APP_PW", "app-pw-1")
    c = _client(server, "root-pw-1")
    # another actor's user, which the spec does not know
    c.execute_command("ACL", "SETUSER", "ops", "on", ">ops-pw-1", "~*", "&*", "+@all")
    spec = tmp_path / "s.yaml"
    spec.write_text(SPEC.format(url=json.dumps(server.url)))

    rc, out, err = run(capsys, "plan", "--format", "json", "--detailed-exitcode", spec)
    assert rc == 2, err
    changes = {ch["parameter"]: ch for ch in json.loads(out)["targets"][0]["changes"]}
    flushall = changes["rename-command FLUSHALL"]
    assert (flushall["kind"], flushall["class"], flushall["before"], flushall["after"]) == ("command", "live", "allowed to default, ops", "denied to every user")
    assert changes["user app"]["after"].endswith("-flushall")  # the spec's own users get the denial with their rules

    rc, out, err = run(capsys, "apply", "--auto-approve", spec)
    assert rc == 0, out + err
    for user, pw in (("default", "root-pw-1"), ("ops", "ops-pw-1"), ("app", "app-pw-1"), ("reader", "reader-pw-1")):
        client = _client(server, pw, username=user)
        assert client.ping()
        assert _refused(client, "FLUSHALL"), user
    assert _client(server, "app-pw-1", "app").execute_command("FLUSHDB") in ("OK", True)  # only what the spec disables
    assert plan_rc(capsys, spec)[0] == 0

    # a user added later, FLUSHALL allowed: the next plan shows it, apply denies it
    c.execute_command("ACL", "SETUSER", "late", "on", ">late-pw-1", "~*", "+@all")
    rc, text = plan_rc(capsys, spec)
    assert rc == 2 and "rename-command FLUSHALL: allowed to late -> denied to every user" in text
    rc, out, err = run(capsys, "apply", "--auto-approve", spec)
    assert rc == 0, out + err
    assert _refused(_client(server, "late-pw-1", "late"), "FLUSHALL")

    server.restart()
    assert plan_rc(capsys, spec)[0] == 0
    for user, pw in (("default", "root-pw-1"), ("ops", "ops-pw-1"), ("app", "app-pw-1"), ("late", "late-pw-1")):
        assert _refused(_client(server, pw, username=user), "FLUSHALL"), user


def test_a_selector_that_allows_the_command_fails_verification_and_rolls_back(redis_factory, tmp_path, capsys, monkeypatch):
    server = redis_factory(password="root-pw-1")
    monkeypatch.setenv("REDIS_PASSWORD", "root-pw-1")
    c = _client(server, "root-pw-1")
    c.execute_command("ACL", "SETUSER", "sel", "on", ">sel-pw-1", "~*", "+get", "(+flushall ~*)")
    before = sorted(c.execute_command("ACL", "LIST"))
    spec = tmp_path / "s.yaml"
    spec.write_text(f"version: 1\ntarget:\n  url: {json.dumps(server.url)}\n  password: ${{REDIS_PASSWORD}}\ncommands:\n  FLUSHALL: disabled\n")
    rc, out, err = run(capsys, "apply", "--auto-approve", spec)
    assert rc == 1
    assert "still allowed to sel" in err and "restored" in err
    assert sorted(c.execute_command("ACL", "LIST")) == before  # the default user may run FLUSHALL again, as before


def test_a_command_renamed_away_counts_as_disabled(redis_factory, tmp_path, capsys):
    server = redis_factory(['rename-command FLUSHALL ""'])
    spec = tmp_path / "s.yaml"
    spec.write_text(f"version: 1\ntarget:\n  url: {json.dumps(server.url)}\ncommands:\n  FLUSHALL: disabled\n  FLUSHDB: disabled\n")
    rc, out, err = run(capsys, "plan", "--show-unchanged", spec)
    assert rc == 0, err
    assert "= rename-command FLUSHALL: already disabled" in out
    assert "~ rename-command FLUSHDB: allowed to default -> denied to every user" in out
    rc, out, err = run(capsys, "apply", "--auto-approve", spec)
    assert rc == 0, out + err
    assert plan_rc(capsys, spec)[0] == 0
    server.restart()
    assert plan_rc(capsys, spec)[0] == 0


def test_a_rename_says_which_lines_to_add_and_that_a_restart_is_needed(redis_factory, tmp_path, capsys, monkeypatch):
    server = redis_factory()
    monkeypatch.setenv("CFG_NAME", "cfg-hidden-q7")
    spec = tmp_path / "s.yaml"
    spec.write_text(f"version: 1\ntarget:\n  url: {json.dumps(server.url)}\ncommands:\n  KEYS: ${{CFG_NAME}}\n  CONFIG: disabled\n")
    rc, out, err = run(capsys, "plan", "--detailed-exitcode", spec)
    assert rc == 2, err
    conf = str(server.config_path)
    assert f"put the line `rename-command KEYS <the value of ${{CFG_NAME}}>` in {conf}, then restart the server" in out
    assert f'put the line `rename-command CONFIG ""` in {conf}' in out and "borgconf itself needs CONFIG" in out
    assert "cfg-hidden-q7" not in out + err
