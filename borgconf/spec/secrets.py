"""What is a secret, defined once.

A secret is a value borgconf never shows: a sensitive parameter of the catalog
(requirepass, masterauth, the TLS key passphrases), a target's or a user's
password, a renamed command's new name (it is the only thing standing between
a client and the command), a target's config_command when CONFIG is renamed.
Render generates the missing ones, views and errors mask them, plans hold none.
"""

from __future__ import annotations

import re

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


def is_secret_value(path: tuple, value) -> bool:
    """``value``, written at ``path`` of the spec's YAML (before validation), is a
    secret: a password, a renamed command's new name (not disabled/enabled), a
    config_command other than CONFIG."""
    if not isinstance(value, str) or not value.strip():
        return False
    kind = secret_kind(tuple(path))
    if kind == COMMAND_NAME:
        from .names import near_on_off

        # a value close to disabled/enabled is refused (a typo), never a new name
        return value.strip().lower() not in ("disabled", "enabled", "config") and near_on_off(value) is None
    return kind is not None


def never_echoed(loc: tuple) -> bool:
    """A validation message about ``loc`` must not quote its value: a secret lives
    there (or below it), or a URL that may carry credentials."""
    return any(secret_kind(tuple(loc[:i])) for i in range(1, len(loc) + 1)) or "url" in loc or "password" in loc


# a variable whose name says it holds a secret: its value is masked everywhere,
# whatever field it lands in
_SECRET_VAR = re.compile(r"PASS|PWD|SECRET|TOKEN|KEY|AUTH|CRED", re.I)


class Concealed:
    """What no validation message may quote, known before validation starts.

    Every value that came from a ``${VAR}`` (the environment is not the spec's
    to show; a variable is often a password put in the wrong field) and every
    value in a secret field, wherever else it is repeated. The secrets among
    them (secret fields, variables used in a secret field or named like a
    secret) are registered with the redactor at once, so that no later line,
    log record or error quotes them either.
    """

    def __init__(self, data, env: dict[str, str], var_paths: dict[tuple, set[str]], failed: set[tuple] = frozenset()):
        from .. import redact
        from .yamlread import walk

        self.var_paths = var_paths
        secrets: set[str] = set()
        for path, _, value in walk(data):
            if path not in failed and is_secret_value(path, value):  # failed: a ${VAR} left as written
                secrets.add(value)
        self.values: set[str] = set(secrets)
        for path, names in var_paths.items():
            for name in names:
                value = env.get(name)
                if not value:
                    continue
                self.values.add(value)
                if secret_kind(path) or _SECRET_VAR.search(name):
                    secrets.add(value)
        for secret in secrets:
            redact.register(secret)

    def variables(self, loc: tuple) -> set[str]:
        """The ``${VAR}`` names whose values are in ``loc`` or below a parent of it."""
        return set().union(*(self.var_paths.get(tuple(loc[:i]), set()) for i in range(1, len(loc) + 1)))

    def at(self, loc: tuple, value=None) -> bool:
        """A message about ``loc`` (holding ``value``) must not quote the value."""
        if never_echoed(tuple(loc)) or self.variables(loc):
            return True
        return isinstance(value, str) and any(v in value for v in self.values)

    def placeholder(self, loc: tuple) -> str:
        names = sorted(self.variables(loc))
        if names:
            return f"the value of ${{{names[0]}}}"
        return "a secret value"

    def message(self, text: str, loc: tuple, value, generic: str) -> str:
        """``text``, a message about ``value`` at ``loc``, without the value;
        ``generic`` when the message would still show a part of it (the
        characters a flag set refused, the number a range check refused)."""
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            shown = str(value)
            text = text.replace(repr(shown), self.placeholder(loc))
            quoted = re.findall(r"'([^']*)'", text)
            numbers = re.findall(r"\d+", text.replace(self.placeholder(loc), ""))
            if any(q and set(q) <= set(shown) for q in quoted) or any(n in shown for n in numbers):
                text = f"{self.placeholder(loc)} is not {generic}"
        return self.mask(text)

    def mask(self, text: str) -> str:
        from .. import redact

        return redact.mask(text, {v for v in self.values if len(v) >= redact.MIN_LENGTH})


def secret_locations(spec):
    """(spec path, value) of every secret a loaded spec holds, the path as the spec's
    YAML spells it (a value may be empty or None: not set)."""
    listed = any(p[:1] == ("targets",) for p in spec.positions)
    for i, t in enumerate(spec.targets):
        at = ("targets", i) if listed else ("target",)
        yield at + ("password",), t.password
        yield at + ("previous_password",), t.previous_password
        if t.config_command.upper() != "CONFIG":
            yield at + ("config_command",), t.config_command
        for v in spec.target_server.get(t.name, {}).values():
            if v.param.sensitive:
                yield at + ("server", v.name_used), v.checked
    for v in spec.server.values():
        if v.param.sensitive:
            yield ("server", v.name_used), v.checked
    for name, u in spec.users.items():
        yield ("users", name, "password"), u.password
    for cmd, new in spec.commands.items():
        if new not in ("disabled", "enabled"):
            yield ("commands", _spelled(spec, cmd)), new


def _spelled(spec, cmd: str) -> str:
    """A command as the spec spells it (commands: keys are upper-cased when loaded)."""
    return next((p[1] for p in spec.positions if len(p) == 2 and p[0] == "commands" and str(p[1]).upper() == cmd), cmd)


def secret_values(spec) -> list[str]:
    """Every secret value a loaded spec holds (registered with the redactor)."""
    return [value for _, value in secret_locations(spec) if value]


def is_secret_directive(name: str) -> bool:
    """A redis.conf directive whose arguments are secrets: the catalog's sensitive
    parameters and any ``*-pass`` (a module's or a future version's passphrase)."""
    if name.endswith("-pass"):
        return True
    p = P.catalog().lookup(name)
    return p is not None and p.sensitive


__all__ = ["PASSWORD", "COMMAND_NAME", "secret_kind", "is_secret_value", "never_echoed", "Concealed", "secret_locations", "secret_values", "is_secret_directive"]
