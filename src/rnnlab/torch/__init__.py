"""rnnlab's PyTorch modules written from ``nn.Linear`` pieces, equal to torch.nn's.

Every cell of the registry that names this engine ("scratch") has a layer and a stack: ``RNNLayer`` /
``RNN``, ``LSTMLayer`` / ``LSTM``, ``GRULayer`` / ``GRU`` written here, the others made from the registry
and the cell's step (``LAYERS``, ``STACKS``; ``IndRNNLayer`` / ``IndRNN`` are importable by name).

Course convention here (batch-first, per-step states in ``h_list``); ``rnnlab.torch.nn`` has the drop-in
for torch.nn's recurrent modules (torch.nn's signatures, defaults and state dicts; docs/torch-nn.md).
"""
from . import layers as _layers
from . import stacks as _stacks
from .cells import gru_cell, lstm_cell, rnn_cell
from .convert import from_torch, load_torch_state_dict, to_torch, to_torch_state_dict
from .layers import LAYERS, GRULayer, LSTMLayer, RNNLayer, clip_to_bounds_
from .models import RecurrentRegressionModel, SequenceClassifier, biggest_eig_magnitude, loss_fn
from .stacks import GRU, LSTM, RNN, STACKS
from .table import IMPLEMENTATIONS, implementation

__all__ = [
    "RNNLayer", "LSTMLayer", "GRULayer", "RNN", "LSTM", "GRU",
    "IMPLEMENTATIONS", "implementation", "clip_to_bounds_", "LAYERS", "STACKS",
    "RecurrentRegressionModel", "SequenceClassifier", "loss_fn", "biggest_eig_magnitude",
    "to_torch", "from_torch", "to_torch_state_dict", "load_torch_state_dict",
    "rnn_cell", "lstm_cell", "gru_cell",
]


def __getattr__(name: str) -> type:
    """The layers and stacks made from the cell registry (``IndRNNLayer``, ``IndRNN``), by name.  Only
    those: any other missing name raises AttributeError, so that ``from rnnlab.torch import nn`` still
    imports the subpackage."""
    made = {**_layers._MADE, **_stacks._MADE}
    if name in made:
        return made[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
