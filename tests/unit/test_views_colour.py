"""Colour on a terminal: whole lines styled with click.style (issue 15 replaced
rich, which did the same), secrets still redacted, none when colour is off."""

from __future__ import annotations

import io

import pytest

from borgconf import redact
from borgconf.views import Out


@pytest.fixture(autouse=True)
def _term(monkeypatch):
    monkeypatch.setenv("TERM", "xterm-256color")
    redact.clear()
    yield
    redact.clear()


@pytest.mark.parametrize(
    "style, codes",
    [("bold", ["\x1b[1m"]), ("green", ["\x1b[32m"]), ("yellow", ["\x1b[33m"]), ("dim", ["\x1b[2m"]), ("magenta", ["\x1b[35m"]), ("red", ["\x1b[31m"]), ("bold green", ["\x1b[32m", "\x1b[1m"])],
)
def test_a_styled_line_is_wrapped_whole(style, codes):
    buf = io.StringIO()
    Out(buf, color=True).line("  ~ hz: 10 -> 20", style)
    text = buf.getvalue()
    assert text.endswith("  ~ hz: 10 -> 20\x1b[0m\n")
    assert text.startswith("".join(codes))


def test_no_style_or_no_colour_is_plain_text():
    for out in (Out(io.StringIO(), color=True), Out(io.StringIO(), color=False)):
        out.line("Plan: 1 to change live", None)
        out.line("No changes.", "bold green" if not out.color else None)
        assert "\x1b" not in out.stream.getvalue()
        assert out.stream.getvalue() == "Plan: 1 to change live\nNo changes.\n"


def test_a_dumb_terminal_gets_no_colour(monkeypatch):
    monkeypatch.setenv("TERM", "dumb")
    buf = io.StringIO()
    Out(buf, color=True).line("in sync", "green")
    assert buf.getvalue() == "in sync\n"


def test_coloured_lines_are_redacted_and_drop_what_moves_the_cursor():
    redact.register("s3cr3t-value")
    buf = io.StringIO()
    Out(buf, color=True).line("masterauth: s3cr3t-value\r\x07\x08\x0b\x0c!", "yellow")
    text = buf.getvalue()
    assert "s3cr3t-value" not in text
    assert "\r" not in text and "\x07" not in text and "\x08" not in text
    assert text.startswith("\x1b[33m") and text.endswith("!\x1b[0m\n")
