"""The README is true about the command line.

- every `borgconf ...` line in its shell code blocks parses with the real CLI
  (the subcommand exists, every option exists on it and takes the value given);
- every option named in a row of its Commands table is an option of that
  command, and every option the CLI has (walking click's command tree) is
  named in that command's row or in the "Everywhere:" line;
- the options the README says work everywhere work on every command
  (--env-file: every command that reads a spec), before and after the
  subcommand, and do what they say there;
- the spec in "The spec (version 1)" is valid for borgconf and for the JSON
  Schema; the shell completion lines are there.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest
from ruamel.yaml import YAML

_TESTS = str(Path(__file__).resolve().parents[1])
if _TESTS not in sys.path:
    sys.path.insert(0, _TESTS)

from cli_commands import borgconf_commands, check_command, cli_options  # noqa: E402
from cli_helpers import run  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)
OPTION = re.compile(r"(?<![\w-])(--[a-z][a-z0-9-]*|-[a-z])(?![\w-])")
SPEC_COMMANDS = ("validate", "plan", "apply", "render")


def _blocks(*langs: str) -> list[str]:
    return [body for lang, body in FENCE.findall(README) if lang in langs]


def _shell_commands() -> list[list[str]]:
    return [argv for block in _blocks("sh", "bash", "console", "shell") for argv in borgconf_commands(block)]


def _table_rows() -> dict[str, str]:
    rows = {}
    for line in README.splitlines():
        m = re.match(r"\|\s*`borgconf (\w+)[^|]*\|", line)
        if m:
            rows[m.group(1)] = line
    return rows


def _everywhere() -> str:
    m = re.search(r"^Everywhere:(.*?)\n\n", README, re.S | re.M)
    assert m, "the README's 'Everywhere:' paragraph"
    return m.group(1)


def test_readme_shell_blocks_hold_borgconf_commands():
    assert len(_shell_commands()) >= 3


@pytest.mark.parametrize("argv", _shell_commands(), ids=lambda a: " ".join(a))
def test_every_command_in_a_readme_code_block_is_accepted_by_the_cli(argv):
    assert check_command(argv) is None, f"README: borgconf {' '.join(argv)}: {check_command(argv)}"


def test_every_option_in_the_commands_table_exists_on_that_command():
    opts = cli_options()
    rows = _table_rows()
    assert set(rows) == set(opts) - {""}, (sorted(rows), sorted(opts))
    wrong = [(cmd, o) for cmd, row in rows.items() for o in OPTION.findall(row) if o not in opts[cmd]]
    assert not wrong, wrong


def _all_options() -> list[tuple[str, str]]:
    out = [("", o) for o in sorted(cli_options()[""])] + [("", "--help"), ("", "-h")]
    out += [(cmd, o) for cmd, options in sorted(cli_options().items()) if cmd for o in sorted(options)]
    return out


@pytest.mark.parametrize("cmd, option", _all_options(), ids=lambda v: v or "borgconf")
def test_every_cli_option_is_in_the_readme(cmd, option):
    """Named in its command's row of the Commands table, or in the Everywhere line."""
    where = _everywhere() + (_table_rows().get(cmd, "") if cmd else "")
    assert option in OPTION.findall(where), f"README does not mention {option} of borgconf {cmd}"


def _test_sources() -> str:
    tests = ROOT / "tests"
    return "\n".join(p.read_text(encoding="utf-8") for p in sorted(tests.rglob("*.py")) if p.name != "cli_commands.py")


@pytest.mark.parametrize("option", sorted({o for opts in cli_options().values() for o in opts}))
def test_every_cli_option_is_used_by_a_test(option):
    """The README names every option (above); each is also run by some test, as an
    argument written out ("--target", --target=..., or in a command line)."""
    assert re.search(r"""["'\s]""" + re.escape(option) + r"""["'=\s]""", _test_sources()), f"no test passes {option}"


# -- "Everywhere: ... --no-color, -v / --verbose, --env-file FILE" ---------------

SPEC_READERS = (*SPEC_COMMANDS, "status")
GLOBAL_FLAGS = (["--no-color"], ["-v"], ["--verbose"], ["--version"])


def _everywhere_cases():
    for cmd in SPEC_READERS:
        for opts in (*GLOBAL_FLAGS, ["--env-file", "vars.env"], ["--env-file=vars.env"]):
            yield [*opts, cmd, "spec.yaml"]
            yield [cmd, "spec.yaml", *opts]
    for cmd in (["schema"], ["import", "--url", "redis://127.0.0.1:6390"]):
        for opts in GLOBAL_FLAGS:
            yield [*opts, *cmd]
            yield [*cmd, *opts]


@pytest.mark.parametrize("argv", list(_everywhere_cases()), ids=lambda a: " ".join(a))
def test_everywhere_options_parse_before_and_after_the_subcommand(argv):
    assert check_command(argv) is None, check_command(argv)


def test_every_subcommand_takes_the_global_flags():
    """Not only the commands above: a command added later gets them too."""
    opts = cli_options()
    for cmd, options in opts.items():
        assert {"--no-color", "-v", "--verbose", "--version"} <= options, cmd
        if cmd in ("", *SPEC_READERS):
            assert "--env-file" in options, cmd


@pytest.fixture
def var_spec(tmp_path, monkeypatch):
    """A spec whose maxmemory comes from ${MM}, and vars.env setting it."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MM", raising=False)
    (tmp_path / "spec.yaml").write_text("version: 1\nserver:\n  maxmemory: ${MM}\n  requirepass: Example_value_1\nrender: {redis_conf: redis.conf, env_file: .env}\n")
    (tmp_path / "vars.env").write_text("MM=3mb\n")
    return tmp_path


@pytest.mark.parametrize("where", ["before", "after", "after="])
@pytest.mark.parametrize("cmd", ["validate", "render"])
def test_env_file_supplies_variables_before_or_after_the_subcommand(var_spec, capsys, cmd, where):
    rc, out, err = run(capsys, cmd, "spec.yaml")
    assert rc == 1 and "MM" in err, (out, err)  # the variable is really needed
    argv = {"before": ["--env-file", "vars.env", cmd, "spec.yaml"], "after": [cmd, "spec.yaml", "--env-file", "vars.env"],
            "after=": [cmd, "spec.yaml", "--env-file=vars.env"]}[where]
    rc, out, err = run(capsys, *argv)
    assert rc == 0, err
    if cmd == "render":
        assert "maxmemory 3mb" in (var_spec / "redis.conf").read_text()
        assert "Example_value_1" not in out + err


def test_env_file_after_the_subcommand_wins_over_the_one_before(var_spec, capsys):
    (var_spec / "other.env").write_text("MM=5mb\n")
    rc, out, err = run(capsys, "--env-file", "other.env", "render", "spec.yaml", "--env-file", "vars.env")
    assert rc == 0, err
    assert "maxmemory 3mb" in (var_spec / "redis.conf").read_text()


@pytest.mark.parametrize("cmd", [["schema"], ["import", "--url", "redis://127.0.0.1:6390"]])
def test_env_file_on_a_command_that_reads_no_spec_is_refused(var_spec, capsys, cmd):
    rc, out, err = run(capsys, "--env-file", "vars.env", *cmd)
    assert rc == 1 and "reads no spec" in err, err
    assert out == ""


@pytest.mark.parametrize("argv", [["-v", "validate", "spec.yaml"], ["validate", "spec.yaml", "-v"], ["validate", "-v", "spec.yaml"],
                                  ["validate", "spec.yaml", "--verbose"]])
def test_verbose_gives_debug_logs_before_or_after_the_subcommand(var_spec, capsys, argv):
    rc, out, err = run(capsys, "--env-file", "vars.env", *argv)
    assert rc == 0, err
    assert "DEBUG borgconf: spec spec.yaml: read" in err, err
    rc, out, err = run(capsys, "--env-file", "vars.env", "validate", "spec.yaml")
    assert rc == 0 and "DEBUG" not in err, err  # and not without it (in the same process)


@pytest.mark.parametrize("argv", [["--no-color", "validate", "spec.yaml"], ["validate", "spec.yaml", "--no-color"]])
def test_no_color_before_or_after_the_subcommand(var_spec, capsys, monkeypatch, argv):
    """On a terminal, output is coloured unless --no-color (in either place) or NO_COLOR."""
    import borgconf.views as views

    seen: list[bool] = []
    real = views.Out.__init__

    def spy(self, stream=None, color=False):
        seen.append(color)
        real(self, stream, color)

    monkeypatch.setattr(views.Out, "__init__", spy)
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert run(capsys, "--env-file", "vars.env", "validate", "spec.yaml")[0] == 0
    assert seen == [True]  # the spy sees colour when nothing turns it off
    assert run(capsys, "--env-file", "vars.env", *argv)[0] == 0
    assert seen == [True, False]
    monkeypatch.setenv("NO_COLOR", "1")
    assert run(capsys, "--env-file", "vars.env", "validate", "spec.yaml")[0] == 0
    assert seen == [True, False, False]


@pytest.mark.parametrize("argv", [["--version"], ["plan", "--version"], ["validate", "spec.yaml", "--version"]])
def test_version_before_or_after_the_subcommand(capsys, argv):
    from borgconf import __version__

    rc, out, err = run(capsys, *argv)
    assert (rc, out) == (0, f"borgconf {__version__}\n"), err


# -- the spec example and completion --------------------------------------------

def _readme_specs() -> list[str]:
    """Every whole spec the README shows (the full one, the fleet); the overlay is tested below."""
    return [b for b in _blocks("yaml") if re.search(r"^version: 1$", b, re.M) and not re.search(r"^extends:", b, re.M)]


def test_the_readme_shows_the_spec_and_a_fleet():
    assert len(_readme_specs()) == 2 and any("discover: sentinel" in s for s in _readme_specs())


def test_the_readme_overlay_is_specs_prod(tmp_path, capsys, monkeypatch):
    """The Overlays section shows specs/prod.yaml (comments aside), and it validates over specs/base.yaml."""
    (block,) = [b for b in _blocks("yaml") if re.search(r"^extends: base.yaml", b, re.M)]
    shown = YAML(typ="safe").load(block)
    assert shown == YAML(typ="safe").load((ROOT / "specs" / "prod.yaml").read_text())
    assert "# specs/prod.yaml" in block


@pytest.mark.parametrize("text", _readme_specs(), ids=lambda t: "fleet" if "discover:" in t else "spec")
def test_the_readme_spec_is_valid(text, tmp_path, capsys, monkeypatch):
    spec = tmp_path / "readme.yaml"
    spec.write_text(text)
    for tls_file in re.findall(r"(?:ca_certs|certfile|keyfile): ([\w.]+)", text):
        (tmp_path / tls_file).write_text("")  # TLS files must exist (issue 11): the reader's own
    for name in set(re.findall(r"\$\{(\w+)", text)):
        monkeypatch.setenv(name, "Example_value_1")
    rc, out, err = run(capsys, "validate", spec)
    assert rc == 0, err
    # and every top-level key the README shows is a key of the spec
    import jsonschema

    schema = json.loads((ROOT / "specs" / "borgconf.schema.json").read_text())
    errors = list(jsonschema.validators.validator_for(schema)(schema).iter_errors(YAML(typ="safe").load(text)))
    assert not errors, [e.message for e in errors]


def test_shell_completion_is_documented():
    for shell in ("bash", "zsh", "fish"):
        assert f"_BORGCONF_COMPLETE={shell}_source borgconf" in README
