"""A saved plan file, validated as a document before anything reads it (issue 9).

A plan file is hostile until checked: it travels as a CI artifact and anyone
who can edit it would like apply to do more than the spec says. Before apply
reads a spec, opens a connection or trusts any field, :func:`read_plan_document`
checks, in this order, and stops at the first problem with one PlanError:

1. the path is a regular file (not a FIFO, device or directory: ``/dev/zero``
   would never end, a FIFO would block) of at most :data:`MAX_BYTES`; the size
   is checked before reading and the read stops one byte past the limit;
2. the bytes are UTF-8;
3. the text is JSON with no NaN/Infinity, no duplicate keys (two parsers
   could pick different values) and no absurd nesting;
4. ``format_version`` is a string whose major version this borgconf reads;
5. the document matches :class:`PlanDocument` exactly: strict types
   (``before``/``after`` a string or null, never a number, list or bool),
   no unknown keys, non-empty identity fields (``run_id`` is the server's
   40-hex run id, never ""), a sensitive change carries no value, values
   hold no control characters, and the summary counts what the targets say.

Error messages name the field (``targets[0].changes[2].after``) and what is
wrong, never the value found there: a plan file pointed at ``/etc/shadow``
or holding a secret must not get it printed.

Unknown keys are refused although product.md says "consumers ignore keys
they do not know": that rule is for readers of ``plan --format json``
(dashboards, CI scripts). ``apply`` *executes* a saved plan, which makes the
file an integrity artifact: a key this borgconf does not know is a key whose
meaning it cannot check, so it refuses the file (plan again with this
version). README "Saved plans" says so.

Format 1.1 (what this borgconf writes; 1.0 files are read as before) adds
``lint`` (each finding with ``severity``, ``file``, ``line``, ``column``,
``accepted``: apply lints again itself, and shows a finding that live facts can
rule out, lint.RULED_OUT_BY_LIVE, only where the plan has it) and targets that could
not be read or planned: such a target has an ``error`` (text, no control
character but newline and tab), no changes, may lack ``server``, and is counted
in ``summary.unreadable``. It is never applied: ``apply`` applies the other
targets and reports it as not applied (``--fail-fast`` refuses the file).

``fleet.load_saved_plan`` calls :func:`read_plan_document` first, then checks
the document against the spec offline (``contract.check_offline``), and apply
re-plans under the lock and compares (``contract.compare``).
"""

from __future__ import annotations

import json
import os
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr, ValidationError, field_validator, model_validator

from .errors import PlanError

FORMAT_MAJOR = "1"
MAX_BYTES = 5 * 1024 * 1024
MAX_DEPTH = 32

_STRICT = ConfigDict(strict=True, extra="forbid", frozen=True)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_SHA256 = r"^[0-9a-f]{64}$"
_RUN_ID = r"^[0-9a-f]{40}$"
_VERSION = r"^[0-9]+(\.[0-9]+)*$"

Flag = Literal["allow-evict", "allow-hide-data", "allow-no-persistence", "allow-no-auth"]
_FINGERPRINT = r"^scrypt\$[0-9]{1,10}\$[0-9]{1,3}\$[0-9]{1,3}\$[0-9a-f]{64}$"
_SALT = r"^[0-9a-f]{32}$"
_ADDRESS = r"^[A-Za-z0-9._:\[\]-]{1,255}:[0-9]{1,5}$"  # host:port, as plan records it


def _no_control(value: str | None, what: str) -> str | None:
    if value is not None and _CONTROL.search(value):
        raise ValueError(f"{what} holds a control character (newline, NUL, ...)")
    return value


class ChangeDoc(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True, populate_by_name=True)

    parameter: StrictStr = Field(min_length=1, max_length=300)
    kind: Literal["parameter", "user", "command", "file"]
    action: Literal["create", "update"]
    cls: Literal["live", "restart"] = Field(alias="class")
    before: StrictStr | None = Field(max_length=100_000)
    after: StrictStr | None = Field(max_length=100_000)
    sensitive: StrictBool
    warnings: list[StrictStr] = Field(max_length=100)
    reason: StrictStr = ""
    requires: list[Flag] = Field(default_factory=list, max_length=3)
    password_change: StrictBool = False
    fingerprint: StrictStr | None = Field(default=None, pattern=_FINGERPRINT)
    lines: list[StrictStr] = Field(default_factory=list, max_length=100_000)  # a file change's masked diff

    @field_validator("parameter")
    @classmethod
    def _parameter(cls, v: str) -> str:
        return _no_control(v, "the parameter name")  # type: ignore[return-value]

    @field_validator("before", "after")
    @classmethod
    def _value(cls, v: str | None) -> str | None:
        return _no_control(v, "the value")

    @field_validator("lines")
    @classmethod
    def _lines(cls, v: list[str]) -> list[str]:
        for line in v:
            _no_control(line.replace("\t", " "), "a line of a file change")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> "ChangeDoc":
        if self.sensitive and (self.before is not None or self.after is not None):
            raise ValueError("a sensitive change must have before and after null (a plan holds no secret)")
        if self.kind == "user" and not self.parameter.startswith("user "):
            raise ValueError("a change of kind user names 'user NAME'")
        if self.kind == "command" and not self.parameter.startswith("rename-command "):
            raise ValueError("a change of kind command names 'rename-command NAME'")
        if self.kind == "file" and not self.parameter.startswith("file "):
            raise ValueError("a change of kind file names 'file PATH'")
        if self.kind == "file" and (self.sensitive or self.before is not None or self.after is not None or self.cls != "live"):
            raise ValueError("a file change is live, not sensitive, with before and after null (its lines say what changes)")
        if self.lines and self.kind != "file":
            raise ValueError("lines are only for changes of kind file")
        if self.kind == "parameter" and " " in self.parameter:
            raise ValueError("a parameter name has no spaces")
        if self.password_change and self.kind != "user":
            raise ValueError("password_change is only for changes of kind user")
        if self.fingerprint is not None and not (self.sensitive or self.password_change or self.kind == "file"):
            raise ValueError("a fingerprint is only for a sensitive change or a new password")
        if self.action == "create" and self.kind not in ("user", "file"):
            raise ValueError("only a user or file change creates")
        return self


class ServerDoc(BaseModel):
    model_config = _STRICT

    flavour: Literal["redis", "valkey"]
    version: StrictStr = Field(pattern=_VERSION, max_length=40)
    run_id: StrictStr = Field(pattern=_RUN_ID)


class TargetDoc(BaseModel):
    model_config = _STRICT

    name: StrictStr = Field(min_length=1, max_length=200)
    address: StrictStr = Field(min_length=3, max_length=300, pattern=_ADDRESS)
    server: ServerDoc | None = None  # None only on a target with an error (never read)
    persist: Literal["rewrite", "file", "none"] = "rewrite"
    role: Literal["primary", "replica"] = "primary"
    managed_by: Literal["cluster", "sentinel"] | None = None
    primary: StrictStr | None = Field(None, max_length=300)
    group: StrictStr | None = Field(None, max_length=200)
    changes: list[ChangeDoc] = Field(max_length=10_000)
    warnings: list[StrictStr] = Field(max_length=1_000)
    in_sync: list[StrictStr] = Field(default_factory=list, max_length=10_000)
    # format 1.1: a target that could not be read or planned (its redacted error); never applied
    error: StrictStr | None = Field(default=None, min_length=1, max_length=4000)

    @field_validator("name", "address", "primary", "group")
    @classmethod
    def _plain(cls, v: str | None) -> str | None:
        if v is None:
            return v
        return _no_control(v, "the field")  # type: ignore[return-value]

    @field_validator("error")
    @classmethod
    def _error_text(cls, v: str | None) -> str | None:
        # an error may span lines (a refusal lists its reasons), nothing else unprintable
        if v is not None:
            _no_control(v.replace("\n", " ").replace("\t", " "), "the error")
        return v

    @model_validator(mode="after")
    def _unique(self) -> "TargetDoc":
        if self.error is None and self.server is None:
            raise ValueError("server is missing (only a target with an error, never read, has none)")
        if self.error is not None and (self.changes or self.in_sync):
            raise ValueError("a target with an error holds no changes (it could not be planned)")
        names = [c.parameter for c in self.changes]
        if len(set(names)) != len(names):
            raise ValueError("a parameter has more than one change")
        return self


class SpecRef(BaseModel):
    model_config = _STRICT

    path: StrictStr = Field(min_length=1, max_length=4096)
    sha256: StrictStr = Field(pattern=_SHA256)

    @field_validator("path")
    @classmethod
    def _path(cls, v: str) -> str:
        return _no_control(v, "the spec path")  # type: ignore[return-value]


class Summary(BaseModel):
    model_config = _STRICT

    live: StrictInt = Field(ge=0)
    restart: StrictInt = Field(ge=0)
    targets: StrictInt = Field(ge=0)
    unreadable: StrictInt = Field(default=0, ge=0)  # format 1.1: targets listed with an error
    files: StrictInt = Field(default=0, ge=0)  # format 1.1: of the live changes, rendered files to write


class LintDoc(BaseModel):
    """A lint finding as a plan records it (apply lints again itself; cli._as_planned)."""

    model_config = _STRICT

    id: StrictStr = Field(min_length=1, max_length=100)
    message: StrictStr = Field(max_length=2000)
    where: StrictStr = Field(default="", max_length=4200)
    target: StrictStr = Field(default="", max_length=200)
    # format 1.1 (views.lint_json): the same finding, split for machines
    severity: Literal["error", "warning", "accepted"] = "warning"
    file: StrictStr | None = Field(default=None, max_length=4096)
    line: StrictInt | None = Field(default=None, ge=0)
    column: StrictInt | None = Field(default=None, ge=0)
    accepted: StrictStr | None = Field(default=None, max_length=2000)


class PlanDocument(BaseModel):
    """The JSON document ``plan --out`` writes (format_version 1)."""

    model_config = _STRICT

    format_version: StrictStr = Field(pattern=_VERSION, max_length=20)
    borgconf_version: StrictStr = Field(min_length=1, max_length=100)
    spec: SpecRef
    fingerprint_salt: StrictStr | None = Field(default=None, pattern=_SALT)
    targets: list[TargetDoc] = Field(max_length=10_000)
    summary: Summary
    lint: list[LintDoc] = Field(default_factory=list, max_length=1_000)

    @model_validator(mode="after")
    def _whole(self) -> "PlanDocument":
        names = [t.name for t in self.targets]
        if len(set(names)) != len(names):
            raise ValueError("two targets have the same name")
        counted = Summary(
            live=sum(c.cls == "live" for t in self.targets for c in t.changes),
            restart=sum(c.cls == "restart" for t in self.targets for c in t.changes),
            targets=len(self.targets),
            unreadable=sum(t.error is not None for t in self.targets),
            files=sum(c.kind == "file" for t in self.targets for c in t.changes),
        )
        if counted != self.summary:
            raise ValueError("the summary does not count what the targets hold (the file was edited)")
        fingerprinted = any(c.fingerprint is not None for t in self.targets for c in t.changes)
        if fingerprinted and self.fingerprint_salt is None:
            raise ValueError("fingerprints without a fingerprint_salt")
        return self


# ---------------------------------------------------------------- reading


def _read_bytes(path: str) -> bytes:
    """The file, read without blocking (files.read_regular: a FIFO or a device is
    refused, not opened for reading), at most MAX_BYTES."""
    from .files import NotRegularFile, read_regular

    try:
        raw = read_regular(path, MAX_BYTES)
    except NotRegularFile:
        raise PlanError(f"{path} is not a regular file, so not a borgconf plan file") from None
    except OSError as e:
        raise PlanError(f"cannot read the plan file {path}: {e.strerror}") from None
    if len(raw) > MAX_BYTES:
        raise PlanError(f"{path} is {os.path.getsize(path)} bytes: a borgconf plan file is at most {MAX_BYTES} bytes")
    return raw


class _Bad(Exception):
    pass


def _no_constant(name: str) -> Any:
    raise _Bad(f"{name} is not a JSON value")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise _Bad("an object has the same key twice")
        out[k] = v
    return out


def _depth(value: Any, level: int = 0) -> int:
    if level > MAX_DEPTH:
        raise _Bad(f"nested more than {MAX_DEPTH} levels deep")
    if isinstance(value, dict):
        for v in value.values():
            _depth(v, level + 1)
    elif isinstance(value, list):
        for v in value:
            _depth(v, level + 1)
    return level


def _where(loc: tuple) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            text = str(part)
            text = text if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]{0,40}", text) else repr(text[:40])
            out += f".{text}" if out else text
    return out or "the document"


def _describe(err: ValidationError) -> str:
    errors = err.errors(include_url=False, include_input=False, include_context=False)
    first = errors[0]
    loc = tuple(p for p in first["loc"] if p not in ("function-after",))
    if first["type"] == "extra_forbidden":
        what = "is not a field of a borgconf plan (hand-edited?)"
    elif first["type"] == "missing":
        what = "is missing"
    else:
        what = first["msg"].removeprefix("Value error, ")
    more = f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})" if len(errors) > 1 else ""
    return f"{_where(loc)}: {what}{more}"


def parse_plan_document(data: bytes, path: str = "plan file") -> PlanDocument:
    """Validate the bytes of a plan file (steps 2-5 of the module docstring)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise PlanError(f"{path} is not a borgconf plan file: not UTF-8 text (byte {e.start})") from None
    try:
        doc = json.loads(text, parse_constant=_no_constant, object_pairs_hook=_no_duplicates)
        _depth(doc)
    except json.JSONDecodeError as e:
        raise PlanError(f"{path} is not a borgconf plan file: not JSON ({e.msg} at line {e.lineno})") from None
    except _Bad as e:
        raise PlanError(f"{path} is not a valid borgconf plan: {e}") from None
    except RecursionError:
        raise PlanError(f"{path} is not a valid borgconf plan: nested too deeply") from None
    if not isinstance(doc, dict) or "format_version" not in doc:
        raise PlanError(f"{path} is not a borgconf plan file (no format_version)")
    version = doc["format_version"]
    if not isinstance(version, str) or not re.fullmatch(_VERSION, version):
        raise PlanError(f"{path}: format_version must be a string like \"{FORMAT_MAJOR}\"")
    if version.split(".")[0] != FORMAT_MAJOR:
        shown = version if len(version) <= 20 else version[:20] + "..."
        raise PlanError(f"{path}: plan format_version {shown!r} is not supported (this borgconf reads {FORMAT_MAJOR}.x)")
    try:
        return PlanDocument.model_validate(doc)
    except ValidationError as e:
        raise PlanError(f"{path} is not a valid borgconf plan: {_describe(e)}") from None


def read_plan_document(path: str | os.PathLike[str]) -> PlanDocument:
    """Read and validate a saved plan file; PlanError with one clear message otherwise.
    Nothing but ``path`` is opened."""
    path = os.fspath(path)
    return parse_plan_document(_read_bytes(path), path)


__all__ = ["PlanDocument", "TargetDoc", "ChangeDoc", "ServerDoc", "SpecRef", "Summary", "LintDoc", "read_plan_document", "parse_plan_document", "MAX_BYTES", "FORMAT_MAJOR"]
