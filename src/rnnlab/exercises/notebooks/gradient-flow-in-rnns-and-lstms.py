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
# Installs rnnlab where this Python lacks it (Colab, a fresh Jupyter) and does nothing where it is installed.
# RNNLAB_WHEEL=/path/to/rnnlab-VERSION-py3-none-any.whl installs that wheel instead of rnnlab's git repository.
import importlib.util
import os
import subprocess
import sys

if importlib.util.find_spec("rnnlab") is None:
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet",
                    os.environ.get("RNNLAB_WHEEL") or "git+https://github.com/rnnlab/rnnlab"], check=True)
    importlib.invalidate_caches()

# %%
import copy

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F  # noqa: F401  (F.relu: a nonlinearity to try in 1.D)
import torch.optim as optim
from torch import nn

import rnnlab
from rnnlab.grading import record_run
from rnnlab.grading.runs import full_size

torch.manual_seed(42)
np.random.seed(42)


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


# %% [markdown]
# ### 1.C.i The data (nothing to write)
#
# Four sequences and their targets: above, a target at every step (many to many); below, only the last one
# (many to one), drawn across the whole sequence.

# %%
x, y = generate_batch(seq_len=10, batch_size=4)
fig, axes = plt.subplots(2, 4, figsize=(16, 6), sharey=True)
for i in range(4):
    axes[0, i].plot(x[i, :, 0])
    axes[0, i].plot(y[i, :, 0])
    axes[0, i].legend(["x", "y"])
    axes[0, i].set_title("Targets at all timesteps")
    axes[1, i].plot(x[i, :, 0])
    axes[1, i].plot(np.arange(10), [y[i, -1].item()] * 10)
    axes[1, i].legend(["x", "y"])
    axes[1, i].set_title("Predict only at the last timestep")
plt.tight_layout()
plt.show()


# %% [markdown]
# ### 1.C.ii The loss

# %%
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
        print(f"Data point: x={np.round(self.x[0, :, 0].numpy(), 2)}, y={np.round(self.y.squeeze().numpy(), 2)}")

    def plot_visuals(self):
        fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
        ax1.set(title="RNN Outputs", xlabel="Unroll Timestep", ylabel="Hidden State Norm", ylim=(-1, 5))
        ax2.set(title="Gradients", xlabel="Unroll Timestep", ylabel="RNN dLoss/d h_t Gradient Magnitude",
                ylim=(1e-6, 1e5), yscale="log")
        ax2.set_xticks(np.arange(10), np.arange(10, 0, -1))
        self.plots = [ax1.plot(np.arange(1, 11), np.zeros(10) + 1)[0], ax2.plot(np.arange(10), np.arange(10) + 1)[0]]
        self.fig = fig

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
        print("Max H", " ".join(f"{float(v):.3}" for v in norms_h))
        grads = [float(torch.linalg.norm(g)) for g in torch.autograd.grad(loss, self.rnn.h_list)][::-1]
        print("gradients d Loss/d h_t", " ".join(f"{g:.3}" for g in grads))
        self.plots[0].set_data(np.arange(1, len(norms_h) + 1), norms_h.numpy())
        self.plots[1].set_data(np.arange(len(grads)), np.array(grads) + 1e-6)

    def create_visualization(self):
        """The document's sliders, from -5 to 5, both starting at 0; the picture is drawn again below them at
        each move."""
        from IPython.display import display
        from ipywidgets import FloatSlider, Layout, interactive
        self.plot_visuals()
        plt.close(self.fig)

        def show(weight_val=0.0, bias_val=0.0):
            self.update_plots(weight_val, bias_val)
            display(self.fig)
        sliders = {name: FloatSlider(value=0, min=-5, max=5, step=0.05, description=label,
                                     layout=Layout(width="100%"))
                   for name, label in (("weight_val", "weight_scale"), ("bias_val", "bias_scale"))}
        return interactive(show, **sliders)


# %%
visualizer_report = rnnlab.check(only="GradientVisualizer")
ready = all_pass(layer_report) and all_pass(model_report) and all_pass(loss_report) and all_pass(visualizer_report)

# %% [markdown]
# Move the sliders to scale the layer's weights and biases; watch the biggest eigenvalue magnitude of $W^h$
# and the gradient's norm going back in time.  Parameters to try: `nonlinearity` (`lambda x: x`, `F.relu`,
# `torch.tanh`) and `last_target_only` (`True`, `False`).  (A page without a running kernel shows no sliders:
# the three pictures below it are the visualiser at weight scales 0.5, 1 and 2.)

# %%
hidden_size = 16
nonlinearity = lambda x: x  # options: lambda x: x, F.relu, torch.tanh
last_target_only = True
if ready:
    from IPython.display import display
    rnn = RNNLayer(1, hidden_size, nonlinearity=nonlinearity)
    gv = GradientVisualizer(rnn, last_target_only)
    display(gv.create_visualization())
    for scale in (0.5, 1.0, 2.0):
        print(f"\nweight scale {scale}, bias scale 0:")
        gv.update_plots(weight_val=scale, bias_val=0.0)
        display(gv.fig)
else:
    print("Not yet: the visualiser waits until the checks of 1.A to 1.D pass.")

# %% [markdown]
# The same sliders in rnnlab (`rnnlab.widgets.gradient_visualizer`), on its own RNN layer with the same
# settings, and menus for the cell (an LSTM, a GRU), the nonlinearity, the loss, the hidden size and the length:
# compare its pictures with yours.

# %%
if ready:
    from rnnlab.widgets import gradient_visualizer
    display(gradient_visualizer(nonlinearity="identity", hidden_size=hidden_size,
                                loss="last" if last_target_only else "every", weight_scale=0.0, bias_scale=0.0))

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
# ## 1.K.ii Training your model: one layer against two
#
# The document's training: fresh batches of 32 running-mean sequences of 10 steps, Adam, the loss at every step
# or at the last one only; a one-layer and a two-layer `RNN` under the same read-out, 5000 batches each at
# learning rate $10^{-4}$, hidden size 32; then their losses and their predictions on four new sequences.  The
# run's number: each model's final loss (the mean of its last 100 batches) over the loss of predicting 0
# (every step: the mean of $1/t$, 0.293; the last step: $1/10$); the bar is 0.2 for both.

# %%
def train(model, optimizer, num_batches, last_timestep_only, seq_len=10, batch_size=32):
    """Train the model on the running average task; the loss of every batch."""
    from tqdm import tqdm
    model.train()
    losses = []
    t = tqdm(range(0, num_batches))
    for i in t:
        data, labels = generate_batch(seq_len=seq_len, batch_size=batch_size)
        pred, h = model(data)
        loss = loss_fn(pred, labels, last_timestep_only)
        losses.append(loss.item())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if i % 100 == 0:
            t.set_description(f"Batch: {i} Loss: {np.mean(losses[-10:])}")
    return losses


def train_all(hidden_size, lr, num_batches, last_timestep_only):
    """Train and compare 1-layer and 2-layer RNN models."""
    models = [RecurrentRegressionModel(RNN(1, hidden_size, 1)), RecurrentRegressionModel(RNN(1, hidden_size, 2))]
    model_names = ["rnn_1_layer", "rnn_2_layer"]
    losses = [train(model, optim.Adam(model.parameters(), lr=lr), num_batches, last_timestep_only)
              for model in models]
    fig, ax1 = plt.subplots(1)
    for loss in losses:
        ax1.plot(loss)
    ax1.legend(model_names)
    plt.show()
    x, y = generate_batch(seq_len=10, batch_size=4)
    preds_list = [model(x)[0] for model in models]
    fig, axes = plt.subplots(1, 4, figsize=(16, 3.5))
    for i, ax1 in enumerate(axes):
        ax1.plot(x[i, :, 0])
        if last_timestep_only:
            ax1.plot(np.arange(10), [y[i, -1].item()] * 10, "bo")
        else:
            ax1.plot(y[i, :, 0], "bo")
        for pred in preds_list:
            if last_timestep_only:
                ax1.plot(np.arange(10), [pred[i, -1, 0].item()] * 10)
            else:
                ax1.plot(pred[i, :, 0].detach().numpy())
        ax1.legend(["x", "y"] + model_names)
    plt.show()
    return models, losses


# %%
HIDDEN_SIZE, LEARNING_RATE, NUM_BATCHES = (32, 1e-4, 5000) if full_size() else (8, 1e-2, 20)   # quick: a few big steps
if ready and all_pass(stack_report):
    torch.manual_seed(0)
    for last_timestep_only, item in ((False, "train_all.every_step"), (True, "train_all.last_step")):
        print(f"last_timestep_only={last_timestep_only}")
        models, losses = train_all(HIDDEN_SIZE, LEARNING_RATE, NUM_BATCHES, last_timestep_only)
        zero = 0.1 if last_timestep_only else float(torch.mean(1 / torch.arange(1, 11.0)))
        ratios = [float(np.mean(loss[-100:])) / zero for loss in losses]
        print("final loss / predicting zero: 1 layer {:.3f}, 2 layers {:.3f}".format(*ratios))
        record_run("gradient-flow", item, max(ratios))
else:
    print("Not yet: the training waits until every check above passes.")

# %% [markdown]
# ## Your grade
#
# The whole notebook, graded as a teacher would (`rnnlab check notebook.ipynb` gives the same).

# %%
report = rnnlab.check()
