"""Shell completion as the README documents it (Click's _BORGCONF_COMPLETE).

The installed `borgconf` console script prints a completion script for bash,
zsh and fish; the bash one, loaded into a real bash, completes subcommands and
the options of a subcommand.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BORGCONF = str(Path(sys.executable).parent / "borgconf")


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("_BORGCONF_", "COMP_"))}
    env["PATH"] = f"{Path(BORGCONF).parent}:{env.get('PATH', '/usr/bin:/bin')}"
    env.update(extra)
    return env


@pytest.mark.parametrize(
    "shell, marker",
    [
        ("bash", "complete -o nosort -F _borgconf_completion borgconf"),
        ("zsh", "#compdef borgconf"),
        ("fish", "complete --no-files --command borgconf"),
    ],
)
def test_completion_variable_prints_a_script(shell, marker):
    res = subprocess.run([BORGCONF], env=_env(_BORGCONF_COMPLETE=f"{shell}_source"), capture_output=True, text=True, timeout=60, check=False)
    assert res.returncode == 0, res.stderr
    assert marker in res.stdout
    assert "_BORGCONF_COMPLETE" in res.stdout  # the script calls borgconf back for the candidates
    if shell == "bash" or shutil.which(shell):
        syntax = subprocess.run([shell, "-n"], input=res.stdout, capture_output=True, text=True, timeout=60, check=False)
        assert syntax.returncode == 0, syntax.stderr


def _bash_complete(words: list[str]) -> list[str]:
    script = (
        'eval "$(_BORGCONF_COMPLETE=bash_source borgconf)"\n'
        f"COMP_WORDS=({' '.join(words)}); COMP_CWORD={len(words) - 1}\n"
        "_borgconf_completion borgconf  # bash passes the command name as $1\n"
        'printf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    res = subprocess.run(["bash", "--noprofile", "--norc", "-c", script], env=_env(), capture_output=True, text=True, timeout=60, check=False)
    assert res.returncode == 0, res.stderr
    return res.stdout.split()


def test_bash_completes_subcommands_and_their_options():
    assert _bash_complete(["borgconf", "pl"]) == ["plan"]
    from borgconf.cli import cli

    assert set(_bash_complete(["borgconf", "''"])) == set(cli.commands) >= {"validate", "plan", "apply", "render", "schema"}
    assert _bash_complete(["borgconf", "apply", "--lock"]) == ["--lock-timeout"]
    assert _bash_complete(["borgconf", "plan", "--detailed"]) == ["--detailed-exitcode"]
