"""The templates ship inside the wheel, and a non-editable install renders with them."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _has_hatchling() -> bool:
    try:
        import hatchling  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("render-wheel")
    isolation = ["--no-isolation"] if _has_hatchling() else []
    r = subprocess.run([sys.executable, "-m", "build", "--wheel", *isolation, "--outdir", str(out), str(ROOT)], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    (whl,) = out.glob("borgconf-*.whl")
    return whl


def test_the_wheel_holds_the_templates_as_in_the_repository(wheel):
    with zipfile.ZipFile(wheel) as z:
        for name in ("redis.conf.j2", "env.j2"):
            assert z.read(f"borgconf/templates/{name}").decode() == (ROOT / "templates" / name).read_text()


def test_a_non_editable_install_renders(wheel, tmp_path):
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as z:
        z.extractall(site)
    # dependencies from this venv, behind the extracted wheel (no editable hook in front)
    (site / "zz-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    spec = tmp_path / "work" / "spec.yaml"
    spec.parent.mkdir()
    spec.write_text("version: 1\nserver: {requirepass: '${REDIS_PASSWORD}', appendonly: yes}\nservices: {n8n: {db: 0}}\n")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "REDIS_PASSWORD")}
    code = (
        "import site, sys; site.addsitedir(sys.argv[1]); sys.path.remove(sys.argv[1]); sys.path.insert(0, sys.argv[1]); "
        "import borgconf.render as r; print(r.templates_dir()); "
        "from borgconf.cli import main; sys.exit(main(['render', sys.argv[2], '--out-dir', sys.argv[3]]))"
    )
    res = subprocess.run(
        [sys.executable, "-S", "-c", code, str(site), str(spec), str(tmp_path / "out")],
        cwd=tmp_path, env=env, capture_output=True, text=True,
    )
    assert res.returncode == 0, res.stdout + res.stderr
    assert res.stdout.splitlines()[0] == str(site / "borgconf" / "templates")
    conf = (tmp_path / "out" / "redis.conf").read_text()
    assert "appendonly yes" in conf and "requirepass" in conf
    assert "N8N_REDIS_URL=redis://:" in (tmp_path / "out" / ".env").read_text()
