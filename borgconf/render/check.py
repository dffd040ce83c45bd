"""``render --check``: what would change, with no secret in it: redis.conf as a
unified diff (difflib) with every secret argument masked, a .env as the
names of the variables that change."""

from __future__ import annotations

from .. import redact
from ..spec.secrets import is_secret_directive
from . import envfile

# ---------------------------------------------------------------- --check diffs without secrets

_ACL_SECRET_PREFIXES = (">", "<", "#", "!")  # user ... >password <password #sha256 !sha256


def _conf_tokens(text: str) -> list[str] | None:
    """The arguments of a redis.conf line as written (quotes kept), split the
    way Redis's sdssplitargs splits them; None when the quoting is unbalanced."""
    out, i, n = [], 0, len(text)
    while True:
        while i < n and text[i] in " \t\n\r\v\f":
            i += 1
        if i >= n:
            return out
        start = i
        if text[i] in "\"'":
            quote, i = text[i], i + 1
            while i < n and text[i] != quote:
                # "...": \\ escapes any character; '...': only \\'
                i += 2 if text[i] == "\\" and (quote == '"' or text[i + 1 : i + 2] == "'") else 1
            if i >= n:
                return None
            i += 1
            if i < n and text[i] not in " \t\n\r\v\f":
                return None  # sdssplitargs: a closing quote must be followed by a space
        else:
            while i < n and text[i] not in " \t\n\r\v\f":
                i += 1
        out.append(text[start:i])


def _unquoted(token: str) -> str:
    return token[1:-1] if len(token) >= 2 and token[0] == token[-1] and token[0] in "\"'" else token


def mask_conf_line(line: str) -> str:
    """A redis.conf line with every secret argument replaced by ``***``:
    requirepass, masterauth, primaryauth, any ``*-pass`` (``sentinel auth-pass``
    too), ``user`` passwords and hashes, and the new names of rename-command."""
    body = line.lstrip()
    if not body:
        return line
    indent = line[: len(line) - len(body)]
    if body.startswith("#"):  # a commented-out directive may still hold a secret: "# requirepass old"
        directive = body.lstrip("# \t")
        return indent + body[: len(body) - len(directive)] + mask_conf_line(directive) if directive else line
    tokens = _conf_tokens(body)
    name = _unquoted(body.split(None, 1)[0]).lower()
    mask = redact.MASK
    if tokens is None:  # unbalanced quotes: keep only what cannot be a secret
        if name == "user":
            words = body.split(None, 2)
            return indent + " ".join(words[:2] + ([mask] if len(words) > 2 else []))
        if is_secret_directive(name) or name in ("rename-command", "sentinel") or "-pass" in body.lower():
            return indent + body.split(None, 1)[0] + " " + mask
        return line
    if not tokens:
        return line
    if is_secret_directive(name):
        return indent + " ".join([tokens[0]] + ([mask] if len(tokens) > 1 else []))
    out = list(tokens)
    if name == "user":
        for i in range(2, len(out)):
            arg = _unquoted(out[i])
            if arg.startswith(_ACL_SECRET_PREFIXES):
                out[i] = arg[0] + mask
    elif name == "rename-command":
        for i in range(2, len(out)):
            if _unquoted(out[i]) != "":  # "" (disabled) is no secret
                out[i] = mask
    for i in range(1, len(out)):  # sentinel auth-pass <master> <password>, and any other *-pass argument
        if _unquoted(out[i]).lower().endswith("-pass"):
            out[i + 1 :] = [mask] if i + 1 < len(out) else []
            break
    return indent + " ".join(out)


FOREIGN_LINE = "(a line borgconf does not write; not shown)"


def shown_conf_line(line: str, ours: set[str]) -> str:
    """How --check shows one line of a redis.conf diff: masked
    (:func:`mask_conf_line`) when borgconf writes such a line (it is in the new
    rendering, or it is a directive of a parameter, ``user`` or
    ``rename-command``), else not at all. The existing file may be anything
    (``render.redis_conf`` pointed at a file borgconf did not render): its
    other lines never reach the output."""
    if not line.strip() or line in ours:
        return mask_conf_line(line)
    body = line.strip()
    tokens = _conf_tokens(body)
    if body.startswith("#") or not tokens:
        return FOREIGN_LINE
    from .. import params as P

    name = _unquoted(tokens[0]).lower()
    if name in ("user", "rename-command") or P.catalog().lookup(name) is not None:
        return mask_conf_line(line)
    return FOREIGN_LINE


def masked_unified_diff(before: list[str], after: list[str], fromfile: str, tofile: str, show) -> list[str]:
    """difflib's unified diff of the real lines, each line printed through ``show``
    (a masking function): a line whose only change is a secret shows as
    changed, with the secret masked on both sides."""
    import difflib

    out = []
    for i, line in enumerate(difflib.unified_diff(before, after, fromfile, tofile, lineterm="")):
        if i < 2 or line.startswith("@@"):  # the file names, the hunk ranges
            out.append(line)
        else:
            out.append(line[0] + show(line[1:]))
    return out


def env_changes(before: str | None, after: str) -> list[str]:
    """What --check says about a .env: the NAMES of the variables that would be
    added, changed or removed. No value (the file holds other applications'
    secrets too, and an old secret may still be live) and no context lines."""
    old = envfile.read(before).values if before else {}
    new = envfile.read(after).values
    out = [f"+ {name} (added)" for name in new if name not in old]
    out += [f"~ {name} (changed)" for name in new if name in old and old[name] != new[name]]
    out += [f"- {name} (removed)" for name in old if name not in new]
    if not out and (before or "") != after:
        out.append("  (comments or layout only; no variable changes)")
    return ["variables (names only; values are never shown):", *out] if out else []
