"""The validated spec: what every other part of borgconf reads."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from .. import params as P
from ..errors import Problem
from ..records import field, record
from .schema import Render, Service, Target, User
from .yamlread import position


@record
class ServerValue:
    """One parameter of a server: block, checked against the catalog."""

    param: P.Param
    checked: Any  # output of params.check
    raw: Any
    name_used: str  # how the spec spelled the parameter


@record
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
    listed_targets: bool = False  # the spec wrote targets: (a list), not target:

    def server_for(self, target_name: str) -> dict[str, ServerValue]:
        """The parameters of one target: the shared server: block with the target's own merged over it."""
        own = self.target_server.get(target_name)
        return {**self.server, **own} if own else self.server

    @property
    def target(self):
        return self.targets[0]

    def where(self, path: tuple) -> tuple[str, int, int]:
        return position(self.positions, path, (self.path, 0, 0))

    def render_address(self) -> RenderAddress:
        """Host and port of the rendered .env URLs (:func:`render_address`)."""
        return render_address(self.render, self.targets, self.server, listed=self.listed_targets)

    def secrets(self) -> list[str]:
        """Every secret value the spec holds (spec.secrets.secret_values)."""
        from .secrets import secret_values

        return secret_values(self)


class AddressConflict(ValueError):
    """The spec's targets disagree on the host or port the .env URLs should name."""

    def __init__(self, message: str, path: tuple):
        super().__init__(message)
        self.path = path


@record(frozen=True)
class RenderAddress:
    """Where applications reach Redis: the host and port of the rendered .env URLs."""

    host: str
    port: int


def _given_urls(targets: list, listed: bool) -> list[tuple[tuple, Any, Any]]:
    """(path, target, urlsplit) of each target whose URL the spec gives (not the
    default), except a Sentinel's (discover: sentinel): that URL is not where
    applications read and write."""
    from urllib.parse import urlsplit

    return [
        (("targets", i, "url") if listed else ("target", "url"), t, urlsplit(t.url))
        for i, t in enumerate(targets)
        if "url" in t.model_fields_set and t.discover != "sentinel"
    ]


def render_address(render: Render, targets: list, server: dict[str, "ServerValue"], *, listed: bool = False) -> RenderAddress:
    """The rule (README, "render.host / render.port"): ``render.host``, else the
    host of the spec's target URL, else ``redis``; ``render.port``, else the port
    written in the spec's target URL, else ``server.port``, else 6379. Targets
    that disagree (two hosts, two ports) need render.host / render.port: raises
    AddressConflict naming the second one. ``--url`` / ``BORGCONF_URL`` do not
    count: they say where borgconf connects, not where the applications do.
    ``listed``: the spec wrote ``targets:`` (positions are targets[i].url)."""
    urls = _given_urls(targets, listed)

    def one(what: str, key: str, values: list[tuple[tuple, Any, Any]]):
        first: tuple | None = None
        for path, t, value in values:
            if value is None:
                continue
            if first is None:
                first = (t, value)
            elif (value.lower() if isinstance(value, str) else value) != (first[1].lower() if isinstance(first[1], str) else first[1]):
                raise AddressConflict(
                    f"targets {first[0].name!r} and {t.name!r} have different {what}s ({first[1]} and {value}): "
                    f"the .env URLs name one {what}; give {key} (where the applications connect)",
                    path,
                )
        return None if first is None else first[1]

    host = render.host or one("host", "render.host", [(p, t, parts.hostname) for p, t, parts in urls]) or "redis"
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"  # an IPv6 address, as a URL writes it
    port = render.port
    if port is None:
        # once one URL writes its port, one that does not means 6379 (where borgconf connects)
        written = any(parts.port is not None for _, _, parts in urls)
        port = one("port", "render.port", [(p, t, 6379 if parts.port is None and written else parts.port) for p, t, parts in urls])
    if port is None:
        sv = server.get("port")
        port = sv.checked if sv is not None and isinstance(sv.checked, int) and sv.checked else 6379
    return RenderAddress(host, int(port))


def percent_values(server: dict) -> list:
    """The server values a machine's memory resolves (``maxmemory: 25%``); a
    percentage Redis keeps as written (maxmemory-clients) needs none."""
    return [sv for sv in server.values() if isinstance(sv.checked, tuple) and sv.param.percent != "native"]


def percent_needs_memory(sv) -> str:
    """Why rendering ``sv`` needs render.total_memory: the message render and validate give."""
    return (
        f"{sv.checked[1]}% is a share of the memory of the machine the rendered redis.conf is for, "
        "which borgconf does not know: set render.total_memory to that machine's memory (e.g. render: {total_memory: 8gb}), "
        f"or give {sv.name_used} as a size (e.g. 2gb); borgconf never uses the memory of the machine it runs on"
    )


def file_digest(files: list[str]) -> str:
    h = hashlib.sha256()
    for f in files:
        h.update(Path(f).read_bytes())
        h.update(b"\x00")
    return h.hexdigest()


__all__ = ["Spec", "ServerValue", "RenderAddress", "AddressConflict", "render_address", "percent_values", "percent_needs_memory", "file_digest"]
