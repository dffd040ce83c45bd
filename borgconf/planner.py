"""build_plan(spec, live) -> Plan. Pure: no client, no clock, no I/O.

The diff is key-set arithmetic over parameter names: every parameter of the
spec (minus ``ignore:``) is compared canonical to canonical with what the
server reported; equal ones are recorded as no-ops with no change.
"""

from __future__ import annotations

from . import params as P
from .errors import BorgconfError, UnsupportedParameter
from .live import LiveState
from .plan import Change, ChangeId, Plan, TargetPlan, noop
from .spec import Spec

RESTART_REASON = "restart required: {name} cannot change at runtime; it goes into redis.conf"
ALLOW_NO_AUTH = "allow-no-auth"
PROTECTED_REASON = "restart required: {name} is a protected config (enable-protected-configs is off)"


def live_value(p: P.Param, live: LiveState) -> tuple[str, str] | None:
    """(reported name, raw value) of a parameter, under its own name or an alias."""
    for name in p.names():
        if name in live.config:
            return name, live.config[name]
    return None


def param_class(p: P.Param, live: LiveState) -> str:
    cls = p.cls_for(P.server_key(live.flavour, live.version))  # per server: io-threads is live on Valkey 9.1
    if cls == P.PROTECTED:
        return "live" if live.config.get("enable-protected-configs", "no").lower() == "yes" else "restart"
    return "live" if cls == P.LIVE else "restart"


def desired_values(spec: Spec, live: LiveState, server: dict | None = None) -> dict[str, str]:
    """Canonical desired value of every spec parameter against this server
    (``server``: a target's own merged block, spec.server_for)."""
    out = {}
    key = P.server_key(live.flavour, live.version)
    for name, sv in (spec.server if server is None else server).items():
        found = live_value(sv.param, live)
        current = P.canonical_live(sv.param, found[1]) if found else None
        try:
            if sv.param.available_on(key) and not isinstance(sv.raw, dict):  # ({disabled: true}: no value to check)
                P.check(sv.param, sv.raw, server=key)
            out[name] = P.desired(sv.param, sv.checked, live=current, total_memory=live.total_memory)
        except P.InvalidValue as e:
            if sv.param.sensitive:
                raise BorgconfError(f"server.{sv.name_used}: {live.server_label} refuses the value (not shown: sensitive)") from None
            variables = sorted(spec.var_paths.get(("server", sv.name_used), ()))
            if variables:  # a ${VAR}'s value is not the spec's to show
                raise BorgconfError(f"server.{sv.name_used}: {live.server_label} refuses the value of ${{{variables[0]}}}") from None
            raise BorgconfError(f"server.{sv.name_used}: {e}") from None
    return out


def server_name_note(p: P.Param, live: LiveState) -> str:
    """Where the server has its own name for a parameter (Valkey: primaryauth for masterauth)."""
    own = p.name_for(P.server_key(live.flavour, live.version))
    if own == p.name:
        return ""
    return (
        f"{live.server_label} calls it {own}: apply sets {own}, and its CONFIG REWRITE writes {own}, "
        f"which Redis does not load (render writes {p.name}, which both load)"
    )


def denials(spec: Spec, target, live: LiveState) -> list[str]:
    """The spec's disabled commands that ACL rules deny on this server (those it still knows)."""
    from .live import acl_commands

    return [cmd for cmd in acl_commands(spec.commands, target) if live.commands.get(cmd) == "enabled"]


def allowed_text(users) -> str:
    """A command change's ``before``: who may run the command (user names, never a secret)."""
    return "allowed to " + ", ".join(users)


DENIED_TEXT = "denied to every user"


def _acl_denial(cmd: str, live: LiveState, tp: TargetPlan) -> list[Change]:
    users = live.allowed[cmd]
    rules = " ".join(f"ACL SETUSER {u} -{cmd.lower()}" for u in users)
    for problem in live.acl_problems:
        if problem not in tp.warnings:
            tp.warnings.append(problem)
    return [
        Change(
            ChangeId("command", cmd),
            timing="live",
            before=allowed_text(users),
            after=DENIED_TEXT,
            reason=f"{rules}; persisted with the users (CONFIG REWRITE, or ACL SAVE with an aclfile); "
            f"render writes rename-command {cmd} \"\" for new installs",
        )
    ]


def _placeholder(spec: Spec, cmd: str) -> str:
    """How the plan names a command's new name (a secret): the ${VAR} it comes from,
    or where it is in the spec."""
    names = sorted(spec.var_paths.get(("commands", cmd), ()) or spec.var_paths.get(("commands", cmd.lower()), ()))
    if names:
        return "<the value of ${" + names[0] + "}>"
    return f"<the new name under commands.{cmd} in {spec.path}>"


def rename_reason(spec: Spec, cmd: str, want: str, have: str, live: LiveState, target) -> str:
    """What a restart-class command change asks for: the exact redis.conf lines, the file, the restart."""
    where = live.config_file or "the server's redis.conf"
    if want == "enabled":
        what = f"remove the rename-command {cmd} line from {where}"
    else:
        line = f'rename-command {cmd} ""' if want == "disabled" else f"rename-command {cmd} {_placeholder(spec, cmd)}"
        what = f"put the line `{line}` in {where}" + (f" (replacing its rename-command {cmd} line)" if have != "enabled" else "")
        if want == "disabled" and not _deniable(cmd, target):
            what += f"; borgconf itself needs {cmd}, so no ACL rule denies it live"
    return f"restart required: rename-command is read only at start-up: {what}, then restart the server (borgconf render writes it for new installs)"


def _deniable(cmd: str, target) -> bool:
    from .live import deniable

    return deniable(cmd, target)


def build_target_plan(spec: Spec, target, live: LiveState, node=None) -> TargetPlan:
    """One server's plan. ``node`` (fleet.NodeInfo) places it in a fleet: its
    role, who manages it, and the spec target whose discover: found it (whose
    own server: block it takes)."""
    from .discovery import owned_by_topology

    role = getattr(node, "role", None) or live.role
    managed_by = getattr(node, "managed_by", None) or ("cluster" if live.mode == "cluster" else None)
    group = getattr(node, "group", None)
    tp = TargetPlan(
        name=target.name,
        address=live.address,
        flavour=live.flavour,
        version=live.version,
        run_id=live.run_id,
        persist=target.persist,
        role=role,
        managed_by=managed_by,
        primary=getattr(node, "primary", None) or live.primary,
        group=group,
    )
    if getattr(node, "problem", None):
        tp.warnings.append(f"discovery: {node.problem}")
    if target.persist == "file" and (role == "replica" or managed_by == "cluster"):
        what = "a cluster node" if managed_by == "cluster" else "a replica"
        raise BorgconfError(
            f"{live.address} is {what}: persist: file writes the rendered redis.conf, which has no replicaof or cluster "
            "lines, so the server would come back from a restart as a lone primary; use persist: rewrite (nothing planned)"
        )
    server = {}
    for name, sv in spec.server_for(group or target.name).items():
        why = owned_by_topology(name, managed_by)
        if why is None and group and name in ("replicaof", "replica-announce-ip", "replica-announce-port"):
            # a discovered replication group: one shared value would be wrong on every node but one
            why = f"{sv.name_used} is each node's own (who it replicates, the address it announces) in the replication group {group} found"
        if why is not None:
            if name not in spec.ignore:
                tp.warnings.append(f"{sv.name_used} is not planned here: {why}")
            continue
        server[name] = sv
    unknown = [sv.name_used for name, sv in server.items() if name not in spec.ignore and live_value(sv.param, live) is None]
    if unknown:
        raise UnsupportedParameter(
            f"{live.server_label} at {live.address} does not know parameter{'s' if len(unknown) > 1 else ''} "
            + ", ".join(repr(u) for u in unknown)
        )
    wanted = desired_values(spec, live, server)
    for name, sv in server.items():
        if name in spec.ignore:
            continue
        p = sv.param
        _, raw = live_value(p, live)  # type: ignore[misc]
        before = P.canonical_live(p, raw)
        after = wanted[name]
        if before == after:
            said = "already as the spec says" if p.sensitive else f"already {P.display(p, before) or '(empty)'}"
            tp.noops.append(noop(ChangeId("parameter", name), "; ".join(r for r in (said, server_name_note(p, live)) if r)))
            continue
        cls = param_class(p, live)
        reason = ""
        if cls == "restart":
            template = PROTECTED_REASON if p.cls == P.PROTECTED else RESTART_REASON
            reason = template.format(name=name)
        reason = "; ".join(r for r in (reason, server_name_note(p, live)) if r)
        change = Change(
            ChangeId("parameter", name),
            timing=cls,
            before=None if p.sensitive else before,
            after=None if p.sensitive else after,
            sensitive=p.sensitive,
            reason=reason,
            secret_after=after if p.sensitive else None,
        )
        if p.sensitive and after == "":  # only `{disabled: true}` gets here (spec.checks)
            change.reason = f"removes {name} ({{disabled: true}} in the spec)"
            if name == "requirepass":
                change.requires.append(ALLOW_NO_AUTH)
                change.warnings.append("turns authentication off: anyone who reaches the port can read, write and reconfigure Redis; apply needs --allow-no-auth")
        tp.changes.append(change)
    denied = denials(spec, target, live)
    for cmd, want in spec.commands.items():
        have = live.commands.get(cmd, "enabled")
        if want == "disabled" and have == "enabled" and cmd in live.allowed:
            if live.allowed[cmd]:
                tp.changes.extend(_acl_denial(cmd, live, tp))
            else:
                tp.noops.append(noop(ChangeId("command", cmd), f"denied to every user by ACL rules; render writes rename-command {cmd} \"\" for new installs"))
            continue
        if have == want:
            tp.noops.append(noop(ChangeId("command", cmd), "already disabled" if want == "disabled" else "already enabled" if want == "enabled" else "already renamed as the spec says"))
            continue
        secret = want not in ("disabled", "enabled") or have not in ("disabled", "enabled")
        tp.changes.append(
            Change(
                ChangeId("command", cmd),
                timing="restart",
                before=None if secret else have,
                after=None if secret else want,
                sensitive=secret,
                reason=rename_reason(spec, cmd, want, have, live, target),
            )
        )
    from . import users as U

    for name in U.managed(spec):
        want = U.with_denials(U.desired_state(spec.users[name]), denied)
        have = live.users.get(name)
        rules_ok, password_ok = U.in_sync(have, want, live.command_table)
        if rules_ok and password_ok:
            tp.noops.append(noop(ChangeId("user", name), "already has the rules and password the spec gives"))
            continue
        new_password = not password_ok and bool(spec.users[name].password)
        if password_ok or have is None:
            reason = "creates the user" + (" with its password (not shown)" if new_password else "") if have is None else ""
        else:
            reason = "sets a new password (not shown)" if new_password else "removes its passwords"
        tp.changes.append(
            Change(
                ChangeId("user", name),
                timing="live",
                action="create" if have is None else "update",
                before=have.describe() if have is not None else None,
                after=want.describe(),
                reason=reason,
                password_change=new_password or (not password_ok and have is not None),
            )
        )
    if target.persist == "rewrite" and any(c.sensitive and c.kind == "parameter" and c.timing == "live" and c.secret_after for c in tp.changes):
        tp.warnings.append(
            "CONFIG REWRITE writes the server's redis.conf with mode 0644 (less its umask): it will hold "
            "a password; make it private (chmod 600) afterwards, or use persist: file (written 0600)"
        )
    if target.password and live.auth and live.auth != "target.password":
        user = target.username or "default"
        rotating = any(
            (c.id == ChangeId("parameter", "requirepass") and user == "default")
            or (c.id == ChangeId("user", user) and c.password_change)
            for c in tp.changes
        )
        tp.warnings.append(
            f"{live.address} refused target.password; borgconf logged in with {live.auth}"
            + (": apply sets the new password, and the next plan logs in with target.password" if rotating
               else ": nothing in this plan sets target.password on the server")
        )
    from . import safety

    safety.annotate(tp, live)
    return tp


def build_plan(spec: Spec, lives: dict[str, LiveState], *, targets=None, nodes=None, failures: dict | None = None) -> Plan:
    """One plan for every target whose live state is given (``targets``: the
    fleet's servers, discovered nodes included; default the spec's targets).

    ``nodes`` (target name -> fleet.NodeInfo) places each in its fleet. With a
    ``failures`` dict, a target that cannot be planned (a parameter its server
    does not know, ...) is recorded there and the others are still planned;
    without it the first such error is raised. A replication group whose
    shared parameters (passwords) would differ is refused as a whole."""
    nodes = nodes or {}
    plans = []
    for t in spec.targets if targets is None else targets:
        if t.name not in lives:
            continue
        try:
            plans.append(build_target_plan(spec, t, lives[t.name], nodes.get(t.name)))
        except BorgconfError as exc:
            if failures is None:
                raise
            failures[t.name] = exc
    # what a group shares changes on all its nodes or on none: a node discovery
    # found but that could not be read holds the rest back
    unread: dict[str, list[str]] = {}
    for name, n in nodes.items():
        if name not in lives and getattr(n, "group", None):
            unread.setdefault(n.group, []).append(name)
    for tp in list(plans):
        held = unread.get(tp.group or "")
        shared = [str(c.id) for c in tp.changes if c.kind == "user" or (c.kind == "parameter" and c.name in SHARED_IN_GROUP)]
        if held and shared:
            err = BorgconfError(
                f"{', '.join(shared)} must change on every node of the replication group {tp.group} together, "
                f"and {', '.join(held)} could not be read (nothing planned here)"
            )
            if failures is None:
                raise err
            failures[tp.name] = err
            plans.remove(tp)
    for members, problems in group_problems(spec, plans, lives).items():
        err = BorgconfError("refused for the replication group " + ", ".join(members) + " (nothing planned on any of them): " + "; ".join(problems))
        if failures is None:
            raise err
        for name in members:
            failures[name] = err
        plans = [tp for tp in plans if tp.name not in members]
    return Plan(spec_path=spec.path, spec_sha256=spec.sha256, targets=plans)


#: what every node of a replication group must have alike (with ACL users)
SHARED_IN_GROUP = frozenset({"requirepass", "masterauth", "masteruser"})


def groups_of(plans: list[TargetPlan]) -> list[list[TargetPlan]]:
    """Replication groups among planned servers: the nodes one discover: found,
    and servers that replicate each other (a replica and its primary both targets)."""
    by_addr = {tp.address: tp for tp in plans}
    parent: dict[str, str] = {tp.name: tp.name for tp in plans}

    def root(n: str) -> str:
        while parent[n] != n:
            parent[n] = parent[parent[n]]
            n = parent[n]
        return n

    def join(a: str, b: str) -> None:
        parent[root(a)] = root(b)

    first_of_group: dict[str, str] = {}
    for tp in plans:
        if tp.group:
            join(tp.name, first_of_group.setdefault(tp.group, tp.name))
        if tp.primary and tp.primary in by_addr:
            join(tp.name, by_addr[tp.primary].name)
    out: dict[str, list[TargetPlan]] = {}
    for tp in plans:
        out.setdefault(root(tp.name), []).append(tp)
    return [g for g in out.values() if len(g) > 1]


def group_problems(spec: Spec, plans: list[TargetPlan], lives: dict[str, LiveState]) -> dict[tuple, list[str]]:
    """What a replication group must share (requirepass, masterauth/primaryauth,
    masteruser/primaryuser) would differ after the plan: {member names: problems}.
    A node's value after the plan is the spec's, else what it has now."""
    from .discovery import group_shared_problems

    catalog = P.catalog()
    shared = {n: catalog.lookup(n) for n in ("requirepass", "masterauth", "masteruser")}
    out: dict[tuple, list[str]] = {}
    for group in groups_of(plans):
        desired: dict[str, dict] = {}
        for tp in group:
            live = lives[tp.name]
            own = spec.server_for(tp.group or tp.name)
            vals = {}
            for name, p in shared.items():
                if p is None:
                    continue
                sv = own.get(p.name)
                if sv is not None and p.name not in spec.ignore:
                    value = P.desired(p, sv.checked, live=None, total_memory=live.total_memory)
                else:
                    found = live_value(p, live)
                    value = found[1] if found else None
                if value:
                    vals[name] = value
            desired[tp.address] = vals
        problems = group_shared_problems(desired)
        if problems:
            out[tuple(tp.name for tp in group)] = problems
    return out


__all__ = ["build_plan", "build_target_plan", "groups_of", "group_problems", "denials", "server_name_note", "allowed_text", "DENIED_TEXT", "rename_reason", "desired_values", "live_value", "param_class"]
