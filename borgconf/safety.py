"""Nothing lost: changes that would evict, hide or stop persisting data.

``annotate`` adds to a change the ``--allow-...`` flag apply needs and a
sentence saying what is at stake; ``plan`` shows it as a warning and
``apply`` refuses without the flag.
"""

from __future__ import annotations

from .live import LiveState
from .plan import TargetPlan

ALLOW_EVICT = "allow-evict"
ALLOW_HIDE_DATA = "allow-hide-data"
ALLOW_NO_PERSISTENCE = "allow-no-persistence"
ALL_FLAGS = (ALLOW_EVICT, ALLOW_HIDE_DATA, ALLOW_NO_PERSISTENCE)


def _size(n: int) -> str:
    for unit, size in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} bytes"


def annotate(spec, tp: TargetPlan, live: LiveState) -> None:
    by_name = {c.parameter: c for c in tp.changes if c.kind == "parameter"}
    keys_total = sum(live.keyspace.values())

    c = by_name.get("maxmemory")
    if c is not None and c.after is not None and c.after.isdigit():
        limit = int(c.after)
        if 0 < limit < live.used_memory:
            c.requires.append(ALLOW_EVICT)
            c.warnings.append(
                f"maxmemory {_size(limit)} is below the {_size(live.used_memory)} in use "
                f"({keys_total} keys): Redis would evict keys or refuse writes; apply needs --{ALLOW_EVICT}"
            )

    c = by_name.get("databases")
    if c is not None and c.after is not None and c.after.isdigit():
        n = int(c.after)
        hidden = {db: k for db, k in live.keyspace.items() if db >= n and k > 0}
        if hidden:
            dbs = ", ".join(f"db{db} ({k} keys)" for db, k in sorted(hidden.items()))
            c.requires.append(ALLOW_HIDE_DATA)
            c.warnings.append(
                f"databases {n} would hide {dbs} after the next restart; apply needs --{ALLOW_HIDE_DATA}"
            )

    aof = by_name.get("appendonly")
    save = by_name.get("save")
    if aof is not None or save is not None:
        aof_after = aof.after if aof is not None else live.config.get("appendonly", "no")
        save_after = save.after if save is not None else " ".join(live.config.get("save", "").split())
        aof_before = live.config.get("appendonly", "no")
        save_before = " ".join(live.config.get("save", "").split())
        had = aof_before == "yes" or save_before != ""
        if aof_after == "no" and save_after == "" and had:
            what = (f"{keys_total} keys, {_size(live.used_memory)}")
            for change in (aof, save):
                if change is not None:
                    change.requires.append(ALLOW_NO_PERSISTENCE)
            target = aof if aof is not None else save
            target.warnings.append(
                f"no AOF and no save points: nothing would be persisted ({what} lost on the next restart); "
                f"apply needs --{ALLOW_NO_PERSISTENCE}"
            )
