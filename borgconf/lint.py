"""Lint: what breaks real stacks, each finding with a stable id and one line of why.

Offline in ``validate`` (from the spec alone); ``plan`` adds what only the live
server knows (its memory, cluster mode, its current values).
"""

from __future__ import annotations


from .findings import Finding
from .records import replace

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
# Findings a server's live facts can rule out (a password or persistence the server
# has though the spec does not set it): lint with live states does not make them,
# lint offline does. Apply of a saved plan lints offline and shows these only where
# its plan, made against the servers, had them too (cli._as_planned).
RULED_OUT_BY_LIVE = frozenset({"no-requirepass", "no-persistence"})

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


def _value(server, live, name):
    """The value a parameter will have: the spec's (checked), else the live one, else None."""
    sv = server.get(name)
    if sv is not None:
        return sv.checked
    if live is not None:
        return live.config.get(name)
    return None


def lint(spec, lives: dict | None = None, groups: dict[str, str] | None = None) -> list[Finding]:
    """Findings for every target's effective settings: the shared server: block
    with the target's own merged over it (Spec.server_for). Offline from the spec
    alone; with live states, every target is linted against its own facts too.
    In the spec's target order, an identical finding once, so the result never
    depends on which server answered first. ``groups`` names the spec target
    whose ``discover:`` found a node (node name -> target name): a node takes
    that target's own server: block. A finding that rests on a target's own
    server: block names that target and the line of its override."""
    lives = lives or {}
    groups = groups or {}
    out: dict[Finding, None] = {}  # in order, each once (a set's speed: a fleet has hundreds)
    renamed = any(t.config_command.upper() != "CONFIG" for t in spec.targets)  # once, not per target

    def add(found):
        out.update(dict.fromkeys(found))

    add(weak_secrets(spec))
    if not lives:
        if not spec.target_server:
            add(_lint_one(spec, None, "", "", renamed))
            return _accepted(spec, list(out))
        for t in spec.targets:
            add(_lint_one(spec, None, t.name, t.name, renamed))
        return _accepted(spec, list(out))
    names = {t.name for t in spec.targets}
    order = [t.name for t in spec.targets if t.name in lives] + sorted(n for n in lives if n not in names)
    for name in order:
        add(_lint_one(spec, lives[name], name, groups.get(name, name), renamed))
    return _accepted(spec, list(out))


def _accepted(spec, findings: list[Finding]) -> list[Finding]:
    """Findings whose id the spec accepts (lint.accept) carry the spec's reason."""
    accept = spec.lint_accept
    return [replace(f, accepted=accept[f.id]) if f.id in accept and f.id not in ERROR_IDS else f for f in findings]


def weak_secrets(spec) -> list[Finding]:
    """weak-secret findings (errors) for every secret of the spec (spec.secrets
    says what a secret is): shorter than 8 characters, equal to a user name, or
    a common word. The message names where the secret is and the ${VAR} it came
    from, never the secret, nor which of the three it is (that would narrow it)."""
    return [Finding("weak-secret", f"{f}:{line}:{col}" if line else f, message, severity="error") for f, line, col, message in _weak(spec)]


def _weak(spec):
    """(file, line, col, message) of every weak secret: one walk for the findings
    and for refuse_errors' problems."""
    from .spec.secrets import COMMAND_NAME, secret_kind, secret_locations
    from .spec.yamlread import _dotted

    user_names = {"default"} | {n.lower() for n in spec.users} | {t.username.lower() for t in spec.targets if t.username}
    for path, value in secret_locations(spec):
        if not isinstance(value, str) or not value:
            continue
        if secret_kind(path) == COMMAND_NAME and value.lower() in ("disabled", "enabled", "config"):
            continue
        if len(value) >= MIN_SECRET_LENGTH and value.lower() not in COMMON_SECRETS and value.lower() not in user_names:
            continue
        f, line, col = spec.where(path)
        names = sorted(spec.var_paths.get(path, ()))
        what = f"the value of ${{{names[0]}}}" if names else "the value"
        yield f, line, col, (f"{_dotted(path)}: {what} is a weak secret (lint weak-secret): use {MIN_SECRET_LENGTH} or more characters "
            "that are not a common word or a user name, e.g. from openssl rand -base64 24")


def refuse_errors(spec) -> None:
    """Raise a SpecError (one positioned line each) for the lint findings that are
    errors (ERROR_IDS): validate, plan, apply and render stop before anything
    connects or is written."""
    from .errors import Problem, SpecError

    problems = [Problem(f, line if line else 0, col if line else 0, "", message) for f, line, col, message in _weak(spec)]
    if problems:
        raise SpecError(problems)


def _own_path(spec, owner: str, name_used: str) -> tuple:
    """Where a target's own server: block sets a parameter (targets: or target:)."""
    for i, t in enumerate(spec.targets):
        if t.name == owner:
            listed = ("targets", i, "server", name_used)
            return listed if listed[:2] in spec.positions or i else ("target", "server", name_used)
    return ("server", name_used)


def _lint_one(spec, live, target_name: str, owner: str, config_renamed: bool) -> list[Finding]:
    """Findings for one target (``live`` None: offline, the spec alone).
    ``target_name`` is the target (or discovered node) linted, ``owner`` the spec
    target whose own server: block applies to it."""
    own = spec.target_server.get(owner, {})
    server = spec.server_for(owner) if owner else spec.server

    def about(*names: str) -> str:
        """The target a finding is about: the one whose live facts it rests on,
        else the one whose own server: block sets what it rests on."""
        if live is not None and any(n not in server for n in names):
            return target_name
        return owner if any(n in own for n in names) else ""

    out: list[Finding] = []

    def where(path: tuple) -> str:
        f, line, col = spec.where(path)
        return f"{f}:{line}:{col}" if line else f

    def at(path: tuple, *names: str) -> str:
        """``path``, or the line of the target's own override of the first of ``names`` it sets."""
        for n in names:
            if n in own:
                return where(_own_path(spec, owner, own[n].name_used))
        return where(path)

    def param_at(sv) -> str:
        return at(("server", sv.name_used), sv.param.name)

    policy = _value(server, live, "maxmemory-policy")
    if policy is not None and str(policy).lower() not in EVICTING_OK:
        for name, svc in spec.services.items():
            if service_role(name, svc) == "queue":
                out.append(Finding("queue-evicting-policy", at(("services", name), "maxmemory-policy"),
                    f"service {name} is a queue but maxmemory-policy is {policy}: BullMQ and Sidekiq lose jobs when keys are evicted; use noeviction",
                    about("maxmemory-policy")))

    mm = server.get("maxmemory")
    if mm is not None:
        if isinstance(mm.checked, tuple) and mm.checked[1] > 75:
            out.append(Finding("maxmemory-no-headroom", param_at(mm),
                f"maxmemory {mm.checked[1]}% leaves no headroom for the fork of BGSAVE / AOF rewrite; stay at or below 75%", about("maxmemory")))
        elif isinstance(mm.checked, int) and live is not None and live.total_memory and mm.checked > live.total_memory * 3 // 4:
            out.append(Finding("maxmemory-no-headroom", param_at(mm),
                f"maxmemory is above 75% of the server's {live.total_memory} bytes: no headroom for the fork of BGSAVE / AOF rewrite", target_name))

    rp = _value(server, live, "requirepass")
    if not rp:
        out.append(Finding("no-requirepass", at(("server",), "requirepass"),
            "no requirepass: anyone who reaches the port can read, write and reconfigure Redis", about("requirepass")))

    aof = _value(server, live, "appendonly")
    save = _value(server, live, "save")
    aof_on = str(aof).lower() == "yes" if aof is not None else False
    # offline, a spec without `save` leaves the server's default save points in force
    # (Redis 7.0: 3600 1 300 100 60 10000): only an explicit empty save turns them off
    save_on = bool(save) if save is not None else live is None
    if (aof is not None or save is not None) and not aof_on and not save_on:
        if "appendonly" in server or "save" in server or live is not None:
            out.append(Finding("no-persistence", at(("server",), "appendonly", "save"),
                "no AOF and no save points: every key is lost on restart", about("appendonly", "save")))

    renamed = spec.commands.get("CONFIG")
    if (renamed is not None and renamed != "enabled") or config_renamed:
        path = ("commands", "CONFIG") if renamed is not None else ("target", "config_command")
        out.append(Finding("config-renamed", where(path),
            "renaming CONFIG breaks Sentinel, exporters and Redis 8 modules; prefer ACL users without +@admin"))

    live_cluster = live is not None and live.mode == "cluster"
    cluster = live_cluster or str(_value(server, None, "cluster-enabled") or "").lower() == "yes"
    if cluster:
        for name, svc in spec.services.items():
            if svc.db != 0:
                out.append(Finding("cluster-db", where(("services", name, "db")),
                    f"service {name} uses db {svc.db}, but a Redis Cluster has only db 0", target_name if live_cluster else about("cluster-enabled")))

    nke = server.get("notify-keyspace-events")
    if nke is not None and isinstance(nke.raw, str) and "n" in nke.raw:
        out.append(Finding("keyspace-events-n", param_at(nke),
            "'n' (new-key events) is neither reported by CONFIG GET nor kept by CONFIG REWRITE; borgconf leaves it out", about("notify-keyspace-events")))
    return out
