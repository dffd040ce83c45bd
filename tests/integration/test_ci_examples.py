"""The CI examples (examples/ci/) are real pipelines: parsed, checked, and run.

Each file is read as YAML; every `borgconf ...` line in its shell steps must
parse with the real CLI; then the jobs' shell steps run here, as the CI
system would run them (GitHub: `bash --noprofile --norc -eo pipefail`, GitLab:
before_script + script with `set -eo pipefail`), in a fresh checkout directory
per job, against a throwaway redis-server:

- BORGCONF_PACKAGE (the install source) becomes a git+file:// URL of a commit
  of this working tree, installed by the pipeline's own pip step into a fresh
  virtualenv (so the "install from the repository" step is what runs); the
  jobs then install the wheel built from that commit (the other documented
  source) with the same step, which is instant once installed;
- the spec at $SPEC is examples/demo.yaml, and BORGCONF_URL points it at the
  test server; REDIS_PASSWORD plays the CI secret;
- `uses:` steps of GitHub (checkout, setup-python, upload/download-artifact)
  and GitLab's artifacts are played by the test: a fresh directory holding
  the spec per job, and the artifact's files copied to the job that needs it.

A merge/pull request runs only the plan job (changes: the job passes, the
plan is in the log, the artifact holds it); the main branch runs plan then
apply (exactly the artifact's plan); after a restart of the server from its
own config file the plan job reports in sync.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest
from ruamel.yaml import YAML

_TESTS = str(Path(__file__).resolve().parents[1])
if _TESTS not in sys.path:
    sys.path.insert(0, _TESTS)

from cli_commands import borgconf_commands, check_command  # noqa: E402
from repo_copy import ROOT, copy_worktree  # noqa: E402

CI = ROOT / "examples" / "ci"
GITHUB = CI / "github-actions.yml"
GITLAB = CI / "gitlab-ci.yml"
PASSWORD = "ci-secret-Zq8+w/x"
DEMO_SPEC = ROOT / "examples" / "demo.yaml"
KNOWN_USES = {"actions/checkout", "actions/setup-python", "actions/upload-artifact", "actions/download-artifact"}


def _yaml(path: Path):
    return YAML(typ="safe").load(path.read_text())


# -- reading the pipelines ---------------------------------------------------

def github_jobs(doc) -> dict[str, list[str]]:
    return {name: [s["run"] for s in job["steps"] if "run" in s] for name, job in doc["jobs"].items()}


GITLAB_RESERVED = {"stages", "variables", "default", "include", "workflow", "image", "services", "before_script", "after_script", "cache"}


def gitlab_jobs(doc) -> dict[str, list[str]]:
    default = doc.get("default", {})
    jobs = {}
    for name, job in doc.items():
        if name in GITLAB_RESERVED or name.startswith(".") or not isinstance(job, dict):
            continue
        before = job.get("before_script", default.get("before_script", []))
        jobs[name] = [*before, *job["script"]]
    return jobs


def _variables(path: Path) -> dict[str, str]:
    doc = _yaml(path)
    return dict(doc["env"] if path == GITHUB else doc["variables"])


@pytest.mark.parametrize("path", [GITHUB, GITLAB], ids=["github", "gitlab"])
def test_every_borgconf_command_in_the_pipeline_is_accepted_by_the_cli(path):
    doc = _yaml(path)
    jobs = github_jobs(doc) if path == GITHUB else gitlab_jobs(doc)
    variables = _variables(path)
    commands = [argv for scripts in jobs.values() for script in scripts for argv in borgconf_commands(script, variables)]
    subcommands = sorted({argv[0] for argv in commands})
    assert subcommands == ["apply", "plan", "validate"], commands
    for argv in commands:
        assert check_command(argv) is None, f"borgconf {' '.join(argv)}: {check_command(argv)}"
    text = path.read_text()
    # what the issue asks of these pipelines, in their own words
    assert any(argv[:2] == ["plan", variables["SPEC"]] and "--out" in argv and argv[argv.index("--out") + 1] == "plan.json" and "--detailed-exitcode" in argv for argv in commands)
    assert ["apply", "plan.json", "--auto-approve"] in commands
    assert "--strict" not in text  # the example specs are not strict-clean for every user (queues warn)
    # installed from the repository, never from a package index by name
    package = variables["BORGCONF_PACKAGE"]
    assert re.fullmatch(r"borgconf @ git\+https://\S+@v[\d.]+", package), package
    installs = [line for scripts in jobs.values() for s in scripts for line in s.splitlines() if "pip install" in line]
    assert installs and all('"$BORGCONF_PACKAGE"' in line for line in installs), installs


def test_github_scripts_take_no_expressions():
    """${{ }} pasted into a script is script injection; values come through env: only."""
    for name, scripts in github_jobs(_yaml(GITHUB)).items():
        for script in scripts:
            assert "${{" not in script, (name, script)


# -- running them --------------------------------------------------------------

@pytest.fixture(scope="module")
def git_url(tmp_path_factory) -> str:
    repo = copy_worktree(tmp_path_factory.mktemp("borgconf-repo"))
    return f"borgconf @ git+{repo.as_uri()}"


@pytest.fixture(scope="module")
def ci_venv(tmp_path_factory, git_url) -> Path:
    """A fresh virtualenv, filled by the pipelines' install step with the git URL.

    pip is upgraded first, as setup-python and the python image have a
    current one (the pip bundled with Python 3.11 cannot parse a
    ``git+file:///`` requirement).
    """
    path = tmp_path_factory.mktemp("ci-venv")
    venv.EnvBuilder(with_pip=True, clear=True).create(path)
    py = str(path / "bin" / "python")
    subprocess.run([py, "-m", "pip", "install", "-q", "--upgrade", "pip>=24"], check=True, capture_output=True)
    assert not (path / "bin" / "borgconf").exists()
    install = [s["run"] for s in _yaml(GITHUB)["jobs"]["plan"]["steps"] if "pip install" in s.get("run", "")]
    assert len(install) == 1
    env = {**os.environ, "PATH": f"{path / 'bin'}:{os.environ['PATH']}", "BORGCONF_PACKAGE": git_url}
    res = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", install[0]], env=env, capture_output=True, text=True, check=False)
    assert res.returncode == 0, res.stdout + res.stderr
    assert subprocess.run([str(path / "bin" / "borgconf"), "--version"], capture_output=True, text=True, check=True).stdout.startswith("borgconf ")
    return path


@pytest.fixture(scope="module")
def package_url(tmp_path_factory, git_url, ci_venv) -> str:
    """The wheel built from the same commit: what each job then installs.

    Installing from the git URL again in every job would clone and build each
    time (seconds per job); the README's other form, a built wheel, installs
    in an instant once its dependencies are there.
    """
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([str(ci_venv / "bin" / "python"), "-m", "pip", "wheel", "-q", "--no-deps", git_url.split(" @ ")[1], "-w", str(out)], check=True, capture_output=True)
    (wheel,) = out.glob("borgconf-*.whl")
    return f"borgconf @ {wheel.as_uri()}"


class Runner:
    def __init__(self, tmp: Path, server, ci_venv: Path, package_url: str, variables: dict[str, str]):
        self.tmp, self.server, self.ci_venv = tmp, server, ci_venv
        self.variables = dict(variables)
        self.variables["BORGCONF_PACKAGE"] = package_url
        self.jobs_run = 0
        self.log: list[str] = []

    def checkout(self) -> Path:
        self.jobs_run += 1
        work = self.tmp / f"job-{self.jobs_run}"
        spec = work / self.variables["SPEC"]
        spec.parent.mkdir(parents=True)
        shutil.copy(DEMO_SPEC, spec)
        return work

    def env(self, extra: dict[str, str]) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("BORGCONF_", "VIRTUAL_ENV", "PYTHON"))}
        env.pop("REDISCLI_AUTH", None)
        env["PATH"] = f"{self.ci_venv / 'bin'}:{env.get('PATH', '/usr/bin:/bin')}"
        env.update(self.variables)
        env.update(REDIS_PASSWORD=PASSWORD, BORGCONF_URL=self.server.url, CI="true", NO_COLOR="1")
        env.update(extra)
        return env

    def run(self, work: Path, script: str, argv0: list[str], extra: dict[str, str]) -> subprocess.CompletedProcess:
        res = subprocess.run([*argv0, script], cwd=work, env=self.env(extra), capture_output=True, text=True, timeout=600, check=False)
        out = res.stdout + res.stderr
        self.log.append(f"$ {script.strip()}\n{out}")
        assert PASSWORD not in out  # a CI log never shows the secret
        return res


def _server(redis_factory):
    return redis_factory(password=PASSWORD)


def _restart_and_check(server):
    server.restart()
    assert server.client().config_get("maxmemory-policy")["maxmemory-policy"] == "noeviction"


def test_github_actions_pipeline_runs(redis_factory, tmp_path, ci_venv, package_url):
    doc = _yaml(GITHUB)
    server = _server(redis_factory)
    r = Runner(tmp_path, server, ci_venv, package_url, doc["env"])
    bash = ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c"]
    assert doc["defaults"]["run"]["shell"] == "bash"
    assert "if" not in doc["jobs"]["plan"]
    assert doc["jobs"]["apply"]["if"] == "github.event_name == 'push' && github.ref == 'refs/heads/main'"
    assert doc["jobs"]["apply"]["needs"] == "plan"

    def job(name: str, artifacts: dict[str, bytes]) -> tuple[dict[str, bytes], str]:
        work = r.checkout()
        summary = tmp_path / f"summary-{r.jobs_run}.md"
        out = ""
        for step in doc["jobs"][name]["steps"]:
            if "uses" in step:
                action = step["uses"].split("@")[0]
                assert action in KNOWN_USES, step
                if action == "actions/upload-artifact":
                    artifacts = {step["with"]["name"]: (work / step["with"]["path"]).read_bytes()}
                elif action == "actions/download-artifact":
                    (work / "plan.json").write_bytes(artifacts[step["with"]["name"]])
                continue
            res = r.run(work, step["run"], bash, {"GITHUB_STEP_SUMMARY": str(summary)})
            out += res.stdout + res.stderr
            assert res.returncode == 0, f"{name}: step {step.get('name', step['run'])!r} failed ({res.returncode}):\n{res.stdout}{res.stderr}"
        if summary.exists():
            out += "\n[step summary]\n" + summary.read_text()
        return artifacts, out

    # pull request: plan job only
    artifacts, out = job("plan", {})
    assert "valid" in out and "maxmemory" in out
    assert re.search(r"borgconf plan of specs/prod\.yaml: [1-9]\d* live change\(s\)", out), out
    assert "[step summary]\nborgconf plan of specs/prod.yaml" in out
    pr_plan = json.loads(artifacts["plan"])
    assert pr_plan["summary"]["live"] > 0
    assert server.client().config_get("maxmemory")["maxmemory"] == "0"  # a PR never changes the server

    # push to main: plan, then apply exactly that plan (the artifact)
    artifacts, out = job("plan", {})
    artifacts, out = job("apply", artifacts)
    assert "maxmemory" in out
    assert server.client().config_get("maxmemory")["maxmemory"] == str(256 * 1024 * 1024)
    _restart_and_check(server)  # converged: persisted in the server's own config file

    artifacts, out = job("plan", {})
    assert json.loads(artifacts["plan"])["summary"] == {"live": 0, "restart": 0, "targets": 1}
    assert "borgconf plan of specs/prod.yaml: 0 live change(s), 0 restart-only change(s), 1 target(s)" in out
    print("\n\n".join(r.log))


def _gitlab_rule_matches(rules, source: str, branch: str | None) -> bool:
    values = {"$CI_PIPELINE_SOURCE": source, "$CI_COMMIT_BRANCH": branch, "$CI_DEFAULT_BRANCH": "main"}
    for rule in rules:
        m = re.fullmatch(r'(\$\w+) == (\$\w+|"[^"]*")', rule["if"])
        assert m, rule
        left = values[m.group(1)]
        right = values[m.group(2)] if m.group(2).startswith("$") else m.group(2).strip('"')
        if left is not None and left == right:
            return True
    return False


def test_gitlab_ci_pipeline_runs(redis_factory, tmp_path, ci_venv, package_url):
    doc = _yaml(GITLAB)
    server = _server(redis_factory)
    r = Runner(tmp_path, server, ci_venv, package_url, doc["variables"])
    jobs = gitlab_jobs(doc)
    assert doc["stages"] == ["plan", "apply"] and doc["apply"]["needs"] == ["plan"]
    assert doc["plan"]["artifacts"]["paths"] == ["plan.json"]

    def pipeline(source: str, branch: str | None) -> list[tuple[str, str]]:
        ran, artifacts = [], {}
        for stage in doc["stages"]:
            for name in [n for n in jobs if doc[n]["stage"] == stage]:
                if not _gitlab_rule_matches(doc[name]["rules"], source, branch):
                    continue
                work = r.checkout()
                for need in doc[name].get("needs", []):
                    for rel, data in artifacts[need].items():
                        (work / rel).write_bytes(data)
                script = "set -eo pipefail\n" + "\n".join(jobs[name])
                res = r.run(work, script, ["bash", "--noprofile", "--norc", "-c"], {"CI_PIPELINE_SOURCE": source, "CI_COMMIT_BRANCH": branch or "", "CI_DEFAULT_BRANCH": "main"})
                assert res.returncode == 0, f"{name} failed ({res.returncode}):\n{res.stdout}{res.stderr}"
                artifacts[name] = {p: (work / p).read_bytes() for p in doc[name].get("artifacts", {}).get("paths", [])}
                ran.append((name, res.stdout + res.stderr))
        return ran, artifacts

    # merge request: plan only
    ran, artifacts = pipeline("merge_request_event", None)
    assert [n for n, _ in ran] == ["plan"]
    out = ran[0][1]
    assert "valid" in out and re.search(r"borgconf plan of specs/prod\.yaml: [1-9]\d* live change\(s\)", out), out
    assert json.loads(artifacts["plan"]["plan.json"])["summary"]["live"] > 0
    assert server.client().config_get("maxmemory")["maxmemory"] == "0"

    # default branch: plan, then apply of that plan
    ran, artifacts = pipeline("push", "main")
    assert [n for n, _ in ran] == ["plan", "apply"]
    assert server.client().config_get("maxmemory")["maxmemory"] == str(256 * 1024 * 1024)
    _restart_and_check(server)

    ran, artifacts = pipeline("merge_request_event", None)
    assert json.loads(artifacts["plan"]["plan.json"])["summary"] == {"live": 0, "restart": 0, "targets": 1}
    assert "0 live change(s), 0 restart-only change(s), 1 target(s)" in ran[0][1]
    print("\n\n".join(r.log))


def test_a_stale_plan_is_refused_by_the_apply_job(redis_factory, tmp_path, ci_venv, package_url):
    """The apply job applies exactly the artifact's plan: if the server moved on, it fails and changes nothing."""
    doc = _yaml(GITLAB)
    server = _server(redis_factory)
    r = Runner(tmp_path, server, ci_venv, package_url, doc["variables"])
    jobs = gitlab_jobs(doc)
    work = r.checkout()
    res = r.run(work, "set -eo pipefail\n" + "\n".join(jobs["plan"]), ["bash", "--noprofile", "--norc", "-c"], {})
    assert res.returncode == 0, res.stdout + res.stderr
    plan = (work / "plan.json").read_bytes()
    server.client().config_set("maxmemory", "100mb")  # someone changed the server meanwhile
    work = r.checkout()
    (work / "plan.json").write_bytes(plan)
    res = r.run(work, "set -eo pipefail\n" + "\n".join(jobs["apply"]), ["bash", "--noprofile", "--norc", "-c"], {})
    assert res.returncode == 1, res.stdout + res.stderr
    assert "maxmemory" in res.stdout + res.stderr
    assert server.client().config_get("maxmemory")["maxmemory"] == str(100 * 1024 * 1024)  # nothing changed (Redis: mb = 2^20)
    assert server.client().config_get("appendonly")["appendonly"] == "no"
