"""rnnlab's own solutions, as submissions: Assignment 2's classes from rnnlab.classic, and the gradient-flow
notebook's pieces from rnnlab.torch with the visualiser's scaling step done by rnnlab.analysis.scaled_copy."""

ASSIGNMENT_2 = "from rnnlab.classic import LSTM, RNN\n"

GRADIENT_FLOW = '''
import copy

import torch

from rnnlab.analysis import scaled_copy
from rnnlab.grading.flow_ref import generate_batch
from rnnlab.torch import RNN, RecurrentRegressionModel, RNNLayer, biggest_eig_magnitude, loss_fn


class GradientVisualizer:
    def __init__(self, rnn, last_timestep_only):
        self.rnn, self.last_timestep_only = rnn, last_timestep_only
        self.model = RecurrentRegressionModel(rnn)
        self.original_weights = copy.deepcopy(rnn.state_dict())
        self.x, self.y = generate_batch(seq_len=10)

    def update_plots(self, weight_val=0, bias_val=0):
        self.rnn.load_state_dict(scaled_copy(self.model, weight_val, bias_val).recurrent_net.state_dict())
        if isinstance(self.rnn, RNNLayer):
            W = self.rnn.hh.weight
            print(biggest_eig_magnitude(W))
        pred, _ = self.model(self.x)
        torch.autograd.grad(loss_fn(pred, self.y, self.last_timestep_only), self.rnn.h_list)
'''
