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
# # A character-level language model
#
# A recurrent network that reads a text one character at a time and, at every step, predicts the next character.
# Trained on a book, it learns spelling, punctuation, where lines end; sampled one character after another, it
# writes new text in the book's style (Karpathy's char-rnn, the language-model chapter of *Dive into Deep
# Learning*). This notebook builds one from the parts:
#
# 1. the corpus and its vocabulary, and the one-hot inputs;
# 2. how a long text becomes batches: each batch row reads its own contiguous stream, and the state is carried
#    from one window to the next (truncated backpropagation through time, drawn);
# 3. the stateful training loop, written out with rnnlab's NumPy engine;
# 4. the same with `rnnlab.lab` (`rnnlab train --task text` on the command line): bits per character and
#    perplexity against a count-based n-gram model of the same text;
# 5. new text at three temperatures;
# 6. what the trained cells learned: units that track quotes, brackets and line position, gate saturation, and
#    how far back a prediction looks (Karpathy, Johnson & Fei-Fei 2015, "Visualizing and Understanding Recurrent
#    Networks").

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
# `FULL = True` trains on the whole embedded corpus (Ambrose Bierce's *The Devil's Dictionary*, 383,157
# characters) with an LSTM of 128 units for 5 epochs on the torch engine (expect several minutes on two CPU
# cores). `FULL = False` is a quick check of every step on the corpus's first 12,000 characters, with 24 units
# and one epoch (seconds); its numbers are not the point, only that everything runs.

# %%
# %matplotlib inline
import time

import numpy as np
from IPython.display import HTML, display
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from rnnlab import lab, plots, text_cells
from rnnlab.numpy import Adam, SequenceModel, clip_by_global_norm, softmax_cross_entropy
from rnnlab.text.corpora import load_corpus

HIDDEN, BATCH, BPTT, EPOCHS = (128, 32, 64, 5) if FULL else (24, 8, 32, 1)
WINDOWS = 300 if FULL else 30            # windows of the hand-written loop (each: BATCH rows of BPTT characters)
start = time.time()

# %% [markdown]
# ## 1. The corpus and its vocabulary
#
# The corpus ships with rnnlab (public domain, no download). It is split in order: the first 90 % trains, the next
# 5 % validates, the last 5 % tests. The vocabulary is the sorted set of its characters; each character has a
# number, its place in that list.

# %%
if FULL:
    corpus, options = load_corpus("devils-dictionary"), {"corpus": "devils-dictionary", "bptt": BPTT}
else:     # the quick check: the first 12,000 characters as a text file of your own would be (--opt path=FILE)
    with open("quick-corpus.txt", "w", encoding="utf-8") as f:
        f.write(load_corpus("devils-dictionary-small").train[:12_000])
    corpus, options = load_corpus(path="quick-corpus.txt"), {"path": "quick-corpus.txt", "bptt": BPTT}
vocab = corpus.vocabulary
print(corpus.source)
print(f"{len(corpus.train):,} training, {len(corpus.val):,} validation, {len(corpus.test):,} test characters; "
      f"{vocab.size} distinct: {vocab.shown(90)}")
print(corpus.train[:300])
assert vocab.decode(vocab.encode(corpus.val[:500])) == corpus.val[:500]

# %% [markdown]
# The network reads each character as a **one-hot** vector x_t of V = vocabulary-size numbers: a one at the
# character's number, zeros elsewhere. Its output at each step is V scores (logits) z_t; the softmax of them is
# the predicted distribution of the next character, and the loss is the cross-entropy with the character that
# actually comes next, -log p_t(c_(t+1)), in nats. Divided by log 2 it is in **bits per character**; its
# exponential is the **perplexity** (how many characters the model hesitates between, on average).

# %%
word = "DEVIL, n."
x = vocab.one_hot(vocab.encode(word))
fig = Figure(figsize=(9, 2.2))
ax = fig.add_subplot()
ax.imshow(x, cmap="Greys", aspect="auto", interpolation="nearest")
ax.set(yticks=range(len(word)), yticklabels=list(word), xlabel="character number (one-hot position)",
       title=f"'{word}' as the network reads it: one row per step, one column per character of the vocabulary")
assert x.shape == (len(word), vocab.size) and (x.sum(1) == 1).all()
display(fig)

# %% [markdown]
# ## 2. Batches: contiguous streams and truncated backpropagation through time
#
# The training text is one long sequence. It is cut into BATCH equal streams, one per batch row; row b always
# continues its own stream, so the state the network ends a window with is exactly the state it should begin the
# next window with. Each window is BPTT characters long. The gradient flows back through one window only (the
# carried state is *detached*: a number, not a path for the gradient), which bounds the cost of a step — that is
# **truncated** BPTT — while the forward pass still carries information across windows.

# %%
ids = vocab.encode(corpus.train)
stream = len(ids) // BATCH
streams = ids[:stream * BATCH].reshape(BATCH, stream)          # row b: characters b*stream ... (b+1)*stream - 1
windows_per_pass = (stream - 1) // BPTT


def window(k):
    """Window k of the streams: inputs (BATCH, BPTT, V) and the next characters (BATCH, BPTT)."""
    k = k % windows_per_pass
    chunk = streams[:, k * BPTT:(k + 1) * BPTT + 1]
    return vocab.one_hot(chunk[:, :-1]), chunk[:, 1:]


fig = Figure(figsize=(10, 3))
ax = fig.add_subplot()
for b in range(3):
    for k in range(4):
        ax.add_patch(Rectangle((k * 1.2, b), 1, 0.6, facecolor=f"C{k}", alpha=0.35))
        ax.text(k * 1.2 + 0.5, b + 0.3, repr(vocab.decode(streams[b, k * BPTT:k * BPTT + 8]))[1:-1] + "…",
                ha="center", va="center", fontsize=7, family="monospace")
        if k:
            ax.annotate("", (k * 1.2, b + 0.3), (k * 1.2 - 0.2, b + 0.3), arrowprops={"arrowstyle": "->"})
ax.text(4.85, 1.3, "h, c carried →\n(detached)", fontsize=8)
ax.set(xlim=(-0.1, 5.6), ylim=(3, -0.3), yticks=[0.3, 1.3, 2.3], yticklabels=["row 0", "row 1", "row 2"],
       xticks=[k * 1.2 + 0.5 for k in range(4)], xticklabels=[f"window {k}" for k in range(4)],
       title=f"Each batch row reads its own stream in windows of {BPTT} characters; the state is carried, "
             f"the gradient stops at each window's start")
display(fig)

# %% [markdown]
# ## 3. The stateful training loop
#
# With rnnlab's NumPy engine (`SequenceModel`: an LSTM, a readout at every step, a linear head to V logits) the
# loop is short. Each step: the forward pass starts from the carried state; the loss and its gradient; the
# hand-written backward pass (through this window only); clipping; an Adam step; and the final state becomes the
# next window's initial state. A few hundred windows show the loss falling; section 4 trains properly.

# %%
model = SequenceModel("lstm", vocab.size, HIDDEN, vocab.size, readout="every", seed=0)
optimizer = Adam(model.params, lr=3e-3)
state, losses = None, []
for k in range(WINDOWS):
    if k % windows_per_pass == 0:
        state = None                                        # a new pass over the streams starts from zeros
    x, y = window(k)
    logits = model.forward(x, train=True, state=state)      # from the carried state
    loss, dlogits = softmax_cross_entropy(logits, y)
    model.backward(dlogits)                                 # BPTT through this window only
    clip_by_global_norm(model.grads, 5.0)
    optimizer.step(model.grads)
    state = model.final_state                               # new arrays: the next backward stops here
    losses.append(loss / np.log(2))                         # nats -> bits per character
print(f"bits per character, first and last 5 windows: {np.mean(losses[:5]):.2f} -> {np.mean(losses[-5:]):.2f}; "
      f"a uniform guess: {np.log2(vocab.size):.2f}")
assert np.mean(losses[-5:]) < np.mean(losses[:5])

# %% [markdown]
# ## 4. The same with rnnlab, against an n-gram model
#
# `lab.train(task="text")` (on the command line `rnnlab train --task text --bptt 64`) runs exactly this loop on
# any engine, reads the validation and test texts with the state carried too, and reports bits per character and
# perplexity per epoch. The baseline is a count-based model of the same training text: an interpolated
# Kneser-Ney character n-gram whose order is chosen on the validation text. A recurrent model earns its keep
# when it goes below it.

# %%
result = lab.train("lstm", task="text", task_options=options, hidden_size=HIDDEN, batch_size=BATCH,
                   epochs=EPOCHS, lr=3e-3, engine="torch" if FULL else "numpy", echo=False)
ngram = result.data.info["ngram"]
val_bpc = result.history.column("val_metric")[-1]
print(f"LSTM, {EPOCHS} epoch(s): validation {val_bpc:.3f} bits per character (perplexity {2 ** val_bpc:.1f}), "
      f"test {result.test_metric:.3f}")
print(f"{ngram['model']} {ngram['order']}-gram: validation {ngram['val_bpc']:.3f} (perplexity "
      f"{2 ** ngram['val_bpc']:.1f}), test {ngram['test_bpc']:.3f}")
assert val_bpc < np.log2(vocab.size) and ngram["test_bpc"] < np.log2(vocab.size)
if FULL:
    assert result.test_metric < ngram["test_bpc"], "the LSTM should beat the n-gram at the full size"
plots.curves(result)

# %% [markdown]
# ## 5. New text at three temperatures
#
# Sampling: start from a prime, and at each step draw the next character from softmax(z_t / T). A low
# temperature T sharpens the distribution (safe, repetitive text); T = 1 samples the model as it is; a high one
# flattens it (adventurous, misspelled text). The same seed gives the same text on every engine.

# %%
samples = {T: lab.generate(result, prime="DEVIL, n. ", length=300 if FULL else 120, temperature=T, seed=1)
           for T in (0.5, 1.0, 1.5)}
for T, text in samples.items():
    print(f"--- temperature {T}\n{text}\n")
assert all(text.startswith("DEVIL, n. ") for text in samples.values())

# %% [markdown]
# ## 6. What the cells learned
#
# Read a passage of the validation text with the trained model and record, after every character, the last
# layer's hidden state h_t and its gates (`lab.units`; rnnlab reads them with the NumPy engine's own steps in
# float64, whichever engine trained the model). From the text itself come what a person sees — inside a
# quotation, bracket depth, position in the line, between words — and each unit's Pearson correlation with each.

# %%
passage = corpus.val[corpus.val.index("\n") + 1:][:600]
search = lab.units(result, passage)
trace = search.trace
for signal, pairs in search.best.items():
    print(f"{signal:>8}: " + (", ".join(f"unit {u} (r = {r:+.2f})" for u, r in pairs)
                              or "never changes in this passage"))
assert trace.hidden.shape == (len(passage), HIDDEN)
plots.unit_search(search)

# %% [markdown]
# The passage coloured by the unit that tracks the position in the line best (blue -1, white 0, red +1); hover
# a character in the HTML version for its value. `rnnlab explore` has a page where you type the text yourself.

# %%
unit = search.best["line"][0][0]
display(HTML(text_cells.coloured_html(passage, trace.hidden[:, unit], title=f"hidden unit {unit}")))
plots.unit_text(trace, unit)

# %% [markdown]
# **Gate saturation.** For each gate, the fraction of steps each unit is nearly shut (< 0.1) against the fraction
# it is nearly open (> 0.9). Karpathy et al. found forget gates that are almost always open — units that remember
# over long spans — and almost no unit saturated both ways.

# %%
assert set(text_cells.gate_saturation(trace)) == {"input", "forget", "output"}
plots.gate_saturation(trace)

# %% [markdown]
# **Connectivity.** How much does the prediction at one step depend on each earlier character? The gradient norm
# of its log-probability with respect to each character's input, by the hand-written backward pass, drawn under
# the text and against the distance back.

# %%
found = lab.connectivity(result, passage, step=300)
assert (found.norms[301:] == 0).all() and found.norms[300] > 0
plots.connectivity(found)

# %%
print(f"the notebook ran in {time.time() - start:.0f} s")
