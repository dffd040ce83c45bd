"""File changes (issue 13.3) without a server: the order apply takes with a
rotated password (tests/fakeredis_client.py records every call), what a failure
between the steps leaves and says, and a saved plan's file change as a
document. Real servers: tests/integration/test_file_changes.py."""

from __future__ import annotations

import hashlib
import json
import textwrap

import pytest

from borgconf.apply import apply_target
from borgconf.errors import ApplyError, BorgconfError, PlanError
from borgconf.fleet import desired_secrets, desired_users
from borgconf.live import read_state
from borgconf.plan import Change, ChangeId, Plan
from borgconf.planfile import parse_plan_document
from borgconf.planner import build_plan
from borgconf.spec import load_spec
from borgconf.users import managed
from fakeredis_client import FakeLock, FakeRedis

OLD = "Tq8wPz3kLr6mXs1v"
NEW = "Jd5hGy2nBc9fWe4u"


def _sha(pw: str) -> str:
    return hashlib.sha256(pw.encode()).hexdigest()


class Files:
    """Stands in for filechanges.FileStep: records its write among the fake's calls."""

    def __init__(self, fake: FakeRedis, fail: bool = False):
        self.fake, self.fail, self.written, self.checked = fake, fail, [], 0

    def check(self, fresh=None):
        self.checked += 1

    def write(self):
        self.fake.calls.append(("FILES", "WRITE"))
        if self.fail:
            raise BorgconfError("cannot write app.env: No space left on device")
        self.written.append("app.env")
        return self.written


def _setup(tmp_path, body: str, **config):
    p = tmp_path / "s.yaml"
    p.write_text("version: 1\ntarget:\n  url: redis://fake:6379\n" + textwrap.dedent(body))
    spec = load_spec(p, env={"REDIS_PASSWORD": NEW, "APP_PASSWORD": NEW})
    fake = FakeRedis({"requirepass": OLD, **config})
    fake.users["default"] = {"on": True, "hashes": {_sha(OLD)}, "nopass": False, "keys": ["~*"], "channels": ["&*"], "commands": ["+@all"]}
    return spec, fake


def _apply(spec, fake, files, *, with_file=True):
    (target,) = spec.targets
    live = read_state(fake, target, spec.commands, managed(spec))
    (tp,) = build_plan(spec, {target.name: live}).targets
    if with_file:
        tp.changes.append(Change(ChangeId("file", "app.env"), timing="live", before=None, after=None, lines=["~ APP_REDIS_URL (changed)"]))
    fake.calls.clear()
    return apply_target(fake, target, tp, secrets=desired_secrets(spec), users=desired_users(spec), persist="rewrite", lock_timeout=0, lock_factory=FakeLock, files=files)


def _order(fake) -> list[str]:
    out = []
    for c in fake.calls:
        if c[:2] == ("ACL", "SETUSER"):
            out.append(f"ACL SETUSER {c[2]} " + " ".join("<new>" if a in (">" + NEW,) else "<-new>" if a == "<" + NEW else a for a in c[3:] if a[0] in "<>" or a == "reset"))
        elif c[:2] in (("CONFIG", "SET"), ("CONFIG", "REWRITE"), ("FILES", "WRITE")):
            out.append(" ".join(c[:2]) + (" " + " ".join(c[2::2]) if c[:2] == ("CONFIG", "SET") else ""))
    return out


ROTATE = "server:\n  requirepass: ${REDIS_PASSWORD}\n  hz: 20\n"


def test_a_rotation_adds_the_new_password_writes_the_files_then_enforces_it(tmp_path):
    spec, fake = _setup(tmp_path, ROTATE)
    files = Files(fake)
    result = _apply(spec, fake, files)
    assert _order(fake) == ["ACL SETUSER default <new>", "FILES WRITE", "CONFIG SET requirepass hz", "CONFIG REWRITE"]
    assert files.checked == 1
    assert {c.parameter for c in result.applied} == {"requirepass", "hz", "file app.env"}


def test_an_acl_user_rotation_adds_then_resets(tmp_path):
    body = "users:\n  app: {password: '${APP_PASSWORD}', keys: ['app:*'], commands: '+get'}\n"
    spec, fake = _setup(tmp_path, body)
    fake.execute_command("ACL", "SETUSER", "app", "reset", "resetchannels", "on", ">" + OLD, "~app:*", "+get")
    _apply(spec, fake, Files(fake))
    assert _order(fake) == ["ACL SETUSER app <new>", "FILES WRITE", "ACL SETUSER app reset <new>", "CONFIG REWRITE"]
    assert fake.users["app"]["hashes"] == {_sha(NEW)}  # the old one is gone after the files


def test_without_a_rotation_the_server_goes_first(tmp_path):
    spec, fake = _setup(tmp_path, "server:\n  hz: 20\n")
    _apply(spec, fake, Files(fake))
    assert _order(fake) == ["CONFIG SET hz", "CONFIG REWRITE", "FILES WRITE"]


def test_a_failed_write_after_the_server_changed_says_what_is_applied(tmp_path):
    spec, fake = _setup(tmp_path, "server:\n  hz: 20\n")
    with pytest.raises(ApplyError, match=r"No space left on device; the server's changes are applied and persisted \(rewrite\); apply again to write the files"):
        _apply(spec, fake, Files(fake, fail=True))


def test_a_failed_write_during_a_rotation_takes_the_new_password_away_again(tmp_path):
    spec, fake = _setup(tmp_path, ROTATE)
    with pytest.raises(ApplyError) as info:
        _apply(spec, fake, Files(fake, fail=True))
    assert "writing the rendered files failed" in str(info.value) and "the previous live values were restored" in str(info.value)
    assert _order(fake) == ["ACL SETUSER default <new>", "FILES WRITE", "ACL SETUSER default <-new>"]
    assert fake.config["requirepass"] == OLD
    assert OLD not in str(info.value) and NEW not in str(info.value)


def test_a_failure_after_the_files_keeps_both_passwords_and_says_so(tmp_path):
    spec, fake = _setup(tmp_path, ROTATE)
    fake.fail("CONFIG SET")  # atomic: nothing of it changed
    with pytest.raises(ApplyError) as info:
        _apply(spec, fake, Files(fake))
    text = str(info.value)
    assert "app.env already written as the spec renders it (with the new password)" in text
    assert "the server accepts both the old and the new password of default until apply runs again" in text
    assert OLD not in text and NEW not in text
    assert fake.config["requirepass"] == OLD
    assert fake.users["default"]["hashes"] == {_sha(OLD), _sha(NEW)}  # the .env's password keeps working


def test_a_failed_rewrite_after_the_files_restores_the_values_and_keeps_the_new_password(tmp_path):
    spec, fake = _setup(tmp_path, ROTATE)
    fake.fail("CONFIG REWRITE")
    with pytest.raises(BorgconfError, match="CONFIG REWRITE failed.*restored.*accepts both the old and the new password of default"):
        _apply(spec, fake, Files(fake))
    assert fake.config["requirepass"] == OLD and fake.config["hz"] == "10"
    assert _order(fake)[-1] == "ACL SETUSER default <new>"  # after putting requirepass back: the new one stays valid


def test_file_changes_need_a_writer(tmp_path):
    spec, fake = _setup(tmp_path, "server:\n  hz: 20\n")
    with pytest.raises(PlanError, match="file changes"):
        _apply(spec, fake, None)


# ---------------------------------------------------------------- the saved plan document


def _doc(change: dict) -> bytes:
    plan = {
        "format_version": "1", "borgconf_version": "0.1.0",
        "spec": {"path": "s.yaml", "sha256": "a" * 64},
        "fingerprint_salt": "b" * 32,
        "targets": [{"name": "default", "address": "fake:6379", "server": {"flavour": "redis", "version": "7.0.15", "run_id": "c" * 40},
                     "persist": "rewrite", "role": "primary", "managed_by": None, "primary": None, "group": None,
                     "changes": [change], "warnings": [], "in_sync": []}],
        "summary": {"live": 1, "restart": 0, "targets": 1, **({"files": 1} if change.get("kind") == "file" else {})},
    }
    return json.dumps(plan).encode()


FILE_CHANGE = {"parameter": "file app.env", "kind": "file", "action": "create", "class": "live", "before": None, "after": None,
               "sensitive": False, "warnings": [], "fingerprint": "scrypt$16384$8$1$" + "d" * 64, "lines": ["+ APP_REDIS_URL (added)"]}


def test_a_file_change_round_trips_as_a_document():
    doc = parse_plan_document(_doc(FILE_CHANGE))
    p = Plan.from_json(doc.model_dump(by_alias=True, exclude_unset=True))
    (c,) = p.targets[0].changes
    assert c.id == ChangeId("file", "app.env") and c.action == "create" and c.lines == ["+ APP_REDIS_URL (added)"]
    assert c.to_json() == FILE_CHANGE


@pytest.mark.parametrize(
    "edit, message",
    [
        ({"after": "x"}, "a file change is live, not sensitive"),
        ({"sensitive": True}, "a file change is live, not sensitive"),
        ({"parameter": "app.env"}, "names 'file PATH'"),
        ({"lines": ["+ A\nB"]}, "control character"),
        ({"kind": "parameter", "parameter": "hz"}, "lines are only for changes of kind file"),
    ],
)
def test_a_bad_file_change_is_refused(edit, message):
    with pytest.raises(PlanError, match=message):
        parse_plan_document(_doc({**FILE_CHANGE, **edit}))


# ---------------------------------------------------------------- planning (offline: render needs no server)


def _fleet_plan(tmp_path, monkeypatch, *, rotate_first: bool):
    from borgconf.filechanges import add_file_changes
    from borgconf.plan import TargetPlan

    p = tmp_path / "s.yaml"
    p.write_text(textwrap.dedent("""\
        version: 1
        targets:
          - {name: one, url: "redis://one:6379"}
          - {name: two, url: "redis://two:6379"}
        server:
          requirepass: ${REDIS_PASSWORD}
        services:
          app: {db: 0}
        render: {env_file: app.env, host: one}
    """))
    spec = load_spec(p, env={"REDIS_PASSWORD": NEW})
    plans = []
    for name, rotates in (("one", rotate_first), ("two", True)):
        tp = TargetPlan(name=name, address=f"{name}:6379", flavour="redis", version="7.0.15", run_id="f" * 40)
        if rotates:
            tp.changes.append(Change(ChangeId("parameter", "requirepass"), timing="live", before=None, after=None, sensitive=True, secret_after=NEW))
        plans.append(tp)
    plan = Plan(spec_path=str(p), spec_sha256=spec.sha256, targets=plans)
    monkeypatch.setenv("REDIS_PASSWORD", NEW)  # render reads the environment, as plan does
    add_file_changes(plan, spec, {})
    return plan


def test_the_files_go_on_the_first_target_and_other_rotations_are_told_apart(tmp_path, monkeypatch):
    plan = _fleet_plan(tmp_path, monkeypatch, rotate_first=True)
    one, two = plan.targets
    (f,) = one.file_changes
    assert f.id == ChangeId("file", "app.env") and f.action == "create" and f.timing == "live"
    assert "+ APP_REDIS_URL (added)" in f.lines and all(NEW not in line for line in f.lines)
    assert any("password rotation in a safe order" in w for w in one.warnings)
    assert not two.file_changes
    assert any("the rendered files follow target one" in w and "no safe order" in w for w in two.warnings)
    assert plan.summary()["live"] == 3
    assert NEW not in json.dumps(plan.to_json())


def test_without_a_rotation_no_order_is_announced(tmp_path, monkeypatch):
    plan = _fleet_plan(tmp_path, monkeypatch, rotate_first=False)
    one, _ = plan.targets
    assert one.file_changes and not any("rotation" in w for w in one.warnings)


def test_a_control_character_of_the_file_is_spelled_out_and_the_plan_reads_back(tmp_path):
    from pathlib import Path

    from borgconf.filechanges import _changes_of
    from borgconf.render.output import RenderedFile

    f = RenderedFile(Path(tmp_path / "redis.conf"), "hz 20\nport 6379\n", 0o644, "hz 10\r\n\r\nport 6379\n")
    (c,) = _changes_of({"redis.conf": f})
    assert "-\\x0d" in c.lines and "+hz 20" in c.lines
    c.fingerprint = "scrypt$16384$8$1$" + "d" * 64
    doc = parse_plan_document(_doc(c.to_json()))  # a plan borgconf writes is one it reads
    assert doc.targets[0].changes[0].lines == c.lines
