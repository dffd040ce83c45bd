"""What apply says when a command gets no answer, or Ctrl-C comes, step by step
against the fake client (tests/fakeredis_client.py): the outcome it reports is
what the fake then holds, live and in its file. Real servers (DEBUG SLEEP, SIGINT
to a running apply) are in tests/integration/test_apply_outcome.py."""

from __future__ import annotations

import os
import signal
import textwrap
import threading
import time

import pytest
import redis.exceptions as rx

from borgconf.apply import apply_target, deferred_interrupts
from borgconf.errors import ApplyError, Interrupted
from borgconf.fleet import desired_secrets, desired_users
from borgconf.live import read_state
from borgconf.planner import build_plan
from borgconf.spec import load_spec
from borgconf.users import managed
from fakeredis_client import FakeLock, FakeRedis

HZ = "server:\n  hz: 20\n  maxmemory-samples: 7\n"
TIMEOUT = rx.TimeoutError("Timeout reading from socket")


def _spec(tmp_path, body: str = HZ):
    p = tmp_path / "s.yaml"
    p.write_text("version: 1\ntarget:\n  url: redis://fake:6379\n" + textwrap.dedent(body))
    return load_spec(p, env={})


def _apply(fake: FakeRedis, spec, persist: str = "rewrite", stop=None, write_file=None):
    (target,) = spec.targets
    live = read_state(fake, target, spec.commands, managed(spec))
    (tp,) = build_plan(spec, {target.name: live}).targets
    return apply_target(fake, target, tp, secrets=desired_secrets(spec), users=desired_users(spec), persist=persist,
                        lock_timeout=0, lock_factory=FakeLock, stop=stop, write_file=write_file)


class When:
    """A stop flag that reads as set once ``fn()`` is true (Ctrl-C at a chosen moment)."""

    def __init__(self, fn):
        self.fn = fn

    def is_set(self) -> bool:
        return bool(self.fn())

    def wait(self, timeout=None) -> bool:
        return self.is_set()


def _live_and_file(fake: FakeRedis):
    return (fake.config["hz"], fake.config["maxmemory-samples"]), (fake.file["hz"], fake.file["maxmemory-samples"])


# -- a command without answer ------------------------------------------------------


def test_a_config_set_that_ran_but_got_no_answer_is_found_by_reading_again_and_finished(tmp_path):
    fake = FakeRedis()
    fake.fail("CONFIG SET", error=TIMEOUT, applied=True)
    result = _apply(fake, _spec(tmp_path))
    assert _live_and_file(fake) == (("20", "7"), ("20", "7"))  # set, verified, persisted
    assert result.persisted == "rewrite" and {c.parameter for c in result.applied} == {"hz", "maxmemory-samples"}
    assert any("no answer" in n and "holds the new value of hz, maxmemory-samples" in n for n in result.notes), result.notes
    assert fake.called("CONFIG SET") == 1  # read again, never sent twice
    assert fake.called("LOCK ACQUIRE") == 2 and not fake.lock_held  # the lock went with the connection: taken again


def test_a_config_set_that_did_not_run_says_the_server_holds_the_previous_values(tmp_path):
    fake = FakeRedis()
    fake.fail("CONFIG SET", error=TIMEOUT)
    with pytest.raises(ApplyError) as info:
        _apply(fake, _spec(tmp_path))
    text = str(info.value)
    assert "no answer from fake:6379" in text and "apply CONFIG SET" in text
    assert "still holds the previous values" in text and "did not apply the change yet" in text and "may run later" in text
    assert "restored" not in text
    assert _live_and_file(fake) == (("10", "5"), ("10", "5"))
    assert not fake.lock_held


def test_a_config_set_without_answer_and_values_someone_else_set_says_so(tmp_path):
    fake = FakeRedis()
    fake.fail("CONFIG SET", error=TIMEOUT)
    real_acquire = FakeLock.acquire

    def acquire_after_another_apply(lock):  # between the two connections another client set both
        if fake.called("LOCK ACQUIRE") == 1:
            fake.config.update({"hz": "33", "maxmemory-samples": "9"})
        return real_acquire(lock)

    FakeLock.acquire = acquire_after_another_apply
    try:
        with pytest.raises(ApplyError, match="holds neither the values it was given nor the previous ones"):
            _apply(fake, _spec(tmp_path))
    finally:
        FakeLock.acquire = real_acquire
    assert fake.config["hz"] == "33"


def test_a_config_set_that_ran_and_was_partly_put_back_by_another_client_restores_only_its_own(tmp_path):
    fake = FakeRedis()
    fake.fail("CONFIG SET", error=TIMEOUT, applied=True)
    real_acquire = FakeLock.acquire

    def acquire_after_another_client(lock):  # between the two connections another client set one back
        if fake.called("LOCK ACQUIRE") == 1:
            fake.config["maxmemory-samples"] = "5"
        return real_acquire(lock)

    FakeLock.acquire = acquire_after_another_client
    try:
        with pytest.raises(ApplyError) as info:
            _apply(fake, _spec(tmp_path))
    finally:
        FakeLock.acquire = real_acquire
    text = str(info.value)
    assert "holds the new value of hz, and maxmemory-samples still holds the previous value" in text, text
    assert text.endswith("the previous live values were restored"), text
    assert _live_and_file(fake) == (("10", "5"), ("10", "5")) and not fake.lock_held


def test_no_answer_to_the_set_and_none_to_the_reread_is_an_unknown_outcome(tmp_path):
    fake = FakeRedis()
    fake.fail("CONFIG SET", error=TIMEOUT, applied=True)
    fake.fail("CONFIG GET", after=2, error=TIMEOUT)  # the plan's read and the read under the lock answer, the re-read does not
    with pytest.raises(ApplyError) as info:
        _apply(fake, _spec(tmp_path))
    text = str(info.value)
    assert "outcome unknown: " in text and "run borgconf plan when it answers" in text
    assert "nothing changed" not in text  # it did change: live holds the new values
    assert fake.config["hz"] == "20" and not fake.lock_held


def test_a_rewrite_without_answer_is_sent_again_and_persists(tmp_path):
    fake = FakeRedis()
    fake.fail("CONFIG REWRITE", error=TIMEOUT)
    result = _apply(fake, _spec(tmp_path))
    assert result.persisted == "rewrite" and _live_and_file(fake) == (("20", "7"), ("20", "7"))
    assert fake.called("CONFIG REWRITE") == 2 and any("sent again" in n for n in result.notes)


def test_a_rewrite_without_answer_twice_rolls_back_over_a_fresh_connection(tmp_path):
    fake = FakeRedis()
    fake.fail("CONFIG REWRITE", times=2, error=TIMEOUT)
    with pytest.raises(ApplyError) as info:
        _apply(fake, _spec(tmp_path))
    text = str(info.value)
    assert "CONFIG REWRITE failed" in text and "outcome unknown" in text and text.endswith("the previous live values were restored")
    assert _live_and_file(fake) == (("10", "5"), ("10", "5"))  # live put back, and the file written again with it


def test_a_restore_retried_after_no_answer_does_only_what_is_left(tmp_path):
    fake = FakeRedis()
    fake.fail("CONFIG REWRITE", times=3, error=TIMEOUT)  # the REWRITE, its retry, and the restore's first REWRITE
    with pytest.raises(ApplyError) as info:
        _apply(fake, _spec(tmp_path))
    text = str(info.value)
    assert text.endswith("the previous live values were restored"), text  # not "left as another client set it"
    assert _live_and_file(fake) == (("10", "5"), ("10", "5"))
    assert [c for c in fake.calls if c[:2] == ("CONFIG", "SET")] == [
        ("CONFIG", "SET", "hz", "20", "maxmemory-samples", "7"), ("CONFIG", "SET", "hz", "10", "maxmemory-samples", "5"),
    ]


def test_a_server_that_never_answers_again_is_told_as_unknown_never_as_restored(tmp_path):
    fake = FakeRedis()
    fake.fail("CONFIG REWRITE", times=4, error=TIMEOUT)  # the REWRITE, its retry, the restore's and its retry
    with pytest.raises(ApplyError) as info:
        _apply(fake, _spec(tmp_path))
    text = str(info.value)
    assert "restoring the previous values ALSO failed" in text and text.endswith("run borgconf plan when it answers")
    assert "nothing changed" not in text and not text.endswith("restored")


def test_a_setuser_without_answer_is_rolled_back_over_a_fresh_connection(tmp_path):
    fake = FakeRedis()
    fake.fail("ACL SETUSER", error=TIMEOUT, applied=True)
    body = HZ + "users:\n  app: {password: Vq8nRt3xLm5Kw2, keys: ['app:*'], commands: '+get'}\n"
    with pytest.raises(ApplyError, match="no answer .*set user app.*the previous live values were restored"):
        _apply(fake, _spec(tmp_path, body))
    assert fake.users == {}  # it had run: put back (deleted), over the new connection
    assert _live_and_file(fake) == (("10", "5"), ("10", "5"))


def test_after_a_reopen_a_value_another_client_set_since_is_not_reverted(tmp_path):
    fake = FakeRedis()
    fake.fail("CONFIG SET", error=TIMEOUT, applied=True)
    fake.fail("CONFIG REWRITE", error=rx.ResponseError("ERR Rewriting config file: Permission denied"))
    real_acquire = FakeLock.acquire

    def acquire_after_another_apply(lock):  # between the two connections another apply set hz
        if fake.called("LOCK ACQUIRE") == 1:
            fake.config["hz"] = "33"
        return real_acquire(lock)

    FakeLock.acquire = acquire_after_another_apply
    try:
        with pytest.raises(ApplyError, match=r"restored \(hz left as another client set it since\)"):
            _apply(fake, _spec(tmp_path))
    finally:
        FakeLock.acquire = real_acquire
    assert fake.config["hz"] == "33" and fake.config["maxmemory-samples"] == "5"


# -- Ctrl-C at each step boundary ------------------------------------------------------


def test_ctrl_c_before_config_set_changes_nothing(tmp_path):
    fake = FakeRedis()
    with pytest.raises(Interrupted, match=r"^interrupted; nothing changed$"):
        _apply(fake, _spec(tmp_path), stop=When(lambda: fake.called("LOCK ACQUIRE")))
    assert fake.called("CONFIG SET") == 0 and _live_and_file(fake) == (("10", "5"), ("10", "5"))
    assert not fake.lock_held


def test_ctrl_c_after_config_set_rolls_back_before_persisting(tmp_path):
    fake = FakeRedis()
    with pytest.raises(Interrupted, match=r"^interrupted; the previous live values were restored$"):
        _apply(fake, _spec(tmp_path), stop=When(lambda: fake.called("CONFIG SET")))
    assert fake.called("CONFIG REWRITE") == 0 and _live_and_file(fake) == (("10", "5"), ("10", "5"))


def test_ctrl_c_during_rewrite_finishes_it_and_says_so(tmp_path):
    fake = FakeRedis()
    result = _apply(fake, _spec(tmp_path), stop=When(lambda: fake.called("CONFIG REWRITE")))
    assert result.interrupted and result.persisted == "rewrite" and len(result.applied) == 2
    assert _live_and_file(fake) == (("20", "7"), ("20", "7"))


def test_a_stop_before_the_target_starts_never_connects(tmp_path):
    fake = FakeRedis()
    stop = threading.Event()
    stop.set()
    with pytest.raises(Interrupted, match="nothing changed"):
        _apply(fake, _spec(tmp_path), stop=stop)
    assert fake.called("LOCK ACQUIRE") == 0


def test_sigint_is_deferred_to_a_flag_and_a_late_one_is_ignored(capsys):
    before = signal.getsignal(signal.SIGINT)
    try:
        with deferred_interrupts() as flag:
            os.kill(os.getpid(), signal.SIGINT)  # no KeyboardInterrupt
            assert flag.wait(5)
            os.kill(os.getpid(), signal.SIGINT)
            deadline = time.monotonic() + 5
            while flag.count < 2 and time.monotonic() < deadline:
                time.sleep(0.01)
        assert flag.count == 2
        # on its way out: a late Ctrl-C cannot cut the report short
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, before)
    err = capsys.readouterr().err
    assert err.startswith("interrupted: finishing the step in flight") and err.endswith("\nfinishing the step in flight...\n"), err


def test_without_ctrl_c_the_previous_handler_comes_back():
    before = signal.getsignal(signal.SIGINT)
    with deferred_interrupts() as flag:
        assert signal.getsignal(signal.SIGINT) is not before
    assert not flag.is_set() and signal.getsignal(signal.SIGINT) is before


# -- no live change: persist what the server holds ------------------------------------


def test_live_values_never_persisted_are_persisted_by_the_next_apply(tmp_path):
    fake = FakeRedis({"hz": "20", "maxmemory-samples": "7"})
    fake.file.update({"hz": "10", "maxmemory-samples": "5"})  # an apply interrupted before its REWRITE
    result = _apply(fake, _spec(tmp_path))
    assert not result.applied and result.persist_only and result.persisted == "rewrite"
    assert fake.called("CONFIG SET") == 0 and fake.called("CONFIG REWRITE") == 1
    assert _live_and_file(fake) == (("20", "7"), ("20", "7"))
    assert not fake.lock_held and fake.called("LOCK ACQUIRE") == 1


def test_no_live_change_and_no_persistence_touches_nothing(tmp_path):
    fake = FakeRedis({"hz": "20", "maxmemory-samples": "7"})
    result = _apply(fake, _spec(tmp_path), persist="none")
    assert not result.persist_only and fake.calls == [c for c in fake.calls if c[0] in ("CONFIG", "INFO")]
    assert fake.called("LOCK ACQUIRE") == 0 and fake.called("CONFIG REWRITE") == 0


def test_no_live_change_without_a_config_file_persists_nothing_and_does_not_fail(tmp_path):
    fake = FakeRedis({"hz": "20", "maxmemory-samples": "7"}, config_file="")
    result = _apply(fake, _spec(tmp_path))
    assert result.persisted == "none" and fake.called("CONFIG REWRITE") == 0


def test_no_live_change_writes_the_rendered_file_only_when_it_differs(tmp_path):
    fake = FakeRedis({"hz": "20", "maxmemory-samples": "7"})
    calls = []

    def write_file(total_memory, *, if_changed=False):
        calls.append(if_changed)
        return len(calls) == 1  # differs the first time, not the second

    assert _apply(fake, _spec(tmp_path), persist="file", write_file=write_file).persisted == "file"
    assert _apply(fake, _spec(tmp_path), persist="file", write_file=write_file).persisted == "none"
    assert calls == [True, True] and fake.called("CONFIG REWRITE") == 0
