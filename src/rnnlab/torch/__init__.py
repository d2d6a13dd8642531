"""rnnlab's PyTorch modules written from ``nn.Linear`` pieces, equal to torch.nn's.

Course convention here (batch-first, per-step states in ``h_list``); ``rnnlab.torch.nn`` has the drop-in
for torch.nn's recurrent modules (torch.nn's signatures, defaults and state dicts; docs/torch-nn.md).
"""
from .cells import gru_cell, lstm_cell, rnn_cell
from .convert import from_torch, load_torch_state_dict, to_torch, to_torch_state_dict
from .layers import LAYERS, GRULayer, IndRNNLayer, LSTMLayer, RNNLayer, clip_to_bounds_
from .models import RecurrentRegressionModel, SequenceClassifier, biggest_eig_magnitude, loss_fn
from .stacks import GRU, LSTM, RNN, IndRNN
from .table import IMPLEMENTATIONS, implementation

__all__ = [
    "RNNLayer", "LSTMLayer", "GRULayer", "IndRNNLayer", "RNN", "LSTM", "GRU", "IndRNN",
    "IMPLEMENTATIONS", "implementation", "clip_to_bounds_", "LAYERS",
    "RecurrentRegressionModel", "SequenceClassifier", "loss_fn", "biggest_eig_magnitude",
    "to_torch", "from_torch", "to_torch_state_dict", "load_torch_state_dict",
    "rnn_cell", "lstm_cell", "gru_cell",
]
