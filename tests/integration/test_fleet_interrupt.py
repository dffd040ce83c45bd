"""--fail-fast stops the process, not only the report: a target that never
answers does not keep borgconf alive until its timeout.

Run as a subprocess, because what is under test is the process exit (an
in-process test cannot see worker threads joined at interpreter exit).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

SLOW_TIMEOUT = 8  # seconds the silent target would hold a read


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_fail_fast_exits_without_waiting_for_a_silent_target(tmp_path):
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)  # the kernel completes the handshake; nobody ever answers
    try:
        spec = tmp_path / "fleet.yaml"
        spec.write_text(
            "version: 1\n"
            "targets:\n"
            f"  - {{name: silent, url: \"redis://127.0.0.1:{silent.getsockname()[1]}\", timeout: {SLOW_TIMEOUT}}}\n"
            f"  - {{name: refused, url: \"redis://127.0.0.1:{_free_port()}\", timeout: {SLOW_TIMEOUT}}}\n"
            "server:\n  hz: 10\n"
        )
        env = {**os.environ, "NO_COLOR": "1"}
        for command in (["plan"], ["apply", "--auto-approve"]):
            started = time.monotonic()
            proc = subprocess.run(
                [sys.executable, "-m", "borgconf", *command, "--fail-fast", str(spec)],
                capture_output=True, text=True, env=env, timeout=SLOW_TIMEOUT * 3,
            )
            elapsed = time.monotonic() - started
            assert proc.returncode == 1, proc.stderr
            assert "127.0.0.1" in proc.stderr and "refused" in proc.stderr.lower(), proc.stderr
            # generous: the interpreter starts in well under a second; the silent target holds 8 s
            assert elapsed < SLOW_TIMEOUT / 2, f"{command[0]} --fail-fast exited after {elapsed:.1f} s: it waited for the silent target"
    finally:
        silent.close()


def test_read_targets_returns_states_and_failures_as_data(redis_server, tmp_path, capsys):
    """The fleet core prints nothing: a target that cannot be read is data, in the spec's order."""
    from borgconf.fleet import read_targets
    from borgconf.spec import load_spec

    spec = tmp_path / "fleet.yaml"
    spec.write_text(
        "version: 1\ntargets:\n"
        f"  - {{name: dead, url: \"redis://127.0.0.1:{_free_port()}\", timeout: 1}}\n"
        f"  - {{name: up, url: \"{redis_server.url}\"}}\n"
    )
    s = load_spec(spec, env={})
    capsys.readouterr()
    read = read_targets(s, s.targets, parallel=1)
    assert list(read.states) == ["up"] and read.failed == ["dead"]
    assert read.states["up"].run_id and not read.stopped
    assert capsys.readouterr() == ("", "")
