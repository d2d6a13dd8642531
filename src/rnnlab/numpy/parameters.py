"""The NumPy engine's parameters as the cell registry declares them: names, shapes, first values, bounds.

Each cell declares its parameters once (``rnnlab/cells.py``: stem, shape in the symbols G*H, H, D, R,
initialisation, bound); these turn the declarations into arrays for one stack of layers and directions::

    uniform     U(-1/sqrt(H), 1/sqrt(H))   torch.nn's, for weights and biases
    uniform01   U(0, 1)                    the IndRNN's u
    ones, zeros                            layer-norm gains and shifts
    normal_*, ring_*                       the LRU's (``rnnlab/draws.py``, shared with rnnlab.torch)

Values are drawn in the order of the state dict (layer by layer, forward direction first, each
parameter in its declared order) from the net's generator, so the same seed gives the same net.
"""
from __future__ import annotations

import numpy as np

from ..cells import CellDef, Param
from ..draws import first_values


def declared(cell: CellDef, input_size: int, hidden_size: int, num_layers: int, num_directions: int, bias: bool,
             layer_norm: bool) -> list[tuple[str, tuple[int, ...], Param]]:
    """(portable name, shape, declaration) of every parameter of the stack, in state-dict order."""
    shapes = cell.param_shapes(input_size, hidden_size, num_layers, num_directions, bias, layer_norm)
    decls = cell.params_with(bias, layer_norm) * (num_layers * num_directions)
    return [(name, shape, p) for (name, shape), p in zip(shapes.items(), decls)]


def initial_values(decls: list[tuple[str, tuple[int, ...], Param]], hidden_size: int, rng: np.random.Generator,
                   dtype: np.dtype) -> dict[str, np.ndarray]:
    """First values, as each declaration's ``init`` says (:func:`rnnlab.draws.first_values`)."""
    return first_values(decls, hidden_size, rng, dtype)


def clip_to_bounds(params: dict[str, np.ndarray], decls: list[tuple[str, tuple[int, ...], Param]]) -> None:
    """In place: |value| <= bound for every parameter declared with one (the IndRNN's |u| <= 1)."""
    for name, _, p in decls:
        if p.bound is not None:
            np.clip(params[name], -p.bound, p.bound, out=params[name])
