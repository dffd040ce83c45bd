""".env quoting and merging (borgconf/render/envfile.py): what python-dotenv and docker
compose read back is exactly what was written, and re-rendering keeps the rest.

python-dotenv is the real library. docker compose cannot run here, so
``compose_read`` is a small model of compose-go v2's dotenv parser
(``dotenv/parser.go``), in both shapes its releases have had for quoted
values: the older one keeps single-quoted text raw and ends a quoted value at
the first quote not preceded by a backslash; the newer one counts
backslashes, decodes ``\\'`` in single quotes and keeps other pairs. Every
value borgconf writes must read back the same under both.
"""

from __future__ import annotations

import io
import re

import pytest
from dotenv import dotenv_values
from hypothesis import given, settings
from hypothesis import strategies as st

from borgconf.render import envfile

# ---------------------------------------------------------------- a compose-go model

_ESCAPES = re.compile(r"\\(?:[abcfnrtv$\"\\]|0[0-7]{3})")
_DECODE = {"a": "\a", "b": "\b", "c": "c", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v", '"': '"', "\\": "\\"}
_SUBST = re.compile(r"\$(?:(\$)|([A-Za-z_][A-Za-z0-9_]*)|\{([^}]*)\})")


def _interpolate(text: str, env: dict[str, str]) -> str:
    def sub(m: re.Match) -> str:
        if m.group(1):
            return "$"
        name = m.group(2) or m.group(3)
        if m.group(3) is not None and ":-" in name:
            name, default = name.split(":-", 1)
            return env.get(name) or default
        return env.get(name, "")

    return _SUBST.sub(sub, text)


def _expand_escapes(text: str) -> str:
    def sub(m: re.Match) -> str:
        s = m.group(0)
        if s == "\\$":
            return "$$"
        if s.startswith("\\0"):
            return chr(int(s[2:], 8))
        return _DECODE[s[1]]

    return _ESCAPES.sub(sub, text)


def compose_read(text: str, *, newer: bool) -> dict[str, str]:
    out: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, _, rest = line.partition("=")
        key = key.removeprefix("export ").strip()
        rest = rest.lstrip(" \t")
        if not rest or rest[0] not in "'\"":
            value = rest.split(" #", 1)[0].rstrip()
            out[key] = _interpolate(value, out)
            continue
        q = rest[0]
        i, chars, escaped = 1, [], False
        while True:
            assert i < len(rest), f"unterminated quoted value: {raw!r}"
            c = rest[i]
            if newer:
                if c != q:
                    if not escaped and c == "\\":
                        escaped = True
                    else:
                        if escaped:
                            chars.append("\\")
                            escaped = False
                        chars.append(c)
                    i += 1
                    continue
                if escaped:
                    if q == "'":
                        chars.append(c)
                    else:
                        chars.append("\\" + c)
                    escaped = False
                    i += 1
                    continue
                value = "".join(chars)
                break
            if c == q and rest[i - 1] != "\\":
                value = rest[1:i]
                break
            i += 1
        if q == '"':
            value = _interpolate(_expand_escapes(value), out)
        out[key] = value
        tail = rest[i + 1 :].strip()
        assert not tail or tail.startswith("#"), f"junk after the value: {raw!r}"
    return out


def read_back(name: str, value: str) -> tuple[str | None, str, str]:
    text = f"# a comment\n{envfile.line(name, value)}\nAFTER=1\n"
    dot = dotenv_values(stream=io.StringIO(text))
    assert dot["AFTER"] == "1"
    return dot[name], compose_read(text, newer=False)[name], compose_read(text, newer=True)[name]


# ---------------------------------------------------------------- quoting

PASSWORDS = [
    "plain",
    "dollar$sign",
    "cost 5$",
    "hash#tag",
    "at@sign",
    "co:lon",
    "sla/sh",
    "per%25cent",
    "it's",
    'say "hi"',
    "with space",
    "back\\slash",
    "",
    " leading and trailing ",
    # every character of the list at once ($ before a space: not a variable)
    "p@ss:w/rd%20#1 'x' \"y\" $ \\z",
    "$'\"",
    "a$#@:/%\\b c",
    "ünïcødé ✓",
    "=starts-with-equals",
    "#not-a-comment",
    "'quoted'",
    '"double"',
]


@pytest.mark.parametrize("value", PASSWORDS)
def test_python_dotenv_and_compose_read_back_what_was_written(value):
    assert read_back("REDIS_PASSWORD", value) == (value, value, value)


@pytest.mark.parametrize(
    "value, form",
    [
        ("redis://:abc%24@redis:6379/2", "redis://:abc%24@redis:6379/2"),
        ("6379", "6379"),
        ("a b", "'a b'"),
        ("a$b", "'a$b'"),
        ("it's", '"it\'s"'),
        ('a\\"b', "'a\\\"b'"),
        ("", "''"),
    ],
)
def test_the_form_chosen(value, form):
    assert envfile.quote("X", value) == form


@pytest.mark.parametrize(
    "value",
    ["it's $HOME", "a${B}", "ends with \\", "two\\\\slashes $x", "new\nline", "nul\x00", "cr\r"],
)
def test_values_no_quoting_reads_back_alike_are_refused_without_showing_them(value):
    with pytest.raises(envfile.Unquotable) as exc:
        envfile.quote("SECRET_VAR", value)
    assert "SECRET_VAR" in str(exc.value)
    if len(value) > 3:
        assert value not in str(exc.value)


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab $#@:/%'\"\\{}=_-xé")), max_size=12))
def test_any_value_either_reads_back_exactly_or_is_refused(value):
    try:
        envfile.quote("V", value)
    except envfile.Unquotable:
        # only values no quoting form can carry are refused: a single quote together
        # with a $ or backslash trouble, or a line break / NUL
        assert any(c in value for c in "'$\\\n\r\x00"), f"{value!r} was refused though single quotes carry it"
        return
    assert read_back("V", value) == (value, value, value)


# ---------------------------------------------------------------- merging

RENDERED = """# header comment
# second header line

# Secrets
REDIS_PASSWORD=new-generated

# n8n: database 0
N8N_REDIS_URL=redis://:pw@redis:6379/0
QUEUE_BULL_REDIS_DB=0

# lowcoder: database 3
LOWCODER_REDIS_URL=redis://:pw@redis:6379/3
"""
VALUES = {
    "REDIS_PASSWORD": "new-generated",
    "N8N_REDIS_URL": "redis://:pw@redis:6379/0",
    "QUEUE_BULL_REDIS_DB": "0",
    "LOWCODER_REDIS_URL": "redis://:pw@redis:6379/3",
}


def test_without_an_existing_file_the_output_is_the_template():
    assert envfile.merge(None, RENDERED, VALUES, set()) == RENDERED
    assert envfile.merge(envfile.read(""), RENDERED, VALUES, set()) == RENDERED


def test_merge_keeps_other_variables_comments_and_secrets():
    existing = (
        "# my own notes\n"
        "TZ=Europe/Berlin\n"
        "REDIS_PASSWORD='kept secret'   # an inline comment\n"
        "\n"
        "export N8N_REDIS_URL=redis://:pw@redis:6379/7\n"
        "QUEUE_BULL_REDIS_DB=0\n"
        "N8N_ENCRYPTION_KEY=\"x y\"\n"
    )
    merged = envfile.merge(envfile.read(existing), RENDERED, VALUES, keep={"REDIS_PASSWORD"})
    assert merged.startswith(
        "# my own notes\n"
        "TZ=Europe/Berlin\n"
        "REDIS_PASSWORD='kept secret'   # an inline comment\n"
        "\n"
        "export N8N_REDIS_URL=redis://:pw@redis:6379/0\n"  # changed: replaced in place
        "QUEUE_BULL_REDIS_DB=0\n"  # same value: untouched
        "N8N_ENCRYPTION_KEY=\"x y\"\n"
    )
    # the block that is entirely new comes with its comment
    assert merged.endswith("\n\n# lowcoder: database 3\nLOWCODER_REDIS_URL=redis://:pw@redis:6379/3\n")
    values = dotenv_values(stream=io.StringIO(merged))
    assert values["REDIS_PASSWORD"] == "kept secret"
    assert values["TZ"] == "Europe/Berlin" and values["N8N_ENCRYPTION_KEY"] == "x y"
    # merging again changes nothing
    assert envfile.merge(envfile.read(merged), RENDERED, VALUES, keep={"REDIS_PASSWORD"}) == merged


def test_merge_replaces_the_last_of_duplicate_lines_and_keeps_a_missing_newline():
    existing = "QUEUE_BULL_REDIS_DB=5\nQUEUE_BULL_REDIS_DB=6"
    merged = envfile.merge(envfile.read(existing), RENDERED, VALUES, set())
    assert merged.startswith("QUEUE_BULL_REDIS_DB=5\nQUEUE_BULL_REDIS_DB=0\n")
    assert dotenv_values(stream=io.StringIO(merged))["QUEUE_BULL_REDIS_DB"] == "0"


def test_read_splits_with_python_dotenv_and_reassembles_the_file():
    text = "A=1\n# c\n\nB='two\nlines'\nnot a binding\nC=\"3\"\n"
    existing = envfile.read(text)
    assert existing.text == text
    assert existing.values == {"A": "1", "B": "two\nlines", "C": "3"}
