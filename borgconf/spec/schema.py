"""Pydantic v2 models of the spec (version 1) and the validation that maps every
error back to file:line:col. ``borgconf schema`` prints their JSON Schema."""

# no `from __future__ import annotations`: pydantic reads the field types as objects, not text it must evaluate (issue 15)

import re
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from .. import params as P
from . import names as N
from .names import has_line_break

_FORBID = ConfigDict(extra="forbid", str_strip_whitespace=False)
# The parts of a spec: built inside SpecModel's one validator, and a validator of
# their own only when used alone (Target for --url); not at import, and not for
# a part the spec leaves out (defaults_of) (issue 15).
_PART = ConfigDict(extra="forbid", str_strip_whitespace=False, defer_build=True)


# Python functions, not the builtins dict and list: for a default_factory pydantic
# asks inspect.signature() whether it takes the validated data, and a builtin's
# signature is parsed from its text (ast) each time, ~0.5 ms apiece (issue 15).
def _dict() -> dict:
    return {}


def _list() -> list:
    return []


def defaults_of(model: type) -> Any:
    """``model()``: a part with every field at its default, made without building
    the part's own validator (~1-3 ms each; defaults are never validated, and an
    after-validator of a part passes on its defaults). For a spec without
    ``render:``, ``lint:`` or any target (issue 15)."""
    return model.model_construct()


class _At(ValueError):
    """A validation error about one part of the value validated: ``sub`` extends
    its location (services.n8n.env + ("REDIS_URL",)), ``at_key`` points at the key."""

    def __init__(self, message: str, sub: tuple = (), *, at_key: bool = False):
        super().__init__(message)
        self.sub = tuple(sub)
        self.at_key = at_key


def _plain(text: str, what: str) -> str:
    if has_line_break(text):
        raise ValueError(f"a newline or NUL is not allowed in {what}")
    return text


class Tls(BaseModel):
    model_config = _PART
    ca_certs: str | None = None
    certfile: str | None = None
    keyfile: str | None = None
    check_hostname: bool = True


class Target(BaseModel):
    model_config = _PART
    name: str = Field("default", pattern=N.TARGET_NAME_PATTERN)
    url: str = "redis://127.0.0.1:6379"
    username: str | None = Field(None, pattern=N.USER_NAME_PATTERN)
    password: str | None = None
    previous_password: str | None = None  # tried when password is refused: a rotation under way
    config_command: str = Field("CONFIG", pattern=N.COMMAND_NAME_PATTERN)
    persist: Literal["rewrite", "file", "none"] = "rewrite"
    timeout: float = Field(5.0, gt=0, le=300)
    tls: Tls | None = None
    # fleets (product.md §6): the nodes behind this target, found when planning
    discover: Literal["replicas", "cluster", "sentinel"] | None = None
    sentinel_master: str | None = Field(None, pattern=N.SENTINEL_MASTER_PATTERN)
    # this target's own parameters, merged over the shared server: block (checked in spec.checks)
    server: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _discover(self) -> "Target":
        if self.discover == "sentinel" and not self.sentinel_master:
            raise _At("discover: sentinel needs sentinel_master: the name the Sentinel monitors the master by", ("discover",))
        if self.sentinel_master is not None and self.discover != "sentinel":
            raise _At("sentinel_master is only for discover: sentinel", ("sentinel_master",), at_key=True)
        if self.discover is not None and self.persist == "file":
            raise _At(
                f"persist: file cannot serve discover: {self.discover}: the rendered redis.conf has no replicaof or cluster "
                "lines, so a restarted replica or cluster node would come back as a lone primary; use persist: rewrite",
                ("persist",),
            )
        return self

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        _plain(v, "a URL")
        parts = urlsplit(v)
        if parts.scheme not in ("redis", "rediss"):
            raise ValueError("expected a redis:// or rediss:// URL")
        if parts.password is not None or (parts.username and "@" in parts.netloc):
            raise ValueError("a URL must not hold credentials; use target.username / target.password")
        if not parts.hostname:
            raise ValueError("the URL has no host")
        try:
            port = parts.port
        except ValueError:
            raise ValueError("the URL's port is not a number from 1 to 65535") from None
        if port == 0:
            raise ValueError("the URL's port is not a number from 1 to 65535")
        if parts.path not in ("", "/") or parts.query or parts.fragment:
            raise ValueError("the URL names only host and port (database numbers belong to services)")
        return v

    @field_validator("password", "previous_password")
    @classmethod
    def _password(cls, v: str | None) -> str | None:
        return _plain(v, "a password") if v is not None else v

    @property
    def address(self) -> str:
        parts = urlsplit(self.url)
        return f"{parts.hostname}:{6379 if parts.port is None else parts.port}"


_FLOAT_TEXT = r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?"  # compiled by re on first use: only text is matched (issue 15)


def _whole_number(v: Any) -> Any:
    """An integer as YAML or a ${VAR} gives it: true (read as 1) and 1.0 are not."""
    if isinstance(v, bool):
        raise ValueError("expected a whole number, not a boolean")
    if isinstance(v, float) or (isinstance(v, str) and re.fullmatch(_FLOAT_TEXT, v.strip()) and not v.strip().lstrip("+-").isdigit()):
        raise ValueError("expected a whole number, without a decimal point or exponent")
    return v


class Service(BaseModel):
    model_config = _PART
    db: int = Field(ge=0, le=1_000_000)

    _db = field_validator("db", mode="before")(classmethod(lambda cls, v: _whole_number(v)))
    role: Literal["queue", "cache", "session"] | None = None
    user: str | None = Field(None, pattern=N.USER_NAME_PATTERN)
    env: dict[str, str] = Field(default_factory=_dict)

    @field_validator("env")
    @classmethod
    def _env(cls, v: dict[str, str]) -> dict[str, str]:
        for k, val in v.items():
            if not N.ENV_NAME.fullmatch(k):
                raise _At(f"{k!r} is not an environment variable name (A-Z, 0-9, _)", (k,), at_key=True)
            try:
                _plain(val, f"env.{k}")
            except ValueError as e:
                raise _At(str(e), (k,)) from None
        return v


class User(BaseModel):
    model_config = _PART
    password: str | None = None
    enabled: bool = True
    keys: list[str] = Field(default_factory=lambda: ["*"])
    channels: list[str] = Field(default_factory=_list)
    commands: str = "+@all"

    @model_validator(mode="after")
    def _plain_fields(self) -> "User":
        parts = [(("keys", i), k) for i, k in enumerate(self.keys)] + [(("channels", i), c) for i, c in enumerate(self.channels)]
        for sub, item in [*parts, (("commands",), self.commands)]:
            try:
                _plain(item, "an ACL rule")
            except ValueError as e:
                raise _At(str(e), sub) from None
            if any(c.isspace() for c in item) and sub[0] != "commands":
                raise _At("key and channel patterns cannot contain spaces", sub)
        # the rules themselves (keys, channels, commands) are checked by Redis's grammar in checks (spec/acl.py)
        if self.password is not None:
            try:
                _plain(self.password, "a password")
            except ValueError as e:
                raise _At(str(e), ("password",)) from None
        return self


class Render(BaseModel):
    model_config = _PART
    redis_conf: str | None = None
    env_file: str | None = None
    # where applications reach Redis (the .env URLs and snippets); unset: the
    # target's host and port (spec.render_address), else redis and server.port / 6379
    host: str | None = Field(
        None, pattern=N.HOST_PATTERN,
        description="the host in the .env URLs; default: the host of the spec's target URL, else redis",
    )
    port: int | None = Field(
        None, ge=1, le=65535,
        description="the port in the .env URLs; default: the port of the spec's target URL, else server.port, else 6379",
    )
    # the memory of the machine the rendered redis.conf is for: what `maxmemory: 25%` is 25% of
    total_memory: int | str | None = Field(
        None,
        description="the total memory of the machine the rendered redis.conf is for (e.g. 8gb): resolves maxmemory: 25% when rendering; never the machine borgconf runs on",
    )

    _port = field_validator("port", mode="before")(classmethod(lambda cls, v: _whole_number(v) if v is not None else v))

    _total = field_validator("total_memory", mode="before")(classmethod(lambda cls, v: _whole_number(v) if not isinstance(v, str) else v))

    @field_validator("total_memory")
    @classmethod
    def _total_memory(cls, v: int | str | None) -> int | None:
        if v is None:
            return v
        if isinstance(v, str) and v.strip().endswith("%"):
            raise ValueError("expected the memory size of the machine (e.g. 8gb), not a percentage")
        try:
            n = P.parse_memory(v.strip() if isinstance(v, str) else v)
        except P.InvalidValue as e:
            raise ValueError(str(e).replace(", 25%", "")) from None
        if n <= 0:
            raise ValueError("expected a memory size above 0 (e.g. 8gb)")
        return n


class Lint(BaseModel):
    """lint.accept: lint findings accepted on purpose, each with the reason why."""

    model_config = _PART
    accept: dict[str, str] = Field(default_factory=_dict)

    @field_validator("accept")
    @classmethod
    def _reasons(cls, v: dict[str, str]) -> dict[str, str]:
        for k, reason in v.items():
            if not reason.strip():
                raise _At(f"accepting {k} needs a reason (why this finding does not apply here)", (k,))
            try:
                _plain(reason, "a reason")
            except ValueError as e:
                raise _At(str(e), (k,)) from None
        return v


class SpecModel(BaseModel):
    """The top level of a spec file (after ``extends:`` was merged)."""

    model_config = _FORBID
    version: Literal[1]

    @field_validator("version", mode="before")
    @classmethod
    def _version_is_the_integer_1(cls, v: Any) -> Any:
        if isinstance(v, bool) or not isinstance(v, int) or v != 1:
            raise ValueError("expected version: 1 (the integer 1)")
        return v
    target: Target | None = None
    targets: list[Target] | None = None
    server: dict[str, Any] = Field(default_factory=_dict)
    ignore: list[str] = Field(default_factory=_list)
    commands: dict[str, str] = Field(default_factory=_dict)
    services: dict[str, Service] = Field(default_factory=_dict)
    users: dict[str, User] = Field(default_factory=_dict)
    render: Render = Field(default_factory=lambda: defaults_of(Render))
    lint: Lint = Field(default_factory=lambda: defaults_of(Lint))

    @model_validator(mode="after")
    def _one_target_form(self) -> "SpecModel":
        if self.target is not None and self.targets is not None:
            raise _At("use either target: or targets:, not both", ("targets",), at_key=True)
        return self


_TOP_KEYS = list(SpecModel.model_fields)

# server parameter types whose values are text: a YAML number there is text as written
_TEXT_PARAM_TYPES = {"string", "string-list", "save", "keyspace-events", "replicaof", "client-output-buffer-limit"}
_TARGET_TEXT = {"name", "url", "username", "password", "config_command"}


def is_text_field(path: tuple) -> bool:
    """The spec's value at ``path`` is text (a password, a name, a path, a
    pattern): YAML's reading of a plain scalar as a number or a boolean there
    is not what was meant (requirepass: 0123456 is not 123456)."""
    n = len(path)
    head = path[0] if path else None
    if head == "server" and n == 2:
        p = P.catalog().lookup(str(path[1]))
        return p is not None and (p.sensitive or p.type in _TEXT_PARAM_TYPES)
    if head == "server" and n == 3:  # a list of a string-list parameter
        p = P.catalog().lookup(str(path[1]))
        return p is not None and p.type in ("string-list", "save")
    if head in ("target", "targets"):
        rest = path[1:] if head == "target" else path[2:]
        return rest[:1] in ((k,) for k in _TARGET_TEXT) and len(rest) == 1 or (len(rest) == 2 and rest[0] == "tls" and rest[1] != "check_hostname")
    if head == "services" and n >= 3:
        return (n == 3 and path[2] == "user") or (n == 4 and path[2] == "env")
    if head == "users" and n >= 3:
        return (n == 3 and path[2] in ("password", "commands")) or (n == 4 and path[2] in ("keys", "channels"))
    if head == "render" and n == 2:
        return path[1] in ("redis_conf", "env_file", "host")
    if head in ("commands", "ignore") and n == 2:
        return True
    return False


_PATTERN_HELP = {
    "name": "a target name (letters, digits, _ . : -)",
    "username": "an ACL user name (letters, digits, _ . @ -)",
    "user": "an ACL user name (letters, digits, _ . @ -)",
    "config_command": "a command name (letters, digits, _ and -)",
    "host": "a host name or address (letters, digits, _ . : - [ ])",
    "sentinel_master": "a Sentinel master name (letters, digits, _ . -)",
}
_TYPE_HELP = {"dict_type": "expected a mapping", "model_type": "expected a mapping", "model_attributes_type": "expected a mapping", "list_type": "expected a list"}


def _message(err: dict, sensitive: bool) -> str:
    msg = err["msg"]
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    if err["type"] == "string_pattern_mismatch" and err["loc"] and err["loc"][-1] in _PATTERN_HELP:
        msg = f"expected {_PATTERN_HELP[err['loc'][-1]]}"
    msg = _TYPE_HELP.get(err["type"], msg)
    if err["type"] == "extra_forbidden":
        return "unknown key"
    if err["type"] == "missing":
        return "required key is missing"
    if err["type"] == "literal_error" and err["loc"] == ("version",):
        return "expected version: 1"
    inp = err.get("input")
    if not sensitive and isinstance(inp, (str, int, float)) and not isinstance(inp, bool) and len(str(inp)) <= 80:
        return f"{msg} (got {inp!r})"
    return msg


def _suggest_key(key: str, options: list[str]) -> str:
    import difflib

    close = difflib.get_close_matches(key, options, n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def _model_at(path: tuple):
    """The model class found at a loc path (for suggestions on unknown keys)."""
    node: Any = SpecModel
    for part in path:
        if isinstance(part, int):
            continue
        fields = getattr(node, "model_fields", None)
        if fields is None:
            return None
        if part in fields:
            ann = fields[part].annotation
            node = _inner_model(ann)
        else:
            # a dict value (services.<name>) keeps the value model
            node = node
    return node if hasattr(node, "model_fields") else None


def _inner_model(ann: Any):
    import typing

    for arg in (ann, *typing.get_args(ann)):
        if isinstance(arg, type) and issubclass(arg, BaseModel):
            return arg
        for sub in typing.get_args(arg):
            if isinstance(sub, type) and issubclass(sub, BaseModel):
                return sub
    return None


# A ${VAR} placeholder: borgconf interpolates before it validates, so wherever
# the schema checks a pattern, a number, a boolean or a choice, a string holding
# a placeholder is also right (an editor must not flag `username: ${REDIS_USER}`).
PLACEHOLDER_SCHEMA = {
    "type": "string",
    "pattern": r"\$\{[A-Za-z_][A-Za-z0-9_]*(:-[^}]*)?\}",
    "description": "a ${VAR} or ${VAR:-default} placeholder (interpolated before validation)",
}
_ANNOTATIONS = ("title", "description", "default")


def _split(node: dict) -> tuple[dict, dict]:
    """(annotations, constraints) of a schema node."""
    return {k: v for k, v in node.items() if k in _ANNOTATIONS}, {k: v for k, v in node.items() if k not in _ANNOTATIONS}


def _with_placeholders(node: Any) -> Any:
    """Every checked scalar also takes a string holding a ${VAR} placeholder."""
    if isinstance(node, list):
        return [_with_placeholders(n) for n in node]
    if not isinstance(node, dict):
        return node
    node = {k: (v if k in ("properties", "$defs") else _with_placeholders(v)) for k, v in node.items()}
    for key in ("properties", "$defs"):
        if key in node:
            node[key] = {k: _with_placeholders(v) for k, v in node[key].items()}
    kind = node.get("type")
    checked = (kind == "string" and ("pattern" in node or "enum" in node)) or kind in ("integer", "number", "boolean")
    if checked and "const" not in node:
        notes, core = _split(node)
        return {**notes, "anyOf": [core, PLACEHOLDER_SCHEMA]}
    return node


def _nullable(node: dict) -> dict:
    """The node, or null (what a child spec writes to remove an inherited key)."""
    if not any(k not in _ANNOTATIONS for k in node):
        return node  # no constraint: null is already fine
    if any(alt.get("type") == "null" for alt in node.get("anyOf", [])):
        return node
    notes, core = _split(node)
    return {**notes, "anyOf": [core, {"type": "null"}]}


def _overlay(node: Any) -> Any:
    """The schema of a spec that extends another: nothing is required (the base
    gives it) and every key may be null (removes what the base gives)."""
    if isinstance(node, list):
        return [_overlay(n) for n in node]
    if not isinstance(node, dict):
        return node
    out: dict = {}
    for k, v in node.items():
        if k == "required":
            continue
        if k == "$ref" and isinstance(v, str) and v.startswith("#/$defs/"):
            out[k] = v + "Overlay"
        elif k == "properties":
            out[k] = {name: _nullable(_overlay(sub)) for name, sub in v.items()}
        elif k == "additionalProperties" and isinstance(v, dict):
            out[k] = _nullable(_overlay(v))
        else:
            out[k] = _overlay(v)
    return out


def json_schema() -> dict:
    """The JSON Schema of a spec file.

    A file without ``extends:`` must be a whole spec (``$defs/Spec``). A file
    with it is an overlay: every key optional, and any key may be null (a null
    removes what the base gives; see spec.extends). Every checked scalar also
    takes a ${VAR} placeholder."""
    spec = _with_placeholders(SpecModel.model_json_schema())
    defs = spec.pop("$defs")
    props = spec["properties"]
    names = {}
    for p in P.catalog():
        for n in p.names():
            names[n] = {"description": f"{p.type}, {p.cls}" + (", sensitive" if p.sensitive else "")}
    props["server"] = {"type": "object", "properties": names, "additionalProperties": False}
    target = defs.get("Target", {}).get("properties", {})
    if "server" in target:
        target["server"] = {
            "type": "object",
            "properties": names,
            "additionalProperties": False,
            "description": "this target's own parameters, merged over the shared server: block",
        }
    from ..lint import ERROR_IDS, LINT_IDS

    accept = defs["Lint"]["properties"]["accept"]
    accept["propertyNames"] = {"enum": [i for i in LINT_IDS if i not in ERROR_IDS]}  # an error cannot be accepted
    accept["additionalProperties"] = {"type": "string", "pattern": r"\S", "description": "why this finding is accepted (required)"}
    accept["description"] = "lint findings accepted on purpose: id -> the reason (shown as accepted, not failing --strict)"
    props["extends"] = {"type": "string", "description": "a base spec merged under this one (mappings merged, lists replaced, a null removes an inherited key)"}
    overlay_defs = {f"{name}Overlay": _overlay(d) for name, d in defs.items()}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        **_overlay(spec),
        "title": "borgconf spec (version 1)",
        "description": "A whole spec, or (with extends:) an overlay on a base spec: every key optional, a null removes an inherited key.",
        "if": {"not": {"required": ["extends"]}},
        "then": {"$ref": "#/$defs/Spec"},
        "$defs": {**defs, **overlay_defs, "Spec": spec},
    }
