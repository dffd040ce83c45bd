"""apply_target(client, target plan) -> result. Executes a plan; never re-plans.

Per target:
1. take the apply lock, re-read the values it is about to change, refuse drift;
2. check persistence is possible (``rewrite`` needs a config file) before setting;
3. one ``CONFIG SET`` with every live change (atomic on Redis 7+);
4. read back and verify every value;
5. persist (CONFIG REWRITE or the rendered file); on failure restore the
   previous live values and say why.
Restart-class changes are only reported.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Callable

from . import params as P
from .errors import ApplyError, BorgconfError, LockError, PersistFailed, Refused, StalePlan, VerifyFailed
from .live import first_call, translate
from .plan import Change, TargetPlan

LOCK_KEY = "borgconf:apply-lock"
LOCK_TTL_MS = 60_000


@dataclass
class ApplyResult:
    target: str
    applied: list[Change] = field(default_factory=list)
    restart_required: list[Change] = field(default_factory=list)
    persisted: str = "none"  # "rewrite" | "file" | "none"
    skipped: list[str] = field(default_factory=list)  # already as wanted at apply time


def _catalog_param(name: str) -> P.Param:
    p = P.catalog().lookup(name)
    if p is None:  # a hand-edited plan file
        raise ApplyError(f"plan names an unknown parameter {name!r}")
    return p


class _Session:
    def __init__(self, client, target, tp: TargetPlan):
        self.client = client
        self.target = target
        self.tp = tp
        self.address = getattr(client, "borgconf_address", tp.address)
        self.cfg = target.config_command

    def call(self, doing: str, *args):
        import redis.exceptions as rx

        try:
            return self.client.execute_command(*args)
        except rx.RedisError as exc:
            raise translate(exc, self.target, self.address, doing) from None

    def config_get(self, names: list[str]) -> dict[str, str]:
        from .live import parse_config_reply

        reply = self.call("read the configuration (CONFIG GET)", self.cfg, "GET", *names)
        return parse_config_reply(reply)

    def config_set(self, values: dict[str, str], doing: str) -> None:
        args: list[str] = []
        for name, value in values.items():
            args += [name, value]
        self.call(doing, self.cfg, "SET", *args)


def _acquire_lock(s: _Session, wait_seconds: float) -> str | None:
    """A key with a token and a TTL: two applies on one server never interleave."""
    import time

    import redis.exceptions as rx

    token = uuid.uuid4().hex
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            # the first command of a saved plan's apply: it may meet a new install
            ok = first_call(s.client, s.address, lambda: s.client.set(LOCK_KEY, token, nx=True, px=LOCK_TTL_MS))
        except rx.ResponseError as exc:
            # a read-only replica or an ACL without SET: run unlocked, but say so in -v logs
            import logging

            logging.getLogger("borgconf").debug("apply lock not taken: %s", exc)
            return None
        except rx.RedisError as exc:
            raise translate(exc, s.target, s.address, "take the apply lock") from None
        if ok:
            return token
        if time.monotonic() >= deadline:
            raise LockError(
                f"another borgconf apply is running on {s.address} (lock key {LOCK_KEY!r}); "
                f"try again when it is done, or wait longer with --lock-timeout"
            )
        time.sleep(0.05)


def _release_lock(s: _Session, token: str | None) -> None:
    """Delete the lock if it is still ours. WATCH/MULTI rather than a script:
    DEL stays allowed when the server is over maxmemory, EVAL does not."""
    if token is None:
        return
    import redis.exceptions as rx

    for attempt in (1, 2):  # a second try on a fresh connection if the first one dropped
        try:
            with s.client.pipeline(transaction=True) as pipe:
                pipe.watch(LOCK_KEY)
                if pipe.get(LOCK_KEY) == token:
                    pipe.multi()
                    pipe.delete(LOCK_KEY)
                    pipe.execute()
            return
        except rx.ConnectionError:
            if attempt == 2:
                break
        except rx.RedisError as exc:  # the TTL frees it anyway
            import logging

            logging.getLogger("borgconf").debug("apply lock not released (expires in %d s): %s", LOCK_TTL_MS // 1000, exc)
            return


def _refuse(found, allow) -> None:
    blocked = [f for f in found if f.flag not in allow]
    if blocked:
        flags = sorted({f"--{f.flag}" for f in blocked})
        raise Refused(
            "refusing a change that could lose data (nothing changed; pass " + " ".join(flags)
            + " to accept):\n  " + "\n  ".join(dict.fromkeys(f"{', '.join(f.parameters)}: {f.message}" for f in blocked))
        )


def refuse_unless_allowed(tp: TargetPlan, allow) -> None:
    """Refuse what the plan recorded as needing an --allow-... flag not given."""
    from . import safety

    _refuse([safety.Finding((c.parameter,), flag, "; ".join(c.warnings)) for c in tp.changes for flag in c.requires], allow)


def apply_target(
    client,
    target,
    tp: TargetPlan,
    *,
    secrets: dict[str, str],
    persist: str,
    allow: set[str] = frozenset(),  # type: ignore[assignment]
    write_file: Callable[[int | None], None] | None = None,
    lock_timeout: float = 10.0,
) -> ApplyResult:
    """Apply one target's plan. ``secrets`` maps a sensitive parameter to the value to set.

    ``write_file(total_memory)`` persists for ``persist: file`` (the server's total
    memory resolves percentages the way the live value was resolved)."""
    from . import safety
    from .live import read_state

    result = ApplyResult(target=tp.name, restart_required=list(tp.restart_changes))
    live = tp.live_changes
    # what the plan itself recorded: refuse before touching the server at all
    refuse_unless_allowed(tp, allow)
    if not live:
        return result

    s = _Session(client, target, tp)
    params = {c.parameter: _catalog_param(c.parameter) for c in live}
    token = _acquire_lock(s, lock_timeout)
    try:
        # 1. evidence, read again under the lock: the server, the before-values, the data at stake
        fresh = read_state(client, target)
        if tp.run_id and fresh.run_id != tp.run_id:
            raise StalePlan(
                f"{s.address} is not the server the plan was made for, or it restarted since (run_id differs); plan again"
            )
        previous: dict[str, str] = {}
        drift = []
        for c in live:
            p = params[c.parameter]
            raw = next((fresh.config[n] for n in p.names() if n in fresh.config), None)
            if raw is None:
                raise ApplyError(f"{s.address} does not report parameter {c.parameter!r}")
            previous[c.parameter] = raw if p.sensitive else P.canonical_live(p, raw)  # type: ignore[assignment]
            if not p.sensitive and previous[c.parameter] != c.before:
                drift.append(f"{c.parameter} is {previous[c.parameter]!r}, the plan expected {c.before!r}")
        if drift:
            raise StalePlan(f"{s.address} changed since the plan was made: " + "; ".join(drift) + "; plan again")
        _refuse(safety.findings(tp, fresh), allow)

        # the values to set; a secret that already holds is left alone
        wanted: dict[str, str] = {}
        for c in live:
            p = params[c.parameter]
            if p.sensitive:
                value = secrets.get(c.parameter)
                if value is None:
                    raise ApplyError(f"no value for sensitive parameter {c.parameter}: the spec no longer sets it")
                if previous[c.parameter] == value:
                    result.skipped.append(c.parameter)
                    continue
                wanted[c.parameter] = value
            else:
                wanted[c.parameter] = c.after  # type: ignore[assignment]  # canonical = what CONFIG SET takes
        if not wanted:
            return result

        # 2. persistence must be possible before anything is set
        if persist == "rewrite" and not fresh.config_file:
            raise PersistFailed(
                f"{s.address} runs without a config file, so CONFIG REWRITE cannot persist the change "
                "(nothing changed); use target.persist: none or file, or --no-persist"
            )

        # 3. one atomic CONFIG SET
        s.config_set(wanted, "apply CONFIG SET (nothing changed)")

        restore = {n: previous[n] for n in wanted}

        def rollback(why: str, exc_type=ApplyError):
            try:
                s.config_set(restore, "restore the previous values")
            except BorgconfError as again:
                raise exc_type(f"{why}; restoring the previous values ALSO failed: {again}") from None
            raise exc_type(f"{why}; the previous live values were restored") from None

        # 4. read back and verify
        after = s.config_get(list(wanted))
        wrong = []
        for name, value in wanted.items():
            p = params[name]
            raw = next((after[n] for n in p.names() if n in after), None)
            got = raw if p.sensitive else P.canonical_live(p, raw)
            expected = value if p.sensitive else P.canonical_live(p, value)
            if got != expected:
                hint = " (Redis resolves symbolic links: give the real path)" if name == "dir" else ""
                wrong.append(name if p.sensitive else f"{name} reads back {got!r}, not {expected!r}{hint}")
        if wrong:
            rollback(f"{s.address} did not keep the values it was given: " + "; ".join(wrong), VerifyFailed)

        # 5. persist
        if persist == "rewrite":
            try:
                s.call("persist with CONFIG REWRITE", s.cfg, "REWRITE")
            except BorgconfError as exc:
                rollback(f"CONFIG REWRITE failed on {s.address} ({exc})", PersistFailed)
            result.persisted = "rewrite"
        elif persist == "file" and write_file is not None:
            try:
                write_file(fresh.total_memory or None)
            except Exception as exc:  # any failure to write must roll back
                rollback(f"writing the rendered redis.conf failed ({type(exc).__name__}: {exc})", PersistFailed)
            result.persisted = "file"
        result.applied = [c for c in live if c.parameter in wanted]
        return result
    finally:
        _release_lock(s, token)


__all__ = ["apply_target", "ApplyResult", "LOCK_KEY"]
