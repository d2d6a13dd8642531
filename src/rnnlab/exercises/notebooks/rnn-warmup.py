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
# # Exercise: RNN Warmup, recurrent layers in PyTorch and three memory tasks
#
# PyTorch's three recurrent layers, `nn.RNN`, `nn.GRU` and `nn.LSTM`: their structure, their parameters and
# shapes, what goes in and what comes out; then three tasks that need memory (copy the first step, XOR with the
# previous bit, add two marked numbers) on which the three learn very differently.
#
# | layer | structure | parameters per layer | strengths | weaknesses |
# |---|---|---|---|---|
# | RNN | one tanh (or ReLU) update | `input x hidden + hidden x hidden + 2 x hidden` | simple, fast, few parameters | vanishing / exploding gradients, short memory |
# | GRU | reset and update gates | `3 x (input x hidden + hidden x hidden + hidden)` (+ a second bias) | longer memory than the RNN, fewer parameters than the LSTM | sometimes less powerful than the LSTM |
# | LSTM | input, forget and output gates and a cell state | `4 x (input x hidden + hidden x hidden + hidden)` (+ a second bias) | the longest memory, the most resistant to vanishing gradients | more parameters, slower, may overfit small data |
#
# **What you run**: sections 1 to 3 as they are (read what they print), then the three tasks.  **What you write**
# (section 4): the copy task's model and the three tasks' data and forward passes, seven TODOs between
# `# >>> your answer` and `# <<<`.  Keep the names: the grader calls them and compares them with the warmup's
# own.  The warmup gives no points; we count **two per TODO** as Assignment 2 does: **14 points**.  The runs
# are checked against bars (no points): the copy task below the no-memory loss, the XOR task at 95 % or more.
# The adding problem's run is shown, not checked: with the warmup's 500 updates of batch 64 every layer stays
# near chance (MSE 0.167) even at 50 steps, so no bar would tell right code from wrong.
#
# The first cell installs rnnlab where it is missing (Colab); `RNNLAB_EXERCISE_SIZE=quick` runs everything at a
# tiny size.

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
import random

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn as nn
import torch.optim as optim

import rnnlab
from rnnlab.grading import record_run
from rnnlab.grading.runs import full_size

FULL = full_size()          # RNNLAB_EXERCISE_SIZE=quick: a few epochs on short sequences
torch.manual_seed(42)
np.random.seed(42)
random.seed(42)
device = torch.device("cuda" if torch.cuda.is_available() else "cpu")


def all_pass(report):
    return all(item.passed for item in report.items)


# %% [markdown]
# ## 1. RNN, GRU and LSTM modules in PyTorch

# %%
input_size = 10    # features per step
hidden_size = 20   # size of the hidden state
num_layers = 2     # recurrent layers stacked
batch_size = 5     # sequences per batch
seq_length = 8     # steps per sequence

rnn = nn.RNN(input_size=input_size, hidden_size=hidden_size, num_layers=num_layers, batch_first=True)
gru = nn.GRU(input_size=input_size, hidden_size=hidden_size, num_layers=num_layers, batch_first=True)
lstm = nn.LSTM(input_size=input_size, hidden_size=hidden_size, num_layers=num_layers, batch_first=True)
print("RNN Structure:")
print(rnn)
print("\nGRU Structure:")
print(gru)
print("\nLSTM Structure:")
print(lstm)


# %% [markdown]
# ## 2. Hyperparameters and weights
#
# Every layer `n` has `weight_ih_l{n}` (gates x hidden by input), `weight_hh_l{n}` (gates x hidden by hidden)
# and two biases; the GRU has 3 blocks (reset, update, new), the LSTM 4 (input, forget, cell, output).

# %%
def analyze_model_params(model, model_name):
    print(f"\n{model_name} Parameters:")
    total_params = 0
    for name, param in model.named_parameters():
        print(f"  {name}: {param.shape}")
        total_params += param.numel()
    print(f"  Total parameters: {total_params}")
    return total_params


totals = [analyze_model_params(m, n) for m, n in ((rnn, "RNN"), (gru, "GRU"), (lstm, "LSTM"))]
print("\nThe warmup's totals: RNN 1480, GRU 4440, LSTM 5920 ->", totals)

# %% [markdown]
# How the hyperparameters change the structure: one layer, two directions (`bidirectional=True` doubles
# everything, `_reverse`), ReLU instead of tanh (same parameters), three layers with dropout between them
# (dropout has no parameters), and an LSTM whose hidden state is projected to `proj_size` (`weight_hr_l0`).

# %%
variants = {
    "Basic RNN": nn.RNN(input_size=10, hidden_size=20, num_layers=1, batch_first=True),
    "Bidirectional RNN": nn.RNN(input_size=10, hidden_size=20, num_layers=1, bidirectional=True, batch_first=True),
    "ReLU RNN": nn.RNN(input_size=10, hidden_size=20, num_layers=1, nonlinearity="relu", batch_first=True),
    "Dropout RNN": nn.RNN(input_size=10, hidden_size=20, num_layers=3, dropout=0.5, batch_first=True),
    "Projection LSTM": nn.LSTM(input_size=10, hidden_size=20, num_layers=1, proj_size=10, batch_first=True),
}
for name, model in variants.items():
    analyze_model_params(model, name)


# %% [markdown]
# ## 3. Input and output shapes

# %%
def display_io_dimensions(model_type, model, input_tensor, h0, c0=None):
    if model_type == "lstm":
        output, (hn, cn) = model(input_tensor, (h0, c0))
    else:
        output, hn = model(input_tensor, h0)
    print(f"Input shape: {input_tensor.shape}")
    print(f"Initial hidden state shape: {h0.shape}")
    if c0 is not None:
        print(f"Initial cell state shape: {c0.shape}")
    print(f"Output shape: {output.shape}")
    print(f"Final hidden state shape: {hn.shape}")
    if model_type == "lstm":
        print(f"Final cell state shape: {cn.shape}")
    print()


def three_layers(**options):
    return {"rnn": nn.RNN(10, 20, 2, **options), "gru": nn.GRU(10, 20, 2, **options),
            "lstm": nn.LSTM(10, 20, 2, **options)}


examples = [("1: a batch of sequences (batch_first=True)", {"batch_first": True}, (5, 8, 10), 2),
            ("2: sequence first (batch_first=False)", {"batch_first": False}, (8, 5, 10), 2),
            ("3: bidirectional", {"batch_first": True, "bidirectional": True}, (5, 8, 10), 4)]
for title, options, shape, states in examples:
    print(f"Example {title}")
    h0 = torch.zeros(states, 5, 20)
    for kind, model in three_layers(**options).items():
        print(f"{kind.upper()}:")
        display_io_dimensions(kind, model, torch.randn(*shape), h0, h0.clone() if kind == "lstm" else None)

# %% [markdown]
# Example 4: sequences of different lengths, padded and packed (`pack_padded_sequence`); the final hidden state
# is each sequence's own last step.  Example 5: an LSTM with a projection: $h$ has `proj_size` features, $c$
# keeps `hidden_size`.

# %%
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

lengths = [10, 7, 5]
x_padded = torch.zeros(3, 10, 10)
for i, length in enumerate(lengths):
    x_padded[i, :length] = torch.randn(length, 10)
x_packed = pack_padded_sequence(x_padded, lengths, batch_first=True, enforce_sorted=True)
output_packed, hn = nn.RNN(10, 20, 2, batch_first=True)(x_packed, torch.zeros(2, 3, 20))
output_padded, output_lengths = pad_packed_sequence(output_packed, batch_first=True)
print(f"Original padded input: {x_padded.shape}\nSequence lengths: {lengths}")
print(f"Output after padding back: {output_padded.shape}\nOutput lengths: {output_lengths}\nFinal hidden state: {hn.shape}")

lstm_proj = nn.LSTM(10, 20, 2, batch_first=True, proj_size=15)
output, (hn, cn) = lstm_proj(torch.randn(5, 8, 10), (torch.zeros(2, 5, 15), torch.zeros(2, 5, 20)))
print(f"\nLSTM with projection: output {output.shape}, final hidden {hn.shape}, final cell {cn.shape}")

# %% [markdown]
# ## 4. Learning on sequences
#
# ### Task 1: copy memory
#
# The first step holds random values in [0, 1) (`feature_dim` of them); the other steps are small noise in
# [0, 0.1).  After the whole sequence the model must output the first step's values.  A model that remembers
# nothing can only predict their mean, 0.5, a loss of 1/12 = 0.083.
#
# `RecurrentModel` is the general model of the warmup: a recurrent layer of the type `rnn_type` (`"rnn"`,
# `"gru"` or `"lstm"`, `batch_first=True`, attribute `self.rnn`), a linear read-out `self.fc` of the last
# step's output, and `forward(x, hidden=None)` returning `(output, final_hidden)`, starting from zero states
# when `hidden` is None (a pair `(h0, c0)` for the LSTM).

# %%
class RecurrentModel(nn.Module):
    def __init__(self, input_size, hidden_size, output_size, rnn_type="rnn", num_layers=1):
        super().__init__()
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.rnn_type = rnn_type
        # TODO (RecurrentModel.__init__): self.rnn, an nn.RNN, nn.GRU or nn.LSTM by rnn_type (input_size,
        # hidden_size, num_layers, batch_first=True; raise ValueError for another type); self.fc, a Linear from
        # hidden_size to output_size.
        # >>> your answer
        pass
        # <<<

    def forward(self, x, hidden=None):
        output = final_hidden = None
        # TODO (RecurrentModel.forward): zero initial states (num_layers, batch, hidden_size) when hidden is None;
        # run self.rnn; output = self.fc of the last step's output; final_hidden = what self.rnn returns as its
        # final state.
        # >>> your answer
        pass
        # <<<
        return output, final_hidden


def generate_copy_memory_data(batch_size, seq_length, feature_dim, device="cpu"):
    X = y = None
    # TODO (generate_copy_memory_data): X (batch, seq_length, feature_dim) of zeros; the first step random values
    # in [0, 1) (torch.rand), every other step noise torch.rand(...) * 0.1; y = the first step's values.
    # >>> your answer
    pass
    # <<<
    return X, y


# %%
copy_report = rnnlab.check(only=("RecurrentModel", "generate_copy_memory_data"))


# %% [markdown]
# Training (the warmup's protocol): Adam at 0.001, 10 fresh batches of 64 per epoch, 100 epochs, hidden size
# 64, sequences of 50 steps; the loss printed every 10 epochs.

# %%
def train_copy_memory(model_type, seq_length, epochs=100, batch_size=64, hidden_size=64, feature_dim=10):
    model = RecurrentModel(feature_dim, hidden_size, feature_dim, rnn_type=model_type).to(device)
    optimizer = optim.Adam(model.parameters(), lr=0.001)
    criterion = nn.MSELoss()
    losses = []
    for epoch in range(epochs):
        model.train()
        epoch_loss = 0.0
        num_batches = 10
        for _ in range(num_batches):
            X, y = generate_copy_memory_data(batch_size, seq_length, feature_dim, device)
            optimizer.zero_grad()
            output, _ = model(X)
            loss = criterion(output, y)
            epoch_loss += loss.item()
            loss.backward()
            optimizer.step()
        losses.append(epoch_loss / num_batches)
        if (epoch + 1) % 10 == 0:
            print(f"Epoch {epoch + 1}/{epochs}, Loss: {losses[-1]:.4f}")
    return model, losses


COPY_STEPS, COPY_EPOCHS = (50, 100) if full_size() else (10, 2)
if all_pass(copy_report):
    copy_losses = {}
    for kind in ("rnn", "gru", "lstm"):
        print(f"\nTraining {kind.upper()} on copy memory task:")
        _, copy_losses[kind] = train_copy_memory(kind, seq_length=COPY_STEPS, epochs=COPY_EPOCHS)
    print("\nFinal losses:", ", ".join(f"{k.upper()}: {v[-1]:.6f}" for k, v in copy_losses.items()))
    for kind, losses in copy_losses.items():
        plt.plot(range(1, len(losses) + 1), losses, label=kind.upper())
    plt.axhline(1 / 12, color="gray", linestyle=":", label="no memory (1/12)")
    plt.xlabel("epoch")
    plt.ylabel("training loss (MSE)")
    plt.title("Copy memory task")
    plt.legend()
    plt.show()
    record_run("rnn-warmup", "copy_memory.run", min(v[-1] for v in copy_losses.values()))
else:
    print("Not yet: the copy task trains once the checks above pass.")


# %% [markdown]
# ### Task 2: sequential XOR
#
# Each input is a bit; the target at step $t \ge 1$ is the XOR of the bit with the previous one, and 0 at the
# first step (which has no previous bit; the loss leaves it out).  The model reads out every step through a
# sigmoid (`self.sigmoid`), a probability for binary cross-entropy.

# %%
def generate_sequential_xor_data(batch_size, seq_length, device="cpu"):
    X = y = None
    # TODO (generate_sequential_xor_data): X random bits (batch, seq_length, 1) as floats
    # (torch.randint(0, 2, ...)); y zeros of the same shape, and y[:, t] = X[:, t] XOR X[:, t-1] for t >= 1.
    # >>> your answer
    pass
    # <<<
    return X, y


class SequentialXORModel(nn.Module):
    def __init__(self, hidden_size, rnn_type="rnn", num_layers=1):
        super().__init__()
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.rnn_type = rnn_type
        layers = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}
        if rnn_type not in layers:
            raise ValueError(f"Unknown RNN type: {rnn_type}")
        self.rnn = layers[rnn_type](input_size=1, hidden_size=hidden_size, num_layers=num_layers, batch_first=True)
        self.fc = nn.Linear(hidden_size, 1)
        self.sigmoid = nn.Sigmoid()

    def forward(self, x, hidden=None):
        output = None
        # TODO (SequentialXORModel.forward): zero initial states when hidden is None (a pair for the LSTM); run
        # self.rnn; output = self.sigmoid(self.fc(...)) at every step, shape (batch, seq_length, 1).
        # >>> your answer
        pass
        # <<<
        return output


# %%
xor_report = rnnlab.check(only=("generate_sequential_xor_data", "SequentialXORModel"))


# %% [markdown]
# Training (the warmup's protocol): hidden size 32, Adam at 0.001, binary cross-entropy on steps 1 and later,
# 5 fresh batches of 64 per epoch, 100 epochs, sequences of 20 bits; then the accuracy on a new batch of 32.

# %%
def train_sequential_xor(model_type, seq_length, epochs=100, batch_size=64, hidden_size=32):
    model = SequentialXORModel(hidden_size=hidden_size, rnn_type=model_type).to(device)
    optimizer = optim.Adam(model.parameters(), lr=0.001)
    criterion = nn.BCELoss()
    losses, accuracies = [], []
    for epoch in range(epochs):
        model.train()
        epoch_loss, correct, total, num_batches = 0.0, 0, 0, 5
        for _ in range(num_batches):
            X, y = generate_sequential_xor_data(batch_size, seq_length, device)
            optimizer.zero_grad()
            output = model(X)
            loss = criterion(output[:, 1:, :], y[:, 1:, :])
            epoch_loss += loss.item()
            correct += ((output[:, 1:, :] > 0.5).float() == y[:, 1:, :]).sum().item()
            total += y[:, 1:, :].numel()
            loss.backward()
            optimizer.step()
        losses.append(epoch_loss / num_batches)
        accuracies.append(100 * correct / total)
        if (epoch + 1) % 10 == 0:
            print(f"Epoch {epoch + 1}/{epochs}, Loss: {losses[-1]:.4f}, Accuracy: {accuracies[-1]:.2f}%")
    return model, losses, accuracies


XOR_STEPS, XOR_EPOCHS = (20, 100) if full_size() else (8, 2)
if all_pass(xor_report):
    xor_models, xor_accuracy = {}, {}
    for kind in ("rnn", "gru", "lstm"):
        print(f"\nTraining {kind.upper()}:")
        xor_models[kind], _, train_accuracy = train_sequential_xor(kind, XOR_STEPS, epochs=XOR_EPOCHS)
        plt.plot(range(1, len(train_accuracy) + 1), train_accuracy, label=kind.upper())
    plt.xlabel("epoch")
    plt.ylabel("training accuracy (%)")
    plt.title("Sequential XOR")
    plt.legend()
    plt.show()
    X_test, y_test = generate_sequential_xor_data(32, XOR_STEPS, device)
    with torch.no_grad():
        for kind, model in xor_models.items():
            predictions = (model(X_test)[:, 1:, :] > 0.5).float()
            xor_accuracy[kind] = (predictions == y_test[:, 1:, :]).float().mean().item()
    print("\nTest accuracies:", ", ".join(f"{k.upper()}: {100 * v:.2f}%" for k, v in xor_accuracy.items()))
    record_run("rnn-warmup", "xor.run", max(xor_accuracy.values()))
else:
    print("Not yet: the XOR task trains once the checks above pass.")


# %% [markdown]
# ### Task 3: the adding problem
#
# Two features per step: a random value in [0, 1) and a mask, all zeros but two 1s, one in the first half of
# the sequence and one in the second.  The target is the sum of the two marked values.  Predicting the mean
# sum (1.0) without reading anything gives a mean squared error of 1/6 = 0.167: chance.

# %%
def generate_adding_problem_data(batch_size, seq_length, device="cpu"):
    X = y = None
    # TODO (generate_adding_problem_data): values = torch.rand(batch, seq_length); a mask with a 1 at a random
    # step of the first half (torch.randint(0, half, ...)) and at one of the second half; X = the two stacked
    # on the last axis, (batch, seq_length, 2); y (batch, 1) = the sum of the two marked values.
    # >>> your answer
    pass
    # <<<
    return X, y


class AddingModel(nn.Module):
    def __init__(self, hidden_size, rnn_type="rnn", num_layers=1):
        super().__init__()
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.rnn_type = rnn_type
        layers = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}
        if rnn_type not in layers:
            raise ValueError(f"Unknown RNN type: {rnn_type}")
        self.rnn = layers[rnn_type](input_size=2, hidden_size=hidden_size, num_layers=num_layers, batch_first=True)
        self.fc = nn.Linear(hidden_size, 1)

    def forward(self, x, hidden=None):
        output = None
        # TODO (AddingModel.forward): zero initial states when hidden is None; run self.rnn; output = self.fc of
        # the last step's output, shape (batch, 1).
        # >>> your answer
        pass
        # <<<
        return output


# %%
adding_report = rnnlab.check(only=("generate_adding_problem_data", "AddingModel"))


# %% [markdown]
# Training (the warmup's protocol): hidden size 64, Adam at 0.001, mean squared error, 10 fresh batches of 64
# per epoch, 50 epochs, at 50, 100 and 200 steps; then the test MSE on a new batch of 32.  The run's number is
# the best of the three at 50 steps.

# %%
def train_adding_problem(model_type, seq_length, epochs=100, batch_size=64, hidden_size=64):
    model = AddingModel(hidden_size=hidden_size, rnn_type=model_type).to(device)
    optimizer = optim.Adam(model.parameters(), lr=0.001)
    criterion = nn.MSELoss()
    losses, baseline_mse = [], 0.167
    for epoch in range(epochs):
        model.train()
        epoch_loss, num_batches = 0.0, 10
        for _ in range(num_batches):
            X, y = generate_adding_problem_data(batch_size, seq_length, device)
            optimizer.zero_grad()
            loss = criterion(model(X), y)
            epoch_loss += loss.item()
            loss.backward()
            optimizer.step()
        losses.append(epoch_loss / num_batches)
        if (epoch + 1) % 10 == 0:
            print(f"Epoch {epoch + 1}/{epochs}, Loss: {losses[-1]:.4f}, Baseline: {baseline_mse:.4f}")
    return model, losses


ADDING_LENGTHS, ADDING_EPOCHS = ([50, 100, 200], 50) if full_size() else ([12], 2)
if all_pass(adding_report):
    adding_mse = {}
    for seq_len in ADDING_LENGTHS:
        print(f"\n--- Adding Problem with Sequence Length: {seq_len} ---")
        models = {}
        for kind in ("rnn", "gru", "lstm"):
            print(f"\nTraining {kind.upper()}:")
            models[kind], _ = train_adding_problem(kind, seq_len, epochs=ADDING_EPOCHS)
        X_test, y_test = generate_adding_problem_data(32, seq_len, device)
        with torch.no_grad():
            adding_mse[seq_len] = {k: nn.MSELoss()(m(X_test), y_test).item() for k, m in models.items()}
        print("\nTest MSE:", ", ".join(f"{k.upper()}: {v:.6f}" for k, v in adding_mse[seq_len].items()))
    # not checked against a bar: with the warmup's 500 updates every layer stays near the chance MSE of 0.167
    # (measured with the answer key's models: best of the three 0.159-0.164 at 50 steps over three seeds)
    best = min(adding_mse[ADDING_LENGTHS[0]].values())
    print(f"\nBest test MSE at {ADDING_LENGTHS[0]} steps: {best:.4f} (chance 0.167); see below for why this is not checked")
else:
    print("Not yet: the adding problem trains once the checks above pass.")

# %% [markdown]
# ### What the warmup observed
#
# - **Copy memory**: the gated layers can learn it; the RNN stays at the no-memory loss.
# - **Sequential XOR**: all three can learn it, the GRU and the LSTM faster.
# - **Adding problem**: the gated layers keep working on longer sequences, the RNN struggles.  (With the
#   warmup's 500 updates none of the three gets far below chance here, at any length: rnnlab's RNN Warmup
#   notebook shows the recipe, more updates, a one-cycle rate and the LSTM's chrono initialisation, that
#   solves it at 200 steps.)
#
# Use an RNN for short sequences when speed matters, a GRU for moderate lengths, an LSTM for long sequences and
# dependencies on specific early events.  Compare with your numbers above: which task separated the three?
#
# ## Your grade
#
# The whole notebook, graded as a teacher would (`rnnlab check notebook.ipynb` gives the same).

# %%
report = rnnlab.check()
