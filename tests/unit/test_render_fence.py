"""Issue 10 group 1: every path a spec names stays inside the spec's repository
(or directory), after symlinks, as ``extends:`` does; only the command line
widens it (``--allow-path``); two outputs never share a path and none is the
spec; ``render --check`` never prints a line of a file borgconf did not write."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from borgconf import redact
from borgconf.errors import RenderError, SpecError
from borgconf.render import render_files
from borgconf.spec import load_spec
from borgconf.spec.extends import fenced, spec_root

from cli_helpers import run


@pytest.fixture(autouse=True)
def _clean_redactor():
    redact.clear()
    yield
    redact.clear()


def repo(tmp_path: Path) -> Path:
    r = tmp_path / "repo"
    (r / ".git").mkdir(parents=True)
    (r / "specs").mkdir()
    return r


def test_extends_and_render_use_one_fence():
    import inspect

    from borgconf.spec import extends, load

    assert "fenced(" in inspect.getsource(extends._load_chain)
    assert "fenced(" in inspect.getsource(load._fence_paths)


def test_fence_is_the_repository_else_the_directory(tmp_path):
    r = repo(tmp_path)
    assert spec_root(r / "specs" / "s.yaml") == r
    (tmp_path / "loose").mkdir()
    assert spec_root(tmp_path / "loose" / "s.yaml") == tmp_path / "loose"
    assert fenced(r / "a" / "b", r) and not fenced(tmp_path / "x", r)
    assert fenced(tmp_path / "x" / "y", r, [tmp_path / "x"])


def test_a_symlink_out_of_the_repository_is_refused(tmp_path):
    r = repo(tmp_path)
    outside = tmp_path / "outside"
    outside.mkdir()
    (r / "specs" / "link").symlink_to(outside)
    spec = r / "specs" / "s.yaml"
    spec.write_text("version: 1\nrender: {redis_conf: link/redis.conf}\n")
    with pytest.raises(SpecError, match=r"s\.yaml:2:\d+: render\.redis_conf: must be inside .*after following symlinks"):
        load_spec(spec, env={})
    with pytest.raises(SpecError):
        render_files(str(spec), environ={})
    assert not (outside / "redis.conf").exists()


def test_an_env_file_symlinked_out_is_never_read(tmp_path, monkeypatch):
    """The .env is read before the spec is validated (to keep its secrets):
    outside the fence it is not opened at all."""
    r = repo(tmp_path)
    secret_file = tmp_path / "secrets.env"
    secret_file.write_text("AWS_SECRET_ACCESS_KEY=leakme123456\n")
    (r / "specs" / "app.env").symlink_to(secret_file)
    spec = r / "specs" / "s.yaml"
    spec.write_text("version: 1\nservices: {app: {db: 1}}\nrender: {env_file: app.env}\n")
    import borgconf.files

    opened = []
    real_read = borgconf.files.read_regular  # every file borgconf reads goes through it

    def spy(path, *a, **k):
        opened.append(Path(path))
        return real_read(path, *a, **k)

    monkeypatch.setattr(borgconf.files, "read_regular", spy)
    with pytest.raises(SpecError, match="render.env_file: must be inside"):
        render_files(str(spec), environ={}, check=True)
    assert opened  # the spy is reached (the spec itself is read through it)
    assert all(p.resolve() != secret_file for p in opened), opened
    # control: the same .env inside the repository is read through the spy
    (r / "specs" / "app.env").unlink()
    (r / "specs" / "app.env").write_text("OTHER=1\n")
    render_files(str(spec), environ={}, check=True)
    monkeypatch.undo()
    assert any(p.resolve() == (r / "specs" / "app.env").resolve() for p in opened), opened
    assert secret_file.read_text() == "AWS_SECRET_ACCESS_KEY=leakme123456\n"


def test_allow_path_on_the_command_line_widens_the_fence(tmp_path, capsys):
    r = repo(tmp_path)
    etc = tmp_path / "etc-redis"
    etc.mkdir()
    spec = r / "specs" / "s.yaml"
    spec.write_text(f"version: 1\nserver: {{hz: 20}}\nrender: {{redis_conf: {etc / 'redis.conf'}, env_file: app.env}}\n")
    rc, out, err = run(capsys, "validate", spec)
    assert rc == 1 and "render.redis_conf: must be inside" in err and "--allow-path" in err
    rc, out, err = run(capsys, "render", spec)
    assert rc == 1 and not (etc / "redis.conf").exists()
    rc, out, err = run(capsys, "validate", spec, "--allow-path", etc)
    assert rc == 0, err
    rc, out, err = run(capsys, "render", spec, "--allow-path", etc)
    assert rc == 0, err
    assert "hz 20" in (etc / "redis.conf").read_text()


def test_two_outputs_never_share_a_file_with_out_dir_either(tmp_path):
    r = repo(tmp_path)
    spec = r / "specs" / "s.yaml"
    spec.write_text("version: 1\nrender: {redis_conf: a/out, env_file: b/out}\n")
    load_spec(spec, env={})  # different files in the spec's directory
    with pytest.raises(RenderError, match="would both be written to"):
        render_files(str(spec), environ={}, out_dir=tmp_path / "scratch")
    assert not (tmp_path / "scratch" / "out").exists()


def test_out_dir_never_overwrites_the_spec(tmp_path):
    r = repo(tmp_path)
    spec = r / "specs" / "redis.conf"  # a spec with the name of an output
    spec.write_text("version: 1\n")
    before = spec.read_text()
    with pytest.raises(RenderError, match="would overwrite the spec file"):
        render_files(str(spec), environ={}, out_dir=r / "specs")
    assert spec.read_text() == before


def test_tls_paths_are_relative_to_the_spec_and_fenced(tmp_path, monkeypatch):
    r = repo(tmp_path)
    spec = r / "specs" / "s.yaml"
    spec.write_text("version: 1\ntarget:\n  url: rediss://127.0.0.1:1\n  tls: {ca_certs: certs/ca.pem}\n")
    (r / "specs" / "certs").mkdir()
    (r / "specs" / "certs" / "ca.pem").write_text("")  # a TLS file must exist (issue 11)
    monkeypatch.chdir(tmp_path)  # not the spec's directory
    s = load_spec(spec, env={})
    assert s.target.tls.ca_certs == str(r / "specs" / "certs" / "ca.pem")


def test_check_never_prints_a_file_borgconf_did_not_write(tmp_path, capsys):
    """An existing redis.conf (or whatever sits at render.redis_conf) is shown
    only as lines borgconf writes, masked: its other lines never reach output."""
    r = repo(tmp_path)
    spec = r / "specs" / "s.yaml"
    spec.write_text("version: 1\nserver: {hz: 20}\n")
    foreign = (
        "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMIK7MDENG\n"
        "root:$6$saltsalt$hashhashhash:19000:0:99999:7:::\n"
        "# the admin password is hunter2hunter2\n"
        "hz 10\n"
        "requirepass oldsecretvalue99\n"
    )
    (r / "specs" / "redis.conf").write_text(foreign)
    rc, out, err = run(capsys, "render", spec, "--check")
    assert rc == 2, err
    both = out + err
    for leak in ("wJalrXUtnFEMIK7MDENG", "AWS_SECRET", "saltsalt", "hunter2", "oldsecretvalue99"):
        assert leak not in both, both
    assert "-hz 10" in both and "+hz 20" in both  # a directive borgconf writes is shown
    assert "-requirepass ***" in both
    assert "not shown" in both
