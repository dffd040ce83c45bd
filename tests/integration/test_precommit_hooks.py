"""The hooks in .pre-commit-hooks.yaml, run by the real pre-commit framework.

`pre-commit try-repo` clones the hook repository at HEAD and installs borgconf
into a fresh virtualenv of its own (language: python, `pip install .`), so the
test first copies this working tree (tracked and untracked files, as
`git ls-files` sees them) into a temporary git repository and commits it: the
hooks tested are the ones in the tree, committed or not. try-repo always
installs into a temporary store (it ignores PRE_COMMIT_HOME), so each call
costs one install: the test runs both hooks in one call, twice.

Needs git and a reachable package index (pip installs borgconf's
dependencies into the hook's environment).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from ruamel.yaml import YAML

_TESTS = str(Path(__file__).resolve().parents[1])
if _TESTS not in sys.path:
    sys.path.insert(0, _TESTS)

from repo_copy import ROOT, copy_worktree, git as _git  # noqa: E402

GOOD = """\
version: 1
target:
  url: redis://127.0.0.1:6390
server:
  maxmemory: 100mb
  maxmemory-policy: noeviction
services:
  n8n: {db: 0}
"""

BAD = """\
version: 1
target:
  url: redis://127.0.0.1:6390
server:
  maxmemory-policy: noeviction
  maxmemory: 2 gigs
"""


def _env() -> dict[str, str]:
    env = dict(os.environ)
    for name in ("BORGCONF_URL", "BORGCONF_PASSWORD", "REDISCLI_AUTH", "PRE_COMMIT", "GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"):
        env.pop(name, None)
    env["PRE_COMMIT_COLOR"] = "never"
    env["NO_COLOR"] = "1"
    return env


def _try_repo(hook_repo: Path, user_repo: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pre_commit", "try-repo", str(hook_repo), "--all-files", "--color", "never", "--verbose"],
        cwd=user_repo, env=_env(), capture_output=True, text=True, timeout=600, check=False,
    )


@pytest.fixture(scope="module")
def hook_repo(tmp_path_factory) -> Path:
    return copy_worktree(tmp_path_factory.mktemp("hook-repo"))


def test_hooks_file_declares_both_hooks():
    hooks = YAML(typ="safe").load((ROOT / ".pre-commit-hooks.yaml").read_text())
    by_id = {h["id"]: h for h in hooks}
    assert set(by_id) == {"borgconf-validate", "borgconf-render-check"}
    assert "borgconf validate" in by_id["borgconf-validate"]["entry"]
    assert by_id["borgconf-render-check"]["entry"].rstrip().endswith("borgconf render --check")

    for hook in hooks:
        assert hook["language"] == "python"  # installs borgconf from the hook repository itself
        pattern = re.compile(hook["files"])
        assert pattern.search("specs/prod.yaml") and pattern.search("deploy/specs/base.yml")
        assert not pattern.search("specs/borgconf.schema.json") and not pattern.search("docker-compose.yml")


def test_precommit_try_repo_passes_good_spec_then_names_bad_spec_file_and_line(hook_repo, tmp_path):
    user = tmp_path / "user"
    (user / "specs").mkdir(parents=True)
    _git(user, "init", "-q")
    (user / "specs" / "good.yaml").write_text(GOOD)
    # the rendered files are up to date, so render --check passes for the good spec
    subprocess.run([sys.executable, "-m", "borgconf", "render", "specs/good.yaml"], cwd=user, env=_env(), check=True, capture_output=True)
    assert (user / "specs" / "redis.conf").is_file() and (user / "specs" / ".env").is_file()
    _git(user, "add", "-A")

    ok = _try_repo(hook_repo, user)
    out = ok.stdout + ok.stderr
    assert ok.returncode == 0, out
    assert "borgconf validate" in out and "borgconf render --check" in out
    assert out.count("Passed") >= 2, out
    assert "specs/good.yaml: valid" in out  # the hook ran borgconf on the spec (verbose shows its output)
    assert "up to date with specs/good.yaml" in out

    (user / "specs" / "bad.yaml").write_text(BAD)
    _git(user, "add", "-A")
    bad = _try_repo(hook_repo, user)
    out = bad.stdout + bad.stderr
    assert bad.returncode == 1, out
    assert "- hook id: borgconf-validate" in out and "- hook id: borgconf-render-check" in out
    # file, line and column of the bad value, from both hooks
    assert out.count("specs/bad.yaml:6:14: server.maxmemory: '2 gigs' is not a memory size") == 2, out
    # the good spec is still checked (and passes) in the same run
    assert "specs/good.yaml: valid" in out


def test_render_check_hook_fails_when_rendered_file_is_stale(hook_repo, tmp_path):
    """render --check fails (and shows the diff) when redis.conf no longer matches the spec."""
    user = tmp_path / "user"
    (user / "specs").mkdir(parents=True)
    _git(user, "init", "-q")
    spec = user / "specs" / "good.yaml"
    spec.write_text(GOOD)
    subprocess.run([sys.executable, "-m", "borgconf", "render", "specs/good.yaml"], cwd=user, env=_env(), check=True, capture_output=True)
    spec.write_text(GOOD.replace("100mb", "200mb"))
    _git(user, "add", "-A")
    res = _try_repo(hook_repo, user)
    out = res.stdout + res.stderr
    assert res.returncode == 1, out
    assert "- hook id: borgconf-render-check" in out
    assert "-maxmemory 100mb" in out and "+maxmemory 200mb" in out
    assert "would update" in out and "specs/redis.conf" in out
    # validate still passes: the spec itself is fine
    assert "specs/good.yaml: valid" in out
