"""Bad input (issue 4, item 4): every malformed spec gives exit 1 and ONE clear
message naming file and line, no traceback, no connection to any server, within
2 seconds.

The corpus is ``tests/cases/bad/*.yaml``; each case starts with comments::

    # expect: <a substring of the error message>
    # line: <the line the error must name>
    # file: <the file the error must name, relative to the case's folder>   (optional)
    # env: NAME=value          (optional; backslash escapes decoded: \\n, \\r)
    # secret: <text that must not appear in the output>               (optional)

``tests/cases/bad/_support/`` holds helper files of multi-file cases (extends).
A few cases are generated at run time into tmp_path instead of being committed
(a 5 MB file, a YAML alias bomb, ...); they are part of the same corpus.
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from borgconf.cli import main

BAD = Path(__file__).resolve().parents[1] / "cases" / "bad"
# CPU seconds this process spends on one bad spec: a limit on the work (an alias
# bomb or a 5 MB file must not cost more), not a benchmark. CPU time, not wall
# time, so that other processes on a loaded machine cannot make it fail.
TIME_LIMIT = 2.0


@dataclass
class Case:
    name: str
    folder: Path
    file: str  # as given on the command line (relative to folder, the cwd of the run)
    expect: str
    line: int
    shown: str  # the file the error must name
    env: dict[str, str] = field(default_factory=dict)
    secret: str | None = None

    def __str__(self) -> str:
        return self.name


def _header(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for ln in text.splitlines()[:6]:
        m = re.match(r"^# (expect|line|file|env|secret): (.*)$", ln)
        if m:
            out[m.group(1)] = m.group(2)
    return out


def _case(folder: Path, file: str) -> Case:
    head = _header((folder / file).read_bytes().decode("utf-8", "replace"))
    assert "expect" in head and "line" in head, f"{file}: needs '# expect:' and '# line:' comments"
    env = {}
    if "env" in head:
        name, _, value = head["env"].partition("=")
        env[name] = value.encode().decode("unicode_escape")
    return Case(Path(file).stem, folder, file, head["expect"], int(head["line"]), head.get("file", file), env, head.get("secret"))


COMMITTED = sorted(p.name for p in BAD.glob("*.yaml"))


# ---------------------------------------------------------------- generated cases


def _gen_5mb(d: Path) -> str:
    body = "# expect: spec file is too large\n# line: 1\nversion: 1\nserver:\n"
    filler = "  # " + "x" * 76 + "\n"
    (d / "size_5mb.yaml").write_text(body + filler * (5 * 1024 * 1024 // len(filler)))
    return "size_5mb.yaml"


def _gen_alias_bomb(d: Path) -> str:
    # billion laughs: 10 levels of 10 references, 10**10 values once expanded
    levels = ["&l0 [" + ", ".join(["lol"] * 10) + "]"]
    for i in range(1, 10):
        levels.append(f"&l{i} [" + ", ".join([f"*l{i - 1}"] * 10) + "]")
    text = "# expect: a YAML alias bomb\n# line: 5\nversion: 1\nserver:\n  save: [" + ", ".join(levels) + "]\n"
    (d / "alias_bomb.yaml").write_text(text)
    return "alias_bomb.yaml"


def _gen_too_many_values(d: Path) -> str:
    text = "# expect: YAML values\n# line: 5\nversion: 1\nserver:\n  save: [" + ", ".join(["900 1"] * 20000) + "]\n"
    (d / "too_many_values.yaml").write_text(text)
    return "too_many_values.yaml"


def _gen_raw_nul(d: Path) -> str:
    (d / "raw_nul.yaml").write_bytes(b"# expect: a NUL character is not allowed\n# line: 5\nversion: 1\nserver:\n  logfile: /var/log/x\x00.log\n")
    return "raw_nul.yaml"


def _gen_not_utf8(d: Path) -> str:
    (d / "not_utf8.yaml").write_bytes(b"# expect: not UTF-8 text\n# line: 4\nversion: 1\nserver: {logfile: /var/log/\xff\xfe.log}\n")
    return "not_utf8.yaml"


def _gen_control_character(d: Path) -> str:
    (d / "control_character.yaml").write_bytes(b"# expect: a control character is not allowed in YAML text\n# line: 5\nversion: 1\nserver:\n  logfile: /var/log/\x1b[2J.log\n")
    return "control_character.yaml"


GENERATED = {
    f.__name__[len("_gen_") :]: f
    for f in (_gen_5mb, _gen_alias_bomb, _gen_too_many_values, _gen_raw_nul, _gen_not_utf8, _gen_control_character)
}
ALL = [*COMMITTED, *GENERATED]


def _materialize(case_id: str, tmp_path: Path) -> Case:
    if case_id in GENERATED:
        return _case(tmp_path, GENERATED[case_id](tmp_path))
    return _case(BAD, case_id)


# ---------------------------------------------------------------- checks


def _check(case: Case, code: int, stderr: str, elapsed: float | None) -> None:
    assert code == 1, f"exit {code}\n{stderr}"
    assert "Traceback" not in stderr and "internal error" not in stderr, stderr
    errors = [ln for ln in stderr.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1, f"expected one error line, got {len(errors)}:\n{stderr}"
    assert case.expect in errors[0], f"{case.expect!r} not in {errors[0]!r}"
    assert errors[0].startswith(f"error: {case.shown}:{case.line}:"), f"expected {case.shown}:{case.line}: in {errors[0]!r}"
    if case.secret:
        assert case.secret not in stderr, f"a secret is shown: {stderr}"
    if elapsed is not None:
        assert elapsed < TIME_LIMIT, f"took {elapsed:.2f}s (limit {TIME_LIMIT}s)"


def test_corpus_is_big_enough():
    assert len(ALL) >= 45, len(ALL)
    for name in COMMITTED:  # every case has its header (helpers in _support/ are not cases)
        _case(BAD, name)


@pytest.mark.parametrize("case_id", ALL)
def test_bad_spec_in_process(case_id, tmp_path, monkeypatch, capsys, no_network):
    case = _materialize(case_id, tmp_path)
    monkeypatch.chdir(case.folder)  # the file as given on the command line: a relative path
    for k, v in case.env.items():
        monkeypatch.setenv(k, v)
    capsys.readouterr()
    start = time.process_time()
    code = main(["validate", case.file])
    elapsed = time.process_time() - start
    out, err = capsys.readouterr()
    _check(case, code, err, elapsed)
    assert out == "", out
    # plan and apply would connect: a bad spec must stop them before any socket (no_network)
    for command in (["plan", case.file], ["apply", "--auto-approve", case.file]):
        code = main(command)
        out, err = capsys.readouterr()
        _check(case, code, err, None)


SUBPROCESS_CASES = ["yaml_unclosed_bracket.yaml", "inject_variable_value_newline.yaml", "extends_cycle.yaml", "alias_bomb", "5mb"]


@pytest.mark.parametrize("case_id", SUBPROCESS_CASES)
def test_bad_spec_as_a_real_process(case_id, tmp_path):
    case = _materialize(case_id, tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith("BORGCONF_")}
    env.update(case.env)
    proc = subprocess.run(
        [sys.executable, "-m", "borgconf", "validate", case.file],
        cwd=case.folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    _check(case, proc.returncode, proc.stderr, None)
    assert proc.stdout == ""


# ---------------------------------------------------------------- what is NOT an injection


def test_hash_and_quotes_in_values_are_quoted_not_injected(tmp_path, monkeypatch, no_network):
    """``#`` and quotes are legitimate in a value (a path, a password): borgconf
    accepts them and writes them quoted, so redis.conf reads back exactly one
    directive with exactly that value, and .env exactly one variable."""
    from dotenv import dotenv_values

    from conf_syntax import directives

    from borgconf.render import envfile
    from borgconf.render import render_redis_conf
    from borgconf.spec import load_spec

    tricky_password = "p#ss \"w'rd\" # requirepass x"
    logfile = "/var/log/redis #1 \"main\".log"
    spec_path = tmp_path / "s.yaml"
    spec_path.write_text(
        "version: 1\n"
        "server:\n"
        f"  logfile: '{logfile.replace(chr(39), chr(39) * 2)}'\n"
        "  requirepass: ${PW}\n"
        "users:\n"
        "  app: {password: \"${PW}\", keys: ['app:#*', \"q'\"]}\n"
    )
    spec = load_spec(spec_path, env={"PW": tricky_password})
    lines = directives(render_redis_conf(spec, total_memory=1 << 30))
    parsed = {args[0]: args for args in lines}
    assert parsed["logfile"] == ["logfile", logfile]
    assert parsed["requirepass"] == ["requirepass", tricky_password]
    assert parsed["user"][:3] == ["user", "app", "on"] and f">{tricky_password}" in parsed["user"]
    assert "~app:#*" in parsed["user"] and "~q'" in parsed["user"]
    assert len(lines) == len(parsed) == 3  # nothing smuggled in as another line

    text = envfile.line("REDIS_PASSWORD", tricky_password) + "\n" + envfile.line("OTHER", "x") + "\n"
    assert dotenv_values(stream=io.StringIO(text)) == {"REDIS_PASSWORD": tricky_password, "OTHER": "x"}
