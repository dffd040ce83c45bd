"""The Jinja2 templates shipped with borgconf (redis.conf.j2, env.j2), StrictUndefined.

Jinja2 is imported only here, and only when rendering."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import RenderError
from . import envfile
from ..spec.names import comment_text
from .confquote import conf_quote

TEMPLATES = ("redis.conf.j2", "env.j2")
DEFAULT_REDIS_CONF = "redis.conf"
DEFAULT_ENV_FILE = ".env"
GENERATED_PASSWORD_BYTES = 32  # token_urlsafe(32): 43 characters of A-Z a-z 0-9 _ -


# ---------------------------------------------------------------- templates


def templates_dir() -> Path:
    """The packaged templates (inside the wheel), else the repository's (editable install)."""
    here = Path(__file__).resolve().parent.parent  # borgconf/
    for candidate in (here / "templates", here.parent / "templates"):
        if all((candidate / name).is_file() for name in TEMPLATES):
            return candidate
    raise RenderError(f"templates not found: neither {here / 'templates'} nor {here.parent / 'templates'} holds {', '.join(TEMPLATES)}")


def _jinja():
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir())),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["env_quote"] = lambda value, name: envfile.quote(name, str(value))
    env.filters["conf_quote"] = conf_quote
    env.filters["comment"] = lambda value: comment_text(str(value))
    return env


def _render_template(name: str, context: dict[str, Any]) -> str:
    import jinja2

    try:
        return _jinja().get_template(name).render(**context)
    except envfile.Unquotable:
        raise
    except jinja2.TemplateError as exc:
        raise RenderError(f"template {name}: {type(exc).__name__}: {exc}") from None
