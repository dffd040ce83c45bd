"""A plan is data: built by the planner, shown by the views, saved, applied.

The JSON form (``format_version`` "1") holds no secret in any form: a
sensitive change has ``before`` / ``after`` null and ``"sensitive": true``.
In memory, a plan built from a spec keeps the secret values it will set in a
private field that is never serialised; a plan loaded from a file gets them
back from the spec (whose digest it checks) at apply time.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from . import __version__
from .errors import PlanError

FORMAT_VERSION = "1"
CLASSES = ("live", "restart")


@dataclass
class Change:
    parameter: str
    cls: str  # "live" | "restart"
    before: str | None
    after: str | None
    sensitive: bool = False
    action: str = "update"
    kind: str = "parameter"  # "parameter" | "command"
    warnings: list[str] = field(default_factory=list)
    reason: str = ""
    requires: list[str] = field(default_factory=list)  # --allow-... flags apply needs (data safety)
    password_change: bool = False  # a user change that sets a password (never the password itself)
    secret_after: str | None = field(default=None, repr=False, compare=False)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "parameter": self.parameter,
            "kind": self.kind,
            "action": self.action,
            "class": self.cls,
            "before": None if self.sensitive else self.before,
            "after": None if self.sensitive else self.after,
            "sensitive": self.sensitive,
            "warnings": list(self.warnings),
        }
        if self.reason:
            out["reason"] = self.reason
        if self.requires:
            out["requires"] = list(self.requires)
        if self.kind == "user":
            out["password_change"] = self.password_change
        return out

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "Change":
        try:
            return cls(
                parameter=str(d["parameter"]),
                cls=str(d["class"]),
                before=d.get("before"),
                after=d.get("after"),
                sensitive=bool(d.get("sensitive", False)),
                action=str(d.get("action", "update")),
                kind=str(d.get("kind", "parameter")),
                warnings=[str(w) for w in d.get("warnings", [])],
                reason=str(d.get("reason", "")),
                requires=[str(r) for r in d.get("requires", [])],
                password_change=bool(d.get("password_change", False)),
            )
        except (KeyError, TypeError) as e:
            raise PlanError(f"plan file: a change lacks {e}") from None


@dataclass
class TargetPlan:
    name: str
    address: str
    flavour: str
    version: str
    run_id: str
    changes: list[Change] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    in_sync: list[str] = field(default_factory=list)  # parameters already as wanted (no-ops)
    persist: str = "rewrite"

    @property
    def live_changes(self) -> list[Change]:
        return [c for c in self.changes if c.cls == "live"]

    @property
    def restart_changes(self) -> list[Change]:
        return [c for c in self.changes if c.cls == "restart"]

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "address": self.address,
            "server": {"flavour": self.flavour, "version": self.version, "run_id": self.run_id},
            "persist": self.persist,
            "changes": [c.to_json() for c in self.changes],
            "warnings": list(self.warnings),
            "in_sync": list(self.in_sync),
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "TargetPlan":
        try:
            server = d["server"]
            return cls(
                name=str(d["name"]),
                address=str(d["address"]),
                flavour=str(server["flavour"]),
                version=str(server["version"]),
                run_id=str(server["run_id"]),
                changes=[Change.from_json(c) for c in d.get("changes", [])],
                warnings=[str(w) for w in d.get("warnings", [])],
                in_sync=[str(p) for p in d.get("in_sync", [])],
                persist=str(d.get("persist", "rewrite")),
            )
        except (KeyError, TypeError) as e:
            raise PlanError(f"plan file: a target lacks {e}") from None


@dataclass
class Plan:
    spec_path: str
    spec_sha256: str
    targets: list[TargetPlan]
    borgconf_version: str = __version__
    format_version: str = FORMAT_VERSION

    @property
    def has_changes(self) -> bool:
        return any(t.changes for t in self.targets)

    def summary(self) -> dict[str, int]:
        return {
            "live": sum(len(t.live_changes) for t in self.targets),
            "restart": sum(len(t.restart_changes) for t in self.targets),
            "targets": len(self.targets),
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "format_version": self.format_version,
            "borgconf_version": self.borgconf_version,
            "spec": {"path": self.spec_path, "sha256": self.spec_sha256},
            "targets": [t.to_json() for t in self.targets],
            "summary": self.summary(),
        }

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=2, sort_keys=False) + "\n"

    @classmethod
    def from_json(cls, d: Any) -> "Plan":
        if not isinstance(d, dict) or "format_version" not in d:
            raise PlanError("not a borgconf plan file (no format_version)")
        major = str(d["format_version"]).split(".")[0]
        if major != FORMAT_VERSION:
            raise PlanError(f"plan format_version {d['format_version']!r} is not supported (this borgconf reads {FORMAT_VERSION})")
        try:
            return cls(
                spec_path=str(d["spec"]["path"]),
                spec_sha256=str(d["spec"]["sha256"]),
                targets=[TargetPlan.from_json(t) for t in d["targets"]],
                borgconf_version=str(d.get("borgconf_version", "")),
                format_version=str(d["format_version"]),
            )
        except (KeyError, TypeError) as e:
            raise PlanError(f"plan file lacks {e}") from None

    @classmethod
    def loads(cls, text: str) -> "Plan":
        try:
            return cls.from_json(json.loads(text))
        except json.JSONDecodeError as e:
            raise PlanError(f"plan file is not JSON: {e.msg} at line {e.lineno}") from None


__all__ = ["Plan", "TargetPlan", "Change", "FORMAT_VERSION"]
