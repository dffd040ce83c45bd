"""Secrets at render time: which ``${VAR}``s feed one (what a secret is, is
defined once in spec.secrets), how a missing one is generated, and where an
existing one is kept from (never rotated)."""

from __future__ import annotations

import secrets as _secrets
from pathlib import Path

from .. import redact
from ..errors import RenderError
from ..records import record
from ..spec.secrets import COMMAND_NAME, PASSWORD, secret_kind
from .templates import GENERATED_PASSWORD_BYTES

# ---------------------------------------------------------------- secrets before the spec loads


def secret_variables(refs: dict[tuple, dict[str, str | None]]) -> dict[str, tuple[str, bool]]:
    """``${VAR}``s that feed a secret: name -> (kind, has a default everywhere)."""
    out: dict[str, tuple[str, bool]] = {}
    for path, names in refs.items():
        kind = secret_kind(path)
        if kind is None:
            continue
        for name, default in names.items():
            old_kind, old_default = out.get(name, (kind, True))
            kind_ = COMMAND_NAME if COMMAND_NAME in (kind, old_kind) else PASSWORD
            out[name] = (kind_, old_default and default is not None)
    return out


def generate_secret(kind: str) -> str:
    if kind == COMMAND_NAME:
        # a command name: letters first, then [A-Za-z0-9_-] (rename-command and target.config_command)
        return "cmd_" + _secrets.token_hex(16)
    # URL-safe alphabet: no quoting trouble in redis.conf, .env or a redis:// URL
    return _secrets.token_urlsafe(GENERATED_PASSWORD_BYTES)


@record
class Secrets:
    values: dict[str, str]  # every secret variable written to .env
    generated: list[str]
    kept: list[str]  # found in the existing .env
    from_environment: list[str]


def resolve_secrets(wanted: dict[str, tuple[str, bool]], existing: dict[str, str], environ: dict[str, str], env_path: Path, *, replace: bool = False) -> Secrets:
    """``replace`` (plan and apply, issue 13): a secret the environment gives wins
    over the one in the .env, which must follow what apply sets on the server."""
    out = Secrets({}, [], [], [])
    for name in sorted(wanted):
        kind, has_default = wanted[name]
        from_env = environ.get(name)
        if replace and from_env and existing.get(name) and from_env != existing[name]:
            value = from_env
            out.from_environment.append(name)
        elif existing.get(name):
            value = existing[name]
            if from_env and from_env != value:
                raise RenderError(
                    f"{name} in the environment differs from the one in {env_path}; borgconf never "
                    f"replaces a secret that is already there: unset {name}, or change it in {env_path} yourself"
                )
            out.kept.append(name)
        elif from_env:
            value = from_env
            out.from_environment.append(name)
        elif has_default:
            continue  # ${VAR:-default}: the spec says it is optional
        else:
            value = generate_secret(kind)
            out.generated.append(name)
        redact.register(value)
        out.values[name] = value
    return out
