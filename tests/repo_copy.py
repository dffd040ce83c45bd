"""Copy this working tree into a fresh git repository with one commit.

Tools that install borgconf "from the repository" (pre-commit try-repo, pip's
git+file:// URLs) read a commit, not the working tree: the copy makes the
files under test (committed or not) the HEAD of a throwaway repository.
Copied: what ``git ls-files --cached --others --exclude-standard`` lists
(tracked files and untracked ones that are not ignored; .venv never).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GIT_ID = ["-c", "user.name=borgconf-test", "-c", "user.email=test@example.invalid", "-c", "commit.gpgsign=false"]


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *GIT_ID, *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


def copy_worktree(dest: Path) -> Path:
    if shutil.which("git") is None:
        raise RuntimeError("git is required")
    files = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT, check=True, capture_output=True,
    ).stdout.decode().split("\0")
    for name in filter(None, files):
        src = ROOT / name
        if src.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)
    git(dest, "init", "-q")
    git(dest, "add", "-A")
    git(dest, "commit", "-q", "-m", "working tree under test")
    return dest
