"""The layering of ``ARCHITECTURE.md``, checked on the source: imports only point down.

core ← science (io, quant, regions, measure, kinetics, dosimetry, stats) ← study ←
workflow ← application edge (pipeline, cli, report, simulate); no cycles between
packages; no module over the size the style guide allows.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "immunopet"

#: Rank of each top-level package: a package may import only ranks ≤ its own.
LAYERS = {
    "core": 0,
    "io": 1, "quant": 1, "regions": 1, "measure": 1, "kinetics": 1, "dosimetry": 1, "stats": 1,
    "study": 2,
    "workflow": 3,
    "pipeline": 4, "cli": 4, "report": 4, "simulate": 4,
}  # fmt: skip

#: Longest module, in lines (STYLE.md: "a module that grows past ~400 lines splits").
MAX_LINES = 450


def _package(path: Path) -> str:
    rel = path.relative_to(SRC)
    return rel.parts[0].removesuffix(".py") if len(rel.parts) > 1 else "__init__"


def _imports(path: Path) -> set[str]:
    """Top-level immunopet packages a module imports (module- and function-level)."""
    tree = ast.parse(path.read_text(), str(path))
    rel = path.relative_to(SRC)
    here = list(rel.parts[:-1])
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = here[: len(here) - (node.level - 1)] if node.level > 1 else here
                parts = base + (node.module.split(".") if node.module else [])
                if not parts:  # "from .. import x" at the top: x is a package
                    found.update(a.name for a in node.names)
                else:
                    found.add(parts[0])
            elif node.module and node.module.startswith("immunopet."):
                found.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name.startswith("immunopet."):
                    found.add(a.name.split(".")[1])
    return {f for f in found if f in LAYERS}


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {p: set() for p in LAYERS}
    for path in SRC.rglob("*.py"):
        pkg = _package(path)
        if pkg in LAYERS:
            graph[pkg] |= _imports(path) - {pkg}
    return graph


def test_every_package_has_a_layer() -> None:
    packages = {p.name.removesuffix(".py") for p in SRC.iterdir() if not p.name.startswith("_")}
    packages -= {"data", "py.typed"}
    assert packages <= set(LAYERS), f"packages without a layer: {packages - set(LAYERS)}"


def test_imports_only_point_down() -> None:
    upward = sorted(
        f"{pkg} → {dep}"
        for pkg, deps in _graph().items()
        for dep in deps
        if LAYERS[dep] > LAYERS[pkg]
    )
    assert not upward, f"imports from a lower layer into a higher one: {upward}"


def test_no_cycles_between_packages() -> None:
    graph = _graph()
    cycles = []

    def visit(node: str, stack: list[str]) -> None:
        if node in stack:
            cycles.append(" → ".join(stack[stack.index(node) :] + [node]))
            return
        for dep in sorted(graph[node]):
            visit(dep, stack + [node])

    for pkg in graph:
        visit(pkg, [])
    assert not cycles, f"import cycles between packages: {sorted(set(cycles))[:5]}"


@pytest.mark.parametrize("path", sorted(SRC.rglob("*.py")), ids=lambda p: str(p.relative_to(SRC)))
def test_module_size(path: Path) -> None:
    lines = len(path.read_text().splitlines())
    assert lines <= MAX_LINES, f"{path.relative_to(SRC)} has {lines} lines: split it by domain"


def test_engine_knows_nothing_of_immunopet_tables() -> None:
    """The task engine is generic: it imports no science, study or workflow package."""
    deps = set()
    for name in ("engine.py", "executors.py", "store.py", "progress.py"):
        deps |= _imports(SRC / "pipeline" / name)
    assert deps <= {"core", "pipeline"}, deps
