"""Access to ../shared/redis-facts (captured answers of real servers) for tests."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

FACTS = Path(__file__).resolve().parents[1].parent / "shared" / "redis-facts"
SERVERS = ("redis-7.0", "redis-8.2", "valkey-8")


def facts_dir() -> Path:
    if not FACTS.is_dir():
        pytest.skip(f"redis-facts not found at {FACTS}")
    return FACTS


def load(server: str, name: str):
    return json.loads((facts_dir() / server / name).read_text())


def text(server: str, name: str) -> str:
    return (facts_dir() / server / name).read_text()
