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
With file changes (filechanges.py: the rendered redis.conf / .env), checked against
the plan after step 1, the files are written after step 5; when a password
rotates, in a safe order instead: ``add_passwords`` (ACL SETUSER >new: the old and
the new one both work; users the spec creates are created), ``write_files``, then
steps 3-5 (CONFIG SET requirepass / ACL SETUSER reset make the new one the only one).
A failure after step 3 goes to ``roll_back``, which puts back what ``Undo``
recorded and says whether that worked. Restart-class changes are only reported.

The outcome is told as the server holds it:
- a command that gets no answer (NoAnswer) may have run: apply goes on over a
  fresh connection that waits longer, under the lock taken again, and reads
  what happened (``settle_set``); a persisting command is sent again; a server
  that still does not answer is "outcome unknown", never "nothing changed";
- Ctrl-C (``deferred_interrupts``) stops at the next step boundary: before
  CONFIG SET nothing changed; after it the previous values are put back; a
  CONFIG REWRITE in flight is finished and the result says ``interrupted``;
- with no live change, apply still persists what the server holds
  (``persist_unchanged``), so the next apply completes an interrupted one.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from functools import lru_cache
from typing import Callable, Iterator, NoReturn

from . import params as P
from .errors import ApplyError, BorgconfError, Interrupted, LockError, NoAnswer, PersistFailed, PlanError, Refused, StalePlan, VerifyFailed
from . import users as U
from .live import LiveState, first_call, translate
from .plan import Change, TargetPlan
from .records import field, record


@record
class ApplyResult:
    """What applying one target's plan did."""

    target: str
    applied: list[Change] = field(default_factory=list)
    restart_required: list[Change] = field(default_factory=list)
    persisted: str = "none"  # "rewrite" | "file" | "none"
    skipped: list[str] = field(default_factory=list)  # already as wanted at apply time
    persist_only: bool = False  # no live change: only persisted what the server already holds
    interrupted: bool = False  # Ctrl-C came during the last step, which was finished (applied and persisted)
    notes: list[str] = field(default_factory=list)  # what apply had to find out on the way (a command without answer)


def _catalog_param(name: str) -> P.Param:
    p = P.catalog().lookup(name)
    if p is None:  # a hand-edited plan file
        raise ApplyError(f"plan names an unknown parameter {name!r}")
    return p


class _Session:
    def __init__(self, client, target, tp: TargetPlan, stop=None, lock_factory=None):
        self.client = client
        self.parent = client  # the client the caller gave: a fresh one is made like it
        self.target = target
        self.tp = tp
        self.address = getattr(client, "borgconf_address", tp.address)
        self.cfg = target.config_command
        self.lock = None  # borgconf.lock.ApplyLock, once taken
        self.stop = stop  # threading.Event: Ctrl-C asked apply to stop at the next step boundary
        self.lock_factory = lock_factory
        self.broken = False  # a command got no answer: its connection (and the lock with it) is gone
        self.reopened = False  # the session went on over a fresh connection, under the lock taken again
        self.notes: list[str] = []  # for ApplyResult.notes
        # CONFIG GET read back in the round trip of the CONFIG SET, right after it: (names, reply)
        self.read_back: tuple[list[str], Any] | None = None
        self.then: list | None = None  # replies to call()'s ``then`` commands

    @property
    def stopping(self) -> bool:
        return self.stop is not None and self.stop.is_set()

    @property
    def reread_wait(self) -> float:
        """How long a re-read after a command that got no answer may wait: longer than
        the target's timeout, and bounded."""
        return max(5.0, float(self.target.timeout) * 3)

    def call(self, doing: str, *args, pause: str | None = None, then: tuple = ()):
        """Run one command under the lock. ``then``: commands sent right after it in the
        same round trip (their replies in ``self.then``, errors in place; only under
        the lock, else ``self.then`` is None)."""
        import redis.exceptions as rx

        if pause is not None:
            _test_pause(pause, self.stop)
        self.then = None
        try:
            if self.lock is not None:
                # the lock's check and the command in one round trip: a failure of either
                # leaves it open whether the command ran (NoAnswer below: read again)
                if then:
                    reply, self.then = self.lock.call_then(args, *then)
                    return reply
                return self.lock.call(*args)
            return self.client.execute_command(*args)
        except (rx.TimeoutError, rx.ConnectionError, LockError) as exc:
            if isinstance(exc, rx.AuthenticationError):
                raise translate(exc, self.target, self.address, doing) from None
            # the command may have run, or may still run: the caller reads the server again.
            # (A LockError here: redis-py retried on a new connection, which the lock refuses.)
            self.broken = True
            what = doing.removesuffix(" (nothing changed)")
            cause = exc if not isinstance(exc, LockError) else _first_cause(exc)
            if isinstance(cause, rx.TimeoutError):
                raise NoAnswer(f"no answer from {self.address} within {self.target.timeout:g}s to {what}") from None
            if isinstance(exc, LockError):  # the lock's own connection closed: the lock went with it
                raise NoAnswer(f"{exc} (during {what}); another apply may hold the server now", timed_out=False) from None
            raise NoAnswer(f"the connection to {self.address} broke during {what} ({cause})", timed_out=False) from None
        except rx.RedisError as exc:
            raise translate(exc, self.target, self.address, doing) from None

    def config_get(self, names: list[str]) -> dict[str, str]:
        from .live import parse_config_reply

        reply = self.call("read the configuration (CONFIG GET)", self.cfg, "GET", *names)
        return parse_config_reply(reply)

    def config_set(self, values: dict[str, str], doing: str, pause: str | None = None, read_back: bool = False) -> None:
        """One CONFIG SET of ``values``; with ``read_back``, a CONFIG GET of the same
        names follows in the same round trip (``self.read_back``, for verify)."""
        args: list[str] = []
        for name, value in values.items():
            args += [name, value]
        names = list(values)
        self.read_back = None
        self.call(doing, self.cfg, "SET", *args, pause=pause, then=((self.cfg, "GET", *names),) if read_back else ())
        if read_back and self.then and not isinstance(self.then[0], Exception):
            self.read_back = (names, self.then[0])

    def take_read_back(self, names: list[str]) -> dict[str, str] | None:
        """The values read back with the CONFIG SET of exactly ``names``, once."""
        from .live import parse_config_reply

        got, self.read_back = self.read_back, None
        if got is None or got[0] != names:
            return None
        return parse_config_reply(got[1])


def _first_cause(exc: BaseException) -> BaseException:
    """The redis-py error that made redis-py retry (and the lock refuse the reconnect)."""
    import redis.exceptions as rx

    seen = exc.__context__
    while seen is not None and not isinstance(seen, rx.RedisError):
        seen = seen.__context__
    return seen if seen is not None else exc


def _reopen(s: _Session, why: BorgconfError) -> None:
    """A command got no answer (``why``): go on over a fresh connection that may wait
    longer (``reread_wait``), under the apply lock taken again (the old lock went
    with the old connection). If the server does not answer that either, nobody
    can say what it holds: ApplyError "outcome unknown"."""
    from .live import fresh_client

    old, s.lock = s.lock, None
    try:
        _release_lock(s, old)
    except BorgconfError:
        pass  # the old connection is gone anyway
    s.client = fresh_client(s.parent, s.target, s.reread_wait)
    try:
        _acquire_lock(s, s.reread_wait, s.lock_factory)
    except BorgconfError as again:
        raise ApplyError(
            f"{why}; reading it again over a new connection failed too ({again}): outcome unknown: "
            f"the server did not answer; run borgconf plan when it answers"
        ) from None
    s.broken, s.reopened = False, True


def _again(s: _Session, why: NoAnswer, fn):
    """After ``why``: reopen (s._reopen), then run ``fn()`` once more; no answer again
    is an unknown outcome."""
    _reopen(s, why)
    try:
        return fn()
    except NoAnswer as again:
        raise ApplyError(f"{why}; and again over a new connection: {again}: outcome unknown: run borgconf plan when it answers") from None


@lru_cache(maxsize=1)
def _pause_at() -> str | None:
    """BORGCONF_TEST_PAUSE_AT, read once: tests set it for a whole process (in the
    environment of a borgconf they start), and a fleet apply passes the seam five
    times per target. An in-process test that sets it must ``_pause_at.cache_clear()``."""
    import os

    return os.environ.get("BORGCONF_TEST_PAUSE_AT")


def _test_pause(step: str, stop) -> None:
    """A seam for tests of Ctrl-C, timeouts and the file steps (test_apply_outcome.py, test_file_changes.py):
    inert unless BORGCONF_TEST_PAUSE_AT names ``step``. Then it says so on stderr and
    waits for Ctrl-C (``<step>:2``: for the second; up to 30 s), or with ``<step>:stop``
    stops the process (SIGSTOP) until the test continues it."""
    at = _pause_at()
    if not at or at.split(":")[0] != step:
        return
    import signal
    import sys

    sys.stderr.write(f"borgconf-test: paused at {step}\n")
    sys.stderr.flush()
    if at.endswith(":stop"):  # to this thread: it stops before its next command (os.kill may let it run on)
        signal.pthread_kill(threading.get_ident(), signal.SIGSTOP)
    elif stop is not None:  # "<step>:N": until the Nth Ctrl-C
        import time

        want, deadline = int(at.split(":")[1]) if at.count(":") == 1 else 1, time.monotonic() + 30
        while getattr(stop, "count", int(stop.is_set())) < want and time.monotonic() < deadline:
            stop.wait(0.05)


def _write_files_step(files, stop) -> None:
    """Write the rendered files (filechanges.FileStep.write) between the test seam's
    before-files and after-files."""
    _test_pause("before-files", stop)
    files.write()
    _test_pause("after-files", stop)


def _acquire_lock(s: _Session, wait_seconds: float, lock_factory=None, prefetch: list[tuple] | None = None):
    """The apply lock (borgconf.lock): a named connection, no key, no TTL. Never
    skipped: an apply that cannot lock fails. From here on every command of the
    session goes over the lock connection, which never reconnects.

    ``lock_factory`` is the seam for unit tests' fake client (tests/fakeredis_client.py)."""
    import redis.exceptions as rx

    if lock_factory is None:
        from .lock import ApplyLock as lock_factory

    lock = lock_factory(s.client, timeout=wait_seconds, required=True, address=s.address)
    if prefetch:
        lock.prefetch = prefetch  # sent with the lock's CLIENT LIST (ApplyLock.prefetch)
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


@record
class Evidence:
    """What the server says under the lock, before anything is set."""

    fresh: LiveState
    previous: dict[str, str]  # parameter -> its live value now (canonical; raw for a secret)
    previous_users: dict[str, "U.UserState | None"]  # user change label -> the user now (None: absent)
    fresh_plan: TargetPlan | None = None  # what the spec and the server give now (with replan)
    denials: list[str] = field(default_factory=list)  # disabled commands ACL rules deny on this server


@record
class Undo:
    """What apply has done so far on one server, so a failure can put it back."""

    restore: dict[str, str] = field(default_factory=dict)  # parameter -> the value to put back
    set_to: dict[str, str] = field(default_factory=dict)  # parameter -> the value this apply set
    users_set: list[Change] = field(default_factory=list)  # user changes made, in order
    denied: list[tuple[str, str]] = field(default_factory=list)  # (user, its ACL LIST rules before) given -command
    rewritten: bool = False  # the config file already holds the new values
    left: list[str] = field(default_factory=list)  # not restored: another client set them since (after a reopen)
    added: list[tuple[str, str]] = field(default_factory=list, repr=False)  # (user, new password) added beside the old one
    added_unsure: bool = False  # the last of ``added`` got no answer: the server may or may not hold it
    files_written: list[str] = field(default_factory=list)  # rendered files already written with the new values
    kept: list[str] = field(default_factory=list)  # users the spec creates, kept after a failure because the written files name them


def evidence_read(user_changes: list[Change], params: dict[str, P.Param], command_changes: list[Change], read_spec, config_names) -> tuple[dict[str, str], list[str], tuple[str, ...] | None]:
    """What the read under the lock asks for: the spec's commands (and those the plan
    disables), the users, and the parameters (live.read_state's arguments)."""
    from .live import param_names

    commands, read_users = read_spec or ({}, [])
    spec_commands = dict(commands or {})
    for c in command_changes:
        spec_commands.setdefault(c.name, "disabled")
    names = list(dict.fromkeys([c.name for c in user_changes] + list(read_users)))
    # config_names (live.config_names, once per fleet): the spec's parameters, not all ~200; the plan's too
    config = tuple(dict.fromkeys([*config_names, *param_names(params.values())])) if config_names else None
    return spec_commands, names, config


def check_evidence(s: _Session, tp: TargetPlan, param_changes: list[Change], user_changes: list[Change], params: dict[str, P.Param], command_changes: list[Change] = (), *, read, replan=None, saved_file: bool = False) -> Evidence:  # type: ignore[assignment]
    """Step 1: read again under the lock; refuse another server, or values that drifted
    since the plan; with ``replan`` (fresh state -> the target plan the spec gives now),
    refuse unless the plan is exactly what the spec and the fresh server give.
    ``read``: what to read (evidence_read), sent already with the lock (its prefetch)."""
    from .live import acl_commands, read_state
    from .planner import allowed_text

    spec_commands, names, config = read
    # rules that name a category are compared by what they grant: that needs the command table
    prefetched = s.lock.prefetched if s.lock is not None else None  # read in the round trip that took the lock
    if s.lock is not None:
        s.lock.prefetched = None  # once: a lock taken again reads again
    fresh = read_state(s.client, s.target, spec_commands, users=names, command_table=bool(names), config=config, replies=prefetched)
    if tp.run_id and fresh.run_id != tp.run_id:
        raise StalePlan(
            f"{s.address} is not the server the plan was made for, or it restarted since (run_id differs); plan again"
        )
    previous: dict[str, str] = {}
    drift = []
    for c in param_changes:
        p = params[c.parameter]
        raw = p.value_in(fresh.config)
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
    """Step 3: one atomic CONFIG SET, then one ACL SETUSER per user (a failed user rolls back).
    A CONFIG SET that got no answer is settled by reading the server again (settle_set)."""
    if wanted:
        try:
            try:
                # read back in the same round trip when nothing else is set before verify reads
                s.config_set(server_names(wanted, ev.fresh), "apply CONFIG SET (nothing changed)", pause="send-set", read_back=not user_changes)
            except NoAnswer as exc:
                settle_set(s, wanted, ev, exc, undo)
        except BorgconfError as exc:
            if not (undo.added or undo.users_set or undo.restore):  # nothing set (add_passwords, settle_set): nothing to put back
                raise
            roll_back(s, undo, ev, str(exc))
    undo.restore = {n: ev.previous[n] for n in wanted}
    undo.set_to = dict(wanted)
    for c in user_changes:
        state = wanted_users.get(c.parameter)
        if state is None or c in undo.users_set:  # created before the files were written
            continue
        try:
            had = ev.previous_users[c.parameter]
            password = secrets.get(c.id) if c.password_change or had is None else None
            keep = had.hashes if had is not None and not c.password_change else ()
            s.call(f"set {c.parameter} (ACL SETUSER)", *U.setuser_args(c.name, state, password, keep))
        except BorgconfError as exc:
            if isinstance(exc, NoAnswer):
                undo.users_set.append(c)  # it may have run: put this user back too
            roll_back(s, undo, ev, str(exc))
        undo.users_set.append(c)


def _holds(name: str, value: str, now: dict[str, str]) -> bool:
    """Whether the server's reply ``now`` (CONFIG GET) holds ``value`` for parameter ``name``."""
    p = _catalog_param(name)
    raw = p.value_in(now)
    if raw is None:
        return False
    return raw == value if p.sensitive else P.canonical_live(p, raw) == P.canonical_live(p, value)


def _shown(name: str, now: dict[str, str]) -> str:
    """``name`` with the value the server's reply ``now`` holds for it; a sensitive one by name only."""
    p = _catalog_param(name)
    raw = p.value_in(now)
    return name if p.sensitive or raw is None else f"{name} (now {P.canonical_live(p, raw)!r})"


def settle_set(s: _Session, wanted: dict[str, str], ev: Evidence, why: NoAnswer, undo: Undo) -> None:
    """CONFIG SET got no answer: it may have run, or may run later. Read the server
    again over a fresh connection that waits longer (Redis runs commands one at a
    time, so a CONFIG SET it read before is done before the new CONFIG GET is
    answered). Returns when every new value is there; raises when the server still
    holds the previous ones, or did not answer again (outcome unknown).

    Anything else is a mix another client made meanwhile (CONFIG SET is atomic):
    the parameters that hold what this apply set go into ``undo`` (the caller, set_values,
    rolls them back), those another client set are left to it (``undo.left``), and
    the error says which is which (a sensitive value by name only)."""
    names = list(server_names(wanted, ev.fresh))
    now = _again(s, why, lambda: s.config_get(names))
    took = [n for n, v in wanted.items() if _holds(n, v, now)]
    if len(took) == len(wanted):
        s.notes.append(f"{why}; read again over a new connection, the server holds the new value of {', '.join(took)}: going on")
        return
    previous = [n for n in wanted if n not in took and _holds(n, ev.previous[n], now)]
    others = [n for n in wanted if n not in took and n not in previous]
    if not took and not others:
        raise ApplyError(
            f"{why}; read again over a new connection, {s.address} still holds the previous values: "
            "it did not apply the change yet (nothing changed so far, but a command still on its way may run later; "
            "run borgconf plan before applying again)"
        )
    changed = f"another client changed {', '.join(_shown(n, now) for n in others)} meanwhile" if others else ""
    kept = f"{', '.join(previous)} still hold{'s' if len(previous) == 1 else ''} the previous value" if previous else ""
    if not took:  # none of this apply's values is left: nothing to put back
        raise ApplyError(
            f"{why}; read again over a new connection, {s.address} holds neither the values it was given "
            f"nor the previous ones: {changed} (left as it set them)" + (f"; {kept}" if kept else "")
            + "; no parameter holds a value this apply set: run borgconf plan"
        )
    # the caller (set_values) rolls back what this apply set, and only that
    undo.restore = {n: ev.previous[n] for n in took}
    undo.set_to = {n: wanted[n] for n in took}
    undo.left = list(others)
    raise ApplyError(
        f"{why}; read again over a new connection, {s.address} holds the new value of {', '.join(took)}, and "
        + "; ".join(x for x in (changed, kept) if x)
    )


def add_passwords(s: _Session, wanted: dict[str, str], wanted_users: dict, user_changes: list[Change], ev: Evidence, secrets, undo: Undo) -> list[str]:
    """Before the rendered files change: every new password is added beside the old
    one (``ACL SETUSER <user> >new``: both work; for requirepass the default user),
    and the users the spec creates are created, so the files never name a password
    or a user the server refuses. Returns who got a second password."""
    who = []

    def add(user: str, password: str, doing: str) -> None:
        try:
            s.call(doing, "ACL", "SETUSER", user, ">" + password)
        except BorgconfError as exc:
            if isinstance(exc, NoAnswer):  # it may have run: take the password away too, if the server holds it
                undo.added.append((user, password))
                undo.added_unsure = True
            roll_back(s, undo, ev, str(exc))
        undo.added.append((user, password))
        who.append(user)

    if wanted.get("requirepass") and ev.previous.get("requirepass"):  # (no password before: nothing to keep working)
        add("default", wanted["requirepass"], "add the new password to user default (ACL SETUSER)")
    for c in user_changes:
        state = wanted_users.get(c.parameter)
        had = ev.previous_users[c.parameter]
        password = secrets.get(c.id)
        if state is None:
            continue
        if had is None:
            try:
                s.call(f"create {c.parameter} (ACL SETUSER)", *U.setuser_args(c.name, state, password or None))
            except BorgconfError as exc:
                if isinstance(exc, NoAnswer):  # it may have run: delete the user too (ACL DELUSER of none is no error)
                    undo.users_set.append(c)
                roll_back(s, undo, ev, str(exc))
            undo.users_set.append(c)
        elif c.password_change and password:
            add(c.name, password, f"add the new password to {c.parameter} (ACL SETUSER)")
    return who


def write_files(s: _Session, files, undo: Undo, ev: Evidence) -> None:
    """Write the rendered files (filechanges.FileStep); a failure rolls back what
    :func:`add_passwords` did (a file written before the failure is named)."""
    try:
        _write_files_step(files, s.stop)
    except BorgconfError as exc:
        undo.files_written = list(files.written)
        roll_back(s, undo, ev, f"writing the rendered files failed ({exc})")
    undo.files_written = list(files.written)


def deny_commands(s: _Session, command_changes: list[Change], ev: Evidence, undo: Undo) -> None:
    """Step 3b: ``ACL SETUSER <user> -<command>`` for every user that may still run a
    disabled command (the default user, the spec's, any other's)."""
    for c in command_changes:
        for user in ev.fresh.allowed.get(c.name, ()):
            try:
                s.call(f"deny {c.name} to user {user} (ACL SETUSER)", "ACL", "SETUSER", user, *U.deny_rules([c.name]))
            except BorgconfError as exc:
                if isinstance(exc, NoAnswer) and user not in [u for u, _ in undo.denied]:
                    undo.denied.append((user, ev.fresh.acl.get(user, "")))  # it may have run: put it back too
                roll_back(s, undo, ev, str(exc))
            if user not in [u for u, _ in undo.denied]:
                undo.denied.append((user, ev.fresh.acl.get(user, "")))


def verify(s: _Session, wanted: dict[str, str], wanted_users: dict, user_changes: list[Change], params, undo: Undo, ev: Evidence, command_changes: list[Change] = ()) -> None:  # type: ignore[assignment]
    """Step 4: read every value back; what the server did not keep rolls everything back."""
    wrong = []
    names = list(server_names(wanted, ev.fresh))
    after = (s.take_read_back(names) or s.config_get(names)) if wanted else {}
    for name, value in wanted.items():
        p = params[name]
        raw = p.value_in(after)
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


def _rewrite(s: _Session, doing: str, *args, undo: Undo | None = None) -> None:
    """A persisting command (CONFIG REWRITE, ACL SAVE): idempotent, so one that got
    no answer is sent once more over a fresh connection that waits longer."""
    try:
        s.call(doing, *args)
    except NoAnswer as exc:
        if undo is not None:
            undo.rewritten = True  # it may have run: a rollback writes the file again
        _again(s, exc, lambda: s.call(doing, *args))
        s.notes.append(f"{exc}; sent again over a new connection: done")


def persist_values(s: _Session, persist: str, write_file, wanted_users: dict, undo: Undo, ev: Evidence) -> str:
    """Step 5: CONFIG REWRITE (and ACL SAVE when users live in an aclfile), or the
    rendered file; a failure rolls back. Returns how it persisted. Ctrl-C no longer
    stops it: the step in flight is finished."""
    _test_pause("rewrite", s.stop)
    if persist == "rewrite":
        try:
            _rewrite(s, "persist with CONFIG REWRITE", s.cfg, "REWRITE", undo=undo)
        except BorgconfError as exc:
            roll_back(s, undo, ev, f"CONFIG REWRITE failed on {s.address} ({exc})", PersistFailed)
        undo.rewritten = True
        if (wanted_users or undo.denied) and ev.fresh.config.get("aclfile"):  # users live in the ACL file then
            try:
                _rewrite(s, "persist ACL users (ACL SAVE)", "ACL", "SAVE")
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


def persist_unchanged(s: _Session, persist: str, write_file, ev: Evidence, users: bool, result: ApplyResult) -> None:
    """No live change: persist what the server holds anyway, so that an apply that was
    interrupted (or timed out) after CONFIG SET and before CONFIG REWRITE is completed
    by the next apply. CONFIG REWRITE is idempotent and cheap; the rendered file
    (persist: file) is written only when it differs. Nothing live changes here, so a
    failure rolls nothing back."""
    result.persist_only = True
    if persist == "rewrite":
        if not ev.fresh.config_file:
            return  # nothing to persist to (an apply with changes says so)
        try:
            _rewrite(s, "persist with CONFIG REWRITE", s.cfg, "REWRITE")
            if users and ev.fresh.config.get("aclfile"):
                _rewrite(s, "persist ACL users (ACL SAVE)", "ACL", "SAVE")
        except BorgconfError as exc:
            raise PersistFailed(f"persisting on {s.address} failed ({exc}); no live value was changed") from None
        result.persisted = "rewrite"
    elif persist == "file" and write_file is not None:
        try:
            written = write_file(ev.fresh.total_memory or None, if_changed=True)
        except Exception as exc:
            raise PersistFailed(f"writing the rendered redis.conf failed ({type(exc).__name__}: {exc}); no live value was changed") from None
        if written:
            result.persisted = "file"


def _restore(s: _Session, undo: Undo, ev: Evidence) -> list[str]:
    """Put back what ``undo`` recorded, crossing off each part once done (a retry
    after no answer does only the rest); returns the parameters left alone. After a
    reopen, another apply may have run between the two connections: a value that
    no longer reads as the one this apply set is left as it is."""
    if not undo.files_written:  # no file names the new passwords: take them away again
        while undo.added:
            user, password = undo.added[-1]
            # "<password" of a password the server does not hold is an error on every server:
            # one whose ACL SETUSER got no answer is taken away only if it did run
            if not undo.added_unsure or _holds_password(s, user, password):
                s.call("restore ACL users", "ACL", "SETUSER", user, "<" + password)
            undo.added_unsure = False
            undo.added.pop()
    while undo.denied:
        user, line = undo.denied[-1]
        rules = U.command_rules(line)  # only the command rules changed: replay them (they start at +@all / -@all)
        if rules:
            s.call("restore ACL users", "ACL", "SETUSER", user, *rules)
        undo.denied.pop()
    while undo.users_set:
        c = undo.users_set[-1]
        had = ev.previous_users[c.parameter]
        if had is None and undo.files_written:
            undo.kept.append(c.name)  # the files name it: it stays (see _files_state)
        elif had is None:
            s.call("restore ACL users", "ACL", "DELUSER", c.name)
        else:
            s.call("restore ACL users", *U.restore_args(c.name, had))
        undo.users_set.pop()
    restore = dict(undo.restore)
    if restore and s.reopened:
        now = s.config_get(list(server_names(restore, ev.fresh)))
        undo.left += [n for n in restore if n in undo.set_to and not _holds(n, undo.set_to[n], now)]
        restore = {n: v for n, v in restore.items() if n not in undo.left}
    if restore:
        s.config_set(server_names(restore, ev.fresh), "restore the previous values")
    undo.restore = {}
    if undo.files_written:  # the files name the new passwords: the server keeps accepting them (idempotent)
        for user, password in undo.added:
            s.call("keep the new password beside the old one (ACL SETUSER)", "ACL", "SETUSER", user, ">" + password)
    if undo.rewritten:  # the file already holds the new values: write the old ones back
        s.call("restore the config file (CONFIG REWRITE)", s.cfg, "REWRITE")
        undo.rewritten = False
    return undo.left


def _holds_password(s: _Session, user: str, password: str) -> bool:
    """Whether ``user`` on the server accepts ``password`` among its passwords (ACL GETUSER: hashes)."""
    got = U.parse_getuser(s.call("read back ACL users", "ACL", "GETUSER", user))
    return got is not None and U.password_hash(password) in got.hashes


def roll_back(s: _Session, undo: Undo, ev: Evidence, why: str, exc_type=ApplyError) -> NoReturn:
    """Put back what ``undo`` recorded (users, then values, then the file) and raise
    ``exc_type`` saying why, and whether restoring worked. A command that got no
    answer in time (before or during the rollback) is retried once over a fresh connection."""
    left: list[str] = []
    try:
        try:
            if s.broken:  # the step that failed got no answer: its connection is gone
                _reopen(s, NoAnswer("the server did not answer"))
            left = _restore(s, undo, ev)
        except NoAnswer as exc:
            if not exc.timed_out:  # the server closed the connection: say so, do not insist
                raise
            left = _again(s, exc, lambda: _restore(s, undo, ev))
    except BorgconfError as again:
        raise exc_type(f"{why}; restoring the previous values ALSO failed: {again}{_files_state(undo)}") from None
    note = f" ({', '.join(left)} left as another client set it since)" if left else ""
    raise exc_type(f"{why}; the previous live values were restored{note}{_files_state(undo)}") from None


def _files_state(undo: Undo) -> str:
    """What a failure leaves in the rendered files, said exactly."""
    if not undo.files_written:
        return ""
    said = f"; {', '.join(undo.files_written)} already written as the spec renders it"
    if undo.added:
        users = ", ".join(dict.fromkeys(u for u, _ in undo.added))
        said += f" (with the new password): the server accepts both the old and the new password of {users} until apply runs again"
    if undo.kept:
        said += f"; the user(s) {', '.join(undo.kept)} the files name were kept"
    return said


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
    stop: threading.Event | None = None,
    files=None,
    config_names: tuple[str, ...] | None = None,
) -> ApplyResult:
    """Apply one target's plan. ``secrets`` maps the ``ChangeId`` of a sensitive parameter
    (and of a user) to the value to set; ``users`` maps a user's ``ChangeId`` to its
    desired ``users.UserState``; ``commands`` are the spec's ``commands:`` (a disabled
    command is denied to every user through ACL rules, the spec's users included).

    ``config_names`` (live.config_names): the parameters the read under the lock
    asks for (None: all of them).

    ``write_file(total_memory)`` persists for ``persist: file`` (the server's total
    memory resolves percentages the way the live value was resolved).

    ``stop`` (deferred_interrupts) asks apply to stop at the next step boundary:
    Interrupted before anything is set, or after rolling back what was set; once
    persisting began it is finished and the result says ``interrupted``.

    With no live change and a ``persist`` other than none, apply still takes the lock
    and persists what the server holds (persist_unchanged), so that live values an
    interrupted apply set but never persisted do not stay unpersisted forever.

    ``files`` (filechanges.FileStep) writes the plan's file changes: checked
    against the plan under the lock, written after the server's changes, or
    between adding and enforcing the new passwords when a password rotates."""
    from . import safety

    result = ApplyResult(target=tp.name, restart_required=list(tp.restart_changes))
    live = tp.live_changes
    # what the plan itself recorded: refuse before touching the server at all
    refuse_unless_allowed(tp, allow)
    if not live and persist == "none":
        return result
    if stop is not None and stop.is_set():
        raise Interrupted("interrupted; nothing changed (not started)")
    s = _Session(client, target, tp, stop=stop, lock_factory=lock_factory)
    param_changes = [c for c in live if c.kind == "parameter"]
    user_changes = [c for c in live if c.kind == "user"]
    command_changes = [c for c in live if c.kind == "command"]
    file_changes = [c for c in live if c.kind == "file"]
    if any(c.kind not in ("parameter", "user", "command", "file") for c in live):
        raise PlanError("plan has a live change that is neither a parameter, a user, a command nor a file")
    if file_changes and files is None:
        raise PlanError("plan has file changes, but apply was given no way to write them")
    params = {c.parameter: _catalog_param(c.parameter) for c in param_changes}
    read_spec = read_spec or (commands or {}, [])
    from .live import state_commands

    # the read under the lock goes in the round trip that takes the lock
    spec_commands, names, config = evidence_read(user_changes, params, command_changes, read_spec, config_names)
    _acquire_lock(s, lock_timeout, lock_factory, prefetch=state_commands(target, spec_commands, names, config))
    try:
        ev = check_evidence(s, tp, param_changes, user_changes, params, command_changes, read=(spec_commands, names, config), replan=replan, saved_file=saved_file)
        _refuse(safety.findings(tp, ev.fresh), allow)
        if ev.fresh_plan is not None:  # what needs --allow-... now, whatever the plan file recorded
            refuse_unless_allowed(ev.fresh_plan, allow)
        if file_changes:
            files.check(ev.fresh)  # the files are still what the plan saw
        wanted, wanted_users = wanted_values(param_changes, user_changes, params, ev, secrets, users, result)
        _test_pause("before-set", s.stop)
        if s.stopping:
            raise Interrupted("interrupted; nothing changed")
        if not wanted and not wanted_users and not command_changes and not file_changes:
            # nothing to set: persist what the server holds (an interrupted apply may have left it unpersisted)
            persist_unchanged(s, persist, write_file, ev, bool(read_spec[1] or ev.denials or user_changes), result)
            result.interrupted = s.stopping
            return result
        if wanted or wanted_users or command_changes:
            check_persistable(s, persist, ev)
        undo = Undo()
        # a new password (or user) the files will name: the server accepts it first
        early = bool(file_changes) and (bool(wanted.get("requirepass")) or any(
            ev.previous_users[c.parameter] is None or c.password_change for c in user_changes if c.parameter in wanted_users
        ))
        if early:
            add_passwords(s, wanted, wanted_users, user_changes, ev, secrets, undo)
            write_files(s, files, undo, ev)
        set_values(s, wanted, wanted_users, user_changes, ev, secrets, undo)
        deny_commands(s, command_changes, ev, undo)
        try:
            verify(s, wanted, wanted_users, user_changes, params, undo, ev, command_changes)
        except NoAnswer as exc:
            _again(s, exc, lambda: verify(s, wanted, wanted_users, user_changes, params, undo, ev, command_changes))
        _test_pause("before-persist", s.stop)
        if s.stopping:
            roll_back(s, undo, ev, "interrupted", Interrupted)
        if wanted or wanted_users or command_changes:
            result.persisted = persist_values(s, persist, write_file, wanted_users, undo, ev)
        else:  # only files change: still persist what the server holds (as with no change at all)
            persist_unchanged(s, persist, write_file, ev, bool(read_spec[1] or ev.denials or user_changes), result)
        if file_changes and not early:
            try:
                _write_files_step(files, s.stop)
            except BorgconfError as exc:
                done = "; the server's changes are applied" + (f" and persisted ({result.persisted})" if result.persisted != "none" else "") if (wanted or wanted_users or command_changes) else ""
                wrote = f"; written before the failure: {', '.join(files.written)}" if files.written else ""
                raise ApplyError(f"{exc}{done}{wrote}; apply again to write the files") from None
        result.applied = [c for c in live if c.parameter in wanted or c.parameter in wanted_users or c in command_changes or c in file_changes]
        result.interrupted = s.stopping  # the step in flight was finished: say so, and stop the fleet
        return result
    finally:
        result.notes = s.notes
        _release_lock(s, s.lock)


class Interrupts(threading.Event):
    """Set by the first Ctrl-C; ``count`` is how many came."""

    count = 0


@contextmanager
def deferred_interrupts(stream=None) -> Iterator[Interrupts]:
    """While apply changes servers, Ctrl-C (SIGINT) does not kill it half way: it sets
    the event this yields, and apply_target stops at its next step boundary: before
    CONFIG SET nothing is changed, after it the previous values are put back, and a
    CONFIG REWRITE in flight is finished. Every further Ctrl-C says so again.

    On leaving, the previous handler comes back -- unless a Ctrl-C came: then the
    process is on its way out, and a late Ctrl-C is ignored rather than turned into
    a KeyboardInterrupt that would cut the report short (or tell "nothing changed").
    Only the main thread can catch signals: elsewhere the event is never set."""
    import os
    import signal
    import sys

    flag = Interrupts()
    if threading.current_thread() is not threading.main_thread():
        yield flag
        return

    def on_sigint(signum, frame) -> None:
        flag.count += 1
        flag.set()
        say = (
            "finishing the step in flight...\n" if flag.count > 1
            else "interrupted: finishing the step in flight, then stopping (values set are put back unless already persisted)...\n"
        )
        out = stream or sys.stderr
        try:  # straight to the file descriptor: the handler may run in the middle of a buffered write
            os.write(out.fileno(), say.encode())
        except (OSError, ValueError, AttributeError):
            try:
                out.write(say)
            except RuntimeError:  # reentrant call: the line is lost, never the flag
                pass

    old = signal.signal(signal.SIGINT, on_sigint)
    try:
        yield flag
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN if flag.is_set() else old)


__all__ = ["apply_target", "ApplyResult", "refuse_unless_allowed", "check_evidence", "wanted_values", "check_persistable", "set_values", "settle_set", "deny_commands", "verify", "persist_values", "persist_unchanged", "roll_back", "add_passwords", "write_files", "Evidence", "Undo", "deferred_interrupts", "Interrupts"]

