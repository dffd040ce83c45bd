"""The outcome of apply, told as the server holds it (issue 9, "The outcome"),
on real servers: Ctrl-C at each step of a running apply, and a CONFIG SET that
gets no answer because the server is busy (DEBUG SLEEP on another connection).
After each, the message is checked against CONFIG GET and the config file, and
a second apply converges: live and file hold the spec, and the server restarted
from its own file plans empty.

apply runs as a subprocess (what is under test is a signal to a process); the
test hook BORGCONF_TEST_PAUSE_AT (borgconf/apply.py:_test_pause) holds it at a
step so that SIGINT, or the busy server, comes exactly there."""

from __future__ import annotations

import signal
import subprocess
import time

import pytest

from cli_helpers import apply_paused_at, busy, run, stopped, unread_at, write_spec

BODY = "server:\n  hz: 20\n  maxmemory-samples: 7\n"
NEW, OLD = ("20", "7"), ("10", "5")
PASSWORD = "Tq4wZx8Lm2Vr6Kp"  # a secret of the test server, never a word


def _live(server) -> tuple[str, str]:
    c = server.client()
    return c.config_get("hz")["hz"], c.config_get("maxmemory-samples")["maxmemory-samples"]


def _file(server) -> tuple[str, str]:
    """hz and maxmemory-samples as the config file says (the defaults when it does not)."""
    values = {"hz": "10", "maxmemory-samples": "5"}
    for line in server.config_path.read_text().splitlines():
        words = line.split()
        if len(words) == 2 and words[0] in values:
            values[words[0]] = words[1]
    return values["hz"], values["maxmemory-samples"]


def _finish(proc: subprocess.Popen) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=60)
    return proc.returncode, out, err


def _converges(server, spec, capsys, env=None) -> str:
    """A second apply leaves live and file as the spec says; restarted from its file,
    the server plans empty (the project's convergence rule)."""
    rc, out, err = run(capsys, "apply", "--auto-approve", spec)
    assert rc == 0, out + err
    assert _live(server) == NEW and _file(server) == NEW, (out, err, server.config_path.read_text())
    server.restart()
    rc, plan_out, err = run(capsys, "plan", "--detailed-exitcode", spec)
    assert rc == 0 and "No changes." in plan_out, plan_out + err
    return out


@pytest.mark.parametrize(
    "step, says, live, file",
    [
        ("before-set", "error: interrupted; nothing changed\n", OLD, OLD),
        ("before-persist", "error: interrupted; the previous live values were restored\n", OLD, OLD),
        ("rewrite", "error: interrupted after the change was applied and persisted\n", NEW, NEW),
    ],
)
def test_ctrl_c_at_each_step_tells_what_the_server_holds(redis_factory, tmp_path, capsys, step, says, live, file):
    server = redis_factory()
    spec = write_spec(tmp_path / "s.yaml", server.url, BODY)
    proc = apply_paused_at(spec, step)
    proc.send_signal(signal.SIGINT)
    rc, out, err = _finish(proc)
    assert rc == 1, out + err
    assert err.startswith("interrupted: finishing the step in flight"), err
    assert err.endswith(says), err
    assert "aborted" not in err and "Traceback" not in err
    assert _live(server) == live and _file(server) == file
    if step == "rewrite":
        assert "applied 2 live change(s) (~ above), verified, persisted with CONFIG REWRITE" in out
    out = _converges(server, spec, capsys)
    expected = "persisted (no live change) with CONFIG REWRITE" if step == "rewrite" else "applied 2 live change(s)"
    assert expected in out, out


def test_a_second_ctrl_c_still_finishes_the_step(redis_factory, tmp_path, capsys):
    server = redis_factory()
    spec = write_spec(tmp_path / "s.yaml", server.url, BODY)
    proc = apply_paused_at(spec, "before-persist:2")  # held there until the second Ctrl-C
    proc.send_signal(signal.SIGINT)
    assert proc.stderr.readline().startswith("interrupted: finishing the step in flight")
    proc.send_signal(signal.SIGINT)
    rc, out, err = _finish(proc)
    assert rc == 1 and err == "finishing the step in flight...\nerror: interrupted; the previous live values were restored\n", err
    assert _live(server) == OLD and _file(server) == OLD


def test_live_values_an_interrupted_apply_left_unpersisted_are_persisted_by_the_next(redis_factory, tmp_path, capsys):
    """What a Ctrl-C during REWRITE (before this change) or a late CONFIG SET leaves:
    live as the spec says, the file not. plan is empty, and apply persists them."""
    server = redis_factory()
    spec = write_spec(tmp_path / "s.yaml", server.url, BODY)
    server.client().config_set("hz", "20")
    server.client().config_set("maxmemory-samples", "7")
    rc, out, err = run(capsys, "plan", "--detailed-exitcode", spec)
    assert rc == 0 and _file(server) == OLD
    out = _converges(server, spec, capsys)
    assert "persisted (no live change) with CONFIG REWRITE" in out, out


def _stopped(proc) -> None:
    """The apply stopped at its test hook (every thread)."""
    stopped(proc.pid, timeout=10)


@pytest.fixture
def busy_server(redis_factory):
    return redis_factory(["enable-debug-command yes"], password=PASSWORD)


def _timeout_spec(tmp_path, server):
    return write_spec(tmp_path / "s.yaml", server.url, BODY, target_extra="password: ${OUTCOME_REDIS_PASSWORD}\ntimeout: 0.5")


def test_a_config_set_without_answer_is_read_again_and_the_apply_finished(busy_server, tmp_path, capsys, monkeypatch):
    server = busy_server
    monkeypatch.setenv("OUTCOME_REDIS_PASSWORD", PASSWORD)
    spec = _timeout_spec(tmp_path, server)
    proc = apply_paused_at(spec, "send-set:stop")  # the lock is checked; the CONFIG SET is next
    _stopped(proc)
    conn = busy(server, 3)
    proc.send_signal(signal.SIGCONT)
    rc, out, err = _finish(proc)
    conn.read_response()
    assert rc == 0, out + err
    assert "no answer from 127.0.0.1" in out and "within 0.5s to apply CONFIG SET" in out, out
    assert "read again over a new connection, the server holds the new value of hz, maxmemory-samples: going on" in out
    assert "applied 2 live change(s) (~ above), verified, persisted with CONFIG REWRITE" in out
    assert "nothing changed" not in out + err and PASSWORD not in out + err
    assert _live(server) == NEW and _file(server) == NEW
    out = _converges(server, spec, capsys)
    assert "persisted (no live change)" in out


def test_a_server_busy_longer_than_the_reread_is_an_unknown_outcome_and_the_next_apply_persists(busy_server, tmp_path, capsys, monkeypatch):
    server = busy_server
    monkeypatch.setenv("OUTCOME_REDIS_PASSWORD", PASSWORD)
    spec = _timeout_spec(tmp_path, server)
    proc = apply_paused_at(spec, "send-set:stop")
    _stopped(proc)
    conn = busy(server, 7)  # longer than the re-read waits (max(5 s, 3 x timeout))
    proc.send_signal(signal.SIGCONT)
    rc, out, err = _finish(proc)
    conn.read_response()
    assert rc == 1, out + err
    assert "within 0.5s to apply CONFIG SET" in err
    assert err.rstrip().endswith("outcome unknown: the server did not answer; run borgconf plan when it answers"), err
    assert "nothing changed" not in err and PASSWORD not in out + err
    # the server ran the CONFIG SET once it woke up: live changed, file not -- as "unknown" allowed
    assert _live(server) == NEW and _file(server) == OLD
    rc, plan_out, _ = run(capsys, "plan", "--detailed-exitcode", spec)
    assert rc == 0  # live is as the spec says: only apply can tell the file is behind
    out = _converges(server, spec, capsys)
    assert "persisted (no live change) with CONFIG REWRITE" in out


def _apply_while_another_client_sets(server, spec, *pairs: str) -> tuple[int, str, str]:
    """apply of ``spec``, stopped before its CONFIG SET; the server then sleeps
    (DEBUG SLEEP 3) while that CONFIG SET goes out and gets no answer; once it is
    at the server, another client sends its own CONFIG SET of ``pairs``. Once the
    server wakes it runs apply's first (it came first), then the other's, then
    apply's re-read over its new connection. Returns apply's (rc, stdout, stderr)."""
    proc = apply_paused_at(spec, "send-set:stop")
    _stopped(proc)
    other = server.client().connection_pool.get_connection()  # connected and logged in while the server answers
    conn = busy(server, 3)
    unread = unread_at(server.port)  # (busy's probe left its PING there)
    proc.send_signal(signal.SIGCONT)
    deadline = time.monotonic() + 2.5  # (the server sleeps 3 s)
    while not unread_at(server.port) - unread:  # apply's CONFIG SET has reached the server
        assert time.monotonic() < deadline, "apply's CONFIG SET never reached the sleeping server"
        time.sleep(0.005)
    other.send_command("CONFIG", "SET", *pairs)
    rc, out, err = _finish(proc)
    conn.read_response()
    assert other.read_response() in (b"OK", "OK")
    return rc, out, err


MASTERAUTH, OTHERS_MASTERAUTH = "Mn5bV8cX2zLk7Jh", "Pq9wE3rT6yUi1Oa"


def test_a_config_set_without_answer_partly_overwritten_by_another_client_puts_back_only_its_own(busy_server, tmp_path, capsys, monkeypatch):
    """The CONFIG SET ran, then another client set two of its three parameters (one
    sensitive) before apply read again: the server holds a mix. apply puts back the
    value it set (hz), leaves the other client's, and says which is which, without
    a sensitive value."""
    server = busy_server
    monkeypatch.setenv("OUTCOME_REDIS_PASSWORD", PASSWORD)
    monkeypatch.setenv("OUTCOME_MASTERAUTH", MASTERAUTH)
    spec = write_spec(tmp_path / "s.yaml", server.url, BODY + "  masterauth: ${OUTCOME_MASTERAUTH}\n",
                      target_extra="password: ${OUTCOME_REDIS_PASSWORD}\ntimeout: 0.5")
    rc, out, err = _apply_while_another_client_sets(server, spec, "maxmemory-samples", "9", "masterauth", OTHERS_MASTERAUTH)
    assert rc == 1, out + err
    assert "within 0.5s to apply CONFIG SET; read again over a new connection, 127.0.0.1" in err, err
    assert "holds the new value of hz, and another client changed maxmemory-samples (now '9'), masterauth meanwhile" in err, err
    assert err.rstrip().endswith("the previous live values were restored (maxmemory-samples, masterauth left as another client set it since)"), err
    for secret in (PASSWORD, MASTERAUTH, OTHERS_MASTERAUTH):
        assert secret not in out + err
    assert _live(server) == ("10", "9") and _file(server) == OLD
    assert server.client().config_get("masterauth")["masterauth"] == OTHERS_MASTERAUTH


def test_a_config_set_without_answer_wholly_overwritten_by_another_client_says_what_it_holds(busy_server, tmp_path, capsys, monkeypatch):
    """As above, the other client set every parameter apply set: none of apply's values
    is left, nothing to put back, and the error names what the other client holds."""
    server = busy_server
    monkeypatch.setenv("OUTCOME_REDIS_PASSWORD", PASSWORD)
    rc, out, err = _apply_while_another_client_sets(server, _timeout_spec(tmp_path, server), "hz", "33", "maxmemory-samples", "9")
    assert rc == 1, out + err
    assert "holds neither the values it was given nor the previous ones" in err, err
    assert "another client changed hz (now '33'), maxmemory-samples (now '9') meanwhile (left as it set them)" in err, err
    assert "restored" not in err and "nothing changed" not in err and PASSWORD not in out + err
    assert _live(server) == ("33", "9") and _file(server) == OLD


def test_a_config_set_without_answer_partly_put_back_by_another_client_restores_only_its_own(busy_server, tmp_path, capsys, monkeypatch):
    """As above, the other client set one parameter back to its previous value: apply
    puts back the value it set (hz) and says the other still holds the previous one."""
    server = busy_server
    monkeypatch.setenv("OUTCOME_REDIS_PASSWORD", PASSWORD)
    rc, out, err = _apply_while_another_client_sets(server, _timeout_spec(tmp_path, server), "maxmemory-samples", OLD[1])
    assert rc == 1, out + err
    assert "holds the new value of hz, and maxmemory-samples still holds the previous value" in err, err
    assert err.rstrip().endswith("the previous live values were restored"), err
    assert PASSWORD not in out + err
    assert _live(server) == OLD and _file(server) == OLD


@pytest.mark.parametrize(
    "step, says",
    [
        # the server is busy when CONFIG SET goes out (with the lock's check, in one round
        # trip): no answer in time; read again over a new connection once it answers, the
        # server holds the new values, so apply goes on, verifies and persists
        ("before-set", "within 0.5s to apply CONFIG SET; read again over a new connection, the server holds the new value of hz, maxmemory-samples: going on"),
        # busy when CONFIG REWRITE goes out: sent again over a new connection
        ("rewrite", "within 0.5s to persist with CONFIG REWRITE; sent again over a new connection: done"),
    ],
)
def test_a_busy_server_at_other_steps(busy_server, tmp_path, capsys, monkeypatch, step, says):
    server = busy_server
    monkeypatch.setenv("OUTCOME_REDIS_PASSWORD", PASSWORD)
    spec = _timeout_spec(tmp_path, server)
    proc = apply_paused_at(spec, f"{step}:stop")
    _stopped(proc)
    conn = busy(server, 3)
    proc.send_signal(signal.SIGCONT)
    rc, out, err = _finish(proc)
    conn.read_response()
    assert rc == 0 and says in out and "persisted with CONFIG REWRITE" in out, out + err
    assert "nothing changed" not in out + err and PASSWORD not in out + err
    assert _live(server) == NEW and _file(server) == NEW
    _converges(server, spec, capsys)


@pytest.mark.parametrize("mode", [[], ["--rolling"]])
def test_ctrl_c_in_a_fleet_starts_no_other_target_and_names_the_changed_ones(redis_factory, tmp_path, capsys, mode):
    a, b = redis_factory(), redis_factory()
    spec = tmp_path / "fleet.yaml"
    spec.write_text(f"version: 1\ntargets:\n  - {{name: a, url: \"{a.url}\"}}\n  - {{name: b, url: \"{b.url}\"}}\n" + BODY)
    proc = apply_paused_at(spec, "rewrite", "--parallel", "1", *mode)
    proc.send_signal(signal.SIGINT)
    rc, out, err = _finish(proc)
    assert rc == 3, out + err  # some targets changed, not all
    assert "target a: interrupted after the change was applied and persisted" in err, err
    assert err.rstrip().endswith("interrupted: changed: a; not started: b"), err
    assert _live(a) == NEW and _file(a) == NEW and _live(b) == OLD and _file(b) == OLD
    rc, out, err = run(capsys, "apply", "--auto-approve", spec)
    assert rc == 0 and "Target a: persisted (no live change) with CONFIG REWRITE." in out, out + err
    assert _live(b) == NEW and _file(b) == NEW
    for server in (a, b):
        server.restart()
    rc, out, err = run(capsys, "plan", "--detailed-exitcode", spec)
    assert rc == 0, out + err


@pytest.mark.parametrize("step, error, status", [
    ("before-persist", "interrupted; the previous live values were restored", "failed"),
    ("rewrite", "interrupted after the change was applied and persisted", "applied"),
])
def test_ctrl_c_with_format_json_says_the_same_in_the_document(redis_factory, tmp_path, capsys, step, error, status):
    import json

    server = redis_factory()
    spec = write_spec(tmp_path / "s.yaml", server.url, BODY)
    proc = apply_paused_at(spec, step, "--format", "json")
    proc.send_signal(signal.SIGINT)
    rc, out, err = _finish(proc)
    doc = json.loads(out)
    assert rc == 1 and doc["exit_code"] == 1, out + err
    (target,) = doc["targets"]
    assert target["status"] == status and target["error"] == error, target
    assert (target["persisted"] == "rewrite") == (step == "rewrite")
    _converges(server, spec, capsys)
