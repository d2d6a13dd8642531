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

from .cells import CELLS, CellDef

ENGINES = ("numpy", "scratch", "torch")
ENGINE_NAMES = {"numpy": "the NumPy engine", "scratch": "rnnlab.torch", "torch": "torch.nn"}


@dataclass(frozen=True)
class Rule:
    option: str
    is_set: Callable[[object], bool]                 # the option's value -> whether it asks for something
    cells: Callable[[CellDef], bool] | None = None   # which cells have it (None: every cell)
    has: str = ""                                    # what those cells have: "a forget gate"
    engines: tuple[str, ...] = ENGINES               # which engines implement it
    feature: str = ""                                # what the other engines lack: "no LSTM projection"


def _on(value: object) -> bool:
    return bool(value)


RULES: tuple[Rule, ...] = (
    Rule("nonlinearity", lambda v: v != "tanh", lambda c: "relu" in c.nonlinearities,
         "a choice of nonlinearity (the others use fixed sigmoid/tanh gates)"),
    Rule("proj_size", _on, lambda c: c.projection, "a projection", ("scratch", "torch"), "no LSTM projection"),
    Rule("layer_norm", _on, lambda c: c.layer_norm, "a layer-normalised cell", ("numpy", "scratch"),
         "no layer-normalised cell"),
    Rule("forget_bias", _on, lambda c: c.memory_gate == "f", "a forget gate"),
    Rule("chrono", _on, lambda c: c.memory_gate == "f", "a forget gate"),
    Rule("head", lambda v: v != "plain", engines=("scratch", "torch"), feature="a plain linear head only"),
    Rule("device", lambda v: v != "cpu", engines=("scratch", "torch"), feature="no GPU: it runs on the CPU only"),
    Rule("ddp", _on, engines=("scratch", "torch"), feature="no data-parallel training (it needs a PyTorch engine)"),
)
RULE_OPTIONS = tuple(rule.option for rule in RULES)


def _names(cells: list[str]) -> str:
    upper = [f"the {'vanilla RNN' if c == 'rnn' else c.upper()}" for c in cells]
    return " and ".join(upper) if len(upper) < 3 else ", ".join(upper[:-1]) + " and " + upper[-1]


def _engine_list(engines: tuple[str, ...]) -> str:
    return " or ".join(repr(e) for e in engines)


def check_options(cell: str | None, engine: str | None, options: dict) -> None:
    """Refuse the first option in ``options`` that ``cell`` does not have or ``engine`` does not
    implement (``None``: not known yet, not checked).  Options absent from ``options`` are not set."""
    if engine is not None and engine not in ENGINES:
        raise ValueError(f"engine: unknown value {engine!r}; expected one of {', '.join(map(repr, ENGINES))}")
    for rule in RULES:
        if rule.option not in options or not rule.is_set(options[rule.option]):
            continue
        value = options[rule.option]
        if cell is not None and rule.cells is not None and not rule.cells(CELLS[cell]):
            having = [name for name, c in CELLS.items() if rule.cells(c)]
            raise ValueError(f"{rule.option}: only {_names(having)} {'has' if len(having) == 1 else 'have'} "
                             f"{rule.has}, not {cell!r} (got {rule.option}={value!r})")
        if engine is not None and engine not in rule.engines:
            raise ValueError(f"{rule.option}: {ENGINE_NAMES[engine]} has {rule.feature}; "
                             f"use engine {_engine_list(rule.engines)}")
