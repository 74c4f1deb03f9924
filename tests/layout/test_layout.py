"""The package layout holds: small modules, a top level of core modules and
surfaces only, and no import cycle, counting imports inside functions.

import-linter (``make lint``) checks the direction of imports between the rooms;
this checks what it does not: cycles between modules of one room, module sizes
and what may sit at the top level.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = "django_toolbox_realtime"
ROOT = Path(__file__).resolve().parents[2] / PACKAGE

CORE = {"__init__", "exceptions", "signals", "validation", "conf", "crypto", "clock", "db"}
CORE |= {"bodies", "credentials"}
SURFACES = {"views", "admin", "management", "templatetags", "urls", "checks", "testing"}
SURFACES |= {"authentication", "apps", "middleware"}
ROOMS = {"models", "authorization", "webhooks", "state", "delivery", "bridge", "backends"}
ROOMS |= {"health", "contrib", "migrations", "static", "templates"}
MAX_LINES = 300


def modules() -> dict[str, Path]:
    """Dotted module name -> file, for every module of the app but its migrations."""
    found = {}
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT.parent).with_suffix("")
        if "migrations" in rel.parts:
            continue
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def imported_modules(name: str, path: Path, known: set[str]) -> set[str]:
    """The app's modules that ``name`` imports anywhere in its file (inside
    functions too). ``from pkg import sub`` counts as importing ``pkg.sub``."""
    is_package = path.name == "__init__.py"
    base = name.split(".") if is_package else name.split(".")[:-1]
    targets: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                prefix = base[: len(base) - node.level + 1]
                module = ".".join([*prefix, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            for alias in node.names:
                sub = f"{module}.{alias.name}"
                targets.add(sub if sub in known else module)
    return {t for t in targets if t in known and t != name}


def import_graph() -> dict[str, set[str]]:
    found = modules()
    known = set(found)
    return {name: imported_modules(name, path, known) for name, path in found.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_graph_sees_imports_inside_functions() -> None:
    graph = import_graph()
    # apps.ready() imports its receivers inside the method (start-up order).
    assert f"{PACKAGE}.authorization.invalidation" in graph[f"{PACKAGE}.apps"]
    assert f"{PACKAGE}.state.version" in graph[f"{PACKAGE}.state.batch"]


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle_in_the_package() -> None:
    assert cycles(import_graph()) == []


@pytest.mark.parametrize("name", sorted(modules()))
def test_no_module_is_over_300_lines(name: str) -> None:
    lines = len(modules()[name].read_text().splitlines())
    assert lines <= MAX_LINES, f"{name} has {lines} lines: split it by responsibility"


def test_the_top_level_holds_only_core_modules_rooms_and_surfaces() -> None:
    top = {p.name.removesuffix(".py") for p in ROOT.iterdir()} - {"py.typed", "__pycache__"}
    unexpected = top - CORE - SURFACES - ROOMS
    assert unexpected == set(), f"not core, a room or a surface: {sorted(unexpected)}"
    assert {p.stem for p in ROOT.glob("*.py")} <= CORE | SURFACES


def test_the_core_imports_without_settings_and_without_the_rooms_above() -> None:
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    core = sorted(f"{PACKAGE}.{name}" for name in CORE - {"__init__"})
    code = (
        "import sys\n"
        f"import {', '.join(core)}\n"
        f"above = sorted(m for m in sys.modules if m.startswith('{PACKAGE}.') "
        f"and m.split('.')[1] not in {sorted(CORE)!r})\n"
        "print(above)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
