# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # RNN Warmup
#
# A tour of the three recurrent layers, the plain RNN, the GRU and the LSTM. First their
# hyperparameters: input and hidden size, number of layers, bidirectional, projection,
# batch-first, dropout, nonlinearity and bias. Then what these settings do to the weights (names,
# shapes, counts) and to the shapes of a call. Last, three memory tasks, copy memory, sequential
# XOR and the adding problem, that show how long each cell can carry information.
#
# rnnlab does the work. `rnnlab.inspect.describe` lists a layer's parameters with what each slice
# of rows means, the closed-form count, and the shapes of a real call. The description is the same
# on all three engines: torch.nn, rnnlab's own PyTorch cells ("scratch") and NumPy with
# hand-written backpropagation through time. `rnnlab.lab` trains the memory tasks with the
# warmup's protocol, and with the recipes of rnnlab's results suite (`rnnlab bench`, entry
# `memory`).

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
# `FULL = True` trains the memory tasks at the warmup's sizes: copy memory over 50 steps,
# sequential XOR over 20, the adding problem over 50, 100 and 200 steps, with the warmup's
# protocol (100, 100 and 50 epochs of fresh batches; 64 hidden units, 32 for XOR) and with
# rnnlab's recipe (10 epochs of 10,000 sequences). This takes 20 to 30 minutes on two CPU cores.
# `FULL = False` is a quick check with short sequences, 16 units and a few batches. The parameter counts and shapes are
# checked at both sizes, since they do not depend on any training. The memory-task results are
# checked only at the full size. The quick size uses one torch thread. On a machine whose cores
# are busy with other work, start Jupyter with `OMP_NUM_THREADS=1` for the full size as well: the
# nets are small, and two threads that have to wait for each other can make training several
# times slower.

# %%
# %matplotlib inline
import time

import numpy as np
import torch
from IPython.display import Markdown, display
from matplotlib.figure import Figure

from rnnlab import lab, plots
from rnnlab.bench import SUITE_BY_NAME, Case, settings_for
from rnnlab.engines import RecurrentSpec, build_recurrent
from rnnlab.inspect import describe
from rnnlab.tasks import get_task

if not FULL:
    torch.set_num_threads(1)     # tiny batches gain nothing from a second thread, and lose a lot on a busy machine
start = time.time()

# %% [markdown]
# ## The three cells in brief
#
# With input size I and hidden size H (per layer and per direction):
#
# - **RNN**: `h_t = tanh(W_ih x_t + b_ih + W_hh h_(t-1) + b_hh)`, or ReLU in place of tanh. It
#   has `I·H + H·H + 2·H` parameters. It is small and fast, but the gradient through many steps is
#   a product of many Jacobians, so it vanishes or explodes, and long dependencies are hard to learn.
# - **GRU**: a reset gate r, an update gate z and a candidate state n. The new state is
#   `h_t = (1 - z) * n + z * h_(t-1)`, so with z near 1 the state is copied forward almost
#   unchanged. It has three blocks of RNN weights, `3·(I·H + H·H + 2·H)`.
# - **LSTM**: input, forget and output gates and a cell candidate g. It keeps a separate cell
#   state, `c_t = f * c_(t-1) + i * g`, which is updated by addition, so information and gradient
#   can cross many steps while f stays near 1. It has four blocks, `4·(I·H + H·H + 2·H)`.
#
# The warmup gives the GRU and LSTM counts as `3·(I·H + H·H + H)` and `4·(I·H + H·H + H)`, with
# one bias per gate. torch.nn, and every rnnlab engine in the torch.nn layout, keeps two bias
# vectors, `b_ih` and `b_hh`. The warmup's own printed totals (4,440 and 5,920 below) are the
# two-bias counts, and the first cells check this.

# %% [markdown]
# ## 1. RNN, GRU and LSTM modules
#
# `RecurrentSpec` describes a recurrent layer once, and `build_recurrent` builds it on an engine.
# On the torch engine the result is the torch.nn module itself. The warmup's common settings are
# input 10, hidden 20, 2 layers and batch-first.

# %%
input_size, hidden_size, num_layers, batch_size, seq_length = 10, 20, 2, 5, 8
specs = {cell: RecurrentSpec(cell, input_size, hidden_size, num_layers=num_layers, batch_first=True)
         for cell in ("rnn", "gru", "lstm")}
modules = {cell: build_recurrent(spec, "torch", seed=42) for cell, spec in specs.items()}
for cell, module in modules.items():
    print(f"{cell.upper()} Structure:")
    print(module)
    print()
assert [repr(m) for m in modules.values()] == ["RNN(10, 20, num_layers=2, batch_first=True)",
                                               "GRU(10, 20, num_layers=2, batch_first=True)",
                                               "LSTM(10, 20, num_layers=2, batch_first=True)"]

# %% [markdown]
# These are the structures the warmup prints. The printout gives only the settings, not the
# weights. The weights are next.
#
# ## 2. Hyperparameters and weights
#
# `describe(spec, engine)` lists every parameter in torch.nn's order with its shape and count.
# The listing below is in the warmup's format, and each one is checked against the warmup's
# printed shapes and totals.

# %%
def listing(title, spec, engine="torch"):
    """The parameters of `spec` as the warmup prints them; returns the description."""
    d = describe(spec, engine)
    print(f"\n{title} Parameters:")
    for row in d.params:
        print(f"  {row.name}: {list(row.shape)}")
    print(f"  Total parameters: {d.total}")
    return d


def layer_shapes(rows, layers=2, suffix=""):
    """torch.nn's parameter names of `rows` gate rows per layer, as the warmup lists them."""
    shapes = {}
    for k in range(layers):
        shapes.update({f"weight_ih_l{k}{suffix}": (rows, 10 if k == 0 else 20), f"weight_hh_l{k}{suffix}": (rows, 20),
                       f"bias_ih_l{k}{suffix}": (rows,), f"bias_hh_l{k}{suffix}": (rows,)})
    return shapes


# the warmup's printed output: 20 rows per gate block, 1 block (RNN), 3 (GRU), 4 (LSTM)
WARMUP = {"rnn": (layer_shapes(20), 1480), "gru": (layer_shapes(60), 4440), "lstm": (layer_shapes(80), 5920)}
described = {}
for cell, spec in specs.items():
    described[cell] = d = listing(cell.upper(), spec)
    shapes, total = WARMUP[cell]
    assert {r.name: r.shape for r in d.params} == shapes and d.total == total

# %% [markdown]
# Each weight matrix stacks its gates' blocks along the rows. The GRU's 60 rows are the reset,
# update and new-state blocks, and the LSTM's 80 rows are the input gate, forget gate, cell
# candidate and output gate. `describe` says which rows are which. Here is the LSTM's full table,
# with the closed-form count it checks the total against:

# %%
print(described["lstm"].table())

# %% [markdown]
# The closed form is the two-bias count. The warmup's one-bias formulas fall short by one bias
# vector per gate per layer. For the GRU that is 2 layers × 3 gates × 20 = 120 parameters:

# %%
def warmup_formula(gates, I, H):
    """The warmup's per-layer formula for gated cells: G x (I·H + H·H + H)."""
    return gates * (I * H + H * H + H)


for cell, gates in (("gru", 3), ("lstm", 4)):
    formula = warmup_formula(gates, 10, 20) + warmup_formula(gates, 20, 20)
    counted = described[cell].total
    print(f"{cell.upper()}: the warmup's formula gives {formula}, torch.nn has {counted} "
          f"(difference {counted - formula} = 2 layers x {gates} gates x 20 biases)")
    assert counted - formula == 2 * gates * 20
assert described["rnn"].total == (10 * 20 + 20 * 20 + 2 * 20) + (20 * 20 + 20 * 20 + 2 * 20)

# %% [markdown]
# The same layer on rnnlab's other two engines has the same parameters in the same layout. That
# layout is the exchange format of the engines: a NumPy model can load a torch.nn state dict and
# the reverse. One nuance: rnnlab.torch's RNN and LSTM train a single merged bias
# `b = b_ih + b_hh`, and `describe` adds a note to say so.

# %%
for cell, spec in specs.items():
    for engine in ("scratch", "numpy"):
        other = describe(spec, engine)
        assert [(r.name, r.shape) for r in other.params] == [(r.name, r.shape) for r in described[cell].params]
        print(f"{cell.upper()} on {engine!r}: {other.total} parameters in the torch.nn layout"
              + (f"; note: {other.notes[0]}" if other.notes else ""))

# %% [markdown]
# ### Key hyperparameters
#
# - `input_size`: the number of features in each input step.
# - `hidden_size`: the number of features in the hidden state h.
# - `num_layers`: stacked layers. Layer k > 0 reads the outputs of layer k - 1.
# - `bias`: without it, no `b_ih` and `b_hh`.
# - `batch_first`: input and output are (batch, seq, feature) instead of (seq, batch, feature).
# - `dropout`: dropout on the outputs of every layer but the last, in training only.
# - `bidirectional`: a second set of weights reads the sequence backwards.
# - `nonlinearity` (RNN only): tanh or ReLU.
# - `proj_size` (LSTM only): h is projected down to `proj_size` features.
#
# The warmup's five examples, and `bias=False` for the hyperparameter it names but does not show.
# Its printed output stops in the middle of the dropout RNN, so the totals of the dropout RNN and
# the projected LSTM come from the closed form: 640 + 2 × 840 = 2,320, and
# 4 × (10·20 + 10·20 + 2·20) + 10·20 = 1,960.

# %%
variants = {
    "Basic RNN": (RecurrentSpec("rnn", 10, 20, num_layers=1), 640),
    "Bidirectional RNN": (RecurrentSpec("rnn", 10, 20, num_layers=1, bidirectional=True), 1280),
    "ReLU RNN": (RecurrentSpec("rnn", 10, 20, num_layers=1, nonlinearity="relu"), 640),
    "Dropout RNN": (RecurrentSpec("rnn", 10, 20, num_layers=3, dropout=0.5), 2320),
    "Projection LSTM": (RecurrentSpec("lstm", 10, 20, num_layers=1, proj_size=10), 1960),
    "RNN without bias": (RecurrentSpec("rnn", 10, 20, num_layers=1, bias=False), 600),
}
hyper = {}
for k, (title, (spec, total)) in enumerate(variants.items(), 1):
    print(f"\n{k}. {title}:", end="")
    hyper[title] = d = listing(title, spec)
    assert d.total == total, (title, d.total)
assert {r.name: r.shape for r in hyper["Bidirectional RNN"].params} == {**layer_shapes(20, 1),
                                                                       **layer_shapes(20, 1, "_reverse")}
assert {r.name: r.shape for r in hyper["Projection LSTM"].params} == {
    "weight_ih_l0": (80, 10), "weight_hh_l0": (80, 10), "bias_ih_l0": (80,), "bias_hh_l0": (80,), "weight_hr_l0": (10, 20)}

# %%
rows = ["| layer | parameters | closed form |", "|---|---:|---|"]
rows += [f"| {title} | {d.total:,} | {d.closed_form} |" for title, d in {**{c.upper() + ", 2 layers": d for c, d in
                                                                         described.items()}, **hyper}.items()]
display(Markdown("\n".join(rows)))

# %% [markdown]
# What each setting does to the weights:
#
# - **Bidirectional** doubles everything. The backward direction has its own `*_reverse`
#   weights, and a second layer would read 2·H = 40 features.
# - **ReLU** and **dropout** add no parameters. ReLU changes only the function, and dropout is
#   applied between layers, so it needs at least two layers to do anything (the three-layer
#   RNN has 640 + 840 + 840).
# - **Projection** makes `W_hh` read the projected h (10 columns instead of 20) and adds
#   `W_hr` (10 × 20). Here the LSTM gets smaller: 1,960 against 2,560 without it.
# - **Without bias** removes the 2·H = 40 biases.
#
# ## 3. Input/output dimensionality
#
# `describe(spec, engine, batch, seq_len)` calls the layer on zeros and reports the shapes of its
# input, initial states, output and final states. The states are always (layers × directions,
# batch, features), whatever `batch_first` says.

# %%
def show_call(title, spec, batch=batch_size, seq_len=seq_length, lengths=None, engine="torch"):
    d = describe(spec, engine, batch=batch, seq_len=seq_len, lengths=lengths)
    print(f"{title}:")
    for name, shape in d.shapes.items():
        print(f"  {name} shape: {shape}")
    if d.output_lengths is not None:
        print(f"  output lengths: {d.output_lengths}")
    return d


def check(d, **expected):
    got = {name: d.shapes[name] for name in expected}
    assert got == expected, (got, expected)

# %% [markdown]
# ### Example 1: standard batch with sequence (batch_first=True)

# %%
for cell in ("rnn", "gru", "lstm"):
    d = show_call(cell.upper(), specs[cell])
    check(d, input=(5, 8, 10), h0=(2, 5, 20), output=(5, 8, 20), h_n=(2, 5, 20))
    if cell == "lstm":
        check(d, c0=(2, 5, 20), c_n=(2, 5, 20))

# %% [markdown]
# The output has one H-wide vector per step of the top layer. `h_n` has the last state of every
# layer. The LSTM's cell state has the same shape as h.
#
# ### Example 2: sequence-first format (batch_first=False)

# %%
for cell in ("rnn", "gru", "lstm"):
    d = show_call(cell.upper(), RecurrentSpec(cell, 10, 20, num_layers=2, batch_first=False))
    check(d, input=(8, 5, 10), h0=(2, 5, 20), output=(8, 5, 20), h_n=(2, 5, 20))
print("\n".join(d.notes))

# %% [markdown]
# Only the input and output swap their first two axes. The states keep their layout.
#
# ### Example 3: bidirectional

# %%
for cell in ("rnn", "gru", "lstm"):
    d = show_call(f"Bidirectional {cell.upper()}",
                  RecurrentSpec(cell, 10, 20, num_layers=2, bidirectional=True))
    check(d, input=(5, 8, 10), h0=(4, 5, 20), output=(5, 8, 40), h_n=(4, 5, 20))
print("\n".join(d.notes))

# %% [markdown]
# Each layer has two directions, so there are 2 × 2 = 4 states, and each output step joins the
# forward and backward features (40). As the note says, the backward direction's final state is
# its state after reading back to the first step. A classifier on a bidirectional net should read
# `h_n`, not the last output step, where the backward direction has seen a single input.
#
# ### Example 4: variable sequence lengths (packed sequences)
#
# Three sequences of lengths 10, 7 and 5, padded to 10, go through the RNN as a packed sequence:

# %%
d = show_call("RNN, packed", RecurrentSpec("rnn", 10, 20, num_layers=2), batch=3, seq_len=10, lengths=[10, 7, 5])
check(d, input=(3, 10, 10), h0=(2, 3, 20), output=(3, 10, 20), h_n=(2, 3, 20))
assert d.output_lengths == [10, 7, 5]
print("\n".join(d.notes))
d = show_call("The same on the NumPy engine", RecurrentSpec("rnn", 10, 20, num_layers=2), batch=3, seq_len=10,
              lengths=[10, 7, 5], engine="numpy")
check(d, output=(3, 10, 20), h_n=(2, 3, 20))

# %% [markdown]
# The output comes back padded to the longest length, with the lengths beside it. `h_n` holds each
# sequence's state at its own last step, which is what packing is for: the padding steps never
# touch the state. rnnlab's NumPy engine takes the lengths directly and gives the same shapes.
#
# ### Example 5: LSTM with a projection layer

# %%
d = show_call("LSTM with projection", RecurrentSpec("lstm", 10, 20, num_layers=2, proj_size=15))
check(d, input=(5, 8, 10), h0=(2, 5, 15), c0=(2, 5, 20), output=(5, 8, 15), h_n=(2, 5, 15), c_n=(2, 5, 20))
print("\n".join(d.notes))

# %% [markdown]
# With `proj_size = 15`, h and the output have 15 features and the cell state keeps 20. These are
# the warmup's shapes: `h0` (2, 5, 15), `c0` (2, 5, 20), output (5, 8, 15). The NumPy engine has
# no projection and refuses the setting with a one-line error instead of building something else:

# %%
try:
    describe(RecurrentSpec("lstm", 10, 20, proj_size=15), "numpy")
except ValueError as err:
    print("ValueError:", err)
else:
    raise AssertionError("the NumPy engine should refuse proj_size")

# %% [markdown]
# ## 4. Learning on sequences
#
# Three tasks test how far back each cell can remember. rnnlab has each as a task:
#
# - **Copy memory** (`copy-seed`): step 0 holds 10 random values in [0, 1), the other steps hold
#   small noise, and the model must output the 10 values after the last step. Always predicting
#   0.5 gives a mean squared error of 1/12 ≈ 0.0833, the chance level.
# - **Sequential XOR** (`xor`): random bits, and at each step the target is the XOR of the
#   current bit and the previous one (step 0 is not scored). Chance: 50 % of the bits.
# - **Adding problem** (`adding`): each step has a random value and a marker. Two steps are
#   marked, one in the first half and one in the second, and the target is the sum of their two
#   values. Always predicting 1 gives MSE 1/6 ≈ 0.167, the warmup's "Baseline".
#
# Two protocols:
#
# - **the warmup's**: every epoch draws fresh batches of 64 sequences (10 batches per epoch for
#   copy memory and adding, 5 for XOR), Adam at a constant 1e-3, no gradient clipping; 100 epochs
#   for copy memory and XOR, 50 for adding; 64 hidden units (XOR: 32); the loss printed every 10
#   epochs. rnnlab trains it as one pass over epochs × batches × 64 sequences drawn from the task's
#   generator, so that every batch is new, as the warmup's are, and the printed loss of an epoch
#   is the mean of its batches' losses. `clip_norm=None` means no clipping by norm.
# - **rnnlab's recipe** (results suite entry `memory`): 10 epochs over a fixed set of 10,000
#   sequences in batches of 64, Adam on a one-cycle schedule peaking at 1e-2 and gradient-norm
#   clipping at 1. The LSTM uses chrono initialisation with T_max equal to the sequence length:
#   its forget-gate biases are set so the cell's memory time scales cover 1..T, and its input-gate
#   biases are the negatives of those. The RNN is an IRNN (Le et al., 2015): ReLU, `W_hh` starting
#   as the identity, constant Adam at 3e-4 on batches of 16.
#
# Both protocols test on the same fixed set of 1,000 new sequences (the warmup tests on one new
# batch of 16 or 32).

# %%
MEMORY = SUITE_BY_NAME["memory"]
# the warmup's protocol per task: (epochs, batches of 64 per epoch, hidden size)
WARMUP_PROTOCOL = {"copy-seed": (100, 10, 64), "xor": (100, 5, 32), "adding": (50, 10, 64)} if FULL else \
    {"copy-seed": (4, 2, 16), "xor": (4, 2, 16), "adding": (2, 2, 16)}
PRINT_EVERY = 10 if FULL else 1
TEST_SIZES = {"n_val": 1000, "n_test": 1000} if FULL else {"n_val": 64, "n_test": 64}
print("rnnlab's recipe:", MEMORY.recipe)
print("per-model settings of the recipe:", MEMORY.model_settings)

if FULL:
    CASES = {case.label: case for case in MEMORY.cases}       # copy 50, xor 20, adding 50 / 100 / 200
else:
    CASES = {label: Case(label, task, {"length": length}) for label, task, length in
             (("copy-seed 10", "copy-seed", 10), ("xor 8", "xor", 8), ("adding 10", "adding", 10),
              ("adding 15", "adding", 15), ("adding 20", "adding", 20))}
QUICK = {} if FULL else {"hidden_size": 16, "epochs": 1}
QUICK_DATA = {} if FULL else {"n_train": 256, **TEST_SIZES}
MODELS = ("rnn", "gru", "lstm")
VARIANTS = {"warmup": "the warmup's protocol", "rnnlab": "rnnlab's recipe"}
results = {}     # (variant, case label, model) -> Result
epoch_losses = {}     # (case label, model) -> the warmup's loss per epoch


def warmup_run(label):
    """RNN, GRU and LSTM on one case with the warmup's protocol; prints the warmup's lines."""
    case = CASES[label]
    epochs, batches, hidden = WARMUP_PROTOCOL[case.task]
    options = {**case.options, "n_train": epochs * batches * 64, **TEST_SIZES}
    data = lab.load_data(case.task, seed=0, **options)          # every training batch is new: one pass
    out = {}
    for model in MODELS:
        print(f"\nTraining {model.upper()}:")
        r = lab.train(model, data=data, task=case.task, task_options=options, engine="torch", hidden_size=hidden,
                      optimizer="adam", lr=1e-3, schedule="constant", batch_size=64, epochs=1, clip_norm=None,
                      seed=0, echo=False)
        losses = np.array(r.history.iteration_loss).reshape(epochs, batches).mean(axis=1)
        accuracy = 100 * np.array(r.history.iteration_metric).reshape(epochs, batches).mean(axis=1)
        for e in range(PRINT_EVERY - 1, epochs, PRINT_EVERY):
            line = f"Epoch {e + 1}/{epochs}, Loss: {losses[e]:.4f}"
            if case.task == "xor":      # the warmup prints the epoch's training accuracy for XOR
                line += f", Accuracy: {accuracy[e]:.2f}%"
            print(line + (f", Baseline: {0.167:.4f}" if case.task == "adding" else ""))
        results[("warmup", label, model)] = out[model.upper()] = r
        epoch_losses[(label, model)] = losses
        assert r.config.optim.clip_norm is None and len(r.history.iteration_loss) == epochs * batches
    return out


def final_lines(label, out):
    """The warmup's summary: the last epoch's loss of each model, then the test set's loss or accuracy."""
    print("\nFinal losses:")
    for model in MODELS:
        print(f"{model.upper()}: {epoch_losses[(label, model)][-1]:.6f}")
    metric = next(iter(out.values())).task.metric
    print("\nTest accuracies:" if metric == "bit_accuracy" else "\nTest losses:")
    for name, r in out.items():
        print(f"{name}: {100 * r.test_metric:.2f}%" if metric == "bit_accuracy" else f"{name}: {r.test_metric:.6f}")


def recipe_run(label):
    """RNN, GRU and LSTM on one case with rnnlab's recipe; one line per model."""
    case = CASES[label]
    data = lab.load_data(case.task, seed=0, **case.options, **QUICK_DATA)
    out = {}
    for model in MODELS:
        flat = {k: v for k, v in settings_for(MEMORY, "rnnlab", case, model, seed=0).flat().items() if v is not None}
        flat["task_options"] = {**flat["task_options"], **QUICK_DATA}
        r = lab.train(model, data=data, echo=False, **{**flat, **QUICK})
        results[("rnnlab", label, model)] = out[model.upper()] = r
        losses = " ".join(f"{e.train_loss:.4g}" for e in r.history.epochs)
        print(f"{model.upper():>4}: training loss per epoch {losses} | test {r.task.metric} {r.test_metric:.4f} | "
              f"{r.history.seconds:.1f} s")
    return out


def warmup_curves(label, out, title):
    """The warmup's printed losses as a figure: the loss of every epoch, one line per model."""
    fig = Figure(figsize=(7, 4))
    ax = fig.subplots()
    for model, r in out.items():
        losses = epoch_losses[(label, model.lower())]
        ax.plot(np.arange(1, len(losses) + 1), losses, label=model)
    ax.set(xlabel="epoch (batches of 64 new sequences)", ylabel=f"training loss ({out['RNN'].loss})", title=title)
    ax.legend()
    fig.tight_layout()
    return fig

# %% [markdown]
# ### Task 1: copy memory

# %%
copy_label = next(label for label in CASES if label.startswith("copy"))
task = get_task("copy-seed")
print(f"{copy_label}: {task.summary}; chance: {task.baseline_note}")
print("Training on copy memory task, the warmup's protocol:")
copy_nb = warmup_run(copy_label)
final_lines(copy_label, copy_nb)

# %%
print("rnnlab's recipe:")
copy_rl = recipe_run(copy_label)

# %%
display(warmup_curves(copy_label, copy_nb, "Copy memory, the warmup's protocol"))

# %%
display(plots.iteration_loss({f"{k} (warmup)": r for k, r in copy_nb.items()}
                             | {f"{k} (recipe)": r for k, r in copy_rl.items()}, smooth=20))

# %%
display(plots.samples({f"{k}, warmup": r for k, r in copy_nb.items()} | {"LSTM, recipe": copy_rl["LSTM"]}))

# %% [markdown]
# With the warmup's protocol the RNN and the LSTM stay at the chance level of 0.083: their output
# is 0.5 whatever the first step held (the flat row in the scatter of output against target), and
# their training loss never leaves the plateau. The warmup printed 0.0836 (RNN) and 0.0830 (LSTM).
# The GRU is the one that can escape (the warmup: 0.0374 after 100 epochs): its update gate can
# start copying the state forward unchanged, and once it does, the gradient from step 50 reaches
# step 0.
#
# This contradicts the warmup's summary ("LSTM generally performed best"), and the LSTM's failure
# is a matter of initialisation, not capacity. A default LSTM starts with forget gates at about
# 0.5, so after 49 steps of noise the memory of step 0 has shrunk by about 0.5^49. With chrono
# initialisation (recipe) its forget gates start near 1 for long time scales, and it solves the
# task. So do the GRU and the IRNN under the recipe.
#
# ### Task 2: sequential XOR

# %%
xor_label = next(label for label in CASES if label.startswith("xor"))
print(f"{xor_label}: {get_task('xor').summary}; chance: {get_task('xor').baseline_note}")
print("Training models on sequential XOR task, the warmup's protocol:")
xor_nb = warmup_run(xor_label)
final_lines(xor_label, xor_nb)

# %%
print("rnnlab's recipe:")
xor_rl = recipe_run(xor_label)

# %%
display(warmup_curves(xor_label, xor_nb, "Sequential XOR, the warmup's protocol"))


# %%
def probabilities(r):
    """(targets, P(bit = 1)) of the test set: the model's outputs are logits."""
    return r.data.test.y, 1.0 / (1.0 + np.exp(-r.test_outputs))


display(plots.samples({f"{k}, warmup": probabilities(r) for k, r in xor_nb.items()}, count=2))

# %% [markdown]
# The warmup prints each epoch's training accuracy beside its loss; rnnlab records the loss of
# every batch but scores accuracy on the validation and test sets, so the lines above give the
# loss, and the test accuracy follows the final losses. The task needs only one step of memory,
# the previous bit, so vanishing gradients over long spans do not come into it; the gated cells
# get there in fewer updates, as the warmup said (compare the loss curves). The second figure
# gives the target bits with the model's probability of a 1 (dashed) for two test sequences.
#
# (The probabilities are drawn instead of the raw outputs: `plots.samples` draws what the model
# outputs, which for a binary task is a logit. The warmup's model ends in a sigmoid and trains on
# `nn.BCELoss`; rnnlab's trains on the binary cross-entropy of the logits, the same loss.)
#
# ### Task 3: the adding problem at growing lengths

# %%
adding_labels = [label for label in CASES if label.startswith("adding")]
print(f"{get_task('adding').summary}; chance: {get_task('adding').baseline_note}")
adding = {}
for label in adding_labels:
    print(f"\n--- Adding Problem with Sequence Length: {CASES[label].options['length']} ---")
    adding[(label, "warmup")] = warmup_run(label)
    final_lines(label, adding[(label, "warmup")])
    print("\nrnnlab's recipe:")
    adding[(label, "rnnlab")] = recipe_run(label)

# %%
lengths = [CASES[label].options["length"] for label in adding_labels]
fig = Figure(figsize=(7.5, 4.5))
ax = fig.subplots()
for model, color in zip(("RNN", "GRU", "LSTM"), ("C0", "C1", "C2")):
    for variant, style in (("warmup", "--"), ("rnnlab", "-")):
        ax.plot(lengths, [adding[(label, variant)][model].test_metric for label in adding_labels], style,
                marker="o", color=color, label=f"{model}, {VARIANTS[variant]}")
ax.axhline(get_task("adding").baseline(), color="grey", ls=":", label="chance (always 1.0)")
ax.set_yscale("log")
ax.set_xlabel("sequence length")
ax.set_ylabel("test MSE")
ax.set_xticks(lengths)
ax.set_title("Adding problem: test error against sequence length")
ax.legend(fontsize=7)
fig.tight_layout()
display(fig)

# %%
longest = adding_labels[-1]
display(warmup_curves(longest, adding[(longest, "warmup")], f"{longest}, the warmup's protocol"))
fig = plots.curves({f"{m} (recipe)": r for m, r in adding[(longest, "rnnlab")].items()},
                   title=f"{longest}: rnnlab's recipe (log scale)")
for ax in fig.axes:      # all four panels are mean squared errors
    ax.set_yscale("log")
display(fig)

# %%
display(plots.samples({f"{m}, recipe": r for m, r in adding[(longest, "rnnlab")].items()}))

# %% [markdown]
# With the warmup's protocol (50 epochs of 10 batches: 500 updates) every cell stays near the
# chance level of 0.167, at every length: each has to keep two values, marked tens or hundreds of
# steps apart, through steps of unmarked noise, and 500 updates from a default start are not
# enough to find that. (The warmup printed no numbers for this task.) It expected the LSTM to do
# best here; with default initialisation its half-open forget gates wash the marked values out.
#
# With the recipe every cell solves it at every length, with a test MSE of a few thousandths or
# less. The scatter of prediction against target lies on the diagonal. Chrono initialisation
# matters twice for the LSTM. Forget gates near 1 keep the marked values. Input gates near 0
# keep the unmarked noise out. A forget-gate bias of 1 alone, the usual trick, leaves the LSTM at
# chance on 200 steps (see docs/results.md). The identity-initialised ReLU RNN copies its state
# forward unchanged, which lets it reach the marked values. But nothing bounds a ReLU state, and
# on long sequences its training loss can explode in the first epochs before the small constant
# learning rate brings it back. It works here, for this seed, but it is the fragile one of the
# three.
#
# ## Results
#
# The test metric of every run, the warmup's protocol first and rnnlab's recipe second (MSE for
# copy memory and adding, lower is better; bit accuracy for XOR, higher is better):

# %%
WARMUP_COPY = {"RNN": "0.0836", "GRU": "0.0374", "LSTM": "0.0830"}    # the warmup's final training losses


def cell(label, model):
    nb, rl = (results[(v, label, model.lower())] for v in VARIANTS)
    if nb.task.metric == "bit_accuracy":
        return f"{100 * nb.test_metric:.1f} % / {100 * rl.test_metric:.1f} %"
    return f"{nb.test_metric:.4f} / {rl.test_metric:.4f}"


rows = ["| task | chance | RNN: warmup / recipe | GRU: warmup / recipe | LSTM: warmup / recipe |",
        "|---|---:|---:|---:|---:|"]
for label, case in CASES.items():
    task = get_task(case.task)
    chance = task.baseline(**case.options)
    chance_text = f"{100 * chance:.0f} %" if task.metric == "bit_accuracy" else f"{chance:.4f}"
    rows.append(f"| {label} | {chance_text} | " + " | ".join(cell(label, m) for m in ("RNN", "GRU", "LSTM")) + " |")
rows.append(f"| the warmup's own copy memory (final training loss) | 0.0833 | {WARMUP_COPY['RNN']} | "
            f"{WARMUP_COPY['GRU']} | {WARMUP_COPY['LSTM']} |")
display(Markdown("\n".join(rows)))
print(f"{len(results)} runs; notebook ran in {time.time() - start:.0f} s")

# %% [markdown]
# At the full size the next cell checks the findings above. With the warmup's protocol the RNN
# and LSTM stay at the copy-memory plateau and the GRU gets below them (as the warmup printed),
# every cell learns XOR, and the LSTM stays near chance on adding over 200 steps. With rnnlab's
# recipe the LSTM and GRU copy with an MSE below 0.005, every cell reaches 100 % on XOR, and every
# cell gets below 0.01 on adding over 200 steps (the goals of the results suite).

# %%
if FULL:
    metric = {key: r.test_metric for key, r in results.items()}
    copy50, adding200 = "copy-seed 50", "adding 200"
    assert metric[("warmup", copy50, "rnn")] > 0.075 and metric[("warmup", copy50, "lstm")] > 0.075
    assert metric[("warmup", copy50, "gru")] < min(metric[("warmup", copy50, m)] for m in ("rnn", "lstm")) - 0.005
    assert all(metric[(v, "xor 20", m)] >= 0.99 for v in VARIANTS for m in MODELS)
    assert metric[("rnnlab", copy50, "lstm")] < 0.005 and metric[("rnnlab", copy50, "gru")] < 0.005
    assert all(metric[("rnnlab", "xor 20", m)] == 1.0 for m in MODELS)
    assert all(metric[("rnnlab", adding200, m)] < 0.01 for m in MODELS)
    assert metric[("warmup", adding200, "lstm")] > 0.1

# %% [markdown]
# ## Observed performance and choosing a cell
#
# - **Copy memory**: with plain Adam and default initialisation only the GRU starts to learn it.
#   The RNN and the LSTM sit at chance, as in the warmup's own printout. With a better start (chrono
#   initialisation for the LSTM, identity for the ReLU RNN) and a one-cycle schedule, all three
#   do.
# - **Sequential XOR**: one step of memory, learned by every cell. The gated cells learn it
#   faster.
# - **Adding problem**: in the warmup's 500 updates no cell gets far below chance with default
#   settings. The LSTM needs its gate biases set for long memories, and then it is among the best
#   at 200 steps. The RNN works only
#   as an IRNN, and its training is the least stable: its loss explodes and recovers here, and
#   with other seeds it does not always recover (docs/results.md).
#
# Choosing: a **plain RNN** for short dependencies and the least compute. It has a third of the
# GRU's parameters and a quarter of the LSTM's. A **GRU** is the safe default for medium-length
# dependencies: it works without special initialisation. An **LSTM** for long dependencies,
# initialised for them (chrono, or at least a positive forget-gate bias). It has the most
# parameters, and the separate cell state is what lets it keep a value unchanged across
# hundreds of steps.
