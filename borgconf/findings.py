"""One kind of finding for lint, data safety and status reports.

A finding has a stable ``id`` and one line of why. Where it comes from the spec
it says ``where`` (file:line:col); where it rests on a server's live facts it
names the ``target``; a data-safety finding names the changes it concerns
(``subjects``) and the ``--allow-...`` ``flag`` that accepts them. A lint
finding the spec accepts on purpose (``lint: {accept: {ID: reason}}``) carries
the reason in ``accepted``: it is shown as accepted and is not a warning. A
lint finding of ``severity`` "error" (lint.ERROR_IDS, e.g. weak-secret) refuses
the spec whatever --strict says, and cannot be accepted.
"""

from __future__ import annotations

from .records import record


@record(frozen=True)
class Finding:
    """One finding: a stable id, where, and one line of why."""

    id: str
    where: str
    message: str
    target: str = ""  # the target whose live facts the finding comes from
    subjects: tuple[str, ...] = ()  # the changes it concerns (their labels)
    flag: str = ""  # the --allow-... flag that accepts it
    accepted: str = ""  # a lint finding the spec accepts on purpose (lint.accept): the spec's reason
    severity: str = "warning"  # "error": refuses the spec with or without --strict (lint.ERROR_IDS)

    @property
    def parameters(self) -> tuple[str, ...]:
        return self.subjects

    @property
    def place(self) -> tuple[str | None, int | None, int | None]:
        """``where`` as (file, line, column): ``specs/prod.yaml:12:3`` -> (specs/prod.yaml, 12, 3);
        a bare file name has no line."""
        if not self.where:
            return None, None, None
        parts = self.where.rsplit(":", 2)
        if len(parts) == 3 and parts[1].isdigit() and parts[2].isdigit():
            return parts[0], int(parts[1]), int(parts[2])
        return self.where, None, None

    def __str__(self) -> str:
        about = f"target {self.target}: " if self.target else ""
        where = f" {self.where}:" if self.where else ""
        return f"[{self.id}]{where} {about}{self.message}"


def grouped(findings) -> list[tuple[str, Finding]]:
    """The findings as lines for a terminal: a finding that several targets share
    (same id, place and message; a fleet with no requirepass anywhere) is one line
    naming them, not one line per target. In order of first appearance; each
    line with the first of its findings."""
    groups: dict[tuple, list[Finding]] = {}
    for f in findings:
        groups.setdefault((f.id, f.where, f.message, f.accepted, f.severity, bool(f.target)), []).append(f)
    lines = []
    for same in groups.values():
        first, targets = same[0], list(dict.fromkeys(f.target for f in same if f.target))
        if len(targets) < 2:
            lines += [(str(f), f) for f in same]
            continue
        shown = ", ".join(targets) if len(targets) <= 4 else f"{', '.join(targets[:3])} and {len(targets) - 3} more"
        where = f" {first.where}:" if first.where else ""
        lines.append((f"[{first.id}]{where} {len(targets)} targets ({shown}): {first.message}", first))
    return lines


__all__ = ["Finding", "grouped"]
