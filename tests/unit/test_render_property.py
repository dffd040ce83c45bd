"""Issue 10 group 3, property: generated hostile values (passwords, a user's
password and key pattern, a string parameter, env snippets, the spec's file
name) are rendered and the files parsed back with the real readers:
python-dotenv (and the compose-go model of test_render_envfile), and Redis's
config reader (tests/conf_syntax.py, an independent mirror of config.c +
sds.c's sdssplitargs). Either borgconf refuses the value (validate, or render's
documented refusals), or exactly the intended directives and variables come
back. tests/integration/test_render_corpus_starts.py starts real servers from
rendered files."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from dotenv import dotenv_values
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from borgconf import redact
from borgconf.errors import RenderError, SpecError
from borgconf.render import envfile, render_files
from borgconf.spec.names import LINE_BREAKS

from conf_syntax import directives


def _compose_model():
    """compose_read, the compose-go model kept in test_render_envfile.py (one model, not a copy)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("_compose_model", Path(__file__).with_name("test_render_envfile.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.compose_read


compose_read = _compose_model()

# what an attacker reaches for: every quote, escape, comment and variable
# character of both formats, each reader's line breaks, spaces, non-ASCII
HOSTILE_ALPHABET = st.sampled_from(list("aZ09 _-=:/@%+.,'\"\\$#{}!`;&|<>()[]~*?^\t") + list(LINE_BREAKS) + ["é", "\u00a0", "\ufeff", "😀", "\x1b", "\x7f"])
HOSTILE = st.text(alphabet=HOSTILE_ALPHABET, min_size=1, max_size=24)
# a secret: the same characters, at least 8 of them (a shorter secret is refused
# as weak-secret, as a common word or a user name is: none of those can be drawn here)
HOSTILE_SECRET = st.text(alphabet=HOSTILE_ALPHABET, min_size=8, max_size=24)
# env snippets are Jinja templates: their literal text avoids Jinja's own syntax
SNIPPET = HOSTILE.filter(lambda s: not any(c in s for c in "{}%#"))
FILE_NAME = st.text(alphabet=st.characters(blacklist_characters="/\x00", blacklist_categories=("Cs",)), min_size=1, max_size=40).map(lambda s: s + ".yaml")

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


def _yaml_str(s: str) -> str:
    """A YAML double-quoted scalar holding ``s`` exactly (JSON's escapes are YAML's)."""
    return json.dumps(s, ensure_ascii=True)


def _render(tmp: Path, name: str, body: str, environ: dict[str, str]):
    spec = tmp / name
    spec.write_text(body)
    redact.clear()
    try:
        return render_files(str(spec), environ=environ, total_memory=1 << 30)
    except (SpecError, envfile.Unquotable):
        return None  # refused as documented: validate (one positioned message) or an unquotable .env value
    finally:
        redact.clear()


@SETTINGS
@given(password=HOSTILE_SECRET, user_password=HOSTILE_SECRET, key=HOSTILE, logfile=HOSTILE, mode=SNIPPET, name=FILE_NAME)
def test_hostile_values_read_back_exactly(password, user_password, key, logfile, mode, name):
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        body = (
            "version: 1\n"
            "server:\n"
            "  requirepass: ${PW}\n"
            f"  logfile: {_yaml_str('/var/log/' + logfile)}\n"
            "users:\n"
            f"  app: {{password: \"${{UPW}}\", keys: [{_yaml_str(key)}], commands: '+get'}}\n"
            "services:\n"
            "  web:\n"
            "    db: 1\n"
            f"    env: {{WEB_MODE: {_yaml_str(mode)}}}\n"
        )
        result = _render(tmp, name, body, {"PW": password, "UPW": user_password})
        hostile = password + user_password + key + logfile + mode
        if result is None:  # a refusal: never of plain text
            assert not all(c.isalnum() for c in hostile), hostile
            return
        assert not any(c in hostile for c in LINE_BREAKS), "a line break got through validation"
        conf = (tmp / "redis.conf").read_text()
        got = directives(conf)
        assert ["requirepass", password] in got
        assert ["logfile", "/var/log/" + logfile] in got
        (user,) = [a for a in got if a[0] == "user"]
        assert user[:3] == ["user", "app", "on"] and f">{user_password}" in user and f"~{key}" in user
        assert sorted(a[0] for a in got) == ["logfile", "requirepass", "user"]  # nothing smuggled in
        text = (tmp / ".env").read_text()
        env = dict(dotenv_values(tmp / ".env"))
        assert sorted(env) == ["PW", "UPW", "WEB_MODE", "WEB_REDIS_URL"], sorted(env)  # secrets under their ${VAR} names
        assert env["PW"] == password and env["UPW"] == user_password and env["WEB_MODE"] == mode
        from urllib.parse import unquote, urlsplit

        assert unquote(urlsplit(env["WEB_REDIS_URL"]).password or "") == password
        for newer in (False, True):
            assert compose_read(text, newer=newer) == env


@SETTINGS
@given(name=FILE_NAME)
def test_hostile_spec_file_names_stay_in_comments(name):
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        try:
            (tmp / name).write_text("")
        except OSError:
            return  # a name this file system refuses (too long in bytes)
        result = _render(tmp, name, "version: 1\nserver: {hz: 20}\nservices: {app: {db: 1}}\n", {})
        assert result is not None
        assert directives((tmp / "redis.conf").read_text()) == [["hz", "20"]]
        assert dict(dotenv_values(tmp / ".env")) == {"APP_REDIS_URL": "redis://redis:6379/1"}


def test_the_property_sees_refusals_and_successes(tmp_path):
    """The properties above are not vacuous: a plain hostile value renders, a
    line break is refused."""
    body = 'version: 1\nserver: {requirepass: "${PW}"}\n'
    assert _render(tmp_path, "s.yaml", body, {"PW": "p#s s\"w'd \\ x"}) is not None
    assert os.path.exists(tmp_path / "redis.conf")
    (tmp_path / "other").mkdir()
    assert _render(tmp_path / "other", "s.yaml", body, {"PW": "a\u2028b"}) is None
    assert not os.path.exists(tmp_path / "other" / "redis.conf")
