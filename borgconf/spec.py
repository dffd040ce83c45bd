"""Load a spec: YAML with positions, ``extends:``, ``${VAR}`` interpolation, validation.

Every problem becomes a :class:`~borgconf.errors.Problem` naming file:line:col
and what was expected; all problems of a file are reported together.
Nothing here touches the network.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import params as P
from . import redact
from .errors import Problem, SpecError

MAX_SPEC_BYTES = 1024 * 1024
MAX_NODES = 100_000
MAX_EXTENDS_DEPTH = 16

_VAR = re.compile(r"\$\$|\$\{([^}:]*)(?::-([^}]*))?\}")
_VAR_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
SERVICE_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")
ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]{0,127}$")
USER_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.@-]{0,63}$")
COMMAND_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")

Path_ = tuple  # a path in the spec: ("server", "maxmemory")


# ---------------------------------------------------------------- YAML with positions


@dataclass
class _Doc:
    data: Any
    pos: dict[tuple, tuple[str, int, int]]  # path -> (file, line, col), 1-based
    key_pos: dict[tuple, tuple[str, int, int]]


def _read_yaml(path: Path, shown: str) -> _Doc:
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise SpecError([Problem(shown, 0, 0, "", "file not found")]) from None
    except OSError as e:
        raise SpecError([Problem(shown, 0, 0, "", f"cannot read: {e.strerror}")]) from None
    if size > MAX_SPEC_BYTES:
        raise SpecError([Problem(shown, 0, 0, "", f"spec file is too large ({size} bytes; the limit is {MAX_SPEC_BYTES})")])
    try:
        raw = path.read_bytes()
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise SpecError([Problem(shown, 0, 0, "", f"not UTF-8 text (byte {e.start})")]) from None
    except OSError as e:
        raise SpecError([Problem(shown, 0, 0, "", f"cannot read: {e.strerror}")]) from None
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise SpecError([Problem(shown, line, 0, "", "a NUL character is not allowed in a spec")])

    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    yaml = YAML(typ="rt")
    try:
        data = yaml.load(text)
    except MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        what = (e.problem or e.context or "invalid YAML").strip()
        raise SpecError([Problem(shown, line, col, "", f"YAML syntax error: {what}")]) from None
    except (YAMLError, RecursionError) as e:
        raise SpecError([Problem(shown, 0, 0, "", f"YAML error: {type(e).__name__}")]) from None

    pos: dict[tuple, tuple[str, int, int]] = {}
    key_pos: dict[tuple, tuple[str, int, int]] = {}
    budget = [MAX_NODES]

    def plain(node: Any, path: tuple) -> Any:
        budget[0] -= 1
        if budget[0] < 0:
            raise SpecError([Problem(shown, 0, 0, "", f"spec has more than {MAX_NODES} values (a YAML alias bomb?)")])
        if isinstance(node, dict):
            out = {}
            lc = getattr(node, "lc", None)
            for k, v in node.items():
                if isinstance(k, (dict, list)) or k is None:
                    kl = lc.data.get(k) if lc is not None and k is not None else None
                    line = kl[0] + 1 if kl else 0
                    raise SpecError([Problem(shown, line, 0, _dotted(path), "a mapping key must be a plain name")])
                key = str(k) if not isinstance(k, bool) else ("true" if k else "false")
                if lc is not None and k in lc.data:
                    kl, kc, vl, vc = lc.data[k]
                    key_pos[path + (key,)] = (shown, kl + 1, kc + 1)
                    pos[path + (key,)] = (shown, vl + 1, vc + 1)
                out[key] = plain(v, path + (key,))
            return out
        if isinstance(node, list):
            lc = getattr(node, "lc", None)
            out_list = []
            for i, v in enumerate(node):
                if lc is not None and i in lc.data:
                    il, ic = lc.data[i][:2]
                    pos[path + (i,)] = key_pos[path + (i,)] = (shown, il + 1, ic + 1)
                out_list.append(plain(v, path + (i,)))
            return out_list
        # ruamel scalar subclasses (ScalarFloat, CommentedSeq...) -> plain Python
        if isinstance(node, bool) or node is None:
            return node
        if isinstance(node, int):
            return int(node)
        if isinstance(node, float):
            return float(node)
        if isinstance(node, str):
            return str(node)
        return str(node)  # dates and other YAML types: treat as text

    try:
        data = plain(data, ())
    except RecursionError:
        raise SpecError([Problem(shown, 0, 0, "", "spec is nested too deeply")]) from None
    pos.setdefault((), (shown, 1, 1))
    return _Doc(data, pos, key_pos)


def _dotted(path: tuple) -> str:
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


# ---------------------------------------------------------------- extends + interpolation


def _merge(base: _Doc, over: _Doc) -> _Doc:
    """Mappings merged recursively, everything else (lists included) replaced."""

    def merge(b: Any, o: Any, path: tuple) -> Any:
        if isinstance(b, dict) and isinstance(o, dict):
            out = dict(b)
            for k, v in o.items():
                out[k] = merge(b[k], v, path + (k,)) if k in b else v
            return out
        # replaced: drop the base's positions below this path
        for table in (pos, key_pos):
            for p in [p for p in table if p[: len(path)] == path and len(p) > len(path)]:
                del table[p]
        return o

    pos = dict(base.pos)
    key_pos = dict(base.key_pos)
    data = merge(base.data, over.data, ())
    pos.update(over.pos)
    key_pos.update(over.key_pos)
    return _Doc(data, pos, key_pos)


def _load_chain(path: Path, shown: str, seen: tuple[Path, ...], files: list[Path]) -> _Doc:
    doc = _read_yaml(path, shown)
    files.append(path)
    if not isinstance(doc.data, dict):
        raise SpecError([Problem(shown, 1, 1, "", "a spec is a YAML mapping (version: 1, target:, server:, ...)")])
    ext = doc.data.pop("extends", None)
    if ext is None:
        return doc
    where = doc.pos.get(("extends",), (shown, 0, 0))
    if not isinstance(ext, str) or not ext.strip():
        raise SpecError([Problem(*where, "extends", "expected the path of a base spec (a string)")])
    if len(seen) >= MAX_EXTENDS_DEPTH:
        raise SpecError([Problem(*where, "extends", f"more than {MAX_EXTENDS_DEPTH} levels of extends")])
    base_path = (path.parent / ext).resolve()
    if base_path in seen:
        chain = " -> ".join(p.name for p in (*seen, base_path))
        raise SpecError([Problem(*where, "extends", f"extends cycle: {chain}")])
    if not base_path.is_file():
        raise SpecError([Problem(*where, "extends", f"base spec {ext!r} not found")])
    base_shown = os.path.relpath(base_path) if not os.path.isabs(shown) else str(base_path)
    base = _load_chain(base_path, base_shown, (*seen, base_path), files)
    return _merge(base, doc)


def interpolate(text: str, env: dict[str, str], used: set[str]) -> str:
    """``${VAR}``, ``${VAR:-default}`` and ``$$`` (a literal $). Raises KeyError(var) / ValueError(msg)."""

    def sub(m: re.Match) -> str:
        if m.group(0) == "$$":
            return "$"
        name, default = m.group(1), m.group(2)
        if not _VAR_NAME.match(name):
            raise ValueError(f"{name!r} is not a variable name in ${{...}}")
        used.add(name)
        value = env.get(name)
        if value is None or (value == "" and default is not None):
            if default is None:
                raise KeyError(name)
            return default
        return value

    if "$" not in text:
        return text
    out = _VAR.sub(sub, text)
    return out


def _interpolate_tree(doc: _Doc, env: dict[str, str], problems: list[Problem], var_paths: dict[tuple, set[str]]) -> None:
    def walk(node: Any, path: tuple) -> Any:
        if isinstance(node, dict):
            return {k: walk(v, path + (k,)) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v, path + (i,)) for i, v in enumerate(node)]
        if isinstance(node, str) and "$" in node:
            used: set[str] = set()
            try:
                out = interpolate(node, env, used)
            except KeyError as e:
                problems.append(_problem(doc, path, f"variable ${{{e.args[0]}}} is not set (environment or --env-file); use ${{{e.args[0]}:-default}} for a default"))
                return node
            except ValueError as e:
                problems.append(_problem(doc, path, str(e)))
                return node
            if used:
                var_paths[path] = used
            return out
        return node

    doc.data = walk(doc.data, ())


def _problem(doc: _Doc, path: tuple, message: str, *, at_key: bool = False) -> Problem:
    table = doc.key_pos if at_key else doc.pos
    p = path
    while p and p not in table:
        p = p[:-1]
    file, line, col = table.get(p) or doc.pos.get(p) or doc.pos[()]
    return Problem(file, line, col, _dotted(path), message)


# ---------------------------------------------------------------- the validated spec


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
    targets: list[Any]  # models.Target
    server: dict[str, ServerValue]
    ignore: set[str]
    commands: dict[str, str]  # COMMAND -> "disabled" | "enabled" | new name
    services: dict[str, Any]  # models.Service
    users: dict[str, Any]  # models.User
    render: Any  # models.Render
    warnings: list[Problem] = field(default_factory=list)
    var_paths: dict[tuple, set[str]] = field(default_factory=dict)
    positions: dict[tuple, tuple[str, int, int]] = field(default_factory=dict)

    @property
    def target(self):
        return self.targets[0]

    def where(self, path: tuple) -> tuple[str, int, int]:
        p = path
        while p and p not in self.positions:
            p = p[:-1]
        return self.positions.get(p, (self.path, 0, 0))

    def warn(self, path: tuple, message: str) -> Problem:
        file, line, col = self.where(path)
        return Problem(file, line, col, _dotted(path), message)

    def secrets(self) -> list[str]:
        out = [t.password for t in self.targets if t.password]
        out += [t.config_command for t in self.targets if t.config_command.upper() != "CONFIG"]
        out += [v.checked for v in self.server.values() if v.param.sensitive and v.checked]
        out += [u.password for u in self.users.values() if u.password]
        out += [new for new in self.commands.values() if new not in ("disabled", "enabled")]
        return out


def file_digest(files: list[str]) -> str:
    h = hashlib.sha256()
    for f in files:
        h.update(Path(f).read_bytes())
        h.update(b"\x00")
    return h.hexdigest()


def load_env_file(path: str | os.PathLike | None) -> dict[str, str]:
    if path is None:
        return {}
    p = Path(path)
    if not p.is_file():
        raise SpecError([Problem(str(path), 0, 0, "", "env file not found")])
    from dotenv import dotenv_values

    return {k: v for k, v in dotenv_values(p).items() if v is not None}


def referenced_variables(path: str | os.PathLike) -> tuple[Any, dict[tuple, dict[str, str | None]]]:
    """The merged YAML of a spec (``extends:`` applied) before interpolation and
    validation, and the ``${VAR}`` names used at each path with their defaults
    (None: no default). ``render`` needs them to create missing secrets before
    :func:`load_spec` would refuse the spec for lacking them."""
    doc = _load_chain(Path(path).resolve(), str(path), (Path(path).resolve(),), [])
    found: dict[tuple, dict[str, str | None]] = {}

    def walk(node: Any, where: tuple) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                walk(v, where + (k,))
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, where + (i,))
        elif isinstance(node, str) and "$" in node:
            names = {m.group(1): m.group(2) for m in _VAR.finditer(node) if m.group(0) != "$$"}
            if names:
                found[where] = names

    walk(doc.data, ())
    return doc.data, found


def load_spec(path: str | os.PathLike, *, env: dict[str, str] | None = None, env_file: str | None = None) -> Spec:
    """Load, interpolate and validate a spec. Raises SpecError with every problem found."""
    shown = str(path)
    files: list[Path] = []
    resolved = Path(path).resolve()
    doc = _load_chain(resolved if Path(path).exists() else Path(path), shown, (resolved,), files)
    environ = {**load_env_file(env_file), **(os.environ if env is None else env)}

    problems: list[Problem] = []
    var_paths: dict[tuple, set[str]] = {}
    _interpolate_tree(doc, environ, problems, var_paths)

    from . import models

    spec = models.validate(doc, shown, [str(f) for f in files], problems, var_paths)
    if problems:
        problems.sort(key=lambda p: (p.file != shown, p.file, p.line, p.col))
        raise SpecError(problems)
    assert spec is not None
    for secret in spec.secrets():
        redact.register(secret)
    return spec


__all__ = ["Spec", "ServerValue", "load_spec", "interpolate", "load_env_file", "file_digest", "referenced_variables"]
