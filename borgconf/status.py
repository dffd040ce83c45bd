"""``borgconf status``: live health of each target against the spec and the guide's targets.

Two layers: :func:`read_health` only reads, in one round trip per target (one
pipeline: ``INFO`` with every section needed, ``CONFIG GET`` of the limits,
``SLOWLOG LEN``); :func:`evaluate` is pure (facts + spec -> report) and is
tested from captured INFO replies.

Each check has a verdict: ``ok``, ``warn`` or ``error``. The targets (from the
stack's guide): used memory under 90% of maxmemory; hit rate
``keyspace_hits / (hits + misses)`` above 90%; no evictions (a queue loses
jobs); no rejected connections; clients under 90% of maxclients; the last RDB
save and AOF write / rewrite succeeded; a replica's link up with little lag;
every database that holds keys belongs to a service; maxmemory, its policy
and maxclients as the spec says (otherwise a warning that points to plan).
"""

from __future__ import annotations

import time
from typing import Any

from .records import field, record

OK, WARN, ERROR = "ok", "warn", "error"
_RANK = {OK: 0, WARN: 1, ERROR: 2}

MEMORY_WARN = 0.90
# at maxmemory: Redis refuses a write when the memory it counts is above maxmemory at that
# moment; a moment later INFO may read a little under it (the refused command's buffers
# are freed), so within 1% counts as full
MEMORY_FULL = 0.99
HIT_RATE_TARGET = 0.90
CLIENTS_WARN = 0.90
REPLICA_LAG_WARN = 10  # seconds since the last interaction with the primary
FORMAT_VERSION = "1"
INFO_SECTIONS = ("server", "clients", "memory", "persistence", "stats", "replication", "keyspace")
CONFIG_NEEDED = ("maxmemory", "maxmemory-policy", "maxclients", "save", "appendonly", "databases", "slowlog-max-len")


@record
class Check:
    """One health check of one target."""

    name: str
    verdict: str
    value: str
    note: str = ""

    def to_json(self) -> dict:
        return {"check": self.name, "verdict": self.verdict, "value": self.value, "note": self.note}


@record
class TargetHealth:
    """The health checks of one target."""

    name: str
    address: str
    flavour: str = ""
    version: str = ""
    role: str = ""
    checks: list[Check] = field(default_factory=list)
    error: str | None = None  # the target could not be read

    @property
    def verdict(self) -> str:
        if self.error:
            return ERROR
        return max((c.verdict for c in self.checks), key=_RANK.__getitem__, default=OK)

    def count(self, verdict: str) -> int:
        return sum(1 for c in self.checks if c.verdict == verdict)

    @property
    def summary(self) -> str:
        if self.error:
            return f"{self.name}: could not be read: {self.error}"
        w, e = self.count(WARN), self.count(ERROR)
        if not w and not e:
            return f"{self.name}: healthy ({len(self.checks)} checks ok)"
        return f"{self.name}: {e} error(s), {w} warning(s) of {len(self.checks)} checks"

    def to_json(self) -> dict:
        d: dict[str, Any] = {
            "name": self.name,
            "address": self.address,
            "server": {"flavour": self.flavour, "version": self.version, "role": self.role},
            "verdict": self.verdict,
            "checks": [c.to_json() for c in self.checks],
            "summary": self.summary,
        }
        if self.error:
            d["error"] = self.error
        return d


@record
class Health:
    """The health of every target."""

    spec_path: str
    targets: list[TargetHealth]

    @property
    def verdict(self) -> str:
        return max((t.verdict for t in self.targets), key=_RANK.__getitem__, default=OK)

    def to_json(self) -> dict:
        from . import __version__

        return {
            "format_version": FORMAT_VERSION,
            "borgconf_version": __version__,
            "spec": {"path": self.spec_path},
            "targets": [t.to_json() for t in self.targets],
            "summary": {
                "verdict": self.verdict,
                "targets": len(self.targets),
                "ok": sum(t.count(OK) for t in self.targets),
                "warn": sum(t.count(WARN) for t in self.targets),
                "error": sum(t.count(ERROR) for t in self.targets) + sum(1 for t in self.targets if t.error),
            },
        }


# ---------------------------------------------------------------- pure evaluation


def _int(info: dict, key: str, default: int = 0) -> int:
    try:
        return int(float(info.get(key, default)))
    except (TypeError, ValueError):
        return default


def _size(n: int) -> str:
    for unit, size in (("gb", 1024**3), ("mb", 1024**2), ("kb", 1024)):
        if n >= size:
            return f"{n / size:.1f}{unit}"
    return f"{n}b"


def _age(seconds: int) -> str:
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 7200:
        return f"{seconds // 60}m"
    if seconds < 172800:
        return f"{seconds // 3600}h"
    return f"{seconds // 86400}d"


def keyspace(info: dict) -> dict[int, int]:
    out = {}
    for key, value in info.items():
        if isinstance(key, str) and key.startswith("db") and key[2:].isdigit() and isinstance(value, dict):
            out[int(key[2:])] = int(value.get("keys", 0))
    return out


def evaluate(info: dict, config: dict[str, str], slowlog_len: int, spec, *, now: float | None = None) -> list[Check]:
    """The checks of one target, from its INFO (as redis-py parses it), CONFIG GET and SLOWLOG LEN."""
    from . import params as P

    now = time.time() if now is None else now
    checks: list[Check] = []
    add = lambda name, verdict, value, note="": checks.append(Check(name, verdict, value, note))  # noqa: E731

    # memory
    used = _int(info, "used_memory")
    maxmemory = _int(config, "maxmemory")
    policy = str(config.get("maxmemory-policy", "noeviction"))
    if maxmemory <= 0:
        add("memory", OK, f"{_size(used)} used, no maxmemory", "no limit: the server may grow until the machine runs out of memory")
    else:
        ratio = used / maxmemory
        value = f"{_size(used)} of {_size(maxmemory)} ({ratio:.0%})"
        if ratio >= MEMORY_FULL and policy == "noeviction":
            add("memory", ERROR, value, "at maxmemory (within 1%) with noeviction: writes are refused (OOM)")
        elif ratio > MEMORY_WARN:
            add("memory", WARN, value, f"above {MEMORY_WARN:.0%} of maxmemory" + ("; keys are being evicted" if policy != "noeviction" else "; writes will be refused at 100%"))
        else:
            add("memory", OK, value)

    # hit rate
    hits, misses = _int(info, "keyspace_hits"), _int(info, "keyspace_misses")
    if hits + misses == 0:
        add("hit rate", OK, "n/a", "no reads yet")
    else:
        rate = hits / (hits + misses)
        value = f"{rate:.1%} ({hits} hits, {misses} misses)"
        add("hit rate", OK if rate > HIT_RATE_TARGET else WARN, value, "" if rate > HIT_RATE_TARGET else f"target above {HIT_RATE_TARGET:.0%}")

    # evictions and expirations
    evicted = _int(info, "evicted_keys")
    queues = sorted(n for n, s in spec.services.items() if s.role == "queue")
    if evicted:
        note = f"policy {policy}"
        if queues:
            note += f"; queue service(s) {', '.join(queues)} lose jobs when their keys are evicted"
        add("evicted keys", ERROR if queues else WARN, str(evicted), note)
    else:
        add("evicted keys", OK, "0")
    add("expired keys", OK, str(_int(info, "expired_keys")))

    # clients
    connected, blocked = _int(info, "connected_clients"), _int(info, "blocked_clients")
    maxclients = _int(config, "maxclients")
    if maxclients > 0:
        ratio = connected / maxclients
        value = f"{connected} of {maxclients} ({ratio:.0%}), {blocked} blocked"
        add("clients", WARN if ratio > CLIENTS_WARN else OK, value, f"above {CLIENTS_WARN:.0%} of maxclients" if ratio > CLIENTS_WARN else "")
    else:
        add("clients", OK, f"{connected}, {blocked} blocked")
    rejected = _int(info, "rejected_connections")
    add("rejected connections", WARN if rejected else OK, str(rejected), "maxclients was reached" if rejected else "")

    # persistence
    save_on = bool(str(config.get("save", "")).strip())
    aof_on = _int(info, "aof_enabled") == 1 or str(config.get("appendonly", "no")).lower() == "yes"
    status = str(info.get("rdb_last_bgsave_status", "ok"))
    last_save = _int(info, "rdb_last_save_time")
    changes = _int(info, "rdb_changes_since_last_save")
    age = max(0, int(now - last_save)) if last_save else 0
    rdb_value = f"last save {status}, {_age(age)} ago, {changes} change(s) since"
    if status != "ok":
        add("rdb", ERROR, rdb_value, "the last background save failed (disk full? permissions?)")
    elif save_on:
        longest = max((s for s, _ in P.parse_save(str(config.get("save")))), default=0)
        if changes and longest and age > 2 * longest:
            add("rdb", WARN, rdb_value, f"no snapshot for over twice the longest save point ({longest}s) while keys change")
        else:
            add("rdb", OK, rdb_value)
    else:
        add("rdb", OK if aof_on else WARN, "snapshots off", "" if aof_on else "no persistence at all: a restart loses every key")
    if aof_on:
        write = str(info.get("aof_last_write_status", "ok"))
        rewrite = str(info.get("aof_last_bgrewrite_status", "ok"))
        value = f"on, last write {write}, last rewrite {rewrite}"
        bad = write != "ok" or rewrite != "ok"
        add("aof", ERROR if bad else OK, value, "the last append-only write or rewrite failed" if bad else "")
    else:
        add("aof", OK, "off")

    # replication
    role = str(info.get("role", "master"))
    if role == "slave":
        link = str(info.get("master_link_status", "down"))
        primary = f"{info.get('master_host', '?')}:{info.get('master_port', '?')}"
        add("replication", OK, f"replica of {primary}")
        if link != "up":
            down = _int(info, "master_link_down_since_seconds", -1)
            add("replica link", ERROR, "down" + (f" for {_age(down)}" if down >= 0 else ""), "the replica is not receiving writes from its primary")
        else:
            lag = _int(info, "master_last_io_seconds_ago")
            verdict = WARN if lag > REPLICA_LAG_WARN or _int(info, "master_sync_in_progress") else OK
            add("replica link", verdict, f"up, last contact {lag}s ago", "" if verdict == OK else "the replica lags its primary")
    else:
        n = _int(info, "connected_slaves")
        add("replication", OK, f"primary, {n} replica(s)")
        for i in range(n):
            r = info.get(f"slave{i}")
            if isinstance(r, dict):
                lag = _int(r, "lag")
                state = str(r.get("state", "?"))
                bad = state != "online" or lag > REPLICA_LAG_WARN
                add(f"replica {r.get('ip', '?')}:{r.get('port', '?')}", WARN if bad else OK, f"{state}, lag {lag}s", "lagging or not online" if bad else "")

    # keys per service database
    ks = keyspace(info)
    for name, svc in sorted(spec.services.items(), key=lambda kv: kv[1].db):
        add(f"db {svc.db} ({name})", OK, f"{ks.get(svc.db, 0)} keys")
    owned = {s.db for s in spec.services.values()}
    for db, n in sorted(ks.items()):
        if n and db not in owned:
            if spec.services:
                add(f"db {db}", WARN, f"{n} keys", "holds keys but belongs to no service")
            else:
                add(f"db {db}", OK, f"{n} keys", "the spec names no services")

    # the limits judged above, as the spec wants them (the plan is what changes them)
    drift = []
    for name in ("maxmemory", "maxmemory-policy", "maxclients"):
        sv = spec.server.get(name)
        if sv is None or name in spec.ignore or name not in config:
            continue
        live = P.canonical_live(sv.param, str(config[name]))
        try:
            want = P.desired(sv.param, sv.checked, live=live, total_memory=_int(info, "total_system_memory"))
        except P.InvalidValue:
            continue
        if want != live:
            drift.append(f"{name} {P.display(sv.param, live)} (the spec: {P.display(sv.param, want)})")
    if drift:
        add("spec limits", WARN, "; ".join(drift), "the server does not run as the spec says: borgconf plan shows the change")

    # slowlog
    max_len = _int(config, "slowlog-max-len")
    full = max_len > 0 and slowlog_len >= max_len
    add("slowlog", WARN if full else OK, f"{slowlog_len} entries", f"full ({max_len}): older slow commands are already dropped" if full else "")
    return checks


# ---------------------------------------------------------------- reading


def read_health(client, target) -> tuple[dict, dict[str, str], int]:
    """One round trip: INFO (the sections above), CONFIG GET of the limits, SLOWLOG LEN."""
    import redis.exceptions as rx

    from .live import first_call, info_dict, parse_config_reply, translate
    from .wire import raising, round_trip

    address = getattr(client, "borgconf_address", target.address)

    def once():
        return raising(round_trip(client, [("INFO", *INFO_SECTIONS), (target.config_command, "GET", *CONFIG_NEEDED), ("SLOWLOG", "LEN")]))

    try:
        info, config, slowlog_len = first_call(client, address, once)
    except rx.RedisError as exc:
        raise translate(exc, target, address, "read its health (INFO, CONFIG GET, SLOWLOG LEN)") from None
    return info_dict(info), parse_config_reply(config), int(slowlog_len or 0)


def target_health(spec, target, *, url: str | None = None) -> TargetHealth:
    from .live import connect, parse_info

    client = connect(target, url=url)
    try:
        info, config, slowlog_len = read_health(client, target)
    finally:
        client.close()
    facts = parse_info(info)
    return TargetHealth(
        name=target.name,
        address=getattr(client, "borgconf_address", target.address),
        flavour=facts["flavour"],
        version=facts["version"],
        role=facts.get("role", "primary"),  # the plan's words (INFO says master / slave)
        checks=evaluate(info, config, slowlog_len, spec),
    )


def fleet_health(spec, targets, *, url: str | None = None, parallel: int = 8) -> Health:
    """Every target, read concurrently (bounded); one that cannot be read carries its error."""
    from concurrent.futures import ThreadPoolExecutor

    from .errors import BorgconfError

    def one(t):
        try:
            return target_health(spec, t, url=url)
        except BorgconfError as exc:
            return TargetHealth(name=t.name, address=t.address, error=str(exc))

    with ThreadPoolExecutor(max_workers=max(1, min(parallel, len(targets)))) as pool:
        results = list(pool.map(one, targets))  # in the spec's order
    return Health(spec_path=spec.path, targets=results)


# ---------------------------------------------------------------- views


_STYLE = {OK: "green", WARN: "yellow", ERROR: "red"}


def render_health(health: Health, out) -> None:
    for t in health.targets:
        label = f"{'Valkey' if t.flavour == 'valkey' else 'Redis'} {t.version}" if t.version else ""
        out.line(f"Target {t.name} ({t.address}{', ' + label if label else ''}{', ' + t.role if t.role else ''})", "bold")
        if t.error:
            out.line(f"  error  {t.error}", "red")
        width = max((len(c.name) for c in t.checks), default=0)
        for c in t.checks:
            text = f"  {c.verdict:<5}  {c.name:<{width}}  {c.value}" + (f"  ({c.note})" if c.note else "")
            out.line(text, _STYLE[c.verdict] if c.verdict != OK else None)
        out.line(f"  {t.summary}", _STYLE[t.verdict])
    if len(health.targets) > 1:
        bad = [t.name for t in health.targets if t.verdict != OK]
        out.line(f"{len(health.targets)} target(s): " + (f"not healthy: {', '.join(bad)}" if bad else "all healthy"), _STYLE[health.verdict])


def health_json(health: Health) -> str:
    import json

    from .redact import redact

    return redact(json.dumps(health.to_json(), indent=2)) + "\n"


__all__ = ["Check", "TargetHealth", "Health", "evaluate", "read_health", "target_health", "fleet_health", "render_health", "health_json", "OK", "WARN", "ERROR", "FORMAT_VERSION"]
