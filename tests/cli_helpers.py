"""Run the borgconf CLI in-process and write specs for a test server."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path


from borgconf.cli import main


def run(capsys, *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    rc = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return rc, out, err


def write_fleet_with_a_dead_target(path: Path, ok_url: str, server: str, extra: str = "") -> Path:
    """A fleet spec at ``path``: target a (``ok_url``, a live server) and target dead
    (a port nobody listens on, timeout 1 s); ``server`` is the server: block's lines
    (indented), ``extra`` more top-level YAML."""
    path.write_text(
        "version: 1\ntargets:\n"
        f'  - {{name: a, url: "{ok_url}"}}\n'
        f'  - {{name: dead, url: "redis://127.0.0.1:{dead_port()}", timeout: 1}}\n'
        f"server:\n{server}{extra}"
    )
    return path


def dead_port() -> int:
    """A local port nobody listens on (bound, then closed): a target that cannot be read."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    return port


def write_spec(path: Path, server_url: str, body: str = "", *, target_extra: str = "") -> Path:
    text = f"version: 1\ntarget:\n  url: {json.dumps(server_url)}\n{textwrap.indent(textwrap.dedent(target_extra).strip(), '  ')}\n"
    text += textwrap.dedent(body).lstrip()
    path.write_text(text)
    return path


def unread_at(port: int) -> set[int]:
    """The client ports of the connections to 127.0.0.1:``port`` whose bytes the
    server has not read yet (its side's receive queue, /proc/net/tcp): a command
    that reached a server, asleep or busy, before it ran."""
    out = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):  # a server on 127.0.0.1, or on ::1
        if not os.path.exists(table):
            continue
        with open(table) as f:
            for line in f.readlines()[1:]:
                local, remote, state, queues = line.split()[1:5]
                if int(local.rsplit(":", 1)[1], 16) == port and state == "01" and int(queues.split(":")[1], 16) > 0:
                    out.add(int(remote.rsplit(":", 1)[1], 16))
    return out


def stopped(pid: int, timeout: float = 5.0) -> None:
    """Wait until every thread of process ``pid`` is stopped (SIGSTOP takes effect
    asynchronously: the process may run on for a moment after kill returns)."""
    deadline = time.monotonic() + timeout
    task = f"/proc/{pid}/task"
    while True:
        states = []
        try:
            with open(f"/proc/{pid}/stat") as f:  # the process, not one of its threads (a thread that ends is Z a moment)
                ended = f.read().rsplit(")", 1)[1].split()[0] == "Z"
            tids = os.listdir(task)
        except (FileNotFoundError, ProcessLookupError):  # gone, or going: ESRCH on read
            ended = True
        if ended:
            raise AssertionError(f"process {pid} ended instead of stopping")
        for tid in tids:
            try:
                with open(f"{task}/{tid}/stat") as f:
                    states.append(f.read().rsplit(")", 1)[1].split()[0])
            except (FileNotFoundError, ProcessLookupError):
                continue  # a thread that ended (before the open, or between the open and the read: ESRCH)
        if states and all(s in ("T", "t", "Z", "X") for s in states) and any(s in ("T", "t") for s in states):
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"process {pid} was not stopped after {timeout} s ({states})")
        time.sleep(0.001)


def apply_paused_at(spec, pause_at: str, *args: str, **env: str) -> subprocess.Popen:
    """``borgconf apply --auto-approve`` of ``spec`` in a process of its own, held at
    its test hook (BORGCONF_TEST_PAUSE_AT=``pause_at``, borgconf/apply.py:_test_pause):
    returns once the hook says it holds the apply there (``<step>:stop``: the process
    then stops itself; see :func:`stopped`). ``env``: more environment variables."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "borgconf", "apply", "--auto-approve", *args, str(spec)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "NO_COLOR": "1", "BORGCONF_TEST_PAUSE_AT": pause_at, **env},
    )
    seen = []
    while True:  # until the hook says it holds the apply there
        line = proc.stderr.readline()
        seen.append(line)
        if line.startswith("borgconf-test: paused at ") or not line:
            break
    assert line == f"borgconf-test: paused at {pause_at.split(':')[0]}\n", "".join(seen) + proc.communicate(timeout=30)[1]
    return proc


def busy(server, seconds: int):
    """DEBUG SLEEP on a connection of its own, sent without waiting for the reply:
    the server answers nobody until it has slept (it needs enable-debug-command yes).
    Read the connection's reply once the test is done with it. Returns once the
    server sleeps: a PING of another connection gets no answer."""
    import redis

    conn = server.client().connection_pool.get_connection()
    conn.send_command("DEBUG", "SLEEP", str(seconds))
    probe = server.client(socket_timeout=0.05)
    deadline = time.monotonic() + 5
    try:
        while time.monotonic() < deadline:
            try:
                probe.ping()
            except redis.TimeoutError:
                return conn  # it sleeps
            time.sleep(0.01)
    finally:
        probe.close()
    raise AssertionError(f"the server still answered 5 s after DEBUG SLEEP {seconds}")


@contextlib.contextmanager
def config_file_cannot_be_rewritten(server):
    """While inside, CONFIG REWRITE of ``server`` fails: its config file is replaced by
    a directory (as root a read-only directory would not stop REWRITE); put back after."""
    conf = server.config_path
    saved = conf.read_text()
    conf.unlink()
    conf.mkdir()
    try:
        yield
    finally:
        conf.rmdir()
        conf.write_text(saved)
