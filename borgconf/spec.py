"""Load a spec: YAML with positions, ``extends:``, ``${VAR}`` interpolation, validation.

Every problem becomes a :class:`~borgconf.errors.Problem` naming file:line:col
and what was expected; all problems of a file are reported together.
Nothing here touches the network.
"""

from __future__ import annotations

import hashlib
import os
import re
import warnings
from collections.abc import Hashable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from . import params as P
from . import redact
from .errors import Problem, SpecError

# Limits that keep any input, however hostile, to well under two seconds: the
# round-trip YAML parser costs 0.1-0.4 ms per node on a slow machine, and a
# real spec (a hundred targets, services and parameters) has a few thousand.
MAX_SPEC_BYTES = 256 * 1024
MAX_YAML_EVENTS = 5_000  # parser events (nodes as written), counted while parsing
MAX_NODES = 50_000  # values after aliases are expanded (a YAML alias bomb)
MAX_DEPTH = 32  # nesting; a real spec is 5 levels deep
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
        with open(path, "rb") as f:
            raw = f.read(MAX_SPEC_BYTES + 1)  # never more: a FIFO or /dev/zero must not hang us
    except FileNotFoundError:
        raise SpecError([Problem(shown, 0, 0, "", "file not found")]) from None
    except OSError as e:
        raise SpecError([Problem(shown, 0, 0, "", f"cannot read: {e.strerror}")]) from None
    if len(raw) > MAX_SPEC_BYTES:
        try:
            size = f"{path.stat().st_size} bytes"
        except OSError:
            size = "more bytes"
        raise SpecError([Problem(shown, 1, 1, "", f"spec file is too large ({size}; the limit is {MAX_SPEC_BYTES})")])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line, col = _line_col(raw, e.start)
        raise SpecError([Problem(shown, line, col, "", f"not UTF-8 text (byte {e.start})")]) from None
    if "\x00" in text:
        line, col = _line_col(text, text.index("\x00"))
        raise SpecError([Problem(shown, line, col, "", "a NUL character is not allowed in a spec")])

    from ruamel.yaml import YAML
    from ruamel.yaml.constructor import ConstructorError
    from ruamel.yaml.error import MarkedYAMLError, YAMLError
    from ruamel.yaml.reader import ReaderError

    yaml = YAML(typ="rt")
    yaml.Parser = _limited_parser()
    yaml.Constructor = _text_dates_constructor()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            data = yaml.load(text)
    except _Limit as e:
        raise SpecError([Problem(shown, e.line, e.col, "", e.message)]) from None
    except MarkedYAMLError as e:
        mark, what = e.problem_mark or e.context_mark, (e.problem or e.context or "invalid YAML").strip()
        context = re.sub(r"^while \w+ ", "", (e.context or "").strip())
        dup = re.match(r'found duplicate key "(.*)" with value "', what, re.S)
        if dup:  # never echo the values: they may be secrets
            what, context = f"duplicate key {dup.group(1)!r} (each key may appear once in a mapping)", ""
        elif isinstance(e, ConstructorError):  # its text quotes the value, which may be a secret
            what, context = "this value cannot be read as its YAML type (quote it to make it text)", ""
        elif "'\\t'" in what:
            what += " (indent with spaces, not tabs)"
        elif "'{'" in what and e.problem_mark is not None and text[e.problem_mark.index - 1 : e.problem_mark.index] == "$":
            what += ' (inside { } or [ ], a variable needs quotes: "${VAR}")'
        if context and e.context_mark and e.problem_mark and what.endswith("end of stream"):
            # an unclosed quote or bracket: where it opened, not the end of the file
            mark, what = e.context_mark, f"{context} opened here is never closed ({what})"
        elif context and e.context_mark and e.problem_mark and e.context_mark.line != e.problem_mark.line:
            what += f" (in {context} that starts on line {e.context_mark.line + 1})"
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise SpecError([Problem(shown, line, col, "", f"YAML syntax error: {_oneline(what)}")]) from None
    except ReaderError as e:  # a control character: YAML only takes it escaped in double quotes
        line, col = _line_col(text, e.position) if isinstance(e.position, int) else (1, 1)
        char = chr(e.character) if isinstance(e.character, int) else str(e.character)
        raise SpecError([Problem(shown, line, col, "", f"the character {char!r} is not allowed in YAML text")]) from None
    except Exception as e:  # noqa: BLE001 -- anything else ruamel raises on a hostile file
        # ruamel converts a plain scalar of thousands of digits with int(): Python refuses it
        m = re.search(r"[0-9_]{4000,}", text) if isinstance(e, ValueError) else None
        if m:
            raise SpecError([Problem(shown, *_line_col(text, m.start()), "", "a number with thousands of digits cannot be read")]) from None
        mark = getattr(getattr(yaml, "_parser", None), "mark", None) if not isinstance(e, YAMLError) else getattr(e, "problem_mark", None)
        line, col = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        raise SpecError([Problem(shown, line, col, "", f"the YAML cannot be read ({type(e).__name__})")]) from None

    from ruamel.yaml.error import YAMLWarning

    for w in caught:
        if not isinstance(w.message, YAMLWarning):
            continue
        # ruamel's warnings quote the spec's lines, secrets included: never show them
        node = getattr(w.message, "node", None)
        mark = getattr(node, "start_mark", None) or getattr(w.message, "problem_mark", None)
        line, col = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        what = {
            "ReusedAnchorWarning": "an anchor name (&name) is defined twice",
            "MantissaNoDotYAML1_1Warning": "a YAML 1.1 float without a dot (quote the value)",
        }.get(type(w.message).__name__, f"YAML warning {type(w.message).__name__}")
        raise SpecError([Problem(shown, line, col, "", f"{what}; write it as plain YAML 1.2")])

    pos: dict[tuple, tuple[str, int, int]] = {}
    key_pos: dict[tuple, tuple[str, int, int]] = {}
    budget = [MAX_NODES]

    def near(path: tuple) -> tuple[int, int]:
        while path and path not in pos:
            path = path[:-1]
        return pos.get(path, (shown, 1, 1))[1:]

    def fail(path: tuple, message: str) -> SpecError:
        return SpecError([Problem(shown, *near(path), _dotted(path), message)])

    def plain(node: Any, path: tuple) -> Any:
        budget[0] -= 1
        if budget[0] < 0:
            raise fail(path, f"spec has more than {MAX_NODES} values once its aliases are expanded (a YAML alias bomb?)")
        if len(path) > MAX_DEPTH:
            raise fail(path, f"spec is nested more than {MAX_DEPTH} levels deep")
        tag = getattr(getattr(node, "tag", None), "value", None)
        if tag is not None and tag not in _PLAIN_TAGS:
            raise fail(path, f"the YAML tag {tag.replace('tag:yaml.org,2002:', '!!')!r} is not allowed in a spec (plain values only)")
        if isinstance(node, dict):
            out = {}
            lc = getattr(node, "lc", None)
            lc_data = (lc.data if lc is not None else None) or {}
            for k, v in node.items():
                if k is None or not isinstance(k, (str, int, float, bool)):
                    kl = lc_data.get(k) if isinstance(k, Hashable) else None
                    line, col = (kl[0] + 1, kl[1] + 1) if kl else near(path)
                    raise SpecError([Problem(shown, line, col, _dotted(path), "a mapping key must be a plain name")])
                key = str(k) if not isinstance(k, bool) else ("true" if k else "false")
                if k in lc_data:
                    kl, kc, vl, vc = lc_data[k]
                    key_pos[path + (key,)] = (shown, kl + 1, kc + 1)
                    pos[path + (key,)] = (shown, vl + 1, vc + 1)
                out[key] = plain(v, path + (key,))
            return out
        if isinstance(node, list):
            lc = getattr(node, "lc", None)
            lc_data = (lc.data if lc is not None else None) or {}
            out_list = []
            for i, v in enumerate(node):
                if i in lc_data:
                    il, ic = lc_data[i][:2]
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
        if isinstance(node, (AbstractSet, bytes, bytearray)):
            raise fail(path, "a YAML set or binary value is not allowed in a spec (plain values only)")
        if tag is not None and hasattr(node, "value"):  # !!str 5 -> TaggedScalar
            return str(node.value)
        return str(node)  # dates and other YAML types: treat as text

    root = getattr(getattr(data, "lc", None), "line", None)
    if root is not None:  # a mapping or list at the top: where it starts, after comments
        pos[()] = (shown, root + 1, data.lc.col + 1)
    elif data is not None:  # a scalar document: its first line that is not a comment
        first = re.search(r"^[ \t]*[^#\s]", text, re.M)
        pos[()] = (shown, *(_line_col(text, first.end() - 1) if first else (1, 1)))
    try:
        data = plain(data, ())
    except RecursionError:
        raise SpecError([Problem(shown, 1, 1, "", "spec is nested too deeply")]) from None
    pos.setdefault((), (shown, 1, 1))
    return _Doc(data, pos, key_pos)


_PLAIN_TAGS = {f"tag:yaml.org,2002:{t}" for t in ("str", "int", "float", "bool", "null", "map", "seq")}


def _line_col(text: str | bytes, index: int) -> tuple[int, int]:
    nl = "\n" if isinstance(text, str) else b"\n"
    return text.count(nl, 0, index) + 1, index - (text.rfind(nl, 0, index) + 1) + 1


def _short(text: str, limit: int = 80) -> str:
    return repr(text if len(text) <= limit else text[: limit - 3] + "...")


def _oneline(text: str) -> str:
    return " ".join(text.split())


class _Limit(Exception):
    """A size limit reached while parsing (raised through ruamel, caught in _read_yaml)."""

    def __init__(self, message: str, mark: Any):
        super().__init__(message)
        self.message = message
        self.line, self.col = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)


@lru_cache(maxsize=1)
def _text_dates_constructor():
    """Dates stay text: `requirepass: 2024-02-30` is a password, not a broken date."""
    from ruamel.yaml.constructor import RoundTripConstructor

    class TextDates(RoundTripConstructor):
        pass

    TextDates.add_constructor("tag:yaml.org,2002:timestamp", lambda self, node: self.construct_scalar(node))
    return TextDates


@lru_cache(maxsize=1)
def _limited_parser():
    from ruamel.yaml.events import AliasEvent, CollectionEndEvent, CollectionStartEvent, MappingStartEvent, ScalarEvent
    from ruamel.yaml.parser import RoundTripParser

    class LimitedParser(RoundTripParser):
        """Checks events as they are parsed, so that a hostile file stops early,
        with a position: how many, how deep, and no list, mapping or alias as a
        mapping key (ruamel would hash it, and fail with a TypeError)."""

        _events = 0
        mark = None  # where the parser is: for errors that carry no position

        def get_event(self) -> Any:
            event = super().get_event()
            self.mark = event.start_mark
            self._events += 1
            if self._events > MAX_YAML_EVENTS:
                raise _Limit(f"spec has more than {MAX_YAML_EVENTS} YAML values", event.start_mark)
            stack = self.__dict__.setdefault("_stack", [])  # per open collection: [is a mapping, nodes seen]
            if isinstance(event, (ScalarEvent, AliasEvent, CollectionStartEvent)):
                if stack and stack[-1][0] and stack[-1][1] % 2 == 0 and not isinstance(event, ScalarEvent):
                    raise _Limit("a mapping key must be a plain name (not a list, a mapping or an alias)", event.start_mark)
                if isinstance(event, CollectionStartEvent):
                    stack.append([isinstance(event, MappingStartEvent), 0])
                    if len(stack) > MAX_DEPTH:
                        raise _Limit(f"spec is nested more than {MAX_DEPTH} levels deep", event.start_mark)
                elif stack:
                    stack[-1][1] += 1
            elif isinstance(event, CollectionEndEvent) and stack:
                stack.pop()
                if stack:
                    stack[-1][1] += 1
            return event

    return LimitedParser


_PATH_WORD = re.compile(r"^[A-Za-z0-9_-]+$")


def _dotted(path: tuple) -> str:
    """services.n8n.db, users.n8n.keys[0]; an odd key (a space, a newline) is quoted: services['n8n x']."""
    out = ""
    for p in path:
        if isinstance(p, int):
            out += f"[{p}]"
        elif not _PATH_WORD.fullmatch(str(p)):
            out += f"[{str(p)!r}]"
        else:
            out += f".{p}" if out else str(p)
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


def _extends_root(spec: Path) -> Path:
    """Where base specs may live: the spec's git repository, else its directory.
    `plan` runs on pull requests: a spec must not make borgconf read, and quote in
    its errors, files from elsewhere on the machine (extends: /etc/shadow)."""
    start = spec.parent
    for d in (start, *start.parents):
        if (d / ".git").exists():
            return d
    return start


def _load_chain(path: Path, shown: str, seen: tuple[Path, ...], files: list[Path], root: Path | None = None) -> _Doc:
    doc = _read_yaml(path, shown)
    files.append(path)
    if not isinstance(doc.data, dict):
        raise SpecError([Problem(*doc.pos[()], "", "a spec is a YAML mapping (version: 1, target:, server:, ...)")])
    ext = doc.data.pop("extends", None)
    if ext is None:
        return doc
    where = doc.pos.get(("extends",), (shown, 0, 0))
    if not isinstance(ext, str) or not ext.strip():
        raise SpecError([Problem(*where, "extends", "expected the path of a base spec (a string)")])
    if len(seen) >= MAX_EXTENDS_DEPTH:
        raise SpecError([Problem(*where, "extends", f"more than {MAX_EXTENDS_DEPTH} levels of extends")])
    try:
        base_path = (path.parent / ext).resolve()
        is_file = base_path.is_file()
    except (OSError, ValueError) as e:  # a NUL in the name, a name too long for the file system
        reason = e.strerror if isinstance(e, OSError) and e.strerror else "not a file name"
        raise SpecError([Problem(*where, "extends", f"base spec {_short(ext)} cannot be opened: {reason}")]) from None
    root = root or _extends_root(path.resolve())
    if base_path.suffix.lower() not in (".yaml", ".yml") or not base_path.is_relative_to(root):
        raise SpecError([Problem(*where, "extends", f"a base spec must be a .yaml file inside {root} (the spec's repository or directory)")])
    if base_path in seen:
        chain = " -> ".join(p.name for p in (*seen, base_path))
        raise SpecError([Problem(*where, "extends", f"extends cycle: {chain}")])
    if not is_file:
        raise SpecError([Problem(*where, "extends", f"base spec {_short(ext)} not found")])
    base_shown = os.path.relpath(base_path) if not os.path.isabs(shown) else str(base_path)
    base = _load_chain(base_path, base_shown, (*seen, base_path), files, root)
    return _merge(base, doc)


def interpolate(text: str, env: dict[str, str], used: set[str]) -> str:
    """``${VAR}``, ``${VAR:-default}`` and ``$$`` (a literal $). Raises KeyError(var) / ValueError(msg)."""

    def sub(m: re.Match) -> str:
        if m.group(0) == "$$":
            return "$"
        name, default = m.group(1), m.group(2)
        if not _VAR_NAME.fullmatch(name):
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
    if "${" in _VAR.sub("", text):
        raise ValueError("'${' starts no variable reference: write ${NAME}, ${NAME:-default}, or $$ for a literal $")
    out = _VAR.sub(sub, text)
    return out


def _interpolate_tree(
    doc: _Doc, env: dict[str, str], problems: list[Problem], var_paths: dict[tuple, set[str]], failed: set[tuple] | None = None
) -> None:
    """Interpolate every string; ``failed`` collects the paths left uninterpolated
    (their problem is reported here, validation of the raw text would only add noise)."""
    failed = set() if failed is None else failed
    missing: dict[str, list[tuple]] = {}  # one problem per missing variable, at its first use

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
                missing.setdefault(e.args[0], []).append(path)
                failed.add(path)
                return node
            except ValueError as e:
                problems.append(_problem(doc, path, str(e)))
                failed.add(path)
                return node
            # values are single-line text: a variable must not smuggle in a line break
            bad = sorted(n for n in used if any(c in (env.get(n) or "") for c in "\n\r\x00"))
            if bad:
                problems.append(_problem(doc, path, f"the value of ${{{bad[0]}}} holds a newline or NUL; spec values are single-line text"))
                failed.add(path)
                return node
            if used:
                var_paths[path] = used
            return out
        return node

    doc.data = walk(doc.data, ())
    for name, paths in missing.items():
        first, *others = [_problem(doc, p, "") for p in paths]
        message = f"variable ${{{name}}} is not set (environment or --env-file); use ${{{name}:-default}} for a default"
        if others:
            message += " (also used on " + ", ".join(f"line {o.line}" if o.file == first.file else f"{o.file}:{o.line}" for o in others) + ")"
        problems.append(Problem(first.file, first.line, first.col, first.path, message))


def _single_line(doc: _Doc, problems: list[Problem]) -> None:
    """Values are plain scalars: a newline or NUL anywhere (a file name, a TLS
    path, a key) is refused, where no more specific check already spoke."""
    reported = [p.path for p in problems]

    def near(d: str) -> bool:
        return any(r == d or r.startswith((d + ".", d + "[")) or (r and d.startswith((r + ".", r + "["))) for r in reported)

    def bad(text: str) -> bool:
        return any(c in text for c in "\n\r\x00")

    def walk(node: Any, path: tuple) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                if bad(k) and not near(_dotted(path + (k,))):
                    problems.append(_problem(doc, path + (k,), "a newline or NUL is not allowed in a key", at_key=True))
                else:
                    walk(v, path + (k,))
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, path + (i,))
        elif isinstance(node, str) and bad(node) and not near(_dotted(path)):
            problems.append(_problem(doc, path, "a newline or NUL is not allowed in a value (values are single-line text)"))

    walk(doc.data, ())


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


def _resolve(path: str | os.PathLike) -> Path:
    try:
        return Path(path).resolve()
    except (OSError, ValueError) as e:  # a name too long for the file system, a NUL
        reason = e.strerror if isinstance(e, OSError) and e.strerror else "not a file name"
        raise SpecError([Problem(str(path), 0, 0, "", f"cannot read: {reason}")]) from None


def referenced_variables(path: str | os.PathLike) -> tuple[Any, dict[tuple, dict[str, str | None]]]:
    """The merged YAML of a spec (``extends:`` applied) before interpolation and
    validation, and the ``${VAR}`` names used at each path with their defaults
    (None: no default). ``render`` needs them to create missing secrets before
    :func:`load_spec` would refuse the spec for lacking them."""
    resolved = _resolve(path)
    doc = _load_chain(resolved, str(path), (resolved,), [])
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
    resolved = _resolve(path)
    doc = _load_chain(resolved, shown, (resolved,), files)
    environ = {**load_env_file(env_file), **(os.environ if env is None else env)}

    problems: list[Problem] = []
    var_paths: dict[tuple, set[str]] = {}
    failed: set[tuple] = set()
    _interpolate_tree(doc, environ, problems, var_paths, failed)
    interpolation_problems = len(problems)

    from . import models

    spec = models.validate(doc, shown, [str(f) for f in files], problems, var_paths)
    _single_line(doc, problems)
    if problems:
        # one fault, one message: nothing more about a value whose variable failed,
        # and one message per position and path
        noise = {_dotted(p) for p in failed}
        seen: set[tuple] = set()
        kept = []
        for i, p in enumerate(problems):
            where = (p.file, p.line, p.col, p.path)
            if where in seen or (i >= interpolation_problems and any(p.path == n or p.path.startswith((n + ".", n + "[")) for n in noise)):
                continue
            seen.add(where)
            kept.append(p)
        problems = kept
        problems.sort(key=lambda p: (p.file != shown, p.file, p.line, p.col))
        raise SpecError(problems)
    assert spec is not None
    for secret in spec.secrets():
        redact.register(secret)
    return spec


__all__ = ["Spec", "ServerValue", "load_spec", "interpolate", "load_env_file", "file_digest", "referenced_variables"]
