"""What each command imports (GitHub issues 5 and 15; style habit 10).

``borgconf --version`` and ``borgconf validate`` run in CI on every push and
never talk to Redis or render: they must not import redis, jinja2, deepdiff
or rich. A bare ``--version`` through the console script (borgconf.__main__)
imports none of the CLI's dependencies at all. ``plan`` and ``apply`` import
redis but never jinja2, deepdiff or rich (rich only for colour on a terminal).
Through the console script, validate (and plan or apply given a bad spec)
imports neither importlib.metadata nor importlib.resources (pydantic's plugin
discovery is switched off there, the catalog is read beside params.py): each
costs start-up time (issue 15). redis-py imports importlib.metadata itself.
validate also leaves out what only some paths need: logging (only with -v; redis-py
imports it for plan and apply), tempfile and shutil (only to write a file),
difflib (only to suggest a name for a misspelt one). The console script (and
``python -m borgconf``) tunes the garbage collector for a process that ends
when main() returns; a caller of main(argv) keeps its collector as it was.
Each check runs in a fresh subprocess, so nothing imported by pytest or another
test can hide an import. Not timed: benchmarks/run.py measures; this pins the
boundary.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

OFFLINE_FORBIDDEN = {"redis", "jinja2", "deepdiff", "rich"}
# what start-up through the console script never pays for (issue 15); redis-py
# imports importlib.metadata itself, so plan and apply are not held to it
STARTUP_FORBIDDEN = {"importlib.metadata", "importlib.resources", "importlib.readers", "zipfile"}
# what validate of a valid spec never needs (issue 15): logging without -v, the
# modules that write files, the one that suggests names
VALIDATE_FORBIDDEN = {"logging", "tempfile", "shutil", "difflib"}
# plan and apply talk to Redis but render nothing
ONLINE_FORBIDDEN = {"jinja2", "deepdiff", "rich"}
# the --version fast path answers before the CLI exists
VERSION_FORBIDDEN = OFFLINE_FORBIDDEN | {"click", "pydantic", "pydantic_core", "ruamel", "borgconf.cli"}


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "BORGCONF_URL")}
    env["PYTHONPATH"] = str(ROOT)  # this checkout, whatever is installed
    env["REDIS_PASSWORD"] = "import-boundary-dummy"
    return env


def _python(*args: str, timeout: int = 120) -> subprocess.CompletedProcess:
    """A fresh interpreter on this checkout: its exit code, stdout and stderr."""
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=timeout)


def _modules_after(call: str) -> tuple[int, str, set[str]]:
    """Exit code, stdout and sys.modules of a fresh interpreter after running ``call``."""
    code = textwrap.dedent(
        f"""
        import io, json, sys
        real, sys.stdout = sys.stdout, io.StringIO()
        rc = {call}
        out, sys.stdout = sys.stdout.getvalue(), real
        print(json.dumps({{"rc": rc, "out": out, "modules": sorted(sys.modules)}}))
        """
    )
    r = _python("-c", code)
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout.strip().splitlines()[-1])
    return data["rc"], data["out"], set(data["modules"])


def _hits(modules: set[str], forbidden: set[str]) -> list[str]:
    return sorted(m for m in modules if m in forbidden or m.split(".")[0] in forbidden)


def _startup_hits(modules: set[str]) -> list[str]:
    """importlib.metadata / importlib.resources and what only they pull in (dotted names: by prefix)."""
    return sorted(m for m in modules if any(m == f or m.startswith(f + ".") for f in STARTUP_FORBIDDEN))


def _spec(tmp_path: Path) -> Path:
    # every section validate reads: variables, services, users, commands, render
    p = tmp_path / "spec.yaml"
    p.write_text(
        textwrap.dedent(
            """
            version: 1
            target: {url: "redis://127.0.0.1:6399", password: "${REDIS_PASSWORD}"}
            server:
              maxmemory: 256mb
              maxmemory-policy: noeviction
              appendonly: yes
              save: ["900 1", "300 10"]
              requirepass: ${REDIS_PASSWORD}
            commands: {FLUSHALL: disabled}
            users:
              app: {password: "${REDIS_PASSWORD}", keys: ["app:*"], commands: "+@all -@admin"}
            services:
              n8n: {db: 0, role: queue, user: app}
              directus: {db: 1, role: cache}
            render: {redis_conf: redis.conf, env_file: .env}
            """
        ).lstrip()
    )
    return p


def test_version_via_the_console_script_entry_imports_no_dependency():
    rc, out, modules = _modules_after("__import__('borgconf.__main__', fromlist=['main']).main(['--version'])")
    assert (rc, out) == (0, "borgconf 0.1.0\n")
    assert _hits(modules, VERSION_FORBIDDEN) == []


def test_python_m_borgconf_version_imports_no_dependency():
    # -X importtime lists every module imported, even one removed from sys.modules again
    r = _python("-X", "importtime", "-m", "borgconf", "--version", timeout=60)
    assert r.returncode == 0 and r.stdout == "borgconf 0.1.0\n", r.stderr
    imported = {m.group(1) for m in re.finditer(r"^import time:\s+\d+ \|\s+\d+ \|\s+(\S+)$", r.stderr, re.M)}
    assert "borgconf" in imported and "encodings" in imported  # the listing works at all
    assert _hits(imported, VERSION_FORBIDDEN) == []


def test_version_through_click_imports_nothing_offline_commands_avoid():
    rc, out, modules = _modules_after("__import__('borgconf.cli', fromlist=['main']).main(['--version'])")
    assert (rc, out) == (0, "borgconf 0.1.0\n")  # the same text as the fast path
    assert "click" in modules
    assert _hits(modules, OFFLINE_FORBIDDEN) == []


def test_validate_imports_no_redis_jinja2_deepdiff_rich(tmp_path):
    spec = _spec(tmp_path)
    for entry in ("borgconf.__main__", "borgconf.cli"):
        rc, out, modules = _modules_after(f"__import__({entry!r}, fromlist=['main']).main(['validate', {str(spec)!r}])")
        assert rc == 0 and ": valid (" in out, (entry, out)
        assert "pydantic" in modules and "ruamel.yaml" in modules  # it really validated
        assert _hits(modules, OFFLINE_FORBIDDEN) == [], entry
        if entry == "borgconf.__main__":  # the console script
            assert _startup_hits(modules) == [], entry
            assert _hits(modules, VALIDATE_FORBIDDEN) == [], entry
        else:  # pydantic's plugin loader (importlib.metadata) brings tempfile and shutil
            assert _hits(modules, {"logging", "difflib"}) == [], entry


def test_validate_with_verbose_logs_and_a_misspelt_name_is_suggested(tmp_path):
    # what validate leaves out is imported where it is needed: -v logs (redacted),
    # a misspelt parameter gets its suggestion
    spec = _spec(tmp_path)
    code = f"__import__('borgconf.__main__', fromlist=['main']).main(['validate', {str(spec)!r}, '-v'])"
    r = _python("-c", code)
    assert f"DEBUG borgconf: spec {spec}: read {spec}" in r.stderr, r.stderr
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nserver:\n  maxmemori: 1gb\n")
    rc, _, modules = _modules_after(f"__import__('borgconf.__main__', fromlist=['main']).main(['validate', {str(bad)!r}])")
    assert rc == 1 and "difflib" in modules


def test_the_collector_is_tuned_only_for_the_whole_process(tmp_path):
    # main(argv) from a caller: its collector is left as it was; the console
    # script's main() (argv from sys.argv) freezes what is alive before it returns
    spec = _spec(tmp_path)
    code = textwrap.dedent(
        f"""
        import gc, io, json, sys, contextlib
        from borgconf.__main__ import main
        before = gc.get_threshold()
        with contextlib.redirect_stdout(io.StringIO()):
            rc_call = main(['validate', {str(spec)!r}])
        called = (gc.get_threshold() == before, gc.get_freeze_count())
        sys.argv = ['borgconf', 'validate', {str(spec)!r}]
        with contextlib.redirect_stdout(io.StringIO()):
            rc_script = main()
        print(json.dumps([rc_call, called, rc_script, gc.get_threshold() != before, gc.get_freeze_count()]))
        """
    )
    r = _python("-c", code)
    assert r.returncode == 0, r.stderr
    rc_call, (threshold_kept, frozen_after_call), rc_script, threshold_raised, frozen_after_script = json.loads(r.stdout)
    assert (rc_call, rc_script) == (0, 0)
    assert threshold_kept and frozen_after_call == 0
    assert threshold_raised and frozen_after_script > 10_000


_GC_PROBE = """
import gc, io, json, sys, contextlib
runs, freezes = [], []
gc.callbacks.append(lambda phase, info: phase == "stop" and runs.append(info["generation"]))
real_freeze = gc.freeze
def freeze():  # start-up's end (cli._start_up_over), then the exit: what had happened by then
    # ruamel.yaml is imported when a spec is first parsed (yamlread), not at start-up
    freezes.append([len(runs), "borgconf.spec.schema" in sys.modules, "ruamel.yaml" in sys.modules,
                    gc.isenabled(), gc.get_threshold()[0]])
    real_freeze()
gc.freeze = freeze
from borgconf.__main__ import main
sys.argv = ["borgconf", *json.loads(sys.argv[1])]
runs.clear()  # the collections of this probe's own imports do not count
with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
    try:
        rc = main()
    except SystemExit as e:
        rc = e.code
print(json.dumps([rc, freezes, gc.isenabled()]))
"""


@pytest.mark.parametrize("command", ["validate", "render", "schema"])
def test_the_whole_process_collects_nothing_during_start_up_and_collects_again_after(tmp_path, command):
    # the console script: the collector is off while it imports and builds the
    # spec's models (it walked those ~25,000 objects 5 times, 14 ms of a validate:
    # issue 15); every command then freezes them and turns the collector on
    # before it parses the spec or does any work, so parsing's cycles are collected
    spec = _spec(tmp_path)
    argv = {"validate": ["validate", str(spec)], "render": ["render", "--check", str(spec)], "schema": ["schema"]}[command]
    r = _python("-c", _GC_PROBE, json.dumps(argv))
    assert r.returncode == 0, r.stderr
    rc, freezes, enabled_after = json.loads(r.stdout)
    assert rc == {"validate": 0, "render": 2, "schema": 0}[command], (rc, r.stderr)  # render --check: the files would be new
    assert len(freezes) == 2, freezes  # start-up's end, then the exit
    (collections, schema_built, parsed, on, _), (_, _, _, on_in_work, threshold) = freezes
    assert collections == 0 and schema_built and not parsed and not on  # off all through start-up, frozen before the spec is read
    assert on_in_work and threshold == 20_000  # on for the work, until the exit's freeze
    assert enabled_after


def test_validate_through_the_console_script_builds_no_plugin_loader(tmp_path):
    # -X importtime lists every module imported, even one removed from sys.modules again
    spec = _spec(tmp_path)
    r = _python("-X", "importtime", "-m", "borgconf", "validate", str(spec), timeout=60)
    assert r.returncode == 0 and ": valid (" in r.stdout, r.stderr
    imported = {m.group(1) for m in re.finditer(r"^import time:\s+\d+ \|\s+\d+ \|\s+(\S+)$", r.stderr, re.M)}
    assert "borgconf.spec.schema" in imported and "ruamel.yaml" in imported  # the listing works at all
    assert _startup_hits(imported) == []
    assert "pydantic.plugin._loader" not in imported  # pydantic's own loader, which scans for plugins
    assert _hits(imported, OFFLINE_FORBIDDEN) == []
    assert _hits(imported, VALIDATE_FORBIDDEN) == []


def test_invalid_spec_imports_no_redis_jinja2_deepdiff_rich(tmp_path):
    spec = tmp_path / "bad.yaml"
    spec.write_text("version: 1\nserver:\n  maxmemori: 1gb\n  maxmemory-policy: sometimes\n")
    for command in ("validate", "plan", "apply"):  # a bad spec stops plan and apply before redis
        rc, _, modules = _modules_after(f"__import__('borgconf.__main__', fromlist=['main']).main([{command!r}, {str(spec)!r}])")
        assert rc == 1, command
        assert _hits(modules, OFFLINE_FORBIDDEN) == [], command
        assert _startup_hits(modules) == [], command


def _live_spec(tmp_path: Path, url: str) -> Path:
    p = tmp_path / "live.yaml"
    p.write_text(f"version: 1\ntarget: {{url: {url!r}}}\nserver:\n  maxmemory-samples: 7\n  hz: 20\n")
    return p


def test_plan_and_apply_import_no_jinja2_deepdiff_rich(redis_server, tmp_path):
    spec = _live_spec(tmp_path, redis_server.url)
    steps = [
        (["plan", str(spec), "--detailed-exitcode"], 2, "Plan: 2 to change live"),
        (["apply", str(spec), "--auto-approve"], 0, "applied 2 live change(s)"),
        (["plan", str(spec), "--detailed-exitcode"], 0, "No changes."),
    ]
    for argv, want_rc, want_out in steps:
        rc, out, modules = _modules_after(f"__import__('borgconf.__main__', fromlist=['main']).main({argv!r})")
        assert rc == want_rc and want_out in out, (argv, rc, out)
        assert "redis" in modules  # it really talked to the server
        assert _hits(modules, ONLINE_FORBIDDEN) == [], argv
    # convergence: the server restarted from its own config file plans empty too
    redis_server.restart()
    rc, out, _ = _modules_after(f"__import__('borgconf.__main__', fromlist=['main']).main(['plan', {str(spec)!r}, '--detailed-exitcode'])")
    assert rc == 0 and "No changes." in out, out


def test_console_script_is_the_fast_entry():
    text = (ROOT / "pyproject.toml").read_text()
    assert re.search(r'^borgconf = "borgconf\.__main__:main"', text, re.M), "the borgconf script must start in borgconf.__main__:main"


def test_validate_of_plain_snippets_imports_no_jinja2():
    # specs/borgstack.yaml's env: snippets are plain {{ host }} / {{ port }} ...: validate
    # checks them (unknown variables, duplicates) without the jinja2 sandbox
    spec = ROOT / "specs" / "borgstack.yaml"
    assert "{{ host }}" in spec.read_text()
    rc, out, modules = _modules_after(f"__import__('borgconf.__main__', fromlist=['main']).main(['validate', {str(spec)!r}])")
    assert rc == 0 and ": valid (" in out, out
    assert "borgconf.render.sandbox" in modules  # the snippets were checked
    assert _hits(modules, OFFLINE_FORBIDDEN) == []


def test_validate_of_a_filter_snippet_still_uses_the_sandbox(tmp_path):
    spec = tmp_path / "s.yaml"
    spec.write_text('version: 1\nservices:\n  app:\n    db: 1\n    env: {APP_HOST: "{{ host | upper }}"}\n')
    rc, out, modules = _modules_after(f"__import__('borgconf.__main__', fromlist=['main']).main(['validate', {str(spec)!r}])")
    assert rc == 0 and ": valid (" in out, out
    assert "jinja2.sandbox" in modules
