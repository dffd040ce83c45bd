"""Redis's config-line tokenizer (sds.c ``sdssplitargs``), written independently
of borgconf, to check that a rendered redis.conf line reads back as exactly the
arguments meant (a value cannot start another directive)."""

from __future__ import annotations

_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "a": "\a"}
_HEX = "0123456789abcdefABCDEF"
_SPACE = " \t\n\r\v\f"  # C isspace() in the C locale: Redis reads bytes, not Unicode
_BARE_END = " \n\r\t"  # sds.c: an unquoted argument ends only at these (its switch), not at \v or \f


class Unbalanced(ValueError):
    """sdssplitargs returns NULL: Redis refuses the whole config file."""


def split_args(line: str) -> list[str]:
    line = line.split("\x00", 1)[0]  # a C string
    args: list[str] = []
    i, n = 0, len(line)
    while True:
        while i < n and line[i] in _SPACE:
            i += 1
        if i >= n:
            return args
        cur, in_dq, in_sq = "", False, False
        while True:
            if in_dq:
                if i >= n:
                    raise Unbalanced(f"unterminated double quotes: {line!r}")
                c = line[i]
                if c == "\\" and i + 3 < n and line[i + 1] == "x" and line[i + 2] in _HEX and line[i + 3] in _HEX:
                    cur += chr(int(line[i + 2 : i + 4], 16))
                    i += 3
                elif c == "\\" and i + 1 < n:
                    cur += _ESCAPES.get(line[i + 1], line[i + 1])
                    i += 1
                elif c == '"':
                    if i + 1 < n and not line[i + 1] in _SPACE:
                        raise Unbalanced(f"closing quote must be followed by a space: {line!r}")
                    i += 1
                    break
                else:
                    cur += c
            elif in_sq:
                if i >= n:
                    raise Unbalanced(f"unterminated single quotes: {line!r}")
                c = line[i]
                if c == "\\" and i + 1 < n and line[i + 1] == "'":
                    cur += "'"
                    i += 1
                elif c == "'":
                    if i + 1 < n and not line[i + 1] in _SPACE:
                        raise Unbalanced(f"closing quote must be followed by a space: {line!r}")
                    i += 1
                    break
                else:
                    cur += c
            else:
                if i >= n or line[i] in _BARE_END:
                    break
                c = line[i]
                if c == '"':  # sds.c opens a quote anywhere in an argument: ab"c d" is abc d
                    in_dq = True
                elif c == "'":
                    in_sq = True
                else:
                    cur += c
            i += 1
        args.append(cur)


def directives(conf: str) -> list[list[str]]:
    """The argument lists of every directive line (comments and blank lines skipped, as Redis does)."""
    out = []
    for line in conf.split("\n"):  # Redis splits on \n only (str.splitlines would split on \x85, \u2028...)
        stripped = line.strip(" \t\r\n")
        if stripped and not stripped.startswith("#"):
            out.append(split_args(stripped))
    return out
