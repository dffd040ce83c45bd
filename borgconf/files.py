"""Atomic file writes: a temp file in the same directory, fsync, rename."""

from __future__ import annotations

import os
import tempfile


def write_atomic(path: str | os.PathLike, text: str, *, mode: int = 0o600) -> None:
    """Write ``text`` to ``path`` atomically with ``mode`` (0600 for anything holding a secret).

    The temp file is created with the final mode before any byte is written, so a
    secret is never readable by others, not even for a moment.
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".borgconf-", dir=directory)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    try:
        dfd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:
        pass
