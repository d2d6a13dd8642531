"""The import contract of docs/architecture.md, checked from the imports themselves.

The collector lives in ``tests/import_graph.py``, the layer table and the rules in ``tests/import_contract.py``
(``python tests/import_contract.py`` prints every violation at once).  Here: each rule as a test whose failure lists
all its violations, and the collector and the rules proven on small packages written for the purpose.
"""
from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from import_contract import LAYER_OF, LAYERS, RULES, crossings, cycles, data_reaches_up, unplaced, upward, violations
from import_graph import collect, computed_imports, module_names


@pytest.fixture(scope="module")
def found() -> dict[str, list[str]]:
    return violations()


def _fail_if_any(found: dict[str, list[str]], rule: str) -> None:
    lines = found[rule]
    if lines:
        pytest.fail(f"{RULES[rule]}: {len(lines)}\n" + "\n".join(f"  {line}" for line in lines), pytrace=False)


def test_every_module_has_a_layer(found):
    _fail_if_any(found, "unplaced")


def test_the_layer_table_names_only_layers():
    assert set(LAYER_OF.values()) <= set(LAYERS)


def test_no_import_cycles(found):
    _fail_if_any(found, "cycles")


def test_nothing_imports_upward(found):
    _fail_if_any(found, "upward")


def test_engines_are_siblings_and_grading_stays_below_the_cli(found):
    _fail_if_any(found, "crossings")


def test_data_knows_no_configuration_task_or_model(found):
    _fail_if_any(found, "data")


def test_every_import_names_its_module(found):
    _fail_if_any(found, "computed")


def test_the_collector_sees_deferred_imports_on_the_real_tree():
    """``rnnlab.check`` imports the grader only when called: an import no top-level grep sees."""
    imports = collect()
    assert any(one.importer == "rnnlab" and one.imported == "rnnlab.grading" and one.kind == "deferred"
               for one in imports)
    assert "rnnlab.data.augment" in module_names()
    assert not any("notebooks" in name for name in module_names())


# ---------------------------------------------------------------------------- the collector on a made-up package

def _write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return root


@pytest.fixture
def made_up(tmp_path) -> Path:
    """A package named rnnlab with one import of every kind the collector must see."""
    return _write(tmp_path, {
        "rnnlab/__init__.py": "",
        "rnnlab/files.py": "",
        "rnnlab/config.py": "from .data import reader\n",
        "rnnlab/data/__init__.py": "",
        "rnnlab/data/reader.py": """\
            from typing import TYPE_CHECKING
            from .. import files
            if TYPE_CHECKING:
                from ..tasks import Task
            else:
                from . import shapes

            def read():
                from rnnlab.config import TrainConfig
                return TrainConfig
            """,
        "rnnlab/data/shapes.py": "import rnnlab.data.reader\n",
        "rnnlab/tasks.py": "",
        "rnnlab/numpy/__init__.py": "from .steps import step\n",
        "rnnlab/numpy/steps.py": """\
            import importlib

            class Step:
                def torch_twin(self):
                    return importlib.import_module("rnnlab.torch.cells"), __import__("rnnlab.files")
            """,
        "rnnlab/torch/__init__.py": "",
        "rnnlab/torch/cells.py": "import importlib\nkernels = importlib.import_module('.steps', 'rnnlab.numpy')\n",
        "rnnlab/exercises/__init__.py": "",
        "rnnlab/exercises/notebooks/a-notebook.py": "import rnnlab.cli\n",
    })


def test_the_collector_finds_every_kind_of_import(made_up):
    seen = {(one.importer, one.imported, one.kind) for one in collect(made_up) if not one.via}
    assert seen == {
        ("rnnlab.config", "rnnlab.data.reader", "top"),                # from .data import reader: the submodule
        ("rnnlab.data.reader", "rnnlab.files", "top"),                 # from .. import files
        ("rnnlab.data.reader", "rnnlab.tasks", "typing"),              # under if TYPE_CHECKING
        ("rnnlab.data.reader", "rnnlab.data.shapes", "top"),           # its else: runs
        ("rnnlab.data.reader", "rnnlab.config", "deferred"),           # inside a function
        ("rnnlab.data.shapes", "rnnlab.data.reader", "top"),
        ("rnnlab.numpy", "rnnlab.numpy.steps", "top"),
        ("rnnlab.numpy.steps", "rnnlab.torch.cells", "dynamic"),       # importlib, in a method
        ("rnnlab.numpy.steps", "rnnlab.files", "dynamic"),             # __import__
        ("rnnlab.torch.cells", "rnnlab.numpy.steps", "dynamic"),       # importlib, relative to a package
    }
    assert "rnnlab.exercises.notebooks.a-notebook" not in module_names(made_up)


def test_the_collector_adds_the_packages_imported_on_the_way(made_up):
    via = {(one.importer, one.imported, one.via) for one in collect(made_up) if one.via}
    assert ("rnnlab.numpy.steps", "rnnlab.torch", "rnnlab.torch.cells") in via
    assert ("rnnlab.config", "rnnlab.data", "rnnlab.data.reader") in via
    assert not any(importer.startswith(package + ".") for importer, package, _ in via)


def test_the_rules_catch_each_violation(made_up):
    imports = collect(made_up)
    found_cycles = cycles(imports)
    assert found_cycles == [   # the deferred import closes the first, importlib and a package's __init__ the second
        "rnnlab.config -> rnnlab.data.reader -> rnnlab.config   "
        "[3 modules: rnnlab.config, rnnlab.data.reader, rnnlab.data.shapes]",
        "rnnlab.numpy -> rnnlab.numpy.steps -> rnnlab.torch.cells -> rnnlab.numpy (package of rnnlab.numpy.steps)   "
        "[3 modules: rnnlab.numpy, rnnlab.numpy.steps, rnnlab.torch.cells]"]
    assert "rnnlab.data.reader [data] -> rnnlab.config [facts] (deferred, line 9)" in upward(imports)
    assert {line.split(" (")[0] for line in data_reaches_up(imports)} == {
        "rnnlab.data.reader -> rnnlab.tasks", "rnnlab.data.reader -> rnnlab.config"}
    assert {line.split(" (")[0] for line in crossings(imports)} == {
        "rnnlab.numpy.steps -> rnnlab.torch.cells", "rnnlab.torch.cells -> rnnlab.numpy.steps"}


def test_a_type_checking_import_makes_no_cycle_but_counts_for_the_layers(tmp_path):
    tree = _write(tmp_path, {"rnnlab/__init__.py": "", "rnnlab/tasks.py": "from .data import images\n",
                             "rnnlab/data/__init__.py": "",
                             "rnnlab/data/images.py": "from typing import TYPE_CHECKING\n"
                                                      "if TYPE_CHECKING:\n    from ..tasks import Task\n"})
    imports = collect(tree)
    assert cycles(imports) == []
    assert [line.split(" (")[0] for line in data_reaches_up(imports)] == ["rnnlab.data.images -> rnnlab.tasks"]


def test_a_module_missing_from_the_table_is_named(tmp_path):
    tree = _write(tmp_path, {"rnnlab/__init__.py": "", "rnnlab/newthing.py": "", "rnnlab/data/__init__.py": "",
                             "rnnlab/data/new_source.py": ""})
    assert unplaced(module_names(tree)) == ["rnnlab.newthing"]


def test_a_chain_between_the_engines_and_a_computed_import_are_caught(tmp_path):
    tree = _write(tmp_path, {
        "rnnlab/__init__.py": "", "rnnlab/torch/__init__.py": "", "rnnlab/numpy/__init__.py": "",
        "rnnlab/numpy/cells.py": "", "rnnlab/numpy/loop.py": "from . import cells\nfrom ..cells import LSTM\n",
        "rnnlab/cells.py": "import importlib\n"
                           "def steps(engine):\n"
                           "    for name in ('rnnlab.torch.cells', 'rnnlab.numpy.cells'):\n"
                           "        importlib.import_module(name)\n"
                           "    return importlib.import_module(f'rnnlab.{engine}.cells')\n",
        "rnnlab/torch/cells.py": "", "rnnlab/torch/layers.py": "from ..engines.protocol import Trainable\n",
        "rnnlab/engines/__init__.py": "from .numpy_engine import NumpyEngine\n", "rnnlab/engines/protocol.py": "",
        "rnnlab/engines/numpy_engine.py": "from ..numpy.loop import step\n"})
    imports = collect(tree)
    assert {(one.importer, one.imported, one.line) for one in imports if one.kind == "dynamic" and not one.via} == {
        ("rnnlab.cells", "rnnlab.torch.cells", 4), ("rnnlab.cells", "rnnlab.numpy.cells", 4)}   # the loop's names
    assert crossings(imports) == [   # through the registry's importlib; through a package's __init__
        "rnnlab.numpy.loop -> rnnlab.cells -> rnnlab.torch.cells",
        "rnnlab.torch.layers -> rnnlab.engines (package of rnnlab.engines.protocol) -> rnnlab.engines.numpy_engine "
        "-> rnnlab.numpy.loop"]
    assert computed_imports(tree) == ["rnnlab.cells, line 5: importlib.import_module(f'rnnlab.{engine}.cells')"]
