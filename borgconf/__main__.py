"""The ``borgconf`` console script and ``python -m borgconf``.

A bare ``--version`` is answered here, before click, pydantic and the rest of
the CLI are imported: CI calls it on every push, and those imports cost several
times the interpreter's own start-up. The text is the one click prints
(tests/unit/test_import_boundary.py pins that both agree).
"""

from __future__ import annotations

import sys


def _without_pydantic_plugins() -> None:
    """borgconf's models use no pydantic plugin. To look for one, pydantic
    imports importlib.metadata and reads the entry points of every installed
    distribution before it builds the first model (pydantic/plugin/_loader.py).
    An empty loader in its place skips both; PYDANTIC_DISABLE_PLUGINS would skip
    only the scan, not the import (issue 15). Only in the CLI's own process."""
    if "pydantic.plugin._loader" not in sys.modules:
        import types

        loader = types.ModuleType("pydantic.plugin._loader")
        loader.get_plugins = lambda: ()  # type: ignore[attr-defined]
        sys.modules["pydantic.plugin._loader"] = loader


def _exit_without_a_last_collection() -> None:
    """Called when the process is about to end: the objects alive now (every
    module, class and schema imported) move to the collector's permanent
    generation, so the collections the interpreter runs at exit do not walk
    them again. Each object is still freed as its module is cleared; only the
    collector's passes are skipped: the interpreter runs several full ones at
    exit, each over the 30,000-50,000 objects of pydantic, click, ruamel.yaml,
    redis-py and borgconf, 25-80 ms in all on a small VM (issue 15). Only for a
    whole process (the console script, ``python -m borgconf``), never for a
    caller of main(), whose process goes on."""
    if _collector_off[0]:  # start-up never ended (usage error, --help): freeze, and the collector back on
        _collect_again()
        return
    import gc

    gc.freeze()


def _no_collections_in_start_up() -> None:
    """Start-up allocates some 50,000 objects that live until the process ends
    (modules, classes, click's commands, the spec's schema); the collector
    walked them again and again before borgconf did any work: 5 collections,
    14 ms of a 130 ms validate on a small VM, even with a threshold of 20,000
    (issue 15). So the collector is off until start-up is over: every command
    calls ``_collect_again`` (cli._start_up_over) once its modules are imported
    and the spec's models built, before it parses a spec or does any work. It
    freezes what start-up made (never walked again; of its ~25,000 objects
    only some 600 are garbage in cycles, kept with the rest) and turns the
    collector back on, so what parsing and the work leave in cycles is
    collected as before. Only for a whole process, like the freeze at exit."""
    import gc

    gc.disable()
    _collector_off[0] = True


_collector_off = [False]  # the collector is off for start-up (_no_collections_in_start_up)


def _collect_again() -> None:
    if not _collector_off[0]:
        return
    import gc

    _collector_off[0] = False
    gc.freeze()
    gc.set_threshold(20_000, 10, 10)  # the work's own objects: fewer, larger passes than the default 700
    gc.enable()


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args == ["--version"]:
        from . import __version__

        sys.stdout.write(f"borgconf {__version__}\n")
        return 0
    if argv is None:  # the process's own entry (the console script, python -m borgconf)
        _no_collections_in_start_up()
    _without_pydantic_plugins()
    from . import cli
    from .cli import main as cli_main

    if argv is None:  # (under python -m this module is __main__: cli is the one borgconf.cli)
        cli._start_up_over = _collect_again

    try:
        return cli_main(args)
    finally:
        if argv is None:  # the process's own entry: it ends when this returns
            _exit_without_a_last_collection()


if __name__ == "__main__":
    sys.exit(main())
