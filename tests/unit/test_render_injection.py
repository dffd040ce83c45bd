"""Issue 10 groups 3 and 4: nothing from outside the spec's values (its file
name) reaches a template unescaped, and every rendered file reads back, with
its reader's own line splitting, as exactly the directives / variables meant."""

from __future__ import annotations

import io

import pytest
from dotenv import dotenv_values

from borgconf import redact
from borgconf.errors import RenderError, SpecError
from borgconf.render import envfile, render_files
from borgconf.render.conf import check_reads_back, redis_conf_context
from borgconf.render.confquote import config_directives, split_args
from borgconf.spec import load_spec
from borgconf.spec.names import LINE_BREAKS, comment_text

from cli_helpers import run
from conf_syntax import directives

# every character some reader of redis.conf or .env (or Python's str.splitlines) ends a line at
READER_LINE_BREAKS = ["\n", "\r", "\r\n", "\v", "\f", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"]


@pytest.fixture(autouse=True)
def _clean_redactor():
    redact.clear()
    yield
    redact.clear()


@pytest.mark.parametrize("brk", READER_LINE_BREAKS)
def test_a_line_break_in_the_spec_file_name_stays_in_the_comment(tmp_path, brk):
    name = f"x.yaml{brk}requirepass injected{brk}enable-debug-command yes{brk}NODE_OPTIONS=--inspect=0.0.0.0:9229{brk}#.yaml"
    spec = tmp_path / name
    spec.write_text("version: 1\nserver: {hz: 20}\nservices: {app: {db: 1}}\n")
    result = render_files(str(spec), environ={})
    conf = (tmp_path / "redis.conf").read_text()
    assert config_directives(conf) == [["hz", "20"]]
    assert directives(conf) == [["hz", "20"]]  # the tests' own sdssplitargs agrees
    assert conf.splitlines()[0].startswith("# redis.conf rendered by borgconf") and len(conf.split("\n")[0].splitlines()) == 1
    env = dotenv_values(tmp_path / ".env")
    assert dict(env) == {"APP_REDIS_URL": "redis://redis:6379/1"}
    assert all(not f.text.split("\n")[0].count(brk) for f in result.files)


def test_comment_text_escapes_every_line_break():
    for brk in READER_LINE_BREAKS + ["\x00", "\x1b", "\t"]:
        out = comment_text(f"a{brk}b")
        assert out.isprintable() and len(out.splitlines()) == 1, repr(out)
    assert comment_text("spec-é.yaml") == "spec-é.yaml"


def test_split_args_is_redis_sdssplitargs():
    """The cases where sdssplitargs differs from a naive tokenizer (read from
    redis/src/sds.c): a quote opens mid-argument, \\v and \\f do not end an
    unquoted argument (only space, \\n, \\r, \\t do), a closing quote must be
    followed by a space, a NUL ends the line."""
    assert split_args('a "b c"') == ["a", "b c"]
    assert split_args('key ab"c d"') == ["key", "abc d"]
    assert split_args("a\vb c") == ["a\vb", "c"]
    assert split_args("a \fb") == ["a", "b"] and split_args("a b\fc") == ["a", "b\fc"]
    assert split_args('a "b"c') is None and split_args("a 'b") is None
    assert split_args('a "\\x41\\n\\q"') == ["a", "A\nq"]
    assert split_args("a 'it\\'s'") == ["a", "it's"]
    assert split_args("a b\x00c d") == ["a", "b"]


def test_conf_read_back_refuses_a_smuggled_line(tmp_path):
    spec = tmp_path / "s.yaml"
    spec.write_text("version: 1\nserver: {hz: 20}\n")
    ctx = redis_conf_context(load_spec(spec, env={}), total_memory=1 << 30)
    check_reads_back("# header\nhz 20\n", ctx)
    with pytest.raises(RenderError, match="would not read back"):
        check_reads_back("# header\nhz 20\nrequirepass injected\n", ctx)
    with pytest.raises(RenderError, match="would not read back"):
        check_reads_back("# header\nhz 20 \"x\n", ctx)


@pytest.mark.parametrize("brk", [b for b in READER_LINE_BREAKS if b not in ("\n", "\r", "\r\n")])
def test_a_reader_line_break_in_an_env_value_is_refused_at_validate(tmp_path, brk, capsys):
    spec = tmp_path / "s.yaml"
    spec.write_text('version: 1\nservices:\n  app:\n    db: 1\n    env:\n      APP_MODE: "a${BRK}EVIL=1"\n')
    with pytest.raises(SpecError, match=r"s\.yaml:6:\d+: services\.app\.env\.APP_MODE: .*newline or NUL"):
        load_spec(spec, env={"BRK": brk})
    spec.write_text('version: 1\nservices:\n  app:\n    db: 1\n    env:\n      APP_MODE: "a' + brk.encode("unicode_escape").decode().replace("\\x", "\\x") + 'EVIL=1"\n')
    rc, out, err = run(capsys, "validate", spec)
    assert rc == 1 and "s.yaml:6:" in err, err


def test_quote_refuses_every_reader_line_break():
    for brk in READER_LINE_BREAKS + ["\x00"]:
        with pytest.raises(envfile.Unquotable, match="^X: its value holds a line break"):
            envfile.quote("X", f"a{brk}EVIL=1")
    assert set(LINE_BREAKS) >= {"\n", "\r", "\x00", "\v", "\f", "\x85", "\u2028", "\u2029"}


def test_blocks_split_lines_as_python_dotenv_does():
    """A template line holding U+2028 (inside quotes) is one line for
    python-dotenv: the merge must not see a second assignment in it."""
    rendered = "# c\nA='x\u2028B=1'\nC=2\n"
    (block,) = envfile.blocks(rendered)
    assert [name for name, _ in block.assignments] == ["A", "C"]
    assert dict(dotenv_values(stream=io.StringIO(rendered))) == {"A": "x\u2028B=1", "C": "2"}


def test_env_read_back_refuses_what_dotenv_would_read_differently():
    existing = envfile.read("KEEP=1\n")
    envfile.check_reads_back("KEEP=1\nAPP=2\n", {"APP": "2"}, existing, set())
    with pytest.raises(RenderError, match=r"\(EVIL\)"):
        envfile.check_reads_back("KEEP=1\nAPP=2\nEVIL=3\n", {"APP": "2"}, existing, set())
    with pytest.raises(RenderError, match=r"\(KEEP\)"):
        envfile.check_reads_back("APP=2\n", {"APP": "2"}, existing, set())


def test_merging_into_an_env_whose_old_value_swallows_a_line(tmp_path, capsys):
    """An existing .env where an open quote swallows APP_REDIS_URL: python-dotenv
    does not read that variable, so render --check must not say up to date."""
    spec = tmp_path / "s.yaml"
    spec.write_text("version: 1\nservices: {app: {db: 1}}\n")
    render_files(str(spec), environ={})
    env = tmp_path / ".env"
    env.write_text(env.read_text().replace("APP_REDIS_URL", 'OTHER="abc\nAPP_REDIS_URL', 1) + 'X=1"\n')
    assert "APP_REDIS_URL" not in dotenv_values(env)
    rc, out, err = run(capsys, "render", spec, "--check")
    assert rc == 2 and "up to date" not in out and "APP_REDIS_URL (added)" in out, out + err
    rc, out, err = run(capsys, "render", spec)
    assert rc == 0, err
    assert dotenv_values(env)["APP_REDIS_URL"] == "redis://redis:6379/1"
    rc, out, err = run(capsys, "render", spec, "--check")
    assert rc == 0 and "up to date" in out
