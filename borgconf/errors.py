"""The one exception tree of borgconf.

Every failure the library signals is one of these; the CLI catches
``BorgconfError`` once, prints ``str(error)`` as one line (secrets redacted)
and exits 1. Anything else escaping to the CLI is a bug: its traceback is
shown with ``-v``.

    BorgconfError
    ├── SpecError                 the spec cannot be loaded or is invalid
    │                             (carries every problem, each with file:line:col)
    ├── ConnectionFailed          the server cannot be reached, or did not answer in time
    │   └── NoAnswer              a command got no answer (apply re-reads to learn what happened)
    ├── AuthError                 wrong password, NOAUTH, or an ACL that denies a command
    ├── UnsupportedParameter      the connected server does not know a parameter of the spec
    ├── PlanError                 a saved plan cannot be used
    │   └── StalePlan             live state or the spec moved on since the plan was made
    ├── ApplyError                apply failed; nothing or everything was rolled back
    │   ├── Refused               not approved, or a data-safety refusal without --allow-...
    │   ├── VerifyFailed          the server reads back another value than it was given
    │   ├── PersistFailed         CONFIG REWRITE / file write failed; live values restored
    │   └── Interrupted           Ctrl-C: stopped at a step boundary; says what the server holds
    ├── LockError                 another borgconf apply holds the server, or the lock
    │                             cannot be taken (ACL) or was lost (its connection closed)
    └── RenderError               templates or output files cannot be rendered / written
"""

from __future__ import annotations

from .records import record


class BorgconfError(Exception):
    """Base of every error borgconf raises on purpose."""


@record(frozen=True)
class Problem:
    """One thing wrong in a spec, with where it is."""

    file: str
    line: int  # 1-based; 0 when unknown
    col: int  # 1-based; 0 when unknown
    path: str  # dotted path in the spec, e.g. server.maxmemory
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.line:
            where += f":{self.line}:{self.col}"
        prefix = f"{self.path}: " if self.path else ""
        return f"{where}: {prefix}{self.message}"


class SpecError(BorgconfError):
    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class ConnectionFailed(BorgconfError):
    pass


class NoAnswer(ConnectionFailed):
    """A command got no answer in time (or its connection broke): it may or may
    not have run. ``timed_out`` is False when the connection broke instead
    (closed by the server, reset)."""

    def __init__(self, message: str, *, timed_out: bool = True):
        super().__init__(message)
        self.timed_out = timed_out


class AuthError(BorgconfError):
    pass


class UnsupportedParameter(BorgconfError):
    pass


class PlanError(BorgconfError):
    pass


class StalePlan(PlanError):
    pass


class ApplyError(BorgconfError):
    pass


class Refused(ApplyError):
    pass


class VerifyFailed(ApplyError):
    pass


class PersistFailed(ApplyError):
    pass


class Interrupted(ApplyError):
    pass


class LockError(BorgconfError):
    pass


class RenderError(BorgconfError):
    pass


__all__ = [
    "BorgconfError",
    "Problem",
    "SpecError",
    "ConnectionFailed",
    "NoAnswer",
    "AuthError",
    "UnsupportedParameter",
    "PlanError",
    "StalePlan",
    "ApplyError",
    "Refused",
    "VerifyFailed",
    "PersistFailed",
    "Interrupted",
    "LockError",
    "RenderError",
]
