"""Dependencies point one way: faces (cli, web) -> indexer / eval -> core.

Every import statement is checked, including those inside functions, by parsing the source.
"""
import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN = {  # source folder -> packages it must not import
    "nacsearch": ("nacsearch.indexer", "nacsearch.eval", "nacsearch.cli", "nacsearch.web"),
    "indexer": ("nacsearch.eval", "nacsearch.cli", "nacsearch.web"),
    "eval": ("nacsearch.cli", "nacsearch.web"),
}


def imported_modules(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(), str(path))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.append((node.lineno, node.module))
            out += [(node.lineno, f"{node.module}.{a.name}") for a in node.names]
    return out


def violations(folder: str) -> list[str]:
    bad = []
    for path in sorted((ROOT / folder).rglob("*.py")):
        for line, mod in imported_modules(path):
            if any(mod == f or mod.startswith(f + ".") for f in FORBIDDEN[folder]):
                bad.append(f"{path.relative_to(ROOT)}:{line} imports {mod}")
    return bad


@pytest.mark.parametrize("folder", sorted(FORBIDDEN))
def test_imports_point_one_way(folder):
    assert violations(folder) == []


def test_the_checker_sees_imports_inside_functions(tmp_path):
    f = tmp_path / "m.py"
    f.write_text("def f():\n    from nacsearch.indexer.index import Index\n    import nacsearch.cli.main\n")
    assert [m for _, m in imported_modules(f)] == ["nacsearch.indexer.index", "nacsearch.indexer.index.Index",
                                                   "nacsearch.cli.main"]


def module_graph(folder: str, package: str) -> dict[str, set[str]]:
    """{module: modules of the same package it imports} for every file under ``folder``."""
    graph = {}
    for path in sorted((ROOT / folder).rglob("*.py")):
        name = f"{package}.{path.relative_to(ROOT / folder).with_suffix('').as_posix().replace('/', '.')}"
        graph[name.removesuffix(".__init__")] = {m for _, m in imported_modules(path)}
    return {m: {d for d in deps if d in graph and d != m} for m, deps in graph.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every import cycle found by depth-first search (each reported from where it closes)."""
    found, state = [], {}

    def visit(m: str, stack: list[str]) -> None:
        state[m] = "open"
        for d in sorted(graph[m]):
            if state.get(d) == "open":
                found.append(stack[stack.index(d):] + [d])
            elif d not in state:
                visit(d, stack + [d])
        state[m] = "done"

    for m in sorted(graph):
        if m not in state:
            visit(m, [m])
    return found


@pytest.mark.parametrize("folder,package", [("indexer", "nacsearch.indexer"), ("nacsearch", "nacsearch"),
                                            ("eval", "nacsearch.eval")])
def test_no_import_cycles_even_inside_functions(folder, package):
    assert cycles(module_graph(folder, package)) == []


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c", "a"]]
