"""Name rules of a spec, in one place: what a service, an environment variable,
an ACL user, a command, a target may be called, and what no value may hold.

The patterns are strings (pydantic's ``Field(pattern=...)`` takes them) and
compiled regexes (the domain checks use them).
"""

from __future__ import annotations

import re

TARGET_NAME_PATTERN = r"^[A-Za-z0-9_.:-]{1,64}$"
SERVICE_NAME_PATTERN = r"^[a-z][a-z0-9_-]{0,62}$"
ENV_NAME_PATTERN = r"^[A-Z_][A-Z0-9_]{0,127}$"
USER_NAME_PATTERN = r"^[A-Za-z0-9_][A-Za-z0-9_.@-]{0,63}$"
COMMAND_NAME_PATTERN = r"^[A-Za-z][A-Za-z0-9_-]{0,63}$"
COMMAND_NEW_NAME_PATTERN = r"^[A-Za-z0-9_-]{1,128}$"  # what rename-command may rename to
SENTINEL_MASTER_PATTERN = r"^[A-Za-z0-9_.-]{1,128}$"
HOST_PATTERN = r"^[A-Za-z0-9_.:\[\]-]{1,253}$"

VAR_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")  # ${VAR}
SERVICE_NAME = re.compile(SERVICE_NAME_PATTERN)
ENV_NAME = re.compile(ENV_NAME_PATTERN)
USER_NAME = re.compile(USER_NAME_PATTERN)
COMMAND_NAME = re.compile(COMMAND_NAME_PATTERN)
COMMAND_NEW_NAME = re.compile(COMMAND_NEW_NAME_PATTERN)

# Spec values are single-line text: none of these anywhere. "\n" and "\r" end a
# line for every reader (Redis splits its config on "\n"; python-dotenv on
# "\r\n", "\n" and "\r"); NUL ends a C string; the others are what Python's
# str.splitlines() (and so any Python tool reading the files line by line)
# treats as line breaks: \v \f \x1c \x1d \x1e \x85 U+2028 U+2029.
LINE_BREAKS = "\n\r\x00\v\f\x1c\x1d\x1e\x85\u2028\u2029"


def has_line_break(text: str) -> bool:
    """A line break of any reader (see LINE_BREAKS) or a NUL: what no spec value,
    key or variable may hold."""
    return any(c in text for c in LINE_BREAKS)


def comment_text(text: str) -> str:
    """``text`` made safe inside a ``# ...`` comment line of redis.conf or .env:
    every character that is not printable (line breaks of any reader, control
    characters) written as a Python escape, so that nothing outside the spec's
    values (its file name) can end the comment and start a directive."""
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)


# what an operator may write for "disabled" / "enabled": refused, never taken as a new name
ON_OFF_WORDS = {
    "disable": "disabled", "off": "disabled", "no": "disabled", "none": "disabled", "false": "disabled", "deny": "disabled",
    "denied": "disabled", "remove": "disabled", "removed": "disabled", "delete": "disabled", "deleted": "disabled",
    "block": "disabled", "blocked": "disabled", "null": "disabled", "nil": "disabled", "disallow": "disabled", "disallowed": "disabled",
    "enable": "enabled", "on": "enabled", "yes": "enabled", "true": "enabled", "allow": "enabled", "allowed": "enabled", "keep": "enabled",
}


def near_on_off(value: str) -> str | None:
    """"disabled" or "enabled" when ``value`` is not exactly one of them (any case)
    but close to one: a typo, a synonym, surrounding spaces. Such a value under
    commands: is refused, never a new name (so it is no secret either)."""
    word = value.strip().lower()
    if value.lower() in ("disabled", "enabled"):
        return None
    if word in ("disabled", "enabled"):
        return word
    if word in ON_OFF_WORDS:
        return ON_OFF_WORDS[word]
    # difflib's ratio is never above its quick_ratio (the letters both share, as a
    # multiset): a new name that shares too few letters with either word is no
    # typo, and validate of a valid spec does not import difflib for it (issue 15)
    from collections import Counter

    if all(2 * sum((Counter(word) & Counter(w)).values()) / (len(word) + len(w)) < 0.75 for w in ("disabled", "enabled")):
        return None
    import difflib

    close = difflib.get_close_matches(word, ["disabled", "enabled"], n=1, cutoff=0.75)
    return close[0] if close else None


def env_prefix(service: str) -> str:
    """The .env prefix of a service's variables: ``my-app`` -> ``MY_APP`` (``MY_APP_REDIS_URL``)."""
    return re.sub(r"[^A-Z0-9_]", "_", service.upper())


__all__ = [
    "TARGET_NAME_PATTERN", "SERVICE_NAME_PATTERN", "ENV_NAME_PATTERN", "USER_NAME_PATTERN", "COMMAND_NAME_PATTERN",
    "COMMAND_NEW_NAME_PATTERN", "SENTINEL_MASTER_PATTERN", "HOST_PATTERN", "VAR_NAME", "SERVICE_NAME", "ENV_NAME",
    "USER_NAME", "COMMAND_NAME", "COMMAND_NEW_NAME", "LINE_BREAKS", "has_line_break", "comment_text", "ON_OFF_WORDS", "near_on_off",
    "env_prefix",
]
