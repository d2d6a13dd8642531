"""Which option fits which cell and which engine: one table, checked in one place.

Every cross-field rule of a model or a training run is a row of :data:`RULES`: the option, when
it counts as set, which cells have it (read from the cell registry, so a new cell that declares a
capability gets the option for free), which engines implement it, and what to do instead.
:func:`check_options` is called by the model description (cell rules, engine not known yet), by
the engines when they build (engine rules) and by the training configuration (both, before any
data loads or any file is touched).  An option that does not apply is refused with its name and
the reason, never dropped.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .cells import CELLS, ENGINES, CellDef, cells_having

ENGINE_NAMES = {"numpy": "the NumPy engine", "scratch": "rnnlab.torch", "torch": "torch.nn"}


@dataclass(frozen=True)
class Rule:
    option: str
    is_set: Callable[[object], bool]                 # the option's value -> whether it asks for something
    cells: Callable[[CellDef, object], bool] | None = None   # (cell, value) -> whether the cell has it
    refusal: str = ""                                # why a cell is refused: {cells} have it, not {cell}
    engines: tuple[str, ...] = ENGINES               # which engines implement it
    feature: str = ""                                # what the other engines lack: "no LSTM projection"
    choices: tuple = ()                              # the values that exist at all (when a closed set)


def _on(value: object) -> bool:
    return bool(value)


_FORGET_GATE = "only {cells} has a forget gate, not the {cell}"
RULES: tuple[Rule, ...] = (
    Rule("nonlinearity", lambda v: v != "tanh", lambda c, v: v in c.nonlinearities,
         "{value!r} applies to {cells} only; the {cell} uses fixed sigmoid/tanh gates",
         choices=tuple(dict.fromkeys(n for c in CELLS.values() for n in c.nonlinearities))),
    Rule("proj_size", _on, lambda c, v: c.projection, "only {cells} has a projection, not the {cell}",
         ("scratch", "torch"), "no LSTM projection"),
    Rule("layer_norm", _on, lambda c, v: c.layer_norm, "the layer-normalised cell exists for {cells}, not the {cell}",
         ("numpy", "scratch"), "no layer-normalised cell"),
    Rule("forget_bias", _on, lambda c, v: c.memory_gate == "f", _FORGET_GATE),
    Rule("chrono", _on, lambda c, v: bool(c.chrono), "only {cells} take chrono initialisation, not the {cell}"),
    Rule("recurrent_init", lambda v: v != "default", lambda c, v: c.recurrent_weight != "none",
         "{cells} have a recurrent weight to initialise, not the {cell} (a linear recurrence: no W_hh)"),
    Rule("ring", _on, lambda c, v: any(p.init.startswith("ring") for p in c.params),
         "only {cells} has eigenvalues drawn on a ring, not the {cell}"),
    Rule("head", lambda v: v != "plain", engines=("scratch", "torch"), feature="a plain linear head only"),
    Rule("bidirectional_read", lambda v: v != "final-states", engines=("scratch", "torch"),
         feature="each direction's final state only (no last-output read)"),
    Rule("device", lambda v: v != "cpu", engines=("scratch", "torch"), feature="no GPU: it runs on the CPU only"),
    Rule("ddp", _on, engines=("scratch", "torch"), feature="no data-parallel training (it needs a PyTorch engine)"),
)


def _engine_list(engines: tuple[str, ...]) -> str:
    return " or ".join(repr(e) for e in engines)


def check_cell_engine(cell: str, engine: str) -> None:
    """Refuse a cell that ``engine`` does not implement, naming the engines that do (the registry's ``engines``)."""
    definition = CELLS[cell]
    if engine not in definition.engines:
        raise ValueError(f"cell: {ENGINE_NAMES[engine]} (engine {engine!r}) has no {definition.full_name}; "
                         f"use engine {_engine_list(definition.engines)}")


def check_options(cell: str | None, engine: str | None, options: dict) -> None:
    """Refuse a cell that ``engine`` does not implement, then the first option in ``options`` that ``cell``
    does not have or ``engine`` does not implement (``None``: not known yet, not checked).  Options absent
    from ``options`` are not set."""
    if engine is not None and engine not in ENGINES:
        raise ValueError(f"engine: unknown value {engine!r}; expected one of {', '.join(map(repr, ENGINES))}")
    if cell is not None and engine is not None:
        check_cell_engine(cell, engine)
    for rule in RULES:
        if rule.option not in options or not rule.is_set(options[rule.option]):
            continue
        value = options[rule.option]
        if rule.choices and value not in rule.choices:
            raise ValueError(f"{rule.option}: unknown value {value!r}; expected one of "
                             f"{', '.join(map(repr, rule.choices))}")
        if cell is not None and rule.cells is not None and not rule.cells(CELLS[cell], value):
            having = cells_having(lambda c, rule=rule, value=value: rule.cells(c, value))
            raise ValueError(f"{rule.option}: " + rule.refusal.format(cells=having, cell=CELLS[cell].full_name,
                                                                       value=value))
        if engine is not None and engine not in rule.engines:
            raise ValueError(f"{rule.option}: {ENGINE_NAMES[engine]} has {rule.feature}; "
                             f"use engine {_engine_list(rule.engines)}")
