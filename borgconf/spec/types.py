"""The validated spec: what every other part of borgconf reads."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import params as P
from ..errors import Problem
from .schema import Render, Service, Target, User
from .yamlread import position


@dataclass
class ServerValue:
    param: P.Param
    checked: Any  # output of params.check
    raw: Any
    name_used: str  # how the spec spelled the parameter


@dataclass
class Spec:
    path: str
    files: list[str]
    sha256: str
    version: int
    targets: list[Target]
    server: dict[str, ServerValue]
    ignore: set[str]
    commands: dict[str, str]  # COMMAND -> "disabled" | "enabled" | new name
    services: dict[str, Service]
    users: dict[str, User]
    render: Render
    warnings: list[Problem] = field(default_factory=list)
    var_paths: dict[tuple, set[str]] = field(default_factory=dict)
    positions: dict[tuple, tuple[str, int, int]] = field(default_factory=dict)
    lint_accept: dict[str, str] = field(default_factory=dict)  # lint id -> reason (lint.accept)

    @property
    def target(self):
        return self.targets[0]

    def where(self, path: tuple) -> tuple[str, int, int]:
        return position(self.positions, path, (self.path, 0, 0))

    def secrets(self) -> list[str]:
        """Every secret value the spec holds (spec.secrets.secret_values)."""
        from .secrets import secret_values

        return secret_values(self)


def file_digest(files: list[str]) -> str:
    h = hashlib.sha256()
    for f in files:
        h.update(Path(f).read_bytes())
        h.update(b"\x00")
    return h.hexdigest()


__all__ = ["Spec", "ServerValue", "file_digest"]
