"""The project's layering holds: no import cycle between top-level packages, no oversized module.

The layers contract itself is import-linter's (pyproject.toml, run by `make lint`); this catches
what it does not: a cycle through packages that contract does not order, and modules growing
past what a newcomer can read in one go."""

from __future__ import annotations

import tomllib

import grimp
import pytest

from kol.settings import REPO_ROOT

PACKAGES: list[str] = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["tool"][
    "importlinter"
]["root_packages"]
MAX_LINES = 500


def package_graph(packages: list[str]) -> dict[str, set[str]]:
    """Top-level package -> the top-level packages it imports (at any depth, lazily or not)."""
    graph = grimp.build_graph(*packages, cache_dir=None)
    edges: dict[str, set[str]] = {p: set() for p in packages}
    for module in graph.modules:
        for imported in graph.find_modules_directly_imported_by(module):
            a, b = module.split(".")[0], imported.split(".")[0]
            if a != b:
                edges[a].add(b)
    return edges


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the graph as [a, b, ..., a], or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(edges):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_find_cycle_finds_one_and_only_one() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


def test_no_import_cycle_between_top_level_packages() -> None:
    edges = package_graph(PACKAGES)
    assert edges["kol"] == set(), f"the core imports a layer: {sorted(edges['kol'])}"
    cycle = find_cycle(edges)
    assert cycle is None, "import cycle between packages: " + " -> ".join(cycle or [])


@pytest.mark.parametrize("package", PACKAGES)
def test_no_product_module_over_500_lines(package: str) -> None:
    long = {
        str(path.relative_to(REPO_ROOT)): n
        for path in sorted((REPO_ROOT / package).rglob("*.py"))
        if (n := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert not long, f"split along their concerns: {long}"
