"""Nothing lost: changes that would evict, hide or stop persisting data.

``findings`` says, for a target plan and a live state, which changes need an
``--allow-...`` flag and what is at stake. The planner records them on the
changes (``plan`` shows them as warnings); ``apply`` computes them again from
the state it re-reads under its lock, so a saved plan cannot skip them.
"""

from __future__ import annotations

from .findings import Finding
from .live import LiveState
from .plan import TargetPlan

ALLOW_EVICT = "allow-evict"
ALLOW_HIDE_DATA = "allow-hide-data"
ALLOW_NO_PERSISTENCE = "allow-no-persistence"


def _size(n: int) -> str:
    for unit, size in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} bytes"


def findings(tp: TargetPlan, live: LiveState) -> list[Finding]:
    by_name = {c.parameter: c for c in tp.changes if c.kind == "parameter"}
    keys_total = sum(live.keyspace.values())
    out: list[Finding] = []

    c = by_name.get("maxmemory")
    if c is not None and c.after is not None and c.after.isdigit():
        limit = int(c.after)
        if 0 < limit < live.used_memory:
            out.append(Finding("evicts-keys", "", subjects=("maxmemory",), flag=ALLOW_EVICT, message=
                f"maxmemory {_size(limit)} is below the {_size(live.used_memory)} in use "
                f"({keys_total} keys): Redis would evict keys or refuse writes; apply needs --{ALLOW_EVICT}"))

    c = by_name.get("databases")
    if c is not None and c.after is not None and c.after.isdigit():
        n = int(c.after)
        hidden = {db: k for db, k in live.keyspace.items() if db >= n and k > 0}
        if hidden:
            dbs = ", ".join(f"db{db} ({k} keys)" for db, k in sorted(hidden.items()))
            out.append(Finding("hides-data", "", subjects=("databases",), flag=ALLOW_HIDE_DATA, message=
                f"databases {n} would hide {dbs} after the next restart; apply needs --{ALLOW_HIDE_DATA}"))

    aof, save = by_name.get("appendonly"), by_name.get("save")
    if aof is not None or save is not None:
        aof_before = live.config.get("appendonly", "no").lower()
        save_before = " ".join(live.config.get("save", "").split())
        aof_after = aof.after if aof is not None else aof_before
        save_after = save.after if save is not None else save_before
        if aof_after == "no" and save_after == "" and (aof_before == "yes" or save_before != ""):
            names = tuple(c.parameter for c in (aof, save) if c is not None)
            out.append(Finding("no-persistence", "", subjects=names, flag=ALLOW_NO_PERSISTENCE, message=
                f"no AOF and no save points: nothing would be persisted ({keys_total} keys, "
                f"{_size(live.used_memory)} lost on the next restart); apply needs --{ALLOW_NO_PERSISTENCE}"))
    return out


def annotate(tp: TargetPlan, live: LiveState) -> None:
    """Record the findings on the plan's changes (requires + a warning on the first)."""
    by_name = {c.parameter: c for c in tp.changes if c.kind == "parameter"}
    for f in findings(tp, live):
        for name in f.parameters:
            by_name[name].requires.append(f.flag)
        by_name[f.parameters[0]].warnings.append(f.message)
