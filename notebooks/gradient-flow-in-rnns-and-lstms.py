# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Gradient flow in RNNs and LSTMs
#
# A recurrent network applies the same cell at every time step, so the gradient of a loss at step $T$ reaches
# step $t$ only after passing backwards through $T - t$ copies of that cell.  This notebook builds the pieces of
# a small recurrent regression model with `rnnlab` (a single Elman layer, a readout, a multi-layer stack, the
# loss), checks each against known numbers, trains it to output the running mean of its inputs, and then
# measures how $\partial L / \partial h_t$ shrinks or grows as it travels back in time, for plain RNNs and for
# LSTM and GRU cells.
#
# Everything here runs on the CPU in seconds to a few minutes and needs no downloads.  The first code cell is the
# only switch: `FULL = True` follows the complete protocol (5000 training batches per model at learning rate
# $10^{-4}$); `FULL = False` is a quick run for continuous integration (fewer batches, a larger learning rate) that
# still shows every effect.  The `assert` lines check the numbers each step must produce; a wrong one stops the
# notebook.

# %%
# Opens anywhere (Colab, a fresh Jupyter): installs what this notebook needs if it is missing, else does nothing.
# rnnlab comes from the wheel file $RNNLAB_WHEEL names, if set, else from GitHub; torch is kept as it is.
import importlib.util
import os
import subprocess
import sys

NEEDS = {"rnnlab": os.environ.get("RNNLAB_WHEEL", "git+https://github.com/rnnlab/rnnlab"), "ipywidgets": "ipywidgets>=8"}
missing = [source for module, source in NEEDS.items() if importlib.util.find_spec(module) is None]
if missing:
    print("installing", *missing)
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", *missing], check=True)
    importlib.invalidate_caches()

import contextlib

with contextlib.suppress(ImportError):    # Colab shows ipywidgets through its custom widget manager
    from google.colab import output
    output.enable_custom_widget_manager()

# %% tags=["parameters"]
FULL = True

# %%
# %matplotlib inline
# ruff: noqa: E402, RUF100  (imports after the parameters cell; in the .ipynb E402 is per cell)
import time

import matplotlib.pyplot as plt
import numpy as np
import torch
from IPython.display import display
from tqdm.auto import tqdm

from rnnlab import diagrams
from rnnlab.analysis import explore, gradient_flow, scaled_copy
from rnnlab.data.synthetic import cumulative_average, cumulative_average_baseline
from rnnlab.torch import RNN, RecurrentRegressionModel, RNNLayer, biggest_eig_magnitude, loss_fn
from rnnlab.widgets import gradient_visualizer

STARTED = time.perf_counter()
# The matrices here are tiny (32 x 32): one thread is the fastest, and it keeps the run from crawling when other
# programs busy the cores (torch's worker threads would spin waiting for each other).
torch.set_num_threads(1)
SEED = 42
torch.manual_seed(SEED)
HIDDEN_SIZE = 32                                   # the training protocol's hidden size
NUM_BATCHES = 5000 if FULL else 400                # training batches per model
LEARNING_RATE = 1e-4 if FULL else 1e-3             # Adam; the quick run compensates for fewer steps
SEQ_LEN, BATCH_SIZE = 10, 32
print(f"FULL={FULL}: {NUM_BATCHES} batches of {BATCH_SIZE} sequences of {SEQ_LEN} steps, learning rate "
      f"{LEARNING_RATE:g}, hidden size {HIDDEN_SIZE}")


def max_error(a: torch.Tensor, b: torch.Tensor) -> float:
    """Largest absolute difference between two tensors of the same shape."""
    assert a.shape == b.shape, f"shape {tuple(a.shape)} != {tuple(b.shape)}"
    return float((a - b).detach().abs().max())


def fill(module: torch.nn.Module, value: float) -> torch.nn.Module:
    """Set every parameter of ``module`` to ``value`` (the tests below use constant weights)."""
    module.load_state_dict({k: torch.full_like(v, value) for k, v in module.state_dict().items()})
    return module


# %% [markdown]
# ## 1.A A single RNN layer
#
# An Elman layer keeps a hidden state $h_t \in \mathbb{R}^H$ and updates it from the previous state and the
# current input:
#
# $$h_t = \sigma\left(W^h h_{t-1} + W^x x_t + b\right), \qquad h_0 = 0,$$
#
# with $W^h$ of size $H \times H$, $W^x$ of size $H \times D$, one bias $b$ and a nonlinearity $\sigma$
# (tanh by default).  `rnnlab.torch.RNNLayer` holds $W^x$ and $b$ in one `nn.Linear` (`ih`) and $W^h$ in a second
# one without bias (`hh`); its forward pass returns every state $(h_1, \dots, h_T)$ and the last one, and keeps the
# per-step states in `h_list` so that autograd can report $\partial L/\partial h_t$ later.
#
# The figure below (the notebook's "RNN unrolling", drawn by `rnnlab.diagrams`) shows the layer
# on the left with its loop, and on the right unrolled over the time steps: one copy of the same
# cell per step, each passing its state to the next.

# %%
display(diagrams.unrolled_rnn())

# %% [markdown]
# First check: one input, one step, every parameter 0.1, input 1, so $h_1 = \tanh(0.1 + 0.1) = 0.197375$.

# %%
layer = fill(RNNLayer(input_size=1, hidden_size=1), 0.1)
all_h, last_h = layer(torch.ones(1, 1, 1))
expected = torch.tensor([[[0.1973753273487091]]])
assert all_h.shape == expected.shape and torch.equal(all_h[:, -1], last_h)
print(f"h_1 = {last_h.item():.6f} (expected {expected.item():.6f}), max error {max_error(all_h, expected):.1e}")
assert max_error(all_h, expected) < 1e-4

# %% [markdown]
# The single step is right, and for a one-step sequence the full output and the last state coincide.
#
# Second check: two input features, three hidden units, no nonlinearity and every parameter $-0.1$.  The layer
# must have $2 \cdot 3 + 3 \cdot 3 + 3 = 18$ parameters (one bias, not two), and the states of two short sequences
# must match values computed by hand.

# %%
layer = RNNLayer(input_size=2, hidden_size=3, nonlinearity=lambda v: v)
num_params = sum(p.numel() for p in layer.parameters())
print(f"parameters: {num_params}")
assert num_params == 18

fill(layer, -0.1)
data = torch.tensor([[[0.1, 0.15], [0.2, 0.25], [0.3, 0.35], [0.4, 0.45]],
                     [[-0.1, -1.5], [-0.2, -2.5], [-0.3, -3.5], [-0.4, -0.45]]])
expected_all_h = torch.tensor([[-0.1250, -0.1075, -0.1328, -0.1452],
                               [0.0600, 0.1520, 0.2344, -0.0853]]).unsqueeze(-1).expand(2, 4, 3)
all_h, last_h = layer(data)
print(f"all_h shape {tuple(all_h.shape)}, max error {max_error(all_h, expected_all_h):.1e}")
print(f"last_h shape {tuple(last_h.shape)}, max error {max_error(last_h, expected_all_h[:, -1]):.1e}")
assert max_error(all_h, expected_all_h) < 1e-4 and max_error(last_h, expected_all_h[:, -1]) < 1e-4

# %% [markdown]
# With constant weights every hidden unit computes the same thing, which is why each row of the expected states
# repeats one number three times.  Without a nonlinearity the layer is linear in its inputs, so the state follows
# the inputs' sign: negative for the first sequence, positive and then negative for the second.

# %% [markdown]
# ## 1.B A regression model on top of the layer
#
# A linear readout turns each hidden state into a prediction, $\hat y_t = W^f h_t + b^f$.
# `RecurrentRegressionModel(net, output_dim)` returns the predictions $(\hat y_1,\dots,\hat y_T)$ together with
# the hidden states.  With a tanh layer of 3 units on 2 inputs and 4 outputs it has $18 + 3 \cdot 4 + 4 = 34$
# parameters.

# %%
model = RecurrentRegressionModel(RNNLayer(2, 3), 4)
num_params = sum(p.numel() for p in model.parameters())
print(f"parameters: {num_params}")
assert num_params == 34

fill(model, -0.1)
expected_preds = torch.tensor([[-0.0627, -0.0678, -0.0604, -0.0567],
                               [-0.1180, -0.1453, -0.1692, -0.0748]]).unsqueeze(-1).expand(2, 4, 4)
expected_tanh_h = torch.tensor([[-0.1244, -0.1073, -0.1320, -0.1444],
                                [0.0599, 0.1509, 0.2305, -0.0840]]).unsqueeze(-1).expand(2, 4, 3)
preds, all_h = model(data)
print(f"preds shape {tuple(preds.shape)}, max error {max_error(preds, expected_preds):.1e}")
print(f"all_h shape {tuple(all_h.shape)}, max error {max_error(all_h, expected_tanh_h):.1e}")
assert max_error(preds, expected_preds) < 1e-4 and max_error(all_h, expected_tanh_h) < 1e-4

# %% [markdown]
# The tanh states are slightly smaller in magnitude than the linear ones above ($\tanh z \approx z - z^3/3$ for
# small $z$), and each prediction is $-0.1 \cdot (h_1 + h_2 + h_3) - 0.1$, the same for all four outputs.

# %% [markdown]
# ## 1.C The running-mean task and the loss
#
# ### 1.C.i The data
#
# Each input $x_t$ is drawn from $\mathcal N(0, 1)$ and the target is the mean of the inputs so far,
# $y_t = \frac{1}{t}\sum_{s \le t} x_s$ (`rnnlab.data.synthetic.cumulative_average`).  The model can be asked for
# the target at every step (many-to-many) or only at the last one (many-to-one).  Predicting 0 everywhere scores
# $\mathbb E[y_t^2] = 1/t$, so the baselines are $\frac1T\sum_t 1/t$ for every step and $1/T$ for the last.
#
# The notebook's figure of the prediction types a recurrent net can have; this task uses "many to
# many (every step)" and "many to one":

# %%
display(diagrams.prediction_types())

# %% [markdown]
# Four sequences, with their targets at every step (top) and at the last step only (bottom):

# %%
x, y = cumulative_average(4, SEQ_LEN, seed=SEED)
assert np.allclose(y[:, -1, 0], x[:, :, 0].mean(axis=1), atol=1e-6)
assert np.allclose(y[:, 3, 0], x[:, :4, 0].mean(axis=1), atol=1e-6)
steps = np.arange(1, SEQ_LEN + 1)
fig, axes = plt.subplots(2, 4, figsize=(14, 5.5), sharex=True, sharey=True, layout="constrained")
for i in range(4):
    top, bottom = axes[0, i], axes[1, i]
    top.plot(steps, x[i, :, 0], "o-", label="input $x_t$")
    top.plot(steps, y[i, :, 0], "s-", label="target $y_t$ (running mean)")
    bottom.plot(steps, x[i, :, 0], "o-", label="input $x_t$")
    bottom.plot(steps, np.full(SEQ_LEN, y[i, -1, 0]), "--", label="target $y_T$ (last step only)")
    top.set_title(f"sequence {i + 1}: target at every step", fontsize=10)
    bottom.set_title(f"sequence {i + 1}: target at the last step", fontsize=10)
    bottom.set_xlabel("time step t")
    bottom.xaxis.set_major_locator(plt.MaxNLocator(integer=True))
axes[0, 0].legend(fontsize=8)
axes[1, 0].legend(fontsize=8)
plt.show()
print(f"baseline MSE of predicting 0: every step {cumulative_average_baseline(SEQ_LEN):.4f}, "
      f"last step {cumulative_average_baseline(SEQ_LEN, every_step=False):.4f}")

# %% [markdown]
# The target starts equal to the first input and then calms down: each new input moves the mean by only
# $x_t / t$.  To get it right the network must carry a running sum (or the mean itself) in its hidden state
# and know how many steps have passed, which is exactly the kind of memory through time whose gradients we study
# below.  The last-step version gives the network one error signal per sequence, at the end.

# %% [markdown]
# ### 1.C.ii The loss
#
# The loss is the mean squared error, over every step or over the last step only:
#
# $$L_{\text{every}} = \frac{1}{NT}\sum_{n,t} (\hat y_{n,t} - y_{n,t})^2, \qquad
#   L_{\text{last}} = \frac{1}{N}\sum_{n} (\hat y_{n,T} - y_{n,T})^2 .$$

# %%
pred = torch.tensor([[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]])
target = torch.tensor([[-1.1, -1.2, -1.3], [-1.4, -1.5, -1.6]])
loss_every = loss_fn(pred, target, last_timestep_only=False)
loss_last = loss_fn(pred, target, last_timestep_only=True)
assert loss_every.shape == loss_last.shape == torch.Size([])
print(f"every step: {loss_every.item():.4f} (expected 3.0067), last step: {loss_last.item():.4f} (expected 3.7)")
assert abs(loss_every.item() - 3.0067) < 1e-4 and abs(loss_last.item() - 3.7) < 1e-4

# %% [markdown]
# Both losses are scalars.  The last-step loss only sees the third column, $(1.6^2 + 2.2^2)/2 = 3.7$; the
# every-step loss averages all six squared errors.

# %% [markdown]
# ## 1.D How gradients flow back in time
#
# The gradient of the loss by the weights sums a contribution from every step,
#
# $$\frac{\partial L}{\partial W} = \sum_{t=1}^{T} \frac{\partial L}{\partial h_t}\,
#   \frac{\partial h_t}{\partial W}\Big|_{\text{direct}},$$
#
# and $\partial L/\partial h_t$ reaches early steps through a product of Jacobians,
#
# $$\frac{\partial L}{\partial h_t} = \frac{\partial L}{\partial h_T}
#   \prod_{s=t+1}^{T}\frac{\partial h_s}{\partial h_{s-1}},$$
#
# with $\frac{\partial h_s}{\partial h_{s-1}} = \operatorname{diag}(\sigma'(\cdot))\,W^h$.  For a linear RNN
# and a last-step loss this is $(W^{h\top})^{T-t}\,\partial L/\partial h_T$: every step back multiplies the
# gradient by roughly the biggest eigenvalue magnitude $|\lambda_{\max}(W^h)|$.  Below 1 the early terms vanish,
# above 1 they explode.
#
# `rnnlab.analysis.explore` measures this for a fixed model (from a seed) with its recurrent weights scaled by a
# factor and its biases by another, on one running-mean sequence: $\|h_t\|$, $\|\partial L/\partial h_t\|$ and
# $|\lambda_{\max}|$ (`biggest_eig_magnitude` of $W^h$).  Below: 16 units, the loss on the last step, five weight
# scales, for a linear RNN, a tanh RNN, an LSTM and a GRU.

# %%
SCALES = [0.5, 1.0, 1.5, 2.5, 4.0]
print(f"{'cell':>14} {'weight scale':>12} {'|lambda_max|':>12} {'||dL/dh_1|| / ||dL/dh_T||':>26}")
flows = {}
for cell, nonlinearity in [("rnn", "identity"), ("rnn", "tanh"), ("lstm", "tanh"), ("gru", "tanh")]:
    for scale in SCALES:
        r = explore(cell=cell, nonlinearity=nonlinearity, hidden_size=16, length=SEQ_LEN, weight_scale=scale,
                    bias_scale=1.0, loss="last")
        flows[cell if cell != "rnn" else f"rnn-{nonlinearity}", scale] = r
        eig = "-" if r["eigenvalue"] is None else f"{r['eigenvalue']:.3f}"
        name = cell.upper() + (f" ({nonlinearity})" if cell == "rnn" else "")
        print(f"{name:>14} {scale:>12.2f} {eig:>12} {r['ratio']:>26.3g}")

linear = [flows["rnn-identity", s] for s in SCALES]
assert all((r["eigenvalue"] < 1) == (r["ratio"] < 1) for r in linear)   # |lambda| < 1 vanishes, > 1 explodes
assert all(a["ratio"] < b["ratio"] for a, b in zip(linear, linear[1:]))
assert all(flows["rnn-tanh", s]["ratio"] < 1 for s in SCALES)           # tanh saturates instead of exploding
spread = {k: max(flows[k, s]["ratio"] for s in SCALES) / min(flows[k, s]["ratio"] for s in SCALES)
          for k in ("rnn-identity", "lstm", "gru")}
assert spread["rnn-identity"] > 1e6 and spread["lstm"] < 10 and spread["gru"] < 10
W = RNNLayer(1, 16)
assert abs(biggest_eig_magnitude(2 * W.hh.weight) - 2 * biggest_eig_magnitude(W.hh.weight)) < 1e-5

# %%
fig, axes = plt.subplots(1, 4, figsize=(15, 3.6), sharey=True, layout="constrained")
for ax, key, title in zip(axes, ["rnn-identity", "rnn-tanh", "lstm", "gru"],
                          ["RNN, no nonlinearity", "RNN, tanh", "LSTM", "GRU"]):
    for scale in SCALES:
        ax.plot(steps, np.asarray(flows[key, scale]["grad_norms"]) + 1e-6, "o-", ms=3, label=f"x{scale:g}")
    ax.set(title=title, xlabel="time step t (from T back to 1)", yscale="log", ylim=(1e-6, 1e5),
           xlim=(SEQ_LEN + 0.5, 0.5))
    ax.xaxis.set_major_locator(plt.MaxNLocator(integer=True))
    ax.grid(alpha=0.3)
axes[0].set_ylabel(r"$\|\partial L/\partial h_t\|$")
axes[0].legend(title="weight scale", fontsize=8)
plt.show()

# %% [markdown]
# Read each panel from left to right: the gradient starts at the last step and travels back.  Without a
# nonlinearity the slope is set by the eigenvalue: the original weights ($|\lambda_{\max}| \approx 0.63$) lose
# more than two orders of magnitude over ten steps, a scale of 2.5 ($|\lambda_{\max}| \approx 1.57$) gains one and
# a scale of 4 gains three — the vanishing and exploding gradients that make long-range credit assignment hard.
# With tanh the large scales saturate the units, $\sigma' = 1 - h^2$ goes to zero, and the gradient vanishes
# instead of exploding.  The LSTM and GRU lines move far less with the scale (within a factor of ten, against
# eight orders of magnitude for the linear RNN): their gates, not a single matrix, decide how much of the gradient
# each step passes on, so there is no single eigenvalue to print for them.
#
# ### The interactive visualiser
#
# The sliders rescale the weights and the biases from $-5$ to $5$; the axes stay fixed (hidden-state norm
# $-1$ to $5$, gradient norm $10^{-6}$ to $10^{5}$ on a log scale) so the effect of a change can be read off the
# picture, and the biggest eigenvalue magnitude of $W^h$ is printed for the RNN.  The first widget takes a model
# you build: the notebook's `hidden_size = 16`, `nonlinearity = lambda x: x` and `last_target_only = True`.  It
# never modifies the model, each move scales a copy.  As in the notebook, both sliders start at 0: every weight and
# bias is multiplied by 0, so the hidden states are all 0 and only the last step receives a gradient.

# %%
hidden_size = 16
nonlinearity = lambda x: x  # options: lambda x: x, torch.relu, torch.tanh
last_target_only = True

my_model = RecurrentRegressionModel(RNNLayer(1, hidden_size, nonlinearity=nonlinearity))
my_visualizer = gradient_visualizer(model=my_model, loss="last" if last_target_only else "every",
                                    weight_scale=0.0, bias_scale=0.0)
print("biggest |eigenvalue| of W_h:", f"{my_visualizer.last['eigenvalue']:.3f}")
assert my_visualizer.last["eigenvalue"] == 0.0 and not any(my_visualizer.last["grad_norms"][:-1])
display(my_visualizer)

# %% [markdown]
# Move the weight slider to 1 to see the model as it was built: the printed eigenvalue is then
# `biggest_eig_magnitude` of its $W^h$ (the cell below checks it on a second widget).

# %%
unscaled = gradient_visualizer(model=my_model, loss="last", weight_scale=1.0, bias_scale=1.0)
assert abs(unscaled.last["eigenvalue"] - biggest_eig_magnitude(my_model.recurrent_net.hh.weight)) < 1e-5
print("at scale 1, biggest |eigenvalue| of W_h:", f"{unscaled.last['eigenvalue']:.3f}")

# %% [markdown]
# Things to try: move the weight scale up from 0 (at 0 only the last step receives a gradient, every earlier one
# sits on the floor of the plot), find the scale where $|\lambda_{\max}|$ crosses 1 and watch the gradient line turn flat,
# and switch the loss to every step — then each $h_t$ also gets a direct error signal from its own prediction, so
# the early gradients stop vanishing even with small weights.
#
# rnnlab's second widget explores a fixed model of any cell with the same numbers as the `rnnlab explore` web
# page: choose RNN, LSTM or GRU, the RNN's nonlinearity, the hidden size and the sequence length as well.  It
# starts at scale 1, the model as drawn.

# %%
explorer = gradient_visualizer(cell="rnn", nonlinearity="identity", hidden_size=16, length=SEQ_LEN, loss="last")
assert explorer.last == explore(cell="rnn", nonlinearity="identity", hidden_size=16, length=SEQ_LEN,
                                weight_scale=1.0, bias_scale=1.0, loss="last")
display(explorer)

# %% [markdown]
# The numbers printed under the sliders are exactly what `explore` returns for those settings (the cell above
# checks it), so the widget, the web page and the table further up agree.

# %% [markdown]
# ## 1.K Multi-layer RNNs
#
# ### 1.K.i The stack
#
# The notebook's figure of a multi-layer RNN: depth goes up, time goes right.

# %%
display(diagrams.stacked_rnn())

# %% [markdown]
# A multi-layer RNN feeds the states of layer $k$ as the inputs of layer $k+1$:
# $h^{(k)}_t = \sigma(W^{h,k} h^{(k)}_{t-1} + W^{x,k} h^{(k-1)}_t + b^k)$ with $h^{(0)}_t = x_t$.
# `rnnlab.torch.RNN(input_size, hidden_size, num_layers)` returns the top layer's states at every step,
# shape (batch, T, H), and every layer's last state, shape (layers, batch, H).  One layer must reproduce the
# regression model's tanh states from 1.B; two layers must match a second set of hand-checked values.

# %%
rnn = fill(RNN(2, 3, 1), -0.1)
all_h, last_h = rnn(data)
assert all_h.shape == (2, 4, 3) and last_h.shape == (1, 2, 3)
print(f"1 layer:  all_h max error {max_error(all_h, expected_tanh_h):.1e}, "
      f"last_h max error {max_error(last_h, expected_tanh_h[:, -1].unsqueeze(0)):.1e}")
assert max_error(all_h, expected_tanh_h) < 1e-4 and max_error(last_h, expected_tanh_h[:, -1].unsqueeze(0)) < 1e-4

rnn = fill(RNN(2, 3, 2), -0.1)
expected_top = torch.tensor([[-0.0626, -0.0490, -0.0457, -0.0430],
                             [-0.1174, -0.1096, -0.1354, -0.0342]]).unsqueeze(-1).expand(2, 4, 3)
expected_last = torch.stack([expected_tanh_h[:, -1], expected_top[:, -1]])
all_h, last_h = rnn(data)
assert all_h.shape == (2, 4, 3) and last_h.shape == (2, 2, 3)
print(f"2 layers: all_h max error {max_error(all_h, expected_top):.1e}, "
      f"last_h max error {max_error(last_h, expected_last):.1e}")
assert max_error(all_h, expected_top) < 1e-4 and max_error(last_h, expected_last) < 1e-4

# %% [markdown]
# The first layer of the two-layer stack computes exactly the one-layer states (the first row of `last_h`); the
# second layer sees those small negative states as its input, so its own states are smaller still.

# %% [markdown]
# ### 1.K.ii Training: one layer or two, every step or the last
#
# Each model is trained with Adam on fresh random batches (32 sequences of 10 steps, a new seed per batch), once
# with the loss on every step and once on the last step only, for a one-layer and a two-layer stack of 32 tanh
# units.  The models start from the same seed.

# %%
def train(model: torch.nn.Module, last_step_only: bool, num_batches: int = NUM_BATCHES,
          lr: float = LEARNING_RATE, seed: int = 0) -> list[float]:
    """Adam on fresh running-mean batches; returns the loss of every batch (the notebook's progress bar shows
    the mean of the last 10 every 100 batches)."""
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    seeds = np.random.default_rng(seed).integers(2**31, size=num_batches)
    model.train()
    losses = []
    t = tqdm(seeds)
    for i, batch_seed in enumerate(t):
        xb, yb = (torch.from_numpy(a) for a in cumulative_average(BATCH_SIZE, SEQ_LEN, seed=int(batch_seed)))
        pred, _ = model(xb)
        loss = loss_fn(pred, yb, last_step_only)
        losses.append(loss.item())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if i % 100 == 0:
            t.set_description(f"Batch: {i} Loss: {np.mean(losses[-10:])}")
    return losses


models, losses = {}, {}
for loss_on in ("every", "last"):
    for layers in (1, 2):
        torch.manual_seed(0)
        models[loss_on, layers] = RecurrentRegressionModel(RNN(1, HIDDEN_SIZE, layers))
        start = time.perf_counter()
        losses[loss_on, layers] = train(models[loss_on, layers], last_step_only=loss_on == "last")
        print(f"loss on {loss_on:>5} step(s), {layers} layer(s): final loss "
              f"{np.mean(losses[loss_on, layers][-50:]):.5f} ({time.perf_counter() - start:.1f} s)")


# %%
def smooth(values: list[float], width: int = 50) -> np.ndarray:
    """Moving average over ``width`` batches (the raw per-batch loss is noisy)."""
    width = min(width, len(values))
    return np.convolve(values, np.ones(width) / width, mode="valid")


fig, axes = plt.subplots(1, 2, figsize=(13, 4), layout="constrained")
for ax, loss_on in zip(axes, ("every", "last")):
    for layers in (1, 2):
        curve = smooth(losses[loss_on, layers])
        ax.plot(np.arange(len(curve)) + 1, curve, label=f"{layers} layer{'s' * (layers > 1)}")
    baseline = cumulative_average_baseline(SEQ_LEN, every_step=loss_on == "every")
    ax.axhline(baseline, color="gray", ls="--", label="predict 0")
    ax.set(title=f"Training loss, target at {'every step' if loss_on == 'every' else 'the last step'}",
           xlabel="batch", ylabel="MSE (moving average of 50 batches)", yscale="log")
    ax.xaxis.set_major_locator(plt.MaxNLocator(integer=True))
    ax.legend()
plt.show()

# %% [markdown]
# All four models fall far below the "predict 0" line, so they learn the running mean rather than its average.
# The two-layer stack, with more parameters and a second nonlinearity between input and output, ends lower in
# this run (the table below checks it on held-out data), though with 32 units and ten steps one layer already
# does well.  The last-step curves
# are noisier: each batch gives only 32 errors instead of 320.
#
# On held-out sequences we score every model on both objectives:

# %%
x_test, y_test = cumulative_average(1000, SEQ_LEN, seed=12345)
with torch.no_grad():
    predictions = {k: m(torch.from_numpy(x_test))[0].numpy() for k, m in models.items()}
scores = {k: ((p - y_test) ** 2).mean() for k, p in predictions.items()}
last_scores = {k: ((p[:, -1] - y_test[:, -1]) ** 2).mean() for k, p in predictions.items()}
base_every, base_last = cumulative_average_baseline(SEQ_LEN), cumulative_average_baseline(SEQ_LEN, False)
print(f"{'trained on':>12} {'layers':>6} {'MSE every step':>15} {'MSE last step':>14}")
print(f"{'predict 0':>12} {'-':>6} {base_every:>15.4f} {base_last:>14.4f}")
for (loss_on, layers), score in scores.items():
    print(f"{loss_on + ' step':>12} {layers:>6} {score:>15.4f} {last_scores[loss_on, layers]:>14.4f}")
for layers in (1, 2):
    assert scores["every", layers] < 0.2 * base_every                # learnt the task it was trained for
    assert last_scores["last", layers] < 0.2 * base_last
    assert scores["last", layers] > 5 * scores["every", layers]      # the last-step model ignores earlier steps
for loss_on, score in (("every", scores), ("last", last_scores)):
    assert score[loss_on, 2] < score[loss_on, 1]                    # in this run two layers end lower

# %% [markdown]
# Each model is good at what it was trained for.  The models trained on the last step only are much worse when
# scored on every step: nothing asked their readout to be right before step 10, and their early outputs are
# the intermediate states of whatever computation reaches the right answer at the end.
#
# The predictions on four held-out sequences show the same thing:

# %%
fig, axes = plt.subplots(2, 4, figsize=(15, 6), sharex=True, layout="constrained")
for row, loss_on in enumerate(("every", "last")):
    for i in range(4):
        ax = axes[row, i]
        ax.plot(steps, x_test[i, :, 0], color="lightgray", marker=".", label="input $x_t$")
        if loss_on == "every":
            ax.plot(steps, y_test[i, :, 0], "ko", label="target $y_t$")
        else:
            ax.plot([SEQ_LEN], [y_test[i, -1, 0]], "ko", ms=8, label="target $y_T$")
        for layers, style in ((1, "-"), (2, "--")):
            ax.plot(steps, predictions[loss_on, layers][i, :, 0], style, label=f"{layers}-layer prediction")
        ax.set_title(f"trained on {'every step' if loss_on == 'every' else 'the last step'}, seq. {i + 1}",
                     fontsize=10)
        ax.xaxis.set_major_locator(plt.MaxNLocator(integer=True))
    axes[row, 0].legend(fontsize=8)
for ax in axes[1]:
    ax.set_xlabel("time step t")
plt.show()

# %% [markdown]
# Top row: the every-step models track the running mean from the first step on, one and two layers alike.
# Bottom row: the last-step models land on the final target, but their earlier outputs are not the running mean
# (compare the same sequences in the top row): a many-to-one model's hidden states are free to encode the answer
# in any form until the readout is asked for it.
#
# ### Where the training signal comes from
#
# The loss on every step feeds a gradient into each hidden state directly; the loss on the last step reaches
# $h_1$ only through nine backward steps.  The gradient-flow measurement of the trained one-layer models on one
# held-out sequence shows the difference:

# %%
trained_flows = {}
for loss_on in ("every", "last"):
    flow = trained_flows[loss_on] = gradient_flow(models[loss_on, 1], x_test[:1], y_test[:1],
                                                  last_step_only=loss_on == "last")
    print(f"trained and measured on {loss_on:>5} step(s): ||dL/dh_t||, t = 1..{SEQ_LEN}:",
          " ".join(f"{g:.2g}" for g in flow.grad_norms), f"(|lambda_max| = {flow.eigenvalue:.2f})")
    assert 0.1 < flow.ratio < 10 and flow.eigenvalue > 1   # neither vanished nor exploded, with |lambda| > 1
assert trained_flows["last"].grad_norms.argmax() == SEQ_LEN - 1   # the one step with an error signal of its own
trained_copy = scaled_copy(models["last", 1], 1.0, 1.0)
assert all(torch.equal(a, b) for a, b in zip(trained_copy.parameters(), models["last", 1].parameters()))

# %% [markdown]
# After training, the gradient reaching step 1 is within a small factor of the one at step $T$ for both models.
# The trained $W^h$ has $|\lambda_{\max}|$ above 1 (about 0.66 at initialisation), and tanh's saturation keeps
# that from turning into an explosion: over ten steps the gradient neither vanishes nor explodes.  The last-step
# model's gradient is largest at the last step, the only one with an error signal of its own, and reaches the
# earlier steps only through the recurrence; the every-step model's is spread over all steps, because each state
# also answers for its own prediction.  The trained model can be put into the visualiser as well (a copy is
# scaled, the model stays as trained):

# %%
trained_visualizer = gradient_visualizer(model=models["last", 1], loss="last")
display(trained_visualizer)

# %% [markdown]
# ## Summary
#
# * The layer, the readout, the stack and the loss reproduce every reference value to better than $10^{-4}$.
# * In a plain RNN the gradient travelling back in time is multiplied at each step by a Jacobian
#   $\operatorname{diag}(\sigma')W^h$; for a linear RNN its size changes by about $|\lambda_{\max}(W^h)|$ per step,
#   so it vanishes below 1 and explodes above 1.  tanh trades explosion for saturation, which vanishes too.
# * LSTM and GRU gates set how much gradient passes each step, so rescaling the weights moves their gradients far
#   less.
# * Training on the last step only works for the last output but leaves the earlier outputs unconstrained, and
#   its error signal has to travel through every step; the every-step loss gives each state its own signal.

# %%
print(f"notebook ran in {time.perf_counter() - STARTED:.1f} s (FULL={FULL})")
