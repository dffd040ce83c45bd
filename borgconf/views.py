"""Views of a plan and of apply results: human (colour on a terminal) and JSON.

No decisions here. Colour is whole lines only, so click.style does it (click
is loaded anyway; rich was one dependency more, issue 15); piped output and
CI get none.
"""

from __future__ import annotations

import json
import os
import sys
from contextlib import contextmanager
from typing import Iterator, TextIO

from . import params as P
from .redact import redact


# what rich's Text dropped from coloured lines (BEL, BS, VT, FF, CR): the same here
_STRIP_IN_COLOUR = dict.fromkeys((7, 8, 11, 12, 13))


def styled(text: str, style: str) -> str:
    """``text`` in a whole-line style: words such as "bold green", "dim", "magenta"."""
    import click

    words = style.split()
    fg = next((w for w in words if w not in ("bold", "dim")), None)
    return click.style(text.translate(_STRIP_IN_COLOUR), fg=fg, bold=("bold" in words) or None, dim=("dim" in words) or None)


class Out:
    """Where human output goes; colour only when asked for and on a terminal."""

    def __init__(self, stream: TextIO | None = None, color: bool = False):
        self.stream = stream or sys.stdout
        # a terminal that says it has no colour gets none (as rich did)
        self.color = color and os.environ.get("TERM") not in ("dumb", "unknown")

    _held: list[str] | None = None  # lines of a batch (:meth:`batch`), written at its end

    def line(self, text: str = "", style: str | None = None) -> None:
        text = redact(text)
        if self.color and style:
            text = styled(text, style)
        if self._held is not None:
            self._held.append(text + "\n")
            return
        self.stream.write(text + "\n")
        self.stream.flush()

    @contextmanager
    def batch(self) -> Iterator[None]:
        """The lines of the block in one write at its end (a plan of 100 targets is
        some 1,200 lines: a write and a flush each cost more than making them). Also
        written when the block raises."""
        if self._held is not None:  # already in a batch
            yield
            return
        self._held = []
        try:
            yield
        finally:
            held, self._held = self._held, None
            self.stream.write("".join(held))
            self.stream.flush()


class Progress:
    """A counter on a terminal: one line per finished target (``[3/12] name: applied``),
    on stderr, so stdout stays the plan. :meth:`on_terminal` gives None when stderr
    is not a terminal (piped, CI logs): then nothing extra is printed."""

    def __init__(self, doing: str, total: int | None = None, stream: TextIO | None = None):
        import threading

        self.doing = doing
        self.total = total
        self.count = 0
        self.stream = stream
        self._lock = threading.Lock()

    @classmethod
    def on_terminal(cls, doing: str, total: int | None = None) -> "Progress | None":
        return cls(doing, total) if sys.stderr.isatty() else None

    def __call__(self, name: str, error: BaseException | None = None) -> None:
        import click

        with self._lock:
            self.count += 1
            n = f"{self.count}/{self.total}" if self.total else str(self.count)
            what = self.doing if error is None else f"failed ({error})"
            click.echo(redact(f"[{n}] {name}: {what}"), file=self.stream or sys.stderr, err=self.stream is None)


def placement(tp) -> str:
    """Where a planned server stands: ``replica of 127.0.0.1:7000, managed by Sentinel``."""
    parts = [tp.role + (f" of {tp.primary}" if tp.role == "replica" and tp.primary else "")]
    if tp.managed_by:
        parts.append("managed by " + {"cluster": "Redis Cluster", "sentinel": "Sentinel"}.get(tp.managed_by, tp.managed_by))
    if tp.group and tp.group != tp.name:
        parts.append(f"found by {tp.group}")
    return ", ".join(parts)


def _value(name: str, v: str | None) -> str:
    if v is None:
        return "(absent)" if name.startswith("user ") else "(sensitive)"
    if v == "":
        return '""'
    p = P.catalog().lookup(name)
    shown = P.display(p, v) if p else v
    return shown if shown == v else f"{shown} ({v})"


def render_plan(plan, out: Out, *, show_in_sync: bool = False) -> None:
    with out.batch():
        _render_plan(plan, out, show_in_sync)


def _render_plan(plan, out: Out, show_in_sync: bool) -> None:
    for tp in plan.targets:
        label = f"{'Valkey' if tp.flavour == 'valkey' else 'Redis'} {tp.version}"
        where = tp.address if tp.address != tp.name else None
        out.line(f"Target {tp.name} ({', '.join(x for x in (where, label, placement(tp)) if x)})", "bold")
        if not tp.changes:
            out.line(f"  in sync: {len(tp.in_sync)} parameter(s) already as the spec says", "green")
        for c in tp.changes:
            if c.kind == "file":  # names and masked lines only (render --check's)
                out.line(f"  ~ {c.parameter}: {'create' if c.action == 'create' else 'update'}", "yellow")
                for line in c.lines:
                    out.line(f"      {line}", "green" if line.startswith("+") else "red" if line.startswith("-") else None)
                if c.reason:
                    out.line(f"      {c.reason}", "dim")
                continue
            if c.timing == "live":
                out.line(f"  ~ {c.parameter}: {_value(c.parameter, c.before)} -> {_value(c.parameter, c.after)}", "yellow")
                if c.reason:
                    out.line(f"      {c.reason}", "dim")
            else:
                out.line(f"  ! {c.parameter}: {_value(c.parameter, c.before)} -> {_value(c.parameter, c.after)}  [restart required]", "magenta")
                if c.reason:
                    out.line(f"      {c.reason}", "dim")
            for w in c.warnings:
                out.line(f"      warning: {w}", "red")
        for w in tp.warnings:
            out.line(f"  warning: {w}", "red")
        if show_in_sync:
            for c in tp.noops:  # each no-op with its reason
                out.line(f"  = {c.parameter}: {c.reason}", "dim")
    s = plan.summary()
    if not plan.has_changes:
        out.line(f"No changes. {s['targets']} target(s) in sync with {plan.spec_path}.", "bold green")
    else:
        files = plan.files
        out.line(
            f"Plan: {s['live'] - files} to change live, {s['restart']} needing a restart"
            + (f", {files} file(s) to write" if files else "") + f", on {s['targets']} target(s).",
            "bold",
        )


def render_results(results, out: Out) -> None:
    """The outcome of an apply, after the plan was shown: each change was named
    once, in the plan; here one line per target says what became of them. Only
    what differs from the plan is named: a change found already as wanted when
    the lock was taken (not set)."""
    for r in results:
        files = [c for c in r.applied if c.kind == "file"]
        if len(files) < len(r.applied):
            how = {"rewrite": "persisted with CONFIG REWRITE", "file": "persisted to the rendered redis.conf", "none": "live only, not persisted"}[r.persisted]
            wrote = f"; wrote {len(files)} file(s)" if files else ""
            out.line(f"Target {r.target}: applied {len(r.applied) - len(files)} live change(s) (~ above), verified, {how}{wrote}.", "bold green")
        else:
            persisted = r.persist_only and r.persisted != "none"
            if files:
                out.line(f"Target {r.target}: wrote {len(files)} file(s) (~ above).", "bold green")
            if persisted:
                how = {"rewrite": "with CONFIG REWRITE", "file": "to the rendered redis.conf (it differed)"}[r.persisted]
                out.line(f"Target {r.target}: persisted (no live change) {how}.", "green")
            if not files and not persisted and not r.restart_required:
                out.line(f"Target {r.target}: nothing to apply.", "green")
        for note in r.notes:
            out.line(f"  {note}", "yellow")
        if r.skipped:
            out.line(f"  not set, already as wanted when the lock was taken: {', '.join(r.skipped)}", "dim")
        if r.restart_required:
            out.line(
                f"Target {r.target}: {len(r.restart_required)} change(s) need a restart (! above, not applied): "
                "render redis.conf (borgconf render) and restart the server to take them.",
                "magenta",
            )


def plan_json(plan) -> str:
    # not redacted: a plan holds no secret by construction (sensitive values are
    # null), and masking a short password inside another value would corrupt
    # what apply later sets (masteruser "redis-repl" with the password "redis")
    return json.dumps(plan.to_json(), indent=2) + "\n"


# ---------------------------------------------------------------- machine-readable documents


def lint_json(findings, *, strict: bool = False) -> list[dict]:
    """The lint findings as a JSON plan (and apply's result) carry them: the same
    findings the text output shows, each with its id, severity ("warning"; "error"
    under --strict; "accepted" for one the spec accepts, with the spec's reason),
    message, where (``file:line:col`` as the text shows it) split into file, line
    and column, and the target whose live facts it rests on ("" for the spec alone)."""
    out = []
    for f in findings:
        file, line, column = f.place
        out.append({
            "id": f.id,
            "severity": "accepted" if f.accepted else "error" if strict or f.severity == "error" else "warning",
            "message": redact(f.message),
            "where": f.where,
            "file": file,
            "line": line,
            "column": column,
            "target": f.target,
            "accepted": f.accepted or None,
        })
    return out


APPLY_FORMAT_VERSION = "1"


def change_json(c) -> dict:
    """A change as apply's result shows it: the plan JSON's form (a sensitive
    value null, ``"sensitive": true``) with its name, without the fingerprint."""
    d = c.to_json()
    d.pop("fingerprint", None)
    return {"parameter": d.pop("parameter"), "kind": d.pop("kind"), "name": c.name, **d}


class ApplyReport:
    """What ``apply --format json`` prints: one document, also when the apply is
    refused or fails (the error as the text output gives it, redacted). The
    command fills it as it goes (:meth:`planned`, :meth:`applied`); :meth:`run`
    prints it whatever happens and lets the error go on to its exit code."""

    def __init__(self, argument: str):
        self.argument = argument
        self.spec = None
        self.plan = None
        self.saved_file = False  # set by run(): is the argument a saved plan
        self.lint: list[dict] = []
        self.done = None  # fleet.FleetApply, once apply_fleet ran

    def planned(self, spec, plan, findings) -> None:
        self.spec, self.plan = spec, plan
        self.lint = lint_json(findings)

    def applied(self, done) -> None:
        self.done = done

    def run(self, body) -> int:
        import click

        from .errors import BorgconfError

        from .fleet import is_plan_file

        self.saved_file = is_plan_file(self.argument)
        try:
            rc = body(self)
        except (BorgconfError, click.exceptions.Abort, KeyboardInterrupt) as exc:
            sys.stdout.write(self.dumps(1, error=exc))
            sys.stdout.flush()
            raise
        sys.stdout.write(self.dumps(rc))
        sys.stdout.flush()
        return rc

    def _target(self, tp) -> dict:
        done = self.done
        results = {r.target: r for r in done.results} if done is not None else {}
        r = results.get(tp.name)
        doc = {
            "name": tp.name,
            "address": tp.address,
            "status": "not_applied",
            "applied": [],
            "skipped": [],
            "persisted": None,
            "restart_required": [change_json(c) for c in tp.restart_changes],
            "error": None,
        }
        if r is not None:
            doc.update(
                status="applied" if r.applied else "no_changes",
                applied=[change_json(c) for c in r.applied],
                skipped=list(r.skipped),
                persisted=r.persisted,
                restart_required=[change_json(c) for c in r.restart_required],
            )
            if r.interrupted:  # Ctrl-C: the step in flight was finished
                doc.update(error="interrupted after the change was applied and persisted" if r.applied and r.persisted != "none" else "interrupted")
            if done.gate_failed and done.gate_failed[0] == tp.name:
                doc.update(status="gate_failed", error=redact("health gate failed after the change: " + "; ".join(done.gate_failed[1])))
        elif done is not None and tp.name in done.failures:
            exc = done.failures[tp.name]
            doc.update(status="refused" if _refusal(exc) else "failed", error=redact(str(exc)))
        elif done is not None and tp.name in done.not_reached:
            doc.update(status="not_reached", error="not applied: the apply stopped before this target (--fail-fast, --rolling or Ctrl-C); nothing changed on it")
        elif done is None and self.plan is not None and not any(t.live_changes for t in self.plan.targets):
            doc.update(status="no_changes", persisted="none")
        return doc

    def _unread(self, u) -> dict:
        why = "it could not be read when the plan was made" if self.saved_file else "it could not be read or planned"
        return {
            "name": u.name, "address": u.address, "status": "unreadable", "applied": [], "skipped": [],
            "persisted": None, "restart_required": [], "error": redact(f"not applied: {why}: {u.error}"),
        }

    def document(self, rc: int, error: BaseException | None = None) -> dict:
        import click

        p = self.plan
        targets: list[dict] = []
        if p is not None:
            targets = p.in_order({tp.name: self._target(tp) for tp in p.targets} | {u.name: self._unread(u) for u in p.unread})
        changed = self.done is not None and self.done.changed_some
        if error is not None:
            if isinstance(error, KeyboardInterrupt):
                message = "interrupted"
            elif isinstance(error, click.exceptions.Abort):
                message = "aborted at the confirmation; nothing changed"
            else:
                message = redact(str(error))
            outcome = "refused" if _refusal(error) and not changed else "failed"
        else:
            failing = [t["name"] for t in targets if t["error"] is not None]
            message = None
            if rc != 0:
                message = redact(f"{len(failing)} of {len(targets)} target(s) not applied as planned: {', '.join(failing)} (each target's error says why)")
            refused = bool(failing) and all(t["status"] == "refused" for t in targets if t["error"] is not None)
            outcome = {0: "applied" if changed else "no_changes", 3: "partial"}.get(rc, "refused" if refused and not changed else "failed")
        spec = self.spec
        return {
            "format_version": APPLY_FORMAT_VERSION,
            "borgconf_version": _version(),
            "spec": {"path": spec.path, "sha256": spec.sha256} if spec is not None else {"path": None if self.saved_file else self.argument, "sha256": None},
            "plan_file": self.argument if self.saved_file else None,
            "outcome": outcome,
            "exit_code": rc,
            "error": message,
            "targets": targets,
            "lint": list(self.lint),
            "summary": {
                "targets": len(targets),
                "applied": sum(len(t["applied"]) for t in targets),
                "restart_required": sum(len(t["restart_required"]) for t in targets),
                "failed": sum(t["error"] is not None for t in targets),
            },
        }

    def dumps(self, rc: int, error: BaseException | None = None) -> str:
        return json.dumps(self.document(rc, error), indent=2) + "\n"


def _refusal(exc: BaseException) -> bool:
    """Refused on purpose before anything was set: not approved, data at stake, a stale or edited plan."""
    from .errors import PlanError, Refused

    return isinstance(exc, (Refused, PlanError))


def _version() -> str:
    from . import __version__

    return __version__
