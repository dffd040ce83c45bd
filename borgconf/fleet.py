"""A fleet: every target of a spec, read, planned and applied as one.

The core of ``plan`` and ``apply`` without the command line: it returns data
(states, failures, results) and prints nothing; ``cli`` maps that to views and
exit codes.

Reads run on daemon threads, at most ``parallel`` at once: with ``fail_fast``
(or Ctrl-C) the caller returns at once and the process exits without waiting
for a target that never answers (a ``ThreadPoolExecutor`` would join its
workers at interpreter exit, holding the process for the slowest timeout).
"""

from __future__ import annotations

import os
import queue
import threading
from dataclasses import dataclass, field
from typing import Any

from .errors import BorgconfError, PlanError, StalePlan


@dataclass
class FleetRead:
    """What reading the targets found: live states and failures, in the spec's order."""

    states: dict[str, Any] = field(default_factory=dict)  # target name -> live.LiveState
    clients: dict[str, Any] = field(default_factory=dict)  # target name -> client
    failures: dict[str, BorgconfError] = field(default_factory=dict)  # target name -> why it could not be read
    stopped: bool = False  # fail_fast stopped before every target was read

    @property
    def failed(self) -> list[str]:
        return list(self.failures)


def select_targets(spec, target_name: str | None = None, url: str | None = None) -> list:
    """The targets a command works on: all, or the one named; ``url`` overrides one target's URL."""
    targets = spec.targets
    if target_name:
        targets = [t for t in targets if t.name == target_name]
        if not targets:
            raise BorgconfError(f"no target named {target_name!r} in {spec.path} (have: {', '.join(t.name for t in spec.targets)})")
    if url and len(targets) > 1:
        raise BorgconfError("--url / BORGCONF_URL overrides one target; choose it with --target")
    if url:
        from .spec.schema import Target

        try:
            Target.model_validate({"url": url})
        except Exception:
            raise BorgconfError("--url / BORGCONF_URL is not a redis:// or rediss:// URL without credentials") from None
    return targets


def read_targets(spec, targets, *, url: str | None = None, parallel: int = 8, fail_fast: bool = False) -> FleetRead:
    """Connect to and read every target, at most ``parallel`` at once.

    A target that cannot be read is a failure in the result, never an exception;
    with ``fail_fast`` the read stops at the first failure and returns without
    waiting for the targets still being read."""
    from .live import connect, read_state
    from .users import managed

    users = managed(spec)
    todo: queue.Queue = queue.Queue()
    for t in targets:
        todo.put(t)
    done: queue.Queue = queue.Queue()
    stop = threading.Event()

    def worker() -> None:
        while not stop.is_set():
            try:
                t = todo.get_nowait()
            except queue.Empty:
                return
            try:
                client = connect(t, url=url)
                done.put((t.name, client, read_state(client, t, spec.commands, users), None))
            except BorgconfError as exc:
                done.put((t.name, None, None, exc))
            except BaseException as exc:  # a bug: hand it to the caller, never lose it on a thread
                done.put((t.name, None, None, exc))

    for _ in range(max(1, min(parallel, len(targets)))):
        threading.Thread(target=worker, name="borgconf-read", daemon=True).start()

    got: dict[str, tuple] = {}
    stopped = False
    try:
        while len(got) < len(targets):
            name, client, state, exc = done.get()
            if exc is not None and not isinstance(exc, BorgconfError):
                raise exc
            got[name] = (client, state, exc)
            if exc is not None and fail_fast:
                stopped = len(got) < len(targets)
                break
    finally:
        stop.set()  # no new reads; the ones under way end with their timeout, on daemon threads
    result = FleetRead(stopped=stopped)
    for t in targets:  # the spec's order
        if t.name not in got:
            continue
        client, state, exc = got[t.name]
        if exc is not None:
            result.failures[t.name] = exc
        else:
            result.clients[t.name], result.states[t.name] = client, state
    return result


def is_plan_file(path: str) -> bool:
    """A saved plan (JSON with a format_version), not a spec."""
    try:
        with open(path, "rb") as f:
            head = f.read(4096).lstrip()
    except OSError:
        return False
    return head.startswith(b"{") and b"format_version" in head


@dataclass
class SavedPlan:
    """A plan file checked against the spec it was made from."""

    spec: Any  # spec.Spec
    plan: Any  # plan.Plan, narrowed to the chosen targets
    targets: list


def load_saved_plan(path: str, *, env_file: str | None = None, target_name: str | None = None, url: str | None = None) -> SavedPlan:
    """Read a saved plan, load its spec (next to the plan when the recorded path
    does not exist) and refuse it when the spec changed since (StalePlan)."""
    from .plan import Plan
    from .spec import load_spec

    try:
        with open(path, encoding="utf-8") as f:
            p = Plan.loads(f.read())
    except UnicodeDecodeError:
        raise PlanError(f"{path} is not a borgconf plan file (not UTF-8 text)") from None
    except RecursionError:
        raise PlanError(f"{path} is not a borgconf plan file (nested too deeply)") from None
    spec_path = p.spec_path
    if not os.path.exists(spec_path):
        alt = os.path.join(os.path.dirname(path), spec_path)
        spec_path = alt if os.path.exists(alt) else spec_path
    s = load_spec(spec_path, env_file=env_file)
    if s.sha256 != p.spec_sha256:
        raise StalePlan(f"{spec_path} changed since the plan was made; plan again")
    names = {tp.name for tp in p.targets}
    targets = [t for t in select_targets(s, target_name, url) if t.name in names]
    p.targets = [tp for tp in p.targets if tp.name in {t.name for t in targets}]
    return SavedPlan(spec=s, plan=p, targets=targets)


def connect_targets(targets, *, url: str | None = None) -> dict[str, Any]:
    """A client per target (nothing is sent until the first command)."""
    from .live import connect

    return {t.name: connect(t, url=url) for t in targets}


def desired_secrets(spec) -> dict:
    """The values apply sets but no plan holds: sensitive parameters and user passwords,
    keyed by the change they belong to."""
    from .plan import ChangeId

    secrets = {ChangeId("parameter", name): sv.checked for name, sv in spec.server.items() if sv.param.sensitive}
    secrets.update({ChangeId("user", name): u.password for name, u in spec.users.items() if u.password})
    return secrets


def desired_users(spec) -> dict:
    """The desired state of every managed user, keyed by its change."""
    from .plan import ChangeId
    from .users import desired_state, managed

    return {ChangeId("user", name): desired_state(spec.users[name]) for name in managed(spec)}


@dataclass
class FleetApply:
    """What applying a plan to a fleet did: a result per target applied, the failures."""

    results: list = field(default_factory=list)  # apply.ApplyResult
    failures: dict[str, BorgconfError] = field(default_factory=dict)  # target name -> error
    stopped: bool = False  # fail_fast stopped before every target was applied

    @property
    def changed_some(self) -> bool:
        return any(r.applied for r in self.results)


def apply_fleet(
    spec,
    plan,
    targets,
    clients: dict[str, Any],
    *,
    lives: dict[str, Any] | None = None,
    no_persist: bool = False,
    allow=frozenset(),
    lock_timeout: float = 10.0,
    fail_fast: bool = False,
) -> FleetApply:
    """Apply each target's plan in turn (apply.apply_target). A target that fails is
    recorded and the next one goes on, unless ``fail_fast``. ``lives`` (from a spec
    run) resolve ``maxmemory: 25%`` for ``persist: file`` against the live server's memory."""
    from .apply import apply_target

    lives = lives or {}
    secrets = desired_secrets(spec)
    users = desired_users(spec)
    by_name = {t.name: t for t in targets}
    out = FleetApply()
    for i, tp in enumerate(plan.targets):
        t = by_name[tp.name]
        persist = "none" if no_persist else t.persist
        write_file = None
        if persist == "file":
            from .render import persist_file_writer

            # `maxmemory: 25%` is 25% of the live server's memory, not this machine's
            live = lives.get(tp.name)
            write_file = persist_file_writer(spec, total_memory=live.total_memory if live is not None else None)
        try:
            out.results.append(apply_target(clients[tp.name], t, tp, secrets=secrets, persist=persist, allow=allow, write_file=write_file, lock_timeout=lock_timeout, users=users, commands=spec.commands))
        except BorgconfError as exc:
            out.failures[tp.name] = exc
            if fail_fast:
                out.stopped = i + 1 < len(plan.targets)
                break
    return out


__all__ = [
    "FleetRead", "read_targets", "select_targets", "is_plan_file",
    "SavedPlan", "load_saved_plan", "connect_targets", "desired_secrets", "desired_users",
    "FleetApply", "apply_fleet",
]
