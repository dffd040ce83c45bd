"""load_spec(path) -> Spec: read (with extends), interpolate, validate, check.

Every problem becomes a :class:`~borgconf.errors.Problem` naming file:line:col
and what was expected; all problems of a file are reported together.
Nothing here touches the network.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from dataclasses import replace

from .. import redact
from ..errors import Problem, SpecError
from .extends import _load_chain
from .interpolation import _interpolate_tree, load_env_file, variables_in
from .names import has_line_break
from .secrets import Concealed
from .types import Spec
from .yamlread import _Doc, _dotted, _problem, walk


def _single_line(doc: _Doc, problems: list[Problem]) -> None:
    """Values are plain scalars: a newline or NUL anywhere (a file name, a TLS
    path, a key) is refused, where no more specific check already spoke."""
    reported = [p.path for p in problems]

    def near(d: str) -> bool:
        return any(r == d or r.startswith((d + ".", d + "[")) or (r and d.startswith((r + ".", r + "["))) for r in reported)

    bad_keys: list[tuple] = []
    for path, key, value in walk(doc.data):
        if any(path[: len(b)] == b for b in bad_keys):
            continue  # below a key already refused
        if isinstance(key, str) and has_line_break(key) and not near(_dotted(path)):
            problems.append(_problem(doc, path, "a newline or NUL is not allowed in a key", at_key=True))
            bad_keys.append(path)
        elif isinstance(value, str) and has_line_break(value) and not near(_dotted(path)):
            problems.append(_problem(doc, path, "a newline or NUL is not allowed in a value (values are single-line text)"))


def _as_written(doc: _Doc, problems: list[Problem], failed: set[tuple]) -> None:
    """Text fields take a plain scalar's text as written: ``logfile: 1e3`` is the
    file 1e3, not the number 1000.0 (YAML 1.2 reads 0123, 0x1F2E, 1e3, .inf,
    0b101, true as numbers and booleans). A secret is never guessed at:
    ``requirepass: 0123456`` is refused (quote it), as is any text field whose
    text as written is not known."""
    from .schema import is_text_field
    from .secrets import secret_kind

    reported: set[tuple] = set()
    for path, text in sorted(doc.written.items(), key=lambda kv: [str(p) for p in kv[0]]):
        parent = doc.data
        try:
            for part in path[:-1]:
                parent = parent[part]
            value = parent[path[-1]]
        except (KeyError, IndexError, TypeError):
            continue
        integer = path == ("version",) or path == ("render", "port") or (len(path) == 3 and path[0] == "services" and path[2] == "db")
        if integer and text is not None and type(value) is int and not re.fullmatch(r"[-+]?[0-9]+", text):
            problems.append(_problem(doc, path, f"write {_dotted(path)} as a plain decimal integer (YAML reads {text[:20]} as {value})"))
            continue
        if not is_text_field(path):
            continue
        if value is None:
            continue  # an empty value (null, ~): what the field says of no value
        if text is None or secret_kind(path):
            # a secret is never guessed at: the password 0123456 or 1e3 is quoted, or it is refused
            what = "a boolean" if isinstance(value, bool) else "a number"
            shown = "" if secret_kind(path) else f" ({value!r})"
            problem = _problem(doc, path, f"YAML reads this value as {what}{shown}, not as text: quote it")
            failed.add(path)  # nothing more about it
            if (problem.file, problem.line, problem.col) not in reported:  # an alias: one fault, one message
                reported.add((problem.file, problem.line, problem.col))
                problems.append(problem)
            continue
        parent[path[-1]] = text


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
    return doc.data, variables_in(doc.data)


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
    _as_written(doc, problems, failed)
    _interpolate_tree(doc, environ, problems, var_paths, failed)
    interpolation_problems = len(problems)
    # before any message is formed: the secrets are registered, and what no
    # message may quote (a ${VAR}'s value, a secret repeated elsewhere) is known
    concealed = Concealed(doc.data, environ, var_paths, failed)

    from .checks import validate

    spec = validate(doc, shown, [str(f) for f in files], problems, var_paths, concealed)
    _single_line(doc, problems)
    if problems:
        problems = [replace(p, message=concealed.mask(p.message)) for p in problems]
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


__all__ = ["load_spec", "referenced_variables"]
