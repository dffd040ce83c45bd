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
        from .models import Target

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


__all__ = ["FleetRead", "read_targets", "select_targets", "is_plan_file"]
