"""The captured answers of real servers (Redis 7.0, Redis 8.2, Valkey 8) as test data.

``tests/redis-facts`` is a copy of the project's shared ``redis-facts`` (the
files the tests read), so a clone alone runs the whole suite."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

FACTS = Path(__file__).resolve().parent / "redis-facts"
SERVERS = ("redis-7.0", "redis-8.2", "valkey-8")


def facts_dir() -> Path:
    if not FACTS.is_dir():
        raise FileNotFoundError(f"redis-facts not found at {FACTS}")
    return FACTS


def load(server: str, name: str):
    return json.loads((facts_dir() / server / name).read_text())


def text(server: str, name: str) -> str:
    return (facts_dir() / server / name).read_text()
