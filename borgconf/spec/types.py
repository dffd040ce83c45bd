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
    """One parameter of a server: block, checked against the catalog."""

    param: P.Param
    checked: Any  # output of params.check
    raw: Any
    name_used: str  # how the spec spelled the parameter


@dataclass
class Spec:
    """A validated spec."""

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
    target_server: dict[str, dict[str, ServerValue]] = field(default_factory=dict)  # target name -> its own server: block

    def server_for(self, target_name: str) -> dict[str, ServerValue]:
        """The parameters of one target: the shared server: block with the target's own merged over it."""
        own = self.target_server.get(target_name)
        return {**self.server, **own} if own else self.server

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
