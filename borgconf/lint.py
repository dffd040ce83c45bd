"""Lint: what breaks real stacks, each finding with a stable id and one line of why.

Offline in ``validate`` (from the spec alone); ``plan`` adds what only the live
server knows (its memory, cluster mode, its current values).
"""

from __future__ import annotations

from dataclasses import replace

from .findings import Finding

# Every lint id, with what it is about (a spec's lint.accept names these;
# tests/unit/test_lint.py pins that every Finding made here is listed).
LINT_IDS = {
    "queue-evicting-policy": "a queue service on an instance whose maxmemory-policy can evict",
    "maxmemory-no-headroom": "maxmemory above 75% of the server's memory",
    "no-requirepass": "no requirepass",
    "no-persistence": "neither AOF nor save points",
    "config-renamed": "CONFIG renamed",
    "cluster-db": "a service on a database other than 0 on a Redis Cluster",
    "keyspace-events-n": "'n' in notify-keyspace-events",
    "weak-secret": "a secret shorter than 8 characters, equal to a user name, or a common word (an error)",
}

# Lint ids that are errors: validate, plan, apply and render refuse the spec
# (with or without --strict), and lint.accept cannot accept them.
ERROR_IDS = frozenset({"weak-secret"})

# weak-secret: a secret shorter than this, equal to a user name, or one of these
# words (case-insensitive) is guessed in the first seconds of an attack -- and
# masking it in output would reveal it ("for user '***'").
MIN_SECRET_LENGTH = 8
COMMON_SECRETS = frozenset({
    "password", "passw0rd", "password1", "default", "change", "changeme", "changeit", "redis", "redispass",
    "redispassword", "secret", "secret123", "admin", "administrator", "root", "test", "testing", "guest", "user",
    "master", "letmein", "welcome", "qwerty", "qwertyuiop", "iloveyou", "foobared", "12345678", "123456789",
    "1234567890", "abcdefgh", "requirepass", "masterauth", "sentinel", "replica", "example", "notasecret",
})

KNOWN_APP_ROLES = {"n8n": "queue", "chatwoot": "queue", "directus": "cache", "lowcoder": "session"}
EVICTING_OK = {"noeviction"}


def service_role(name: str, svc) -> str | None:
    return svc.role or KNOWN_APP_ROLES.get(name)


def _value(spec, live, name):
    """The value a parameter will have: the spec's (checked), else the live one, else None."""
    sv = spec.server.get(name)
    if sv is not None:
        return sv.checked
    if live is not None:
        return live.config.get(name)
    return None


def lint(spec, lives: dict | None = None) -> list[Finding]:
    """Offline findings from the spec alone; with live states, every target is
    linted against its own facts (in the spec's target order, duplicates once),
    so the result never depends on which server answered first."""
    lives = lives or {}
    if not lives:
        return _accepted(spec, weak_secrets(spec) + _lint_one(spec, None, ""))
    order = [t.name for t in spec.targets if t.name in lives] + sorted(n for n in lives if n not in {t.name for t in spec.targets})
    out: list[Finding] = weak_secrets(spec)
    for name in order:
        for f in _lint_one(spec, lives[name], name):
            if f not in out:
                out.append(f)
    return _accepted(spec, out)


def _accepted(spec, findings: list[Finding]) -> list[Finding]:
    """Findings whose id the spec accepts (lint.accept) carry the spec's reason."""
    accept = spec.lint_accept
    return [replace(f, accepted=accept[f.id]) if f.id in accept and f.id not in ERROR_IDS else f for f in findings]


def weak_secrets(spec) -> list[Finding]:
    """weak-secret findings (errors) for every secret of the spec (spec.secrets
    says what a secret is): shorter than 8 characters, equal to a user name, or
    a common word. The message names where the secret is and the ${VAR} it came
    from, never the secret, nor which of the three it is (that would narrow it)."""
    from .spec.secrets import COMMAND_NAME, secret_kind

    user_names = {"default"} | {n.lower() for n in spec.users} | {t.username.lower() for t in spec.targets if t.username}
    out: list[Finding] = []
    for path, value in _secret_locations(spec):
        if not isinstance(value, str) or not value:
            continue
        if secret_kind(path) == COMMAND_NAME and value.lower() in ("disabled", "enabled", "config"):
            continue
        if len(value) >= MIN_SECRET_LENGTH and value.lower() not in COMMON_SECRETS and value.lower() not in user_names:
            continue
        f, line, col = spec.where(path)
        names = sorted(spec.var_paths.get(path, ()))
        what = f"the value of ${{{names[0]}}}" if names else "the value"
        out.append(Finding("weak-secret", f"{f}:{line}:{col}" if line else f,
            f"{_dotted(path)}: {what} is a weak secret (lint weak-secret): use {MIN_SECRET_LENGTH} or more characters "
            "that are not a common word or a user name, e.g. from openssl rand -base64 24", severity="error"))
    return out


def _secret_locations(spec):
    """(spec path, value) of every secret, as the spec's YAML spells the path."""
    listed = any(p[:1] == ("targets",) for p in spec.positions)
    for i, t in enumerate(spec.targets):
        at = ("targets", i) if listed else ("target",)
        yield at + ("password",), t.password
        yield at + ("previous_password",), t.previous_password
        if t.config_command.upper() != "CONFIG":
            yield at + ("config_command",), t.config_command
        for v in spec.target_server.get(t.name, {}).values():
            if v.param.sensitive:
                yield at + ("server", v.name_used), v.checked
    for v in spec.server.values():
        if v.param.sensitive:
            yield ("server", v.name_used), v.checked
    for name, u in spec.users.items():
        yield ("users", name, "password"), u.password
    for cmd, new in spec.commands.items():
        if new not in ("disabled", "enabled"):
            yield ("commands", _spelled(spec, cmd)), new


def _spelled(spec, cmd: str) -> str:
    """A command as the spec spells it (commands: keys are upper-cased when loaded)."""
    return next((p[1] for p in spec.positions if len(p) == 2 and p[0] == "commands" and str(p[1]).upper() == cmd), cmd)


def _dotted(path: tuple) -> str:
    from .spec.yamlread import _dotted as dotted

    return dotted(path)


def refuse_errors(spec) -> None:
    """Raise a SpecError (one positioned line each) for the lint findings that are
    errors (ERROR_IDS): validate, plan, apply and render stop before anything
    connects or is written."""
    from .errors import Problem, SpecError

    problems = []
    for f in weak_secrets(spec):
        file, line, col = _split_where(f.where)
        problems.append(Problem(file, line, col, "", f.message))
    if problems:
        raise SpecError(problems)


def _split_where(where: str) -> tuple[str, int, int]:
    parts = where.rsplit(":", 2)
    if len(parts) == 3 and parts[1].isdigit() and parts[2].isdigit():
        return parts[0], int(parts[1]), int(parts[2])
    return where, 0, 0


def _lint_one(spec, live, target_name: str) -> list[Finding]:
    """Findings for one target (``live`` None: offline, the spec alone)."""

    def about(*names: str) -> str:
        """The target's name when a finding rests on its live facts."""
        return target_name if live is not None and any(n not in spec.server for n in names) else ""

    out: list[Finding] = []

    def where(path: tuple) -> str:
        f, line, col = spec.where(path)
        return f"{f}:{line}:{col}" if line else f

    policy = _value(spec, live, "maxmemory-policy")
    if policy is not None and str(policy).lower() not in EVICTING_OK:
        for name, svc in spec.services.items():
            if service_role(name, svc) == "queue":
                out.append(Finding("queue-evicting-policy", where(("services", name)),
                    f"service {name} is a queue but maxmemory-policy is {policy}: BullMQ and Sidekiq lose jobs when keys are evicted; use noeviction",
                    about("maxmemory-policy")))

    mm = spec.server.get("maxmemory")
    if mm is not None:
        if isinstance(mm.checked, tuple) and mm.checked[1] > 75:
            out.append(Finding("maxmemory-no-headroom", where(("server", mm.name_used)),
                f"maxmemory {mm.checked[1]}% leaves no headroom for the fork of BGSAVE / AOF rewrite; stay at or below 75%"))
        elif isinstance(mm.checked, int) and live is not None and live.total_memory and mm.checked > live.total_memory * 3 // 4:
            out.append(Finding("maxmemory-no-headroom", where(("server", mm.name_used)),
                f"maxmemory is above 75% of the server's {live.total_memory} bytes: no headroom for the fork of BGSAVE / AOF rewrite", target_name))

    rp = _value(spec, live, "requirepass")
    if not rp:
        out.append(Finding("no-requirepass", where(("server",)),
            "no requirepass: anyone who reaches the port can read, write and reconfigure Redis", about("requirepass")))

    aof = _value(spec, live, "appendonly")
    save = _value(spec, live, "save")
    aof_on = str(aof).lower() == "yes" if aof is not None else False
    # offline, a spec without `save` leaves the server's default save points in force
    # (Redis 7.0: 3600 1 300 100 60 10000): only an explicit empty save turns them off
    save_on = bool(save) if save is not None else live is None
    if (aof is not None or save is not None) and not aof_on and not save_on:
        if "appendonly" in spec.server or "save" in spec.server or live is not None:
            out.append(Finding("no-persistence", where(("server",)),
                "no AOF and no save points: every key is lost on restart", about("appendonly", "save")))

    renamed = spec.commands.get("CONFIG")
    if (renamed is not None and renamed != "enabled") or any(t.config_command.upper() != "CONFIG" for t in spec.targets):
        path = ("commands", "CONFIG") if renamed is not None else ("target", "config_command")
        out.append(Finding("config-renamed", where(path),
            "renaming CONFIG breaks Sentinel, exporters and Redis 8 modules; prefer ACL users without +@admin"))

    live_cluster = live is not None and live.mode == "cluster"
    cluster = live_cluster or str(_value(spec, None, "cluster-enabled") or "").lower() == "yes"
    if cluster:
        for name, svc in spec.services.items():
            if svc.db != 0:
                out.append(Finding("cluster-db", where(("services", name, "db")),
                    f"service {name} uses db {svc.db}, but a Redis Cluster has only db 0", target_name if live_cluster else ""))

    nke = spec.server.get("notify-keyspace-events")
    if nke is not None and isinstance(nke.raw, str) and "n" in nke.raw:
        out.append(Finding("keyspace-events-n", where(("server", nke.name_used)),
            "'n' (new-key events) is neither reported by CONFIG GET nor kept by CONFIG REWRITE; borgconf leaves it out"))
    return out
