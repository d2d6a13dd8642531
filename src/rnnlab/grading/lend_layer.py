"""The grader's correct ``RNNLayer`` for the gradient-flow notebook, lent inside the sandbox to the checks of the
model, the stack and the visualiser (see ``lend_flow``).  Apart from the rest of ``lend_flow`` so that lending
the layer reveals nothing of the model or the loss, whose checks run while it is lent.  Plain PyTorch: copied
alone into the sandbox, it imports nothing of rnnlab."""
import torch
from torch import nn


class RNNLayer(nn.Module):
    """h_t = sigma(W_ih x_t + W_hh h_(t-1) + b): ``ih`` (with the bias) and ``hh`` (without), 18 parameters for
    RNNLayer(2, 3); keeps every state in ``h_list`` with its gradient, as the notebook's layer does."""

    def __init__(self, input_size, hidden_size, nonlinearity=torch.tanh):
        super().__init__()
        self.input_size, self.hidden_size, self.nonlinearity = input_size, hidden_size, nonlinearity
        self.ih = nn.Linear(input_size, hidden_size)
        self.hh = nn.Linear(hidden_size, hidden_size, bias=False)

    def forward(self, x):
        h, states = torch.zeros(x.shape[0], self.hidden_size), []
        for t in range(x.shape[1]):
            h = self.nonlinearity(self.ih(x[:, t]) + self.hh(h))
            states.append(h)
        for state in states:
            if state.requires_grad:
                state.retain_grad()
        self.h_list = states
        return torch.stack(states, dim=1), states[-1]
