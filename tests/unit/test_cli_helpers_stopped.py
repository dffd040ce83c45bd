"""The tests' wait for a SIGSTOPped process (cli_helpers.stopped), on real processes.

A thread that ends while ``stopped`` reads it is skipped, whichever way the kernel
says so: its /proc entry gone (FileNotFoundError at open) or going (ProcessLookupError,
ESRCH, at read: CI saw this once, from a thread pool thread of a paused apply)."""

from __future__ import annotations

import builtins
import os
import signal
import subprocess
import sys

import pytest

from tests import cli_helpers


@pytest.fixture
def sleeper():
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    yield proc
    proc.kill()
    proc.wait()


class _Going:
    """An open /proc file whose read fails with ``error`` (its task is being reaped)."""

    def __init__(self, error: BaseException):
        self.error = error

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def read(self):
        raise self.error


def _with_vanishing_thread(monkeypatch, pid, error):
    """/proc/PID/task lists one more thread whose stat raises ``error`` when read."""
    ghost = "999999999"
    real_listdir, real_open = os.listdir, builtins.open

    def listdir(path):
        names = real_listdir(path)
        return [ghost, *names] if path == f"/proc/{pid}/task" else names

    def open_(path, *a, **kw):
        if path == f"/proc/{pid}/task/{ghost}/stat":
            if isinstance(error, FileNotFoundError):
                raise error
            return _Going(error)
        return real_open(path, *a, **kw)

    monkeypatch.setattr(cli_helpers.os, "listdir", listdir)
    monkeypatch.setattr(builtins, "open", open_)


@pytest.mark.parametrize(
    "error",
    [ProcessLookupError(3, "No such process"), FileNotFoundError(2, "No such file or directory")],
    ids=["esrch-at-read", "enoent-at-open"],
)
def test_a_thread_ending_meanwhile_is_skipped(sleeper, monkeypatch, error):
    os.kill(sleeper.pid, signal.SIGSTOP)
    _with_vanishing_thread(monkeypatch, sleeper.pid, error)
    cli_helpers.stopped(sleeper.pid, timeout=5)


def test_a_running_process_is_not_taken_for_stopped(sleeper):
    with pytest.raises(AssertionError, match="was not stopped"):
        cli_helpers.stopped(sleeper.pid, timeout=0.2)


def test_a_process_that_ended_is_said_so(sleeper):
    sleeper.kill()
    with pytest.raises(AssertionError, match="ended instead of stopping"):
        cli_helpers.stopped(sleeper.pid, timeout=5)  # a zombie until waited for


def test_a_process_going_while_its_stat_is_read_is_said_to_have_ended(sleeper, monkeypatch):
    """The process's own stat read fails with ESRCH (it is being reaped): ended, not a crash."""
    real_open = builtins.open

    def open_(path, *a, **kw):
        return _Going(ProcessLookupError(3, "No such process")) if path == f"/proc/{sleeper.pid}/stat" else real_open(path, *a, **kw)

    monkeypatch.setattr(builtins, "open", open_)
    with pytest.raises(AssertionError, match="ended instead of stopping"):
        cli_helpers.stopped(sleeper.pid, timeout=5)
