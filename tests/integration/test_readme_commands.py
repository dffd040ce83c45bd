"""The README's "In CI" commands, run as written against a throwaway server.

The block names specs/prod.yaml: here that path holds examples/demo.yaml in a
temporary directory, BORGCONF_URL points it at the test server and
REDIS_PASSWORD is set, as a CI job would have them. The exit codes are the
ones the block's comments promise; the run ends with a restart of the server
from its own config file and an empty plan.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
from pathlib import Path

_TESTS = str(Path(__file__).resolve().parents[1])
if _TESTS not in sys.path:
    sys.path.insert(0, _TESTS)

from cli_commands import borgconf_commands  # noqa: E402
from cli_helpers import run  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "readme-Secret-1"


def _ci_block() -> list[list[str]]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    m = re.search(r"^## In CI\n+```sh\n(.*?)^```", readme, re.S | re.M)
    assert m, "README: the '## In CI' shell block"
    return borgconf_commands(m.group(1))


def test_readme_ci_commands_run_against_a_server(redis_factory, tmp_path, capsys, monkeypatch):
    commands = _ci_block()
    assert [c[0] for c in commands] == ["validate", "plan", "apply"]
    server = redis_factory(password=PASSWORD)
    spec_path = commands[0][1]
    (tmp_path / spec_path).parent.mkdir(parents=True)
    shutil.copy(ROOT / "examples" / "demo.yaml", tmp_path / spec_path)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("BORGCONF_URL", server.url)
    monkeypatch.setenv("REDIS_PASSWORD", PASSWORD)

    rc, out, err = run(capsys, *commands[0])
    assert rc == 0, err                     # offline, valid
    rc, out, err = run(capsys, *commands[1])
    assert rc == 2, err                     # "2 changes"
    plan = json.loads((tmp_path / "plan.json").read_text())
    assert plan["summary"]["live"] > 0 and PASSWORD not in (tmp_path / "plan.json").read_text()
    rc, out, err = run(capsys, *commands[2])
    assert rc == 0, err                     # exactly that plan
    assert server.client().config_get("maxmemory")["maxmemory"] == str(256 * 1024 * 1024)

    server.restart()
    rc, out, err = run(capsys, *commands[1])
    assert rc == 0, out + err               # "0 in sync", after a restart from the server's own config file
    assert json.loads((tmp_path / "plan.json").read_text())["summary"]["live"] == 0
