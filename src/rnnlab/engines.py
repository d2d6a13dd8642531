"""One model description, built on any engine: "numpy" | "scratch" (rnnlab.torch) | "torch" (torch.nn)."""
from __future__ import annotations

from dataclasses import asdict, dataclass

ENGINES = ("numpy", "scratch", "torch")
CELLS = ("rnn", "lstm", "gru")


def check_layer_norm_cell(cell: str) -> None:
    """Layer norm inside the cell exists for the RNN and the LSTM (Ba et al. give no GRU recipe)."""
    if cell == "gru":
        raise ValueError("layer_norm: the layer-normalised cell exists for the RNN and the LSTM, not the GRU")


@dataclass(frozen=True)
class RecurrentSpec:
    """The recurrent part of a model: the single source of truth every engine builds from."""
    cell: str
    input_size: int
    hidden_size: int
    num_layers: int = 1
    bidirectional: bool = False
    nonlinearity: str = "tanh"
    dropout: float = 0.0
    proj_size: int = 0
    bias: bool = True
    batch_first: bool = True
    layer_norm: bool = False      # layer norm of the gate pre-activations inside the cell (RNN, LSTM)

    def __post_init__(self):
        if self.cell not in CELLS:
            raise ValueError(f"cell: unknown value {self.cell!r}; expected one of {', '.join(map(repr, CELLS))}")
        for name in ("input_size", "hidden_size", "num_layers"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name}: expected a positive integer, got {value!r}")
        if self.nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"nonlinearity: unknown value {self.nonlinearity!r}; expected one of 'tanh', 'relu'")
        if self.nonlinearity != "tanh" and self.cell != "rnn":
            raise ValueError(f"nonlinearity: {self.nonlinearity!r} applies to the vanilla RNN only, not {self.cell!r}")
        if self.proj_size and self.cell != "lstm":
            raise ValueError(f"proj_size: only the LSTM has a projection, got proj_size={self.proj_size} "
                             f"for {self.cell!r}")
        if not 0 <= self.proj_size < self.hidden_size:
            raise ValueError(f"proj_size: expected an integer in 0..{self.hidden_size - 1}, got {self.proj_size!r}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout: expected a probability in [0, 1), got {self.dropout!r}")
        if self.layer_norm:
            check_layer_norm_cell(self.cell)

    @property
    def num_directions(self) -> int:
        return 2 if self.bidirectional else 1

    @property
    def output_size(self) -> int:
        """Per-direction size of h: proj_size when projected, else hidden_size."""
        return self.proj_size or self.hidden_size

    def to_dict(self) -> dict:
        return asdict(self)


def build_recurrent(spec: RecurrentSpec, engine: str = "torch", dtype=None, seed: int = 0):
    """The recurrent module for ``spec`` on ``engine``."""
    if engine not in ENGINES:
        raise ValueError(f"engine: unknown value {engine!r}; expected one of {', '.join(map(repr, ENGINES))}")
    if engine == "numpy":
        import numpy as np

        from .numpy import RecurrentNet
        if spec.proj_size:
            raise ValueError("proj_size: the NumPy engine has no LSTM projection; use engine 'scratch' or 'torch'")
        return RecurrentNet(spec.cell, spec.input_size, spec.hidden_size, spec.num_layers, spec.bidirectional,
                            spec.nonlinearity, bias=spec.bias, dropout=spec.dropout,
                            batch_first=spec.batch_first, dtype=dtype or np.float32, seed=seed,
                            layer_norm=spec.layer_norm)
    import torch

    from .torch.convert import MODULES, module_options
    if spec.layer_norm and engine == "torch":
        raise ValueError("layer_norm: torch.nn has no layer-normalised cell; use engine 'numpy' or 'scratch'")
    torch.manual_seed(seed)
    net = MODULES[engine][spec.cell](spec.input_size, spec.hidden_size, **module_options(spec.cell, spec))
    return net.to(dtype) if dtype is not None else net
