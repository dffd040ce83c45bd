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

from . import envfile
from .check import env_changes, mask_conf_line, masked_unified_diff
from .conf import conf_holds_secret, conf_quote, directive_lines, redis_conf_context, render_redis_conf
from .output import RenderedFile, RenderResult, output_paths, persist_file_writer, render_files
from .output import _read_text  # noqa: F401  (tests read files the way render does)
from .secrets import Secrets, generate_secret, resolve_secrets, secret_variables
from .services import default_password, env_blocks, env_prefix, service_port, service_url
from .templates import DEFAULT_ENV_FILE, DEFAULT_REDIS_CONF, GENERATED_PASSWORD_BYTES, TEMPLATES, templates_dir

__all__ = [
    "render_files", "render_redis_conf", "persist_file_writer", "templates_dir", "conf_quote", "service_url",
    "RenderResult", "RenderedFile", "directive_lines", "mask_conf_line", "masked_unified_diff", "env_changes",
    "conf_holds_secret", "redis_conf_context", "output_paths", "Secrets", "generate_secret",
    "resolve_secrets", "secret_variables", "default_password", "env_blocks", "env_prefix", "service_port",
    "envfile", "DEFAULT_ENV_FILE", "DEFAULT_REDIS_CONF", "GENERATED_PASSWORD_BYTES", "TEMPLATES",
]
