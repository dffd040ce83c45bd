"""Quoting one redis.conf argument the way Redis's config parser reads it back
(used by the conf directives and, as the ``conf_quote`` filter, by the templates)."""

from __future__ import annotations

import re

_BARE = re.compile(r"^[A-Za-z0-9_.,:/@%+=*!?<>()\[\]{}|&~^-]+$")
_C_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t", "\a": "\\a", "\b": "\\b"}


def conf_quote(arg: str, *, always: bool = False) -> str:
    """One redis.conf argument as Redis's config parser (sdssplitargs) reads it.

    Plain words stay bare; anything else (spaces, quotes, ``#``, ``$``, an empty
    value, control characters) goes in double quotes, where the parser decodes
    ``\\\\ \\" \\n \\r \\t \\a \\b`` and ``\\xHH``.
    """
    if not always and _BARE.fullmatch(arg):
        return arg
    out = []
    for ch in arg:
        if ch in _C_ESCAPES:
            out.append(_C_ESCAPES[ch])
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\x{ord(ch):02x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


# ---------------------------------------------------------------- reading back, as Redis reads


_C_DECODE = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "a": "\a"}
_HEX = "0123456789abcdefABCDEF"
_ISSPACE = " \t\n\r\v\f"  # C isspace() in the C locale (Redis reads bytes)
_BARE_END = " \n\r\t"  # an unquoted argument ends only at these (sdssplitargs' switch)


def split_args(line: str) -> list[str] | None:
    """Redis's sds.c ``sdssplitargs`` on one config line: the decoded arguments,
    or None where Redis refuses the line ("Unbalanced quotes"). A quote opens
    anywhere in an unquoted argument; a closing quote must be followed by a
    space or the end; a NUL ends the line (a C string)."""
    line = line.split("\x00", 1)[0]
    out: list[str] = []
    i, n = 0, len(line)
    while True:
        while i < n and line[i] in _ISSPACE:
            i += 1
        if i >= n:
            return out
        cur: list[str] = []
        inq = insq = False
        while True:
            c = line[i] if i < n else ""
            if inq:
                if c == "\\" and i + 3 < n and line[i + 1] == "x" and line[i + 2] in _HEX and line[i + 3] in _HEX:
                    cur.append(chr(int(line[i + 2 : i + 4], 16)))
                    i += 3
                elif c == "\\" and i + 1 < n:
                    i += 1
                    cur.append(_C_DECODE.get(line[i], line[i]))
                elif c == '"':
                    if i + 1 < n and line[i + 1] not in _ISSPACE:
                        return None
                    i += 1
                    break
                elif not c:
                    return None
                else:
                    cur.append(c)
            elif insq:
                if c == "\\" and i + 1 < n and line[i + 1] == "'":
                    i += 1
                    cur.append("'")
                elif c == "'":
                    if i + 1 < n and line[i + 1] not in _ISSPACE:
                        return None
                    i += 1
                    break
                elif not c:
                    return None
                else:
                    cur.append(c)
            else:
                if not c or c in _BARE_END:
                    break
                if c == '"':
                    inq = True
                elif c == "'":
                    insq = True
                else:
                    cur.append(c)
            i += 1
        out.append("".join(cur))


def config_directives(text: str) -> list[list[str]] | None:
    """A whole redis.conf as config.c's loadServerConfigFromString reads it:
    split on "\\n" only (sdssplitlen), each line trimmed of " \\t\\r\\n",
    comments and blank lines skipped, the rest split by :func:`split_args`.
    None when Redis would refuse a line's quoting."""
    out = []
    for line in text.split("\n"):
        line = line.strip(" \t\r\n")
        if not line or line.startswith("#"):
            continue
        args = split_args(line)
        if args is None:
            return None
        if args:
            out.append(args)
    return out


__all__ = ["conf_quote", "split_args", "config_directives"]
