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
