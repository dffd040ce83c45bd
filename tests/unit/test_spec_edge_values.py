"""Spec values at the edges: YAML warnings never quote the spec, a date-like password stays text, extends stays inside the repository, port 0 is refused, a renamed command is never echoed, unixsocketperm is octal."""

from __future__ import annotations

import textwrap

import pytest

from borgconf import params as P
from borgconf.errors import SpecError
from borgconf.spec import load_spec
from cli_helpers import run


def write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(textwrap.dedent(text).lstrip())
    return p


def test_yaml_warnings_never_quote_the_spec(tmp_path, capsys):
    p = write(tmp_path, "s.yaml", """
        version: 1
        target:
          password: &pw LiteralSecret123
        server:
          requirepass: &pw LiteralSecret123
        """)
    rc, out, err = run(capsys, "validate", p)
    assert rc == 1 and "anchor" in err and "LiteralSecret123" not in out + err
    p = write(tmp_path, "f.yaml", "%YAML 1.1\n---\nversion: 1\nserver:\n  requirepass: 1e99999\n")
    rc, out, err = run(capsys, "validate", p)
    assert rc == 1 and "1e99999" not in out + err and "f.yaml:5:" in err

def test_a_date_like_password_is_text(tmp_path):
    p = write(tmp_path, "s.yaml", "version: 1\nserver:\n  requirepass: 2024-02-30\n  masteruser: 2024-01-01\n")
    spec = load_spec(p, env={})
    assert spec.server["requirepass"].checked == "2024-02-30"
    assert spec.server["masteruser"].checked == "2024-01-01"

def test_extends_stays_inside_the_spec_repository(tmp_path, capsys):
    (tmp_path / "repo" / ".git").mkdir(parents=True)
    (tmp_path / "repo" / "specs").mkdir()
    write(tmp_path, "repo/base.yaml", "version: 1\nserver:\n  hz: 12\n")
    write(tmp_path, "outside.yaml", "version: 1\nsecret-looking-key: 1\n")
    ok = write(tmp_path, "repo/specs/prod.yaml", "extends: ../base.yaml\n")
    assert load_spec(ok, env={}).server["hz"].checked == 12
    for target in ("/etc/passwd", "../../outside.yaml"):
        bad = write(tmp_path, "repo/specs/bad.yaml", f"extends: {target}\nversion: 1\n")
        rc, out, err = run(capsys, "validate", bad)
        assert rc == 1 and "inside" in err and "secret-looking-key" not in err and "root:" not in err

def test_url_port_zero_is_refused(tmp_path):
    p = write(tmp_path, "s.yaml", 'version: 1\ntarget: {url: "redis://127.0.0.1:0"}\n')
    with pytest.raises(SpecError, match="port"):
        load_spec(p, env={})

def test_a_renamed_command_name_is_never_echoed(tmp_path, capsys):
    p = write(tmp_path, "s.yaml", "version: 1\ncommands:\n  CONFIG: 73519284\n")
    rc, out, err = run(capsys, "validate", p)
    assert rc == 1 and "73519284" not in err

def test_unixsocketperm_is_octal():
    p = P.catalog().lookup("unixsocketperm")
    assert P.desired(p, P.check(p, 770)) == "770"
    assert P.desired(p, P.check(p, "0700")) == "700"
    assert P.canonical_live(p, "770") == "770"
    for bad in (789, 1777, "rwx"):
        with pytest.raises(P.InvalidValue):
            P.check(p, bad)
