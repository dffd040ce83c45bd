"""The worked overlay example (specs/base.yaml, specs/prod.yaml) on real servers:
prod hands `hz` to another actor with `ignore: [hz]` over the base's `hz: 10`,
and its two targets take the base target's password.

The specs are copied as written; only the targets' URLs point at two test
servers. Another actor sets hz on each server; prod's plan never touches it,
apply converges everything else, and after a restart of both servers from
their own config files the plan is still empty and hz still the actor's.
The base on its own would set hz back to 10: the overlay is what hands it away.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

from cli_helpers import run

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "overlay-Secret-7"


def _changes(out: str) -> dict[str, list[str]]:
    return {t["name"]: [c["parameter"] for c in t["changes"]] for t in json.loads(out)["targets"]}


def test_prod_overlay_hands_hz_to_another_actor(redis_factory, tmp_path, capsys, monkeypatch):
    # the base disables FLUSHALL / FLUSHDB: rename-command, read at start-up, so the
    # servers start with it (as from a rendered redis.conf); the rest is applied live
    disabled = ['rename-command FLUSHALL ""', 'rename-command FLUSHDB ""']
    a, b = redis_factory(disabled, password=PASSWORD), redis_factory(disabled, password=PASSWORD)
    for name in ("base.yaml", "prod.yaml"):
        shutil.copy(ROOT / "specs" / name, tmp_path / name)
    prod = tmp_path / "prod.yaml"
    text = prod.read_text()
    text, n = re.subn(r"redis://redis-a\.prod\.internal:6379", a.url, text)
    text, m = re.subn(r"redis://redis-b\.prod\.internal:6379", b.url, text)
    assert n == m == 1
    prod.write_text(text)
    monkeypatch.setenv("REDIS_PASSWORD", PASSWORD)
    monkeypatch.delenv("BORGCONF_URL", raising=False)

    a.client().config_set("hz", "50")  # the other actor
    b.client().config_set("hz", "30")

    rc, out, err = run(capsys, "validate", prod)
    assert rc == 0 and "2 target(s)" in out, err
    rc, out, err = run(capsys, "plan", prod, "--format", "json", "--detailed-exitcode")
    assert rc == 2, err
    changes = _changes(out)
    assert set(changes) == {"prod-a", "prod-b"}  # both reached with the base target's password
    for name, params in changes.items():
        assert "maxmemory" in params and "hz" not in params, (name, params)

    rc, out, err = run(capsys, "apply", prod, "--auto-approve")
    assert rc == 0, out + err
    assert "hz" not in out
    for server, hz in ((a, "50"), (b, "30")):
        cfg = server.client().config_get("*")
        assert cfg["maxmemory"] == str(2 * 2**30) and cfg["hz"] == hz

    # the base alone sets hz: the overlay's ignore: is what hands it away
    rc, out, err = run(capsys, "plan", tmp_path / "base.yaml", "--url", a.url, "--format", "json")
    assert rc == 0, err
    (base_changes,) = _changes(out).values()
    assert "hz" in base_changes

    for server in (a, b):
        server.restart()
    rc, out, err = run(capsys, "plan", prod, "--detailed-exitcode")
    assert rc == 0, out + err
    assert a.client().config_get("hz")["hz"] == "50" and b.client().config_get("hz")["hz"] == "30"
