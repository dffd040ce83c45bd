"""One plan over the server and its files (issue 13.3), on every supported server:
the rendered redis.conf and .env that differ from what the spec renders are
changes of kind file in the same plan (text, JSON, --detailed-exitcode), apply
converges both, and a password rotation takes a safe order: the server accepts
the new password before the .env changes, and the old one until it is written."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path

import pytest
import redis

from cli_helpers import apply_paused_at, busy, config_file_cannot_be_rewritten, run, stopped, write_spec

OLD = "Kq7vXw2pLm9sRt4z"
NEW = "Hb3nYc8dJf5gVu6e"
OTHER = "Zx4cVb7nMq2wEr9t"

BODY = """
server:
  requirepass: ${REDIS_PASSWORD}
  maxmemory-policy: allkeys-lru
services:
  worker: {db: 1, role: queue}
  webapp: {db: 2, role: cache}
render:
  redis_conf: conf/redis.conf
  env_file: app.env
  host: 127.0.0.1
  port: %(port)d
"""
TARGET = "password: ${REDIS_PASSWORD}\nprevious_password: ${REDIS_PREVIOUS_PASSWORD:-}"


def _spec(tmp_path: Path, server) -> Path:
    return write_spec(tmp_path / "spec.yaml", server.url, BODY % {"port": server.port}, target_extra=TARGET)


def _accepts(server, password: str) -> bool:
    try:
        return bool(server.client(password=password).ping())
    except redis.exceptions.AuthenticationError:
        return False


def _urls(env_path: Path) -> dict[str, str]:
    from dotenv import dotenv_values

    return {k: v for k, v in dotenv_values(env_path).items() if k.endswith("_REDIS_URL")}


def _all_urls_connect(env_path: Path) -> None:
    urls = _urls(env_path)
    assert urls
    for name, url in urls.items():
        client = redis.from_url(url, socket_timeout=5)
        try:
            assert client.ping(), name
        finally:
            client.close()


def _converged(capsys, tmp_path, server, monkeypatch) -> Path:
    """A server and rendered files in sync with the spec (password OLD)."""
    monkeypatch.setenv("REDIS_PASSWORD", OLD)
    spec = _spec(tmp_path, server)
    assert run(capsys, "apply", "--auto-approve", spec)[0] == 0
    rc, out, err = run(capsys, "plan", "--detailed-exitcode", spec)
    assert rc == 0, out + err
    return spec


def test_plan_holds_a_live_change_and_an_env_change_and_apply_converges_both(redis_factory, tmp_path, capsys, monkeypatch):
    server = redis_factory(password=OLD)
    spec = _converged(capsys, tmp_path, server, monkeypatch)
    env_path, conf_path = tmp_path / "app.env", tmp_path / "conf" / "redis.conf"
    assert env_path.exists() and conf_path.exists()

    # the spec changes: a live parameter, and a service's database (only the .env follows)
    spec.write_text(spec.read_text().replace("allkeys-lru", "volatile-lru").replace("role: cache}", "role: cache}\n  reports: {db: 3}"))
    rc, out, err = run(capsys, "plan", "--detailed-exitcode", spec)
    assert rc == 2, out + err
    assert "~ maxmemory-policy: allkeys-lru -> volatile-lru" in out
    assert "~ file app.env: update" in out and "+ REPORTS_REDIS_URL (added)" in out
    assert "~ file conf/redis.conf: update" in out and "+maxmemory-policy volatile-lru" in out
    assert "Plan: 1 to change live, 0 needing a restart, 2 file(s) to write, on 1 target(s)." in out
    assert OLD not in out + err

    rc, out, err = run(capsys, "plan", "--detailed-exitcode", "--format", "json", spec)
    assert rc == 2, err
    assert OLD not in out
    doc = json.loads(out)
    (tp,) = doc["targets"]
    by_label = {c["parameter"]: c for c in tp["changes"]}
    assert set(by_label) == {"maxmemory-policy", "file conf/redis.conf", "file app.env"}
    # the text's "1 to change live, ..., 2 file(s) to write": live counts every change of class live
    assert doc["summary"] == {"live": 3, "restart": 0, "targets": 1, "files": 2}
    env_change = by_label["file app.env"]
    assert env_change["kind"] == "file" and env_change["action"] == "update" and env_change["class"] == "live"
    assert env_change["before"] is None and env_change["after"] is None and not env_change["sensitive"]
    assert "+ REPORTS_REDIS_URL (added)" in env_change["lines"]
    assert env_change["fingerprint"].startswith("scrypt$")
    assert "+maxmemory-policy volatile-lru" in by_label["file conf/redis.conf"]["lines"]

    rc, out, err = run(capsys, "apply", "--auto-approve", spec)
    assert rc == 0, out + err
    assert server.client().config_get("maxmemory-policy")["maxmemory-policy"] == "volatile-lru"
    assert "REPORTS_REDIS_URL" in _urls(env_path)
    assert os.stat(env_path).st_mode & 0o777 == 0o600 and os.stat(conf_path).st_mode & 0o777 == 0o600
    _all_urls_connect(env_path)
    rc, out, err = run(capsys, "plan", "--detailed-exitcode", spec)
    assert rc == 0, out + err
    assert "No changes." in out


def test_missing_file_is_a_create_and_in_sync_files_add_nothing(redis_factory, tmp_path, capsys, monkeypatch):
    server = redis_factory(password=OLD)
    spec = _converged(capsys, tmp_path, server, monkeypatch)
    (tmp_path / "app.env").unlink()
    rc, out, err = run(capsys, "plan", "--detailed-exitcode", "--format", "json", spec)
    assert rc == 2, err
    (tp,) = json.loads(out)["targets"]
    assert [(c["parameter"], c["action"]) for c in tp["changes"]] == [("file app.env", "create")]
    assert OLD not in out
    rc, out, err = run(capsys, "apply", "--auto-approve", "--format", "json", spec)
    assert rc == 0, out + err
    doc = json.loads(out)
    assert doc["outcome"] == "applied" and [c["parameter"] for c in doc["targets"][0]["applied"]] == ["file app.env"]
    assert OLD not in out + err
    _all_urls_connect(tmp_path / "app.env")
    assert run(capsys, "plan", "--detailed-exitcode", spec)[0] == 0


def test_a_spec_without_render_paths_plans_no_file(redis_factory, tmp_path, capsys, monkeypatch):
    server = redis_factory(password=OLD)
    monkeypatch.setenv("REDIS_PASSWORD", OLD)
    body = (BODY % {"port": server.port}).split("render:")[0]
    spec = write_spec(tmp_path / "spec.yaml", server.url, body, target_extra=TARGET)
    (tmp_path / ".env").write_text("SOMETHING=else\n")  # render's default name: not the spec's, not planned
    rc, out, err = run(capsys, "plan", "--format", "json", spec)
    assert rc == 0, err
    assert all(c["kind"] != "file" for t in json.loads(out)["targets"] for c in t["changes"])


def _stopped(proc: subprocess.Popen, timeout: float = 60) -> bool:
    """Whether the apply stopped at its test hook, every thread (cli_helpers.stopped);
    False when it ended instead, or did not stop in time."""
    try:
        stopped(proc.pid, timeout)
    except AssertionError:
        return False
    return True


def test_requirepass_rotation_keeps_the_old_password_until_the_env_has_the_new_one(redis_factory, tmp_path, capsys, monkeypatch):
    server = redis_factory(password=OLD)
    spec = _converged(capsys, tmp_path, server, monkeypatch)
    env_path = tmp_path / "app.env"
    _all_urls_connect(env_path)

    rotate = {"REDIS_PASSWORD": NEW, "REDIS_PREVIOUS_PASSWORD": OLD}
    for k, v in rotate.items():
        monkeypatch.setenv(k, v)
    rc, out, err = run(capsys, "plan", "--detailed-exitcode", spec)
    assert rc == 2, out + err
    assert "~ requirepass: (sensitive) -> (sensitive)" in out
    assert "~ file app.env: update" in out and "~ WORKER_REDIS_URL (changed)" in out
    assert "password rotation in a safe order" in out
    assert OLD not in out + err and NEW not in out + err

    procs = []
    try:
        # paused after the server got the new password beside the old, before the .env is written
        proc = apply_paused_at(spec, "before-files:stop", **rotate)
        procs.append(proc)
        assert _stopped(proc), proc.communicate(timeout=30)
        assert _accepts(server, OLD)
        assert _accepts(server, NEW)
        assert all(OLD in url for url in _urls(env_path).values())
        _all_urls_connect(env_path)
        os.kill(proc.pid, signal.SIGCONT)
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, out + err
        assert OLD not in out + err and NEW not in out + err
    finally:
        for p in procs:
            if p.poll() is None:
                os.kill(p.pid, signal.SIGCONT)
                p.kill()
                p.wait()

    assert not _accepts(server, OLD) and _accepts(server, NEW)
    assert all(NEW in url for url in _urls(env_path).values())
    _all_urls_connect(env_path)
    monkeypatch.delenv("REDIS_PREVIOUS_PASSWORD")
    rc, out, err = run(capsys, "plan", "--detailed-exitcode", spec)
    assert rc == 0, out + err

    # the server comes back from its own config file with the new password only
    server.password = NEW
    server.restart()
    assert not _accepts(server, OLD)
    _all_urls_connect(env_path)
    rc, out, err = run(capsys, "plan", "--detailed-exitcode", spec)
    assert rc == 0, out + err


def test_rotation_paused_after_the_env_is_written(redis_factory, tmp_path, capsys, monkeypatch):
    server = redis_factory(password=OLD)
    spec = _converged(capsys, tmp_path, server, monkeypatch)
    env_path = tmp_path / "app.env"
    rotate = {"REDIS_PASSWORD": NEW, "REDIS_PREVIOUS_PASSWORD": OLD}
    proc = apply_paused_at(spec, "after-files:stop", **rotate)
    try:
        assert _stopped(proc), proc.communicate(timeout=30)
        # the .env has the new one, and the old one still works for whoever has not re-read it
        assert all(NEW in url for url in _urls(env_path).values())
        assert os.stat(env_path).st_mode & 0o777 == 0o600
        assert _accepts(server, OLD)
        assert _accepts(server, NEW)
        _all_urls_connect(env_path)
        os.kill(proc.pid, signal.SIGCONT)
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, out + err
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGCONT)
            proc.kill()
            proc.wait()
    assert not _accepts(server, OLD) and _accepts(server, NEW)


def test_acl_user_rotation_in_a_safe_order(redis_factory, tmp_path, capsys, monkeypatch):
    server = redis_factory(password=OLD)
    monkeypatch.setenv("REDIS_PASSWORD", OLD)
    monkeypatch.setenv("WORKER_PASSWORD", OTHER)
    body = (BODY % {"port": server.port}).replace("worker: {db: 1, role: queue}", "worker: {db: 1, role: queue, user: worker}")
    body += 'users:\n  worker:\n    password: ${WORKER_PASSWORD}\n    keys: ["*"]\n    commands: "+@all"\n'
    spec = write_spec(tmp_path / "spec.yaml", server.url, body, target_extra=TARGET)
    assert run(capsys, "apply", "--auto-approve", spec)[0] == 0
    assert run(capsys, "plan", "--detailed-exitcode", spec)[0] == 0
    env_path = tmp_path / "app.env"
    _all_urls_connect(env_path)

    def worker_accepts(password):
        try:
            return bool(server.client(username="worker", password=password).ping())
        except redis.exceptions.AuthenticationError:
            return False

    proc = apply_paused_at(spec, "before-files:stop", REDIS_PASSWORD=OLD, WORKER_PASSWORD=NEW)
    try:
        assert _stopped(proc), proc.communicate(timeout=30)
        assert worker_accepts(OTHER) and worker_accepts(NEW)
        assert OTHER in _urls(env_path)["WORKER_REDIS_URL"]
        os.kill(proc.pid, signal.SIGCONT)
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, out + err
        assert NEW not in out + err and OTHER not in out + err
        assert "password rotation in a safe order: apply first adds the new password of worker" in out, out
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGCONT)
            proc.kill()
            proc.wait()
    assert not worker_accepts(OTHER) and worker_accepts(NEW)
    _all_urls_connect(env_path)
    monkeypatch.setenv("WORKER_PASSWORD", NEW)
    assert run(capsys, "plan", "--detailed-exitcode", spec)[0] == 0


@pytest.mark.parametrize("tamper", ["edited", "removed"])
def test_a_saved_plan_refuses_files_changed_since(redis_factory, tmp_path, capsys, monkeypatch, tamper):
    server = redis_factory(password=OLD)
    spec = _converged(capsys, tmp_path, server, monkeypatch)
    env_path = tmp_path / "app.env"
    monkeypatch.setenv("REDIS_PASSWORD", NEW)
    monkeypatch.setenv("REDIS_PREVIOUS_PASSWORD", OLD)
    plan = tmp_path / "plan.json"
    rc, out, err = run(capsys, "plan", "--out", plan, spec)
    assert rc == 0, err
    text = plan.read_text()
    assert OLD not in text and NEW not in text
    assert '"file app.env"' in text
    if tamper == "edited":  # someone edits the .env between plan and apply
        env_path.write_text(env_path.read_text() + "EXTRA=1\n")
    else:
        env_path.unlink()
    before = env_path.read_text() if env_path.exists() else None
    rc, out, err = run(capsys, "apply", "--auto-approve", plan)
    assert rc == 1
    assert "file app.env" in err and "since the plan" in err and "nothing changed" in err
    assert OLD not in out + err and NEW not in out + err
    assert (env_path.read_text() if env_path.exists() else None) == before
    assert _accepts(server, OLD) and not _accepts(server, NEW)

    # planned again, the saved plan applies
    rc, out, err = run(capsys, "plan", "--out", plan, spec)
    assert rc == 0, err
    rc, out, err = run(capsys, "apply", "--auto-approve", plan)
    assert rc == 0, out + err
    assert not _accepts(server, OLD) and _accepts(server, NEW)
    _all_urls_connect(env_path)


def test_no_files_leaves_the_rendered_files_out(redis_factory, tmp_path, capsys, monkeypatch):
    server = redis_factory(password=OLD)
    spec = _converged(capsys, tmp_path, server, monkeypatch)
    env_path = tmp_path / "app.env"
    env_path.unlink()
    spec.write_text(spec.read_text().replace("allkeys-lru", "volatile-lru"))
    rc, out, err = run(capsys, "plan", "--detailed-exitcode", "--no-files", "--format", "json", spec)
    assert rc == 2, err
    (tp,) = json.loads(out)["targets"]
    assert [c["parameter"] for c in tp["changes"]] == ["maxmemory-policy"]
    rc, out, err = run(capsys, "apply", "--auto-approve", "--no-files", spec)
    assert rc == 0, out + err
    assert not env_path.exists()
    assert run(capsys, "plan", "--detailed-exitcode", "--no-files", spec)[0] == 0
    rc, out, err = run(capsys, "plan", "--detailed-exitcode", spec)
    assert rc == 2 and "~ file app.env: create" in out
    plan = tmp_path / "plan.json"
    assert run(capsys, "plan", "--out", plan, spec)[0] == 0
    rc, out, err = run(capsys, "apply", "--auto-approve", "--no-files", plan)
    assert rc == 1 and "--no-files: a saved plan holds its own file changes" in err
    assert not env_path.exists()


def test_the_servers_own_config_file_is_not_a_file_change_under_persist_rewrite(redis_factory, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("REDIS_PASSWORD", OLD)
    spec = write_spec(tmp_path / "spec.yaml", "redis://127.0.0.1:1", BODY % {"port": 6379}, target_extra=TARGET)
    assert run(capsys, "render", spec)[0] == 0
    server = redis_factory(config_file=tmp_path / "conf" / "redis.conf", password=OLD)
    spec = write_spec(tmp_path / "spec.yaml", server.url, (BODY % {"port": server.port}).replace("allkeys-lru", "volatile-lru"), target_extra=TARGET)
    rc, out, err = run(capsys, "plan", "--detailed-exitcode", "--format", "json", spec)
    assert rc == 2, err
    (tp,) = json.loads(out)["targets"]
    labels = [c["parameter"] for c in tp["changes"]]
    assert "maxmemory-policy" in labels and "file conf/redis.conf" not in labels
    assert any("the server's own config file" in w and "CONFIG REWRITE" in w for w in tp["warnings"])
    rc, out, err = run(capsys, "apply", "--auto-approve", spec)
    assert rc == 0, out + err
    assert "maxmemory-policy volatile-lru" in (tmp_path / "conf" / "redis.conf").read_text()  # written by CONFIG REWRITE
    rc, out, err = run(capsys, "plan", "--detailed-exitcode", "--format", "json", spec)
    (tp,) = json.loads(out)["targets"]
    assert [c["parameter"] for c in tp["changes"]] == []
    assert rc == 0, out + err


def test_persist_file_and_the_file_change_write_the_same_rendering(redis_factory, tmp_path, capsys, monkeypatch):
    server = redis_factory(password=OLD)
    monkeypatch.setenv("REDIS_PASSWORD", OLD)
    target = TARGET + "\npersist: file"
    spec = write_spec(tmp_path / "spec.yaml", server.url, BODY % {"port": server.port}, target_extra=target)
    conf = tmp_path / "conf" / "redis.conf"
    rc, out, err = run(capsys, "apply", "--auto-approve", spec)
    assert rc == 0, out + err
    assert "maxmemory-policy allkeys-lru" in conf.read_text()
    assert run(capsys, "plan", "--detailed-exitcode", spec)[0] == 0
    spec.write_text(spec.read_text().replace("allkeys-lru", "volatile-lru"))
    rc, out, err = run(capsys, "plan", "--detailed-exitcode", spec)
    assert rc == 2 and "~ file conf/redis.conf: update" in out and "+maxmemory-policy volatile-lru" in out
    rc, out, err = run(capsys, "apply", "--auto-approve", spec)
    assert rc == 0, out + err
    assert "maxmemory-policy volatile-lru" in conf.read_text()
    assert run(capsys, "plan", "--detailed-exitcode", spec)[0] == 0


def test_turning_authentication_on_says_no_order_is_safe(redis_factory, tmp_path, capsys, monkeypatch):
    server = redis_factory()
    monkeypatch.setenv("REDIS_PASSWORD", NEW)
    spec = write_spec(tmp_path / "spec.yaml", server.url, BODY % {"port": server.port}, target_extra=TARGET)
    rc, out, err = run(capsys, "plan", "--detailed-exitcode", spec)
    assert rc == 2, out + err
    assert "turns authentication on: no order keeps every client working" in out
    assert "password rotation in a safe order" not in out
    rc, out, err = run(capsys, "apply", "--auto-approve", spec)
    assert rc == 0, out + err
    assert _accepts(server, NEW)
    _all_urls_connect(tmp_path / "app.env")
    assert run(capsys, "plan", "--detailed-exitcode", spec)[0] == 0


def test_a_failed_rewrite_during_a_rotation_restores_and_keeps_both_passwords(redis_factory, tmp_path, capsys, monkeypatch):
    """What tests/unit/test_file_changes_pure.py drives with the fake, on a real server:
    CONFIG REWRITE fails after the .env was written with the new password; apply puts
    requirepass back (which resets the default user's passwords on a real server) and
    then adds the new one again, so both the old and the new password work."""
    server = redis_factory(password=OLD)
    spec = _converged(capsys, tmp_path, server, monkeypatch)
    env_path = tmp_path / "app.env"
    monkeypatch.setenv("REDIS_PASSWORD", NEW)
    monkeypatch.setenv("REDIS_PREVIOUS_PASSWORD", OLD)
    with config_file_cannot_be_rewritten(server):
        rc, out, err = run(capsys, "apply", "--auto-approve", spec)
    assert rc == 1, out + err
    assert "CONFIG REWRITE failed" in err and "restored" in err
    assert "accepts both the old and the new password of default" in err
    assert OLD not in out + err and NEW not in out + err
    assert _accepts(server, OLD) and _accepts(server, NEW)
    assert all(NEW in url for url in _urls(env_path).values())
    _all_urls_connect(env_path)


# -- add_passwords: an ACL SETUSER that gets no answer may still have run ------------

TIMEOUT = "\ntimeout: 0.5"  # a busy server (DEBUG SLEEP) outlasts it; the re-read waits 5 s


def _worker_user(body: str) -> str:
    """The spec's body with an ACL user worker, which service worker connects as."""
    body = body.replace("worker: {db: 1, role: queue}", "worker: {db: 1, role: queue, user: worker}")
    return body + 'users:\n  worker:\n    password: ${WORKER_PASSWORD}\n    keys: ["*"]\n    commands: "+@all"\n'


def _run_paused(spec: Path, env: dict[str, str], meanwhile) -> tuple[int, str, str]:
    """apply stopped at before-set (the lock is taken, nothing set): ``meanwhile()``
    runs, then apply goes on; its first command is add_passwords' ACL SETUSER."""
    proc = apply_paused_at(spec, "before-set:stop", **env)
    try:
        assert _stopped(proc), proc.communicate(timeout=30)
        after = meanwhile()
        os.kill(proc.pid, signal.SIGCONT)
        out, err = proc.communicate(timeout=60)
        if after is not None:
            after()
        return proc.returncode, out, err
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGCONT)
            proc.kill()
            proc.wait()


def _busy_for(server, seconds: int):
    conn = busy(server, seconds)
    return conn.read_response


def test_a_new_requirepass_added_without_answer_is_taken_away_by_the_rollback(redis_factory, tmp_path, capsys, monkeypatch):
    """The server is busy when add_passwords sends ACL SETUSER default >new: no answer
    within the timeout, but the server runs it once it wakes. The rollback must take
    the new password away again: the .env still names the old one only."""
    server = redis_factory(["enable-debug-command yes"], password=OLD)
    monkeypatch.setenv("REDIS_PASSWORD", OLD)
    spec = write_spec(tmp_path / "spec.yaml", server.url, BODY % {"port": server.port}, target_extra=TARGET + TIMEOUT)
    assert run(capsys, "apply", "--auto-approve", spec)[0] == 0
    env_path = tmp_path / "app.env"
    rotate = {"REDIS_PASSWORD": NEW, "REDIS_PREVIOUS_PASSWORD": OLD}
    rc, out, err = _run_paused(spec, rotate, lambda: _busy_for(server, 3))
    assert rc == 1, out + err
    assert "within 0.5s to add the new password to user default (ACL SETUSER)" in err, err
    assert err.rstrip().endswith("the previous live values were restored"), err
    assert OLD not in out + err and NEW not in out + err
    assert _accepts(server, OLD) and not _accepts(server, NEW)
    assert all(OLD in url for url in _urls(env_path).values())
    for k, v in rotate.items():
        monkeypatch.setenv(k, v)
    rc, out, err = run(capsys, "apply", "--auto-approve", spec)
    assert rc == 0, out + err
    assert not _accepts(server, OLD) and _accepts(server, NEW)
    _all_urls_connect(env_path)


def test_a_user_created_without_answer_is_deleted_by_the_rollback(redis_factory, tmp_path, capsys, monkeypatch):
    """As above for a user the spec creates (ACL SETUSER worker on >pw ...): created
    once the server wakes, so the rollback deletes it."""
    server = redis_factory(["enable-debug-command yes"], password=OLD)
    monkeypatch.setenv("REDIS_PASSWORD", OLD)
    spec = write_spec(tmp_path / "spec.yaml", server.url, BODY % {"port": server.port}, target_extra=TARGET + TIMEOUT)
    assert run(capsys, "apply", "--auto-approve", spec)[0] == 0
    spec = write_spec(tmp_path / "spec.yaml", server.url, _worker_user(BODY % {"port": server.port}), target_extra=TARGET + TIMEOUT)
    monkeypatch.setenv("WORKER_PASSWORD", OTHER)
    rc, out, err = _run_paused(spec, {"WORKER_PASSWORD": OTHER}, lambda: _busy_for(server, 3))
    assert rc == 1, out + err
    assert "within 0.5s to create user worker (ACL SETUSER)" in err, err
    assert err.rstrip().endswith("the previous live values were restored"), err
    assert OLD not in out + err and OTHER not in out + err
    assert "worker" not in server.client().acl_users()
    assert "WORKER_REDIS_URL" in _urls(tmp_path / "app.env") and "worker:" not in _urls(tmp_path / "app.env")["WORKER_REDIS_URL"]
    rc, out, err = run(capsys, "apply", "--auto-approve", spec)
    assert rc == 0, out + err
    assert "worker" in server.client().acl_users()
    _all_urls_connect(tmp_path / "app.env")


def test_an_added_password_that_never_reached_the_server_rolls_back_cleanly(redis_factory, tmp_path, capsys, monkeypatch):
    """The other side of the two above: the lock's connection is killed before
    add_passwords sends ACL SETUSER default >new, so it never ran. Taking away a
    password the server does not hold is an error on every server ("The password you
    are trying to remove from the user does not exist"): the rollback must not send
    it, and says the previous values were restored."""
    from borgconf.lock import PREFIX

    server = redis_factory(password=OLD)
    spec = _converged(capsys, tmp_path, server, monkeypatch)
    admin = server.client()

    def kill_the_lock():
        (lock,) = [c for c in admin.client_list() if c["name"].startswith(PREFIX)]
        admin.client_kill_filter(_id=lock["id"])

    rc, out, err = _run_paused(spec, {"REDIS_PASSWORD": NEW, "REDIS_PREVIOUS_PASSWORD": OLD}, kill_the_lock)
    assert rc == 1, out + err
    assert "add the new password to user default (ACL SETUSER)" in err, err
    assert err.rstrip().endswith("the previous live values were restored"), err
    assert "ALSO failed" not in err and OLD not in out + err and NEW not in out + err
    assert _accepts(server, OLD) and not _accepts(server, NEW)
    assert all(OLD in url for url in _urls(tmp_path / "app.env").values())
