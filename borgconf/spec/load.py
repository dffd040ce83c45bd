"""load_spec(path) -> Spec: read (with extends), interpolate, validate, check.

Every problem becomes a :class:`~borgconf.errors.Problem` naming file:line:col
and what was expected; all problems of a file are reported together.
Nothing here touches the network.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Iterable


from .. import redact
from ..errors import Problem, SpecError
from .extends import _load_chain, fenced, resolve_allowed, spec_root
from .interpolation import _interpolate_tree, load_env_file, variables_in
from .names import has_line_break
from ..records import replace
from .secrets import Concealed
from .types import Spec
from .yamlread import _Doc, _dotted, _problem, walk


def _has_surrogate(text: str) -> bool:
    """A lone UTF-16 surrogate (U+D800-U+DFFF) in ``text``: the only characters strict
    UTF-8 cannot encode (a C-speed check; the pattern cost ~0.3 ms to compile) (issue 15)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


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
        elif any(isinstance(t, str) and _has_surrogate(t) for t in (key, value)) and not near(_dotted(path)):
            # "\ud83d\ude00" (JSON's spelling of one emoji) reads in YAML as two lone
            # surrogates: no file can hold them, so render would fail writing it
            problems.append(_problem(doc, path, "a \\uD800-\\uDFFF escape (a UTF-16 surrogate) is not a character: write the "
                                                "character itself, or its \\U00XXXXXX escape", at_key=isinstance(key, str) and _has_surrogate(key)))


_TLS_FILES = ("ca_certs", "certfile", "keyfile")


def _spec_paths(data: Any) -> list[tuple[tuple, str]]:
    """Every file path a spec names that borgconf itself opens: the rendered
    files and the TLS files of each target (paths in ``server:`` are the
    server's, read on its host, never by borgconf)."""
    out: list[tuple[tuple, str]] = []
    if not isinstance(data, dict):
        return out
    render = data.get("render")
    if isinstance(render, dict):
        out += [(("render", k), render[k]) for k in ("redis_conf", "env_file") if isinstance(render.get(k), str)]
    targets: list[tuple[tuple, Any]] = [(("target",), data.get("target"))]
    if isinstance(data.get("targets"), list):
        targets += [(("targets", i), t) for i, t in enumerate(data["targets"])]
    for at, t in targets:
        tls = t.get("tls") if isinstance(t, dict) else None
        if isinstance(tls, dict):
            out += [((*at, "tls", k), tls[k]) for k in _TLS_FILES if isinstance(tls.get(k), str)]
    return out


def spec_path_of(spec_file: Path, value: str) -> Path:
    """A path written in a spec, resolved after symlinks: relative paths are
    relative to the spec's directory (like ``extends:``)."""
    return (spec_file.parent / value).resolve()


def _tls_file(doc: _Doc, path: tuple, value: str, p: Path, problems: list[Problem]) -> None:
    """A TLS file borgconf opens to connect exists and is a regular file (stat
    only: nothing is opened here). Named now rather than as an unnamed
    "No such file or directory" when plan connects."""
    import stat

    try:
        mode = p.stat().st_mode
    except FileNotFoundError:
        relative = "" if Path(value).is_absolute() else f" ({value} is relative to the spec's directory)"
        problems.append(_problem(doc, path, f"no such file: {p}{relative}"))
        return
    except OSError as e:
        problems.append(_problem(doc, path, f"cannot read {p}: {e.strerror or e}"))
        return
    if not stat.S_ISREG(mode):
        problems.append(_problem(doc, path, f"{p} is not a regular file"))


def _fence_paths(doc: _Doc, spec_file: Path, files: list[Path], allow: tuple[Path, ...], problems: list[Problem]) -> dict[tuple, Path]:
    """Each path of :func:`_spec_paths` inside the spec's repository or directory
    (or a ``--allow-path`` directory), no two outputs on one file, and no output
    on the spec or one of its base specs. Returns the resolved paths."""
    root = spec_root(spec_file)
    resolved: dict[tuple, Path] = {}
    for path, value in _spec_paths(doc.data):
        if has_line_break(value) or not value.strip():
            continue  # reported elsewhere (single-line text) or left to the default
        try:
            p = spec_path_of(spec_file, value)
        except (OSError, ValueError, RuntimeError) as e:
            reason = e.strerror if isinstance(e, OSError) and e.strerror else "not a file name"
            problems.append(_problem(doc, path, f"not a usable file name: {reason}"))
            continue
        if not fenced(p, root, allow):
            widen = "; only the command line can allow another directory (--allow-path DIR)"
            problems.append(_problem(doc, path, f"must be inside {root} (the spec's repository or directory), after following symlinks{widen}"))
            continue
        resolved[path] = p
    if not problems:  # one fault, one message: a missing file is looked for once the rest is right
        written = dict(_spec_paths(doc.data))
        for path, p in resolved.items():
            if path[0] != "render":
                _tls_file(doc, path, written[path], p, problems)
    outputs = {k: v for k, v in resolved.items() if k[0] == "render"}
    spec_files = {f: i for i, f in enumerate(files)}
    for path, p in outputs.items():
        if p in spec_files:
            what = "the spec itself" if spec_files[p] == 0 else f"a base spec of this spec ({p.name})"
            problems.append(_problem(doc, path, f"would overwrite {what}; choose another file"))
    conf, env = outputs.get(("render", "redis_conf")), outputs.get(("render", "env_file"))
    if conf is not None and conf == env:
        problems.append(_problem(doc, ("render", "env_file"), "is the same file as render.redis_conf; two outputs cannot share a path"))
    return resolved


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


def _absolute_tls(spec: Spec, resolved: dict[tuple, Path]) -> None:
    """The TLS files that were fenced are the ones opened: relative to the spec's
    directory, not to wherever borgconf runs."""
    for i, t in enumerate(spec.targets):
        if t.tls is None:
            continue
        update = {}
        for k in _TLS_FILES:
            p = resolved.get(("targets", i, "tls", k)) or (resolved.get(("target", "tls", k)) if i == 0 else None)
            if p is not None and getattr(t.tls, k) is not None:
                update[k] = str(p)
        if update:
            spec.targets[i] = t.model_copy(update={"tls": t.tls.model_copy(update=update)})


def referenced_variables(path: str | os.PathLike) -> tuple[Any, dict[tuple, dict[str, str | None]]]:
    """The merged YAML of a spec (``extends:`` applied) before interpolation and
    validation, and the ``${VAR}`` names used at each path with their defaults
    (None: no default). ``render`` needs them to create missing secrets before
    :func:`load_spec` would refuse the spec for lacking them."""
    resolved = _resolve(path)
    doc = _load_chain(resolved, str(path), (resolved,), [])
    return doc.data, variables_in(doc.data)


def load_spec(
    path: str | os.PathLike,
    *,
    env: dict[str, str] | None = None,
    env_file: str | None = None,
    expect_sha256: str | None = None,
    allow_paths: Iterable[str | os.PathLike] = (),
) -> Spec:
    """Load, interpolate and validate a spec. Raises SpecError with every problem found.

    ``expect_sha256`` (a saved plan's spec digest): the path came from a plan
    file, so nothing of the files is quoted before their digest (``extends:``
    chain included) is the one the plan recorded: a file that does not even
    read as YAML is a PlanError that shows none of it, another digest a StalePlan.

    ``allow_paths`` (the command line's ``--allow-path``) are directories outside
    the spec's repository where its render and TLS paths may point too."""
    shown = str(path)
    files: list[Path] = []
    resolved = _resolve(path)
    if expect_sha256 is None:
        doc = _load_chain(resolved, shown, (resolved,), files)
    else:
        from ..errors import PlanError, StalePlan
        from .types import file_digest

        try:
            doc = _load_chain(resolved, shown, (resolved,), files)
        except SpecError:
            raise PlanError(
                f"the spec {shown} named by the plan does not read as a borgconf spec (its content is not shown: "
                f"the path came from the plan file; run borgconf validate {shown})"
            ) from None
        if file_digest([str(f) for f in files]) != expect_sha256:
            raise StalePlan(f"{shown} changed since the plan was made (its digest differs from the plan's); plan again")
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
    tls_paths = _fence_paths(doc, resolved, files, resolve_allowed(allow_paths), problems)
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
    _absolute_tls(spec, tls_paths)
    for secret in spec.secrets():
        redact.register(secret)
    return spec


__all__ = ["load_spec", "referenced_variables", "spec_path_of"]
