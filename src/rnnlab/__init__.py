"""rnnlab: a recurrent-network laboratory (RNN, LSTM and GRU from scratch)."""
__version__ = "0.2.0"
