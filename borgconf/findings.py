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

from dataclasses import dataclass


@dataclass(frozen=True)
class Finding:
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

    def __str__(self) -> str:
        about = f"target {self.target}: " if self.target else ""
        where = f" {self.where}:" if self.where else ""
        return f"[{self.id}]{where} {about}{self.message}"


__all__ = ["Finding"]
