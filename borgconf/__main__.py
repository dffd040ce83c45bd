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


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args == ["--version"]:
        from . import __version__

        sys.stdout.write(f"borgconf {__version__}\n")
        return 0
    _without_pydantic_plugins()
    from .cli import main as cli_main

    return cli_main(args)


if __name__ == "__main__":
    sys.exit(main())
