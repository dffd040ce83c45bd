"""The public API (borgconf/__init__.py) and the shape of the package: every
module imports alone, and no module of borgconf/ is part of an import cycle."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import borgconf

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "borgconf"

PUBLIC = [
    "__version__",
    "load_spec", "Spec", "ServerValue",
    "LiveState", "connect", "read_state",
    "read_targets", "select_targets", "load_saved_plan", "apply_fleet", "FleetRead", "FleetApply", "SavedPlan",
    "build_plan", "Plan", "TargetPlan", "Change", "ChangeId",
    "apply_target", "ApplyResult",
    "Finding",
    "render_files", "render_redis_conf",
    "BorgconfError", "SpecError", "PlanError", "StalePlan", "ApplyError", "Refused", "RenderError", "Problem",
]


def test_public_api_is_pinned():
    assert borgconf.__all__ == PUBLIC
    import types

    for name in PUBLIC[1:]:
        value = getattr(borgconf, name)
        assert not isinstance(value, types.ModuleType), f"borgconf.{name} is a module: a submodule import would shadow it"
    assert borgconf.apply_target is __import__("borgconf.apply", fromlist=["x"]).apply_target


def _modules() -> list[str]:
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(ROOT).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts.pop()
        out.append(".".join(parts))
    return out


def test_every_module_imports_alone_in_a_fresh_interpreter():
    env = {**{k: v for k, v in os.environ.items() if k != "PYTHONPATH"}, "PYTHONPATH": str(ROOT)}
    code = (
        "import importlib, json, subprocess, sys\n"
        "bad = {}\n"
        "for m in json.loads(sys.argv[1]):\n"
        "    r = subprocess.run([sys.executable, '-c', f'import {m}'], capture_output=True, text=True)\n"
        "    if r.returncode: bad[m] = r.stderr.strip().splitlines()[-1:]\n"
        "print(json.dumps(bad))\n"
    )
    modules = _modules()
    assert "borgconf.fleet" in modules and "borgconf.spec.load" in modules and "borgconf.render.conf" in modules
    r = subprocess.run([sys.executable, "-c", code, json.dumps(modules)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == {}


def _imports(module: str, path: Path, modules: set[str]) -> set[str]:
    """borgconf modules that ``module`` imports, at module level or inside a function
    (a deferred import still ties the two modules together). ``from pkg import mod`` is
    an edge to pkg.mod, not to pkg; that Python initialises a parent package first is
    how packages work, not a cycle."""
    tree = ast.parse(path.read_text())
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.startswith("borgconf")}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if not target.startswith("borgconf"):
                continue
            for a in node.names:
                sub = f"{target}.{a.name}"
                out.add(sub if sub in modules else target)
    return out


def _graph() -> dict[str, set[str]]:
    modules = set(_modules())
    graph = {}
    for m in modules:
        path = ROOT / Path(*m.split("."))
        path = path / "__init__.py" if path.is_dir() else path.with_suffix(".py")
        graph[m] = {t for t in _imports(m, path, modules) if t in modules and t != m}
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_no_import_cycle_inside_borgconf():
    graph = _graph()
    assert graph["borgconf.spec.types"] >= {"borgconf.spec.schema"}  # the graph sees relative imports
    assert _cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"a"}, "c": set()}) == [["a", "b"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_readme_layout_names_every_module_and_package():
    """README's Layout section matches the tree: every module and package of borgconf/ is named."""
    import re

    text = (ROOT / "README.md").read_text()
    layout = text[text.index("## Layout") :]
    layout = layout[: layout.index("```", layout.index("```") + 3)]
    missing = []
    for path in sorted(PACKAGE.rglob("*.py")):
        name = path.parent.name + "/" if path.name == "__init__.py" and path.parent != PACKAGE else path.stem
        if path.name == "__init__.py" and path.parent == PACKAGE:
            name = "__init__"
        if not re.search(rf"(?<![\w/]){re.escape(name)}(?!\w)", layout):
            missing.append(str(path.relative_to(ROOT)))
    assert missing == []
