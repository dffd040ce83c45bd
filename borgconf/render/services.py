"""Services: their Redis URLs and .env blocks (``<NAME>_REDIS_URL`` and ``env:``
snippets), and the database moves a new render would make."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import quote as _pct, urlsplit

from ..errors import RenderError
from ..records import field, record
from ..spec.names import env_prefix
from . import envfile
from .sandbox import render_snippet, snippet_sandbox

# ---------------------------------------------------------------- services and URLs




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
    """The port of the .env URLs: render.port, else the port in the spec's target
    URL, else server.port, else 6379 (spec.types.render_address)."""
    return _address(spec).port


def _address(spec):
    from ..spec.types import AddressConflict

    try:
        return spec.render_address()
    except AddressConflict as exc:  # validate refuses it first when the spec names render.env_file
        file, line, col = spec.where(exc.path)
        at = f"{file}:{line}:{col}: " if line else ""
        dotted = ".".join(p if isinstance(p, str) else f"[{p}]" for p in exc.path).replace(".[", "[")
        raise RenderError(f"{at}{dotted}: {exc}") from None


def service_url(scheme: str, host: str, port: int, db: int, username: str | None, password: str | None) -> str:
    """``redis://[user]:password@host:port/db``, user and password percent-encoded."""
    auth = _pct(username, safe="") if username else ""
    if password:
        auth += ":" + _pct(password, safe="")
    return f"{scheme}://{auth + '@' if auth else ''}{host}:{port}/{db}"


def service_context(spec, name: str, svc, address=None) -> dict[str, Any]:
    from ..lint import service_role

    username = svc.user or None
    if username and username != "default":
        password = spec.users[username].password
    else:
        password = default_password(spec)
    scheme = urlsplit(spec.target.url).scheme or "redis"
    address = address or _address(spec)
    host, port = address.host, address.port
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


@record
class Variable:
    name: str
    value: str


@record
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
    address = _address(spec) if spec.services else None
    for name, svc, ctx, variables in _service_variables(spec, address, lambda name, var: _snippet_where(spec, name, var)):
        role = f", {ctx['role']}" if ctx["role"] else ""
        block = Block(f"{name}: database {svc.db}{role}", [])
        db_vars[name] = []
        for var, path, value in variables:
            if isinstance(value, RenderError):
                raise value
            add(block, var, value, f"service {name}")
            if len(path) == 2 or _DB_ONLY.match(svc.env[var]):  # the URL variable, or a snippet of {{ db }} alone
                db_vars[name].append((var, svc.db))
        out.append(block)
    return out, values, db_vars


def _service_variables(spec, address, where):
    """Each service with its context and its .env variables in order: its
    ``<NAME>_REDIS_URL`` (path ("services", name)), then its ``env:`` snippets
    rendered (path ("services", name, "env", var)), as (variable, path, value);
    a snippet that fails has its RenderError (naming ``where(name, var)``) as value."""
    sandbox = snippet_sandbox(v for svc in spec.services.values() for v in svc.env.values())
    for name, svc in spec.services.items():
        ctx = service_context(spec, name, svc, address)
        variables = [(f"{env_prefix(name)}_REDIS_URL", ("services", name), ctx["url"])]
        for var, snippet in svc.env.items():
            try:
                value = render_snippet(sandbox, where(name, var), snippet, ctx)
            except RenderError as exc:
                value = exc
            variables.append((var, ("services", name, "env", var), value))
        yield name, svc, ctx, variables


def env_problems(spec) -> list[tuple[tuple, str]]:
    """What rendering the .env would refuse, found by ``validate`` first (issue 11):
    each ``env:`` snippet rendered dry in the sandbox with the values render gives it
    (an unknown variable in any branch, a syntax error, a runtime error), and two
    services giving one .env variable different values (their ``<NAME>_REDIS_URL``
    included). Returns (spec path, message) pairs; jinja2 is imported only when
    a service has snippets."""
    out: list[tuple[tuple, str]] = []
    seen: dict[str, tuple[str, tuple, str]] = {}  # variable -> (service, path, value)
    from ..spec.types import AddressConflict, RenderAddress

    try:
        address = spec.render_address()
    except AddressConflict:  # refused where the spec renders a .env (spec.checks) and by render itself;
        address = RenderAddress("redis", 6379)  # the snippets are still checked, against a stand-in
    for name, _svc, _ctx, variables in _service_variables(spec, address, lambda name, var: ""):
        out += [(path, str(value)) for _var, path, value in variables if isinstance(value, RenderError)]
        for var, path, value in variables:
            if isinstance(value, RenderError):
                continue
            if var not in seen:
                seen[var] = (name, path, value)
                continue
            other, other_path, other_value = seen[var]
            if other_value != value:
                line = spec.where(other_path)[1]
                at = f" (line {line})" if line else ""
                mine, theirs = len(path) > 2, len(other_path) > 2  # a snippet (env:), else the service's URL variable
                if mine and theirs:
                    why = f"{var} is also set by service {other!r}{at} to another value: the .env holds one {var}; set it in one service only (or give both the same value)"
                elif mine:
                    why = f"{var} is the URL variable of service {other!r}{at}, with another value: choose another name"
                elif theirs:
                    why = f"{var}, this service's URL variable, is also set by service {other!r}{at} to another value: choose another name there"
                else:
                    why = f"{var} is also the URL variable of service {other!r}{at}: the two names give one .env variable; rename one service"
                out.append((path, why))
    return out


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
