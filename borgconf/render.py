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
    from .users import channel_rule, key_rule

    args += [conf_quote(key_rule(k)) for k in user.keys]
    args.append("resetchannels")
    args += [conf_quote(channel_rule(c)) for c in user.channels]
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

# Limits of a snippet: a .env value is a line, not a document. Jinja's sandbox
# keeps a snippet away from Python's internals but not from a huge or endless
# computation, so the sandbox below also has no loops, no macros and no
# globals (range, lipsum, dict, cycler, joiner, namespace), and every filter,
# method call and operator that could build a large value is checked first.
SNIPPET_MAX_CHARS = 65_536  # any value a snippet builds
SNIPPET_MAX_NUMBER_ARG = 10_000  # a width, a count, a precision passed to a filter or method
SNIPPET_MAX_WORK = 1_000_000  # characters a single filter or call may be asked to produce
_SNIPPET_STATEMENTS = ("Output", "If")  # {{ ... }} and {% if %}; no for, set, macro, include, filter blocks
_STATEMENT_TAGS = {"Assign": "set", "AssignBlock": "set", "CallBlock": "call", "FilterBlock": "filter", "FromImport": "from",
                   "ExprStmt": "do", "EvalContextModifier": "autoescape", "ScopedEvalContextModifier": "autoescape",
                   "OverlayScope": "with", "Scope": "with"}


def _size(value: Any) -> int:
    if isinstance(value, (str, bytes)):
        return len(value)
    if isinstance(value, (list, tuple, set, frozenset, dict)):
        return len(value) + sum(len(v) for v in value if isinstance(v, (str, bytes)))
    return 0


def _limit_error(message: str):
    from jinja2.sandbox import SecurityError

    return SecurityError(message)


def _check_result(value: Any) -> Any:
    if _size(value) > SNIPPET_MAX_CHARS:
        raise _limit_error(f"a value longer than {SNIPPET_MAX_CHARS} characters")
    return value


def _check_args(args: tuple, kwargs: dict) -> None:
    """Before a filter or method runs: no huge number argument (a width, a
    count, a precision) and no call that could multiply its input's size."""
    values = [*args, *kwargs.values()]
    for v in values:
        if isinstance(v, int) and not isinstance(v, bool) and abs(v) > SNIPPET_MAX_NUMBER_ARG:
            raise _limit_error(f"a number argument above {SNIPPET_MAX_NUMBER_ARG} (a width or count that large is no .env value)")
    sizes = [_size(v) for v in values]
    if sizes and (max(sizes) + 1) * (sum(sizes) - max(sizes) + 1) > SNIPPET_MAX_WORK:
        raise _limit_error(f"a filter or call that could produce more than {SNIPPET_MAX_WORK} characters")


_PRINTF_SPEC = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d*))?")


def _check_printf(fmt: str) -> None:
    for m in _PRINTF_SPEC.finditer(fmt):
        for n in m.groups():
            if n == "*" or (n and int(n) > SNIPPET_MAX_NUMBER_ARG):
                raise _limit_error(f"a % format width or precision above {SNIPPET_MAX_NUMBER_ARG} (or *)")


def _check_str_format(fmt: str) -> None:
    import string

    for _, _, spec, _ in string.Formatter().parse(fmt):
        if spec and ("{" in spec or any(int(n) > SNIPPET_MAX_NUMBER_ARG for n in re.findall(r"\d+", spec))):
            raise _limit_error(f"a format width or precision above {SNIPPET_MAX_NUMBER_ARG} (or a nested field)")


def _guarded_filter(name: str, func):
    import functools

    @functools.wraps(func)  # keeps jinja's pass_context / pass_environment marks
    def guarded(*args, **kwargs):
        _check_args(args, kwargs)
        if name == "format" and args and isinstance(args[0], str):
            _check_printf(args[0])
        result = func(*args, **kwargs)
        return _check_result(result)

    return guarded


def _sandbox():
    import jinja2
    from jinja2.sandbox import SandboxedEnvironment

    class SnippetSandbox(SandboxedEnvironment):
        intercepted_binops = frozenset({"*", "**", "%", "+"})

        def call_binop(self, context, operator, left, right):
            if operator == "*":
                for seq, n in ((left, right), (right, left)):
                    if isinstance(seq, (str, list, tuple)) and isinstance(n, int) and len(seq) * max(n, 0) > SNIPPET_MAX_CHARS:
                        raise _limit_error(f"a value longer than {SNIPPET_MAX_CHARS} characters")
            elif operator == "**":
                if isinstance(left, int) and isinstance(right, int) and abs(left) > 1 and left.bit_length() * right > 64 * 1024:
                    raise _limit_error("a power that large is no .env value")
            elif operator == "%" and isinstance(left, str):
                _check_printf(left)
            return _check_result(super().call_binop(context, operator, left, right))

        def call(__self, __context, __obj, *args, **kwargs):  # noqa: N805 -- jinja's own signature
            if not isinstance(__obj, jinja2.Undefined):  # range(10**9): say that range is undefined
                _check_args(args, kwargs)
            return _check_result(super().call(__context, __obj, *args, **kwargs))

        def wrap_str_format(self, value):
            wrapped = super().wrap_str_format(value)
            if wrapped is None:
                return None
            fmt = value.__self__

            def checked(*args, **kwargs):
                _check_str_format(fmt)
                _check_args(args, kwargs)
                return _check_result(wrapped(*args, **kwargs))

            return checked

    env = SnippetSandbox(undefined=jinja2.StrictUndefined, autoescape=False)
    env.globals.clear()  # range, lipsum, dict, cycler, joiner, namespace: none is a .env value
    env.filters = {name: _guarded_filter(name, f) for name, f in env.filters.items()}
    return env


def _scrub(text: str, ctx: dict[str, Any]) -> str:
    """An exception's message without the values a snippet can see that are secret."""
    password = str(ctx.get("password") or "")
    for value in sorted({password, _pct(password, safe=""), str(ctx.get("url") or "")}, key=len, reverse=True):
        if value:
            text = text.replace(value, redact.MASK)
    text = redact.redact(text)
    return text if len(text) <= 200 else text[:197] + "..."


def render_snippet(sandbox, where: str, snippet: str, ctx: dict[str, Any]) -> str:
    """One ``services.<name>.env.<VAR>`` value. Any failure is a RenderError that
    names where the snippet is (``where``), never a secret value."""
    import jinja2
    from jinja2 import nodes

    available = f"(available: {', '.join(_SNIPPET_CONTEXT)})"
    try:
        ast = sandbox.parse(snippet)
        for stmt in ast.find_all(nodes.Stmt):
            if type(stmt).__name__ not in _SNIPPET_STATEMENTS:
                tag = _STATEMENT_TAGS.get(type(stmt).__name__, type(stmt).__name__.lower())
                raise _limit_error(f"{{% {tag} %}} is not available in a snippet: use {{{{ ... }}}} expressions, filters and {{% if %}}")
        text = str(sandbox.from_string(ast).render({k: ctx[k] for k in _SNIPPET_CONTEXT}))
        return _check_result(text)
    except jinja2.TemplateError as exc:
        raise RenderError(f"{where}: {type(exc).__name__}: {_scrub(str(exc), ctx)} {available}") from None
    except RecursionError:
        raise RenderError(f"{where}: the snippet is nested too deeply") from None
    except Exception as exc:  # noqa: BLE001 -- 1/0, db + "x", wordwrap(0), truncate(-1), ...: the snippet's error, not borgconf's
        message = _scrub(str(exc), ctx)
        raise RenderError(f"{where}: {type(exc).__name__}{': ' + message if message else ''} {available}") from None


@dataclass
class Variable:
    name: str
    value: str


@dataclass
class Block:
    title: str
    variables: list[Variable]
    same_as_above: list[str] = field(default_factory=list)  # variables it shares with an earlier block


def _snippet_where(spec, service: str, var: str) -> str:
    """``spec.yaml:12:7: services.app.env.X`` (the position when the spec knows it)."""
    dotted = f"services.{service}.env.{var}"
    try:
        file, line, col = spec.where(("services", service, "env", var))
    except Exception:  # noqa: BLE001 -- a position is a nicety
        return dotted
    return f"{file}:{line}:{col}: {dotted}" if line else dotted


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
            value = render_snippet(sandbox, _snippet_where(spec, name, var), snippet, ctx)
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


def _raw_env_path(spec_path: str, raw: Any, out_dir, environ: dict[str, str]) -> Path | None:
    """Where the .env is, read before the spec is validated; None when
    ``render.env_file`` is no usable file name (a NUL, a newline): nothing is
    read then, and load_spec reports the value with its position."""
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
    if value and any(c in value for c in "\n\r\x00"):
        return None
    try:
        return _output_path(value, DEFAULT_ENV_FILE, Path(spec_path).resolve().parent, out_dir)
    except (ValueError, OSError, RuntimeError):  # RuntimeError: a symlink loop on Python < 3.13
        return None


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except (ValueError, OSError, RuntimeError) as exc:
        raise RenderError(f"cannot use {str(b)!r} as a file name: {getattr(exc, 'strerror', None) or exc}") from None


# ---------------------------------------------------------------- the whole render


# ---------------------------------------------------------------- --check diffs without secrets

# redis.conf directives whose arguments are secrets (besides any *-pass and the
# catalog's sensitive parameters)
_SECRET_DIRECTIVES = frozenset({"requirepass", "masterauth", "primaryauth"})
_ACL_SECRET_PREFIXES = (">", "<", "#", "!")  # user ... >password <password #sha256 !sha256


def _conf_tokens(text: str) -> list[str] | None:
    """The arguments of a redis.conf line as written (quotes kept), split the
    way Redis's sdssplitargs splits them; None when the quoting is unbalanced."""
    out, i, n = [], 0, len(text)
    while True:
        while i < n and text[i] in " \t\n\r\v\f":
            i += 1
        if i >= n:
            return out
        start = i
        if text[i] in "\"'":
            quote, i = text[i], i + 1
            while i < n and text[i] != quote:
                # "...": \\ escapes any character; '...': only \\'
                i += 2 if text[i] == "\\" and (quote == '"' or text[i + 1 : i + 2] == "'") else 1
            if i >= n:
                return None
            i += 1
            if i < n and text[i] not in " \t\n\r\v\f":
                return None  # sdssplitargs: a closing quote must be followed by a space
        else:
            while i < n and text[i] not in " \t\n\r\v\f":
                i += 1
        out.append(text[start:i])


def _unquoted(token: str) -> str:
    return token[1:-1] if len(token) >= 2 and token[0] == token[-1] and token[0] in "\"'" else token


def _secret_directive(name: str) -> bool:
    if name in _SECRET_DIRECTIVES or name.endswith("-pass"):
        return True
    p = P.catalog().lookup(name)
    return p is not None and p.sensitive


def mask_conf_line(line: str) -> str:
    """A redis.conf line with every secret argument replaced by ``***``:
    requirepass, masterauth, primaryauth, any ``*-pass`` (``sentinel auth-pass``
    too), ``user`` passwords and hashes, and the new names of rename-command."""
    body = line.lstrip()
    if not body:
        return line
    indent = line[: len(line) - len(body)]
    if body.startswith("#"):  # a commented-out directive may still hold a secret: "# requirepass old"
        directive = body.lstrip("# \t")
        return indent + body[: len(body) - len(directive)] + mask_conf_line(directive) if directive else line
    tokens = _conf_tokens(body)
    name = _unquoted(body.split(None, 1)[0]).lower()
    mask = redact.MASK
    if tokens is None:  # unbalanced quotes: keep only what cannot be a secret
        if name == "user":
            words = body.split(None, 2)
            return indent + " ".join(words[:2] + ([mask] if len(words) > 2 else []))
        if _secret_directive(name) or name in ("rename-command", "sentinel") or "-pass" in body.lower():
            return indent + body.split(None, 1)[0] + " " + mask
        return line
    if not tokens:
        return line
    if _secret_directive(name):
        return indent + " ".join([tokens[0]] + ([mask] if len(tokens) > 1 else []))
    out = list(tokens)
    if name == "user":
        for i in range(2, len(out)):
            arg = _unquoted(out[i])
            if arg.startswith(_ACL_SECRET_PREFIXES):
                out[i] = arg[0] + mask
    elif name == "rename-command":
        for i in range(2, len(out)):
            if _unquoted(out[i]) != "":  # "" (disabled) is no secret
                out[i] = mask
    for i in range(1, len(out)):  # sentinel auth-pass <master> <password>, and any other *-pass argument
        if _unquoted(out[i]).lower().endswith("-pass"):
            out[i + 1 :] = [mask] if i + 1 < len(out) else []
            break
    return indent + " ".join(out)


def _unified_range(start: int, stop: int) -> str:
    length = stop - start
    if length == 1:
        return str(start + 1)
    return f"{start + 1 if length else start},{length}"


def masked_unified_diff(before: list[str], after: list[str], fromfile: str, tofile: str, show) -> list[str]:
    """A unified diff computed on the real lines and printed through ``show``
    (a masking function): a line whose only change is a secret shows as
    changed, with the secret masked on both sides."""
    import difflib

    groups = list(difflib.SequenceMatcher(None, before, after, autojunk=False).get_grouped_opcodes(3))
    if not groups:
        return []
    out = [f"--- {fromfile}", f"+++ {tofile}"]
    for group in groups:
        first, last = group[0], group[-1]
        out.append(f"@@ -{_unified_range(first[1], last[2])} +{_unified_range(first[3], last[4])} @@")
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                out += [" " + show(x) for x in before[i1:i2]]
                continue
            if tag in ("replace", "delete"):
                out += ["-" + show(x) for x in before[i1:i2]]
            if tag in ("replace", "insert"):
                out += ["+" + show(x) for x in after[j1:j2]]
    return out


def env_changes(before: str | None, after: str) -> list[str]:
    """What --check says about a .env: the NAMES of the variables that would be
    added, changed or removed. No value (the file holds other applications'
    secrets too, and an old secret may still be live) and no context lines."""
    old = envfile.read(before).values if before else {}
    new = envfile.read(after).values
    out = [f"+ {name} (added)" for name in new if name not in old]
    out += [f"~ {name} (changed)" for name in new if name in old and old[name] != new[name]]
    out += [f"- {name} (removed)" for name in old if name not in new]
    if not out and (before or "") != after:
        out.append("  (comments or layout only; no variable changes)")
    return ["variables (names only; values are never shown):", *out] if out else []


@dataclass
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
            lines = masked_unified_diff(
                (self.before or "").splitlines(),
                self.text.splitlines(),
                str(self.path) if self.before is not None else "/dev/null",
                str(self.path),
                mask_conf_line,
            )
            if not lines and self.changed:
                lines = [f"  (only line endings or the final newline of {self.path} differ)"]
        return "".join(line + "\n" for line in lines)


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


def _read_text(path: Path | None) -> str | None:
    if path is None:
        return None
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
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
    try:
        conf_path, env_path2 = output_paths(spec, out_dir)
    except (ValueError, OSError, RuntimeError) as exc:
        raise RenderError(f"render.redis_conf / render.env_file is not a usable file name: {getattr(exc, 'strerror', None) or exc}") from None
    if env_path is None:  # load_spec did not refuse what _raw_env_path could not use
        raise RenderError(f"render.env_file {spec.render.env_file!r} is not a usable file name")
    if not _same_file(env_path2, env_path):
        raise RenderError(f"render.env_file resolved to {env_path2} after interpolation, but {env_path} was read")

    conf_text = render_redis_conf(spec, total_memory=total_memory)
    env_text, moves = render_env(spec, sec.values, existing, set(sec.kept), env_path, allow_db_move)
    files = [
        RenderedFile(conf_path, conf_text, 0o600 if conf_holds_secret(spec) else 0o644, _read_text(conf_path)),
        RenderedFile(env_path, env_text, 0o600, before_env, kind=".env"),
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
    """A callable ``write(total_memory: int | None = None) -> None`` that writes
    render.redis_conf for ``persist: file``.

    A ``maxmemory: 25%`` must resolve against the live server's total memory
    (``LiveState.total_memory``, INFO's total_system_memory), not the memory of
    the machine borgconf runs on, or the persisted file differs from the live
    value. The memory given to the call wins, then the one given here; only
    when neither is known is the local machine's used (as ``render`` does).

    The file is rendered now, before apply changes anything, so a template or
    value problem stops the apply early; the callable writes it, rendering it
    again only for another total memory than the one rendered here.
    """
    from .files import write_atomic

    path, _ = output_paths(spec)
    mode = 0o600 if conf_holds_secret(spec) else 0o644
    rendered = {total_memory: render_redis_conf(spec, total_memory=total_memory)}

    def write(total_memory: int | None = None) -> None:
        memory = total_memory if total_memory is not None else next(iter(rendered))
        if memory not in rendered:
            rendered[memory] = render_redis_conf(spec, total_memory=memory)
        write_atomic(path, rendered[memory], mode=mode)

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
