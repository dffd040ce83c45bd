"""masterauth / masteruser on every server (issue 11.6): Valkey calls them
primaryauth / primaryuser and its CONFIG REWRITE writes those names; the plan
says so, apply sets them, and a restart from the rewritten file is in sync."""

from __future__ import annotations

import json
import re

from cli_helpers import run


def test_masterauth_plans_applies_and_persists_under_the_servers_own_name(redis_factory, tmp_path, capsys, monkeypatch):
    server = redis_factory()
    monkeypatch.setenv("T_MA", "primary-secret-77")
    spec = tmp_path / "s.yaml"
    spec.write_text(f"version: 1\ntarget:\n  url: {json.dumps(server.url)}\nserver:\n  masterauth: ${{T_MA}}\n  masteruser: repl-user\n")
    valkey = server.flavour == "valkey"
    own_auth, own_user = ("primaryauth", "primaryuser") if valkey else ("masterauth", "masteruser")

    rc, out, err = run(capsys, "plan", "--detailed-exitcode", spec)
    assert rc == 2, err
    assert (f"{server.label} calls it primaryauth" in out) is valkey
    assert (f"{server.label} calls it primaryuser" in out) is valkey
    assert "primary-secret-77" not in out + err

    rc, out, err = run(capsys, "apply", "--auto-approve", spec)
    assert rc == 0, out + err
    c = server.client()
    assert c.config_get(own_auth)[own_auth] == "primary-secret-77"
    assert c.config_get(own_user)[own_user] == "repl-user"
    rewritten = server.config_path.read_text()
    assert re.search(rf"^{own_auth} ", rewritten, re.M) and re.search(rf"^{own_user} \"?repl-user\"?$", rewritten, re.M)
    assert not re.search(r"^(primaryauth|primaryuser) ", rewritten, re.M) or valkey  # Redis never sees a Valkey name
    server.restart()
    rc, out, err = run(capsys, "plan", "--detailed-exitcode", spec)
    assert rc == 0, out + err
