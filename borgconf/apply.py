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

from dataclasses import dataclass, field
from typing import Callable

from . import params as P
from .errors import ApplyError, BorgconfError, PersistFailed, PlanError, Refused, StalePlan, VerifyFailed
from .live import first_call, translate
from .plan import Change, TargetPlan


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
        self.lock = None  # borgconf.lock.ApplyLock, once taken

    def call(self, doing: str, *args):
        import redis.exceptions as rx

        if self.lock is not None:
            self.lock.check()  # still the connection that took the lock
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


def _acquire_lock(s: _Session, wait_seconds: float):
    """The apply lock (borgconf.lock): a named connection, no key, no TTL. Never
    skipped: an apply that cannot lock fails. From here on every command of the
    session goes over the lock connection, which never reconnects."""
    import redis.exceptions as rx

    from .lock import ApplyLock

    lock = ApplyLock(s.client, timeout=wait_seconds, required=True, address=s.address)
    try:
        # the first command of a saved plan's apply: it may meet a new install
        first_call(s.client, s.address, lock.acquire)
    except rx.RedisError as exc:
        raise translate(exc, s.target, s.address, "take the apply lock") from None
    s.client, s.lock = lock.client, lock
    return lock


def _release_lock(s: _Session, lock) -> None:
    if lock is not None:
        lock.release()


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
    users: dict | None = None,
) -> ApplyResult:
    """Apply one target's plan. ``secrets`` maps a sensitive parameter (and "user NAME")
    to the value to set; ``users`` maps "user NAME" to its desired ``users.UserState``.

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

    from . import users as U

    s = _Session(client, target, tp)
    param_changes = [c for c in live if c.kind == "parameter"]
    user_changes = [c for c in live if c.kind == "user"]
    user_change = {c.parameter: c for c in user_changes}
    params = {c.parameter: _catalog_param(c.parameter) for c in param_changes}
    user_names = {}
    for c in user_changes:
        prefix, _, name = c.parameter.partition(" ")
        if prefix != "user" or not name:
            raise PlanError(f"plan names an unknown change {c.parameter!r}")
        user_names[c.parameter] = name
    token = _acquire_lock(s, lock_timeout)
    try:
        # 1. evidence, read again under the lock: the server, the before-values, the data at stake
        fresh = read_state(client, target, users=list(user_names.values()))
        if tp.run_id and fresh.run_id != tp.run_id:
            raise StalePlan(
                f"{s.address} is not the server the plan was made for, or it restarted since (run_id differs); plan again"
            )
        previous: dict[str, str] = {}
        drift = []
        for c in param_changes:
            p = params[c.parameter]
            raw = next((fresh.config[n] for n in p.names() if n in fresh.config), None)
            if raw is None:
                raise ApplyError(f"{s.address} does not report parameter {c.parameter!r}")
            previous[c.parameter] = raw if p.sensitive else P.canonical_live(p, raw)  # type: ignore[assignment]
            if not p.sensitive and previous[c.parameter] != c.before:
                drift.append(f"{c.parameter} is {previous[c.parameter]!r}, the plan expected {c.before!r}")
        previous_users = {c.parameter: fresh.users.get(user_names[c.parameter]) for c in user_changes}
        for c in user_changes:
            had = previous_users[c.parameter]
            if (had.describe() if had is not None else None) != c.before:
                drift.append(f"{c.parameter} changed")
        if drift:
            raise StalePlan(f"{s.address} changed since the plan was made: " + "; ".join(drift) + "; plan again")
        _refuse(safety.findings(tp, fresh), allow)

        # the values to set; a secret that already holds is left alone
        wanted: dict[str, str] = {}
        for c in param_changes:
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
        wanted_users: dict[str, U.UserState] = {}
        for c in user_changes:
            state = (users or {}).get(c.parameter)
            if state is None or state.describe() != c.after:
                raise StalePlan(f"{c.parameter} in the spec is not what the plan says; plan again")
            had = previous_users[c.parameter]
            password_now = had is not None and had.hashes == state.hashes
            if had is not None and c.password_change == password_now:
                # the password the spec gives changed since the plan, or the live one did
                raise StalePlan(f"the password of {c.parameter} changed since the plan was made; plan again")
            if had is not None and had.same_rules(state) and password_now:
                result.skipped.append(c.parameter)
                continue
            wanted_users[c.parameter] = state
        if not wanted and not wanted_users:
            return result

        # 2. persistence must be possible before anything is set
        if persist == "rewrite" and not fresh.config_file:
            raise PersistFailed(
                f"{s.address} runs without a config file, so CONFIG REWRITE cannot persist the change "
                "(nothing changed); use target.persist: none or file, or --no-persist"
            )

        # 3. one atomic CONFIG SET, then one ACL SETUSER per user
        if wanted:
            s.config_set(wanted, "apply CONFIG SET (nothing changed)")
        restore = {n: previous[n] for n in wanted}
        users_set: list[str] = []
        rewritten = False

        def rollback(why: str, exc_type=ApplyError):
            try:
                for parameter in reversed(users_set):
                    had = previous_users[parameter]
                    name = user_names[parameter]
                    if had is None:
                        s.call("restore ACL users", "ACL", "DELUSER", name)
                    else:
                        s.call("restore ACL users", *U.restore_args(name, had))
                if restore:
                    s.config_set(restore, "restore the previous values")
                if rewritten:  # the file already holds the new values: write the old ones back
                    s.call("restore the config file (CONFIG REWRITE)", s.cfg, "REWRITE")
            except BorgconfError as again:
                raise exc_type(f"{why}; restoring the previous values ALSO failed: {again}") from None
            raise exc_type(f"{why}; the previous live values were restored") from None

        for parameter, state in wanted_users.items():
            try:
                change = user_change[parameter]
                had = previous_users[parameter]
                password = secrets.get(parameter) if change.password_change or had is None else None
                keep = had.hashes if had is not None and not change.password_change else ()
                s.call(f"set {parameter} (ACL SETUSER)", *U.setuser_args(user_names[parameter], state, password, keep))
            except BorgconfError as exc:
                rollback(str(exc))
            users_set.append(parameter)

        # 4. read back and verify
        wrong = []
        after = s.config_get(list(wanted)) if wanted else {}
        for name, value in wanted.items():
            p = params[name]
            raw = next((after[n] for n in p.names() if n in after), None)
            got = raw if p.sensitive else P.canonical_live(p, raw)
            expected = value if p.sensitive else P.canonical_live(p, value)
            if got != expected:
                hint = " (Redis resolves symbolic links: give the real path)" if name == "dir" else ""
                wrong.append(name if p.sensitive else f"{name} reads back {got!r}, not {expected!r}{hint}")
        for parameter, state in wanted_users.items():
            got_user = U.parse_getuser(s.call("read back ACL users", "ACL", "GETUSER", user_names[parameter]))
            if got_user is None or not got_user.same_rules(state):
                shown = got_user.describe() if got_user is not None else "no such user"
                wrong.append(f"{parameter}: Redis describes the rules as {shown!r}; write them that way in the spec")
            elif got_user.hashes != state.hashes:
                wrong.append(f"{parameter}: the password did not take")
        if wrong:
            rollback(f"{s.address} did not keep the values it was given: " + "; ".join(wrong), VerifyFailed)

        # 5. persist
        if persist == "rewrite":
            try:
                s.call("persist with CONFIG REWRITE", s.cfg, "REWRITE")
            except BorgconfError as exc:
                rollback(f"CONFIG REWRITE failed on {s.address} ({exc})", PersistFailed)
            rewritten = True
            if wanted_users and fresh.config.get("aclfile"):  # users live in the ACL file then
                try:
                    s.call("persist ACL users (ACL SAVE)", "ACL", "SAVE")
                except BorgconfError as exc:
                    rollback(f"ACL SAVE failed on {s.address} ({exc})", PersistFailed)
            result.persisted = "rewrite"
        elif persist == "file" and write_file is not None:
            try:
                write_file(fresh.total_memory or None)
            except Exception as exc:  # any failure to write must roll back
                rollback(f"writing the rendered redis.conf failed ({type(exc).__name__}: {exc})", PersistFailed)
            result.persisted = "file"
        result.applied = [c for c in live if c.parameter in wanted or c.parameter in wanted_users]
        return result
    finally:
        _release_lock(s, token)


__all__ = ["apply_target", "ApplyResult"]
