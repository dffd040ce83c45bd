"""A saved plan is a contract (issue 9): apply executes it only if it is exactly
what the spec and the fresh server would plan now.

A plan file travels as a CI artifact; whoever can edit it would like apply to
do more (or other) than the spec says. Four checks, the first three before
any connection:

1. :func:`spec_path_for` -- the spec the plan names is found next to the plan
   (or in the working directory's repository) and stays inside the plan's
   directory or git repository; it must be a regular file. Its digest is
   checked before any of its content is read into a message
   (``load_spec(expect_sha256=...)``).
2. :func:`check_offline` -- every change names what the spec manages (a
   parameter it sets and does not ``ignore:``, a command, a user), with the
   catalog's sensitivity; the plan's target and ``persist`` are the spec's;
   every secret the plan will set has the fingerprint of the spec's secret
   now (``fingerprint.py``: per-plan random salt, scrypt), so a secret changed
   since the plan is refused naming the parameter.
3. :func:`target_url` -- apply goes to the address the plan recorded;
   ``--url`` either names that same address or is refused.
4. :func:`compare` -- under the apply lock, the target is planned again from
   the fresh state; every change (kind, name, action, class, before, after,
   sensitive) must be equal, and no change may be missing or added.

Messages name parameters and fields, never a value from the plan file.
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit

from .errors import PlanError, StalePlan
from .plan import Change, Plan, TargetPlan

COMPARED = (("kind", "kind"), ("action", "action"), ("timing", "class"), ("before", "before"), ("after", "after"), ("sensitive", "sensitive"))


# ---------------------------------------------------------------- secrets


def secret_of(spec, change: Change, server: dict | None = None) -> str | None:
    """The secret a change sets, from the spec as it is now (None: it sets none).
    ``server``: the target's parameters (its own server: block merged over the shared one)."""
    if change.kind == "parameter" and change.sensitive:
        sv = (spec.server if server is None else server).get(change.name)
        return None if sv is None else str(sv.checked)
    if change.kind == "command" and change.sensitive:
        return spec.commands.get(change.name)
    if change.kind == "user" and change.password_change:
        u = spec.users.get(change.name)
        return "" if u is None or not u.password else u.password
    return None


def needs_fingerprint(change: Change) -> bool:
    return (change.kind in ("parameter", "command") and change.sensitive) or (change.kind == "user" and change.password_change) or change.kind == "file"


def seal(plan: Plan, spec) -> Plan:
    """Give the plan a fresh random salt and each secret-setting change the
    fingerprint of its secret (done when a plan is written as JSON)."""
    from .fingerprint import fingerprint, new_salt

    todo = [(c, tp) for tp in plan.targets for c in tp.changes if needs_fingerprint(c)]
    if not todo:
        return plan
    plan.fingerprint_salt = plan.fingerprint_salt or new_salt()
    cache: dict[tuple[str, str], str] = {}
    for c, tp in todo:
        if c.kind == "file":  # the file on disk and as rendered (filechanges.py)
            from .filechanges import seal_file

            seal_file(c, plan.fingerprint_salt)
            continue
        secret = secret_of(spec, c, spec.server_for(tp.group or tp.name))
        if secret is None:
            continue
        key = (c.parameter, secret)
        if key not in cache:
            cache[key] = fingerprint(secret, plan.fingerprint_salt, c.parameter)
        c.fingerprint = cache[key]
    return plan


# ---------------------------------------------------------------- the spec's path


def _repository(directory: str) -> str:
    """The git work tree holding ``directory``, else ``directory`` itself."""
    d = directory
    while True:
        if os.path.exists(os.path.join(d, ".git")):
            return d
        up = os.path.dirname(d)
        if up == d:
            return directory
        d = up


def _inside(path: str, root: str) -> bool:
    return root != os.sep and (path == root or path.startswith(root.rstrip(os.sep) + os.sep))


def spec_path_for(recorded: str, plan_path: str) -> str:
    """Where the spec a plan names is: relative to the plan's directory first,
    then the working directory; it must stay inside the plan's directory or
    repository (or the working directory's repository) and be a regular file."""
    plan_dir = os.path.dirname(os.path.realpath(plan_path))
    roots = [_repository(plan_dir)]
    cwd = os.path.realpath(os.getcwd())
    cwd_repo = _repository(cwd)
    if os.path.exists(os.path.join(cwd_repo, ".git")):
        roots.append(cwd_repo)
    candidates = [recorded] if os.path.isabs(recorded) else [os.path.join(plan_dir, recorded), os.path.join(cwd, recorded)]
    for candidate in candidates:
        if not os.path.lexists(candidate):
            continue
        real = os.path.realpath(candidate)
        if not any(_inside(real, root) for root in roots):
            raise PlanError(
                f"the plan names the spec {recorded!r}, which is outside the plan's directory or repository; "
                "refusing to read it (a plan file is applied with the spec it was made from, next to it)"
            )
        if not os.path.isfile(real):
            raise PlanError(f"the plan names the spec {recorded!r}, which is not a regular file")
        return candidate
    raise PlanError(f"the spec {recorded!r} the plan was made from is not found next to the plan or in the working directory")


def recorded_spec_path(spec_path: str, out_path: str) -> str:
    """What ``plan --out`` records: the spec's path relative to the plan file
    when the spec is below the plan's directory (the plan stays valid when the
    repository moves, e.g. to a CI runner), else its absolute path."""
    spec_abs = os.path.abspath(spec_path)
    rel = os.path.relpath(spec_abs, os.path.dirname(os.path.abspath(out_path)))
    return spec_abs if rel.startswith(os.pardir) else rel


# ---------------------------------------------------------------- where to apply


def _split_address(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    return host.strip("[]"), int(port)


def target_url(target, tp: TargetPlan, url: str | None) -> str:
    """The URL apply uses for a saved plan's target: the address the plan
    recorded, with the spec's scheme (redis / rediss). ``--url`` must name the
    same host and port."""
    host, port = _split_address(tp.address)
    if url:
        parts = urlsplit(url)
        try:
            given = (parts.hostname or "", parts.port if parts.port is not None else 6379)
        except ValueError:
            raise PlanError("--url / BORGCONF_URL is not a redis:// URL with a valid port") from None
        if given != (host, port):
            raise PlanError(
                f"--url / BORGCONF_URL names {given[0]}:{given[1]}, but the plan was made for target "
                f"{tp.name} at {tp.address}; a saved plan is applied where it was made (nothing changed)"
            )
    scheme = urlsplit(target.url).scheme or "redis"
    shown_host = f"[{host}]" if ":" in host else host
    return f"{scheme}://{shown_host}:{port}"


# ---------------------------------------------------------------- offline


def check_offline(plan: Plan, spec, targets) -> None:
    """Refuse (PlanError naming the change) a plan that names anything the spec
    does not manage, or a secret the spec no longer holds. No connection."""
    from . import params as P
    from .fingerprint import matches
    from .users import managed

    from .filechanges import render_names

    users = set(managed(spec))
    files = render_names(spec)
    first = spec.target.name
    for tp, t in zip(plan.targets, targets, strict=True):  # targets: the spec's (or the discovered node's) target of each
        server = spec.server_for(tp.group or tp.name)  # the shared server: block with the target's own merged over it
        if tp.persist != t.persist:
            raise PlanError(f"target {tp.name}: the plan persists with {tp.persist!r}, the spec with {t.persist!r} (plan edited?)")
        for c in tp.changes:
            where = f"target {tp.name}, change {c.parameter}"
            if c.kind == "parameter":
                p = P.catalog().lookup(c.name)
                if p is None:
                    raise PlanError(f"{where}: not a parameter borgconf knows (plan edited?)")
                if p.name != c.name:
                    raise PlanError(f"{where}: a plan names parameters by their canonical name ({p.name}) (plan edited?)")
                if c.name in spec.ignore:
                    raise PlanError(f"{where}: the spec puts {c.name} in ignore:, so no plan changes it (plan edited?)")
                if c.name not in server:
                    raise PlanError(f"{where}: the spec does not set {c.name} (plan edited, or made from another spec)")
                if c.sensitive != p.sensitive:
                    raise PlanError(f"{where}: 'sensitive' is {str(c.sensitive).lower()}, but {c.name} is {'' if p.sensitive else 'not '}sensitive (plan edited?)")
            elif c.kind == "command":
                if c.name not in spec.commands:
                    raise PlanError(f"{where}: the spec says nothing about command {c.name} (plan edited?)")
            elif c.kind == "user":
                if c.name not in users:
                    raise PlanError(f"{where}: the spec does not manage user {c.name} (plan edited?)")
            elif c.kind == "file":
                if c.name not in files:
                    raise PlanError(f"{where}: not a file the spec renders (render.redis_conf / render.env_file) (plan edited?)")
                if first not in (tp.name, tp.group):
                    raise PlanError(f"{where}: the rendered files follow target {first}, not {tp.name} (plan edited?)")
                if c.fingerprint is None or plan.fingerprint_salt is None:
                    raise PlanError(f"{where}: the plan holds no fingerprint of the file (plan edited?); plan again")
                continue  # apply renders again and checks the fingerprint (filechanges.FileStep)
            if needs_fingerprint(c):
                secret = secret_of(spec, c, server)
                if c.fingerprint is None or plan.fingerprint_salt is None:
                    raise PlanError(f"{where}: the plan holds no fingerprint of the secret it sets (plan edited, or made by an older borgconf); plan again")
                if secret is None or not matches(secret, plan.fingerprint_salt, c.fingerprint, c.parameter):
                    raise StalePlan(f"{where}: the secret the spec gives for {c.parameter} changed since the plan was made (nothing changed); plan again and review")
            elif c.fingerprint is not None:
                raise PlanError(f"{where}: a fingerprint on a change that sets no secret (plan edited?)")


# ---------------------------------------------------------------- under the lock


def compare(saved: TargetPlan, fresh: TargetPlan, *, address: str, saved_file: bool = True) -> None:
    """Refuse (StalePlan) unless ``fresh`` -- planned again under the lock --
    holds exactly the changes of ``saved``."""
    if fresh is saved:  # the read under the lock gave the plan's inputs again: the plan itself (fleet.apply_fleet's replan)
        return
    # file changes are checked by filechanges.FileStep (rendered again, by fingerprint)
    have = {c.parameter: c for c in saved.changes if c.kind != "file"}
    now = {c.parameter: c for c in fresh.changes if c.kind != "file"}
    problems = []
    for label, c in have.items():
        n = now.get(label)
        if n is None:
            problems.append(f"{label}: no longer needed (the server already has what the spec says, or the plan was edited)")
            continue
        fields = [shown for attr, shown in COMPARED if getattr(c, attr) != getattr(n, attr)]
        if fields:
            problems.append(f"{label}: {', '.join(fields)} differ{'s' if len(fields) == 1 else ''} from what the spec and the server give now")
    for label in now:
        if label not in have:
            problems.append(f"{label}: needs a change the plan does not hold")
    if problems:
        what = "the saved plan is not what the spec and the server would plan now" if saved_file else "the server changed since the plan was shown"
        raise StalePlan(f"{address}: {what} (nothing changed; plan again): " + "; ".join(problems))


__all__ = ["seal", "secret_of", "needs_fingerprint", "spec_path_for", "recorded_spec_path", "target_url", "check_offline", "compare"]
