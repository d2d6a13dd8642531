# A student's complete answer to the gradient-flow notebook's TODOs, in the notebook's own layout (plain
# nn.Linear layers).  The broken submissions of tests/grading/mistakes.py are this file with one mistake each.
import copy

import torch
from torch import nn


class RNNLayer(nn.Module):
    def __init__(self, input_size, hidden_size, nonlinearity=torch.tanh):
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.nonlinearity = nonlinearity
        self.ih = nn.Linear(input_size, hidden_size)
        self.hh = nn.Linear(hidden_size, hidden_size, bias=False)

    def forward(self, x):
        hidden_states = []
        h = torch.zeros(x.shape[0], self.hidden_size)
        for t in range(x.shape[1]):
            h = self.nonlinearity(self.ih(x[:, t]) + self.hh(h))
            hidden_states.append(h)
        last_h = hidden_states[-1]
        self.store_hidden_states_for_grad(hidden_states)
        all_h = torch.stack(hidden_states, dim=1)
        return all_h, last_h

    def store_hidden_states_for_grad(self, hidden_states):
        for h in hidden_states:
            h.retain_grad()
        self.h_list = hidden_states


class RecurrentRegressionModel(nn.Module):
    def __init__(self, recurrent_net, output_dim=1):
        super().__init__()
        self.recurrent_net = recurrent_net
        self.output_dim = output_dim
        self.linear = nn.Linear(recurrent_net.hidden_size, output_dim)

    def forward(self, x):
        all_h, _ = self.recurrent_net(x)
        out = self.linear(all_h)
        return out, all_h


def generate_batch(seq_len=10, batch_size=1):
    data = torch.randn(size=(batch_size, seq_len, 1))
    sums = torch.cumsum(data, dim=1)
    div = (torch.arange(seq_len) + 1).unsqueeze(0).unsqueeze(2)
    return data, sums / div


def loss_fn(pred, y, last_timestep_only=False):
    if last_timestep_only:
        pred, y = pred[:, -1], y[:, -1]
    return nn.functional.mse_loss(pred, y)


def biggest_eig_magnitude(matrix):
    return float(torch.linalg.eigvals(matrix).abs().max())


class GradientVisualizer:
    def __init__(self, rnn, last_timestep_only):
        self.rnn = rnn
        self.last_timestep_only = last_timestep_only
        self.model = RecurrentRegressionModel(rnn)
        self.original_weights = copy.deepcopy(rnn.state_dict())
        self.x, self.y = generate_batch(seq_len=10)

    def update_plots(self, weight_val=0, bias_val=0):
        w_dict = copy.deepcopy(self.original_weights)
        for key, value in w_dict.items():
            w_dict[key] = value * (bias_val if key.endswith('bias') else weight_val)
        self.rnn.load_state_dict(w_dict)
        if isinstance(self.rnn, RNNLayer):
            W = self.rnn.hh.weight
            print(f"Biggest eigenvalue magnitude: {biggest_eig_magnitude(W):.3}")
        pred, h = self.model(self.x)
        loss = loss_fn(pred, self.y, self.last_timestep_only)
        torch.autograd.grad(loss, self.rnn.h_list)


class RNN(nn.Module):
    def __init__(self, input_size, hidden_size, num_layers):
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.layers = nn.ModuleList([RNNLayer(input_size if k == 0 else hidden_size, hidden_size)
                                     for k in range(num_layers)])

    def forward(self, x):
        inputs, lasts = x, []
        for layer in self.layers:
            all_h, last_h = layer(inputs)
            lasts.append(last_h)
            inputs = all_h
        return inputs, torch.stack(lasts)


nonlinearity = lambda x: x  # the notebook's own line: an assignment without a call is kept
rnn = RNNLayer(1, 16, nonlinearity=nonlinearity)     # a call: not run by the grader
