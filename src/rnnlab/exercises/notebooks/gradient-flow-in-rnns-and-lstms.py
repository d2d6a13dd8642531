# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Exercise: gradient flow in RNNs, in PyTorch
#
# You build a small recurrent regression model from `nn.Linear` pieces (one Elman layer, a read-out, a loss,
# then a stack of layers), and use it to watch $\partial L/\partial h_t$ shrink or grow as it travels back in
# time when the weights are scaled up or down.
#
# **What you write**: the blocks marked `# TODO` between `# >>> your answer` and `# <<<`; keep the names and
# shapes, the grader calls them.  The notebook gives no points of its own; we count **two points per TODO**
# (nine TODOs, 18 points).  After each part a cell runs `rnnlab.check(only=...)` on that part; the last cell
# grades everything.  The grader runs your classes and functions in a separate process with time and memory
# limits, not your other cells.

# %%
import copy

import matplotlib.pyplot as plt
import torch
from torch import nn

import rnnlab

torch.manual_seed(42)


def all_pass(report):
    return all(item.passed for item in report.items)


# %% [markdown]
# ## 1.A One RNN layer
#
# $$h_t = \sigma(W^h h_{t-1} + W^x x_t + b), \qquad h_0 = 0,$$
#
# with $W^x$ of size hidden x input, $W^h$ hidden x hidden, **one** bias $b$ and a nonlinearity $\sigma$ (tanh
# unless another function is given).  `RNNLayer(2, 3)` must have $6 + 9 + 3 = 18$ parameters.  Two `nn.Linear`
# layers do it, one of them without bias.  The forward pass returns every state and the last one.

# %%
class RNNLayer(nn.Module):
    def __init__(self, input_size, hidden_size, nonlinearity=torch.tanh):
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.nonlinearity = nonlinearity
        # TODO (RNNLayer.__init__): the parameters W^x, W^h and b.
        # >>> your answer
        pass
        # <<<

    def forward(self, x):
        """x: (batch, seq_len, input_size) -> all_h (batch, seq_len, hidden_size), last_h (batch, hidden_size)."""
        hidden_states = []
        last_h = None
        # TODO (RNNLayer.forward): h_0 = zeros (batch, hidden_size); for t = 0 .. seq_len-1 compute the next
        # state from x[:, t] and the previous state, append it to hidden_states; last_h = the final state.
        # >>> your answer
        pass
        # <<<
        self.store_hidden_states_for_grad(hidden_states)
        all_h = torch.stack(hidden_states, dim=1) if hidden_states else None
        return all_h, last_h

    def store_hidden_states_for_grad(self, hidden_states):
        """Keep h_1 .. h_T with their gradients, for the visualiser below."""
        for h in hidden_states:
            if h.requires_grad:
                h.retain_grad()
        self.h_list = hidden_states


# %%
layer_report = rnnlab.check(only="RNNLayer")

# %% [markdown]
# ## 1.B A regression model on top
#
# A linear read-out on every step, $\hat y_t = W^f h_t + b^f$; `forward` returns the predictions
# (batch, seq_len, output_dim) and the hidden states.  With `RNNLayer(2, 3)` and 4 outputs: 34 parameters.

# %%
class RecurrentRegressionModel(nn.Module):
    def __init__(self, recurrent_net, output_dim=1):
        super().__init__()
        self.recurrent_net = recurrent_net
        self.output_dim = output_dim
        # TODO (RecurrentRegressionModel.__init__): the read-out (recurrent_net.hidden_size -> output_dim).
        # >>> your answer
        pass
        # <<<

    def forward(self, x):
        out = all_h = None
        # TODO (RecurrentRegressionModel.forward): run the recurrent net, read out every step.
        # >>> your answer
        pass
        # <<<
        return out, all_h


# %%
model_report = rnnlab.check(only="RecurrentRegressionModel")

# %% [markdown]
# ## 1.C Data and loss
#
# The task: predict the running mean of random inputs, at every step or only at the last one.  The loss is the
# mean squared error, over all steps or, with `last_timestep_only=True`, over the last step only.

# %%
def generate_batch(seq_len=10, batch_size=1):
    """Inputs (batch, seq_len, 1) ~ N(0, 1) and their running means as targets."""
    data = torch.randn(batch_size, seq_len, 1)
    return data, torch.cumsum(data, dim=1) / torch.arange(1, seq_len + 1).view(1, seq_len, 1)


def loss_fn(pred, y, last_timestep_only=False):
    """Mean squared error between pred and y (batch, seq_len[, 1]), at every step or at the last one."""
    loss = None
    # TODO (loss_fn): the MSE (nn.functional.mse_loss or nn.MSELoss), on pred[:, -1] and y[:, -1] only when
    # last_timestep_only is True.
    # >>> your answer
    pass
    # <<<
    return loss


# %%
loss_report = rnnlab.check(only="loss_fn")

# %% [markdown]
# ## 1.D Watching the gradients
#
# Going back one step multiplies $\partial L/\partial h_t$ by $W^{h\top}$ (and the slope of $\sigma$), so the
# largest eigenvalue magnitude of $W^h$ decides whether it shrinks or grows.  The visualiser scales the layer's
# weights and biases, prints that eigenvalue and draws $\|h_t\|$ and $\|\partial L/\partial h_t\|$.  Two TODOs.

# %%
def biggest_eig_magnitude(matrix):
    return float(torch.linalg.eigvals(matrix.detach()).abs().max())


class GradientVisualizer:
    def __init__(self, rnn, last_timestep_only):
        self.rnn = rnn
        self.last_timestep_only = last_timestep_only
        self.model = RecurrentRegressionModel(rnn)
        self.original_weights = copy.deepcopy(rnn.state_dict())
        self.x, self.y = generate_batch(seq_len=10)

    def plot_visuals(self):
        self.fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.5))
        left.set(title="hidden state norm", xlabel="step")
        right.set(title="dL/dh_t norm", xlabel="steps back from the end", yscale="log")
        self.plots = [left.plot(range(1, 11), [1] * 10)[0], right.plot(range(10), [1] * 10)[0]]

    def update_plots(self, weight_val=0.0, bias_val=0.0):
        w_dict = copy.deepcopy(self.original_weights)
        # TODO (GradientVisualizer.scale_weights): multiply every weight matrix in w_dict by weight_val and
        # every bias by bias_val.
        # >>> your answer
        pass
        # <<<
        self.rnn.load_state_dict(w_dict)
        if isinstance(self.rnn, RNNLayer):
            W = None
            # TODO (GradientVisualizer.recurrent_matrix): W = the matrix that decides whether gradients
            # explode or vanish (take it from the layer's parameters).
            # >>> your answer
            pass
            # <<<
            print(f"biggest eigenvalue magnitude: {biggest_eig_magnitude(W):.3g}")
        pred, h = self.model(self.x)
        loss = loss_fn(pred, self.y, self.last_timestep_only)
        norms_h = torch.linalg.norm(h[0], dim=-1).detach()
        grads = [float(torch.linalg.norm(g)) for g in torch.autograd.grad(loss, self.rnn.h_list)][::-1]
        self.plots[0].set_data(range(1, len(norms_h) + 1), norms_h)
        self.plots[1].set_data(range(len(grads)), [g + 1e-6 for g in grads])
        for axes in self.fig.axes:
            axes.relim()
            axes.autoscale_view()

    def create_visualization(self):
        from ipywidgets import FloatSlider, interactive
        self.plot_visuals()
        return interactive(self.update_plots, weight_val=FloatSlider(value=1, min=-5, max=5, step=0.05),
                           bias_val=FloatSlider(value=0, min=-5, max=5, step=0.05))


# %%
visualizer_report = rnnlab.check(only="GradientVisualizer")
if all_pass(layer_report) and all_pass(model_report) and all_pass(loss_report) and all_pass(visualizer_report):
    visualizer = GradientVisualizer(RNNLayer(1, 16, nonlinearity=lambda v: v), last_timestep_only=True)
    visualizer.plot_visuals()
    for scale in (0.5, 1.0, 2.0):
        visualizer.update_plots(weight_val=scale, bias_val=0.0)
else:
    print("Not yet: the pictures wait until the checks of 1.A to 1.D pass.")

# %% [markdown]
# ## 1.K A stack of layers
#
# `RNN(input_size, hidden_size, num_layers)`: layer 1 reads the input, every further layer reads the hidden
# states of the layer below.  `forward` returns the last layer's states (batch, seq_len, hidden_size) and every
# layer's last state (num_layers, batch, hidden_size).  Keep the layers in an `nn.ModuleList`.

# %%
class RNN(nn.Module):
    def __init__(self, input_size, hidden_size, num_layers):
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        # TODO (RNN.__init__): one RNNLayer per layer.
        # >>> your answer
        pass
        # <<<

    def forward(self, x):
        last_layer_h = last_step_h = None
        # TODO (RNN.forward): run the layers bottom to top; stack each layer's last state.
        # >>> your answer
        pass
        # <<<
        return last_layer_h, last_step_h


# %%
stack_report = rnnlab.check(only="RNN")

# %% [markdown]
# ## Your grade
#
# The whole notebook, graded as a teacher would (`rnnlab check notebook.ipynb` gives the same).

# %%
report = rnnlab.check()
