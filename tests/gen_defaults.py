"""Generate borgconf/data/defaults.json: every parameter's default per server version.

    python tests/gen_defaults.py          # rewrite the file
    python tests/gen_defaults.py --check  # exit 1 if the file is out of date

Source: ``tests/redis-facts/<server>/config-get.json``, the ``CONFIG GET *`` of a
fresh server of each version. Those servers ran from a small base config (see
redis-facts/README.md), so the parameters it set are not compiled-in defaults:
``save ""`` is put back to the default every Redis 7+ and Valkey uses when the
config file names no save point, and port, bind, logfile and daemonize to their
compiled-in defaults (``dir`` has none; ``borgconf import`` never writes these).

Stop-gap until the catalog answers ``param.default_for(server_key)``; adopt.py
reads this file through one function, ``adopt.version_defaults``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FACTS = ROOT / "tests" / "redis-facts"
OUT = ROOT / "borgconf" / "data" / "defaults.json"
SERVERS = ("redis-7.0", "redis-8.2", "valkey-8", "valkey-8.1", "valkey-9.1")
BASE_CONFIG_ONLY = {"port", "bind", "dir", "logfile", "daemonize"}  # set by the capture's base config
# what the capture's base config hid (dir has none: the server's working directory)
COMPILED_IN = {"save": "3600 1 300 100 60 10000", "port": "6379", "bind": "* -::*", "logfile": "", "daemonize": "no"}


def generate() -> str:
    out: dict = {"format": 1, "source": "tests/redis-facts/*/config-get.json (tests/gen_defaults.py)", "servers": {}}
    for server in SERVERS:
        facts = json.loads((FACTS / server / "config-get.json").read_text())
        values = {k: v for k, v in sorted(facts.items()) if k not in BASE_CONFIG_ONLY}
        values.update(COMPILED_IN)
        out["servers"][server] = dict(sorted(values.items()))
    return json.dumps(out, indent=1, sort_keys=False) + "\n"


def main(argv: list[str]) -> int:
    text = generate()
    if "--check" in argv:
        current = OUT.read_text() if OUT.exists() else ""
        if current != text:
            print(f"{OUT} is out of date: run python tests/gen_defaults.py", file=sys.stderr)
            return 1
        return 0
    OUT.write_text(text)
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
