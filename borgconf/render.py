"""Rendering redis.conf and .env from templates/ (Jinja2, StrictUndefined)."""

from __future__ import annotations

from .errors import RenderError


def persist_file_writer(spec):
    """A callable that writes render.redis_conf for ``persist: file``."""
    raise RenderError("persist: file is not available yet: rendering is not built")
