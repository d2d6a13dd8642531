"""Every import between rnnlab's modules, read from the source with :mod:`ast` (nothing is imported or run).

The collector records each import of an rnnlab module, wherever it stands:

- ``import rnnlab.x`` and ``from rnnlab.x import y`` at the top of the module, inside functions and methods, inside
  ``try`` / ``if`` blocks, and inside ``if TYPE_CHECKING:``;
- relative imports (``from ..x import y``, ``from . import y``), resolved to absolute module names;
- ``from package import name``: the submodule ``package.name`` when there is one, else the package itself;
- ``importlib.import_module("rnnlab.x")``, ``import_module(".x", "rnnlab")`` and ``__import__("rnnlab.x")`` with a
  string literal, or with a loop variable over a literal tuple of names (``for m in ("rnnlab.torch", ...)``); any
  other computed name is listed by :func:`computed_imports`, since nobody can tell what it imports;
- the packages Python imports on the way to a submodule (importing ``rnnlab.numpy.cells`` from outside
  ``rnnlab.numpy`` first runs ``rnnlab/numpy/__init__.py``), marked with ``via``.

Each import is recorded with its kind: ``top`` (runs when the module is imported), ``deferred`` (inside a function or
method: runs when called), ``dynamic`` (an importlib / ``__import__`` call) or ``typing`` (under ``if TYPE_CHECKING:``).

Files that are not importable modules of the package (the exercise notebooks' jupytext sources in
``exercises/notebooks/``, whose folder has no ``__init__.py`` and whose names have dashes) are package data and are
not read.  The rules these imports obey are in ``tests/import_contract.py``.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
ROOT = "rnnlab"


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


def _dynamic_call(call: ast.Call) -> str | None:
    """``import_module`` or ``__import__`` when ``call`` calls one of them, else None."""
    func = call.func
    name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None
    return name if name in ("import_module", "__import__") and call.args else None


def _strings(node: ast.expr | None, bound: dict[str, list[str]]) -> list[str] | None:
    """The string(s) ``node`` stands for: a literal, or a loop variable over a literal tuple or list; else None."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.Name) and node.id in bound:
        return bound[node.id]
    return None


def _dynamic_targets(call: ast.Call, bound: dict[str, list[str]]) -> list[str] | None:
    """The modules an ``importlib.import_module`` / ``__import__`` call names, None when they cannot be read."""
    names = _strings(call.args[0], bound)
    if _dynamic_call(call) == "__import__" or names is None or not any(name.startswith(".") for name in names):
        return names
    package = call.args[1] if len(call.args) > 1 else next((k.value for k in call.keywords if k.arg == "package"),
                                                           None)
    packages = _strings(package, bound) if package is not None else None
    if not packages or len(packages) > 1:
        return None
    return [_resolve_relative(packages[0], len(name) - len(name.lstrip(".")), name.lstrip(".") or None)
            if name.startswith(".") else name for name in names]


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
        self.bound: dict[str, list[str]] = {}   # loop variables over literal strings: ``for m in ("a", "b"):``
        self.found: list[Import] = []
        self.computed: list[str] = []            # import calls whose module name cannot be read

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

    def visit_For(self, node: ast.For) -> None:
        values = node.iter.elts if isinstance(node.iter, (ast.Tuple, ast.List)) else None
        if isinstance(node.target, ast.Name) and values and all(
                isinstance(v, ast.Constant) and isinstance(v.value, str) for v in values):
            self.bound[node.target.id] = [v.value for v in values]
        self.generic_visit(node)
        if isinstance(node.target, ast.Name):
            self.bound.pop(node.target.id, None)

    def visit_Call(self, node: ast.Call) -> None:
        if _dynamic_call(node):
            targets = _dynamic_targets(node, self.bound)
            if targets is None:
                self.computed.append(f"{self.name}, line {node.lineno}: {ast.unparse(node)}")
            for target in targets or ():
                self._add(target, node.lineno, "typing" if self.typing else "dynamic")
        self.generic_visit(node)


def _read(name: str, path: Path, known: set[str], root: str) -> _Collector:
    collector = _Collector(name, path.name == "__init__.py", known, root)
    collector.visit(ast.parse(path.read_text(encoding="utf-8"), filename=str(path)))
    return collector


def collect_module(name: str, path: Path, known: set[str], root: str = ROOT) -> list[Import]:
    """The imports of rnnlab modules in one file (``name``: its module name; ``known``: every module's name)."""
    return _read(name, path, known, root).found


def computed_imports(src: Path = SRC, root: str = ROOT, allowed: dict[str, str] | None = None) -> list[str]:
    """``import_module`` / ``__import__`` calls whose module name is computed (nobody can tell what they import),
    except in the modules ``allowed`` names."""
    allowed = allowed or {}
    modules = module_names(src, root)
    return sorted(line for name, path in modules.items() if name not in allowed
                  for line in _read(name, path, set(modules), root).computed)


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


