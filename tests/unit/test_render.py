"""borgconf render without a server: redis.conf lines, .env contents, secrets,
database moves, the sandbox, --check, the CLI, and the BorgStack example."""

from __future__ import annotations

import io
import re
import stat
import subprocess
import sys
import textwrap
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

import pytest
from dotenv import dotenv_values

from borgconf import params as P
from borgconf import redact
from borgconf.cli import main
from borgconf.errors import RenderError
from borgconf.live import RENAMED_ELSEWHERE, parse_command_info, parse_command_list
from borgconf.render import (
    conf_quote,
    directive_lines,
    mask_conf_line,
    persist_file_writer,
    render_files,
    service_url,
    templates_dir,
)
from borgconf.spec import load_spec, referenced_variables

ROOT = Path(__file__).resolve().parents[2]
BORGSTACK = ROOT / "specs" / "borgstack.yaml"


@pytest.fixture(autouse=True)
def _clean_secrets():
    redact.clear()
    yield
    redact.clear()


def spec_file(tmp_path: Path, body: str, name: str = "spec.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(body).lstrip())
    return path


def env_of(path: Path) -> dict[str, str]:
    return {k: v for k, v in dotenv_values(path).items() if v is not None}


BASE = """
version: 1
target:
  url: redis://127.0.0.1:6379
  password: ${REDIS_PASSWORD}
server:
  requirepass: ${REDIS_PASSWORD}
  appendonly: yes
services:
  n8n: {db: 0}
  directus:
    db: 2
    env:
      REDIS_HOST: "{{ host }}"
      REDIS_PORT: "{{ port }}"
      REDIS_PASSWORD: "{{ password }}"
render:
  host: redis
"""


# ---------------------------------------------------------------- templates


def test_templates_are_found_in_the_repository_for_an_editable_install():
    assert templates_dir() in (ROOT / "templates", ROOT / "borgconf" / "templates")
    assert (templates_dir() / "redis.conf.j2").is_file() and (templates_dir() / "env.j2").is_file()
    assert not (ROOT / "templates" / ".keep").exists()


def test_cli_start_up_does_not_import_jinja2(tmp_path):
    spec = spec_file(tmp_path, "version: 1\nserver: {maxmemory: 1gb}\n")
    code = (
        "import sys; from borgconf.cli import main; "
        f"rc = main(['validate', {str(spec)!r}]); "
        "assert rc == 0, rc; assert 'jinja2' not in sys.modules, 'validate imported jinja2'; "
        "rc = main(['--version']); assert 'jinja2' not in sys.modules"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 0, r.stderr


# ---------------------------------------------------------------- redis.conf


@pytest.mark.parametrize(
    "arg, quoted",
    [
        ("noeviction", "noeviction"),
        ("10%", "10%"),
        ("", '""'),
        ("two words", '"two words"'),
        ("hash#", '"hash#"'),
        ('say "hi"', '"say \\"hi\\""'),
        ("back\\slash", '"back\\\\slash"'),
        ("it's", '"it\'s"'),
        ("tab\there", '"tab\\there"'),
        ("\x01", '"\\x01"'),
        ("ünï", '"ünï"'),
    ],
)
def test_conf_quote(arg, quoted):
    assert conf_quote(arg) == quoted


def test_directive_lines_per_type():
    cat = P.catalog()
    assert directive_lines(cat.lookup("save"), "900 1 300 10") == [["900", "1"], ["300", "10"]]
    assert directive_lines(cat.lookup("save"), "") == [['""']]
    assert directive_lines(cat.lookup("client-output-buffer-limit"), "slave 268435456 67108864 60 pubsub 33554432 8388608 60") == [
        ["replica", "256mb", "64mb", "60"],
        ["pubsub", "32mb", "8mb", "60"],
    ]
    assert directive_lines(cat.lookup("maxmemory"), "2147483648") == [["2gb"]]
    assert directive_lines(cat.lookup("maxmemory"), "2000000000") == [["1953125kb"]]  # what REWRITE writes too
    assert directive_lines(cat.lookup("maxmemory"), "2000000001") == [["2000000001"]]
    assert directive_lines(cat.lookup("requirepass"), "plain") == [['"plain"']]
    assert directive_lines(cat.lookup("notify-keyspace-events"), "") == [['""']]
    assert directive_lines(cat.lookup("bind"), "127.0.0.1 -::1") == [["127.0.0.1", "-::1"]]
    assert directive_lines(cat.lookup("replicaof"), "") == []


def test_redis_conf_has_every_parameter_no_inline_comment_and_quoted_secrets(tmp_path):
    spec = spec_file(
        tmp_path,
        BASE
        + """
commands:
  FLUSHALL: disabled
  KEYS: enabled
  CONFIG: cfg_renamed
""",
    )
    spec.write_text(spec.read_text().replace("  appendonly: yes\n", "  appendonly: yes\n  save: [\"900 1\", \"60 10000\"]\n  maxmemory: 25%\n  notify-keyspace-events: Ex\n"))
    result = render_files(str(spec), out_dir=tmp_path / "out", environ={"REDIS_PASSWORD": 'p "w" #1'}, total_memory=4 * 1024**3)
    conf = (tmp_path / "out" / "redis.conf").read_text()
    lines = [ln for ln in conf.splitlines() if ln and not ln.startswith("#")]
    assert "save 900 1" in lines and "save 60 10000" in lines
    assert "maxmemory 1gb" in lines  # 25% of 4 GiB
    assert 'requirepass "p \\"w\\" #1"' in lines
    assert 'rename-command FLUSHALL ""' in lines and "rename-command CONFIG cfg_renamed" in lines
    assert not any("KEYS" in ln for ln in lines)
    assert "notify-keyspace-events xE" in lines
    # a comment only ever starts a line
    for ln in lines:
        assert not re.search(r"\s#", ln.replace('"p \\"w\\" #1"', "")), ln
    assert stat.S_IMODE((tmp_path / "out" / "redis.conf").stat().st_mode) == 0o600
    assert result.files[0].mode == 0o600


def test_redis_conf_without_secrets_is_world_readable(tmp_path):
    spec = spec_file(tmp_path, "version: 1\nserver: {maxmemory: 1gb}\n")
    render_files(str(spec), out_dir=tmp_path)
    assert stat.S_IMODE((tmp_path / "redis.conf").stat().st_mode) == 0o644
    assert stat.S_IMODE((tmp_path / ".env").stat().st_mode) == 0o600


def test_acl_users_are_rendered_unless_an_aclfile_is_used(tmp_path):
    body = """
version: 1
users:
  n8n: {password: "p w Kx9fQm2z", keys: ["bull:*"], commands: "+@all -@dangerous"}
services:
  n8n: {db: 0, user: n8n}
"""
    spec = spec_file(tmp_path, body)
    render_files(str(spec), out_dir=tmp_path / "a")
    assert 'user n8n on ">p w Kx9fQm2z" ~bull:* resetchannels +@all -@dangerous' in (tmp_path / "a" / "redis.conf").read_text()
    env = env_of(tmp_path / "a" / ".env")
    assert env["N8N_REDIS_URL"] == "redis://n8n:p%20w%20Kx9fQm2z@redis:6379/0"
    spec.write_text(spec.read_text().replace("version: 1\n", "version: 1\nserver: {aclfile: /etc/redis/users.acl}\n"))
    render_files(str(spec), out_dir=tmp_path / "b")
    assert "user n8n" not in (tmp_path / "b" / "redis.conf").read_text()


# ---------------------------------------------------------------- .env and secrets


def test_first_render_generates_the_password_and_later_renders_keep_it(tmp_path):
    spec = spec_file(tmp_path, BASE)
    r1 = render_files(str(spec), environ={})
    env_path = tmp_path / ".env"
    env = env_of(env_path)
    password = env["REDIS_PASSWORD"]
    assert r1.secrets.generated == ["REDIS_PASSWORD"]
    assert len(password) >= 32 and re.fullmatch(r"[A-Za-z0-9_-]+", password)
    assert password in redact.known()
    assert env["N8N_REDIS_URL"] == f"redis://:{password}@redis:6379/0"
    assert env["REDIS_HOST"] == "redis" and env["REDIS_PORT"] == "6379"
    assert stat.S_IMODE(env_path.stat().st_mode) == 0o600
    conf = (tmp_path / "redis.conf").read_text()
    assert f'requirepass "{password}"' in conf

    # the user adds things; a second render keeps them and the password
    env_path.write_text(env_path.read_text() + "\n# mine\nTZ=UTC\n")
    r2 = render_files(str(spec), environ={})
    assert r2.secrets.generated == [] and r2.secrets.kept == ["REDIS_PASSWORD"]
    assert env_of(env_path)["REDIS_PASSWORD"] == password
    assert "# mine\nTZ=UTC\n" in env_path.read_text()
    assert not any(f.changed for f in r2.files)

    # the password in the environment must not silently replace the one in .env
    with pytest.raises(RenderError, match="never replaces a secret"):
        render_files(str(spec), environ={"REDIS_PASSWORD": "other"})
    assert env_of(env_path)["REDIS_PASSWORD"] == password


def test_a_password_from_the_environment_is_written_once(tmp_path):
    spec = spec_file(tmp_path, BASE)
    result = render_files(str(spec), environ={"REDIS_PASSWORD": "from-env"})
    assert result.secrets.from_environment == ["REDIS_PASSWORD"]
    assert env_of(tmp_path / ".env")["REDIS_PASSWORD"] == "from-env"


def test_an_optional_secret_is_not_generated(tmp_path):
    spec = spec_file(tmp_path, "version: 1\ntarget: {password: '${REDIS_PASSWORD:-}'}\nservices: {app: {db: 1}}\n")
    result = render_files(str(spec), environ={})
    assert result.secrets.values == {}
    assert env_of(tmp_path / ".env") == {"APP_REDIS_URL": "redis://redis:6379/1"}


def test_users_passwords_and_renamed_commands_are_generated_too(tmp_path):
    spec = spec_file(
        tmp_path,
        """
version: 1
target: {config_command: "${CFG}"}
commands: {CONFIG: "${CFG}"}
users: {app: {password: "${APP_PW}"}}
services: {app: {db: 1, user: app}}
""",
    )
    result = render_files(str(spec), environ={})
    assert sorted(result.secrets.generated) == ["APP_PW", "CFG"]
    env = env_of(tmp_path / ".env")
    assert re.fullmatch(r"cmd_[0-9a-f]{32}", env["CFG"])
    assert env["APP_REDIS_URL"] == f"redis://app:{env['APP_PW']}@redis:6379/1"
    assert f"rename-command CONFIG {env['CFG']}" in (tmp_path / "redis.conf").read_text()


def test_url_percent_encodes_user_and_password():
    url = service_url("redis", "redis", 6379, 3, "n8n@x", "p@ss:w/rd%$'\" \\")
    assert url == "redis://n8n%40x:p%40ss%3Aw%2Frd%25%24%27%22%20%5C@redis:6379/3"
    parts = urlsplit(url)
    assert unquote(parts.password) == "p@ss:w/rd%$'\" \\" and unquote(parts.username) == "n8n@x"
    assert service_url("rediss", "h", 1, 0, None, None) == "rediss://h:1/0"


def test_env_snippets_render_in_a_sandbox_with_strict_undefined(tmp_path):
    base = "version: 1\nserver: {requirepass: Pw9xKq2mZr4t}\nservices:\n  app:\n    db: 4\n    env:\n      X: "
    spec = spec_file(tmp_path, base + repr("{{ url }}|{{ host }}|{{ port }}|{{ db }}|{{ password }}|{{ username }}") + "\n")
    render_files(str(spec), environ={})
    assert env_of(tmp_path / ".env")["X"] == "redis://:Pw9xKq2mZr4t@redis:6379/4|redis|6379|4|Pw9xKq2mZr4t|"
    spec.write_text(base + repr("{{ nope }}") + "\n")
    with pytest.raises(RenderError, match=r"services\.app\.env\.X: UndefinedError"):
        render_files(str(spec), environ={})
    spec.write_text(base + repr("{{ url.__class__.__mro__ }}") + "\n")
    with pytest.raises(RenderError, match=r"services\.app\.env\.X: SecurityError"):
        render_files(str(spec), environ={})


def test_two_services_setting_one_variable_differently_is_an_error(tmp_path):
    spec = spec_file(
        tmp_path,
        "version: 1\nservices:\n  a: {db: 1, env: {REDIS_DB: '{{ db }}'}}\n  b: {db: 2, env: {REDIS_DB: '{{ db }}'}}\n",
    )
    with pytest.raises(RenderError, match="REDIS_DB is set by service a and by service b"):
        render_files(str(spec), environ={})


def test_a_value_env_files_cannot_hold_is_refused_by_name(tmp_path):
    spec = spec_file(tmp_path, "version: 1\nserver: {requirepass: Pw9xKq2mZr4t}\nservices:\n  a: {db: 1, env: {X: \"it's $HOME\"}}\n")
    with pytest.raises(RenderError, match="X: its value cannot be written"):
        render_files(str(spec), environ={})
    assert not (tmp_path / ".env").exists() and not (tmp_path / "redis.conf").exists()


def test_moving_a_service_to_another_database_needs_allow_db_move(tmp_path):
    spec = spec_file(tmp_path, BASE)
    render_files(str(spec), environ={})
    before = (tmp_path / ".env").read_text()
    spec.write_text(spec.read_text().replace("n8n: {db: 0}", "n8n: {db: 5}"))
    with pytest.raises(RenderError, match=r"service n8n: database 0 -> 5"):
        render_files(str(spec), environ={})
    assert (tmp_path / ".env").read_text() == before
    result = render_files(str(spec), environ={}, allow_db_move=True)
    assert result.db_moves and env_of(tmp_path / ".env")["N8N_REDIS_URL"].endswith("/5")


def test_paths_are_relative_to_the_spec_and_out_dir_takes_the_file_names(tmp_path):
    (tmp_path / "specs").mkdir()
    (tmp_path / ".git").mkdir()  # ../deploy is inside the spec's repository
    spec = spec_file(tmp_path / "specs", "version: 1\nrender: {redis_conf: ../deploy/redis.conf, env_file: ../deploy/app.env}\n")
    render_files(str(spec), environ={})
    assert (tmp_path / "deploy" / "redis.conf").is_file() and (tmp_path / "deploy" / "app.env").is_file()
    render_files(str(spec), out_dir=tmp_path / "scratch", environ={})
    assert sorted(p.name for p in (tmp_path / "scratch").iterdir()) == ["app.env", "redis.conf"]


def test_persist_file_writer_writes_render_redis_conf(tmp_path):
    spec_path = spec_file(tmp_path, "version: 1\nserver: {maxmemory: 1gb, requirepass: pw}\nrender: {redis_conf: conf/redis.conf}\n")
    spec = load_spec(spec_path, env={})
    write = persist_file_writer(spec)
    assert not (tmp_path / "conf" / "redis.conf").exists()  # rendered now, written on call
    write()
    text = (tmp_path / "conf" / "redis.conf").read_text()
    assert "maxmemory 1gb" in text and 'requirepass "pw"' in text
    assert stat.S_IMODE((tmp_path / "conf" / "redis.conf").stat().st_mode) == 0o600


def test_referenced_variables_lists_names_and_defaults_without_validating(tmp_path):
    spec = spec_file(tmp_path, "version: 1\nserver: {requirepass: '${A}', maxmemory: '${B:-1gb}', nonsense: x}\nrender: {host: '$${LITERAL}'}\n")
    _, refs = referenced_variables(spec)
    assert refs == {("server", "requirepass"): {"A": None}, ("server", "maxmemory"): {"B": "1gb"}}


# ---------------------------------------------------------------- CLI


def test_cli_render_then_check_and_no_secret_in_any_output(tmp_path, capsys):
    spec = spec_file(tmp_path, BASE)
    rc = main(["render", str(spec)])
    out, err = capsys.readouterr()
    assert rc == 0, err
    password = env_of(tmp_path / ".env")["REDIS_PASSWORD"]
    assert "generated REDIS_PASSWORD" in out
    assert main(["render", "--check", str(spec)]) == 0
    out2, err2 = capsys.readouterr()
    assert "up to date" in out2

    (tmp_path / "redis.conf").write_text("# edited by hand\n")
    (tmp_path / ".env").write_text((tmp_path / ".env").read_text().replace("REDIS_PORT=6379", "REDIS_PORT=1"))
    rc = main(["render", "--check", str(spec)])
    out3, err3 = capsys.readouterr()
    assert rc == 2
    # .env: the name of what changes, never a value (product.md section 8)
    assert "~ REDIS_PORT (changed)" in out3 and "REDIS_PORT=" not in out3
    assert "+requirepass" in out3 and "***" in out3
    assert (tmp_path / "redis.conf").read_text() == "# edited by hand\n"  # --check writes nothing
    for text in (out, err, out2, err2, out3, err3):
        assert password not in text


def test_cli_check_without_files_exits_2_and_writes_nothing(tmp_path, capsys):
    spec = spec_file(tmp_path, BASE)
    assert main(["render", "--check", str(spec), "--out-dir", str(tmp_path / "out")]) == 2
    out, _ = capsys.readouterr()
    assert "would create" in out and "REDIS_PASSWORD would be generated" in out
    assert not (tmp_path / "out").exists()


def test_cli_render_errors_exit_1(tmp_path, capsys):
    spec = spec_file(tmp_path, BASE)
    main(["render", str(spec)])
    spec.write_text(spec.read_text().replace("n8n: {db: 0}", "n8n: {db: 3}"))
    capsys.readouterr()
    assert main(["render", str(spec)]) == 1
    _, err = capsys.readouterr()
    assert "--allow-db-move" in err
    assert main(["render", str(spec), "--allow-db-move"]) == 0


# ---------------------------------------------------------------- dangerous commands, from captured replies


def test_command_state_from_the_servers_own_replies():
    # redis-facts/*/renames.md: FLUSHALL "" (disabled), FLUSHDB -> FDB_x1, CONFIG -> CFG_secret
    names = ["FLUSHALL", "FLUSHDB", "CONFIG", "FDB_x1", "CFG_secret"]
    reply = [None, None, None, ["flushdb", -1, ["write"]], ["config", -2, []]]
    listed = parse_command_list(["FLUSHALL", "FLUSHDB", "CONFIG"], [[], ["flushdb"], ["config"]])
    assert listed == {"FLUSHALL": False, "FLUSHDB": True, "CONFIG": True}
    wanted = {"FLUSHALL": "disabled", "FLUSHDB": "FDB_x1", "CONFIG": "CFG_secret"}
    assert parse_command_info(names, reply, wanted, listed) == wanted
    # the spec now wants FLUSHDB disabled: renamed elsewhere is not "disabled"
    state = parse_command_info(["FLUSHDB"], [None], {"FLUSHDB": "disabled"}, {"FLUSHDB": True})
    assert state == {"FLUSHDB": RENAMED_ELSEWHERE}
    state = parse_command_info(["KEYS"], [["keys", 2, []]], {"KEYS": "disabled"}, {"KEYS": True})
    assert state == {"KEYS": "enabled"}


# ---------------------------------------------------------------- the BorgStack example


def test_borgstack_spec_is_the_seed_stack(tmp_path):
    spec = load_spec(BORGSTACK, env={"REDIS_PASSWORD": "x"})
    assert {n: s.db for n, s in spec.services.items()} == {"n8n": 0, "chatwoot": 1, "directus": 2, "lowcoder": 3}
    assert spec.server["appendonly"].checked == "yes" and spec.server["appendfsync"].checked == "everysec"
    assert P.canonical_save(spec.server["save"].checked) == "900 1 300 10 60 10000"
    assert spec.server["maxmemory-policy"].checked == "noeviction"
    assert spec.commands == {"FLUSHALL": "disabled", "FLUSHDB": "disabled"}
    assert spec.target.persist == "file"
    _, refs = referenced_variables(BORGSTACK)
    assert refs[("server", "requirepass")] == {"REDIS_PASSWORD": None}


def test_compose_file_maps_the_rendered_variables_into_the_four_apps(tmp_path):
    from ruamel.yaml import YAML

    render_files(str(BORGSTACK), out_dir=tmp_path, environ={})
    env = env_of(tmp_path / ".env")
    compose = YAML(typ="safe").load((ROOT / "examples" / "borgstack" / "docker-compose.yml").read_text())
    services = compose["services"]
    redis = services["redis"]
    assert "./redis.conf:/usr/local/etc/redis/redis.conf:ro" in redis["volumes"]
    assert redis["command"][-1] == "/usr/local/etc/redis/redis.conf"
    expected = {
        "n8n": {"QUEUE_BULL_REDIS_HOST", "QUEUE_BULL_REDIS_PORT", "QUEUE_BULL_REDIS_PASSWORD", "QUEUE_BULL_REDIS_DB"},
        "chatwoot": {"REDIS_URL"},
        "directus": {"REDIS_HOST", "REDIS_PORT", "REDIS_PASSWORD", "REDIS_DB"},
        "lowcoder": {"LOWCODER_REDIS_URL"},
    }
    for app, names in expected.items():
        mapped = {k: v for k, v in services[app]["environment"].items() if isinstance(v, str) and v.startswith("${")}
        assert set(mapped) == names, app
        for key, ref in mapped.items():
            assert ref == "${" + key + "}"
            assert key in env, f"{app}: {key} is not in the rendered .env"
    assert env["QUEUE_BULL_REDIS_DB"] == "0" and env["REDIS_URL"].endswith("@redis:6379/1")
    assert env["REDIS_DB"] == "2" and env["LOWCODER_REDIS_URL"].endswith("@redis:6379/3")
    # every ${VAR} of the compose file is in .env or has a default
    text = (ROOT / "examples" / "borgstack" / "docker-compose.yml").read_text()
    for name, default in re.findall(r"(?<!\$)\$\{([A-Z_][A-Z0-9_]*)(:-[^}]*)?\}", text):
        assert name in env or default, name


def test_services_need_unique_databases_below_databases(tmp_path):
    from borgconf.errors import SpecError

    spec = spec_file(tmp_path, "version: 1\nserver: {databases: 4}\nservices:\n  a: {db: 1}\n  b: {db: 1}\n  c: {db: 4}\n")
    with pytest.raises(SpecError) as exc:
        render_files(str(spec), environ={})
    text = str(exc.value)
    assert "database 1 is already used by service 'a'" in text and "database 4 does not exist" in text
    assert not (tmp_path / ".env").exists()


def test_known_apps_get_their_role_and_blocks_say_so(tmp_path):
    render_files(str(BORGSTACK), out_dir=tmp_path, environ={})
    text = (tmp_path / ".env").read_text()
    for title in ("# n8n: database 0, queue", "# chatwoot: database 1, queue", "# directus: database 2, cache", "# lowcoder: database 3, session"):
        assert title in text
    assert "# also uses REDIS_PASSWORD (above)" in text  # Directus reads the same variable as the secret


# ---------------------------------------------------------------- --check never prints a secret


def test_check_shows_env_variable_names_only_never_other_applications_values(tmp_path, capsys):
    spec = spec_file(tmp_path, BASE)
    assert main(["render", str(spec)]) == 0
    env_path = tmp_path / ".env"
    text = env_path.read_text()
    # the .env is shared with the rest of the stack: its other secrets sit next to borgconf's lines
    text = text.replace("REDIS_PORT=6379\n", "POSTGRES_PASSWORD=pg-Secret-1\nREDIS_PORT=1\nN8N_ENCRYPTION_KEY=enc-Secret-2\n")
    env_path.write_text("STRIPE_KEY=sk-Secret-3\n" + text)
    spec.write_text(spec.read_text().replace("  n8n: {db: 0}\n", "  n8n: {db: 0}\n  chatwoot: {db: 1}\n"))
    capsys.readouterr()
    rc = main(["render", "--check", str(spec)])
    out, err = capsys.readouterr()
    assert rc == 2, err
    assert "~ REDIS_PORT (changed)" in out and "+ CHATWOOT_REDIS_URL (added)" in out
    password = env_of(env_path)["REDIS_PASSWORD"]
    for secret in ("pg-Secret-1", "enc-Secret-2", "sk-Secret-3", password, "REDIS_PORT=", "redis://"):
        assert secret not in out + err, secret
    assert env_of(env_path)["REDIS_PORT"] == "1"  # --check wrote nothing


def test_check_after_a_rotation_masks_old_and_new_secrets_on_both_sides(tmp_path, capsys):
    body = BASE + """
users:
  app: {password: "${APP_PW}", keys: ["app:*"]}
commands:
  FLUSHALL: disabled
  CONFIG: "${CFG}"
"""
    spec = spec_file(tmp_path, body.replace("  n8n: {db: 0}\n", "  n8n: {db: 0}\n  app: {db: 5, user: app}\n"))
    old = {"REDIS_PASSWORD": "old pw/1#x", "APP_PW": "old-app-Pw9", "CFG": "cmd_oldConfigName"}
    new = {"REDIS_PASSWORD": "New-Pw-2", "APP_PW": "new app pw", "CFG": "cmd_newConfigName"}
    assert render_files(str(spec), environ=old).written
    env_path = tmp_path / ".env"
    text = env_path.read_text()
    for name in old:  # the operator rotates the secrets in .env; the old ones may still be live
        text = re.sub(rf"^{name}=.*$", f"{name}='{new[name]}'", text, flags=re.M)
    env_path.write_text(text)
    redact.clear()
    capsys.readouterr()
    rc = main(["render", "--check", str(spec)])
    out, err = capsys.readouterr()
    assert rc == 2, err
    assert "-requirepass ***" in out and "+requirepass ***" in out
    assert "-user app on >*** ~app:*" in out and "+user app on >*** ~app:*" in out
    assert "-rename-command CONFIG ***" in out and "+rename-command CONFIG ***" in out
    assert 'rename-command FLUSHALL ""' in out  # disabling a command is no secret
    assert "~ N8N_REDIS_URL (changed)" in out and "~ APP_REDIS_URL (changed)" in out
    for value in [*old.values(), *new.values()]:
        for shown in (value, quote(value, safe=""), conf_quote(value, always=True)[1:-1]):
            assert shown not in out + err, shown
    assert "redis://" not in out


@pytest.mark.parametrize(
    "line, masked",
    [
        ('requirepass "p \\"w\\" #1"', "requirepass ***"),
        ("  masterauth secret", "  masterauth ***"),
        ("primaryauth secret", "primaryauth ***"),
        ("MasterAuth secret", "MasterAuth ***"),
        ("tls-key-file-pass secret", "tls-key-file-pass ***"),
        ("tls-client-key-file-pass secret", "tls-client-key-file-pass ***"),
        ("sentinel auth-pass mymaster secret", "sentinel auth-pass ***"),
        ('user n8n on ">p w" ~bull:* resetchannels +@all -@dangerous', "user n8n on >*** ~bull:* resetchannels +@all -@dangerous"),
        ("user a on #5e88489 <old !5e88 nopass", "user a on #*** <*** !*** nopass"),
        ('user a on ">unbalanced', "user a ***"),
        ('requirepass "unbalanced', "requirepass ***"),
        ("rename-command CONFIG cfg_secret", "rename-command CONFIG ***"),
        ('rename-command FLUSHALL ""', 'rename-command FLUSHALL ""'),
        ("# requirepass foobared", "# requirepass ***"),
        ("maxmemory 1gb", "maxmemory 1gb"),
        ("# redis.conf rendered by borgconf", "# redis.conf rendered by borgconf"),
        ("", ""),
    ],
)
def test_mask_conf_line(line, masked):
    assert mask_conf_line(line) == masked


# ---------------------------------------------------------------- services.*.env snippets fail as RenderErrors


SNIPPET_SPEC = "version: 1\nserver: {requirepass: 'Snip-Secret-7'}\nservices:\n  app:\n    db: 4\n    env:\n      X: %s\n"


def snippet_spec(tmp_path: Path, snippet: str) -> Path:
    return spec_file(tmp_path, SNIPPET_SPEC % repr(snippet))


@pytest.mark.parametrize(
    "snippet, error",
    [
        ("{{ 1/0 }}", "ZeroDivisionError"),
        ('{{ db + "x" }}', "TypeError"),
        ("{{ range(10**9)|list }}", "UndefinedError: 'range' is undefined"),
        ("{{ url|wordwrap(0) }}", "ValueError"),
        ("{{ url|truncate(-1) }}", "AssertionError"),
        ("{{ lipsum(10**7) }}", "UndefinedError: 'lipsum' is undefined"),
        ("{{ {}[password] }}", "UndefinedError"),  # its message would quote the key
        ("{{ {}[url] }}", "UndefinedError"),
        ("{{ (2.0 ** 10000) }}", "OverflowError"),
        ("{{ url[1000] }}", "UndefinedError"),
        ("{{ password[2:]|int + password }}", "TypeError"),
    ],
)
def test_a_snippet_that_fails_at_runtime_is_a_render_error_naming_service_and_variable(tmp_path, capsys, snippet, error):
    spec = snippet_spec(tmp_path, snippet)
    with pytest.raises(RenderError) as exc:
        render_files(str(spec), environ={})
    message = str(exc.value)
    assert re.search(r"spec\.yaml:\d+:\d+: services\.app\.env\.X: ", message), message
    assert error in message
    assert "Snip-Secret-7" not in message and "Secret-7" not in message
    capsys.readouterr()
    assert main(["render", str(spec)]) == 1
    out, err = capsys.readouterr()
    assert "internal error" not in err and "services.app.env.X" in err and "Secret-7" not in out + err
    assert not (tmp_path / ".env").exists()


@pytest.mark.parametrize("name", ["range", "lipsum", "dict", "cycler", "joiner", "namespace"])
def test_the_snippet_sandbox_has_no_globals(tmp_path, name):
    spec = snippet_spec(tmp_path, "{{ %s }}" % name)
    with pytest.raises(RenderError, match=rf"UndefinedError: '{name}' is undefined"):
        render_files(str(spec), environ={})


@pytest.mark.parametrize(
    "snippet",
    [
        "{{ lipsum(10**7) }}",
        "{{ range(10**9)|list }}",
        '{{ "x" * 10**9 }}',
        "{{ 7 ** 100000000 }}",
        "{{ 5|round(-1000000000) }}",
        "{{ url|center(1000000000) }}",
        "{{ url.center(1000000000) }}",
        "{{ url.zfill(1000000000) }}",
        '{{ "%0999999999d"|format(1) }}',
        '{{ "%0999999999d" % 1 }}',
        '{{ "%*d" % (999999999, 1) }}',
        '{{ "{:>999999999}".format(1) }}',
        "{{ url|list|slice(1000000000)|list }}",
        '{{ url|replace("", url)|replace("", url)|replace("", url)|replace("", url) }}',
        "{{ url|list|join(url)|list|join(url)|list|join(url)|list|join(url) }}",
        "{% for a in url %}{% for b in url %}{% for c in url %}{% for d in url %}{% for e in url %}x{% endfor %}{% endfor %}{% endfor %}{% endfor %}{% endfor %}",
        "{% set a = url ~ url %}{{ a }}",
        "{% macro m() %}x{% endmacro %}{{ m() }}",
    ],
)
def test_expensive_snippets_are_refused_quickly(tmp_path, snippet):
    import time

    spec = snippet_spec(tmp_path, snippet)
    start = time.monotonic()
    with pytest.raises(RenderError, match=r"services\.app\.env\.X: (SecurityError|UndefinedError)"):
        render_files(str(spec), environ={})
    assert time.monotonic() - start < 2


def test_ordinary_snippets_still_render(tmp_path):
    snippet = (
        '{{ url|replace("redis://", "rediss://") }}|{{ "%s:%s"|format(host, port) }}|{{ host.upper() }}'
        '|{{ "db%02d" % db }}|{{ "{}-{}".format(host, db) }}|{{ username|default("default", true) }}'
        '|{{ password|urlencode }}|{{ db if db > 1 else "low" }}|{% if password %}auth{% endif %}|{{ (url|length) > 10 }}'
        '|{{ [host, port]|join(":") }}|{{ password|length }}'
    )
    render_files(str(snippet_spec(tmp_path, snippet)), environ={})
    assert env_of(tmp_path / ".env")["X"] == (
        "rediss://:Snip-Secret-7@redis:6379/4|redis:6379|REDIS|db04|redis-4|default|Snip-Secret-7|4|auth|True|redis:6379|13"
    )


# ---------------------------------------------------------------- unusable render paths


def test_a_nul_in_render_env_file_is_a_positioned_error_not_a_crash(tmp_path, capsys):
    spec = spec_file(tmp_path, 'version: 1\nservices: {app: {db: 1}}\nrender: {env_file: ".env\\0x"}\n')
    from borgconf.errors import SpecError

    with pytest.raises(SpecError, match=r"spec\.yaml:3:\d+: render\.env_file: .*NUL"):
        render_files(str(spec), environ={})
    for args in (["render", str(spec)], ["render", "--check", str(spec)]):
        capsys.readouterr()
        assert main(args) == 1
        out, err = capsys.readouterr()
        assert "internal error" not in err and re.search(r"spec\.yaml:3:\d+: render\.env_file: ", err), err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["spec.yaml"]


def test_read_text_of_an_unusable_name_is_a_render_error(tmp_path):
    from borgconf.render import _read_text

    with pytest.raises(RenderError, match="cannot hold a NUL"):
        _read_text(tmp_path / "a\0b")
    (tmp_path / "bin").write_bytes(b"\xff\xfe")
    with pytest.raises(RenderError, match="not UTF-8"):
        _read_text(tmp_path / "bin")
    with pytest.raises(RenderError, match="cannot read"):
        _read_text(tmp_path)  # a directory


# ---------------------------------------------------------------- persist: file resolves 25% against the server


def test_persist_file_writer_resolves_a_percentage_against_the_servers_memory(tmp_path, monkeypatch):
    import borgconf.render.conf as R

    monkeypatch.setattr(R, "local_total_memory", lambda: 1000 * 1024**3)  # never this machine's
    spec_path = spec_file(tmp_path, "version: 1\nserver: {maxmemory: 25%}\nrender: {redis_conf: redis.conf}\n")
    spec = load_spec(spec_path, env={})
    conf = tmp_path / "redis.conf"

    write = persist_file_writer(spec, total_memory=4 * 1024**3)  # spec mode: the LiveState read before apply
    write()
    assert "maxmemory 1gb" in conf.read_text()
    write(8 * 1024**3)  # what apply_target read under its lock wins
    assert "maxmemory 2gb" in conf.read_text()
    write(None)
    assert "maxmemory 1gb" in conf.read_text()

    write = persist_file_writer(spec)  # a plan file: apply_target passes the memory on the call
    write(total_memory=2 * 1024**3)
    assert "maxmemory 512mb" in conf.read_text()


@pytest.mark.parametrize("server_port, render_port, want", [(None, None, 6379), (6380, None, 6380), (6380, 7000, 7000), (None, 7000, 7000)])
def test_the_port_in_the_env_urls(tmp_path, capsys, server_port, render_port, want):
    """README: render.port is the port in the .env URLs; default server.port, else 6379."""
    server = "  requirepass: Example_value_1\n" + (f"  port: {server_port}\n" if server_port else "")
    render = "render:\n  host: cache\n" + (f"  port: {render_port}\n" if render_port else "")
    spec = tmp_path / "s.yaml"
    spec.write_text(f"version: 1\nserver:\n{server}services:\n  app: {{db: 3}}\n{render}")
    capsys.readouterr()
    assert main(["render", str(spec)]) == 0, capsys.readouterr()
    url = dotenv_values(tmp_path / ".env")["APP_REDIS_URL"]
    assert urlsplit(url).port == want and urlsplit(url).hostname == "cache" and url.endswith("/3")
