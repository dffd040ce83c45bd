"""Plain ``{{ name }}`` snippets render without jinja2 (issue 15: validate of the
BorgStack spec pays no jinja2 import), and always to exactly what the jinja2
sandbox renders; anything else goes to the sandbox."""

from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from borgconf.errors import RenderError
from borgconf.render.sandbox import _SNIPPET_CONTEXT, _sandbox, render_snippet, simple_snippet

CTX = {"url": "redis://:p%40ss@redis:6379/2", "host": "redis", "port": 6379, "db": 2, "password": "p@ss w0rd 'x'", "username": None}
SANDBOX = _sandbox()

PIECES = st.one_of(
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=6),
    st.sampled_from([f"{{{{{sp}{n}{sp2}}}}}" for n in _SNIPPET_CONTEXT for sp in ("", " ", "  ") for sp2 in ("", " ")]),
    st.sampled_from(["{{ dbb }}", "{{ host|upper }}", "{% if db %}x{% endif %}", "{# c #}", "{{", "}}", "{ {", "\n", "\t"]),
)


@settings(max_examples=400, deadline=None)
@given(st.lists(PIECES, max_size=6).map("".join))
def test_the_fast_path_renders_what_jinja2_renders(snippet):
    plain = simple_snippet(snippet, CTX)
    try:
        full = str(SANDBOX.from_string(snippet).render(CTX))
    except Exception:  # noqa: BLE001 -- jinja2 refuses it: the fast path must not take it
        assert plain is None, snippet
        return
    if plain is not None:
        assert plain == full, snippet


@pytest.mark.parametrize("snippet", ["{{ host }}", "{{db}}", "redis://{{ host }}:{{ port }}/{{ db }}", "{{ password }}", "{{ username }}", "plain"])
def test_plain_snippets_take_the_fast_path(snippet):
    assert simple_snippet(snippet, CTX) == str(SANDBOX.from_string(snippet).render(CTX))


@pytest.mark.parametrize("snippet", ["{{ dbb }}", "{{ host | upper }}", "{% if db %}x{% endif %}", "a\nb", "{{ host }}}", "{#x#}"])
def test_anything_else_goes_to_the_sandbox(snippet):
    assert simple_snippet(snippet, CTX) is None


def test_an_unknown_name_still_gets_the_sandbox_message_without_a_sandbox_given():
    with pytest.raises(RenderError, match=r"'dbb' is undefined: not a snippet variable; did you mean \{\{ db \}\}\?"):
        render_snippet(None, "", "{{ dbb }}", CTX)
