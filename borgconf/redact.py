"""Keep secrets out of every text borgconf emits.

Secrets are registered as soon as they are known (spec loading, environment,
the password of the target). Every line the CLI prints, every log record and
every error message goes through :func:`redact`, so even a server or library
error that echoes a value cannot leak it. This is the second line of defence:
the first is never to format a secret into a message at all.
"""

from __future__ import annotations

from _thread import allocate_lock
from functools import lru_cache

MASK = "***"

# Replaced whole, never changed in place: the threads of a fleet's read and apply
# register secrets while others mask their output; a set changed in place could
# fail an iteration ("set changed size") or lose one of two secrets added at once.
_secrets: frozenset[str] = frozenset()
_adding = allocate_lock()


# A very short secret masked even as a whole word ("a", "on") would itself
# reveal it; such a secret is still never formatted anywhere, and lint
# weak-secret refuses any secret of the spec shorter than 8 characters.
MIN_LENGTH = 4


def register(value: str | None) -> None:
    global _secrets
    if value and len(value) >= MIN_LENGTH:
        forms = {value}
        # redis-py and URLs may show a percent-encoded form
        from urllib.parse import quote

        try:
            forms.add(quote(value, safe=""))
        except UnicodeEncodeError:  # a lone surrogate (from a YAML escape) has no UTF-8 form to percent-encode
            pass
        with _adding:
            _secrets = _secrets | forms


def clear() -> None:
    global _secrets
    with _adding:
        _secrets = frozenset()


def known() -> frozenset[str]:
    return _secrets


def redact(text: str) -> str:
    return mask(text, _secrets)


def mask(text: str, secrets) -> str:
    """``text`` with every whole occurrence of each of ``secrets`` masked (the
    registered ones, or a set of values a message must not quote).

    A whole occurrence is one that is not part of a longer word: masking
    ``change`` inside ``change(s)``, or ``policy`` inside ``maxmemory-policy``,
    would tell the reader the secret by the word left around the mask. Where a
    secret begins with a letter, digit or ``_``, the character before it must
    not be one (nor ``-``, ``.`` or ``'`` joining it to one: ``maxmemory-``,
    ``redis.``, ``user'``); the same after its end, where ``(s)`` also
    continues the word. A secret's own punctuation bounds it: ``p@ss w/rd`` is
    masked wherever it stands, and ``redis://:SECRET@host``, ``'SECRET'`` and
    ``requirepass=SECRET`` are whole occurrences. Weak secrets, that any
    masking would reveal, are refused before they reach an output (lint
    weak-secret). Longest first, so a secret that contains another is masked
    whole."""
    if not secrets or not text:
        return text
    secrets = frozenset(s for s in secrets if s)
    if not any(s in text for s in secrets):
        # every match holds a secret as it is: a text holding none is returned without
        # compiling the pattern (~0.5 ms; most lines printed hold no secret) (issue 15)
        return text
    pattern = _pattern(secrets)
    return pattern.sub(MASK, text) if pattern is not None else text


# characters that join two words into one ("maxmemory-policy", "redis.conf", "user's")
_JOIN = "-.'\u2019"


@lru_cache(maxsize=64)
def _pattern(secrets: frozenset[str]):
    import re

    if not secrets:
        return None
    alternatives = []
    for secret in sorted(secrets, key=lambda s: (-len(s), s)):
        before = rf"(?<!\w)(?<!\w[{_JOIN}])" if _is_word(secret[0]) else ""
        after = rf"(?!\w)(?![{_JOIN}]\w)(?!\(s\))" if _is_word(secret[-1]) else ""
        alternatives.append(before + re.escape(secret) + after)
    return re.compile("|".join(alternatives))


def _is_word(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


def _redacting_filter() -> type:
    import logging

    class RedactingFilter(logging.Filter):
        def filter(self, record: logging.LogRecord) -> bool:
            message = record.getMessage()
            clean = redact(message)
            if clean != message:
                record.msg, record.args = clean, None
            return True

    RedactingFilter.__module__ = __name__
    return RedactingFilter


def __getattr__(name: str):
    # RedactingFilter is made on first use: only -v logs, and logging costs start-up (issue 15)
    if name == "RedactingFilter":
        cls = globals()["RedactingFilter"] = _redacting_filter()
        return cls
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
