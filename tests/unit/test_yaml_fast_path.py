"""yamlread._read_simple (libyaml's parser) must read every document it takes
exactly as the round-trip reader does: the same values with the same types,
the same positions of keys and values, the same text as written. Whatever it
does not take, the round-trip reader reads, with its own messages (issues 12, 15).

Each check reads a document both ways: with the fast path, and with the
fast path switched off. A fast path that returned None for everything would
pass the equality checks, so the first tests pin that the repository's own
specs do take it.
"""

from __future__ import annotations

import glob
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from borgconf.errors import SpecError
from borgconf.spec import yamlread as Y

ROOT = Path(__file__).resolve().parents[2]


def test_libyaml_is_installed():
    """ruamel.yaml.clib is a dependency (pyproject.toml): without it every spec is
    read the slow way, correctly but without the fast path these tests hold."""
    import _ruamel_yaml  # noqa: F401


def _typed(x):
    """A value with every type spelled out: True == 1 and 1.0 == 1 in Python."""
    if isinstance(x, dict):
        return ("dict", tuple((_typed(k), _typed(v)) for k, v in x.items()))
    if isinstance(x, list):
        return ("list", tuple(_typed(v) for v in x))
    return (type(x).__name__, repr(x))


def _doc_view(doc: Y._Doc):
    return (_typed(doc.data), list(doc.pos.items()), list(doc.key_pos.items()), list(doc.written.items()))


def _round_trip(text: str, tmp: Path, monkeypatch) -> tuple[str, object]:
    """('doc', view) or ('error', the problems) from the round-trip reader alone."""
    f = tmp / "spec.yaml"
    f.write_bytes(text.encode("utf-8"))
    with monkeypatch.context() as m:
        m.setattr(Y, "_read_simple", lambda text, shown: None)
        try:
            return "doc", _doc_view(Y._read_yaml(f, "spec.yaml"))
        except SpecError as e:
            return "error", [p.message for p in e.problems]


def _check(text: str, tmp: Path, monkeypatch) -> bool:
    """Both readers agree on ``text``; True when the fast path took it."""
    fast = Y._read_simple(text, "spec.yaml")
    slow = _round_trip(text, tmp, monkeypatch)
    if fast is None:
        return False
    assert slow[0] == "doc", f"the fast path read a document the round-trip reader refuses: {slow[1]}\n{text}"
    assert _doc_view(fast) == slow[1], text
    return True


def _repo_yaml() -> list[Path]:
    pats = ["specs/*.yaml", "examples/**/*.yaml", "examples/**/*.yml", "tests/**/*.yaml", "tests/**/*.yml"]
    return sorted({Path(p) for pat in pats for p in glob.glob(str(ROOT / pat), recursive=True)})


def test_the_repositorys_specs_take_the_fast_path_and_read_the_same(tmp_path, monkeypatch):
    files = _repo_yaml()
    taken = [f for f in files if _check(f.read_text(encoding="utf-8", errors="replace"), tmp_path, monkeypatch)]
    names = {f.relative_to(ROOT).as_posix() for f in taken}
    assert "specs/borgstack.yaml" in names
    assert {f.relative_to(ROOT).as_posix() for f in ROOT.glob("specs/*.yaml")} <= names
    assert len(taken) >= 100, f"only {len(taken)} of {len(files)} files took the fast path"


def test_read_yaml_uses_the_fast_path(tmp_path, monkeypatch):
    f = tmp_path / "spec.yaml"
    f.write_text("version: 1\nserver:\n  maxmemory: 2gb\n")
    calls = []
    real = Y._simple_doc
    monkeypatch.setattr(Y, "_simple_doc", lambda *a: calls.append(1) or real(*a))
    doc = Y._read_yaml(f, "spec.yaml")
    assert calls and doc.data == {"version": 1, "server": {"maxmemory": "2gb"}}
    assert doc.pos[("server", "maxmemory")] == ("spec.yaml", 3, 14)
    assert doc.key_pos[("server", "maxmemory")] == ("spec.yaml", 3, 3)
    assert doc.written[("version",)] == "1"


TAKEN = [
    "version: 1\nserver: {maxmemory: 2gb, maxmemory-policy: allkeys-lru}\n",
    "---\na: 1\n",
    "b: ~\nc: null\nd: Null\ne: NULL\n",
    "a: 0123\nb: 0o17\nc: 0x1F\nd: 1_000\ne: +12\nf: -0\n",
    "a: 1e3\nb: .inf\nc: -.Inf\nd: .nan\ne: 1.50\nf: 6.8523015e+5\ng: 1.\n",
    "a: true\nb: false\nc: True\nd: FALSE\ne: yes\nf: no\ng: on\nh: off\n",
    "a: 2024-02-30\nb: 2001-12-14t21:59:43.10-05:00\nc: 2002-12-14\n",
    "1: one\n2.5: two\nfalse: three\n",
    "'1': a\n1: b\n",
    "a: 'it''s'\nb: \"double\"\nc: ''\nd: \"\"\n",
    "list:\n- 1\n- [2, 3]\n- {a: b}\n- - nested\n  - deeper\n",
    "a:   spaced    # comment\n# a comment line\n\nb: x#notacomment\n",
    "save: [[3600, 1], [300, 100]]\n",
    "k: v\n? explicit\n: value\n",
    "a: [b, c,]\n",
    "a: {b: c, d: e}\n",
    "- a\n- b: c\n  d: e\n",
    "a: http://example.com:8080/x?y=z\n",
    "b: --x\nc: :x\n",
    "a: 'x: y'\nb: \"#\"\n",
]


@pytest.mark.parametrize("text", TAKEN)
def test_documents_the_fast_path_takes_read_the_same(text, tmp_path, monkeypatch):
    assert _check(text, tmp_path, monkeypatch), "expected the fast path to take this document"


LEFT = [
    "a:\nb: 1\n",  # an empty value: the readers place it differently
    "a: {b: , c}\n",
    "- \n- a\n",
    "a: -\n",  # libyaml refuses it
    # found by a review's fuzzing: libyaml reads them, ruamel's reader refuses them
    "server:\n  maxmemory: # a comment\n    2gb\n\n  maxmemory-policy: allkeys-lru\n",  # "overlap in comment"
    "a: #c\n  b\n\n",
    "a: #c\n  b\n\nc: d\n",
    '["a":b]\n',  # a quoted key against its ':' in a flow sequence
    "['a':b]\n",
    'users: ["app":on]\n',
    "a: 1\n...\n...\n",  # two document ends: libyaml reports one
    "---\na: 1\n...\n",
    "a: &x 1\nb: *x\n",  # anchors and aliases
    "a: !!str 5\n",  # a tag
    "<<: {a: 1}\nb: 2\n",  # a merge key
    "a: |\n  text\n",  # a block scalar
    "a: >\n  folded\n",
    "a: long\n  plain\n",  # a scalar over two lines
    "a: 1\na: 2\n",  # a key written twice
    "1: a\n1.0: b\n",  # equal keys in Python
    "true: a\n1: b\n",
    "~: x\n",  # a null key
    "[a]: 1\n",  # a list as a key
    "%YAML 1.1\n---\na: 1\n",  # a directive
    "a: 1\n---\nb: 2\n",  # two documents
    "just a scalar\n",
    "",
    "# only a comment\n",
    "a: \"tab\\there\"\n",  # a backslash escape
    "a:\tb\n",  # a tab
    "a: 1\r\nb: 2\r\n",  # CR LF
    "caf\u00e9: 1\n",  # not ASCII
    "a: [1, 2\n",  # a syntax error
    "a: 'unclosed\n",
    "a: b: c\n",
    "a: " + "9" * 5000 + "\n",  # Python refuses int() of it
    "a:\n" + "".join("  " * i + f"k{i}:\n" for i in range(1, 40)),  # deeper than MAX_DEPTH
    "a: [" + ", ".join(["1"] * (Y.MAX_YAML_EVENTS + 10)) + "]\n",  # more events than the limit
]


@pytest.mark.parametrize("text", LEFT)
def test_documents_left_to_the_round_trip_reader(text):
    """The fast path declines them. (What _read_yaml then gives is the round-trip
    reader's by construction: it is the code that runs when _read_simple returns
    None, so comparing the two would run the same code twice and could not fail.)"""
    assert Y._read_simple(text, "spec.yaml") is None


# Random documents: YAML-like lines of keys, values and punctuation. The property
# is one-sided, and the side that matters: whenever the fast path returns a
# document, the round-trip reader returns the same one (never an error).
_WORDS = st.sampled_from([
    "a", "b", "key", "maxmemory", "2gb", "0", "1", "-1", "007", "0o7", "0x1f", "1_0", "1e3", "1.5", ".5", "1.", ".inf", ".nan",
    "true", "False", "yes", "no", "on", "null", "~", "2024-01-02", "12:30:00", "x y", "http://h:1/p", "-", "--", "?", "#c",
    "a#b", "@", "`", "!", "&a", "*a", "%", "|", ">", "'q'", "\"d\"", "''", "'it''s'", "[", "]", "{", "}", ",", ":", "::", "- ",
    "[1, 2]", "{k: v}", "[]", "{}", "=", "<<", "...", "---", " ", "  ", '"k":v', "'k':[v]", '"k" :v', "# c\n", "\n",
])
_LINE = st.tuples(st.integers(0, 6), st.lists(_WORDS, min_size=0, max_size=5), st.sampled_from(["", ":", ": ", "- ", ":\n"]))


@st.composite
def _documents(draw) -> str:
    lines = draw(st.lists(_LINE, min_size=1, max_size=12))
    return "".join(" " * indent + (sep if sep == "- " else "") + " ".join(words) + ("" if sep == "- " else sep) + "\n" for indent, words, sep in lines)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(text=_documents())
def test_random_documents_read_the_same_or_are_left(text, tmp_path, monkeypatch):
    _check(text, tmp_path, monkeypatch)


_SPECISH = st.recursive(
    st.one_of(_WORDS, st.integers(-5, 10**6).map(str), st.sampled_from(["'x'", '"y"', "0.0", "-0.5", "1e-3"])),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4).map(lambda xs: "[" + ", ".join(xs) + "]"),
        st.dictionaries(st.sampled_from(["a", "b", "c", "1", "true", "k-1"]), inner, max_size=4).map(
            lambda d: "{" + ", ".join(f"{k}: {v}" for k, v in d.items()) + "}"
        ),
    ),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(pairs=st.lists(st.tuples(st.sampled_from(["a", "b", "server", "1", "yes", "x y", "'q'"]), _SPECISH), min_size=1, max_size=6))
def test_random_flow_values_read_the_same_or_are_left(pairs, tmp_path, monkeypatch):
    _check("".join(f"{k}: {v}\n" for k, v in pairs), tmp_path, monkeypatch)


# Spec-like block documents, most of them valid: the random properties above feed
# mostly documents the fast path leaves to the other reader (1% taken of _documents),
# so this one pins that the fast path does take such documents, and reads them alike.
_KEYS = ["a", "b", "server", "maxmemory", "hz", "1", "2.5", "yes", "x-y", "k_1", "'q'", '"d"']
_SCALARS = ["1", "0", "-7", "007", "0o17", "0x1F", "1_000", "1e3", "1.5", ".inf", ".nan", "true", "False", "no", "on", "~",
            "null", "2gb", "allkeys-lru", "2024-02-30", "2001-12-14t21:59:43.10-05:00", "http://h:1/p", "a b", "x#y",
            "'it''s'", '"two words"', "''", "[1, 2]", "{k: v}", "[]", "{}", "- x", "a # comment"]


def _block(rng, depth: int, indent: int) -> list[str]:
    lines = []
    if rng.random() < 0.2 and depth:
        for _ in range(rng.randint(1, 3)):
            lines.append(" " * indent + "- " + rng.choice(_SCALARS))
        return lines
    for key in rng.sample(_KEYS, rng.randint(1, 4)):
        if depth < 3 and rng.random() < 0.3:
            lines.append(" " * indent + f"{key}:")
            lines += _block(rng, depth + 1, indent + 2)
        else:
            lines.append(" " * indent + f"{key}: {rng.choice(_SCALARS)}" + (" # c" if rng.random() < 0.1 else ""))
    return lines


def test_spec_like_documents_mostly_take_the_fast_path_and_read_the_same(tmp_path, monkeypatch):
    import random

    rng = random.Random(12)
    docs = ["\n".join(_block(rng, 0, 0)) + "\n" for _ in range(300)]
    taken = sum(_check(text, tmp_path, monkeypatch) for text in docs)
    assert taken >= 150, f"only {taken} of 300 spec-like documents took the fast path"
