"""``extends:``: a spec on top of a base spec (mappings merged, everything else
replaced), base specs only from the spec's own repository or directory."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..errors import Problem, SpecError
from .yamlread import MAX_EXTENDS_DEPTH, _Doc, _read_yaml, _short

def _merge(base: _Doc, over: _Doc) -> _Doc:
    """Mappings merged recursively, everything else (lists included) replaced."""

    def merge(b: Any, o: Any, path: tuple) -> Any:
        if isinstance(b, dict) and isinstance(o, dict):
            out = dict(b)
            for k, v in o.items():
                out[k] = merge(b[k], v, path + (k,)) if k in b else v
            return out
        # replaced: drop the base's positions below this path
        for table in (pos, key_pos, written):
            for p in [p for p in table if p[: len(path)] == path and len(p) > len(path)]:
                del table[p]
        return o

    pos = dict(base.pos)
    key_pos = dict(base.key_pos)
    written = dict(base.written)
    data = merge(base.data, over.data, ())
    for p in [p for p in written if p in over.pos]:  # replaced by the spec on top
        del written[p]
    pos.update(over.pos)
    key_pos.update(over.key_pos)
    written.update(over.written)
    return _Doc(data, pos, key_pos, written)


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
        what = "is not a regular file" if base_path.exists() else "not found"
        raise SpecError([Problem(*where, "extends", f"base spec {_short(ext)} {what}")])
    base_shown = os.path.relpath(base_path) if not os.path.isabs(shown) else str(base_path)
    base = _load_chain(base_path, base_shown, (*seen, base_path), files, root)
    return _merge(base, doc)


