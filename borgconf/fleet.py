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
from typing import Any

from .errors import BorgconfError, PlanError, StalePlan
from .records import field, record


@record
class NodeInfo:
    """Where a server stands in its fleet (shown in the plan)."""

    role: str | None = None  # "primary" | "replica" (None: as the server itself says)
    managed_by: str | None = None  # None | "cluster" | "sentinel"
    primary: str | None = None  # address of its primary
    group: str | None = None  # the spec target whose discover: found it
    problem: str | None = None  # what discovery saw wrong with it


@record
class FleetRead:
    """What reading the targets found: live states and failures, in the spec's order
    (a target with ``discover:`` stands for the nodes it found, named by address)."""

    states: dict[str, Any] = field(default_factory=dict)  # target name -> live.LiveState
    clients: dict[str, Any] = field(default_factory=dict)  # target name -> client
    failures: dict[str, BorgconfError] = field(default_factory=dict)  # target name -> why it could not be read
    stopped: bool = False  # fail_fast stopped before every target was read
    targets: list = field(default_factory=list)  # every server read or tried: spec targets and discovered nodes
    nodes: dict[str, NodeInfo] = field(default_factory=dict)  # discovered node name -> its place

    @property
    def failed(self) -> list[str]:
        return list(self.failures)


def node_target(seed, host: str, port: int):
    """The target of a discovered node: the seed target (credentials, TLS,
    timeout, persist) at the node's address, named by that address."""
    from .discovery import format_address

    address = format_address(host, port)
    scheme = seed.url.split("://", 1)[0]
    return seed.model_copy(update={"name": address, "url": f"{scheme}://{address}", "discover": None, "sentinel_master": None})


def select_targets(spec, target_name: str | None = None, url: str | None = None) -> list:
    """The targets a command works on: all, the one named, or those a glob
    (``cache-*``, fnmatch, case-sensitive) matches, in the spec's order;
    ``url`` overrides one target's URL."""
    from fnmatch import fnmatchcase

    targets = spec.targets
    if target_name:
        targets = [t for t in targets if fnmatchcase(t.name, target_name)]
        if not targets:
            shown = ", ".join(t.name for t in spec.targets[:20]) + (", ..." if len(spec.targets) > 20 else "")
            what = "matching" if any(c in target_name for c in "*?[") else "named"
            raise BorgconfError(f"no target {what} {target_name!r} in {spec.path} (have: {shown})")
    if url and len(targets) > 1:
        raise BorgconfError("--url / BORGCONF_URL overrides one target; choose it with --target")
    if url:
        from .spec.schema import Target

        try:
            Target.model_validate({"url": url})
        except Exception:
            raise BorgconfError("--url / BORGCONF_URL is not a redis:// or rediss:// URL without credentials") from None
    return targets


def read_targets(spec, targets, *, url: str | None = None, parallel: int = 16, fail_fast: bool = False, progress=None) -> FleetRead:
    """Connect to and read every target, at most ``parallel`` at once.

    A target with ``discover:`` is first asked for its nodes (in the same pool);
    each node it finds is then read like a target, named by its address. A
    target that cannot be read is a failure in the result, never an exception;
    with ``fail_fast`` the read stops at the first failure and returns without
    waiting for the targets still being read. ``progress(name, error)`` is
    called once per finished target (error None when it was read)."""
    from .discovery import discover
    from .live import config_names, connect, first_call, read_state
    from .users import managed

    users = managed(spec)
    names = config_names(spec)  # once per fleet: the parameters every read asks for
    # rules naming a category are compared by what they grant: that needs the server's command table
    by_category = any("@" in rule for name in users for rule in spec.users[name].commands.split())
    given = {id(t) for t in targets}  # the url override is for a given target, not a discovered node (by identity: == on models is slow, O(N) per target)
    todo: queue.Queue = queue.Queue()
    for t in targets:
        todo.put(("discover" if t.discover else "read", t))
    done: queue.Queue = queue.Queue()
    stop = threading.Event()

    def discover_nodes(t):
        def connect_node(host: str, port: int):
            client = connect(node_target(t, host, port))
            if t.discover == "sentinel":  # a Sentinel without a password of its own, the nodes with one
                first_call(client, f"{host}:{port}", client.ping)
            return client

        return discover(connect_node, _url_address(url) if url else t.address, t.discover, sentinel_master=t.sentinel_master, parallel=parallel)

    def worker() -> None:
        while not stop.is_set():
            try:
                kind, t = todo.get(timeout=0.05)
            except queue.Empty:
                continue
            try:
                if kind == "discover":
                    done.put((kind, t, discover_nodes(t), None, None))
                else:
                    client = connect(t, url=url if id(t) in given else None)
                    done.put((kind, t, client, read_state(client, t, spec.commands, users, command_table=by_category, config=names), None))
            except BorgconfError as exc:
                done.put((kind, t, None, None, exc))
            except BaseException as exc:  # a bug: hand it to the caller, never lose it on a thread
                done.put((kind, t, None, None, exc))

    workers = max(1, min(parallel, len(targets) if not any(t.discover for t in targets) else parallel))
    for _ in range(workers):
        threading.Thread(target=worker, name="borgconf-read", daemon=True).start()

    got: dict[str, tuple] = {}
    found: dict[str, list] = {}  # seed name -> node targets
    nodes: dict[str, NodeInfo] = {}
    owner = {t.address.lower(): t.name for t in targets}  # address -> the target that has it
    pending = len(targets)
    stopped = False
    result = FleetRead()
    try:
        while pending:
            kind, t, a, b, exc = done.get()
            pending -= 1
            if exc is not None and not isinstance(exc, BorgconfError):
                raise exc
            if kind == "discover" and exc is None:
                found[t.name] = []
                for n in a:
                    nt = node_target(t, n.host, n.port) if n.port else None
                    name = n.address
                    if name in got or name in found[t.name] or name in nodes:
                        continue
                    nodes[name] = NodeInfo(n.role, n.managed_by, n.primary, t.name, n.problem)
                    found[t.name].append(name)
                    other = owner.get(n.address.lower())
                    if nt is None:
                        got[name] = (None, None, BorgconfError(f"discovered by {t.name}: {n.problem}"))
                    elif other is not None and other != t.name:
                        got[name] = (None, None, BorgconfError(f"{n.address} is discovered by {t.name} and is also target {other!r}: a server is planned once; drop one of them"))
                    else:
                        owner[n.address.lower()] = t.name
                        result.targets.append(nt)
                        todo.put(("read", nt))
                        pending += 1
                        continue
                    if progress is not None:
                        progress(name, got[name][2])
                continue
            name = t.name
            got[name] = (a, b, exc)
            if progress is not None:
                progress(name, exc)
            if exc is not None and fail_fast:
                stopped = pending > 0
                break
    finally:
        stop.set()  # no new reads; the ones under way end with their timeout, on daemon threads
    result.stopped = stopped
    result.nodes = nodes
    by_name = {t.name: t for t in result.targets}
    ordered = []
    for t in targets:  # the spec's order, a seed's nodes in the order discovery gave
        if t.discover:
            if t.name in got:  # discovery itself failed
                ordered.append(t.name)
            ordered += found.get(t.name, [])
        else:
            by_name[t.name] = t
            ordered.append(t.name)
    result.targets = [by_name[n] for n in ordered if n in by_name]
    for name in ordered:
        if name not in got:
            continue
        client, state, exc = got[name]
        if exc is not None:
            result.failures[name] = exc
        else:
            result.clients[name], result.states[name] = client, state
    return result


def unread_targets(read: FleetRead, plan_failures: dict | None = None, *, url: str | None = None) -> tuple[list, list[str]]:
    """The targets that could not be read (``read.failures``) or planned
    (``plan_failures``) as ``plan.UnreadTarget`` (error text redacted), and every
    target's name in the fleet's order: what a JSON plan lists."""
    from .plan import UnreadTarget
    from .redact import redact

    by_name = {t.name: t for t in read.targets}
    order = list(dict.fromkeys([t.name for t in read.targets] + list(read.failures) + list(plan_failures or {})))
    out = []
    for name in order:
        exc = read.failures.get(name) or (plan_failures or {}).get(name)
        if exc is None:
            continue
        t = by_name.get(name)
        live = read.states.get(name)
        if live is not None:
            address = live.address
        elif t is not None:
            address = _url_address(url) if url and len(by_name) == 1 else t.address
        else:
            address = name  # a discovered node is named by its address
        node = read.nodes.get(name)
        server = {"flavour": live.flavour, "version": live.version, "run_id": live.run_id} if live is not None else None
        out.append(UnreadTarget(name=name, address=address, error=redact(str(exc)), group=node.group if node else None, server=server))
    return out, order


def _url_address(url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    from .discovery import format_address

    return format_address(parts.hostname or "127.0.0.1", parts.port or 6379)


def is_plan_file(path: str) -> bool:
    """A saved plan (``*.json``, or JSON with a format_version), not a spec.
    Nothing here can block: anything named ``*.json`` goes to the plan reader
    (which refuses what is not a regular file), and only a regular file is read."""
    from .files import read_regular

    if path.lower().endswith(".json"):
        return True
    try:
        head = read_regular(path, 4096).lstrip()  # never blocks: a FIFO is no plan (and load_spec says why)
    except (OSError, ValueError):
        return False
    return head.startswith(b"{") and b"format_version" in head


@record
class SavedPlan:
    """A plan file checked as a document and against the spec it was made from."""

    spec: Any  # spec.Spec
    plan: Any  # plan.Plan, narrowed to the chosen targets
    targets: list
    urls: dict[str, str] = field(default_factory=dict)  # target name -> the URL of the address the plan recorded


def load_saved_plan(path: str, *, env_file: str | None = None, allow_paths: tuple[str, ...] = (), target_name: str | None = None, url: str | None = None) -> SavedPlan:
    """Read a saved plan as a contract (borgconf.contract), before any connection:
    the file is validated as a document (planfile.read_plan_document); its spec is
    found next to it and stays inside the plan's directory or repository; the
    spec's digest is the plan's (StalePlan otherwise); every change names what
    the spec manages, with the fingerprint of the secret the spec holds now; and
    ``url`` (--url) names the address the plan recorded, or is refused. A
    discovered node of the plan is reached through the spec target that found
    it (its ``group``), at the address the plan recorded."""
    from . import contract
    from .discovery import split_address
    from .plan import Plan
    from .planfile import read_plan_document
    from .spec import load_spec

    doc = read_plan_document(path)
    p = Plan.from_json(doc.model_dump(by_alias=True, exclude_unset=True))
    spec_path = contract.spec_path_for(p.spec_path, path)
    s = load_spec(spec_path, env_file=env_file, expect_sha256=p.spec_sha256, allow_paths=allow_paths)
    if s.sha256 != p.spec_sha256:  # load_spec checked it; the files did not change since
        raise StalePlan(f"{spec_path} changed since the plan was made; plan again")
    chosen = {t.name: t for t in select_targets(s, target_name)}
    targets = []
    kept = []
    for tp in p.targets:
        if tp.group is None:
            t = chosen.get(tp.name)
            if t is None:
                if target_name:
                    continue  # not chosen with --target
                raise PlanError(f"the plan's target {tp.name[:80]!r} is not a target of {spec_path} (plan edited?)")
            if t.discover:
                raise PlanError(f"plan file: target {tp.name[:80]!r} has discover: in {spec_path}; its nodes are planned by address (plan edited?)")
        else:
            seed = chosen.get(tp.group)
            if seed is None:
                if target_name:
                    continue
                raise PlanError(f"plan file: {tp.name[:80]} was found by {tp.group[:80]!r}, which is not a target of {spec_path} (plan edited?)")
            if not seed.discover:
                raise PlanError(f"plan file: {tp.name[:80]} was found by {tp.group[:80]}, which has no discover: in {spec_path}")
            try:
                host, port = split_address(tp.address)
            except ValueError as e:
                raise PlanError(f"plan file: target {tp.name[:80]!r}: {e}") from None
            t = node_target(seed, host, port)
            if tp.name != t.name:
                raise PlanError(f"plan file: a discovered node is named by its address, not {tp.name[:80]!r}")
        targets.append(t)
        kept.append(tp)
    if target_name:  # an unreadable target holds nothing to apply: it is only reported (cli)
        from fnmatch import fnmatchcase

        p.unread = [u for u in p.unread if fnmatchcase(u.name, target_name) or (u.group is not None and u.group in chosen)]
    if target_name and not kept and not p.unread:
        raise PlanError(f"the plan holds no target matching {target_name!r} (have: {', '.join(tp.name for tp in p.targets)})")
    p.targets = kept
    if url and len(p.targets) > 1:
        raise BorgconfError("--url / BORGCONF_URL names one target; choose it with --target")
    contract.check_offline(p, s, targets)
    urls = {tp.name: contract.target_url(t, tp, url) for tp, t in zip(p.targets, targets)}
    return SavedPlan(spec=s, plan=p, targets=targets, urls=urls)


def connect_targets(targets, *, url: str | None = None, urls: dict[str, str] | None = None) -> dict[str, Any]:
    """A client per target (nothing is sent until the first command); ``urls``
    gives a target its own URL (a saved plan's recorded address); ``url``
    overrides the address of a lone target only."""
    from .live import connect

    urls = urls or {}
    return {t.name: connect(t, url=urls.get(t.name, url if len(targets) == 1 else None)) for t in targets}


def desired_secrets(spec, target_name: str | None = None) -> dict:
    """The values apply sets but no plan holds: sensitive parameters and user passwords,
    keyed by the change they belong to (``target_name``: with that target's own server: block)."""
    from .plan import ChangeId

    server = spec.server if target_name is None else spec.server_for(target_name)
    secrets = {ChangeId("parameter", name): sv.checked for name, sv in server.items() if sv.param.sensitive}
    secrets.update({ChangeId("user", name): u.password for name, u in spec.users.items() if u.password})
    return secrets


def desired_users(spec) -> dict:
    """The desired state of every managed user, keyed by its change."""
    from .plan import ChangeId
    from .users import desired_state, managed

    return {ChangeId("user", name): desired_state(spec.users[name]) for name in managed(spec)}


def rolling_order(plans: list) -> list:
    """The order of a rolling apply: replicas before their primary (a chained
    replica before the replica it follows), otherwise the plan's order."""
    by_addr = {tp.address: tp for tp in plans}

    def depth(tp) -> int:
        d, seen = 0, {tp.address}
        while tp.primary and tp.primary in by_addr and tp.primary not in seen:
            tp = by_addr[tp.primary]
            seen.add(tp.address)
            d += 1
        return d

    return sorted(plans, key=lambda tp: -depth(tp))


@record
class FleetApply:
    """What applying a plan to a fleet did: a result per target applied, the failures."""

    results: list = field(default_factory=list)  # apply.ApplyResult, in the plan's order (rolling: the roll's)
    failures: dict[str, BorgconfError] = field(default_factory=dict)  # target name -> error
    stopped: bool = False  # fail_fast (or a rolling apply's failed gate) stopped before every target was applied
    gate_failed: tuple[str, list[str]] | None = None  # rolling: (node, what its health gate saw)
    not_reached: list[str] = field(default_factory=list)  # targets never applied because the apply stopped
    interrupted: bool = False  # Ctrl-C: the targets under way finished or rolled back their step, the rest were not started

    @property
    def changed_some(self) -> bool:
        return any(r.applied for r in self.results)

    @property
    def changed(self) -> list[str]:
        """Targets where apply changed something, in the order it did."""
        return [r.target for r in self.results if r.applied]


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
    parallel: int = 16,
    rolling: bool = False,
    gate_timeout: float = 10.0,
    progress=None,
    saved_file: bool = False,
    interrupt: threading.Event | None = None,
    env_file: str | None = None,
    allow_paths=(),
) -> FleetApply:
    """Apply each target's plan (apply.apply_target), at most ``parallel`` at once.
    A target that fails is recorded and the others go on, unless ``fail_fast``.
    ``lives`` (from a spec run) resolve ``maxmemory: 25%`` for ``persist: file``
    against the live server's memory. ``progress(name, error)`` is called once per
    finished target.

    ``rolling``: one target at a time, replicas before their primary
    (:func:`rolling_order`); after each target that changed, its health gate
    (:func:`gate`) must pass within ``gate_timeout`` seconds, or the roll stops
    there (``gate_failed``); the first failure of any kind stops it.

    ``interrupt`` (apply.deferred_interrupts: Ctrl-C): no target is started once it
    is set, and each one under way stops at its next step boundary; ``interrupted``
    and ``changed`` then say where things stand.

    A target whose plan holds file changes (filechanges.py) writes them, rendered
    again with ``env_file`` and ``allow_paths`` and checked against the plan."""
    from .apply import apply_target
    from .live import config_names
    from .live import same_plan_inputs
    from .planner import build_target_plan
    from .users import managed

    lives = lives or {}
    read_users = managed(spec)
    names = config_names(spec)  # once per fleet: what the read under each target's lock asks for
    users = desired_users(spec)
    by_name = {t.name: t for t in targets}
    out = FleetApply()

    def one(tp):
        t = by_name[tp.name]
        persist = "none" if no_persist else t.persist
        # `maxmemory: 25%` is 25% of the live server's memory, not this machine's
        live = lives.get(tp.name)
        total_memory = live.total_memory if live is not None else None
        write_file = None
        if persist == "file":
            from .render import persist_file_writer

            write_file = persist_file_writer(spec, total_memory=total_memory)
        secrets = desired_secrets(spec, tp.group or tp.name)
        node = NodeInfo(role=tp.role, managed_by=tp.managed_by, primary=tp.primary, group=tp.group)
        files = None
        if tp.file_changes:
            from .filechanges import FileStep

            files = FileStep(spec, tp.file_changes, salt=plan.fingerprint_salt, env_file=env_file, allow_paths=allow_paths, total_memory=total_memory, persist=t.persist)

        # under the lock, apply plans again from what it reads and refuses any difference;
        # a plan is a function of the spec and the server's answers: when the read under
        # the lock gives the plan the same inputs as the read it was made from, it is this plan
        def replan(fresh, t=t, node=node, read=live):
            if read is not None and same_plan_inputs(fresh, read):
                return tp
            return build_target_plan(spec, t, fresh, node)

        return apply_target(
            clients[tp.name], t, tp, secrets=secrets, persist=persist, allow=allow, write_file=write_file,
            lock_timeout=lock_timeout, users=users, replan=replan, read_spec=(spec.commands, read_users), saved_file=saved_file, commands=spec.commands, files=files,
            stop=interrupt, config_names=names,
        )

    def interrupted() -> bool:
        return interrupt is not None and interrupt.is_set()

    if rolling:
        order = rolling_order(plan.targets)
        for i, tp in enumerate(order):
            if interrupted():
                out.stopped, out.not_reached = True, [x.name for x in order[i:]]
                break
            try:
                r = one(tp)
            except BorgconfError as exc:
                out.failures[tp.name] = exc
                if progress is not None:
                    progress(tp.name, exc)
                out.stopped, out.not_reached = i + 1 < len(order), [x.name for x in order[i + 1 :]]
                break
            out.results.append(r)
            problems = gate(spec, by_name[tp.name], tp, clients[tp.name], timeout=gate_timeout, config=names) if r.applied else []
            if progress is not None:
                progress(tp.name, BorgconfError("health gate: " + "; ".join(problems)) if problems else None)
            if problems:
                out.gate_failed = (tp.name, problems)
                out.stopped, out.not_reached = i + 1 < len(order), [x.name for x in order[i + 1 :]]
                break
        out.interrupted = interrupted()
        return out

    import concurrent.futures as cf

    results: dict[str, Any] = {}
    stop = threading.Event()
    slots = threading.BoundedSemaphore(max(1, parallel))

    def run(tp):
        try:
            if stop.is_set() or interrupted():
                return tp.name, None, None
            try:
                return tp.name, one(tp), None
            except BorgconfError as exc:
                if fail_fast:
                    stop.set()
                return tp.name, None, exc
        finally:
            slots.release()

    with cf.ThreadPoolExecutor(max_workers=max(1, min(parallel, len(plan.targets) or 1)), thread_name_prefix="borgconf-apply") as pool:
        futures = []
        for tp in plan.targets:
            slots.acquire()  # submit no faster than the pool runs, so fail_fast stops what has not started
            if stop.is_set() or interrupted():
                slots.release()
                break
            futures.append(pool.submit(run, tp))
        for fut in cf.as_completed(futures):
            name, r, exc = fut.result()
            results[name] = (r, exc)
            if progress is not None and (r is not None or exc is not None):
                progress(name, exc)
    for tp in plan.targets:  # the plan's order
        r, exc = results.get(tp.name, (None, None))
        if exc is not None:
            out.failures[tp.name] = exc
        elif r is not None:
            out.results.append(r)
        else:
            out.not_reached.append(tp.name)
    out.stopped = bool(out.not_reached)
    out.interrupted = interrupted()
    return out


def gate(spec, target, tp, client, *, timeout: float = 10.0, interval: float = 0.2, config: tuple[str, ...] | None = None) -> list[str]:
    """The health gate of one node after its apply ([] when it passes): it answers
    PING, a replica's link to its primary is up (and not syncing), a cluster node
    says cluster_state:ok (discovery.health_problems), and a fresh read plans no
    live change for it. Polled until it passes or ``timeout`` seconds pass."""
    import time

    from .discovery import Node, split_address
    from .live import read_state
    from .planner import build_target_plan
    from .users import managed

    try:
        host, port = split_address(tp.address)
    except ValueError:
        host, port = tp.address, 0
    node = Node(tp.address, host, port, tp.role, tp.managed_by, tp.primary)
    info = NodeInfo(tp.role, tp.managed_by, tp.primary, tp.group)
    deadline = time.monotonic() + timeout
    while True:
        problems = health_problems_of(client, node)
        if not problems:
            try:
                again = build_target_plan(spec, target, read_state(client, target, spec.commands, managed(spec), config=config), info)
                left = [c.parameter for c in again.live_changes]
                if left:
                    problems = [f"{tp.address}: does not read back what was applied ({', '.join(left)} still differ)"]
            except BorgconfError as exc:
                problems = [f"{tp.address}: {exc}"]
        if not problems or time.monotonic() >= deadline:
            return problems
        time.sleep(interval)


def health_problems_of(client, node) -> list[str]:
    from .discovery import health_problems

    return health_problems(client, node)


__all__ = [
    "FleetRead", "read_targets", "select_targets", "unread_targets", "is_plan_file",
    "SavedPlan", "load_saved_plan", "connect_targets", "desired_secrets", "desired_users",
    "FleetApply", "apply_fleet", "NodeInfo", "node_target", "rolling_order", "gate",
]
