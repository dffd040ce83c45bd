"""The one exception tree of borgconf.

Every failure the library signals is one of these; the CLI catches
``BorgconfError`` once, prints ``str(error)`` as one line (secrets redacted)
and exits 1. Anything else escaping to the CLI is a bug: its traceback is
shown with ``-v``.

    BorgconfError
    ├── SpecError                 the spec cannot be loaded or is invalid
    │                             (carries every problem, each with file:line:col)
    ├── ConnectionFailed          the server cannot be reached, or did not answer in time
    ├── AuthError                 wrong password, NOAUTH, or an ACL that denies a command
    ├── UnsupportedParameter      the connected server does not know a parameter of the spec
    ├── PlanError                 a saved plan cannot be used
    │   └── StalePlan             live state or the spec moved on since the plan was made
    ├── ApplyError                apply failed; nothing or everything was rolled back
    │   ├── Refused               not approved, or a data-safety refusal without --allow-...
    │   ├── VerifyFailed          the server reads back another value than it was given
    │   └── PersistFailed         CONFIG REWRITE / file write failed; live values restored
    ├── LockError                 another borgconf apply holds the server, or the lock
    │                             cannot be taken (ACL) or was lost (its connection closed)
    └── RenderError               templates or output files cannot be rendered / written
"""

from __future__ import annotations

from dataclasses import dataclass


class BorgconfError(Exception):
    """Base of every error borgconf raises on purpose."""


@dataclass(frozen=True)
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


class LockError(BorgconfError):
    pass


class RenderError(BorgconfError):
    pass


__all__ = [
    "BorgconfError",
    "Problem",
    "SpecError",
    "ConnectionFailed",
    "AuthError",
    "UnsupportedParameter",
    "PlanError",
    "StalePlan",
    "ApplyError",
    "Refused",
    "VerifyFailed",
    "PersistFailed",
    "LockError",
    "RenderError",
]
