"""What the grader lends a gradient-flow submission inside the sandbox, so that each TODO is checked apart from
the others: the read-out model, the loss, the notebook's data, a recorder in place of ``biggest_eig_magnitude``
and the short training run (no points); the correct ``RNNLayer`` is in ``lend_layer``.  Plain PyTorch: copied
alone into the sandbox, it imports nothing of rnnlab.

The agent loads each file only when a check first needs a piece of it, and the grader runs the checks of a
piece before any check that lends that piece (``Check.phase``), so a submission cannot find and reuse it for
the TODO that piece answers.
"""
import torch
from torch import nn


class RecurrentRegressionModel(nn.Module):
    """A linear read-out on every step of a recurrent net."""

    def __init__(self, recurrent_net, output_dim=1):
        super().__init__()
        self.recurrent_net, self.output_dim = recurrent_net, output_dim
        self.linear = nn.Linear(recurrent_net.hidden_size, output_dim)

    def forward(self, x):
        all_h, _ = self.recurrent_net(x)
        return self.linear(all_h), all_h


def loss_fn(pred, y, last_timestep_only=False):
    if last_timestep_only:
        pred, y = pred[:, -1], y[:, -1]
    return nn.functional.mse_loss(pred, y)


def generate_batch(seq_len=10, batch_size=1):
    """The notebook's data: random inputs (batch, seq_len, 1) and their running means as targets."""
    data = torch.randn(batch_size, seq_len, 1)
    return data, torch.cumsum(data, dim=1) / torch.arange(1, seq_len + 1).view(1, seq_len, 1)


class Recorder:
    """Stands in for ``biggest_eig_magnitude``: keeps every matrix it is given (the grader reads them)."""

    def __init__(self):
        self.matrices = []

    def __call__(self, matrix):
        self.matrices.append(matrix.detach().clone() if isinstance(matrix, torch.Tensor) else matrix)
        return float(torch.linalg.eigvals(matrix.detach()).abs().max())


def train_stack(net_class, model_class, loss, steps=80):
    """The student's RNN, regression model and loss trained with Adam on the running average; the losses."""
    torch.manual_seed(0)
    model = model_class(net_class(1, 16, 1))
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-2)
    losses = []
    for _ in range(steps):
        x, y = generate_batch(seq_len=10, batch_size=32)
        value = loss(model(x)[0], y, False)
        optimizer.zero_grad()
        value.backward()
        optimizer.step()
        losses.append(float(value.detach()))
    return losses
