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


def desired_values(spec: Spec, live: LiveState) -> dict[str, str]:
    """Canonical desired value of every spec parameter against this server."""
    out = {}
    key = P.server_key(live.flavour, live.version)
    for name, sv in spec.server.items():
        found = live_value(sv.param, live)
        current = P.canonical_live(sv.param, found[1]) if found else None
        try:
            if sv.param.available_on(key):  # a server the catalog knows: its own ranges and choices
                P.check(sv.param, sv.raw, server=key)
            out[name] = P.desired(sv.param, sv.checked, live=current, total_memory=live.total_memory)
        except P.InvalidValue as e:
            shown = "(sensitive)" if sv.param.sensitive else ""
            raise BorgconfError(f"server.{sv.name_used}{shown}: {e}") from None
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


def build_target_plan(spec: Spec, target, live: LiveState) -> TargetPlan:
    tp = TargetPlan(
        name=target.name,
        address=live.address,
        flavour=live.flavour,
        version=live.version,
        run_id=live.run_id,
        persist=target.persist,
    )
    unknown = [sv.name_used for name, sv in spec.server.items() if name not in spec.ignore and live_value(sv.param, live) is None]
    if unknown:
        raise UnsupportedParameter(
            f"{live.server_label} at {live.address} does not know parameter{'s' if len(unknown) > 1 else ''} "
            + ", ".join(repr(u) for u in unknown)
        )
    wanted = desired_values(spec, live)
    for name, sv in spec.server.items():
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
        tp.changes.append(
            Change(
                ChangeId("parameter", name),
                timing=cls,
                before=None if p.sensitive else before,
                after=None if p.sensitive else after,
                sensitive=p.sensitive,
                reason=reason,
                secret_after=after if p.sensitive else None,
            )
        )
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
        rules_ok, password_ok = U.in_sync(have, want)
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
    if target.persist == "rewrite" and any(c.sensitive and c.kind == "parameter" and c.timing == "live" for c in tp.changes):
        tp.warnings.append(
            "CONFIG REWRITE writes the server's redis.conf with mode 0644 (less its umask): it will hold "
            "a password; make it private (chmod 600) afterwards, or use persist: file (written 0600)"
        )
    from . import safety

    safety.annotate(tp, live)
    return tp


def build_plan(spec: Spec, lives: dict[str, LiveState]) -> Plan:
    """One plan for every target of the spec whose live state is given."""
    targets = [build_target_plan(spec, t, lives[t.name]) for t in spec.targets if t.name in lives]
    return Plan(spec_path=spec.path, spec_sha256=spec.sha256, targets=targets)


__all__ = ["build_plan", "build_target_plan", "denials", "server_name_note", "allowed_text", "DENIED_TEXT", "rename_reason", "desired_values", "live_value", "param_class"]
