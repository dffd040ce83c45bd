"""``${VAR}``, ``${VAR:-default}`` and ``$$`` in spec values, from the
environment or an --env-file; a variable may not bring a line break."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from ..errors import Problem, SpecError
from .names import VAR_NAME, has_line_break
from .yamlread import _Doc, _problem, walk

_VAR = re.compile(r"\$\$|\$\{([^}:]*)(?::-([^}]*))?\}")


def interpolate(text: str, env: dict[str, str], used: set[str]) -> str:
    """``${VAR}``, ``${VAR:-default}`` and ``$$`` (a literal $). Raises KeyError(var) / ValueError(msg)."""

    def sub(m: re.Match) -> str:
        if m.group(0) == "$$":
            return "$"
        name, default = m.group(1), m.group(2)
        if not VAR_NAME.fullmatch(name):
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
            bad = sorted(n for n in used if has_line_break(env.get(n) or ""))
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


def load_env_file(path: str | os.PathLike | None) -> dict[str, str]:
    if path is None:
        return {}
    import io

    from ..files import NotRegularFile, read_regular

    try:
        raw = read_regular(Path(path), MAX_ENV_FILE_BYTES)  # never blocks: a FIFO or /dev/zero is refused
    except FileNotFoundError:
        raise SpecError([Problem(str(path), 0, 0, "", "env file not found")]) from None
    except NotRegularFile as e:
        raise SpecError([Problem(str(path), 0, 0, "", f"env file cannot be read: {e.strerror}")]) from None
    except (OSError, ValueError) as e:
        reason = e.strerror if isinstance(e, OSError) and e.strerror else "not a file name"
        raise SpecError([Problem(str(path), 0, 0, "", f"env file cannot be read: {reason}")]) from None
    if len(raw) > MAX_ENV_FILE_BYTES:
        raise SpecError([Problem(str(path), 0, 0, "", f"env file is larger than {MAX_ENV_FILE_BYTES} bytes")])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise SpecError([Problem(str(path), 0, 0, "", f"env file is not UTF-8 text (byte {e.start})")]) from None
    from dotenv import dotenv_values

    return {k: v for k, v in dotenv_values(stream=io.StringIO(text)).items() if v is not None}


MAX_ENV_FILE_BYTES = 1024 * 1024


def variables_in(data: Any) -> dict[tuple, dict[str, str | None]]:
    """The ``${VAR}`` names used at each path of a tree, with their defaults (None: none)."""
    found: dict[tuple, dict[str, str | None]] = {}
    for where, _, node in walk(data):
        if isinstance(node, str) and "$" in node:
            names = {m.group(1): m.group(2) for m in _VAR.finditer(node) if m.group(0) != "$$"}
            if names:
                found[where] = names
    return found


__all__ = ["interpolate", "load_env_file", "variables_in"]
