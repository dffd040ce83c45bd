"""``render_files``: the whole render (secrets, spec, both files, written
atomically or only compared), and the ``persist: file`` writer apply uses."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .. import __version__, redact
from ..errors import RenderError
from ..records import record
from ..spec.names import has_line_break
from . import envfile
from .check import env_changes, masked_unified_diff, shown_conf_line
from .conf import conf_holds_secret, conf_quote, render_redis_conf
from .secrets import Secrets, resolve_secrets, secret_variables
from .services import check_db_moves, env_blocks
from .templates import DEFAULT_ENV_FILE, DEFAULT_REDIS_CONF, _render_template

@record
class RenderedFile:
    path: Path
    text: str
    mode: int
    before: str | None  # current content; None when the file does not exist
    kind: str = "redis.conf"  # "redis.conf" or ".env": how --check shows a change

    @property
    def changed(self) -> bool:
        return self.before != self.text

    @property
    def status(self) -> str:
        if self.before is None:
            return "created"
        return "updated" if self.changed else "unchanged"

    def diff(self) -> str:
        """What --check prints, with no secret in it: for a .env the names of
        the variables that change; for redis.conf a unified diff with every
        secret argument masked (:func:`mask_conf_line`)."""
        if self.kind == ".env":
            lines = env_changes(self.before, self.text)
        else:
            after = self.text.split("\n")  # Redis splits its config on "\n" only (sdssplitlen)
            ours = set(after)
            lines = masked_unified_diff(
                (self.before or "").split("\n"),
                after,
                str(self.path) if self.before is not None else "/dev/null",
                str(self.path),
                lambda line: shown_conf_line(line, ours),
            )
            if not lines and self.changed:
                lines = [f"  (only line endings or the final newline of {self.path} differ)"]
        return "".join(line + "\n" for line in lines)


@record
class RenderResult:
    spec: Any
    files: list[RenderedFile]
    secrets: Secrets
    db_moves: list[str]
    written: bool

    @property
    def changed(self) -> list[RenderedFile]:
        return [f for f in self.files if f.changed]


# ---------------------------------------------------------------- paths


def _output_path(value: str | None, default: str, spec_dir: Path, out_dir: str | os.PathLike | None) -> Path:
    path = Path(value or default)
    if out_dir is not None:
        return Path(out_dir) / path.name
    return path if path.is_absolute() else spec_dir / path


def output_paths(spec, out_dir: str | os.PathLike | None = None) -> tuple[Path, Path]:
    """Where redis.conf and .env go: the spec's paths, relative to the spec's
    directory; with ``out_dir``, their file names in that directory."""
    spec_dir = Path(spec.path).resolve().parent
    return (
        _output_path(spec.render.redis_conf, DEFAULT_REDIS_CONF, spec_dir, out_dir),
        _output_path(spec.render.env_file, DEFAULT_ENV_FILE, spec_dir, out_dir),
    )


def _raw_env_path(spec_path: str, raw: Any, out_dir, environ: dict[str, str], allow: tuple[Path, ...] = ()) -> Path | None:
    """Where the .env is, read before the spec is validated; None when
    ``render.env_file`` is no usable file name (a NUL, a newline) or lies
    outside the fence (spec.extends.fenced): nothing is read then, and
    load_spec reports the value with its position."""
    from ..spec import interpolate
    from ..spec.extends import fenced, spec_root

    render = raw.get("render") if isinstance(raw, dict) else None
    value = render.get("env_file") if isinstance(render, dict) else None
    if value is not None and not isinstance(value, str):
        value = None  # load_spec reports it
    if value and "$" in value:
        try:
            value = interpolate(value, environ, set())
        except (KeyError, ValueError):
            value = None  # load_spec reports it
    if value and has_line_break(value):
        return None
    try:
        spec_file = Path(spec_path).resolve()
        path = _output_path(value, DEFAULT_ENV_FILE, spec_file.parent, out_dir)
        if out_dir is None and not fenced(path.resolve(), spec_root(spec_file), allow):
            return None
        return path
    except (ValueError, OSError, RuntimeError):  # RuntimeError: a symlink loop on Python < 3.13
        return None


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except (ValueError, OSError, RuntimeError) as exc:
        raise RenderError(f"cannot use {str(b)!r} as a file name: {getattr(exc, 'strerror', None) or exc}") from None


def _check_outputs(spec, conf_path: Path, env_path: Path) -> None:
    """Two outputs never share a file, and none is the spec or a base spec (load_spec
    checks the spec's own paths; this also covers ``--out-dir``, where both go
    into one directory under their file names)."""
    conf, env = conf_path.resolve(), env_path.resolve()
    if conf == env:
        raise RenderError(f"redis.conf and the .env would both be written to {conf_path}; give them different file names")
    for f in spec.files:
        if Path(f).resolve() in (conf, env):
            raise RenderError(f"rendering would overwrite the spec file {f}; choose another output path")


MAX_RENDERED_BYTES = 16 << 20  # a redis.conf or .env borgconf reads back before writing it again


def _read_text(path: Path | None) -> str | None:
    """The file as it is now (None: there is none). Never blocks: a FIFO, a device or
    a socket where a rendered file goes is refused (files.read_regular), not read."""
    if path is None:
        return None
    from ..files import NotRegularFile, read_regular

    try:
        raw = read_regular(path, MAX_RENDERED_BYTES)
        if len(raw) > MAX_RENDERED_BYTES:
            raise RenderError(f"cannot read {path}: larger than {MAX_RENDERED_BYTES >> 20} MiB; not a file borgconf renders")
        return raw.decode("utf-8")
    except FileNotFoundError:
        return None
    except NotRegularFile as exc:
        raise RenderError(f"cannot read {path}: it is {exc.kind}, not a regular file (render writes regular files)") from None
    except ValueError:  # a NUL in the name (UnicodeDecodeError is a ValueError too)
        if "\x00" in str(path):
            raise RenderError(f"cannot read {str(path)!r}: a file name cannot hold a NUL character") from None
        raise RenderError(f"cannot read {path}: it is not UTF-8 text") from None
    except OSError as exc:
        raise RenderError(f"cannot read {path}: {exc.strerror or exc}") from None


def render_env(spec, secret_values: dict[str, str], existing: envfile.Existing | None, keep: set[str], env_path: Path, allow_db_move: bool):
    blocks, values, db_vars = env_blocks(spec, secret_values)
    moves = check_db_moves(existing, db_vars, env_path, allow_db_move)
    fresh = _render_template("env.j2", {"borgconf_version": __version__, "spec_name": Path(spec.path).name, "blocks": blocks})
    text = envfile.merge(existing, fresh, values, keep)
    envfile.check_reads_back(text, values, existing, keep)
    return text, moves


def _register_encodings(secret: str) -> None:
    """A secret as it appears quoted in the files, so that a diff never shows it."""
    redact.register(conf_quote(secret, always=True)[1:-1])
    try:
        redact.register(envfile.quote("X", secret).strip("'\""))
    except envfile.Unquotable:
        pass


def render_files(
    spec_path: str,
    *,
    out_dir: str | os.PathLike | None = None,
    check: bool = False,
    allow_db_move: bool = False,
    environ: dict[str, str] | None = None,
    total_memory: int | None = None,
    env_file: str | None = None,
    allow_paths: tuple[str | os.PathLike, ...] = (),
    replace_secrets: bool = False,
) -> RenderResult:
    """Render (and unless ``check``, write) redis.conf and .env for a spec.
    ``allow_paths``: directories outside the spec's repository the command line
    allowed (``--allow-path``); ``out_dir`` is the command line's too.

    ``env_file`` (--env-file) supplies ${VAR}s under the environment, which wins
    (as for every other command); the rendered .env's own values come under both.
    ``replace_secrets`` (plan and apply): a secret the environment gives replaces
    the one in the .env instead of being refused (the .env follows the server)."""
    from ..spec import load_spec, referenced_variables
    from ..spec.extends import resolve_allowed
    from ..spec.interpolation import load_env_file

    environ = {**load_env_file(env_file), **(os.environ if environ is None else environ)}
    raw, refs = referenced_variables(spec_path)
    env_path = _raw_env_path(spec_path, raw, out_dir, environ, resolve_allowed(allow_paths))
    before_env = _read_text(env_path)
    existing = envfile.read(before_env) if before_env is not None else None
    existing_values = existing.values if existing is not None else {}
    for name in secret_variables(refs):
        redact.register(existing_values.get(name))
        redact.register(environ.get(name))

    sec = resolve_secrets(secret_variables(refs), existing_values, environ, env_path, replace=replace_secrets)
    merged = {**existing_values, **environ, **sec.values}
    spec = load_spec(spec_path, env=merged, allow_paths=allow_paths)
    for s in spec.secrets():
        _register_encodings(s)
    from ..lint import refuse_errors

    refuse_errors(spec)  # weak-secret: never rendered into redis.conf or .env
    try:
        conf_path, env_path2 = output_paths(spec, out_dir)
    except (ValueError, OSError, RuntimeError) as exc:
        raise RenderError(f"render.redis_conf / render.env_file is not a usable file name: {getattr(exc, 'strerror', None) or exc}") from None
    if env_path is None:  # load_spec did not refuse what _raw_env_path could not use
        raise RenderError(f"render.env_file {spec.render.env_file!r} is not a usable file name")
    if not _same_file(env_path2, env_path):
        raise RenderError(f"render.env_file resolved to {env_path2} after interpolation, but {env_path} was read")
    _check_outputs(spec, conf_path, env_path)

    conf_text = render_redis_conf(spec, total_memory=total_memory)
    env_text, moves = render_env(spec, sec.values, existing, set(sec.kept), env_path, allow_db_move)
    files = [
        RenderedFile(conf_path, conf_text, 0o600 if conf_holds_secret(spec) else 0o644, _read_text(conf_path)),
        RenderedFile(env_path, env_text, 0o600, before_env, kind=".env"),
    ]
    if not check:
        from ..files import write_atomic

        for f in files:
            try:
                if f.changed:
                    write_atomic(f.path, f.text, mode=f.mode)
                elif (f.path.stat().st_mode & 0o777) != f.mode:
                    os.chmod(f.path, f.mode)
            except OSError as exc:
                raise RenderError(f"cannot write {f.path}: {exc.strerror or exc}") from None
    return RenderResult(spec=spec, files=files, secrets=sec, db_moves=moves, written=not check)


def persist_file_writer(spec, *, total_memory: int | None = None):
    """A callable ``write(total_memory: int | None = None) -> None`` that writes
    render.redis_conf for ``persist: file``.

    A ``maxmemory: 25%`` must resolve against the live server's total memory
    (``LiveState.total_memory``, INFO's total_system_memory), not the memory of
    the machine borgconf runs on, or the persisted file differs from the live
    value. The memory given to the call wins, then the one given here, then the
    spec's ``render.total_memory``; with none of them a percentage is refused
    (RenderError), never resolved against the local machine.

    The file is rendered now, before apply changes anything, so a template or
    value problem stops the apply early; the callable writes it, rendering it
    again only for another total memory than the one rendered here.
    """
    from ..files import write_atomic
    from ..spec.types import percent_values

    path, _ = output_paths(spec)
    mode = 0o600 if conf_holds_secret(spec) else 0o644
    rendered: dict[int | None, str] = {}
    if total_memory or spec.render.total_memory or not percent_values(spec.server):
        rendered[total_memory] = render_redis_conf(spec, total_memory=total_memory)
    else:  # the memory comes with the call (read under the lock): check the rest now
        render_redis_conf(spec, total_memory=1 << 30)

    def write(total_memory: int | None = None, *, if_changed: bool = False) -> bool:
        """Write the file; with ``if_changed``, only when it differs from what is
        there (apply with no live change). True when it was written."""
        memory = total_memory if total_memory is not None else next(iter(rendered), None)
        if memory not in rendered:
            rendered[memory] = render_redis_conf(spec, total_memory=memory)
        if if_changed:
            from ..files import read_regular

            text = rendered[memory].encode()
            try:
                if read_regular(path, len(text)) == text and (os.stat(path).st_mode & 0o777) == mode:
                    return False
            except OSError:
                pass  # absent or unreadable: write it
        write_atomic(path, rendered[memory], mode=mode)
        return True

    write.path = path  # type: ignore[attr-defined]
    return write
