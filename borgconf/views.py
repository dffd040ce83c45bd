"""Views of a plan and of apply results: human (colour on a terminal) and JSON.

No decisions here. Colour is whole lines only, so click.style does it (click
is loaded anyway; rich was one dependency more, issue 15); piped output and
CI get none.
"""

from __future__ import annotations

import json
import os
import sys
from typing import TextIO

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

    def line(self, text: str = "", style: str | None = None) -> None:
        text = redact(text)
        if self.color and style:
            text = styled(text, style)
        self.stream.write(text + "\n")
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
        files = sum(len(tp.file_changes) for tp in plan.targets)
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
        elif files:
            out.line(f"Target {r.target}: wrote {len(files)} file(s) (~ above).", "bold green")
        elif not r.restart_required:
            out.line(f"Target {r.target}: nothing to apply.", "green")
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
