"""``rnnlab.torch.nn``: a from-scratch drop-in for torch.nn's recurrent modules.

``RNN``, ``LSTM``, ``GRU`` and the cells ``RNNCell``, ``LSTMCell``, ``GRUCell`` with torch.nn's
signatures, defaults (time-major), attributes, parameter names, state dicts, return values and
errors, computed by rnnlab's own cells (``rnnlab.torch.cells``) instead of torch's recurrent
kernels; plus ``layer_norm=True`` on RNN, LSTM and GRU.  See docs/torch-nn.md.

    from rnnlab.torch import nn as rnn_nn
    lstm = rnn_nn.LSTM(28, 128, batch_first=True)     # where the code had torch.nn.LSTM
"""
from .base import RNNBase
from .cells import GRUCell, LSTMCell, RNNCell, RNNCellBase
from .recurrent import GRU, LSTM, RNN

__all__ = ["RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell"]
