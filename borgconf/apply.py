"""apply_target(client, target plan) -> result. Executes a plan; never re-plans.

Per target, under the apply lock, each step a function of its own:
1. ``check_evidence``: re-read the values it is about to change, refuse drift
   (and, with ``safety.findings``, data at stake);
2. ``check_persistable``: ``rewrite`` needs a config file, before anything is set;
3. ``set_values``: one ``CONFIG SET`` with every live change (atomic on Redis 7+),
   then ``ACL SETUSER`` per user; ``deny_commands``: ``ACL SETUSER <user> -x`` for
   every user that may still run a disabled command;
4. ``verify``: read back every value;
5. ``persist_values``: CONFIG REWRITE (+ ACL SAVE with an aclfile) or the rendered file.
A failure after step 3 goes to ``roll_back``, which puts back what ``Undo``
recorded and says whether that worked. Restart-class changes are only reported.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, NoReturn

from . import params as P
from .errors import ApplyError, BorgconfError, PersistFailed, PlanError, Refused, StalePlan, VerifyFailed
from . import users as U
from .live import LiveState, first_call, translate
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

        try:
            if self.lock is not None and hasattr(self.lock, "call"):
                return self.lock.call(*args)  # the lock's check and the command in one round trip
            if self.lock is not None:
                self.lock.check()  # still the connection that took the lock
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


def _acquire_lock(s: _Session, wait_seconds: float, lock_factory=None):
    """The apply lock (borgconf.lock): a named connection, no key, no TTL. Never
    skipped: an apply that cannot lock fails. From here on every command of the
    session goes over the lock connection, which never reconnects.

    ``lock_factory`` is the seam for unit tests' fake client (tests/fakeredis_client.py)."""
    import redis.exceptions as rx

    if lock_factory is None:
        from .lock import ApplyLock as lock_factory

    lock = lock_factory(s.client, timeout=wait_seconds, required=True, address=s.address)
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
    from .findings import Finding

    _refuse([Finding(flag, "", "; ".join(c.warnings), subjects=(c.parameter,), flag=flag) for c in tp.changes for flag in c.requires], allow)


@dataclass
class Evidence:
    """What the server says under the lock, before anything is set."""

    fresh: LiveState
    previous: dict[str, str]  # parameter -> its live value now (canonical; raw for a secret)
    previous_users: dict[str, "U.UserState | None"]  # user change label -> the user now (None: absent)
    fresh_plan: TargetPlan | None = None  # what the spec and the server give now (with replan)
    denials: list[str] = field(default_factory=list)  # disabled commands ACL rules deny on this server


@dataclass
class Undo:
    """What apply has done so far on one server, so a failure can put it back."""

    restore: dict[str, str] = field(default_factory=dict)  # parameter -> the value to put back
    users_set: list[Change] = field(default_factory=list)  # user changes made, in order
    denied: list[tuple[str, str]] = field(default_factory=list)  # (user, its ACL LIST rules before) given -command
    rewritten: bool = False  # the config file already holds the new values


def check_evidence(s: _Session, tp: TargetPlan, param_changes: list[Change], user_changes: list[Change], params: dict[str, P.Param], command_changes: list[Change] = (), *, replan=None, read_spec=None, saved_file: bool = False, config_names=None) -> Evidence:  # type: ignore[assignment]
    """Step 1: read again under the lock; refuse another server, or values that drifted
    since the plan; with ``replan`` (fresh state -> the target plan the spec gives now),
    refuse unless the plan is exactly what the spec and the fresh server give."""
    from .live import acl_commands, read_state
    from .planner import allowed_text

    commands, read_users = read_spec or ({}, [])
    spec_commands = dict(commands or {})
    for c in command_changes:
        spec_commands.setdefault(c.name, "disabled")
    names = list(dict.fromkeys([c.name for c in user_changes] + list(read_users)))
    # config_names (live.config_names, once per fleet): the spec's parameters, not all ~200; the plan's too
    config = tuple(dict.fromkeys([*config_names, *(n for p in params.values() for n in (*p.names(), *p.server_names.values()))])) if config_names else None
    # rules that name a category are compared by what they grant: that needs the command table
    fresh = read_state(s.client, s.target, spec_commands, users=names, command_table=bool(names), config=config)
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
    for c in command_changes:
        now = fresh.allowed.get(c.name)
        if now is None or allowed_text(now) != c.before:
            drift.append(f"{c.parameter}: who may run {c.name} changed")
    previous_users = {c.parameter: fresh.users.get(c.name) for c in user_changes}
    for c in user_changes:
        had = previous_users[c.parameter]
        if (had.describe() if had is not None else None) != c.before:
            drift.append(f"{c.parameter} changed")
    if drift:
        raise StalePlan(f"{s.address} changed since the plan was made: " + "; ".join(drift) + "; plan again")
    denials = [cmd for cmd in acl_commands(spec_commands, s.target) if fresh.commands.get(cmd) == "enabled"]
    fresh_plan = None
    if replan is not None:
        from .contract import compare

        fresh_plan = replan(fresh)
        compare(tp, fresh_plan, address=s.address, saved_file=saved_file)
    return Evidence(fresh, previous, previous_users, fresh_plan=fresh_plan, denials=denials)


def wanted_values(param_changes, user_changes, params, ev: Evidence, secrets, users, result: ApplyResult):
    """The parameters and users to set; a secret or user that already holds is skipped."""
    wanted: dict[str, str] = {}
    for c in param_changes:
        p = params[c.parameter]
        if p.sensitive:
            value = secrets.get(c.id)
            if value is None:
                raise ApplyError(f"no value for sensitive parameter {c.parameter}: the spec no longer sets it")
            if ev.previous[c.parameter] == value:
                result.skipped.append(c.parameter)
                continue
            wanted[c.parameter] = value
        else:
            wanted[c.parameter] = c.after  # type: ignore[assignment]  # canonical = what CONFIG SET takes
    wanted_users: dict[str, U.UserState] = {}
    for c in user_changes:
        state = (users or {}).get(c.id)
        if state is not None:
            state = U.with_denials(state, ev.denials)
        if state is None or state.describe() != c.after:
            raise StalePlan(f"{c.parameter} in the spec is not what the plan says; plan again")
        had = ev.previous_users[c.parameter]
        password_now = had is not None and had.hashes == state.hashes
        if had is not None and c.password_change == password_now:
            # the password the spec gives changed since the plan, or the live one did
            raise StalePlan(f"the password of {c.parameter} changed since the plan was made; plan again")
        if had is not None and had.same_rules(state, ev.fresh.command_table) and password_now:
            result.skipped.append(c.parameter)
            continue
        wanted_users[c.parameter] = state
    return wanted, wanted_users


def check_persistable(s: _Session, persist: str, ev: Evidence) -> None:
    """Step 2: persistence must be possible before anything is set."""
    if persist == "rewrite" and not ev.fresh.config_file:
        raise PersistFailed(
            f"{s.address} runs without a config file, so CONFIG REWRITE cannot persist the change "
            "(nothing changed); use target.persist: none or file, or --no-persist"
        )


def server_names(values: dict[str, str], live: LiveState) -> dict[str, str]:
    """Values keyed by the names this server uses (Valkey: primaryauth for masterauth)."""
    key = P.server_key(live.flavour, live.version)
    return {P.name_for(name, key): value for name, value in values.items()}


def set_values(s: _Session, wanted: dict[str, str], wanted_users: dict, user_changes: list[Change], ev: Evidence, secrets, undo: Undo) -> None:
    """Step 3: one atomic CONFIG SET, then one ACL SETUSER per user (a failed user rolls back)."""
    if wanted:
        s.config_set(server_names(wanted, ev.fresh), "apply CONFIG SET (nothing changed)")
    undo.restore = {n: ev.previous[n] for n in wanted}
    for c in user_changes:
        state = wanted_users.get(c.parameter)
        if state is None:
            continue
        try:
            had = ev.previous_users[c.parameter]
            password = secrets.get(c.id) if c.password_change or had is None else None
            keep = had.hashes if had is not None and not c.password_change else ()
            s.call(f"set {c.parameter} (ACL SETUSER)", *U.setuser_args(c.name, state, password, keep))
        except BorgconfError as exc:
            roll_back(s, undo, ev, str(exc))
        undo.users_set.append(c)


def deny_commands(s: _Session, command_changes: list[Change], ev: Evidence, undo: Undo) -> None:
    """Step 3b: ``ACL SETUSER <user> -<command>`` for every user that may still run a
    disabled command (the default user, the spec's, any other's)."""
    for c in command_changes:
        for user in ev.fresh.allowed.get(c.name, ()):
            try:
                s.call(f"deny {c.name} to user {user} (ACL SETUSER)", "ACL", "SETUSER", user, *U.deny_rules([c.name]))
            except BorgconfError as exc:
                roll_back(s, undo, ev, str(exc))
            if user not in [u for u, _ in undo.denied]:
                undo.denied.append((user, ev.fresh.acl.get(user, "")))


def verify(s: _Session, wanted: dict[str, str], wanted_users: dict, user_changes: list[Change], params, undo: Undo, ev: Evidence, command_changes: list[Change] = ()) -> None:  # type: ignore[assignment]
    """Step 4: read every value back; what the server did not keep rolls everything back."""
    wrong = []
    after = s.config_get(list(server_names(wanted, ev.fresh))) if wanted else {}
    for name, value in wanted.items():
        p = params[name]
        raw = next((after[n] for n in p.names() if n in after), None)
        got = raw if p.sensitive else P.canonical_live(p, raw)
        expected = value if p.sensitive else P.canonical_live(p, value)
        if got != expected:
            hint = " (Redis resolves symbolic links: give the real path)" if name == "dir" else ""
            wrong.append(name if p.sensitive else f"{name} reads back {got!r}, not {expected!r}{hint}")
    for c in user_changes:
        state = wanted_users.get(c.parameter)
        if state is None:
            continue
        got_user = U.parse_getuser(s.call("read back ACL users", "ACL", "GETUSER", c.name))
        if got_user is None or not got_user.same_rules(state, ev.fresh.command_table):
            shown = got_user.describe() if got_user is not None else "no such user"
            wrong.append(f"{c.parameter}: Redis describes the rules as {shown!r}; write them that way in the spec")
        elif got_user.hashes != state.hashes:
            wrong.append(f"{c.parameter}: the password did not take")
    if command_changes:
        from .live import read_allowed

        users_now = [str(u) for u in s.call("read back ACL users", "ACL", "USERS")]
        infos = {c.name: ev.fresh.command_info.get(c.name) for c in command_changes}
        still, _ = read_allowed(s.client, s.target, s.address, infos, users_now)
        for cmd, who in still.items():
            if who:
                wrong.append(f"{cmd} is still allowed to {', '.join(who)} (a selector, or a rule borgconf cannot override, allows it)")
    if wrong:
        roll_back(s, undo, ev, f"{s.address} did not keep the values it was given: " + "; ".join(wrong), VerifyFailed)


def persist_values(s: _Session, persist: str, write_file, wanted_users: dict, undo: Undo, ev: Evidence) -> str:
    """Step 5: CONFIG REWRITE (and ACL SAVE when users live in an aclfile), or the
    rendered file; a failure rolls back. Returns how it persisted."""
    if persist == "rewrite":
        try:
            s.call("persist with CONFIG REWRITE", s.cfg, "REWRITE")
        except BorgconfError as exc:
            roll_back(s, undo, ev, f"CONFIG REWRITE failed on {s.address} ({exc})", PersistFailed)
        undo.rewritten = True
        if (wanted_users or undo.denied) and ev.fresh.config.get("aclfile"):  # users live in the ACL file then
            try:
                s.call("persist ACL users (ACL SAVE)", "ACL", "SAVE")
            except BorgconfError as exc:
                roll_back(s, undo, ev, f"ACL SAVE failed on {s.address} ({exc})", PersistFailed)
        return "rewrite"
    if persist == "file" and write_file is not None:
        try:
            write_file(ev.fresh.total_memory or None)
        except Exception as exc:  # any failure to write must roll back
            roll_back(s, undo, ev, f"writing the rendered redis.conf failed ({type(exc).__name__}: {exc})", PersistFailed)
        return "file"
    return "none"


def roll_back(s: _Session, undo: Undo, ev: Evidence, why: str, exc_type=ApplyError) -> NoReturn:
    """Put back what ``undo`` recorded (users, then values, then the file) and raise
    ``exc_type`` saying why, and whether restoring worked."""
    try:
        for user, line in reversed(undo.denied):
            rules = U.command_rules(line)  # only the command rules changed: replay them (they start at +@all / -@all)
            if rules:
                s.call("restore ACL users", "ACL", "SETUSER", user, *rules)
        for c in reversed(undo.users_set):
            had = ev.previous_users[c.parameter]
            if had is None:
                s.call("restore ACL users", "ACL", "DELUSER", c.name)
            else:
                s.call("restore ACL users", *U.restore_args(c.name, had))
        if undo.restore:
            s.config_set(server_names(undo.restore, ev.fresh), "restore the previous values")
        if undo.rewritten:  # the file already holds the new values: write the old ones back
            s.call("restore the config file (CONFIG REWRITE)", s.cfg, "REWRITE")
    except BorgconfError as again:
        raise exc_type(f"{why}; restoring the previous values ALSO failed: {again}") from None
    raise exc_type(f"{why}; the previous live values were restored") from None


def apply_target(
    client,
    target,
    tp: TargetPlan,
    *,
    secrets: dict,
    persist: str,
    allow: set[str] = frozenset(),  # type: ignore[assignment]
    write_file: Callable[[int | None], None] | None = None,
    lock_timeout: float = 10.0,
    users: dict | None = None,
    lock_factory=None,
    replan: Callable | None = None,
    read_spec: tuple | None = None,
    saved_file: bool = False,
    commands: dict[str, str] | None = None,
    config_names: tuple[str, ...] | None = None,
) -> ApplyResult:
    """Apply one target's plan. ``secrets`` maps the ``ChangeId`` of a sensitive parameter
    (and of a user) to the value to set; ``users`` maps a user's ``ChangeId`` to its
    desired ``users.UserState``; ``commands`` are the spec's ``commands:`` (a disabled
    command is denied to every user through ACL rules, the spec's users included).

    ``config_names`` (live.config_names): the parameters the read under the lock
    asks for (None: all of them).

    ``write_file(total_memory)`` persists for ``persist: file`` (the server's total
    memory resolves percentages the way the live value was resolved)."""
    from . import safety

    result = ApplyResult(target=tp.name, restart_required=list(tp.restart_changes))
    live = tp.live_changes
    # what the plan itself recorded: refuse before touching the server at all
    refuse_unless_allowed(tp, allow)
    if not live:
        return result
    s = _Session(client, target, tp)
    param_changes = [c for c in live if c.kind == "parameter"]
    user_changes = [c for c in live if c.kind == "user"]
    command_changes = [c for c in live if c.kind == "command"]
    if any(c.kind not in ("parameter", "user", "command") for c in live):
        raise PlanError("plan has a live change that is neither a parameter, a user nor a command")
    params = {c.parameter: _catalog_param(c.parameter) for c in param_changes}
    token = _acquire_lock(s, lock_timeout, lock_factory)
    try:
        ev = check_evidence(s, tp, param_changes, user_changes, params, command_changes, replan=replan, read_spec=read_spec or (commands or {}, []), saved_file=saved_file, config_names=config_names)
        _refuse(safety.findings(tp, ev.fresh), allow)
        if ev.fresh_plan is not None:  # what needs --allow-... now, whatever the plan file recorded
            refuse_unless_allowed(ev.fresh_plan, allow)
        wanted, wanted_users = wanted_values(param_changes, user_changes, params, ev, secrets, users, result)
        if not wanted and not wanted_users and not command_changes:
            return result
        check_persistable(s, persist, ev)
        undo = Undo()
        set_values(s, wanted, wanted_users, user_changes, ev, secrets, undo)
        deny_commands(s, command_changes, ev, undo)
        verify(s, wanted, wanted_users, user_changes, params, undo, ev, command_changes)
        result.persisted = persist_values(s, persist, write_file, wanted_users, undo, ev)
        result.applied = [c for c in live if c.parameter in wanted or c.parameter in wanted_users or c in command_changes]
        return result
    finally:
        _release_lock(s, token)


__all__ = ["apply_target", "ApplyResult", "refuse_unless_allowed", "check_evidence", "wanted_values", "check_persistable", "set_values", "deny_commands", "verify", "persist_values", "roll_back", "Evidence", "Undo"]
