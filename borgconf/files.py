"""Files borgconf reads and writes: reads that never block (a FIFO, a device, a
directory is refused before any byte is read, and no more than a limit is read),
atomic writes (a temp file in the same directory, fsync, rename)."""

from __future__ import annotations

import os
import stat

_KINDS = {
    stat.S_IFDIR: "a directory",
    stat.S_IFIFO: "a FIFO (named pipe)",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFSOCK: "a socket",
}


class NotRegularFile(OSError):
    """The path names something else than a regular file; ``kind`` says what."""

    def __init__(self, kind: str):
        super().__init__(f"not a regular file ({kind})")
        self.kind = kind
        self.strerror = f"not a regular file ({kind})"


def read_regular(path: str | os.PathLike, limit: int) -> bytes:
    """At most ``limit + 1`` bytes of the regular file ``path`` (one more than the
    limit: the caller sees that the file is too large). Never blocks: the file is
    opened non-blocking and refused (NotRegularFile) unless it is a regular file,
    so a FIFO without a writer, /dev/zero or a terminal cannot hang borgconf.
    Raises OSError (FileNotFoundError, PermissionError, ...) as open() does."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except OSError as e:
        if _is_socket(path):  # opening a socket fails (ENXIO): say what it is
            raise NotRegularFile("a socket") from None
        raise
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise NotRegularFile(_KINDS.get(stat.S_IFMT(mode), "not a file"))
        chunks, total = [], 0
        while total <= limit:
            chunk = os.read(fd, min(1 << 20, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def _is_socket(path: str | os.PathLike) -> bool:
    try:
        return stat.S_ISSOCK(os.stat(path).st_mode)
    except OSError:
        return False


def write_atomic(path: str | os.PathLike, text: str, *, mode: int = 0o600) -> None:
    """Write ``text`` to ``path`` atomically with ``mode`` (0600 for anything holding a secret).

    The temp file is created with the final mode before any byte is written, so a
    secret is never readable by others, not even for a moment.
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    import tempfile  # here, not at the top: readers (validate, plan) never need it (issue 15)

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
