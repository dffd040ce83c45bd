"""``extends:``: a spec on top of a base spec (mappings merged, everything else
replaced), base specs only from the spec's own repository or directory."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Iterable

from ..errors import Problem, SpecError
from .yamlread import MAX_EXTENDS_DEPTH, _Doc, _read_yaml, _short

def _merge(base: _Doc, over: _Doc) -> _Doc:
    """The child ``over`` on top of ``base``: mappings merged recursively,
    everything else (lists included) replaced, and the rules of an overlay:

    - a ``null`` in the child removes what it would inherit (``server: {hz: null}``,
      ``target: null``, ``render: {port: null}``), whatever it is;
    - the child's ``ignore:`` wins over a parameter the base sets (the base's
      value is dropped: another actor owns it now), and a parameter the child
      sets wins over the base's ``ignore:`` (it leaves the inherited list);
      setting and ignoring a parameter in the same file stays an error
      (spec.checks);
    - ``targets:`` in a child replaces an inherited ``target:``, and each of
      its targets takes the inherited target's settings (username, password,
      config_command, persist, timeout, tls: everything but url and name)
      unless it sets them; a child that wants none of them says ``target: null``.
      ``target:`` in a child replaces inherited ``targets:``.
    """
    pos = dict(base.pos)
    key_pos = dict(base.key_pos)
    written = dict(base.written)  # text as written of plain scalars (yamlread._Doc.written)
    removed: list[tuple] = []  # paths a child's null removed: their positions go too

    def drop(path: tuple, *, itself: bool) -> None:
        """Forget base positions below ``path`` (and at it, when ``itself``)."""
        n = len(path)
        for table in (pos, key_pos, written):
            for p in [p for p in table if p[:n] == path and (itself or len(p) > n)]:
                del table[p]

    def merge(b: Any, o: Any, path: tuple) -> Any:
        if isinstance(b, dict) and isinstance(o, dict):
            out = dict(b)
            for k, v in o.items():
                if v is None:
                    out.pop(k, None)
                    drop(path + (k,), itself=True)
                    removed.append(path + (k,))
                elif k in b:
                    out[k] = merge(b[k], v, path + (k,))
                else:
                    out[k] = v
            return out
        drop(path, itself=False)  # replaced: the base's positions below this path are gone
        return o

    b_data, o_data = base.data, over.data
    b_data = _same_parameter_other_spelling(b_data, o_data, drop)
    inherited_target = b_data.get("target") if isinstance(b_data, dict) else None
    data = merge(b_data, o_data, ())

    if isinstance(data, dict) and isinstance(o_data, dict):
        # targets: in the child over an inherited target:
        if isinstance(o_data.get("targets"), list) and "target" not in o_data and isinstance(inherited_target, dict):
            shared = {k: v for k, v in inherited_target.items() if k not in ("url", "name")}
            merged_targets = []
            for i, t in enumerate(o_data["targets"]):
                if not isinstance(t, dict):
                    merged_targets.append(t)
                    continue
                for table in (pos, key_pos):  # the inherited settings keep their place in the base
                    for p, where in list(table.items()):
                        if p[:1] == ("target",) and len(p) > 1 and p[1] in shared:
                            table[("targets", i) + p[1:]] = where
                merged_targets.append(merge(shared, t, ("targets", i)))
            data["targets"] = merged_targets
            data.pop("target", None)
            drop(("target",), itself=True)
        elif isinstance(o_data.get("target"), dict) and "targets" not in o_data and "targets" in data:
            data.pop("targets")
            drop(("targets",), itself=True)

        _ignore_rules(data, o_data, pos, key_pos, drop)

    for p in [p for p in written if p in over.pos]:  # replaced by the spec on top
        del written[p]
    pos.update(over.pos)
    key_pos.update(over.key_pos)
    written.update(over.written)
    for path in removed:
        for table in (pos, key_pos, written):
            table.pop(path, None)
    return _Doc(data, pos, key_pos, written)


def _same_parameter_other_spelling(b_data: Any, o_data: Any, drop) -> Any:
    """A parameter the child names (a value or a null) replaces the base's under
    any of its names: ``replicaof`` in the child overrides ``slaveof`` in the base."""
    if not (isinstance(b_data, dict) and isinstance(o_data, dict)):
        return b_data
    b_server, o_server = b_data.get("server"), o_data.get("server")
    if not (isinstance(b_server, dict) and isinstance(o_server, dict)):
        return b_data
    named = {c: n for n in o_server if (c := _canonical(n))}
    other = [n for n in b_server if n not in o_server and _canonical(n) in named]
    if not other:
        return b_data
    for n in other:
        drop(("server", n), itself=True)
    return {**b_data, "server": {k: v for k, v in b_server.items() if k not in other}}


def _canonical(name: Any) -> str | None:
    from .. import params as P

    p = P.catalog().lookup(name) if isinstance(name, str) else None
    return p.name if p is not None else None


def _ignore_rules(data: dict, o_data: dict, pos: dict, key_pos: dict, drop) -> None:
    """The nearer file wins between ``server:`` and ``ignore:`` (see _merge)."""
    server = data.get("server")
    o_server = o_data.get("server") if isinstance(o_data.get("server"), dict) else {}
    o_ignore = o_data.get("ignore")
    if isinstance(server, dict) and isinstance(o_ignore, list):
        ignored = {c for c in map(_canonical, o_ignore) if c}
        for name in [n for n in server if n not in o_server and _canonical(n) in ignored]:
            del server[name]  # the base's value: another actor owns this parameter now
            drop(("server", name), itself=True)
    ignore = data.get("ignore")
    if isinstance(ignore, list) and "ignore" not in o_data and o_server:
        set_here = {c for c in map(_canonical, o_server) if c}
        keep = [i for i, name in enumerate(ignore) if _canonical(name) not in set_here]
        if len(keep) != len(ignore):  # the child sets what the base ignored: it is the spec's again
            saved = [{new: table.get(("ignore", old)) for new, old in enumerate(keep)} for table in (pos, key_pos)]
            data["ignore"] = [ignore[i] for i in keep]
            drop(("ignore",), itself=False)
            for table, entries in zip((pos, key_pos), saved):
                for new, where in entries.items():
                    if where is not None:
                        table[("ignore", new)] = where


def spec_root(spec: Path) -> Path:
    """Where a spec may point (base specs, rendered files, TLS files): the spec's
    git repository, else its directory. `plan` runs on pull requests: a spec must
    not make borgconf read, write, or quote in its errors, files from elsewhere on
    the machine (extends: /etc/shadow, render: {redis_conf: /proc/self/environ})."""
    start = spec.parent
    for d in (start, *start.parents):
        if (d / ".git").exists():
            return d
    return start


_extends_root = spec_root  # the name older callers use


def fenced(path: Path, root: Path, allow: Iterable[Path] = ()) -> bool:
    """The one fence: ``path`` (resolved, symlinks followed) lies inside the
    spec's ``root`` or inside a directory the command line allowed
    (``--allow-path``, resolved too). A spec alone can never widen it."""
    return any(path.is_relative_to(d) for d in (root, *allow))


def resolve_allowed(allow: Iterable[str | os.PathLike]) -> tuple[Path, ...]:
    """``--allow-path`` directories, resolved after symlinks like the paths they admit."""
    out = []
    for a in allow:
        try:
            out.append(Path(a).resolve())
        except (OSError, ValueError, RuntimeError):
            continue  # a directory that cannot be named admits nothing
    return tuple(out)


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
    if base_path.suffix.lower() not in (".yaml", ".yml") or not fenced(base_path, root):
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


