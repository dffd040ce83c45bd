"""A plan is data: built by the planner, shown by the views, saved, applied.

The JSON form (``format_version`` "1.1"; a reader accepts any 1.x) holds no
secret in any form: a sensitive change has ``before`` / ``after`` null and
``"sensitive": true``. 1.1 added the lint findings (``lint``, each with its
severity and file:line) and every target that could not be read or planned,
with an ``error`` (:class:`UnreadTarget`; a target that was planned has no
``error`` key, so a 1.0 file reads back as it was written).
In memory, a plan built from a spec keeps the secret values it will set in a
private field that is never serialised; a plan loaded from a file gets them
back from the spec (whose digest it checks) at apply time.
"""

from __future__ import annotations

import json
from typing import Any

from . import __version__
from .errors import PlanError
from .records import field, record

FORMAT_VERSION = "1"  # the major version this borgconf reads
WRITTEN_VERSION = "1.1"  # what it writes: 1.1 added lint findings and unreadable targets with an error
CLASSES = ("live", "restart")  # when a change can take: now, or at the next restart
KINDS = ("parameter", "command", "user", "file")
ACTIONS = ("create", "update", "delete", "noop")
_PREFIX = {"command": "rename-command ", "user": "user ", "file": "file "}


@record(frozen=True)
class ChangeId:
    """What a change is about: a parameter, a command's rename, a user, a rendered
    file (its path relative to the spec), by name."""

    kind: str  # one of KINDS
    name: str

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise PlanError(f"unknown kind of change {self.kind!r} (known: {', '.join(KINDS)})")
        if not self.name or not isinstance(self.name, str):
            raise PlanError(f"a {self.kind} change without a name")
        # the label, made once: a fleet apply asks for it some 16 times per change
        object.__setattr__(self, "_label", _PREFIX.get(self.kind, "") + self.name)

    def __str__(self) -> str:
        """The change's label in plans and views: ``maxmemory``, ``rename-command CONFIG``, ``user app``."""
        return self._label  # type: ignore[attr-defined]

    @classmethod
    def parse(cls, label: str, kind: str = "parameter") -> "ChangeId":
        """The identity behind a label of the given kind (a plan file's ``parameter`` key)."""
        prefix = _PREFIX.get(kind, "")
        if kind not in KINDS or not label.startswith(prefix):
            raise PlanError(f"plan names an unknown change {label!r}")
        return cls(kind, label[len(prefix):])


@record
class Change:
    """One difference between the spec and a server: before, after, and when it takes effect."""

    id: ChangeId
    timing: str  # one of CLASSES ("class" in JSON)
    before: str | None
    after: str | None
    sensitive: bool = False
    action: str = "update"  # one of ACTIONS
    warnings: list[str] = field(default_factory=list)
    reason: str = ""  # why it needs a restart, what it does to a user, why it is a no-op
    requires: list[str] = field(default_factory=list)  # --allow-... flags apply needs (data safety)
    password_change: bool = False  # a user change that sets a password (never the password itself)
    secret_after: str | None = field(default=None, repr=False, compare=False)
    # scrypt fingerprint of the secret this change sets (a sensitive change, or a user's
    # new password), under the plan's per-plan salt: apply refuses a secret changed since;
    # for a file: of the file as it is on disk and as the spec renders it (filechanges.py)
    fingerprint: str | None = None
    lines: list[str] = field(default_factory=list)  # a file change: its masked diff (no secret, no foreign line)
    # a file change made in this process: (the file now or None, the text to write); never serialised
    file_texts: tuple[str | None, str] | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.action not in ACTIONS:
            raise PlanError(f"unknown action {self.action!r} for {self.id} (known: {', '.join(ACTIONS)})")
        if self.timing not in CLASSES:
            raise PlanError(f"unknown class {self.timing!r} for {self.id} (known: {', '.join(CLASSES)})")

    @property
    def kind(self) -> str:
        return self.id.kind

    @property
    def name(self) -> str:
        return self.id.name

    @property
    def parameter(self) -> str:
        """The change's label (the plan file's ``parameter`` key)."""
        return str(self.id)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "parameter": self.parameter,
            "kind": self.kind,
            "action": self.action,
            "class": self.timing,
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
        if self.fingerprint is not None:
            out["fingerprint"] = self.fingerprint
        if self.kind == "file":
            out["lines"] = list(self.lines)
        return out

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "Change":
        try:
            return cls(
                id=ChangeId.parse(str(d["parameter"]), str(d.get("kind", "parameter"))),
                timing=str(d["class"]),
                before=_opt_str(d.get("before")),
                after=_opt_str(d.get("after")),
                sensitive=bool(d.get("sensitive", False)),
                action=str(d.get("action", "update")),
                warnings=[str(w) for w in d.get("warnings", [])],
                reason=str(d.get("reason", "")),
                requires=[str(r) for r in d.get("requires", [])],
                password_change=bool(d.get("password_change", False)),
                fingerprint=None if d.get("fingerprint") is None else str(d["fingerprint"]),
                lines=[str(line) for line in d.get("lines", [])],
            )
        except (KeyError, TypeError) as e:
            raise PlanError(f"plan file: a change lacks {e}") from None


def _opt_str(v: Any) -> str | None:
    return None if v is None else str(v)


def noop(change_id: ChangeId, reason: str) -> Change:
    """A change that is not needed, and why (``in_sync`` in plan files)."""
    return Change(change_id, timing="live", before=None, after=None, action="noop", reason=reason)


@record
class TargetPlan:
    """The changes of one target."""

    name: str
    address: str
    flavour: str
    version: str
    run_id: str
    changes: list[Change] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    noops: list[Change] = field(default_factory=list)  # already as wanted, each with its reason
    persist: str = "rewrite"
    # where the server stands in a fleet (product.md §6)
    role: str = "primary"  # "primary" | "replica"
    managed_by: str | None = None  # None | "cluster" | "sentinel"
    primary: str | None = None  # address of its primary (a replica)
    group: str | None = None  # the spec target whose discover: found it (its nodes are one replication group)

    @property
    def in_sync(self) -> list[str]:
        """The labels of the no-ops (``in_sync`` in plan files)."""
        return [c.parameter for c in self.noops]

    @property
    def live_changes(self) -> list[Change]:
        return [c for c in self.changes if c.timing == "live"]

    @property
    def restart_changes(self) -> list[Change]:
        return [c for c in self.changes if c.timing == "restart"]

    @property
    def file_changes(self) -> list[Change]:
        return [c for c in self.changes if c.kind == "file"]

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "address": self.address,
            "server": {"flavour": self.flavour, "version": self.version, "run_id": self.run_id},
            "persist": self.persist,
            "role": self.role,
            "managed_by": self.managed_by,
            "primary": self.primary,
            "group": self.group,
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
                noops=[noop(_noop_id(str(label)), "already as the spec says") for label in d.get("in_sync", [])],
                persist=str(d.get("persist", "rewrite")),
                role=_choice(d.get("role", "primary"), ("primary", "replica"), "role"),
                managed_by=_choice(d.get("managed_by"), (None, "cluster", "sentinel"), "managed_by"),
                primary=_opt_str(d.get("primary")),
                group=_opt_str(d.get("group")),
            )
        except (KeyError, TypeError) as e:
            raise PlanError(f"plan file: a target lacks {e}") from None


def _choice(v: Any, allowed: tuple, what: str) -> Any:
    if v not in allowed:
        raise PlanError(f"plan file: {what} {str(v)[:32]!r} is not one of {', '.join(str(a) for a in allowed)}")
    return v


def _noop_id(label: str) -> ChangeId:
    for kind, prefix in _PREFIX.items():
        if label.startswith(prefix):
            return ChangeId(kind, label[len(prefix):])
    return ChangeId("parameter", label)


@record
class UnreadTarget:
    """A target that could not be read or planned (connection refused, auth failure,
    timeout, a parameter its server does not know, ...): listed in the plan with its
    ``error`` (redacted text) and no changes, never applied."""

    name: str
    address: str
    error: str
    group: str | None = None  # the spec target whose discover: found it
    server: dict[str, str] | None = None  # flavour, version, run_id when it was read but not planned

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "address": self.address,
            "server": None if self.server is None else dict(self.server),
            "group": self.group,
            "changes": [],
            "warnings": [],
            "in_sync": [],
            "error": self.error,
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "UnreadTarget":
        try:
            server = d.get("server")
            return cls(
                name=str(d["name"]),
                address=str(d.get("address") or ""),
                error=str(d["error"]),
                group=_opt_str(d.get("group")),
                server=None if server is None else {k: str(v) for k, v in dict(server).items()},
            )
        except (KeyError, TypeError, ValueError) as e:
            raise PlanError(f"plan file: a target lacks {e}") from None


@record
class Plan:
    """The changes of every target, in the spec's order."""

    spec_path: str
    spec_sha256: str
    targets: list[TargetPlan]
    borgconf_version: str = __version__
    format_version: str = WRITTEN_VERSION
    fingerprint_salt: str | None = None  # per plan, random: see fingerprint.py and seal()
    lint: list[dict[str, Any]] = field(default_factory=list)  # the lint findings, as data (views.lint_json)
    unread: list[UnreadTarget] = field(default_factory=list)  # targets that could not be read or planned
    order: list[str] = field(default_factory=list)  # every target's name in the fleet's order (JSON order)

    @property
    def has_changes(self) -> bool:
        return any(t.changes for t in self.targets)

    def summary(self) -> dict[str, int]:
        return {
            "live": sum(len(t.live_changes) for t in self.targets),
            "restart": sum(len(t.restart_changes) for t in self.targets),
            "targets": len(self.targets),
        }

    @property
    def files(self) -> int:
        """Of the live changes, how many are rendered files to write."""
        return sum(len(t.file_changes) for t in self.targets)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "format_version": self.format_version,
            "borgconf_version": self.borgconf_version,
            "spec": {"path": self.spec_path, "sha256": self.spec_sha256},
        }
        if self.fingerprint_salt is not None:
            out["fingerprint_salt"] = self.fingerprint_salt
        out["targets"] = self.targets_json()
        summary = self.summary()
        if self.files:  # format 1.0 had no files count
            summary["files"] = self.files
        if self.unread:  # every target listed is counted; "unreadable" says how many have an error
            summary["targets"] += len(self.unread)
            summary["unreadable"] = len(self.unread)
        out["summary"] = summary
        if self.lint:
            out["lint"] = [dict(f) for f in self.lint]
        return out

    def targets_json(self) -> list[dict[str, Any]]:
        """Every target, planned or not, in the fleet's order (``order``), then any other."""
        return self.in_order({t.name: t.to_json() for t in self.targets} | {u.name: u.to_json() for u in self.unread})

    def in_order(self, docs: dict[str, Any]) -> list[Any]:
        """``docs`` (by target name) in the fleet's order (``order``), then any other."""
        docs = dict(docs)
        return [docs.pop(name) for name in self.order if name in docs] + list(docs.values())

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
            docs = list(d["targets"])
            return cls(
                spec_path=str(d["spec"]["path"]),
                spec_sha256=str(d["spec"]["sha256"]),
                targets=[TargetPlan.from_json(t) for t in docs if t.get("error") is None],
                unread=[UnreadTarget.from_json(t) for t in docs if t.get("error") is not None],
                order=[str(t["name"]) for t in docs],
                borgconf_version=str(d.get("borgconf_version", "")),
                format_version=str(d["format_version"]),
                fingerprint_salt=None if d.get("fingerprint_salt") is None else str(d["fingerprint_salt"]),
                lint=[dict(f) for f in d.get("lint", [])],
            )
        except (KeyError, TypeError, AttributeError) as e:
            raise PlanError(f"plan file lacks {e}") from None

    @classmethod
    def loads(cls, text: str) -> "Plan":
        try:
            return cls.from_json(json.loads(text))
        except json.JSONDecodeError as e:
            raise PlanError(f"plan file is not JSON: {e.msg} at line {e.lineno}") from None


__all__ = ["Plan", "TargetPlan", "UnreadTarget", "WRITTEN_VERSION", "Change", "ChangeId", "noop", "FORMAT_VERSION", "CLASSES", "KINDS", "ACTIONS"]
