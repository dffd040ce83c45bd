"""Rendering redis.conf and .env from templates/ (Jinja2, StrictUndefined).

``render_files`` is what ``borgconf render`` runs:

1. read the spec's YAML without validating it, to learn ``render.env_file``
   and which ``${VAR}``s feed secrets (requirepass, masterauth, passwords,
   renamed commands);
2. read the existing .env (python-dotenv); a secret found there is used as it
   is and never rotated; one found nowhere is generated (``secrets`` module);
3. load and validate the spec with those variables;
4. render ``redis.conf`` (every server parameter, ``rename-command`` lines,
   ACL users) and the .env (one ``<NAME>_REDIS_URL`` per service plus its
   ``env:`` snippets, rendered in a Jinja sandbox), merged into the existing
   file so that other variables and comments stay;
5. write each file atomically (0600 when it holds a secret), or with
   ``check`` only report which would change.

Output paths (``render.redis_conf``, default ``redis.conf``; ``render.env_file``,
default ``.env``) are relative to the directory of the spec file, like
``extends:``; ``--out-dir DIR`` writes both into DIR under their file names
instead (a scratch copy, or ``--check`` against another checkout).

The package, one module a concern: ``templates`` (Jinja2, imported only when
rendering), ``conf`` (redis.conf directives), ``services`` (URLs and .env
blocks), ``sandbox`` (env: snippets), ``secrets`` (what is a secret, generated
once), ``envfile`` (reading and merging a .env), ``check`` (--check without
secrets), ``output`` (render_files, the persist: file writer).
"""

from __future__ import annotations

# name -> the submodule that defines it. The package imports none of them itself:
# `validate` needs only services (and what it imports) for the env: snippets, and
# importing every submodule cost it ~4 ms (issue 15). A name is imported on first
# use (PEP 562); a submodule itself (``from borgconf.render import envfile``) is
# imported by Python's import system as usual.
_NAMES = {
    "env_changes": "check", "mask_conf_line": "check", "masked_unified_diff": "check",
    "conf_holds_secret": "conf", "conf_quote": "conf", "directive_lines": "conf", "redis_conf_context": "conf",
    "render_redis_conf": "conf",
    "RenderedFile": "output", "RenderResult": "output", "output_paths": "output", "persist_file_writer": "output",
    "render_files": "output", "_read_text": "output",  # _read_text: tests read files the way render does
    "Secrets": "secrets", "generate_secret": "secrets", "resolve_secrets": "secrets", "secret_variables": "secrets",
    "default_password": "services", "env_blocks": "services", "env_prefix": "services", "service_port": "services",
    "service_url": "services",
    "DEFAULT_ENV_FILE": "templates", "DEFAULT_REDIS_CONF": "templates", "GENERATED_PASSWORD_BYTES": "templates",
    "TEMPLATES": "templates", "templates_dir": "templates",
}

__all__ = [
    "render_files", "render_redis_conf", "persist_file_writer", "templates_dir", "conf_quote", "service_url",
    "RenderResult", "RenderedFile", "directive_lines", "mask_conf_line", "masked_unified_diff", "env_changes",
    "conf_holds_secret", "redis_conf_context", "output_paths", "Secrets", "generate_secret",
    "resolve_secrets", "secret_variables", "default_password", "env_blocks", "env_prefix", "service_port",
    "envfile", "DEFAULT_ENV_FILE", "DEFAULT_REDIS_CONF", "GENERATED_PASSWORD_BYTES", "TEMPLATES",
]


def _submodules() -> dict:
    """Every submodule a name of the package comes from (the edges the import-cycle
    test reads are these imports)."""
    from . import check, conf, envfile, output, secrets, services, templates

    return {"check": check, "conf": conf, "envfile": envfile, "output": output, "secrets": secrets,
            "services": services, "templates": templates}


def __getattr__(name: str):
    if name == "envfile":  # a submodule: imported, and set on the package, by the import system
        import sys

        __import__(f"{__name__}.envfile")  # (not importlib.import_module: -X importtime would not list it)
        return sys.modules[f"{__name__}.envfile"]
    module = _NAMES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(_submodules()[module], name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
