"""The qa package's import graph has no cycles, counting imports inside functions too.

A cycle hidden in a function (``review`` importing ``suppress`` at the top while ``suppress``
imports ``review`` in a function) still ties the two features together: neither can be
understood, tested or moved without the other. Lower layers (model, identity, score) are
what features share.
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path

import pytest

import qa

PACKAGE = Path(qa.__file__).resolve().parent


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


# Cached: parsing all of qa/ (about 1 MB of source) is most of this module's time, and both
# tests read the same graph (neither changes it).
@functools.cache
def import_graph() -> dict[str, set[str]]:
    """Module -> the qa modules it imports anywhere in its body (``from a import b`` counts
    as importing ``a.b`` when that is a module, else ``a``)."""
    modules = {_module_name(path): path for path in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        is_package = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:  # relative: resolve against this module's package
                    base = name.split(".")
                    base = base[: len(base) - node.level + (1 if is_package else 0)]
                    source = ".".join(base + ([node.module] if node.module else []))
                else:
                    source = node.module or ""
                targets = [f"{source}.{alias.name}" if f"{source}.{alias.name}" in modules else source
                           for alias in node.names]
            else:
                continue
            graph[name].update(t for t in targets if t in modules and t != name)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the graph (a list of modules, first == last), or None."""
    state: dict[str, int] = {}  # 1 on the current path, 2 done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_checker_finds_a_cycle_hidden_in_a_function():
    graph = {"qa.review": {"qa.suppress"}, "qa.suppress": {"qa.review"}, "qa.model": set()}
    assert find_cycle(graph) == ["qa.review", "qa.suppress", "qa.review"]
    assert find_cycle({"qa.a": {"qa.b"}, "qa.b": set()}) is None


@pytest.mark.slow
def test_the_graph_sees_function_level_imports():
    graph = import_graph()
    # qa.audit.compact imports the audit workbook inside a function (its transcript limit)
    assert "qa.report.excel.audit_book" in graph["qa.audit.compact"]
    assert "qa.cli_review" in graph["qa.cli"]


def test_qa_has_no_import_cycles():
    cycle = find_cycle(import_graph())
    assert cycle is None, " -> ".join(cycle)
