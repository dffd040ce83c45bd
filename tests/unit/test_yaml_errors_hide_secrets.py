"""YAML errors never quote text of the spec (issue 10, group 8): ruamel's
scanner, parser and composer quote the character where they stopped, an alias
or a tag handle -- inside a secret that is a piece of the secret (``found
unknown escape character 'q'``). borgconf says where, and what kind of
mistake, only."""

from __future__ import annotations

import re

import pytest

from cli_helpers import run

# (the value as written after `requirepass: `, the column the error must name, what it must say)
CASES = [
    ('"Xk9\\qWm2Zr7Tp"', 21, "unknown escape sequence"),
    ('"Xk9\\x4GWm2Zr7Tp"', 22, "needs 2 hexadecimal digits"),
    ('"Xk9\\u12ZZWm2Zr7"', 22, "needs 4 hexadecimal digits"),
    ('"Xk9\\U0001F6ZZWm2"', 22, "needs 8 hexadecimal digits"),
    ("*Xk9Wm2Zr7Tp", 16, "an alias (*name) to no anchor"),
    ("!Xk9Wm2 Zr7Tp", 16, "a YAML tag (!name) is not allowed"),
    ("!Xk9!Wm2 Zr7Tp", 16, "an undefined tag handle"),
    ("@Xk9Wm2Zr7Tp", 16, "a character that cannot start a value"),
    ("`Xk9Wm2Zr7Tp", 16, "a character that cannot start a value"),
    ("%Xk9Wm2Zr7Tp", 16, "a character that cannot start a value"),
    ("|Xk9Wm2Zr7Tp", 17, "chomping or indentation indicators"),
    (">-Wm2Zr7Tp", 18, "chomping or indentation indicators"),
    ("!<Xk9 Wm2Zr7>", 21, "expected '>'"),
    ("!<%ffXk9> Wm2Zr7", 18, "the YAML cannot be read here"),
    ("'Xk9'Wm2Zr7Tp'", 21, "expected <block end>, but found '<scalar>'"),
]
# what ruamel may quote of its own: its token kinds and the punctuation it expected
OWN = re.compile(r"'<[a-z ]+>'|'[,\]}>]'")


@pytest.mark.parametrize("value, col, says", CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("field", ["server:\n  requirepass: {}\n", "users:\n  app:\n    password: {}\n", "target:\n  password: {}\n"])
def test_a_yaml_error_inside_a_secret_quotes_none_of_it(tmp_path, capsys, value, col, says, field):
    p = tmp_path / "s.yaml"
    body = field.format(value)
    p.write_text("version: 1\n" + body)
    line = 1 + body.count("\n")
    col += len(body.splitlines()[-1]) - len(f"  requirepass: {value}")  # the same value, indented otherwise
    rc, out, err = run(capsys, "validate", p)
    assert rc == 1 and out == ""
    (first,) = err.splitlines()
    assert first.startswith(f"error: {p}:{line}:{col}: "), first
    assert says in first, first
    message = first.split(f":{line}:{col}: ", 1)[1]
    assert not re.search(r"'[^']*'|\"[^\"]*\"", OWN.sub("", message)), message  # nothing quoted from the spec
    for piece in re.findall(r"[A-Za-z0-9]{3,}", value):
        assert piece not in message, piece


def test_a_raw_control_character_in_a_secret_is_not_named(tmp_path, capsys):
    p = tmp_path / "s.yaml"
    p.write_bytes(b"version: 1\nserver:\n  requirepass: \"Xk9\x1bWm2Zr7Tp\"\n")
    rc, out, err = run(capsys, "validate", p)
    assert rc == 1
    assert f"error: {p}:3:20: a control character is not allowed in YAML text" in err, err
    assert "x1b" not in err and "Xk9" not in err and "\x1b" not in err


def test_the_tab_and_unquoted_variable_hints_stay(tmp_path, capsys):
    """Layout mistakes keep their hints: a tab is not text of a value, nor is a { token."""
    p = tmp_path / "s.yaml"
    p.write_text("version: 1\nserver:\n\thz: 5\n")
    rc, out, err = run(capsys, "validate", p)
    assert rc == 1 and "(indent with spaces, not tabs)" in err, err
    p.write_text("version: 1\nserver: {requirepass: ${PW}}\n")
    rc, out, err = run(capsys, "validate", p)
    assert rc == 1 and "expected ',' or '}', but got '{'" in err and 'a variable needs quotes: "${VAR}"' in err, err
