"""Bad plan files are clear errors; the exported JSON Schema is current and covers the catalog."""

from __future__ import annotations

import json
import textwrap


from borgconf import params as P
from cli_helpers import run


def write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(textwrap.dedent(text).lstrip())
    return p


def test_bad_plan_files_are_clear_errors(tmp_path, capsys):
    bad = tmp_path / "p.json"
    bad.write_bytes(b'{"format_version": "1", "x": "\xff\xfe"}')
    rc, out, err = run(capsys, "apply", "--auto-approve", bad)
    assert rc == 1 and "not UTF-8" in err and "internal error" not in err
    bad.write_text('{"format_version": "1", "spec": ' + "[" * 100000 + "]" * 100000 + "}")
    rc, out, err = run(capsys, "apply", "--auto-approve", bad)
    assert rc == 1 and "internal error" not in err

def test_the_exported_schema_is_current_and_covers_the_catalog(capsys):
    from pathlib import Path

    rc, out, err = run(capsys, "schema")
    assert rc == 0
    committed = (Path(__file__).resolve().parents[2] / "specs" / "borgconf.schema.json").read_text()
    assert out == committed, "specs/borgconf.schema.json is stale: borgconf schema > specs/borgconf.schema.json"
    schema = json.loads(out)
    for root in (schema["$defs"]["Spec"], schema):  # a whole spec; an overlay (a spec with extends:)
        node = root["properties"]["server"]
        server = next(n for n in (node, *node.get("anyOf", [])) if "properties" in n)["properties"]
        for p in P.catalog():
            assert p.name in server and all(a in server for a in p.aliases)
        assert {"version", "target", "targets", "server", "ignore", "commands", "services", "users", "render", "extends", "lint"} <= set(root["properties"])
