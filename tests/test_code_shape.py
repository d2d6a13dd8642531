"""The shape of the code, checked from the source: small files and functions, and no code outside a cell's own
implementation that asks which cell it runs (it reads a fact of the cell registry instead)."""
from __future__ import annotations

import ast
from pathlib import Path

from rnnlab.cells import CELLS

ROOT = Path(__file__).resolve().parents[1]
# the exercise notebooks' jupytext sources are documents, not modules (package data, like notebooks/, which this
# test does not read either): a course document's length is its own
NOTEBOOKS = ROOT / "src" / "rnnlab" / "exercises" / "notebooks"
SOURCES = sorted(p for p in (ROOT / "src" / "rnnlab").rglob("*.py") if NOTEBOOKS not in p.parents)
# the cells' own implementations: the registry and each engine's steps
CELL_IMPLEMENTATIONS = {Path("src/rnnlab/cells.py"), Path("src/rnnlab/numpy/cells.py"),
                        Path("src/rnnlab/torch/cells.py")}


def _relative(path: Path) -> Path:
    return path.relative_to(ROOT)


def test_no_file_is_over_400_lines():
    long = [f"{_relative(p)}: {n} lines" for p in [*SOURCES, *sorted((ROOT / "tests").rglob("*.py"))]
            if (n := p.read_text().count("\n")) > 400]
    assert long == []


def test_no_function_is_over_60_lines():
    long = []
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.end_lineno - node.lineno >= 60:
                long.append(f"{_relative(path)}:{node.lineno} {node.name}: {node.end_lineno - node.lineno + 1} lines")
    assert long == []


def cell_name_comparisons(path: Path) -> list[tuple[int, str]]:
    """Comparisons (==, !=, in, not in) with a cell's name as a literal: ``cell == "lstm"``, ``x in ("rnn", "gru")``;
    (line, the comparison) each."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Compare):
            literals = [c.value for side in (node.left, *node.comparators) for c in ast.walk(side)
                        if isinstance(c, ast.Constant) and isinstance(c.value, str)]
            if any(value in CELLS for value in literals):
                found.append((node.lineno, ast.unparse(node)))
    return found


def test_no_code_outside_the_cells_own_implementations_compares_cell_names():
    found = [f"{_relative(path)}:{line}: {text}" for path in SOURCES if _relative(path) not in CELL_IMPLEMENTATIONS
             for line, text in cell_name_comparisons(path)]
    assert found == []


def test_the_comparison_finder_sees_the_forms_it_forbids(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text('if cell == "lstm":\n    pass\nok = spec.cell in ("rnn", "gru")\nfine = cell == "rnnx"\n')
    assert cell_name_comparisons(sample) == [(1, "cell == 'lstm'"), (3, "spec.cell in ('rnn', 'gru')")]
