"""Pydantic v2 models of the spec (version 1) and the validation that maps every
error back to file:line:col. ``borgconf schema`` prints their JSON Schema."""

from __future__ import annotations

import re
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from . import params as P
from .errors import Problem

_FORBID = ConfigDict(extra="forbid", str_strip_whitespace=False)
# The parts of a spec: built inside SpecModel's one validator, and a validator of
# their own only when used alone (Target for --url); not at import (issue 15).
_PART = ConfigDict(extra="forbid", str_strip_whitespace=False, defer_build=True)


# Python functions, not the builtins dict and list: for a default_factory pydantic
# asks inspect.signature() whether it takes the validated data, and a builtin's
# signature is parsed from its text (ast) each time, ~0.5 ms apiece (issue 15).
def _dict() -> dict:
    return {}


def _list() -> list:
    return []


class _At(ValueError):
    """A validation error about one part of the value validated: ``sub`` extends
    its location (services.n8n.env + ("REDIS_URL",)), ``at_key`` points at the key."""

    def __init__(self, message: str, sub: tuple = (), *, at_key: bool = False):
        super().__init__(message)
        self.sub = tuple(sub)
        self.at_key = at_key


def _plain(text: str, what: str) -> str:
    if any(c in text for c in "\n\r\x00"):
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
    name: str = Field("default", pattern=r"^[A-Za-z0-9_.:-]{1,64}$")
    url: str = "redis://127.0.0.1:6379"
    username: str | None = Field(None, pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.@-]{0,63}$")
    password: str | None = None
    config_command: str = Field("CONFIG", pattern=r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")
    persist: Literal["rewrite", "file", "none"] = "rewrite"
    timeout: float = Field(5.0, gt=0, le=300)
    tls: Tls | None = None

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

    @field_validator("password")
    @classmethod
    def _password(cls, v: str | None) -> str | None:
        return _plain(v, "a password") if v is not None else v

    @property
    def address(self) -> str:
        parts = urlsplit(self.url)
        return f"{parts.hostname}:{6379 if parts.port is None else parts.port}"


class Service(BaseModel):
    model_config = _PART
    db: int = Field(ge=0, le=1_000_000)
    role: Literal["queue", "cache", "session"] | None = None
    user: str | None = Field(None, pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.@-]{0,63}$")
    env: dict[str, str] = Field(default_factory=_dict)

    @field_validator("env")
    @classmethod
    def _env(cls, v: dict[str, str]) -> dict[str, str]:
        for k, val in v.items():
            if not re.fullmatch(r"^[A-Z_][A-Z0-9_]{0,127}$", k):
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
        for tok in self.commands.split():
            if not re.fullmatch(r"(?i)[+-]@?[a-z0-9_|.-]+|allcommands|nocommands", tok):
                raise _At(f"{tok[:1]!r}...: commands takes +command, -command, +@category, -@category, allcommands or nocommands (passwords go in password:, keys in keys:)", ("commands",))
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
    host: str = Field("redis", pattern=r"^[A-Za-z0-9_.:\[\]-]{1,253}$")
    port: int | None = Field(None, ge=1, le=65535)


class SpecModel(BaseModel):
    """The top level of a spec file (after ``extends:`` was merged)."""

    model_config = _FORBID
    version: Literal[1]
    target: Target | None = None
    targets: list[Target] | None = None
    server: dict[str, Any] = Field(default_factory=_dict)
    ignore: list[str] = Field(default_factory=_list)
    commands: dict[str, str] = Field(default_factory=_dict)
    services: dict[str, Service] = Field(default_factory=_dict)
    users: dict[str, User] = Field(default_factory=_dict)
    render: Render = Field(default_factory=Render)

    @model_validator(mode="after")
    def _one_target_form(self) -> "SpecModel":
        if self.target is not None and self.targets is not None:
            raise _At("use either target: or targets:, not both", ("targets",), at_key=True)
        return self


_SENSITIVE_KEYS = {"password", "requirepass", "masterauth", "primaryauth", "config_command", "url"}  # never echoed
_TOP_KEYS = list(SpecModel.model_fields)


_PATTERN_HELP = {
    "name": "a target name (letters, digits, _ . : -)",
    "username": "an ACL user name (letters, digits, _ . @ -)",
    "user": "an ACL user name (letters, digits, _ . @ -)",
    "config_command": "a command name (letters, digits, _ and -)",
    "host": "a host name or address (letters, digits, _ . : - [ ])",
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


def validate(doc, shown: str, files: list[str], problems: list[Problem], var_paths) -> Any:
    from .spec import Spec, ServerValue, _problem, file_digest

    data = doc.data
    try:
        model = SpecModel.model_validate(data)
    except ValidationError as e:
        for err in e.errors(include_url=False):
            loc = tuple(err["loc"])
            at = (err.get("ctx") or {}).get("error")
            if isinstance(at, _At):
                loc += at.sub
            # commands.X holds a renamed command's secret name
            sensitive = any(str(x) in _SENSITIVE_KEYS for x in loc) or (loc[:1] == ("commands",))
            msg = _message(err, sensitive)
            if err["type"] == "extra_forbidden":
                parent = loc[:-1]
                options = _TOP_KEYS if not parent else list(_model_at(parent).model_fields) if _model_at(parent) else []
                msg += _suggest_key(str(loc[-1]), options)
                problems.append(_problem(doc, loc, msg, at_key=True))
            elif err["type"] == "missing":
                problems.append(_problem(doc, loc[:-1], f"{loc[-1]}: {msg}"))
            else:
                problems.append(_problem(doc, loc, msg, at_key=isinstance(at, _At) and at.at_key))
        model = None

    catalog = P.catalog()
    server: dict[str, ServerValue] = {}
    raw_server = data.get("server") if isinstance(data, dict) else None
    if isinstance(raw_server, dict):
        for name, value in raw_server.items():
            path = ("server", name)
            p = catalog.lookup(name)
            if p is None:
                hint = catalog.suggest(name)
                msg = f"unknown parameter {name!r}" + (f"; did you mean {hint!r}?" if hint else "")
                problems.append(_problem(doc, path, msg, at_key=True))
                continue
            if p.name in server:
                problems.append(_problem(doc, path, f"{name!r} is another name of {server[p.name].name_used!r}, already given", at_key=True))
                continue
            try:
                checked = P.check(p, value)
            except P.InvalidValue as e:
                msg = str(e) if not p.sensitive else "invalid value (not shown: sensitive)"
                problems.append(_problem(doc, path, msg))
                continue
            server[p.name] = ServerValue(p, checked, value, name)
    elif raw_server is not None:
        problems.append(_problem(doc, ("server",), "expected a mapping of parameter: value"))

    ignore: set[str] = set()
    if model is not None:
        for i, name in enumerate(model.ignore):
            p = catalog.lookup(name)
            if p is None:
                hint = catalog.suggest(name)
                problems.append(_problem(doc, ("ignore", i), f"unknown parameter {name!r}" + (f"; did you mean {hint!r}?" if hint else "")))
            else:
                ignore.add(p.name)
        for name in sorted(ignore & set(server)):
            problems.append(_problem(doc, ("server", server[name].name_used), f"{name} is both set and in ignore:", at_key=True))

    commands: dict[str, str] = {}
    if model is not None:
        for cmd, action in model.commands.items():
            path = ("commands", cmd)
            if not re.fullmatch(r"^[A-Za-z][A-Za-z0-9_-]{0,63}$", cmd):
                problems.append(_problem(doc, path, f"{cmd!r} is not a command name", at_key=True))
                continue
            act = action.strip()
            if act.lower() in ("disabled", "enabled"):
                commands[cmd.upper()] = act.lower()
            elif re.fullmatch(r"^[A-Za-z0-9_-]{1,128}$", act):
                commands[cmd.upper()] = act
            else:
                problems.append(_problem(doc, path, "expected disabled, enabled, or a new name (letters, digits, _ and -)"))

    services = model.services if model is not None else {}
    if model is not None:
        seen_db: dict[int, str] = {}
        databases = 16
        if "databases" in server and isinstance(server["databases"].checked, int):
            databases = server["databases"].checked
        for name, svc in services.items():
            path = ("services", name)
            if not re.fullmatch(r"^[a-z][a-z0-9_-]{0,62}$", name):
                problems.append(_problem(doc, path, f"{name!r} is not a service name (lower-case letters, digits, _ and -)", at_key=True))
            if svc.db in seen_db:
                problems.append(_problem(doc, path + ("db",), f"database {svc.db} is already used by service {seen_db[svc.db]!r}"))
            else:
                seen_db[svc.db] = name
            if svc.db >= databases:
                problems.append(_problem(doc, path + ("db",), f"database {svc.db} does not exist: databases is {databases} (0..{databases - 1})"))
            if svc.user is not None and svc.user not in model.users and svc.user != "default":
                problems.append(_problem(doc, path + ("user",), f"user {svc.user!r} is not defined under users:"))
        for name in model.users:
            if not re.fullmatch(r"^[A-Za-z0-9_][A-Za-z0-9_.@-]{0,63}$", name):
                problems.append(_problem(doc, ("users", name), f"{name!r} is not an ACL user name", at_key=True))
            elif name == "default":
                problems.append(_problem(doc, ("users", name), "the default user is set through server.requirepass; give this user another name", at_key=True))

    if problems or model is None:
        return None
    targets = model.targets if model.targets is not None else [model.target or Target()]
    names = [t.name for t in targets]
    if len(set(names)) != len(names):
        i = next(i for i, n in enumerate(names) if n in names[:i])
        problems.append(_problem(doc, ("targets", i, "name"), f"target names must be unique: {names[i]!r} is also targets[{names.index(names[i])}]"))
        return None
    return Spec(
        path=shown,
        files=files,
        sha256=file_digest(files),
        version=model.version,
        targets=targets,
        server=server,
        ignore=ignore,
        commands=commands,
        services=dict(services),
        users=dict(model.users),
        render=model.render,
        var_paths=var_paths,
        positions=doc.pos,
    )


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


def json_schema() -> dict:
    schema = SpecModel.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "borgconf spec (version 1)"
    props = schema.get("properties", {})
    names = {}
    for p in P.catalog():
        for n in p.names():
            names[n] = {"description": f"{p.type}, {p.cls}" + (", sensitive" if p.sensitive else "")}
    props["server"] = {"type": "object", "properties": names, "additionalProperties": False}
    props["extends"] = {"type": "string", "description": "a base spec merged under this one (mappings merged, lists replaced)"}
    return schema
