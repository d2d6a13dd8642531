"""rnnlab's import contract: every import between rnnlab's modules, read from the source, and the rules they obey.

The collector parses each module of ``src/rnnlab`` with :mod:`ast` (nothing is imported or run) and records every
import of an rnnlab module, wherever it stands:

- ``import rnnlab.x`` and ``from rnnlab.x import y`` at the top of the module, inside functions and methods, inside
  ``try`` / ``if`` blocks, and inside ``if TYPE_CHECKING:``;
- relative imports (``from ..x import y``, ``from . import y``), resolved to absolute module names;
- ``from package import name``: the submodule ``package.name`` when there is one, else the package itself;
- ``importlib.import_module("rnnlab.x")``, ``import_module(".x", "rnnlab")`` and ``__import__("rnnlab.x")`` with
  string literals (a computed name cannot be read; the sandbox's child, which imports what a student names, is the
  one such call).

Each import is recorded with its kind: ``top`` (runs when the module is imported), ``deferred`` (inside a function or
method: runs when called), ``dynamic`` (an importlib / ``__import__`` call) or ``typing`` (under ``if TYPE_CHECKING:``).

TYPE_CHECKING-only imports never run, so they cannot make an import cycle: they are left out of the cycle check.  They
do count for the layers and the other rules: a type named in a signature is knowledge of the module that defines it,
so a lower layer may not name an upper layer's types even in annotations (take a protocol from below instead).

Files that are not importable modules of the package (the exercise notebooks' jupytext sources in
``exercises/notebooks/``, whose folder has no ``__init__.py`` and whose names have dashes) are package data and are
not read.

Run ``python tests/import_contract.py`` to print every violation on the current tree.
"""
from __future__ import annotations

import ast
import sys
from dataclasses import dataclass
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
ROOT = "rnnlab"

# The layers, from the top down.  A module may import its own layer and the layers below it, never one above.
LAYERS = ("faces", "jobs", "views", "run", "models", "kernels", "facts", "data", "utilities")

# Each module or package -> its layer; a package's entry covers all its submodules (the longest entry wins).
# Entries for modules that do not exist yet (``plan``, ``streams``, ``kernels``) are the places their authors agreed.
LAYER_OF = {
    # faces: what a person touches
    "rnnlab": "faces",                 # the package itself: rnnlab.check(), __version__
    "rnnlab.__main__": "faces",
    "rnnlab.cli": "faces",
    "rnnlab.lab": "faces",
    "rnnlab.explore": "faces",
    "rnnlab.widgets": "faces",
    # jobs: many runs, saved runs, results, grading
    "rnnlab.runs": "jobs",
    "rnnlab.sweep": "jobs",
    "rnnlab.bench": "jobs",
    "rnnlab.suite": "jobs",
    "rnnlab.grading": "jobs",
    "rnnlab.exercises": "jobs",
    # views: read a History, a run directory or a model; draw, tabulate, explain; never train
    "rnnlab.plots": "views",
    "rnnlab.report": "views",
    "rnnlab.gradient_report": "views",
    "rnnlab.inspect": "views",
    "rnnlab.analysis": "views",
    "rnnlab.reading": "views",
    "rnnlab.classic": "views",
    "rnnlab.gradcheck": "views",
    "rnnlab.demo": "views",
    # run: one run, resolved, checked, looped, written
    "rnnlab.plan": "run",
    "rnnlab.train": "run",
    "rnnlab.trainer": "run",
    "rnnlab.streams": "run",
    "rnnlab.callbacks": "run",
    "rnnlab.rundir": "run",
    "rnnlab.memory": "run",
    # models: the engines' protocol and adapters, the two from-scratch engines, initialisation of any engine's model
    "rnnlab.engines": "models",
    "rnnlab.numpy": "models",
    "rnnlab.torch": "models",
    "rnnlab.init": "models",
    # kernels: compiled primitives both engines share (the numba switch, scalar helpers, the scan)
    "rnnlab.kernels": "kernels",
    # facts: tables and descriptions, no computation on models
    "rnnlab.cells": "facts",
    "rnnlab.rules": "facts",
    "rnnlab.spec": "facts",
    "rnnlab.config": "facts",
    "rnnlab.tasks": "facts",
    "rnnlab.metrics": "facts",
    # data: sources, images, augmentation; no configuration, no task, no model
    "rnnlab.data": "data",
    # utilities
    "rnnlab.files": "utilities",
    "rnnlab.machine": "utilities",
    "rnnlab.denormals": "utilities",
    "rnnlab.distributed": "utilities",
}

# Pairs of packages that may not import each other in either direction, at any depth.
SIBLINGS = (("rnnlab.numpy", "rnnlab.torch"),)
# (importer, imported): the importer's package may never import the other, even where the layers would allow it.
FORBIDDEN = (("rnnlab.grading", "rnnlab.cli"),)


@dataclass(frozen=True)
class Import:
    """One import of an rnnlab module: who imports what, how (top / deferred / dynamic / typing), at which line.

    ``via`` is set on the import of a package that Python makes on the way to one of its submodules (importing
    ``rnnlab.numpy.cells`` from outside ``rnnlab.numpy`` first runs ``rnnlab/numpy/__init__.py``)."""
    importer: str
    imported: str
    kind: str
    line: int
    via: str = ""

    def __str__(self) -> str:
        how = f"{self.kind}, line {self.line}" + (f", package of {self.via}" if self.via else "")
        return f"{self.importer} -> {self.imported} ({how})"


def module_names(src: Path = SRC, root: str = ROOT) -> dict[str, Path]:
    """Every importable module under ``src/root`` -> its file (a package's name -> its ``__init__.py``)."""
    modules = {}
    for path in sorted((src / root).rglob("*.py")):
        parts = path.relative_to(src).with_suffix("").parts
        folders_are_packages = all((src.joinpath(*parts[:i]) / "__init__.py").is_file() for i in range(1, len(parts)))
        if not folders_are_packages or not all(part.isidentifier() for part in parts):
            continue   # package data, e.g. a notebook's jupytext source
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        modules[name] = path
    return modules


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or \
        (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _dynamic_target(call: ast.Call) -> str | None:
    """The module an ``importlib.import_module`` / ``__import__`` call names with string literals, else None."""
    func = call.func
    name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None
    if name not in ("import_module", "__import__") or not call.args:
        return None
    first = call.args[0]
    if not (isinstance(first, ast.Constant) and isinstance(first.value, str)):
        return None
    target = first.value
    if name == "import_module" and target.startswith("."):
        package = call.args[1] if len(call.args) > 1 else next((k.value for k in call.keywords if k.arg == "package"),
                                                               None)
        if not (isinstance(package, ast.Constant) and isinstance(package.value, str)):
            return None
        return _resolve_relative(package.value, len(target) - len(target.lstrip(".")), target.lstrip(".") or None)
    return target


def _resolve_relative(package: str, level: int, module: str | None) -> str:
    """``from {'.' * level}{module} import ...`` written in ``package`` -> the absolute name it refers to."""
    parts = package.split(".")
    base = parts[:len(parts) - level + 1]
    return ".".join(base + ([module] if module else []))


class _Collector(ast.NodeVisitor):
    """Walks one module's tree and records its imports of rnnlab modules with their kinds."""

    def __init__(self, name: str, is_package: bool, known: set[str], root: str) -> None:
        self.name, self.known, self.root = name, known, root
        self.package = name if is_package else name.rpartition(".")[0]
        self.depth = 0            # > 0 inside a function or method
        self.typing = 0           # > 0 inside ``if TYPE_CHECKING:``
        self.found: list[Import] = []

    def _kind(self) -> str:
        return "typing" if self.typing else "deferred" if self.depth else "top"

    def _add(self, target: str, line: int, kind: str | None = None) -> None:
        if target != self.root and not target.startswith(self.root + "."):
            return
        while target not in self.known and "." in target:   # a name inside a module -> that module
            target = target.rpartition(".")[0]
        self.found.append(Import(self.name, target, kind or self._kind(), line))

    def _function(self, node: ast.AST) -> None:
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    visit_FunctionDef = visit_AsyncFunctionDef = visit_Lambda = _function

    def visit_If(self, node: ast.If) -> None:
        if not _is_type_checking(node.test):
            self.generic_visit(node)
            return
        self.visit(node.test)
        self.typing += 1
        for child in node.body:
            self.visit(child)
        self.typing -= 1
        for child in node.orelse:
            self.visit(child)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._add(alias.name, node.lineno)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        base = _resolve_relative(self.package, node.level, node.module) if node.level else node.module or ""
        for alias in node.names:
            submodule = f"{base}.{alias.name}"
            self._add(submodule if submodule in self.known else base, node.lineno)

    def visit_Call(self, node: ast.Call) -> None:
        target = _dynamic_target(node)
        if target is not None:
            self._add(target, node.lineno, "typing" if self.typing else "dynamic")
        self.generic_visit(node)


def collect_module(name: str, path: Path, known: set[str], root: str = ROOT) -> list[Import]:
    """The imports of rnnlab modules in one file (``name``: its module name; ``known``: every module's name)."""
    collector = _Collector(name, path.name == "__init__.py", known, root)
    collector.visit(ast.parse(path.read_text(encoding="utf-8"), filename=str(path)))
    return collector.found


def _packages_on_the_way(found: Import, known: set[str]) -> list[Import]:
    """The packages Python imports before ``found.imported``: its ancestors that the importer is not inside."""
    parts = found.imported.split(".")
    ancestors = (".".join(parts[:i]) for i in range(1, len(parts)))
    return [Import(found.importer, package, found.kind, found.line, found.imported) for package in ancestors
            if package in known and found.importer != package and not found.importer.startswith(package + ".")]


def collect(src: Path = SRC, root: str = ROOT) -> list[Import]:
    """Every import between the package's modules, the packages imported on the way included (an import of a module
    by itself is dropped)."""
    modules = module_names(src, root)
    known = set(modules)
    found = [one for name, path in modules.items() for one in collect_module(name, path, known, root)]
    found += [package for one in found for package in _packages_on_the_way(one, known)]
    return [one for one in found if one.imported != one.importer]


# ---------------------------------------------------------------------------------------------------- the rules

def layer_of(module: str) -> str | None:
    """The layer of ``module``: the entry of :data:`LAYER_OF` for it or its closest package; None if there is none."""
    parts = module.split(".")
    for i in range(len(parts), 0, -1):
        layer = LAYER_OF.get(".".join(parts[:i]))
        if layer is not None:
            return layer
    return None


def _within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def unplaced(modules: list[str] | set[str]) -> list[str]:
    """Modules that :data:`LAYER_OF` does not place (the root package's own entry places nothing below it)."""
    return sorted(m for m in modules if m != ROOT and layer_of(m) in (None, LAYER_OF[ROOT])
                  and not any(_within(m, entry) for entry in LAYER_OF if entry != ROOT))


def upward(imports: list[Import]) -> list[str]:
    """Imports of a layer above the importer's ("rnnlab.data.augment [data] -> rnnlab.config [facts] (...)")."""
    rank = {layer: i for i, layer in enumerate(LAYERS)}
    out = []
    for one in imports:
        low, high = layer_of(one.importer), layer_of(one.imported)
        if low in rank and high in rank and rank[high] < rank[low]:
            out.append(f"{one.importer} [{low}] -> {one.imported} [{high}] ({str(one).rpartition(' (')[2]}")
    return sorted(set(out))


def crossings(imports: list[Import]) -> list[str]:
    """Imports between siblings (:data:`SIBLINGS`, either way) and from a package to one it may never import."""
    pairs = [(a, b) for a, b in SIBLINGS] + [(b, a) for a, b in SIBLINGS] + list(FORBIDDEN)
    return sorted({str(one) for one in imports for importer, imported in pairs
                   if _within(one.importer, importer) and _within(one.imported, imported)})


def data_reaches_up(imports: list[Import]) -> list[str]:
    """Imports from ``rnnlab.data`` of anything but data/ itself and the utilities."""
    return sorted({str(one) for one in imports if _within(one.importer, "rnnlab.data")
                   and layer_of(one.imported) not in ("data", "utilities")})


def _strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components of ``graph`` (iterative), each sorted; only those of 2 or more."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        components.append(sorted(component))
            elif child not in index:
                index[child] = low[child] = len(index)
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(sorted(graph.get(child, ())))))
            elif child in on_stack:
                low[node] = min(low[node], index[child])
    return sorted(components)


def _shortest_cycle(graph: dict[str, set[str]], start: str, members: set[str]) -> list[str]:
    """A shortest path start -> ... -> start inside one component (breadth first)."""
    parent: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for child in sorted(graph[node] & members):
                if child == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(parent[path[-1]])
                    return [start] + path[::-1][1:] + [start] if node != start else [start, start]
                if child not in parent:
                    parent[child] = node
                    following.append(child)
        frontier = following
    return [start]


def runtime_graph(imports: list[Import]) -> dict[str, set[str]]:
    """Importer -> the modules it imports when it runs (TYPE_CHECKING-only imports left out)."""
    graph: dict[str, set[str]] = {}
    for one in imports:
        if one.kind != "typing":
            graph.setdefault(one.importer, set()).add(one.imported)
            graph.setdefault(one.imported, set())
    return graph


def cycles(imports: list[Import]) -> list[str]:
    """Each import cycle: one shortest path round it, then every module of its strongly connected component."""
    graph = runtime_graph(imports)
    out = []
    for component in _strongly_connected(graph):
        path = _shortest_cycle(graph, component[0], set(component))
        out.append(" -> ".join(path) + f"   [{len(component)} modules: {', '.join(component)}]")
    return out


RULES = {"unplaced": "modules with no layer: add each to LAYER_OF in tests/import_contract.py",
         "cycles": "import cycles (function-level and importlib imports included)",
         "upward": "imports of a layer above the importer's (layers, top down: " + " > ".join(LAYERS) + ")",
         "crossings": "rnnlab.numpy and rnnlab.torch importing each other, or rnnlab.grading importing rnnlab.cli",
         "data": "rnnlab.data importing more than data/ and the utilities (no configuration, task or model)"}


def violations(src: Path = SRC) -> dict[str, list[str]]:
    """Every rule's violations on the tree under ``src`` (keys: those of :data:`RULES`)."""
    imports = collect(src)
    explicit = [one for one in imports if not one.via]
    return {"unplaced": unplaced(module_names(src)), "cycles": cycles(imports), "upward": upward(explicit),
            "crossings": crossings(explicit), "data": data_reaches_up(explicit)}


def report(found: dict[str, list[str]]) -> str:
    """The violations as text, rule by rule."""
    return "\n".join(f"{RULES[rule]}: {len(lines)}\n" + "".join(f"  {line}\n" for line in lines)
                     for rule, lines in found.items())


if __name__ == "__main__":
    found = violations()
    print(report(found))
    sys.exit(1 if any(found.values()) else 0)
