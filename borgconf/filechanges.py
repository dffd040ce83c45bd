"""One plan over the server and its files (issue 13.3): the rendered files on
disk (``render.redis_conf``, ``render.env_file``) that differ from what the
spec renders now are changes of kind ``file`` in the plan, and apply writes
them in a safe order with the server's changes.

What a file change shows is what ``render --check`` shows (render/check.py):
redis.conf as a diff with every secret masked and no line borgconf does not
write, a .env as the names of the variables that change. A saved plan holds
the fingerprint (fingerprint.py: scrypt under the plan's random salt) of the
file as it was on disk and as the spec rendered it; apply renders again and
refuses when either differs. The rendered files follow the spec's first
target (its URL's scheme, ``render.host``): the file changes go on its plan.

Nothing here is imported unless the spec names a render path (render pulls in
jinja2, which plan and apply otherwise never load).
"""

from __future__ import annotations

import os
from pathlib import Path

from .errors import BorgconfError, StalePlan
from .plan import Change, ChangeId, Plan, TargetPlan

def render_names(spec) -> dict[str, str]:
    """The files the spec names: their change name (the path as the spec gives it,
    relative to the spec) -> "redis.conf" or ".env". A spec without render paths: none."""
    out = {}
    for value, kind in ((spec.render.redis_conf, "redis.conf"), (spec.render.env_file, ".env")):
        if value:
            out[os.path.normpath(value)] = kind
    return out


def files_target(plan: Plan, spec) -> TargetPlan | None:
    """The plan of the target the rendered files follow (the spec's first)."""
    first = spec.target.name
    return next((tp for tp in plan.targets if tp.name == first or tp.group == first), None)


def render_now(spec, *, env_file: str | None, allow_paths=(), total_memory: int | None = None) -> dict[str, object]:
    """What the spec renders now, against the files on disk: change name -> RenderedFile,
    for the files the spec names. The environment's secrets win over the .env's
    (the .env must follow what apply sets on the server)."""
    names = render_names(spec)
    if not names:
        return {}
    from .render import render_files

    result = render_files(spec.path, check=True, env_file=env_file, allow_paths=allow_paths, total_memory=total_memory, replace_secrets=True)
    by_kind = {f.kind: f for f in result.files}
    return {name: by_kind[kind] for name, kind in names.items()}


def _changes_of(files: dict) -> list[Change]:
    out = []
    for name, f in files.items():
        if not f.changed:
            continue
        lines = [_printable(line) for line in f.diff().split("\n")[:-1]]
        what = "creates" if f.before is None else "updates"
        out.append(
            Change(
                ChangeId("file", name),
                timing="live",
                before=None,
                after=None,
                action="create" if f.before is None else "update",
                reason=f"apply {what} {f.path} (atomically, mode {f.mode:04o}) as borgconf render would",
                lines=lines,
                file_texts=(f.before, f.text),
            )
        )
    return out


def _printable(line: str) -> str:
    """A diff line as a plan holds it: a carriage return or another control
    character of the file spelled out (\\x0d), never raw in the plan."""
    return "".join(ch if ch == "\t" or not (ch < " " or ch == "\x7f") else f"\\x{ord(ch):02x}" for ch in line)


def rotations(tp: TargetPlan, spec) -> list[str]:
    """Who gets a new password in this target's plan (default for requirepass): an
    existing user whose password changes to the one the spec gives (not removed)."""
    out = []
    for c in tp.changes:
        if c.id == ChangeId("parameter", "requirepass") and c.secret_after:
            out.append("default")
        elif c.kind == "user" and c.password_change and c.action == "update" and c.name in spec.users and spec.users[c.name].password:
            out.append(c.name)
    return out


def add_file_changes(plan: Plan, spec, lives: dict, *, env_file: str | None = None, allow_paths=()) -> list[Change]:
    """Put the file changes on the plan (the first target's) and say in which order
    apply takes them; returns them."""
    if not render_names(spec):
        return []
    tp = files_target(plan, spec)
    if tp is None:
        return []
    live = lives.get(tp.name)
    files = render_now(spec, env_file=env_file, allow_paths=allow_paths, total_memory=getattr(live, "total_memory", None) or None)
    target = next((t for t in spec.targets if t.name in (tp.name, tp.group)), spec.target)
    rewritten = rewritten_by_server(files, live, target.persist)
    if rewritten is not None and files.pop(rewritten).changed:
        tp.warnings.append(
            f"render.redis_conf is the server's own config file ({live.config_file}), which CONFIG REWRITE writes "
            "(persist: rewrite): not planned as a file; use persist: file to have apply write the rendered one"
        )
    changes = _changes_of(files)
    if not changes:
        return []
    tp.changes.extend(changes)
    who = rotations(tp, spec)
    if "default" in who and live is not None and not live.config.get("requirepass"):
        who.remove("default")
        tp.warnings.append(
            "requirepass turns authentication on: no order keeps every client working (until CONFIG SET a client "
            "that sends the new password is refused, since the server has none; after it, a client without one is), "
            "so apply writes the file(s) first and then sets requirepass: restart the applications right after"
        )
    if who:
        names = ", ".join(who)
        order = (
            f"password rotation in a safe order: apply first adds the new password of {names} on the server "
            "(ACL SETUSER >new: old and new both work), then writes the file(s), then makes the new one the only one "
            "(CONFIG SET requirepass / ACL SETUSER), so the applications never hold a password the server refuses"
        )
        tp.warnings.append(order)
    for other in plan.targets:
        if other is tp or not rotations(other, spec):
            continue
        other.warnings.append(
            f"the rendered files follow target {tp.name}; here the new password replaces the old one at once, "
            "so no safe order covers the applications that connect to this server with the old one "
            "(apply this target after the applications have the new password)"
        )
    return changes


def rewritten_by_server(files: dict, live, persist: str) -> str | None:
    """The name of the rendered redis.conf when it is the server's own config
    file and apply persists with CONFIG REWRITE (then it is the server's, not a file
    change: the two would never agree)."""
    own = getattr(live, "config_file", None)
    if not own or persist != "rewrite":
        return None
    return next((name for name, f in files.items() if f.kind == "redis.conf" and _same_path(f.path, own)), None)


def _same_path(a, b: str) -> bool:
    try:
        return Path(a).resolve() == Path(b).resolve()
    except (OSError, ValueError, RuntimeError):
        return False


def _state(before: str | None, after: str) -> str:
    return ("absent" if before is None else "file\0" + before) + "\0\0" + after


def seal_file(c: Change, salt: str) -> None:
    """The fingerprint of a file change: the file as on disk, and what the spec renders into it."""
    from .fingerprint import fingerprint

    if c.file_texts is not None:
        c.fingerprint = fingerprint(_state(*c.file_texts), salt, c.parameter)


class FileStep:
    """The file changes of one target's apply: checked against the plan under the
    lock (:meth:`check`), then written (:meth:`write`) at the step apply chooses."""

    def __init__(self, spec, changes: list[Change], *, salt: str | None, env_file: str | None = None, allow_paths=(), total_memory: int | None = None, persist: str = "rewrite"):
        self.spec = spec
        self.persist = persist  # the target's (not --no-persist): the plan left out what it writes
        self.changes = changes
        self.salt = salt
        self.env_file = env_file
        self.allow_paths = allow_paths
        self.total_memory = total_memory
        self.files: dict = {}
        self.written: list[str] = []

    def check(self, fresh=None) -> None:
        """Render again (``fresh``: the server's LiveState read under the lock); refuse
        (StalePlan) unless every planned file is still what the plan saw, on disk
        and as the spec renders it, and nothing else changed."""
        from .fingerprint import matches

        memory = getattr(fresh, "total_memory", None) or self.total_memory
        now = render_now(self.spec, env_file=self.env_file, allow_paths=self.allow_paths, total_memory=memory)
        rewritten = rewritten_by_server(now, fresh, self.persist)
        if rewritten is not None:
            del now[rewritten]
        planned = {c.name: c for c in self.changes}
        problems = []
        for name, c in planned.items():
            f = now.get(name)
            if f is None:
                problems.append(f"{c.parameter}: the spec no longer names this file")
            elif not f.changed:
                problems.append(f"{c.parameter}: already as the spec renders it")
            elif ("create" if f.before is None else "update") != c.action:
                problems.append(f"{c.parameter}: the file was {'removed' if f.before is None else 'created'} since the plan")
            elif c.file_texts is not None:
                if c.file_texts != (f.before, f.text):
                    problems.append(f"{c.parameter}: the file on disk, or what the spec renders into it, changed since the plan")
            elif self.salt is None or c.fingerprint is None or not matches(_state(f.before, f.text), self.salt, c.fingerprint, c.parameter):
                problems.append(f"{c.parameter}: the file on disk, or what the spec renders into it, changed since the plan was made")
        for name, f in now.items():
            if f.changed and name not in planned:
                problems.append(f"file {name}: differs from what the spec renders, and the plan does not hold it")
        if problems:
            raise StalePlan("the rendered files are not what the plan saw (nothing changed; plan again): " + "; ".join(problems))
        self.files = {name: now[name] for name in planned}

    def write(self) -> list[str]:
        """Write each file atomically with its mode, unless it changed on disk since
        :meth:`check` read it. Returns the paths written (also in ``written``)."""
        from .files import write_atomic
        from .render.output import _read_text

        for name, f in self.files.items():
            now = _read_text(Path(f.path))
            if now == f.text:  # persist: file wrote the same rendering a moment ago
                self.written.append(str(f.path))
                continue
            if now != f.before:
                raise StalePlan(f"file {name}: changed on disk while apply ran (not written)")
            try:
                write_atomic(f.path, f.text, mode=f.mode)
            except OSError as exc:
                raise BorgconfError(f"cannot write {f.path}: {exc.strerror or exc}") from None
            self.written.append(str(f.path))
        return self.written


__all__ = ["add_file_changes", "render_names", "files_target", "render_now", "rotations", "rewritten_by_server", "seal_file", "FileStep"]
