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


class _Writes(io.StringIO):
    """A stream that counts its writes and flushes."""

    writes = flushes = 0

    def write(self, s):
        self.writes += 1
        return super().write(s)

    def flush(self):
        self.flushes += 1


def test_a_batch_is_one_write_of_the_same_lines_redacted_also_when_it_raises():
    redact.register("s3cret-value")
    one_by_one, batched = _Writes(), _Writes()
    lines = [(f"line {i} s3cret-value", "bold" if i % 2 else None) for i in range(50)]
    for text, style in lines:
        Out(one_by_one, color=True).line(text, style)
    out = Out(batched, color=True)
    with pytest.raises(RuntimeError):
        with out.batch():
            for text, style in lines:
                out.line(text, style)
            with out.batch():  # a batch inside a batch is part of it
                out.line("inner")
            assert batched.writes == 0
            raise RuntimeError("a plan that fails half way still shows what it had")
    assert batched.getvalue() == one_by_one.getvalue() + "inner\n"
    assert "s3cret-value" not in batched.getvalue()
    assert (batched.writes, batched.flushes) == (1, 1) and one_by_one.writes == 50
    out.line("after")  # and line by line again afterwards
    assert batched.writes == 2 and batched.getvalue().endswith("inner\nafter\n")


def test_render_plan_writes_a_fleet_plan_at_once():
    from borgconf.plan import Change, ChangeId, Plan, TargetPlan
    from borgconf.views import render_plan

    plan = Plan(spec_path="s.yaml", spec_sha256="0" * 64, targets=[
        TargetPlan(name=f"n{i}", address=f"10.0.0.{i}:6379", flavour="redis", version="8.2.3", run_id="r",
                   changes=[Change(id=ChangeId("parameter", "hz"), timing="live", before="10", after="20")])
        for i in range(30)
    ])
    stream = _Writes()
    render_plan(plan, Out(stream))
    assert stream.writes == 1 and stream.getvalue().count("  ~ hz: 10 -> 20\n") == 30
