"""apply_target step by step against a small fake client (tests/fakeredis_client.py):
every rollback branch runs -- a failed ACL SETUSER, a value the server did not
keep, a failed CONFIG REWRITE (and a restore that fails too), a failed ACL SAVE,
a failed write of the rendered file. Real-server behaviour is pinned in
tests/integration; these pin what apply does when a step fails."""

from __future__ import annotations

import textwrap

import pytest
import redis.exceptions as rx

from borgconf.apply import apply_target
from borgconf.errors import ApplyError, BorgconfError, PersistFailed, VerifyFailed
from borgconf.fleet import desired_secrets, desired_users
from borgconf.live import read_state
from borgconf.planner import build_plan
from borgconf.spec import load_spec
from borgconf.users import managed
from fakeredis_client import FakeLock, FakeRedis


def _spec(tmp_path, body: str):
    p = tmp_path / "s.yaml"
    p.write_text("version: 1\ntarget:\n  url: redis://fake:6379\n" + textwrap.dedent(body))
    return load_spec(p, env={})


def _apply(fake: FakeRedis, spec, persist: str = "rewrite", write_file=None):
    (target,) = spec.targets
    live = read_state(fake, target, spec.commands, managed(spec))
    (tp,) = build_plan(spec, {target.name: live}).targets
    return apply_target(fake, target, tp, secrets=desired_secrets(spec), users=desired_users(spec), persist=persist, write_file=write_file, lock_timeout=0, lock_factory=FakeLock)


HZ = "server:\n  hz: 20\n  maxmemory-samples: 7\n"
USERS = HZ + "users:\n  app: {password: pw-app, keys: ['app:*'], commands: '+get'}\n  jobs: {password: pw-jobs, keys: ['jobs:*'], commands: '+set'}\n"


def _assert_untouched(fake: FakeRedis) -> None:
    assert (fake.config["hz"], fake.config["maxmemory-samples"]) == ("10", "5")
    assert (fake.file["hz"], fake.file["maxmemory-samples"]) == ("10", "5")
    assert not fake.lock_held and fake.called("LOCK ACQUIRE") == 1  # taken once, released whatever happened


def test_happy_path_sets_verifies_persists_and_releases_the_lock(tmp_path):
    fake = FakeRedis()
    result = _apply(fake, _spec(tmp_path, USERS))
    assert result.persisted == "rewrite" and {c.parameter for c in result.applied} == {"hz", "maxmemory-samples", "user app", "user jobs"}
    assert fake.file["hz"] == "20" and set(fake.users) == {"app", "jobs"}
    assert fake.called("ACL SAVE") == 0  # no aclfile: the users went into redis.conf with REWRITE
    assert not fake.lock_held and fake.called("LOCK RELEASE") == 1


def test_a_failed_setuser_removes_the_users_already_created_and_restores_the_values(tmp_path):
    fake = FakeRedis()
    fake.fail("ACL SETUSER", after=1)  # app is created, jobs fails
    with pytest.raises(ApplyError, match="set user jobs.*the previous live values were restored"):
        _apply(fake, _spec(tmp_path, USERS))
    assert fake.users == {}  # app was created, then deleted again
    assert fake.called("ACL DELUSER") == 1
    _assert_untouched(fake)


def test_a_value_the_server_did_not_keep_rolls_back(tmp_path):
    fake = FakeRedis()
    fake.clamp("hz", "20", "19")  # a server that clamps
    with pytest.raises(VerifyFailed, match="hz reads back '19', not '20'.*the previous live values were restored"):
        _apply(fake, _spec(tmp_path, HZ))
    _assert_untouched(fake)
    assert fake.called("CONFIG REWRITE") == 0


def test_a_failed_rewrite_restores_the_live_values(tmp_path):
    fake = FakeRedis()
    fake.fail("CONFIG REWRITE")
    with pytest.raises(PersistFailed, match="CONFIG REWRITE failed.*the previous live values were restored"):
        _apply(fake, _spec(tmp_path, HZ))
    _assert_untouched(fake)


def test_a_failed_rewrite_whose_restore_fails_too_says_so(tmp_path):
    fake = FakeRedis()
    fake.fail("CONFIG REWRITE")
    fake.fail("CONFIG SET", after=1, error=rx.ConnectionError("Connection closed by server."))  # the restore
    with pytest.raises(PersistFailed) as info:
        _apply(fake, _spec(tmp_path, HZ))
    text = str(info.value)
    assert "CONFIG REWRITE failed" in text and "restoring the previous values ALSO failed" in text and "restore the previous values" in text
    assert fake.config["hz"] == "20" and fake.file["hz"] == "10"  # what the message says: live changed, file not
    assert not fake.lock_held and fake.called("LOCK RELEASE") == 1


def test_a_failed_acl_save_puts_back_users_values_and_the_file(tmp_path):
    fake = FakeRedis({"aclfile": "/etc/redis/users.acl"})
    fake.execute_command("ACL", "SETUSER", "app", "reset", "on", ">old-pw", "~old:*", "+ping")
    before_app = dict(fake.users["app"])
    fake.fail("ACL SAVE")
    with pytest.raises(PersistFailed, match="ACL SAVE failed.*the previous live values were restored"):
        _apply(fake, _spec(tmp_path, USERS))
    assert set(fake.users) == {"app"}  # jobs was created and is gone again
    assert fake.users["app"] == before_app  # app replayed from its ACL LIST line
    assert fake.called("CONFIG REWRITE") == 2  # once to persist, once to write the old values back
    _assert_untouched(fake)


def test_a_failed_acl_save_whose_second_rewrite_fails_says_so(tmp_path):
    fake = FakeRedis({"aclfile": "/etc/redis/users.acl"})
    fake.fail("ACL SAVE")
    fake.fail("CONFIG REWRITE", after=1, error=rx.ResponseError("ERR Rewriting config file: Permission denied"))
    with pytest.raises(PersistFailed, match="ACL SAVE failed.*restoring the previous values ALSO failed.*CONFIG REWRITE"):
        _apply(fake, _spec(tmp_path, USERS))
    assert fake.users == {} and fake.config["hz"] == "10"  # live restored
    assert fake.file["hz"] == "20"  # the file could not be: the message said so


def test_a_failed_file_write_restores_the_live_values(tmp_path):
    fake = FakeRedis()
    seen = []

    def write_file(total_memory):
        seen.append(total_memory)
        raise OSError(28, "No space left on device")

    with pytest.raises(PersistFailed, match=r"writing the rendered redis.conf failed \(OSError: .*No space left.*the previous live values were restored"):
        _apply(fake, _spec(tmp_path, HZ), persist="file", write_file=write_file)
    assert seen == [fake.total_memory]  # the live server's memory, read under the lock
    _assert_untouched(fake)
    assert fake.called("CONFIG REWRITE") == 0


def test_a_failed_config_set_changes_nothing_and_restores_nothing(tmp_path):
    fake = FakeRedis()
    fake.fail("CONFIG SET")
    with pytest.raises(BorgconfError, match=r"refused to apply CONFIG SET \(nothing changed\)") as info:
        _apply(fake, _spec(tmp_path, HZ))
    assert "restored" not in str(info.value)
    assert fake.called("CONFIG SET") == 1
    _assert_untouched(fake)


def test_without_a_config_file_rewrite_is_refused_before_anything_is_set(tmp_path):
    fake = FakeRedis(config_file="")
    with pytest.raises(PersistFailed, match="without a config file"):
        _apply(fake, _spec(tmp_path, HZ))
    assert fake.called("CONFIG SET") == 0
    _assert_untouched(fake)
