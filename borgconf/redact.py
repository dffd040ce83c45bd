"""Keep secrets out of every text borgconf emits.

Secrets are registered as soon as they are known (spec loading, environment,
the password of the target). Every line the CLI prints, every log record and
every error message goes through :func:`redact`, so even a server or library
error that echoes a value cannot leak it. This is the second line of defence:
the first is never to format a secret into a message at all.
"""

from __future__ import annotations

MASK = "***"

_secrets: set[str] = set()


# Masking a very short secret inside ordinary words would itself reveal it
# ("removes the ***sswords"); such a secret is still never formatted anywhere.
MIN_LENGTH = 4


def register(value: str | None) -> None:
    if value and len(value) >= MIN_LENGTH:
        _secrets.add(value)
        # redis-py and URLs may show a percent-encoded form
        from urllib.parse import quote

        try:
            _secrets.add(quote(value, safe=""))
        except UnicodeEncodeError:  # a lone surrogate (from a YAML escape) has no UTF-8 form to percent-encode
            pass


def clear() -> None:
    _secrets.clear()


def known() -> frozenset[str]:
    return frozenset(_secrets)


def redact(text: str) -> str:
    return mask(text, _secrets)


def mask(text: str, secrets) -> str:
    """``text`` with every occurrence of each of ``secrets`` masked (the
    registered ones, or a set of values a message must not quote)."""
    if not secrets or not text:
        return text
    # longest first, so a secret that contains another is masked whole
    for secret in sorted(secrets, key=len, reverse=True):
        if secret and secret in text:
            text = text.replace(secret, MASK)
    return text


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
