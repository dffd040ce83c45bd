"""The ``.env`` file: values quoted so that docker compose and python-dotenv
read back exactly what was written, and re-rendering that keeps what borgconf
does not manage.

Quoting rule (the first form that fits is used):

1. ``A-Z a-z 0-9 _ . , : / @ % + = -`` only (URLs with a percent-encoded
   password, host names, numbers): unquoted.
2. no ``'``, no ``${``, no ``\\\\`` pair and no trailing ``\\``: single quotes.
   docker compose takes single-quoted text literally (``$`` included);
   python-dotenv only decodes ``\\\\`` and ``\\'`` there and expands ``${...}``
   even in single quotes, hence the exclusions.
3. no trailing ``\\`` and every ``$`` followed by a character that cannot
   start a variable (not a letter, digit, ``_``, ``{`` or ``$``): double
   quotes, with ``\\`` written ``\\\\`` and ``"`` written ``\\"`` (both
   parsers decode exactly these two; compose would expand ``$NAME`` and
   python-dotenv does not understand compose's ``$$``, so no escape for
   ``$`` works in both).
4. anything else (a ``'`` together with ``$NAME``, a ``${``, a trailing
   backslash, a newline) cannot be written so that both read it back: it is
   refused with an error naming the variable, never its value.

Older docker compose v2 releases take ``\\'`` inside single quotes literally
and newer ones decode it, so ``\\'`` is never used.
"""

from __future__ import annotations

import io
import re

from ..errors import RenderError
from ..records import field, record
from ..spec.names import has_line_break

_PLAIN = re.compile(r"^[A-Za-z0-9_.,:/@%+=-]+$")
_NAME = re.compile(r"^(?:export[ \t]+)?([A-Za-z_][A-Za-z0-9_]*)[ \t]*=")
_DOLLAR_STARTS_VARIABLE = re.compile(r"\$(?:[A-Za-z0-9_{$]|$)")
_LINE_BREAK = re.compile(r"\r\n|\n|\r")  # python-dotenv's own (parser.py _newline); never str.splitlines()


class Unquotable(RenderError):
    """A value that docker compose and python-dotenv would not read back alike."""


def quote(name: str, value: str) -> str:
    """``value`` as it is written after ``NAME=`` (see the module docstring)."""
    if has_line_break(value):
        raise Unquotable(
            f"{name}: its value holds a line break (newline, carriage return, \\v, \\f, \\x85, U+2028, U+2029, ...) "
            "or a NUL, which cannot be written to a .env file"
        )
    if _PLAIN.fullmatch(value):
        return value
    trailing_backslash = value.endswith("\\")
    if "'" not in value and "${" not in value and "\\\\" not in value and not trailing_backslash:
        return f"'{value}'"
    if not trailing_backslash and not _DOLLAR_STARTS_VARIABLE.search(value):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    raise Unquotable(
        f"{name}: its value cannot be written to .env so that both docker compose and "
        "python-dotenv read it back exactly (it combines a ' or a backslash with a $ that starts "
        "a variable name, holds ${, or ends with a backslash); choose a value without them"
    )


def line(name: str, value: str) -> str:
    return f"{name}={quote(name, value)}"


# ---------------------------------------------------------------- reading


@record
class Existing:
    """An existing .env: its text in pieces (one per statement, comments and
    blank lines included, concatenating to the file) and its values."""

    pieces: list[str] = field(default_factory=list)
    keys: list[str | None] = field(default_factory=list)  # the variable each piece sets
    values: dict[str, str] = field(default_factory=dict)  # as python-dotenv reads the file

    @property
    def text(self) -> str:
        return "".join(self.pieces)


def read(text: str) -> Existing:
    """Split ``text`` with python-dotenv's own parser (never a second one)."""
    from dotenv import dotenv_values
    from dotenv.parser import parse_stream

    out = Existing()
    for binding in parse_stream(io.StringIO(text)):
        out.pieces.append(binding.original.string)
        out.keys.append(binding.key if not binding.error else None)
    values = dotenv_values(stream=io.StringIO(text))
    out.values = {k: v for k, v in values.items() if v is not None}
    return out


# ---------------------------------------------------------------- merging


@record
class Block:
    """Comment lines and the assignments after them, as the template rendered them."""

    comments: list[str]
    assignments: list[tuple[str, str]]  # (name, the whole line)


def blocks(rendered: str) -> list[Block]:
    """The template's output split on blank lines (a block of comments only, like
    the header, has no assignments)."""
    out: list[Block] = []
    current: Block | None = None
    for raw in _LINE_BREAK.split(rendered):
        text = raw.rstrip()
        if not text:
            current = None
            continue
        if current is None:
            current = Block([], [])
            out.append(current)
        m = _NAME.match(text)
        if m is None:
            current.comments.append(text)
        else:
            current.assignments.append((m.group(1), text))
    return out


def merge(existing: Existing | None, rendered: str, values: dict[str, str], keep: set[str]) -> str:
    """The new .env text.

    ``rendered`` is the template's output (a fresh file), ``values`` the value of
    each variable it sets. Without an existing file the output is ``rendered``.
    Otherwise the existing file stays as it is, except that a variable whose
    value changed gets its line replaced in place (the last one, which is the
    one both parsers use); ``keep`` names variables never rewritten (existing
    secrets). Variables that are new are appended, with their block's comments
    when the whole block is new.
    """
    if existing is None or not existing.text.strip():
        return rendered
    pieces = list(existing.pieces)
    last_index = {k: i for i, k in enumerate(existing.keys) if k is not None}
    appended: list[str] = []
    for block in blocks(rendered):
        new_lines = []
        for name, text in block.assignments:
            if name in last_index:
                if name in keep or existing.values.get(name) == values.get(name):
                    continue
                i = last_index[name]
                body = pieces[i].lstrip()  # python-dotenv puts the blank lines before a statement into it
                leading = pieces[i][: len(pieces[i]) - len(body)]
                ending = body[len(body.rstrip("\r\n")) :] or "\n"
                export = "export " if re.match(r"export[ \t]", body) else ""
                pieces[i] = leading + export + text + ending
            else:
                new_lines.append(text)
        if new_lines:
            whole_block_new = len(new_lines) == len(block.assignments)
            appended.append("\n".join((block.comments if whole_block_new else []) + new_lines))
    text = "".join(pieces)
    if appended:
        if not text.endswith("\n"):
            text += "\n"
        text += "\n" + "\n\n".join(appended) + "\n"
    return text


def check_reads_back(text: str, values: dict[str, str], existing: Existing | None, keep: set[str]) -> None:
    """python-dotenv reads ``text`` as exactly the variables meant: each rendered
    variable with its value (a kept secret with the value it had), the existing
    file's other variables unchanged, and nothing else. Names only in the error:
    values are secrets."""
    got = read(text).values
    old = existing.values if existing is not None else {}
    want = {**old, **{k: v for k, v in values.items() if not (k in keep and k in old)}}
    if got != want:
        wrong = sorted({k for k in set(got) | set(want) if got.get(k) != want.get(k)})
        raise RenderError(f".env would not read back as the variables meant ({', '.join(wrong)}); refusing to write it")


__all__ = ["quote", "line", "read", "merge", "check_reads_back", "Existing", "Unquotable"]
