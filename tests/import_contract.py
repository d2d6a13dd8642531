"""rnnlab's import contract: the layers, the rules every import between rnnlab's modules obeys, and their violations.

The imports come from :mod:`import_graph` (every import, deferred and importlib ones included).  The rules:

- every module has a layer (:data:`LAYER_OF`), and no module imports a layer above its own (:data:`LAYERS`);
- no import cycle, deferred and importlib imports included.  TYPE_CHECKING-only imports never run, so they make no
  cycle and are left out of this rule; they do count for all the others: a type named in a signature is knowledge of
  the module that defines it, so a lower layer may not name an upper layer's types even in annotations (it takes a
  protocol from below instead);
- ``rnnlab.numpy`` and ``rnnlab.torch`` never import each other, directly or through a chain of other modules;
  ``rnnlab.grading`` never imports ``rnnlab.cli``;
- ``rnnlab.data`` imports only data/ and the utilities;
- every import call names its module (a computed name hides what it imports).

Run ``python tests/import_contract.py`` to print every violation on the current tree; ``tests/test_architecture.py``
fails on each rule with the list.
"""
from __future__ import annotations

import sys
from pathlib import Path

from import_graph import ROOT, SRC, Import, collect, computed_imports, module_names

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
    "rnnlab.course": "jobs",
    # views: read a History, a run directory or a model; draw, tabulate, explain; never train
    "rnnlab.plots": "views",
    "rnnlab.report": "views",
    "rnnlab.gradient_report": "views",
    "rnnlab.inspect": "views",
    "rnnlab.analysis": "views",
    "rnnlab.reading": "views",
    "rnnlab.figure": "views",          # the Figure every view returns (apart from plots, which re-exports text views)
    "rnnlab.text_cells": "views",      # what a character-level model's cells learned: traces, signals, connectivity
    "rnnlab.text_figures": "views",    # their figures (re-exported by plots)
    "rnnlab.text_report": "views",     # the report's section on them
    "rnnlab.diagrams": "views",
    "rnnlab.classic": "views",
    "rnnlab.gradcheck": "views",
    "rnnlab.demo": "views",
    # run: one run, resolved, checked, looped, written
    "rnnlab.plan": "run",
    "rnnlab.train": "run",
    "rnnlab.trainer": "run",
    "rnnlab.callbacks": "run",
    "rnnlab.rundir": "run",
    "rnnlab.modelfile": "run",
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
    "rnnlab.draws": "facts",
    "rnnlab.rules": "facts",
    "rnnlab.spec": "facts",
    "rnnlab.config": "facts",
    "rnnlab.flags": "facts",           # the settings' flags of train and compare (the CLI's, the bench's commands)
    "rnnlab.settings_file": "facts",
    "rnnlab.tasks": "facts",
    "rnnlab.metrics": "facts",
    "rnnlab.streams": "facts",         # the order of batches: a task chooses its stream, so it sits below tasks
    # data: sources, images, augmentation; no configuration, no task, no model
    "rnnlab.data": "data",
    "rnnlab.text": "data",             # the vocabulary, the corpora, the n-gram baseline: text as data
    "rnnlab.text.sampling": "run",     # writing text with a trained model (the epoch samples of a run use it)
    # utilities
    "rnnlab.files": "utilities",
    "rnnlab.version": "utilities",     # the version string (the installed distribution's)
    "rnnlab._version": "utilities",    # a file setuptools-scm wrote in checkouts installed before version.py
    "rnnlab.argcheck": "utilities",
    "rnnlab.filecheck": "utilities",
    "rnnlab.machine": "utilities",
    "rnnlab.progress": "utilities",    # progress: a widget in a notebook, a bar on a terminal, lines in a log
    "rnnlab.denormals": "utilities",
    "rnnlab.threads": "utilities",   # how many threads training uses (the thread policy)
    "rnnlab.distributed": "utilities",
}

# Modules allowed to import a module whose name is computed at run time (module -> why); none today.
COMPUTED_ALLOWED: dict[str, str] = {}
# Pairs of packages that may not import each other in either direction, at any depth.
SIBLINGS = (("rnnlab.numpy", "rnnlab.torch"),)
# (importer, imported): the importer's package may never import the other, even where the layers would allow it.
FORBIDDEN = (("rnnlab.grading", "rnnlab.cli"),)


# ---------------------------------------------------------------------------------------------------- the rules

def layer_of(module: str) -> str | None:
    """The layer of ``module``: the entry of :data:`LAYER_OF` for it or its closest package; None if there is none
    (the root package's entry is its own, not its submodules')."""
    if module == ROOT:
        return LAYER_OF[ROOT]
    parts = module.split(".")
    return next((LAYER_OF[name] for name in (".".join(parts[:i]) for i in range(len(parts), 1, -1))
                 if name in LAYER_OF), None)


def _written(imports: list[Import]) -> list[Import]:
    """The imports written in the source, without the packages Python imports on the way (the layer rules read these:
    a package's layer is its submodules')."""
    return [one for one in imports if not one.via]


def _within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def unplaced(modules: list[str] | set[str]) -> list[str]:
    """Modules that :data:`LAYER_OF` does not place."""
    return sorted(m for m in modules if layer_of(m) is None)


def upward(imports: list[Import]) -> list[str]:
    """Imports of a layer above the importer's ("rnnlab.data.augment [data] -> rnnlab.config [facts] (...)")."""
    rank = {layer: i for i, layer in enumerate(LAYERS)}
    out = []
    for one in _written(imports):
        low, high = layer_of(one.importer), layer_of(one.imported)
        if low in rank and high in rank and rank[high] < rank[low]:
            out.append(f"{one.importer} [{low}] -> {one.imported} [{high}] ({str(one).rpartition(' (')[2]}")
    return sorted(set(out))


def _shortest_path(graph: dict[str, set[str]], start: str, is_goal, may_pass) -> list[str] | None:
    """A shortest import chain from ``start`` to a module ``is_goal`` accepts, through modules ``may_pass`` accepts
    (of two equally short, the one through the submodules written in the source rather than their packages)."""
    parent: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for child in sorted(graph.get(node, ()), key=lambda m: (-m.count("."), m)):
                if is_goal(child):
                    path = [child, node]
                    while path[-1] != start:
                        path.append(parent[path[-1]])
                    return path[::-1]
                if child not in parent and child != start and may_pass(child):
                    parent[child] = node
                    following.append(child)
        frontier = following
    return None


def _chain(path: list[str], imports: list[Import]) -> str:
    """``a -> b -> c``, each package that is only imported on the way to a submodule named with it."""
    written = {(one.importer, one.imported) for one in _written(imports)}
    via = {(one.importer, one.imported): one.via for one in imports if one.via}
    return path[0] + "".join(f" -> {b}" + ("" if (a, b) in written else f" (package of {via[a, b]})")
                             for a, b in zip(path, path[1:]))


def crossings(imports: list[Import]) -> list[str]:
    """Imports between siblings (:data:`SIBLINGS`, either way: written ones, and chains through other modules, the
    packages Python imports on the way included), and imports from a package of one it may never import
    (:data:`FORBIDDEN`)."""
    pairs = [(a, b) for a, b in SIBLINGS] + [(b, a) for a, b in SIBLINGS]
    direct = [one for one in _written(imports) for a, b in pairs + list(FORBIDDEN)
              if _within(one.importer, a) and _within(one.imported, b)]
    out = {str(one) for one in direct}
    graph: dict[str, set[str]] = {}
    for one in imports:
        graph.setdefault(one.importer, set()).add(one.imported)
    for a, b in pairs:
        for start in sorted(m for m in graph if _within(m, a) and m not in {one.importer for one in direct}):
            # a chain from the last module of ``a`` on it: it does not pass through ``a`` again
            path = _shortest_path(graph, start, lambda m, b=b: _within(m, b), lambda m, a=a: not _within(m, a))
            if path is not None:
                out.add(_chain(path, imports))
    return sorted(out)


def data_reaches_up(imports: list[Import]) -> list[str]:
    """Imports from ``rnnlab.data`` of anything but data/ itself and the utilities."""
    return sorted({str(one) for one in _written(imports) if _within(one.importer, "rnnlab.data")
                   and layer_of(one.imported) not in ("data", "utilities")})


def _components(graph: dict[str, set[str]]) -> list[list[str]]:
    """The modules that import each other, directly or not, in groups of 2 or more (strongly connected components,
    from each module's reach: a few hundred modules make this instant)."""
    reach = {}
    for start in graph:
        seen: set[str] = set()
        frontier = [start]
        while frontier:
            node = frontier.pop()
            for child in graph[node] - seen:
                seen.add(child)
                frontier.append(child)
        reach[start] = seen
    groups = {frozenset({m} | {n for n in reach[m] if m in reach[n]}) for m in graph if m in reach[m]}
    return sorted(sorted(group) for group in groups if len(group) > 1)


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
    for component in _components(graph):
        path = _shortest_path(graph, component[0], lambda m, c=component[0]: m == c, set(component).__contains__)
        out.append(_chain(path, imports) + f"   [{len(component)} modules: {', '.join(component)}]")
    return out


RULES = {"unplaced": "modules with no layer: add each to LAYER_OF in tests/import_contract.py",
         "cycles": "import cycles (function-level and importlib imports included)",
         "upward": "imports of a layer above the importer's (layers, top down: " + " > ".join(LAYERS) + ")",
         "crossings": "rnnlab.numpy and rnnlab.torch importing each other (directly or through other modules), "
                      "or rnnlab.grading importing rnnlab.cli",
         "computed": "import calls whose module name is computed, so that the contract cannot see what they import "
                     "(import by name, or allow the module in COMPUTED_ALLOWED with the reason)",
         "data": "rnnlab.data importing more than data/ and the utilities (no configuration, task or model)"}


def violations(src: Path = SRC) -> dict[str, list[str]]:
    """Every rule's violations on the tree under ``src`` (keys: those of :data:`RULES`)."""
    imports = collect(src)
    return {"unplaced": unplaced(module_names(src)), "cycles": cycles(imports), "upward": upward(imports),
            "crossings": crossings(imports), "data": data_reaches_up(imports),
            "computed": computed_imports(src, allowed=COMPUTED_ALLOWED)}


def report(found: dict[str, list[str]]) -> str:
    """The violations as text, rule by rule."""
    return "\n".join(f"{RULES[rule]}: {len(lines)}\n" + "".join(f"  {line}\n" for line in lines)
                     for rule, lines in found.items())


if __name__ == "__main__":
    found = violations()
    print(report(found))
    sys.exit(1 if any(found.values()) else 0)
