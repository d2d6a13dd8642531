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
# # Exercise: Lab sheet 9, an RNN and an LSTM in PyTorch on MNIST
#
# The lab sheet reads each MNIST digit as a sequence: its 28 rows of 28 pixels are 28 time steps.  A one-layer
# `nn.RNN` and a two-layer `nn.LSTM` read them, a linear layer turns the last hidden state into ten class
# scores, and each model trains for five epochs with Adam.
#
# **What you write**: the two models, each in two TODOs (`__init__` builds the layers, `forward` runs them),
# between `# >>> your answer` and `# <<<`.  Keep the class names, argument names and attribute names
# (`self.rnn`, `self.lstm`, `self.fc`): the grader builds your classes and compares them with the sheet's.
# The sheet gives no points; we count **two points per TODO** as Assignment 2 does: **8 points**.
#
# **What you run**: training and testing both models.  The bars (this exercise's, the sheet states none): test
# accuracy above **90 % (RNN)** and **97 % (LSTM)** at the full size.  Your numbers are printed against them
# and read back by the grader from your saved notebook (no points: a run is checked, not graded).
#
# **Checking as you go**: after each model a cell runs `rnnlab.check(only=...)`; the last cell grades the
# notebook.  The grader runs your imports, classes and functions in a separate process, not your other cells.
#
# The first cell installs rnnlab where it is missing (Colab); `RNNLAB_EXERCISE_SIZE=quick` in the environment
# runs everything at a tiny size (a first try, or the tests).

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

# %% [markdown]
# ## Setup and the data
#
# The sheet loads MNIST with torchvision, turns each picture into a tensor and normalises it with mean 0.5 and
# standard deviation 0.5 (pixels from -1 to 1), then batches of 64.  Here the pictures come from rnnlab's MNIST
# (downloaded once into its cache), normalised the same way, in the same `DataLoader`s.

# %%
import matplotlib.pyplot as plt
import torch
import torch.nn as nn
import torch.optim as optim
from torch.utils.data import DataLoader, TensorDataset

import rnnlab
from rnnlab import lab
from rnnlab.grading import record_run
from rnnlab.grading.runs import full_size

FULL = full_size()          # RNNLAB_EXERCISE_SIZE=quick: a few hundred pictures, one epoch, small models
torch.manual_seed(0)


def all_pass(report):
    return all(item.passed for item in report.items)


# %%
mnist = lab.load_data("mnist-rows", seed=0, split="official", **({} if FULL else {"n_train": 256, "n_test": 128}))


def loader(split, shuffle):
    images = torch.tensor((split.x - 0.5) / 0.5, dtype=torch.float32)     # transforms.Normalize((0.5,), (0.5,))
    return DataLoader(TensorDataset(images, torch.tensor(split.y, dtype=torch.long)), batch_size=64, shuffle=shuffle)


trainloader, testloader = loader(mnist.train, True), loader(mnist.test, False)
print(f"{len(trainloader.dataset)} training and {len(testloader.dataset)} test pictures, batches of 64")

# %%
images, labels = next(iter(trainloader))      # one batch of training images
fig = plt.figure(figsize=(5, 5))
ax = fig.add_subplot(111)
ax.imshow(images[9].numpy(), cmap="gray")
ax.set_title(f"label {labels[9].item()}")
plt.show()

# %% [markdown]
# ## The RNN model
#
# Each picture is a sequence of 28 rows: `x` has shape (batch, 28, 28).  `nn.RNN(input_size, hidden_size,
# batch_first=True)` reads it with $h_t = \tanh(W_{ih} x_t + b_{ih} + W_{hh} h_{t-1} + b_{hh})$ and returns
# the output at every step, shape (batch, 28, hidden_size), and the last hidden state.  The class scores are a
# linear layer of the output at the last time step.

# %%
class RNN_Model(nn.Module):
    def __init__(self, input_size=28, hidden_size=128, num_classes=10):
        super().__init__()
        # TODO (RNN_Model.__init__): self.rnn, an nn.RNN from input_size to hidden_size that takes batches first;
        # self.fc, an nn.Linear from hidden_size to num_classes.
        # >>> your answer
        pass
        # <<<

    def forward(self, x):
        out = None
        # TODO (RNN_Model.forward): run self.rnn over x; out = self.fc of its output at the last time step.
        # >>> your answer
        pass
        # <<<
        return out


# %%
rnn_report = rnnlab.check(only="RNN_Model")

# %% [markdown]
# ## The LSTM model
#
# Vanilla RNNs are hard to train on long sequences: the gradient is multiplied by the recurrent matrix at every
# step back and vanishes or explodes.  The LSTM replaces the update by gates.  At each step, from $x_t$ and
# $h_{t-1}$, it computes the activation $a = W_x x_t + W_h h_{t-1} + b$ of size $4H$, splits it into
# $a_i, a_f, a_o, a_g$ and
#
# $$i = \sigma(a_i), \quad f = \sigma(a_f), \quad o = \sigma(a_o), \quad g = \tanh(a_g), \qquad
# c_t = f \odot c_{t-1} + i \odot g, \quad h_t = o \odot \tanh(c_t).$$
#
# The cell state $c_t$ carries the gradient back through the forget gate alone, not through a matrix.  The
# sheet's model stacks two LSTM layers (`num_layers=2`) and reads the last layer's final hidden state: `nn.LSTM`
# returns `lstm_out, (hn, cn)` with `hn` of shape (num_layers, batch, hidden_size).

# %%
class LSTM_Model(nn.Module):
    def __init__(self, input_size=28, hidden_size=128, num_layers=2, num_classes=10):
        super().__init__()
        # TODO (LSTM_Model.__init__): self.lstm, an nn.LSTM from input_size to hidden_size with num_layers
        # layers that takes batches first; self.fc, an nn.Linear from hidden_size to num_classes.
        # >>> your answer
        pass
        # <<<

    def forward(self, x):
        out = None
        # TODO (LSTM_Model.forward): run self.lstm over x; out = self.fc of the last layer's final hidden state.
        # >>> your answer
        pass
        # <<<
        return out


# %%
lstm_report = rnnlab.check(only="LSTM_Model")

# %% [markdown]
# ## Training and evaluation (the sheet's functions)
#
# One training function and one evaluation function serve both models: cross-entropy on the class scores, one
# Adam step per batch, the loss and accuracy printed after each epoch; then the test accuracy.  They return
# what they print, so that the curves below can be drawn.

# %%
def train(model, trainloader, criterion, optimizer, num_epochs=5):
    model.train()
    history = []
    for epoch in range(num_epochs):
        running_loss, correct, total = 0.0, 0, 0
        for inputs, labels in trainloader:
            inputs = inputs.view(-1, 28, 28)       # (batch_size, seq_len, input_size)
            outputs = model(inputs)
            loss = criterion(outputs, labels)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            running_loss += loss.item()
            _, predicted = torch.max(outputs.data, 1)
            total += labels.size(0)
            correct += (predicted == labels).sum().item()
        history.append((running_loss / len(trainloader), correct / total))
        print(f"Epoch [{epoch + 1}/{num_epochs}], Loss: {history[-1][0]:.4f}, Accuracy: {100 * correct / total:.2f}%")
    return history


def evaluate(model, testloader):
    model.eval()
    correct, total = 0, 0
    with torch.no_grad():
        for inputs, labels in testloader:
            outputs = model(inputs.view(-1, 28, 28))
            _, predicted = torch.max(outputs.data, 1)
            total += labels.size(0)
            correct += (predicted == labels).sum().item()
    print(f"Test Accuracy: {100 * correct / total:.2f}%")
    return correct / total


EPOCHS, HIDDEN = (5, 128) if full_size() else (1, 8)
criterion = nn.CrossEntropyLoss()
histories = {}

# %% [markdown]
# ## Training the RNN model (once its checks pass)

# %%
if all_pass(rnn_report):
    rnn_model = RNN_Model(hidden_size=HIDDEN)
    optimizer = optim.Adam(rnn_model.parameters(), lr=0.001)
    histories["RNN"] = train(rnn_model, trainloader, criterion, optimizer, num_epochs=EPOCHS)
    record_run("lab-sheet-9", "RNN_Model.run", evaluate(rnn_model, testloader))
else:
    print("Not yet: the RNN trains once every check of RNN_Model passes.")

# %% [markdown]
# ## Training the LSTM model (once its checks pass)

# %%
if all_pass(lstm_report):
    lstm_model = LSTM_Model(hidden_size=HIDDEN)
    optimizer = optim.Adam(lstm_model.parameters(), lr=0.001)
    histories["LSTM"] = train(lstm_model, trainloader, criterion, optimizer, num_epochs=EPOCHS)
    record_run("lab-sheet-9", "LSTM_Model.run", evaluate(lstm_model, testloader))
else:
    print("Not yet: the LSTM trains once every check of LSTM_Model passes.")

# %% [markdown]
# The training loss and accuracy per epoch, side by side (the sheet prints them; here they are drawn too).
# Which model learns faster, and why might the LSTM's gates help on 28 steps?

# %%
if histories:
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.5))
    for name, history in histories.items():
        epochs = range(1, len(history) + 1)
        left.plot(epochs, [loss for loss, _ in history], marker="o", label=name)
        right.plot(epochs, [100 * accuracy for _, accuracy in history], marker="o", label=name)
    left.set(xlabel="epoch", ylabel="training loss", title="Training loss")
    right.set(xlabel="epoch", ylabel="training accuracy (%)", title="Training accuracy")
    left.legend()
    right.legend()
    plt.show()

# %% [markdown]
# ## Your grade
#
# The whole notebook, graded as a teacher would (`rnnlab check notebook.ipynb` gives the same): the four TODOs
# with points, and your two runs against their bars.

# %%
report = rnnlab.check()
