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
# # Lab sheet 9: RNN and LSTM on MNIST in PyTorch
#
# The lab classifies MNIST digits with recurrent networks built from `torch.nn`: each 28 x 28
# picture is read as a sequence of 28 rows, a one-layer `nn.RNN` and a two-layer `nn.LSTM` carry a
# hidden state down the rows, and a linear layer turns the last hidden state into ten class
# scores. Training follows the sheet: the official 60,000 / 10,000 split with pixels normalised
# to $[-1, 1]$, cross-entropy, Adam at $10^{-3}$, batches of 64, 5 epochs. In this notebook
# **rnnlab** supplies the data (`lab.load_data`), we write the sheet's models and its training
# and evaluation loops in plain PyTorch, check the LSTM update rule by hand, and then run the same
# protocol through rnnlab's preset `lab` (`lab.compare(["rnn", "lstm2"], preset="lab")`), with
# curves, confusion matrices and sample predictions, and with `torch.nn` or rnnlab's own
# from-scratch modules as the engine.

# %%
# Opens anywhere (Colab, a fresh Jupyter): installs what this notebook needs if it is missing, else does nothing.
# rnnlab comes from the wheel file $RNNLAB_WHEEL names, if set, else from GitHub; torch is kept as it is.
import importlib.util
import os
import subprocess
import sys

NEEDS = {"rnnlab": os.environ.get("RNNLAB_WHEEL", "git+https://github.com/rnnlab/rnnlab")}
missing = [source for module, source in NEEDS.items() if importlib.util.find_spec(module) is None]
if missing:
    print("installing", *missing)
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", *missing], check=True)
    importlib.invalidate_caches()

# %% tags=["parameters"]
FULL = True

# %% [markdown]
# `FULL = True` runs the sheet's protocol on all of MNIST (several minutes on two cores);
# `FULL = False` runs the same code on 1,000 / 500 images for one epoch with a small hidden layer,
# only to check that everything works. On a machine shared with other busy jobs, PyTorch's default
# of one thread per core can slow it down enormously; `torch.set_num_threads(1)` (or starting
# Jupyter with `OMP_NUM_THREADS=1`) avoids that.

# %%
# %matplotlib inline
import copy
import time

import numpy as np
import torch
from IPython.display import display
from matplotlib.figure import Figure
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from rnnlab import lab, plots
from rnnlab.gradcheck import rel_error
from rnnlab.trainer import EpochRecord, History

SIZES = {} if FULL else {"n_train": 1000, "n_test": 500}     # FULL: the official 60,000 / 10,000
EPOCHS = 5 if FULL else 1
HIDDEN = 128 if FULL else 32
BATCH_SIZE, LEARNING_RATE = 64, 1e-3
if not FULL:
    torch.set_num_threads(1)    # tiny models gain nothing from threads; one thread stays fast on a busy machine
torch.manual_seed(0)
print(f"{'full' if FULL else 'quick'} size: {SIZES or 'all of MNIST'}, {EPOCHS} epoch(s), hidden size {HIDDEN}, "
      f"torch {torch.__version__} on {torch.get_num_threads()} thread(s)")

# %% [markdown]
# ## 1. The MNIST data
#
# The sheet loads MNIST through torchvision with `ToTensor()` (pixels to $[0, 1]$) followed by
# `Normalize((0.5,), (0.5,))`, i.e. $(x - 0.5) / 0.5$, which maps them to $[-1, 1]$ (not to
# $[0, 1]$, as the sheet's comment says). rnnlab's `mnist-rows` task gives the same thing with
# `scaling="symmetric"`: every image already as a sequence of 28 rows of 28 pixels, the official
# split, without torchvision. MNIST comes from rnnlab's cache (`~/.cache/rnnlab`), downloaded into it
# the first time (about 11 MB). We check the scaling against the plain $[0, 1]$ version.

# %%
data = lab.load_data("mnist-rows", seed=0, split="official", scaling="symmetric", **SIZES)
unit = lab.load_data("mnist-rows", seed=0, split="official", scaling="unit", **SIZES)
n_train, n_test = len(data.train), len(data.test)
print("training set:", data.train.x.shape, data.train.x.dtype, "| test set:", data.test.x.shape)
print("pixel range:", float(data.train.x.min()), "to", float(data.train.x.max()))
assert data.train.x.shape[1:] == (28, 28) and data.val is None
assert (n_train, n_test) == ((60000, 10000) if FULL else (1000, 500))
assert data.train.x.min() == -1.0 and data.train.x.max() == 1.0
assert np.allclose(data.train.x, (unit.train.x - 0.5) / 0.5, atol=1e-6)    # Normalize((0.5,), (0.5,))
del unit

# %% [markdown]
# The sheet's `DataLoader`s: the training set shuffled into batches of 64, the test set in order.
# `TensorDataset` wraps rnnlab's arrays (images `(N, 28, 28)` float32, labels int64), so a batch
# is already shaped `(batch, sequence length, input size)` for `batch_first` recurrent layers.

# %%
train_set = TensorDataset(torch.from_numpy(data.train.x), torch.from_numpy(data.train.y))
test_set = TensorDataset(torch.from_numpy(data.test.x), torch.from_numpy(data.test.y))
trainloader = DataLoader(train_set, batch_size=BATCH_SIZE, shuffle=True, generator=torch.Generator().manual_seed(0))
testloader = DataLoader(test_set, batch_size=BATCH_SIZE, shuffle=False)

images, labels = next(iter(trainloader))
print("one batch:", tuple(images.shape), tuple(labels.shape), labels.dtype, "| batches per epoch:", len(trainloader))
assert images.shape == (BATCH_SIZE, 28, 28) and labels.dtype == torch.int64
assert len(trainloader) == -(-n_train // BATCH_SIZE)

img = images[9].numpy()
fig = Figure(figsize=(5, 5))
ax = fig.add_subplot(111)
ax.imshow(img, cmap="gray")
ax.set_title(f"image 9 of the batch: label {labels[9].item()}")
display(fig)

# %% [markdown]
# One picture of the batch, in grey levels from -1 (black) to 1 (white). The next 16 of the same
# batch with their labels:

# %%
display(plots.gallery(images[:16].numpy(), [f"label {k}" for k in labels[:16].tolist()]))

# %% [markdown]
# ## 2. The RNN model
#
# The sheet's RNN reads the 28 rows as 28 time steps: `nn.RNN(28, 128, batch_first=True)`
# computes $h_t = \tanh(W_{ih} x_t + b_{ih} + W_{hh} h_{t-1} + b_{hh})$ for every row, and a
# linear layer maps the output of the **last** step, $h_{28}$, to ten scores (logits; the
# softmax is inside the cross-entropy loss).

# %%
class RNNModel(nn.Module):
    def __init__(self, input_size=28, hidden_size=128, num_classes=10):
        super().__init__()
        self.rnn = nn.RNN(input_size, hidden_size, batch_first=True)
        self.fc = nn.Linear(hidden_size, num_classes)

    def forward(self, x):
        out, _ = self.rnn(x)              # out: (batch, 28, hidden), the hidden state of every step
        return self.fc(out[:, -1, :])     # the last step only


def num_parameters(model):
    return sum(p.numel() for p in model.parameters())


rnn_model = RNNModel(hidden_size=HIDDEN)
logits = rnn_model(images)
print("logits:", tuple(logits.shape), "| parameters at hidden size 128:", f"{num_parameters(RNNModel()):,}")
assert logits.shape == (BATCH_SIZE, 10)
H, D, C = 128, 28, 10
assert num_parameters(RNNModel()) == H * D + H * H + 2 * H + C * H + C == 21514

# %% [markdown]
# A batch of 64 sequences gives 64 rows of ten scores. The 21,514 parameters are the input
# weights (128 x 28), the recurrent weights (128 x 128), torch.nn's two bias vectors and the
# output layer (10 x 128 + 10); the same weights serve all 28 steps.
#
# ## 3. The LSTM
#
# A vanilla RNN multiplies its gradient by $W_{hh}^\top$ and a tanh slope at every step back
# through time, so over long sequences it tends to vanish or explode. The LSTM keeps a second,
# $H$-dimensional **cell state** $c_t$ and updates it through gates. With input $x_t \in
# \mathbb R^D$ and previous states $h_{t-1}, c_{t-1} \in \mathbb R^H$, one step computes the
# activation vector
#
# $$a = W_x x_t + W_h h_{t-1} + b \in \mathbb R^{4H}, \qquad W_x \in \mathbb R^{4H \times D},\;
# W_h \in \mathbb R^{4H \times H},$$
#
# cuts it into four blocks of $H$, and applies
#
# $$ i = \sigma(a_i), \quad f = \sigma(a_f), \quad o = \sigma(a_o), \quad g = \tanh(a_g), \qquad
# c_t = f \odot c_{t-1} + i \odot g, \quad h_t = o \odot \tanh(c_t).$$
#
# The input gate $i$ says how much of the block input $g$ to write, the forget gate $f$ how much
# of the old cell to keep, the output gate $o$ how much of the cell to expose. Because $c_t$
# changes by addition, the gradient along the cell path is multiplied only by $f$, which is why
# LSTMs learn long dependencies more easily. On a batch the sheet works with the transposed
# weights, $A = X_t W_x^\top + H_{t-1} W_h^\top + b$, one row per sequence.
#
# `nn.LSTM` stores exactly these fused matrices as `weight_ih_l{k}` ($4H \times D$) and
# `weight_hh_l{k}` ($4H \times H$), with the blocks in the order **i, f, g, o** and two bias
# vectors. The sheet's model stacks two LSTM layers (the second reads the first one's hidden
# states) and classifies from the top layer's last hidden state `h_n[-1]`.

# %%
class LSTMModel(nn.Module):
    def __init__(self, input_size=28, hidden_size=128, num_layers=2, num_classes=10):
        super().__init__()
        self.lstm = nn.LSTM(input_size, hidden_size, num_layers, batch_first=True)
        self.fc = nn.Linear(hidden_size, num_classes)

    def forward(self, x):
        lstm_out, (h_n, c_n) = self.lstm(x)     # h_n: (num_layers, batch, hidden), the last step of each layer
        return self.fc(h_n[-1])


lstm_model = LSTMModel(hidden_size=HIDDEN)
logits = lstm_model(images)
out, (h_n, c_n) = lstm_model.lstm(images)
print("logits:", tuple(logits.shape), "| h_n:", tuple(h_n.shape), "| parameters at hidden size 128:",
      f"{num_parameters(LSTMModel()):,}")
assert logits.shape == (BATCH_SIZE, 10) and h_n.shape == (2, BATCH_SIZE, HIDDEN)
assert torch.equal(h_n[-1], out[:, -1, :])      # the top layer's last hidden state is its last output
layer_0 = 4 * (H * D + H * H + 2 * H)
layer_1 = 4 * (H * H + H * H + 2 * H)
assert num_parameters(LSTMModel()) == layer_0 + layer_1 + C * H + C == 214282

# %% [markdown]
# `h_n[-1]` is the same tensor as the top layer's output at the last step, so the sheet's two
# ways of reading "the last hidden state" agree. The two-layer LSTM has 214,282 parameters, ten
# times the RNN: four gate blocks per layer, and a second layer whose input is 128 wide.
#
# **Checking the update rule.** The step below is the equation above in NumPy, with the sheet's
# batched, transposed convention. Running it over the 28 rows through both layers, with the
# weights of the `LSTMModel` just built, must reproduce the model's logits (in float64, so that
# only rounding separates them).

# %%
def sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


def lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b):
    """One LSTM step on a batch: x (N, D), prev_h and prev_c (N, H), Wx (D, 4H), Wh (H, 4H), b (4H,)."""
    H = prev_h.shape[1]
    a = x @ Wx + prev_h @ Wh + b
    i, f, g, o = sigmoid(a[:, :H]), sigmoid(a[:, H:2 * H]), np.tanh(a[:, 2 * H:3 * H]), sigmoid(a[:, 3 * H:])
    next_c = f * prev_c + i * g
    next_h = o * np.tanh(next_c)
    return next_h, next_c


def lstm_logits_by_hand(model, x):
    weights = {k: v.detach().double().numpy() for k, v in model.state_dict().items()}
    sequence = x
    for layer in range(model.lstm.num_layers):
        Wx, Wh = weights[f"lstm.weight_ih_l{layer}"].T, weights[f"lstm.weight_hh_l{layer}"].T
        b = weights[f"lstm.bias_ih_l{layer}"] + weights[f"lstm.bias_hh_l{layer}"]
        h = c = np.zeros((x.shape[0], Wh.shape[0]))
        outputs = []
        for t in range(x.shape[1]):
            h, c = lstm_step_forward(sequence[:, t], h, c, Wx, Wh, b)
            outputs.append(h)
        sequence = np.stack(outputs, axis=1)
    return h @ weights["fc.weight"].T + weights["fc.bias"]


x = images[:8].double().numpy()
by_hand = lstm_logits_by_hand(lstm_model, x)
with torch.no_grad():
    by_torch = copy.deepcopy(lstm_model).double()(torch.from_numpy(x)).numpy()
print(f"hand-written LSTM vs nn.LSTM: relative error {rel_error(by_hand, by_torch):.2e}")
assert rel_error(by_hand, by_torch) < 1e-9

# %% [markdown]
# The hand-written step agrees with `nn.LSTM` to rounding error: torch.nn's LSTM is exactly the
# gated update above, with its blocks in the order input, forget, block input, output.
#
# ## 4. Training and evaluation, as in the sheet
#
# The sheet's loops in our own words: `train` runs the epochs, each one a pass over the shuffled
# batches with forward pass, cross-entropy, `zero_grad`, `backward` and an Adam step, and prints
# the mean loss and the accuracy of the epoch; `evaluate` switches to evaluation mode and counts
# the test images read right without tracking gradients. We also evaluate after every epoch and
# keep each step's loss, in an rnnlab `History`, to draw the curves the sheet only prints.

# %%
def evaluate(model, loader):
    """Accuracy, mean cross-entropy and the logits (N, 10) of a whole loader, without gradients."""
    criterion = nn.CrossEntropyLoss(reduction="sum")
    model.eval()
    correct, total, loss_sum, logits = 0, 0, 0.0, []
    with torch.no_grad():
        for inputs, labels in loader:
            outputs = model(inputs)
            loss_sum += criterion(outputs, labels).item()
            correct += (outputs.argmax(1) == labels).sum().item()
            total += labels.size(0)
            logits.append(outputs.numpy())
    return correct / total, loss_sum / total, np.concatenate(logits)


def train(model, name, trainloader, criterion, optimizer, num_epochs=EPOCHS):
    history = History(name, "accuracy")
    for epoch in range(num_epochs):
        model.train()
        started, running_loss, correct, total = time.time(), 0.0, 0, 0
        for inputs, labels in trainloader:
            outputs = model(inputs)
            loss = criterion(outputs, labels)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            running_loss += loss.item()
            history.iteration_loss.append(loss.item())
            correct += (outputs.argmax(1) == labels).sum().item()
            total += labels.size(0)
        seconds = time.time() - started
        test_accuracy, test_loss, _ = evaluate(model, testloader)
        history.epochs.append(EpochRecord(epoch + 1, running_loss / len(trainloader), correct / total, None, None,
                                          test_loss, test_accuracy, seconds, LEARNING_RATE))
        print(f"Epoch [{epoch + 1}/{num_epochs}], Loss: {running_loss / len(trainloader):.4f}, "
              f"Accuracy: {100 * correct / total:.2f}% | test accuracy {100 * test_accuracy:.2f}% | {seconds:.1f} s")
    return history


# %% [markdown]
# ### Training the RNN

# %%
torch.manual_seed(0)
rnn_model = RNNModel(hidden_size=HIDDEN)
criterion = nn.CrossEntropyLoss()
optimizer = torch.optim.Adam(rnn_model.parameters(), lr=LEARNING_RATE)
rnn_history = train(rnn_model, "RNN (our loop)", trainloader, criterion, optimizer)
rnn_accuracy, rnn_loss, rnn_logits = evaluate(rnn_model, testloader)
print(f"Test Accuracy: {100 * rnn_accuracy:.2f}%")
assert len(rnn_history.iteration_loss) == EPOCHS * len(trainloader) and np.isfinite(rnn_history.iteration_loss).all()

# %% [markdown]
# The loss falls and the accuracy rises epoch by epoch; the vanilla RNN, helped by Adam and by
# sequences of only 28 steps, already reads most digits correctly.
#
# ### Training the LSTM

# %%
torch.manual_seed(0)
lstm_model = LSTMModel(hidden_size=HIDDEN)
optimizer = torch.optim.Adam(lstm_model.parameters(), lr=LEARNING_RATE)
lstm_history = train(lstm_model, "LSTM, 2 layers (our loop)", trainloader, criterion, optimizer)
lstm_accuracy, lstm_loss, lstm_logits = evaluate(lstm_model, testloader)
print(f"Test Accuracy: {100 * lstm_accuracy:.2f}%")
assert len(lstm_history.iteration_loss) == EPOCHS * len(trainloader) and np.isfinite(lstm_history.iteration_loss).all()

# %%
ours = {"RNN": (rnn_model, rnn_history, rnn_accuracy), "LSTM (2 layers)": (lstm_model, lstm_history, lstm_accuracy)}
print(f"{'model':16s} {'parameters':>10s} {'test accuracy':>14s} {'seconds':>8s}")
for name, (model, history, accuracy) in ours.items():
    print(f"{name:16s} {num_parameters(model):10,d} {100 * accuracy:13.2f}% {history.seconds:8.1f}")
if FULL:     # the sheet states no pass marks; these are what its protocol reaches on MNIST
    assert rnn_accuracy > 0.90 and lstm_accuracy > 0.97, (rnn_accuracy, lstm_accuracy)

# %% [markdown]
# On the full data the two-layer LSTM ends clearly above the RNN (about a third of its errors), at
# about four times the training time. The curves of both runs (training numbers as measured during each epoch, test numbers at
# its end), and the loss of every Adam step:

# %%
display(plots.curves({name: history for name, (_, history, _) in ours.items()}, title="Lab sheet 9, our loops"))

# %%
display(plots.iteration_loss({name: history for name, (_, history, _) in ours.items()}, smooth=50 if FULL else 5))

# %% [markdown]
# The LSTM's loss collapses within the first few hundred steps and stays far lower; the RNN's falls
# slowly and levels off higher, the mark of the harder optimisation problem a plain recurrence
# poses even over 28 steps.
#
# ## 5. The same protocol through rnnlab
#
# The preset `lab` holds the sheet's protocol: `torch.nn` modules (engine `torch`), hidden size
# 128, Adam at $10^{-3}$ with a constant rate, batches of 64, 5 epochs, no gradient clipping,
# cross-entropy (the task's own loss), the official split with pixels in $[-1, 1]$. `rnn` and
# `lstm2` name the two models (`lstm2`: two LSTM layers). `lab.compare` trains both on the data
# loaded above and prints one line per epoch.

# %%
results = lab.compare(["rnn", "lstm2"], data=data, preset="lab", epochs=EPOCHS, hidden_size=HIDDEN)
config = results["lstm2"].config
print("\nprotocol:", config.optim, "| engine:", config.run.engine, "| layers:", config.model.recurrent.num_layers)
assert config.run.engine == "torch" and config.optim.optimizer == "adam" and config.optim.lr == LEARNING_RATE
assert config.optim.batch_size == BATCH_SIZE and config.optim.schedule == "constant" and config.optim.clip_norm is None
assert config.data.options == {"split": "official", "scaling": "symmetric"} and results["lstm2"].loss == "cross_entropy"

# %%
print(f"{'model':16s} {'parameters':>10s} {'our loop':>9s} {'rnnlab':>8s} {'seconds (ours / rnnlab)':>24s}")
for (name, (model, history, accuracy)), r in zip(ours.items(), results.values()):
    print(f"{name:16s} {r.parameters:10,d} {100 * accuracy:8.2f}% {100 * r.test_metric:7.2f}% "
          f"{history.seconds:11.1f} / {r.history.seconds:.1f}")
    assert r.parameters == num_parameters(model)
    assert len(r.history.epochs) == EPOCHS and len(r.history.iteration_loss) == EPOCHS * len(trainloader)
if FULL:
    assert results["rnn"].test_metric > 0.90 and results["lstm2"].test_metric > 0.97

# %% [markdown]
# rnnlab builds the same two models (the parameter counts are equal) and trains them with the same
# protocol, so the accuracies land close to our loops'; they differ a little because the initial
# weights and the batch order come from different random draws. The same figures as before, from
# rnnlab's results:

# %%
display(plots.curves(results, title="Preset lab (rnnlab.lab): RNN vs two-layer LSTM"))

# %%
display(plots.iteration_loss(results, smooth=50 if FULL else 5))

# %% [markdown]
# Which digits are confused with which? `Result.confusion()` counts the test predictions per true
# and predicted digit and reads the matrix: accuracy per digit, the best and worst digit, the three
# most common confusions.

# %%
for name, r in results.items():
    reading = r.confusion()
    counts = reading["matrix"]
    assert counts.sum() == n_test and np.isclose(np.trace(counts) / n_test, r.test_metric)
    per_class = reading["per_class"]
    print(f"{name}: best digit {reading['best']} ({100 * per_class[reading['best']]:.2f}%), "
          f"worst digit {reading['worst']} ({100 * per_class[reading['worst']]:.2f}%); top confusions: "
          + ", ".join(f"{t} as {p} ({k}x)" for t, p, k in reading["confusions"]))
display(plots.confusion(results))

# %% [markdown]
# Most of the mass is on the diagonal; the LSTM's off-diagonal cells are fewer and smaller than the
# RNN's. The LSTM's answers on the first test digits, then the first ones it got wrong:

# %%
display(plots.predictions(results["lstm2"], 16))

# %%
wrong = np.flatnonzero(results["lstm2"].predicted_classes() != data.test.y)
print(f"the two-layer LSTM misreads {len(wrong)} of {n_test} test digits")
if len(wrong):
    display(plots.mistakes(results["lstm2"], 16))

# %% [markdown]
# ## 6. rnnlab's models are the sheet's models
#
# rnnlab's weights carry torch.nn's names (`weight_ih_l0`, ..., and `head.*` for the output
# layer), so a trained rnnlab model loads straight into our `RNNModel` / `LSTMModel`. Evaluated
# with the sheet's `evaluate`, it must score exactly what rnnlab reported.

# %%
def with_rnnlab_weights(model, result):
    """A copy of our model holding a trained rnnlab model's weights (head.* is our fc layer)."""
    recurrent = "rnn" if isinstance(model, RNNModel) else "lstm"
    state = {(f"fc.{k[len('head.'):]}" if k.startswith("head.") else f"{recurrent}.{k}"): torch.from_numpy(v.copy())
             for k, v in result.model.weights().items()}
    twin = copy.deepcopy(model)
    twin.load_state_dict(state)     # strict: every name and shape must match
    return twin


for (model, _, _), r in zip(ours.values(), results.values()):
    accuracy, _, logits = evaluate(with_rnnlab_weights(model, r), testloader)
    gap = float(np.abs(logits - r.test_outputs).max())
    print(f"{r.name}: our model with rnnlab's weights scores {100 * accuracy:.2f}% "
          f"(rnnlab: {100 * r.test_metric:.2f}%), largest logit difference {gap:.1e}")
    assert gap < 1e-4 and abs(accuracy - r.test_metric) <= 1 / n_test

# %% [markdown]
# Same weights, same logits: the preset trains exactly the sheet's architecture.
#
# **Engines.** rnnlab can train the same model on `torch.nn` (engine `torch`, the default of the
# preset) or on its own recurrent layers written from scratch in PyTorch (`engine="scratch"`,
# `rnnlab.torch`), and can move weights between engines. A short run of the two-layer LSTM on the
# scratch engine, then the weights trained above loaded into it:

# %%
# one epoch on all of MNIST takes a while on the scratch engine: at full size, train on the first 5,000 images
engine_data = lab.load_data("mnist-rows", seed=0, split="official", scaling="symmetric", n_train=5000,
                            n_test=1000) if FULL else data
scratch = lab.train("lstm2", data=engine_data, preset="lab", engine="scratch", hidden_size=HIDDEN, epochs=1)
print(f"scratch engine: {scratch.parameters:,} parameters (torch.nn: {results['lstm2'].parameters:,}; "
      "rnnlab.torch keeps one bias vector per gate block instead of two)")
scratch.model.load_weights(results["lstm2"].model.weights())
gap = float(np.abs(scratch.predict(data.test.x) - results["lstm2"].test_outputs).max())
print(f"torch.nn weights on the scratch engine: largest logit difference {gap:.1e}")
assert gap < 1e-4 and scratch.config.run.engine == "scratch"

# %% [markdown]
# The from-scratch layers compute the same function as `torch.nn` once they hold the same weights
# (the two bias vectors are added into one), so the choice of engine changes speed and
# transparency, not the model.
#
# ## 7. Summary
#
# The test accuracies of the sheet's two models, trained by our loops and by the preset:

# %%
print(f"{'model':16s} {'our loop':>9s} {'rnnlab':>8s}")
for (name, (_, _, accuracy)), r in zip(ours.items(), results.values()):
    print(f"{name:16s} {100 * accuracy:8.2f}% {100 * r.test_metric:7.2f}%")

# %% [markdown]
# Read row by row, MNIST is a short-sequence problem (28 steps), so even the vanilla RNN trained
# with Adam reads most digits; the two-layer LSTM, with gated memory and ten times the parameters,
# makes about a third as many mistakes. Writing the models and loops by hand and running the
# preset give the same models and the same kind of results; the preset adds the curves, confusion
# matrices and engine choice for free. To experiment, change `HIDDEN` or `EPOCHS` above, or pass
# settings to `lab.compare` (for instance `lab.compare(["rnn", "gru", "lstm2"], data=data,
# preset="lab", lr=3e-3)`).
