"""rnnlab's NumPy engine: RNN, LSTM, GRU and IndRNN with hand-written backpropagation through time."""
from .cells import (
                    gru_step_backward,
                    gru_step_forward,
                    lstm_step_backward,
                    lstm_step_forward,
                    rnn_step_backward,
                    rnn_step_forward,
)
from .losses import bce_with_logits, mse, softmax_cross_entropy
from .model import SequenceModel
from .optim import SGD, Adam, clip_by_global_norm, clip_by_value, global_norm
from .recurrent import RecurrentNet

__all__ = [
    "RecurrentNet", "SequenceModel",
    "rnn_step_forward", "rnn_step_backward", "lstm_step_forward", "lstm_step_backward",
    "gru_step_forward", "gru_step_backward",
    "softmax_cross_entropy", "mse", "bce_with_logits",
    "SGD", "Adam", "clip_by_value", "clip_by_global_norm", "global_norm",
]
