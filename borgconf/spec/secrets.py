"""What is a secret, defined once.

A secret is a value borgconf never shows: a sensitive parameter of the catalog
(requirepass, masterauth, the TLS key passphrases), a target's or a user's
password, a renamed command's new name (it is the only thing standing between
a client and the command), a target's config_command when CONFIG is renamed.
Render generates the missing ones, views and errors mask them, plans hold none.
"""

from __future__ import annotations

from .. import params as P

PASSWORD, COMMAND_NAME = "password", "command name"  # the two kinds of secret


def secret_kind(path: tuple) -> str | None:
    """What kind of secret a spec path holds (None: not a secret)."""
    if len(path) == 2 and path[0] == "server":
        p = P.catalog().lookup(str(path[1]))
        return PASSWORD if p is not None and p.sensitive else None
    # a target's own server: block (targets[i].server.NAME, target.server.NAME)
    if (len(path) == 4 and path[0] == "targets" and path[2] == "server") or (len(path) == 3 and path[:2] == ("target", "server")):
        p = P.catalog().lookup(str(path[-1]))
        return PASSWORD if p is not None and p.sensitive else None
    if path in (("target", "password"), ("target", "previous_password")) or (
        len(path) == 3 and path[0] == "targets" and path[2] in ("password", "previous_password")
    ):
        return PASSWORD
    if len(path) == 3 and path[0] == "users" and path[2] == "password":
        return PASSWORD
    if path == ("target", "config_command") or (len(path) == 3 and path[0] == "targets" and path[2] == "config_command"):
        return COMMAND_NAME
    if len(path) == 2 and path[0] == "commands":
        return COMMAND_NAME
    return None


def never_echoed(loc: tuple) -> bool:
    """A validation message about ``loc`` must not quote its value: a secret lives
    there (or below it), or a URL that may carry credentials."""
    return any(secret_kind(tuple(loc[:i])) for i in range(1, len(loc) + 1)) or "url" in loc or "password" in loc


def secret_values(spec) -> list[str]:
    """Every secret value a loaded spec holds (registered with the redactor)."""
    out = [t.password for t in spec.targets if t.password]
    out += [t.previous_password for t in spec.targets if t.previous_password]
    out += [t.config_command for t in spec.targets if t.config_command.upper() != "CONFIG"]
    out += [v.checked for v in spec.server.values() if v.param.sensitive and v.checked]
    out += [v.checked for own in spec.target_server.values() for v in own.values() if v.param.sensitive and v.checked]
    out += [u.password for u in spec.users.values() if u.password]
    out += [new for new in spec.commands.values() if new not in ("disabled", "enabled")]
    return out


def is_secret_directive(name: str) -> bool:
    """A redis.conf directive whose arguments are secrets: the catalog's sensitive
    parameters and any ``*-pass`` (a module's or a future version's passphrase)."""
    if name.endswith("-pass"):
        return True
    p = P.catalog().lookup(name)
    return p is not None and p.sensitive


__all__ = ["PASSWORD", "COMMAND_NAME", "secret_kind", "never_echoed", "secret_values", "is_secret_directive"]
