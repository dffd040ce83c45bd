"""A non-editable install works: the wheel carries code, catalog and templates."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation" if _has_hatchling() else "--quiet", "-q", str(ROOT), "-w", str(out)],
        check=True, capture_output=True, text=True,
    )
    (whl,) = out.glob("borgconf-*.whl")
    return whl


def _has_hatchling() -> bool:
    try:
        import hatchling  # noqa: F401
    except ImportError:
        return False
    return True


def test_wheel_carries_catalog_and_templates(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    assert "borgconf/data/params.json" in names
    assert "borgconf/cli.py" in names
    templates = [n for n in names if n.startswith("borgconf/templates/") and n.endswith(".j2")]
    assert {"borgconf/templates/redis.conf.j2", "borgconf/templates/env.j2"} <= set(templates)


def test_non_editable_install_runs(wheel, tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    target = venv / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"
    # install the wheel itself (no editable hook), dependencies come from this test venv
    with zipfile.ZipFile(wheel) as z:
        z.extractall(target)
    (target / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    # a console script as pip would write it
    script = venv / "bin" / "borgconf"
    script.write_text(f"#!{venv / 'bin' / 'python'}\nimport sys\nfrom borgconf.__main__ import main\nsys.exit(main())\n")
    script.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    cwd = tmp_path  # not the repo: `python -m` would import the checkout from cwd
    spec = tmp_path / "s.yaml"
    spec.write_text("version: 1\nserver:\n  maxmemory: 1gb\n  requirepass: Zq4vN8wLr2Tx\n  appendonly: yes\n")
    where = subprocess.run([str(venv / "bin" / "python"), "-c", "import borgconf; print(borgconf.__file__)"], cwd=cwd, env=env, capture_output=True, text=True, check=True).stdout
    assert str(target) in where
    r = subprocess.run([str(script), "--version"], cwd=cwd, env=env, capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.strip() == "borgconf 0.1.0"
    r = subprocess.run([str(venv / "bin" / "python"), "-m", "borgconf", "validate", str(spec)], cwd=cwd, env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "valid" in r.stdout
