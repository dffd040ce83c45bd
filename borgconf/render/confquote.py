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


__all__ = ["conf_quote"]
