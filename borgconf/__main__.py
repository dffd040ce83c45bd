"""The ``borgconf`` console script and ``python -m borgconf``.

A bare ``--version`` is answered here, before click, pydantic and the rest of
the CLI are imported: CI calls it on every push, and those imports cost several
times the interpreter's own start-up. The text is the one click prints
(tests/unit/test_import_boundary.py pins that both agree).
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args == ["--version"]:
        from . import __version__

        sys.stdout.write(f"borgconf {__version__}\n")
        return 0
    from .cli import main as cli_main

    return cli_main(args)


if __name__ == "__main__":
    sys.exit(main())
