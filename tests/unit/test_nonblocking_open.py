"""Issue 10, group 7: opening a spec, an --env-file, an extends: base or a saved
plan never blocks. A FIFO without a writer, /dev/zero, a terminal, a directory
or a socket is refused before a byte is read, with one message naming it.

Every CLI run here is a real process with a timeout: a hang fails the test
instead of hanging the suite (the old code blocked in open() on a FIFO)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from borgconf.files import NotRegularFile, read_regular

HANG = 20  # seconds: far more than a refusal takes, far less than forever


def _cli(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BORGCONF_")}
    return subprocess.run(
        [sys.executable, "-m", "borgconf", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=HANG, stdin=subprocess.DEVNULL
    )


def _one_error(proc: subprocess.CompletedProcess, expect: str) -> None:
    assert proc.returncode == 1, proc
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr, proc.stderr
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1 and expect in errors[0], proc.stderr
    assert proc.stdout == ""


def _fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


def _zero(path: Path) -> Path:
    path.symlink_to("/dev/zero")
    return path


def _unix_socket(path: Path) -> Path:
    s = socket.socket(socket.AF_UNIX)
    s.bind(str(path))
    s.close()  # the file stays
    return path


KINDS = {
    "fifo": (_fifo, "a FIFO (named pipe)"),
    "dev_zero": (_zero, "a character device"),
    "socket": (_unix_socket, "a socket"),
}


@pytest.fixture
def short_tmp(tmp_path):
    """A unix socket path must be short (108 bytes)."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="bc") as d:
        yield Path(d)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("command", ["validate", "plan", "apply", "render"])
def test_a_spec_that_is_not_a_regular_file_is_refused(short_tmp, kind, command):
    make, what = KINDS[kind]
    make(short_tmp / "s.yaml")
    _one_error(_cli(short_tmp, command, "s.yaml"), f"s.yaml: cannot read: not a regular file ({what})")


@pytest.mark.parametrize("kind", KINDS)
def test_an_env_file_that_is_not_a_regular_file_is_refused(short_tmp, kind):
    make, what = KINDS[kind]
    make(short_tmp / "x.env")
    (short_tmp / "s.yaml").write_text("version: 1\nserver: {requirepass: '${P}'}\n")
    _one_error(_cli(short_tmp, "validate", "--env-file", "x.env", "s.yaml"), f"x.env: env file cannot be read: not a regular file ({what})")


@pytest.mark.parametrize("kind", ["fifo", "socket"])
def test_an_extends_base_that_is_not_a_regular_file_is_refused(short_tmp, kind):
    KINDS[kind][0](short_tmp / "base.yaml")
    (short_tmp / "s.yaml").write_text("version: 1\nextends: base.yaml\n")
    _one_error(_cli(short_tmp, "validate", "s.yaml"), "s.yaml:2:10: extends: base spec 'base.yaml' is not a regular file")


def test_a_directory_is_refused(short_tmp):
    (short_tmp / "d.yaml").mkdir()
    (short_tmp / "s.yaml").write_text("version: 1\nextends: d.yaml\n")
    _one_error(_cli(short_tmp, "validate", "d.yaml"), "d.yaml")
    _one_error(_cli(short_tmp, "validate", "s.yaml"), "base spec 'd.yaml' is not a regular file")


def test_read_regular_refuses_before_reading(tmp_path):
    fifo = _fifo(tmp_path / "f")
    with pytest.raises(NotRegularFile) as e:
        read_regular(fifo, 10)  # a blocking open() would never return: no writer
    assert e.value.kind == "a FIFO (named pipe)"
    with pytest.raises(NotRegularFile):
        read_regular("/dev/zero", 10)
    with pytest.raises(NotRegularFile) as e:
        read_regular(tmp_path, 10)
    assert e.value.kind == "a directory"
    big = tmp_path / "big"
    big.write_bytes(b"x" * 100)
    assert read_regular(big, 10) == b"x" * 11  # never more than the limit + 1
    with pytest.raises(FileNotFoundError):
        read_regular(tmp_path / "missing", 10)


def test_a_saved_plan_path_that_is_a_fifo_does_not_block(tmp_path):
    from borgconf.errors import PlanError
    from borgconf.fleet import is_plan_file, load_saved_plan

    fifo = _fifo(tmp_path / "p.json")
    assert is_plan_file(str(fifo)) is True  # named *.json: routed to the plan reader without opening it
    assert is_plan_file(str(_fifo(tmp_path / "p.yaml"))) is False  # otherwise read without blocking: no plan
    with pytest.raises(PlanError, match="not a regular file"):
        load_saved_plan(str(fifo))


@pytest.mark.parametrize("kind", KINDS)
def test_a_rendered_file_path_that_is_not_a_regular_file_is_refused(short_tmp, kind):
    """render reads the file it is about to replace (to diff it, to keep a .env's
    other lines): a FIFO there must not hang it, /dev/zero must not fill memory."""
    make, what = KINDS[kind]
    make(short_tmp / "redis.conf")
    (short_tmp / "s.yaml").write_text("version: 1\nrender:\n  redis_conf: redis.conf\nserver:\n  hz: 20\n")
    # a symlink out of the spec's directory (/dev/zero) is refused before anything is opened
    expect = "must be inside" if kind == "dev_zero" else f"cannot read {short_tmp / 'redis.conf'}: it is {what}, not a regular file"
    for args in (("render", "s.yaml"), ("render", "--check", "s.yaml")):
        _one_error(_cli(short_tmp, *args), expect)
