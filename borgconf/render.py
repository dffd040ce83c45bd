"""Rendering redis.conf and .env from templates/ (Jinja2, StrictUndefined).

``render_files`` is what ``borgconf render`` runs:

1. read the spec's YAML without validating it, to learn ``render.env_file``
   and which ``${VAR}``s feed secrets (requirepass, masterauth, passwords,
   renamed commands);
2. read the existing .env (python-dotenv); a secret found there is used as it
   is and never rotated; one found nowhere is generated (``secrets`` module);
3. load and validate the spec with those variables;
4. render ``redis.conf`` (every server parameter, ``rename-command`` lines,
   ACL users) and the .env (one ``<NAME>_REDIS_URL`` per service plus its
   ``env:`` snippets, rendered in a Jinja sandbox), merged into the existing
   file so that other variables and comments stay;
5. write each file atomically (0600 when it holds a secret), or with
   ``check`` only report which would change.

Output paths (``render.redis_conf``, default ``redis.conf``; ``render.env_file``,
default ``.env``) are relative to the directory of the spec file, like
``extends:``; ``--out-dir DIR`` writes both into DIR under their file names
instead (a scratch copy, or ``--check`` against another checkout).

Jinja2 is imported only here, and only when rendering.
"""

from __future__ import annotations

import os
import re
import secrets as _secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote as _pct, urlsplit

from . import __version__, envfile, redact
from . import params as P
from .errors import RenderError

TEMPLATES = ("redis.conf.j2", "env.j2")
DEFAULT_REDIS_CONF = "redis.conf"
DEFAULT_ENV_FILE = ".env"
GENERATED_PASSWORD_BYTES = 32  # token_urlsafe(32): 43 characters of A-Z a-z 0-9 _ -


# ---------------------------------------------------------------- templates


def templates_dir() -> Path:
    """The packaged templates (inside the wheel), else the repository's (editable install)."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "templates", here.parent / "templates"):
        if all((candidate / name).is_file() for name in TEMPLATES):
            return candidate
    raise RenderError(f"templates not found: neither {here / 'templates'} nor {here.parent / 'templates'} holds {', '.join(TEMPLATES)}")


def _jinja():
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir())),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["env_quote"] = lambda value, name: envfile.quote(name, str(value))
    env.filters["conf_quote"] = conf_quote
    return env


def _render_template(name: str, context: dict[str, Any]) -> str:
    import jinja2

    try:
        return _jinja().get_template(name).render(**context)
    except envfile.Unquotable:
        raise
    except jinja2.TemplateError as exc:
        raise RenderError(f"template {name}: {type(exc).__name__}: {exc}") from None


# ---------------------------------------------------------------- redis.conf

_BARE = re.compile(r"^[A-Za-z0-9_.,:/@%+=*!?<>()\[\]{}|&~^-]+$")
_C_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t", "\a": "\\a", "\b": "\\b"}


def conf_quote(arg: str, *, always: bool = False) -> str:
    """One redis.conf argument as Redis's config parser (sdssplitargs) reads it.

    Plain words stay bare; anything else (spaces, quotes, ``#``, ``$``, an empty
    value, control characters) goes in double quotes, where the parser decodes
    ``\\\\ \\" \\n \\r \\t \\a \\b`` and ``\\xHH``.
    """
    if not always and _BARE.fullmatch(arg):
        return arg
    out = []
    for ch in arg:
        if ch in _C_ESCAPES:
            out.append(_C_ESCAPES[ch])
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\x{ord(ch):02x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


@dataclass
class Directive:
    name: str
    args: list[str]  # quoted for redis.conf

    @property
    def line(self) -> str:
        return " ".join([self.name, *self.args])


@dataclass
class Section:
    title: str
    directives: list[Directive] = field(default_factory=list)


_SECTIONS: list[tuple[str, tuple[str, ...], tuple[str, ...]]] = [
    # (title, exact names, name prefixes)
    ("Network", ("bind", "bind-source-addr", "port", "protected-mode", "tcp-backlog", "timeout", "tcp-keepalive", "socket-mark-id"), ("unixsocket", "tls-")),
    ("General", ("daemonize", "supervised", "pidfile", "loglevel", "logfile", "databases", "always-show-logo", "set-proc-title", "proc-title-template", "locale-collate"), ("syslog-",)),
    ("Snapshots (RDB)", ("save", "stop-writes-on-bgsave-error", "rdbcompression", "rdbchecksum", "dbfilename", "rdb-del-sync-files", "dir"), ()),
    ("Append only file (AOF)", ("appendonly", "appendfsync", "appendfilename", "appenddirname", "no-appendfsync-on-rewrite"), ("aof-", "auto-aof-")),
    ("Memory", (), ("maxmemory", "lazyfree-", "active-defrag", "activedefrag")),
    ("Security", ("requirepass", "masterauth", "masteruser", "aclfile", "acllog-max-len", "acl-pubsub-default", "enable-protected-configs", "enable-debug-command", "enable-module-command"), ()),
    ("Replication", ("replicaof",), ("replica-", "repl-", "min-replicas-")),
    ("Clients and limits", ("maxclients", "client-output-buffer-limit", "client-query-buffer-limit", "proto-max-bulk-len"), ()),
]


def _section_of(name: str) -> str:
    for title, names, prefixes in _SECTIONS:
        if name in names or name.startswith(prefixes):
            return title
    return "Other"


def local_total_memory() -> int:
    """This machine's memory in bytes (what Redis reports as total_system_memory)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 0


def _memory_text(p: P.Param, canonical: str) -> str:
    return P.display(p, canonical) or canonical


def directive_lines(p: P.Param, canonical: str) -> list[list[str]]:
    """The quoted argument lists (one per redis.conf line) of a canonical value."""
    t = p.type
    if t == "save":
        pairs = P.parse_save(canonical)
        return [[str(s), str(c)] for s, c in pairs] if pairs else [['""']]
    if t == "client-output-buffer-limit":
        names = {"slave": "replica"}
        mem = P.catalog().lookup("maxmemory")
        return [
            [names.get(cls, cls), _memory_text(mem, str(h)), _memory_text(mem, str(s)), str(sec)]  # type: ignore[arg-type]
            for cls, (h, s, sec) in P.parse_cobl(canonical).items()
        ]
    if t == "replicaof":
        return [[conf_quote(tok) for tok in canonical.split()]] if canonical else []
    if t in ("string-list", "int-list", "float-list", "enum-set"):
        tokens = canonical.split()
        return [[conf_quote(tok) for tok in tokens] if tokens else ['""']]
    if t == "memory":
        return [[conf_quote(_memory_text(p, canonical))]]
    return [[conf_quote(canonical, always=p.sensitive)]]


def _user_directive(name: str, user) -> Directive:
    args = ["on" if user.enabled else "off"]
    if user.password:
        args.append(conf_quote(">" + user.password, always=True))
    args += [conf_quote("~" + k) for k in user.keys]
    args.append("resetchannels")
    args += [conf_quote("&" + c) for c in user.channels]
    args += [conf_quote(tok) for tok in user.commands.split()]
    return Directive("user", [conf_quote(name), *args])


def redis_conf_context(spec, *, total_memory: int | None = None) -> dict[str, Any]:
    memory = total_memory if total_memory is not None else local_total_memory()
    by_title: dict[str, Section] = {}
    for name, sv in spec.server.items():
        try:
            canonical = P.desired(sv.param, sv.checked, live=None, total_memory=memory)
        except P.InvalidValue as exc:
            raise RenderError(f"server.{sv.name_used}: {exc}") from None
        title = _section_of(name)
        section = by_title.setdefault(title, Section(title))
        for args in directive_lines(sv.param, canonical):
            section.directives.append(Directive(name, args))
    order = [t for t, _, _ in _SECTIONS] + ["Other"]
    sections = [by_title[t] for t in order if t in by_title and by_title[t].directives]
    renames = [
        {"command": cmd, "new_name": '""' if want == "disabled" else want}
        for cmd, want in spec.commands.items()
        if want != "enabled"
    ]
    users = []
    if "aclfile" not in spec.server:  # Redis refuses user lines together with an aclfile
        users = [_user_directive(n, u) for n, u in spec.users.items() if n != "default"]
    return {
        "borgconf_version": __version__,
        "spec_name": Path(spec.path).name,
        "sections": sections,
        "renames": renames,
        "users": users,
    }


def render_redis_conf(spec, *, total_memory: int | None = None) -> str:
    return _render_template("redis.conf.j2", redis_conf_context(spec, total_memory=total_memory))


def conf_holds_secret(spec) -> bool:
    return bool(
        any(sv.param.sensitive and sv.checked for sv in spec.server.values())
        or any(u.password for n, u in spec.users.items() if n != "default")
        or any(v not in ("disabled", "enabled") for v in spec.commands.values())
    )


# ---------------------------------------------------------------- services and URLs


def env_prefix(service: str) -> str:
    return re.sub(r"[^A-Z0-9_]", "_", service.upper())


def default_password(spec) -> str | None:
    """The default user's password: requirepass, else the target's password when
    borgconf itself logs in as the default user."""
    rp = spec.server.get("requirepass")
    if rp is not None:
        return rp.checked or None
    t = spec.target
    if t.password and t.username in (None, "default"):
        return t.password
    return None


def service_port(spec) -> int:
    if spec.render.port:
        return int(spec.render.port)
    sv = spec.server.get("port")
    if sv is not None and isinstance(sv.checked, int) and sv.checked:
        return sv.checked
    return 6379


def service_url(scheme: str, host: str, port: int, db: int, username: str | None, password: str | None) -> str:
    """``redis://[user]:password@host:port/db``, user and password percent-encoded."""
    auth = _pct(username, safe="") if username else ""
    if password:
        auth += ":" + _pct(password, safe="")
    return f"{scheme}://{auth + '@' if auth else ''}{host}:{port}/{db}"


def service_context(spec, name: str, svc) -> dict[str, Any]:
    from .lint import service_role

    username = svc.user or None
    if username and username != "default":
        password = spec.users[username].password
    else:
        password = default_password(spec)
    scheme = urlsplit(spec.target.url).scheme or "redis"
    host, port = spec.render.host, service_port(spec)
    return {
        "name": name,
        "role": service_role(name, svc) or "",
        "host": host,
        "port": port,
        "db": svc.db,
        "username": username or "",
        "password": password or "",
        "url": service_url(scheme, host, port, svc.db, username, password),
    }


_SNIPPET_CONTEXT = ("url", "host", "port", "db", "password", "username")


def render_snippet(sandbox, where: str, snippet: str, ctx: dict[str, Any]) -> str:
    import jinja2

    try:
        return str(sandbox.from_string(snippet).render({k: ctx[k] for k in _SNIPPET_CONTEXT}))
    except jinja2.TemplateError as exc:
        raise RenderError(f"{where}: {type(exc).__name__}: {exc} (available: {', '.join(_SNIPPET_CONTEXT)})") from None


def _sandbox():
    import jinja2
    from jinja2.sandbox import SandboxedEnvironment

    return SandboxedEnvironment(undefined=jinja2.StrictUndefined, autoescape=False)


@dataclass
class Variable:
    name: str
    value: str


@dataclass
class Block:
    title: str
    variables: list[Variable]
    same_as_above: list[str] = field(default_factory=list)  # variables it shares with an earlier block


_DB_ONLY = re.compile(r"^\s*\{\{\s*db\s*\}\}\s*$")


def env_blocks(spec, secret_values: dict[str, str]) -> tuple[list[Block], dict[str, str], dict[str, list[tuple[str, int]]]]:
    """The .env blocks (secrets, then one per service), every variable's value,
    and for each service the variables that hold its database number."""
    values: dict[str, str] = {}
    owner: dict[str, str] = {}
    out: list[Block] = []
    db_vars: dict[str, list[tuple[str, int]]] = {}

    def add(block: Block, name: str, value: str, who: str) -> None:
        if name in values:
            if values[name] != value:
                raise RenderError(f".env variable {name} is set by {owner[name]} and by {who} with different values")
            block.same_as_above.append(name)
            return
        values[name] = value
        owner[name] = who
        block.variables.append(Variable(name, value))

    if secret_values:
        block = Block("Secrets (generated once if missing; borgconf never changes one that is here)", [])
        for name in sorted(secret_values):
            add(block, name, secret_values[name], "the spec's secrets")
        out.append(block)
    sandbox = _sandbox() if any(svc.env for svc in spec.services.values()) else None
    for name, svc in spec.services.items():
        ctx = service_context(spec, name, svc)
        role = f", {ctx['role']}" if ctx["role"] else ""
        block = Block(f"{name}: database {svc.db}{role}", [])
        url_var = f"{env_prefix(name)}_REDIS_URL"
        add(block, url_var, ctx["url"], f"service {name}")
        db_vars[name] = [(url_var, svc.db)]
        for var, snippet in svc.env.items():
            value = render_snippet(sandbox, f"services.{name}.env.{var}", snippet, ctx)
            add(block, var, value, f"service {name}")
            if _DB_ONLY.match(snippet):
                db_vars[name].append((var, svc.db))
        out.append(block)
    return out, values, db_vars


def _db_of(var: str, text: str) -> int | None:
    if var.endswith("_REDIS_URL"):
        try:
            path = urlsplit(text).path.strip("/")
        except ValueError:
            return None
        return int(path) if path.isdigit() else (0 if path == "" and "://" in text else None)
    return int(text) if text.strip().isdigit() else None


def check_db_moves(existing: envfile.Existing | None, db_vars, env_path: Path, allow: bool) -> list[str]:
    """Services whose database number differs from the one in the existing .env."""
    if existing is None:
        return []
    moves = []
    for service, pairs in db_vars.items():
        for var, db in pairs:
            if var not in existing.values:
                continue
            old = _db_of(var, existing.values[var])
            if old is not None and old != db:
                moves.append(f"service {service}: database {old} -> {db} ({var} in {env_path})")
                break
    if moves and not allow:
        raise RenderError(
            "refusing to move services to another database (their keys would stay behind in the old one; "
            "move the data first, e.g. with MOVE or MIGRATE, then pass --allow-db-move): " + "; ".join(moves)
        )
    return moves


# ---------------------------------------------------------------- secrets before the spec loads

_PASSWORD, _COMMAND_NAME = "password", "command name"


def _secret_kind(path: tuple) -> str | None:
    if len(path) == 2 and path[0] == "server":
        p = P.catalog().lookup(str(path[1]))
        return _PASSWORD if p is not None and p.sensitive else None
    if path in (("target", "password"),) or (len(path) == 3 and path[0] == "targets" and path[2] == "password"):
        return _PASSWORD
    if len(path) == 3 and path[0] == "users" and path[2] == "password":
        return _PASSWORD
    if path == ("target", "config_command") or (len(path) == 3 and path[0] == "targets" and path[2] == "config_command"):
        return _COMMAND_NAME
    if len(path) == 2 and path[0] == "commands":
        return _COMMAND_NAME
    return None


def secret_variables(refs: dict[tuple, dict[str, str | None]]) -> dict[str, tuple[str, bool]]:
    """``${VAR}``s that feed a secret: name -> (kind, has a default everywhere)."""
    out: dict[str, tuple[str, bool]] = {}
    for path, names in refs.items():
        kind = _secret_kind(path)
        if kind is None:
            continue
        for name, default in names.items():
            old_kind, old_default = out.get(name, (kind, True))
            kind_ = _COMMAND_NAME if _COMMAND_NAME in (kind, old_kind) else _PASSWORD
            out[name] = (kind_, old_default and default is not None)
    return out


def generate_secret(kind: str) -> str:
    if kind == _COMMAND_NAME:
        # a command name: letters first, then [A-Za-z0-9_-] (rename-command and target.config_command)
        return "cmd_" + _secrets.token_hex(16)
    # URL-safe alphabet: no quoting trouble in redis.conf, .env or a redis:// URL
    return _secrets.token_urlsafe(GENERATED_PASSWORD_BYTES)


@dataclass
class Secrets:
    values: dict[str, str]  # every secret variable written to .env
    generated: list[str]
    kept: list[str]  # found in the existing .env
    from_environment: list[str]


def resolve_secrets(wanted: dict[str, tuple[str, bool]], existing: dict[str, str], environ: dict[str, str], env_path: Path) -> Secrets:
    out = Secrets({}, [], [], [])
    for name in sorted(wanted):
        kind, has_default = wanted[name]
        from_env = environ.get(name)
        if existing.get(name):
            value = existing[name]
            if from_env and from_env != value:
                raise RenderError(
                    f"{name} in the environment differs from the one in {env_path}; borgconf never "
                    f"replaces a secret that is already there: unset {name}, or change it in {env_path} yourself"
                )
            out.kept.append(name)
        elif from_env:
            value = from_env
            out.from_environment.append(name)
        elif has_default:
            continue  # ${VAR:-default}: the spec says it is optional
        else:
            value = generate_secret(kind)
            out.generated.append(name)
        redact.register(value)
        out.values[name] = value
    return out


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


def _raw_env_path(spec_path: str, raw: Any, out_dir, environ: dict[str, str]) -> Path:
    from .spec import interpolate

    render = raw.get("render") if isinstance(raw, dict) else None
    value = render.get("env_file") if isinstance(render, dict) else None
    if value is not None and not isinstance(value, str):
        value = None  # load_spec reports it
    if value and "$" in value:
        try:
            value = interpolate(value, environ, set())
        except (KeyError, ValueError):
            value = None  # load_spec reports it
    return _output_path(value, DEFAULT_ENV_FILE, Path(spec_path).resolve().parent, out_dir)


# ---------------------------------------------------------------- the whole render


@dataclass
class RenderedFile:
    path: Path
    text: str
    mode: int
    before: str | None  # current content; None when the file does not exist

    @property
    def changed(self) -> bool:
        return self.before != self.text

    @property
    def status(self) -> str:
        if self.before is None:
            return "created"
        return "updated" if self.changed else "unchanged"

    def diff(self) -> str:
        import difflib

        lines = difflib.unified_diff(
            (self.before or "").splitlines(keepends=True),
            self.text.splitlines(keepends=True),
            fromfile=str(self.path) if self.before is not None else "/dev/null",
            tofile=str(self.path),
        )
        return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


@dataclass
class RenderResult:
    spec: Any
    files: list[RenderedFile]
    secrets: Secrets
    db_moves: list[str]
    written: bool

    @property
    def changed(self) -> list[RenderedFile]:
        return [f for f in self.files if f.changed]


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise RenderError(f"cannot read {path}: {exc}") from None


def render_env(spec, secret_values: dict[str, str], existing: envfile.Existing | None, keep: set[str], env_path: Path, allow_db_move: bool):
    blocks, values, db_vars = env_blocks(spec, secret_values)
    moves = check_db_moves(existing, db_vars, env_path, allow_db_move)
    fresh = _render_template("env.j2", {"borgconf_version": __version__, "spec_name": Path(spec.path).name, "blocks": blocks})
    return envfile.merge(existing, fresh, values, keep), moves


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
) -> RenderResult:
    """Render (and unless ``check``, write) redis.conf and .env for a spec."""
    from .spec import load_spec, referenced_variables

    environ = dict(os.environ if environ is None else environ)
    raw, refs = referenced_variables(spec_path)
    env_path = _raw_env_path(spec_path, raw, out_dir, environ)
    before_env = _read_text(env_path)
    existing = envfile.read(before_env) if before_env is not None else None
    existing_values = existing.values if existing is not None else {}
    for name in secret_variables(refs):
        redact.register(existing_values.get(name))
        redact.register(environ.get(name))

    sec = resolve_secrets(secret_variables(refs), existing_values, environ, env_path)
    merged = {**existing_values, **environ, **sec.values}
    spec = load_spec(spec_path, env=merged)
    for s in spec.secrets():
        _register_encodings(s)
    conf_path, env_path2 = output_paths(spec, out_dir)
    if env_path2.resolve() != env_path.resolve():
        raise RenderError(f"render.env_file resolved to {env_path2} after interpolation, but {env_path} was read")

    conf_text = render_redis_conf(spec, total_memory=total_memory)
    env_text, moves = render_env(spec, sec.values, existing, set(sec.kept), env_path, allow_db_move)
    files = [
        RenderedFile(conf_path, conf_text, 0o600 if conf_holds_secret(spec) else 0o644, _read_text(conf_path)),
        RenderedFile(env_path, env_text, 0o600, before_env),
    ]
    if not check:
        from .files import write_atomic

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
    """A callable that writes render.redis_conf for ``persist: file``.

    The file is rendered now, before apply changes anything, so a template or
    value problem stops the apply early; the callable only writes it.
    """
    from .files import write_atomic

    path, _ = output_paths(spec)
    text = render_redis_conf(spec, total_memory=total_memory)
    mode = 0o600 if conf_holds_secret(spec) else 0o644

    def write() -> None:
        write_atomic(path, text, mode=mode)

    write.path = path  # type: ignore[attr-defined]
    return write


__all__ = [
    "render_files",
    "render_redis_conf",
    "persist_file_writer",
    "templates_dir",
    "conf_quote",
    "service_url",
    "RenderResult",
    "RenderedFile",
]
