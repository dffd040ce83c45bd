"""Property: loading any file either returns a Spec or raises borgconf's own
error (SpecError, every problem on one line with a file and a line) -- never
anything else, whatever the document holds.

Documents are generated from the real vocabulary (top-level keys, target /
service / user / render keys, every catalog parameter name and alias) with
hostile scalars (control characters, NUL, newlines, unicode, huge integers,
NaN, ``${VAR}`` references, random bytes decoded as text), written as block
YAML or as JSON, sometimes with a few characters damaged; a valid spec
damaged in one or two places (to get past the schema into the checks behind
it); plain random text and random bytes as the whole file. A spec that loads
must hold no newline or NUL anywhere, and its redis.conf must read back as
exactly the directives meant.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from borgconf.errors import BorgconfError, SpecError
from borgconf.params import catalog
from borgconf.spec import Spec, load_spec, referenced_variables

# BORGCONF_PROPERTY_EXAMPLES=5000 for a longer hunt
SETTINGS = settings(max_examples=int(os.environ.get("BORGCONF_PROPERTY_EXAMPLES", "300")), deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

TOP = ["version", "target", "targets", "server", "ignore", "commands", "services", "users", "render", "extends"]
TARGET = ["name", "url", "username", "password", "config_command", "persist", "timeout", "tls"]
TLS = ["ca_certs", "certfile", "keyfile", "check_hostname"]
SERVICE = ["db", "role", "user", "env"]
USER = ["password", "enabled", "keys", "channels", "commands"]
RENDER = ["redis_conf", "env_file", "host", "port"]
PARAMS = sorted({n for p in catalog() for n in p.names()})
VARS = ["PW", "REDIS_PASSWORD", "A", "X_1", "EMPTY"]

realistic = st.sampled_from(
    [
        "2gb", "512mb", "25%", "101%", "0", "-1", "1k", "noeviction", "allkeys-lru", "yes", "no", "true", "maybe",
        "900 1 300 10", "900 1", "redis://redis:6379", "rediss://h:6380", "redis://:pw@h", "http://x", "redis://h/2",
        "disabled", "enabled", "queue", "cache", "session", "rewrite", "file", "none", "{{ url }}", "{{ db }}",
        "{{ 7 * 7 }}", "/var/lib/redis", "data", "dump.rdb", "a/b.rdb", "+@all -@dangerous", "bull:*", "no one",
        "127.0.0.1 6379", "normal 0 0 0 pubsub 32mb 8mb 60", "KEA", "Ex", "# not a comment", "a\"b", "a'b",
        "$$", "${", "${A-B}", "${PW:?x}", "${PW:-dflt}", "${EMPTY:-d}", "$PW",
    ]
)
hostile_text = st.text(alphabet=st.sampled_from("\x00\n\r\t\x0b\x1b\x7f\u2028\ufeff #'\"${}:-=%\\,[]&*!|>@`aZ9"), max_size=12)
var_ref = st.builds(lambda a, n, b, d: f"{a}${{{n}{d}}}{b}", st.text(max_size=3), st.sampled_from([*VARS, "NOPE", "a-b", "", "1X"]), st.text(max_size=3), st.sampled_from(["", ":-", ":-x", ":-\n"]))
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.integers(min_value=10**18, max_value=10**60),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    hostile_text,
    realistic,
    var_ref,
    st.binary(max_size=16).map(lambda b: b.decode("utf-8", "replace")),
    st.binary(max_size=16).map(lambda b: b.decode("latin-1")),
)
any_key = st.one_of(st.text(max_size=10), hostile_text, st.integers(-5, 20), st.booleans())
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(any_key, inner, max_size=4), max_leaves=10)


def keyed(known: list[str], value=values, size=5):
    """Mostly real keys, sometimes anything."""
    return st.dictionaries(st.one_of(*[st.sampled_from(known)] * 4, any_key), value, max_size=size)


server = keyed(PARAMS, st.one_of(scalars, st.lists(st.one_of(scalars, realistic), max_size=3)), size=6)
target = keyed(TARGET, st.one_of(scalars, keyed(TLS, scalars)))
service = keyed(SERVICE, st.one_of(scalars, keyed(["REDIS_URL", "QUEUE_DB", "bad-name", "A=B", "X\nY", "REDIS_URL\n"], st.one_of(scalars, realistic))))
user = keyed(USER, st.one_of(scalars, st.lists(st.one_of(scalars, realistic), max_size=3)))
names = st.one_of(st.sampled_from(["n8n", "chatwoot", "default", "N8N", "a b", "a\nb", "x=y", "n8n\n", "app\r"]), any_key)
SECTION = {
    "version": st.one_of(st.just(1), st.just(2), scalars),
    "target": st.one_of(target, scalars),
    "targets": st.one_of(st.lists(target, max_size=3), scalars),
    "server": st.one_of(server, scalars, values),
    "ignore": st.one_of(st.lists(st.one_of(st.sampled_from(PARAMS), scalars), max_size=3), scalars),
    "commands": st.one_of(st.dictionaries(st.one_of(st.sampled_from(["FLUSHALL", "CONFIG", "KEYS"]), any_key), st.one_of(realistic, scalars), max_size=3), scalars),
    "services": st.one_of(st.dictionaries(names, st.one_of(service, scalars), max_size=4), values),
    "users": st.one_of(st.dictionaries(names, st.one_of(user, scalars), max_size=3), values),
    "render": st.one_of(keyed(RENDER, scalars), scalars),
    "extends": st.one_of(st.sampled_from(["base.yaml", "spec.yaml", "missing.yaml", "/dev/null", "", ".", "sub/"]), scalars),
}


@st.composite
def documents(draw):
    doc = {}
    if draw(st.integers(0, 9)):  # usually version: 1
        doc["version"] = 1
    for key in draw(st.lists(st.one_of(*[st.sampled_from(TOP)] * 6, any_key), unique=True, max_size=6)):
        doc[key] = draw(SECTION[key]) if key in SECTION else draw(values)
    return doc


# a valid spec touching every section; near_valid() damages it in one or two places,
# which reaches the checks behind the schema (services, users, commands, the catalog)
VALID = {
    "version": 1,
    "target": {"url": "redis://redis:6379", "password": "${PW:-pw}", "persist": "rewrite", "timeout": 5},
    "server": {
        "maxmemory": "1gb", "maxmemory-policy": "noeviction", "appendonly": True, "save": ["900 1", "300 10"],
        "databases": 16, "requirepass": "${PW:-pw}", "logfile": "/var/log/redis.log", "notify-keyspace-events": "Ex",
        "client-output-buffer-limit": "pubsub 32mb 8mb 60", "hz": 10,
    },
    "ignore": ["replicaof"],
    "commands": {"FLUSHALL": "disabled", "CONFIG": "cfg-x"},
    "services": {"n8n": {"db": 0, "role": "queue", "env": {"QUEUE_DB": "{{ db }}"}}, "chatwoot": {"db": 1, "user": "app"}},
    "users": {"app": {"password": "${PW:-pw}", "keys": ["app:*"], "channels": ["c"], "commands": "+@all -@dangerous"}},
    "render": {"redis_conf": "redis.conf", "env_file": ".env", "host": "redis", "port": 6379},
}


def _paths(node, path=()):
    yield path
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, path + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _paths(v, path + (i,))


ALL_PATHS = list(_paths(VALID))[1:]
KEYS = [*TOP, *TARGET, *SERVICE, *USER, *RENDER, *PARAMS]


@st.composite
def near_valid(draw):
    doc = json.loads(json.dumps(VALID))
    for _ in range(draw(st.integers(0, 2))):
        path = draw(st.sampled_from(ALL_PATHS))
        parent = doc
        try:
            for part in path[:-1]:
                parent = parent[part]
            if draw(st.booleans()):
                parent[path[-1]] = draw(st.one_of(scalars, realistic, values))  # another value
            elif isinstance(parent, dict):  # another key next to it
                parent[draw(st.one_of(st.sampled_from(KEYS), names, any_key))] = draw(st.one_of(scalars, realistic))
        except (KeyError, IndexError, TypeError):  # an earlier mutation replaced the parent
            pass
    return doc


def _block_yaml(doc) -> str:
    from ruamel.yaml import YAML

    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    yaml.allow_unicode = True
    buf = io.StringIO()
    yaml.dump(doc, buf)
    return buf.getvalue()


def _text(doc, style: str) -> str:
    if style == "yaml":
        try:
            return _block_yaml(doc)
        except Exception:  # the dumper's limits are not under test: fall back to JSON (also YAML)
            pass
    return json.dumps(doc, ensure_ascii=style == "ascii-json", default=str)


def _damage(text: str, cuts: list[tuple[int, str]]) -> str:
    for at, junk in cuts:
        at = at % (len(text) + 1)
        text = text[:at] + junk + text[at + 1 :]
    return text


BASE = "version: 1\nserver:\n  maxmemory: 1gb\n  save: ['900 1']\nservices:\n  base: {db: 5}\n"
envs = st.dictionaries(st.sampled_from(VARS), st.one_of(st.text(max_size=8), hostile_text, realistic), max_size=4)


_DIR: list[Path] = []


def _workdir() -> Path:
    """One folder for every example (hypothesis and the function-scoped tmp_path do not mix)."""
    if not _DIR:
        d = Path(tempfile.mkdtemp(prefix="borgconf-prop-"))
        (d / "base.yaml").write_text(BASE)
        (d / "sub").mkdir()
        _DIR.append(d)
    return _DIR[0]


def teardown_module(module) -> None:
    while _DIR:
        shutil.rmtree(_DIR.pop(), ignore_errors=True)


def _assert_own_error_or_spec(text: str | bytes, env: dict[str, str]) -> None:
    d = _workdir()
    try:
        path = d / "spec.yaml"
        path.write_bytes(text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text)
        try:
            spec = load_spec(path, env=env)
            _rendered_conf_reads_back(spec)
        except SpecError as e:
            assert e.problems, "a SpecError without problems"
            for p in e.problems:
                assert p.file and p.message, p
                assert "\n" not in str(p) and "\r" not in str(p), f"a problem on several lines: {str(p)!r}"
                assert p.line >= 1, f"no line: {p}"
        else:
            assert isinstance(spec, Spec)
            _every_string_is_single_line(spec)
        try:  # render's entry point into the same YAML
            referenced_variables(path)
        except SpecError:
            pass
    except BorgconfError as e:
        raise AssertionError(f"not a SpecError: {type(e).__name__}: {e}") from e


def _every_string_is_single_line(spec) -> None:
    """Values are plain scalars: a loaded spec holds no newline or NUL anywhere."""
    parts = [
        [t.model_dump() for t in spec.targets], spec.render.model_dump(), spec.commands, sorted(spec.ignore),
        {k: s.model_dump() for k, s in spec.services.items()}, {k: u.model_dump() for k, u in spec.users.items()},
        {k: (v.raw, v.checked) for k, v in spec.server.items()},
    ]

    def walk(node) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                walk(k)
                walk(v)
        elif isinstance(node, (list, tuple, set)):
            for v in node:
                walk(v)
        elif isinstance(node, str):
            assert not any(c in node for c in "\n\r\x00"), f"a loaded spec holds {node!r}"

    walk(parts)


def _rendered_conf_reads_back(spec) -> None:
    """A loaded spec renders a redis.conf (or refuses with borgconf's error) whose
    every line is one directive Redis reads back: no value starts another line."""
    from conf_syntax import directives

    from borgconf.render import render_redis_conf

    try:
        conf = render_redis_conf(spec, total_memory=1 << 30)
    except BorgconfError as e:  # a spec that loaded renders; only a percentage of tiny memory may not
        assert "%" in str(e) or "memory" in str(e), f"a valid spec did not render: {e}"
        return
    allowed = {p.name for p in catalog()} | {"user", "rename-command"}
    lines = directives(conf)
    assert {args[0] for args in lines} <= allowed, conf
    # with an aclfile the users live in that file: Redis refuses user lines next to it
    users_in_conf = 0 if "aclfile" in spec.server else len(spec.users)
    assert sum(args[0] == "user" for args in lines) == users_in_conf, conf


def test_a_valid_spec_with_an_aclfile_renders_no_user_lines():
    """The property's expectation holds for a spec whose users go to an aclfile
    (found by a read of the property: it expected one user line per user)."""
    doc = json.loads(json.dumps(VALID))
    doc["server"]["aclfile"] = "/etc/redis/users.acl"
    _assert_own_error_or_spec(json.dumps(doc), {})


@SETTINGS
@given(doc=st.one_of(documents(), near_valid()), style=st.sampled_from(["yaml", "json", "ascii-json"]), env=envs, cuts=st.lists(st.tuples(st.integers(0, 10**6), st.sampled_from(["", "\t", ":", "[", "{", "'", '"', "&a", "*a", "!!python/none", "- ", "\n  ", "\x00", "#"])), max_size=2))
def test_generated_documents_load_or_raise_spec_error(doc, style, env, cuts):
    _assert_own_error_or_spec(_damage(_text(doc, style), cuts), env)


@SETTINGS
@given(text=st.text(), env=envs)
def test_random_text_loads_or_raises_spec_error(text, env):
    _assert_own_error_or_spec(text, env)


@SETTINGS
@given(prefix=st.sampled_from(["", "version: 1\n", "version: 1\nserver:\n  ", "version: 1\nservices:\n  a: "]), data=st.binary(max_size=64))
def test_random_bytes_load_or_raise_spec_error(prefix, data):
    _assert_own_error_or_spec(prefix.encode() + data, {})
