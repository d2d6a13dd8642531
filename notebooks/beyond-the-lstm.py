# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.7
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Beyond the LSTM: linear recurrences trained by a parallel scan
#
# The GRU and the LSTM compute h_t from h_(t-1) through a matrix product and a nonlinearity, so step t
# cannot start before step t-1 has finished: a sequence of T steps is T operations one after the other,
# and the gradient that flows back through them shrinks (or grows) by a factor at every step. Since 2023
# the field's answer is a recurrence that is **linear** in the state,
#
#     h_t = a_t ⊙ h_(t-1) + b_t,          a_t and b_t computed from the input x_t alone,
#
# as in Mamba, the state-space models (S4, S5, the LRU) and minGRU / minLSTM. Because it is linear, the whole
# sequence can be computed by an associative (parallel) **scan** instead of a loop of steps, and the
# backward pass is the same scan run backwards in time. This notebook takes one apart beside the LSTM,
# with the cells rnnlab has:
#
# 1. the linear recurrence and why a scan computes it, the scan drawn, checked against a loop and timed;
# 2. minGRU against the GRU, equation by equation, and the backward pass as a reverse scan;
# 3. the LRU (Linear Recurrent Unit): complex eigenvalues inside the unit circle by construction, the ring
#    initialisation, the normalisation γ, its eigenvalues before and after training;
# 4. the copy task (recall 10 symbols after T blank steps): the LSTM against minGRU and the LRU, the
#    gradient flowing back over a thousand steps, and what rnnlab's results suite has measured at T = 1,000.

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
# `FULL = True` trains the copy task after **1,000** blank steps with the settings of rnnlab's results suite
# (entry `long-memory`: hidden 128, 10 epochs of 10,000 sequences): the LSTM on the torch engine (843 s in the
# suite's run, on an AMD EPYC with two cores) and a one-layer LRU on rnnlab.torch (754 s in the suite's run, on
# an Intel Xeon with two cores) — about half an hour in all. `FULL = False` is a quick check of every step (a
# copy task after 20 blank steps, 16 units, a few hundred sequences: seconds); its numbers are not the point,
# only that everything runs.

# %%
# %matplotlib inline
import platform
import time
import timeit

import numpy as np
import torch
from IPython.display import display
from matplotlib.figure import Figure

from rnnlab import lab, plots
from rnnlab.analysis import flow_model, gradient_flow
from rnnlab.bench import SUITE_BY_NAME, Case, command_for, settings_for
from rnnlab.data.synthetic import copy_task_baseline, cumulative_average
from rnnlab.kernels.scan import scan_forward
from rnnlab.numpy.linear import scan_doubling
from rnnlab.numpy.lru import eigenvalues
from rnnlab.plan import resolve
from rnnlab.torch.layers import LAYERS
from rnnlab.torch.linear import LinearScan
from rnnlab.train import build_model

SCAN_SHAPE = (784, 128, 64) if FULL else (784, 16, 8)       # steps x hidden units x sequences, for the timing
FLOW_LENGTH = 1000 if FULL else 200                         # steps of the gradient-flow picture
start = time.time()

# %% [markdown]
# ## 1. The linear recurrence and the scan
#
# Each step of h_t = a_t ⊙ h_(t-1) + b_t is an affine map of the state, f_t(h) = a_t h + b_t (elementwise:
# every unit has its own a and b). Two steps one after the other are again an affine map:
#
#     f_t(f_s(h)) = a_t (a_s h + b_s) + b_t = (a_s a_t) h + (a_t b_s + b_t)
#
# so write a step as the pair (a, b) and "first (a, b), then (a', b')" as
#
#     (a, b) ∘ (a', b') = (a a',  a' b + b').
#
# This operator is **associative**: ((x ∘ y) ∘ z) = (x ∘ (y ∘ z)), so the composition of steps 0..t may be
# bracketed any way we like: with the steps numbered t = 0, 1, …, T-1 and h_(-1) the state before the first,
# h_t is the second half of (a_0, a_0 h_(-1) + b_0) ∘ (a_1, b_1) ∘ … ∘ (a_t, b_t).
# A **scan** computes all these prefixes. The loop does it in T steps one after the other; the
# Hillis–Steele scan does it in ⌈log2 T⌉ passes, each of which combines every position t with position
# t - 2^k, all positions at once:

# %%
def combine(first, then):
    """(a, b) ∘ (a', b') = (a a', a' b + b'): first the step (a, b), then (a', b')."""
    (a, b), (a2, b2) = first, then
    return a * a2, a2 * b + b2


rng = np.random.default_rng(0)
x, y, z = [(rng.uniform(0, 1, 4), rng.normal(size=4)) for _ in range(3)]
left, right = combine(combine(x, y), z), combine(x, combine(y, z))
print("(x∘y)∘z =", np.round(left[1], 6), "\nx∘(y∘z) =", np.round(right[1], 6))
assert np.allclose(left, right)


# %% [markdown]
# The scan over 8 steps, drawn. Row 0 holds the steps (a_t, b_t); after pass k each position t holds the
# composition of the 2^k steps ending at t (the label s:t); after ⌈log2 8⌉ = 3 passes it holds 0:t, that is
# h_t. The red lines are the tree that computes h_7: seven combinations in three levels (the "up-sweep" tree
# of a parallel scan), where the loop needs seven steps in a row. Every pass is one vectorised operation over
# all positions, so with enough processors the depth is log2 T instead of T; the price is more work in all,
# about T log2 T combinations instead of T.

# %%
def draw_scan(T=8):
    """The Hillis-Steele scan over T steps: nodes (pass, t) labelled by the steps they compose, and the tree
    of combinations that computes the last position."""
    passes = int(np.ceil(np.log2(T)))
    tree = {(passes, T - 1)}                  # the nodes the last position depends on, found from the top down
    for k in range(passes, 0, -1):
        for p, t in [node for node in tree if node[0] == k]:
            tree |= {(k - 1, t)} | ({(k - 1, t - 2 ** (k - 1))} if t - 2 ** (k - 1) >= 0 else set())
    fig = Figure(figsize=(9, 4.2))
    ax = fig.subplots()
    for k in range(passes + 1):
        for t in range(T):
            if k:
                for s in (t, t - 2 ** (k - 1)):
                    if s >= 0:
                        red = (k, t) in tree and (k - 1, s) in tree
                        ax.plot([s, t], [k - 1, k], color="C3" if red else "0.75", lw=2 if red else 1, zorder=1)
            first = max(0, t - 2 ** k + 1)
            ax.text(t, k, f"{first}:{t}" if first < t else f"{t}", ha="center", va="center", fontsize=9, zorder=2,
                    bbox={"boxstyle": "round", "facecolor": "mistyrose" if (k, t) in tree else "white"})
    ax.set(xlim=(-0.6, T - 0.4), ylim=(passes + 0.5, -0.5), xticks=range(T), yticks=range(passes + 1),
           yticklabels=["steps (a_t, b_t)"] + [f"pass {k}: 2^{k} steps" for k in range(1, passes + 1)],
           xlabel="position t", title="The scan over 8 steps: 3 passes, each over all positions at once")
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    return fig


display(draw_scan())


# %% [markdown]
# **Checked.** rnnlab has three scans of the same recurrence (`rnnlab.numpy.linear` and
# `rnnlab.kernels.scan`): `scan_doubling` is the Hillis–Steele scan above, vectorised with NumPy;
# `scan_forward` is a compiled (numba) loop over time, one pass through memory, each step's values in one
# vectorised inner loop; and below, a plain Python loop of steps. On random data in float64 the three agree
# to 1e-10.

# %%
def loop(a, b, h0):
    """h_t = a_t h_(t-1) + b_t, one step at a time."""
    h, out = h0, np.empty_like(b)
    for t in range(len(b)):
        h = out[t] = a[t] * h + b[t]
    return out


T, H, N = 1000, 32, 8
a = rng.uniform(0.5, 1.0, (T, H, N))           # time first, then units and sequences
b, h0 = rng.normal(size=(T, H, N)), rng.normal(size=(H, N))
by_loop, by_doubling, by_compiled = loop(a, b, h0), np.empty_like(b), np.empty((1, T, H * N))
scan_doubling(a, b, h0, by_doubling)
scan_forward(a.reshape(1, T, H * N), b.reshape(1, T, H * N), h0.reshape(1, H * N), by_compiled, False)
by_compiled = by_compiled.reshape(T, H, N)
for name, found in {"scan_doubling (parallel)": by_doubling, "scan_forward (compiled)": by_compiled}.items():
    print(f"{name:>25}: largest difference from the loop {np.abs(found - by_loop).max():.1e}")
    assert np.abs(found - by_loop).max() < 1e-10

# %% [markdown]
# **Timed** at 784 steps (a 28 × 28 image read pixel by pixel), in float32, the best of a few repeats. The
# machine matters: a CPU has a few cores, and there the parallel scan's extra work (T log2 T combinations
# instead of T) costs more than its short depth saves; the compiled loop, which does the least work and keeps
# each step in cache, is what rnnlab's engines run on a CPU. On a GPU, thousands of threads do each pass of
# the parallel scan at once: that is where its depth of log2 T pays (Mamba's kernels), and a loop over 784
# steps, each too small to fill the GPU, does not.

# %%
def machine():
    """The processor's name (from /proc/cpuinfo where there is one) and the number of cores."""
    name = platform.processor() or platform.machine()
    if os.path.exists("/proc/cpuinfo"):
        with open("/proc/cpuinfo") as f:
            name = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), name)
    return f"{name}, {os.cpu_count()} cores"


T, H, N = SCAN_SHAPE
a = rng.uniform(0.5, 1.0, (T, H, N)).astype(np.float32)
b, h0 = rng.normal(size=(T, H, N)).astype(np.float32), np.zeros((H, N), np.float32)
out = np.empty_like(b)
scans = {"Python loop of steps": lambda: loop(a, b, h0),
         "parallel scan (Hillis-Steele, NumPy)": lambda: scan_doubling(a, b, h0, out),
         "compiled loop (numba)": lambda: scan_forward(a.reshape(1, T, -1), b.reshape(1, T, -1), h0.reshape(1, -1),
                                                       out.reshape(1, T, -1), False)}
seconds = {name: min(timeit.repeat(run, number=1, repeat=5 if FULL else 3)) for name, run in scans.items()}
print(f"{T} steps x {H} units x {N} sequences, float32, on {machine()}:")
for name, s in seconds.items():
    print(f"  {name:>38}: {1000 * s:8.2f} ms  ({seconds['Python loop of steps'] / s:5.1f}x the loop's speed)")
assert seconds["compiled loop (numba)"] < seconds["Python loop of steps"]

# %% [markdown]
# ## 2. minGRU against the GRU, equation by equation
#
# The GRU (torch.nn's form, which rnnlab's GRU follows; σ the sigmoid) and minGRU (Feng et al. 2024, "Were
# RNNs All We Needed?"):
#
# | | GRU | minGRU |
# |---|---|---|
# | reset gate | r_t = σ(W_ir x_t + b_ir + W_hr h_(t-1) + b_hr) | — |
# | update gate | z_t = σ(W_iz x_t + b_iz + W_hz h_(t-1) + b_hz) | z_t = σ(W_z x_t + b_z) |
# | candidate | n_t = tanh(W_in x_t + b_in + r_t ⊙ (W_hn h_(t-1) + b_hn)) | h̃_t = W_h x_t + b_h |
# | new state | h_t = (1 - z_t) ⊙ n_t + z_t ⊙ h_(t-1) | h_t = (1 - z_t) ⊙ h_(t-1) + z_t ⊙ h̃_t |
#
# In the GRU, r_t, z_t and n_t all read h_(t-1): the gates at step t are not known before step t-1 is done.
# minGRU drops every h_(t-1) from the gates and the tanh from the candidate, so they depend on x_t alone and
# are computed for all steps at once, in one matrix product; what is left is the linear recurrence with
#
#     a_t = 1 - z_t,        b_t = z_t ⊙ h̃_t.
#
# (Mind the convention: in torch.nn's GRU z_t is the part of the *old* state kept; in minGRU z_t is the part
# of the *new* candidate written.) Here are both, written out, against rnnlab's own layers
# (`rnnlab.torch`'s, in float64): the GRU as a loop of steps, minGRU as one product and a scan.

# %%
D, H, T = 3, 5, 12
torch.manual_seed(0)
gru, mingru = LAYERS["gru"](D, H).double(), LAYERS["mingru"](D, H).double()
xs = torch.randn(1, T, D, dtype=torch.float64)
sigmoid = lambda v: 1 / (1 + np.exp(-v))

W_ih, b_ih, W_hh, b_hh = (p.detach().numpy() for p in (gru.ih.weight, gru.ih.bias, gru.hh.weight, gru.hh.bias))
h, gru_by_hand = np.zeros(H), []
for x_t in xs[0].numpy():                          # one step after the other: each needs the last h
    x_r, x_z, x_n = np.split(W_ih @ x_t + b_ih, 3)
    u_r, u_z, u_n = np.split(W_hh @ h + b_hh, 3)
    r, z = sigmoid(x_r + u_r), sigmoid(x_z + u_z)
    n = np.tanh(x_n + r * u_n)
    h = (1 - z) * n + z * h
    gru_by_hand.append(h)

W, bias = mingru.ih.weight.detach().numpy(), mingru.ih.bias.detach().numpy()
gates = xs[0].numpy() @ W.T + bias                 # every step's gates in one product: (T, 2H)
z, h_tilde = sigmoid(gates[:, :H]), gates[:, H:]
mingru_by_hand = np.empty((T, H))
scan_doubling(1 - z, z * h_tilde, np.zeros(H), mingru_by_hand)      # a_t = 1 - z_t, b_t = z_t h~_t

for name, layer, by_hand in (("GRU", gru, gru_by_hand), ("minGRU", mingru, mingru_by_hand)):
    difference = np.abs(layer(xs)[0][0].detach().numpy() - np.array(by_hand)).max()
    print(f"{name:>6}: the equations against rnnlab's layer, largest difference {difference:.1e}")
    assert difference < 1e-12

# %% [markdown]
# **Parameters.** Without W_hh and the reset gate, minGRU is much smaller than a GRU of the same size:
# the GRU has 3H(D + H) weights and 6H biases (torch.nn keeps b_ih and b_hh apart), minGRU 2HD weights and
# 2H biases. With D = H = 128 (a layer inside a stack), counted from rnnlab's layers:

# %%
D = H = 128
for name, formula in (("gru", 3 * H * (D + H) + 6 * H), ("mingru", 2 * H * D + 2 * H)):
    count = sum(p.numel() for p in LAYERS[name](D, H).parameters())
    print(f"{name:>6}: {count:,} parameters")
    assert count == formula

# %% [markdown]
# A minGRU layer is less expressive than a GRU layer (its gates cannot react to the state), so the paper
# stacks several, with a nonlinearity between them: rnnlab's stacks of linear recurrences put a GELU after
# each layer, a layer norm before the next and a residual connection around it (`rnnlab/numpy/block.py`).
#
# **The backward pass is the same scan run backwards.** With a loss L and g_t = ∂L/∂h_t from the outputs
# (what the layers above send down), the total gradient δh_t reaching h_t comes from g_t and from h_(t+1),
# which holds a_(t+1) h_t:
#
#     δh_t = g_t + a_(t+1) ⊙ δh_(t+1)         (a linear recurrence in reversed time)
#     ∂L/∂a_t = δh_t ⊙ h_(t-1)        ∂L/∂b_t = δh_t        ∂L/∂h_(-1) = a_0 ⊙ δh_0
#
# So a scan computes δh too: reverse time and shift a by one step. Below, this reverse scan against
# torch's autograd through a plain loop, and against rnnlab's `LinearScan`, the autograd node that the torch
# engine's linear cells use (its backward written by hand, the compiled scan inside).

# %%
T, H = 50, 4
a, b = rng.uniform(0.5, 1.0, (T, H)), rng.normal(size=(T, H))
h_init, g = rng.normal(size=H), rng.normal(size=(T, H))          # L = sum_t g_t . h_t, so dL/dh_t = g_t
hs = np.empty((T, H))
scan_doubling(a, b, h_init, hs)
delta = np.empty((T, H))
a_next = np.concatenate([a[1:], np.zeros((1, H))])              # a_(t+1), and nothing after the last step
scan_doubling(a_next[::-1], g[::-1], np.zeros(H), delta[::-1])    # the reverse scan
by_scan = {"a": delta * np.vstack([h_init, hs[:-1]]), "b": delta, "h_(-1)": a[0] * delta[0]}

tensors = {name: torch.tensor(v, requires_grad=True) for name, v in (("a", a), ("b", b), ("h_(-1)", h_init))}
h, steps = tensors["h_(-1)"], []
for t in range(T):                                               # a plain loop; torch's autograd goes back
    h = tensors["a"][t] * h + tensors["b"][t]
    steps.append(h)
by_autograd = dict(zip(tensors, torch.autograd.grad((torch.stack(steps) * torch.tensor(g)).sum(), list(tensors.values()))))

node = {name: v.detach()[None].clone().requires_grad_() for name, v in tensors.items()}   # batch of one
all_h, _ = LinearScan.apply(node["a"], node["b"], node["h_(-1)"], False)
by_node = dict(zip(node, torch.autograd.grad((all_h * torch.tensor(g)[None]).sum(), list(node.values()))))
for name in by_scan:
    worst = max(np.abs(by_scan[name] - by_autograd[name].numpy()).max(), np.abs(by_scan[name] - by_node[name][0].numpy()).max())
    print(f"dL/d{name:<6}: the reverse scan against autograd and LinearScan, largest difference {worst:.1e}")
    assert worst < 1e-10

# %% [markdown]
# ## 3. The LRU: eigenvalues inside the unit circle by construction
#
# The LRU (Orvieto et al. 2023, "Resurrecting Recurrent Neural Networks for Long Sequences") is a linear
# recurrence whose a_t does not depend on the input at all: it is one *complex* number per unit, λ, the
# eigenvalue of a diagonal recurrent matrix:
#
#     u_t = B x_t + b                       (B complex: B_re + i B_im)
#     h_t = λ ⊙ h_(t-1) + γ ⊙ u_t           (h_t complex)
#     y_t = Re(C h_t) + D x_t               (what the next layer reads: real)
#
# λ is not stored as it is. It is λ = exp(-exp(ν) + i exp(θ)) with ν, θ the trained parameters, so
# |λ| = exp(-exp(ν)) is below 1 for **every** real ν, whatever the optimiser does, and its phase is exp(θ).
# A state component is multiplied by |λ| at every step, so it remembers about 1 / (1 - |λ|) steps; the
# **ring initialisation** draws λ uniformly on the ring r_min ≤ |λ| ≤ r_max (`--ring R_MIN,R_MAX`; rnnlab's
# default 0.9, 0.999, the results suite's one-layer LRU for the copy task 0.999, 0.9999: memories of 1,000 to
# 10,000 steps).
#
# **The normalisation γ.** Near |λ| = 1 the state adds up many inputs: fed white noise of variance 1, h_t
# reaches the variance Σ_k |λ|^(2k) = 1 / (1 - |λ|²), 50 for |λ| = 0.99 and 5,000 for 0.9999. The LRU
# multiplies the input by γ, which starts at sqrt(1 - |λ|²), so the state starts with the input's
# variance whatever λ is (γ = exp(γ_log) is trained afterwards). Measured with the scan:

# %%
T = 20_000 if FULL else 5_000
for modulus in (0.9, 0.99, 0.999):
    lam = np.full(200, modulus * np.exp(0.3j))                     # 200 units with the same lambda
    noise = (rng.normal(size=(T, 200)) + 1j * rng.normal(size=(T, 200))) / np.sqrt(2)    # E|u|^2 = 1
    state = np.empty((1, T, 200), complex)
    scan_forward(lam[None, None], noise[None], np.zeros((1, 200), complex), state, False)
    variance = np.mean(np.abs(state[0, T // 2:]) ** 2)             # the second half: past the transient
    gamma = np.sqrt(1 - modulus ** 2)
    print(f"|lambda| = {modulus}: E|h|^2 = {variance:7.1f} (1 / (1 - |lambda|^2) = {1 / (1 - modulus ** 2):6.1f}); "
          f"times gamma^2 = {gamma ** 2 * variance:.2f}")
    assert abs(gamma ** 2 * variance - 1) < 0.3

# %% [markdown]
# **Its eigenvalues, before and after training.** A one-layer LRU on the ring 0.9 ≤ |λ| ≤ 0.999, trained a
# little on the copy task of section 4 (after 100 blank steps at the full size, 5 epochs of 5,000 sequences,
# about a minute; after 20 at the quick one). rnnlab
# builds the model from the run's settings and seed, so the freshly initialised model is the same one the
# run started from.

# %%
RING = "0.9,0.999"
short = {"delay": 100, "n_train": 5000, "n_val": 500, "n_test": 500} if FULL else \
    {"delay": 20, "n_train": 256, "n_val": 64, "n_test": 64}
lru = lab.train("lru", task="copy", task_options=short, engine="numpy", hidden_size=64 if FULL else 16,
                ring=RING, epochs=5 if FULL else 1, batch_size=32, lr=3e-3, seed=0, echo=False)
print(f"copy after {short['delay']} blank steps: test cross-entropy {lru.test_loss:.4f} "
      f"(no-memory baseline {copy_task_baseline(short['delay']):.4f}), {lru.history.seconds:.0f} s of training")
fresh = build_model(resolve(lru.config)).weights()
before = eigenvalues(fresh["nu_log_l0"], fresh["theta_log_l0"])
after = eigenvalues(lru.model.weights()["nu_log_l0"], lru.model.weights()["theta_log_l0"])
for when, lam in (("at initialisation", before), ("after training", after)):
    print(f"{when:>17}: |lambda| from {np.abs(lam).min():.4f} to {np.abs(lam).max():.4f}")
assert 0.9 <= np.abs(before).min() <= np.abs(before).max() <= 0.999 and np.abs(after).max() < 1
display(plots.eigenvalue_plane({"at initialisation": before, "after training": after},
                               f"LRU eigenvalues, ring {RING}, before and after training"))

# %% [markdown]
# ## 4. The copy task: remembering over a thousand steps
#
# The copy task (Hochreiter & Schmidhuber 1997; Arjovsky et al. 2016): the network reads 10 symbols drawn
# from 8, then T blank steps, then a marker, and must then write the 10 symbols back in order. Every output
# step is scored by cross-entropy; a network that remembers nothing can still predict the blanks perfectly
# and guess the 10 symbols uniformly, which gives the **no-memory baseline** 10 log 8 / (T + 20). One
# sequence with T = 10:

# %%
example = lab.load_data("copy", seed=0, delay=10, n_train=4, n_val=2, n_test=2).train
fig = Figure(figsize=(9, 2.4))
axes = fig.subplots(2, 1, sharex=True)
axes[0].imshow(example.x[0].T, cmap="Greys", aspect="auto", interpolation="nearest")
axes[0].set(ylabel="input", yticks=[0, 9], yticklabels=["blank", "marker"])
axes[1].imshow(np.eye(9)[example.y[0]].T, cmap="Greys", aspect="auto", interpolation="nearest")
axes[1].set(ylabel="target", yticks=[0, 8], yticklabels=["blank", "symbol 8"], xlabel="step")
fig.suptitle("Copy task, T = 10: read 10 symbols, wait, then write them back")
display(fig)
print("input: ", example.x[0].argmax(-1), "\ntarget:", example.y[0])

# %% [markdown]
# The results suite's entry `long-memory` (`rnnlab bench --only long-memory`) holds the settings: hidden
# 128, batches of 64, Adam on a one-cycle schedule to 3e-3, clipping at 1, 10 epochs of 10,000 sequences;
# the LSTM with chrono initialisation for the task's length (its forget-gate biases spread the cells' memory
# time scales over 1..T); the LRU in one layer on the ring 0.999..0.9999 (`lru`), on rnnlab.torch.
# `settings_for` gives each model's settings and `command_for` the `rnnlab train` command that does the same.
# The full size runs the 1,000-step case; the quick one a 20-step case with 16 units.

# %%
LONG = SUITE_BY_NAME["long-memory"]
CASE = next(c for c in LONG.cases if c.label == "copy 1000") if FULL else Case("copy 20", "copy", {"delay": 20})
QUICK = {} if FULL else {"hidden_size": 16, "epochs": 1, "batch_size": 32}
QUICK_DATA = {} if FULL else {"n_train": 256, "n_val": 64, "n_test": 64}
MODELS = {"lstm": "LSTM", "lru": "LRU, 1 layer"}
baseline = copy_task_baseline(CASE.options["delay"])
data = lab.load_data("copy", seed=0, **CASE.options, **QUICK_DATA)
copies = {}
goal = LONG.goals.get((CASE.label, "lru"))
print(f"{CASE.label}: no-memory baseline {baseline:.4f}" + (f"; the suite's goal for the new cells {goal}" if goal else ""))
for model, title in MODELS.items():
    config = settings_for(LONG, "rnnlab", CASE, model, seed=0)
    flat = {k: v for k, v in config.flat().items() if v is not None}
    flat["task_options"] = {**flat["task_options"], **QUICK_DATA}
    r = copies[title] = lab.train(model, data=data, echo=False, **{**flat, **QUICK})
    print(f"{title:>16}: test cross-entropy {r.test_loss:.3g} ({r.test_loss / baseline:.3g} x the baseline), "
          f"{r.parameters:,} parameters, {r.history.seconds:.0f} s\n{'':>18}{command_for(r.config)}")
    assert np.isfinite(r.test_loss)
if goal:     # the full size: the suite's goal for the linear recurrences ("<= 0.0020"), met or not
    loss = copies[MODELS["lru"]].test_loss
    print(f"{MODELS['lru']}: {loss:.6f} against the goal {goal}: "
          f"{'met' if loss <= float(goal.split()[1]) else 'not met'}")
if FULL:     # per epoch; the quick size trains one epoch, a point per model
    display(plots.curves(copies, title=f"{CASE.label}: the LSTM against the linear recurrences"))

# %% [markdown]
# **Why the LSTM struggles: the gradient over a thousand steps.** rnnlab's gradient-flow analysis
# (`rnnlab.analysis`, the same as `rnnlab gradients`' `long_range.png`) puts one layer of each cell under a
# linear read-out, feeds it one sequence, puts the loss on the last step only and measures ‖∂L/∂h_t‖ at every
# step t: how much the loss can still learn from what happened T - t steps earlier. At initialisation, the
# LSTM's gradient shrinks by a factor at every step (its forget gates start near σ(0) = 1/2); minGRU's
# a_t = 1 - z_t starts near 1/2 too; the LRU's |λ| starts on its ring near 1, and its gradient reaches back
# over the whole sequence. The fourth curve is minGRU with **chrono initialisation** (Tallec & Ollivier 2018;
# `--chrono T`): the update gate's bias b_z = -log U with U uniform on (1, T - 1), so z_t starts near
# 1 / (1 + U) and each unit keeps its state for 1 + U steps, between 2 and T.

# %%
x_flow, y_flow = cumulative_average(1, FLOW_LENGTH, seed=0)
fig = Figure(figsize=(8, 4.5))
ax = fig.subplots()
flow_models = {cell: flow_model(cell, "tanh", 32, seed=0) for cell in ("lstm", "mingru", "lru")}
flow_models["mingru, chrono"] = flow_model("mingru", "tanh", 32, seed=0)
with torch.no_grad():     # chrono: b_z = -log U, U ~ U(1, T - 1), on the z rows (the first 32) of the gate bias
    U = np.random.default_rng(0).uniform(1.0, FLOW_LENGTH - 1.0, 32)
    flow_models["mingru, chrono"].recurrent_net.ih.bias[:32] = torch.from_numpy(-np.log(U))
flows = {}
for k, (cell, model) in enumerate(flow_models.items()):
    flow = flows[cell] = gradient_flow(model, x_flow, y_flow, last_step_only=True)
    ax.semilogy(np.arange(FLOW_LENGTH)[::-1], np.maximum(flow.grad_norms, 1e-300), color=f"C{k}", label=cell)
    print(f"{cell:>14}: ||dL/dh_1|| / ||dL/dh_T|| = {flow.ratio:.3g}" +
          ("" if flow.eigenvalue is None else f", largest |eigenvalue| of the recurrence {flow.eigenvalue:.4f}"))
ax.set(xlabel="distance from the loss (T - t)", ylabel="||dL/dh_t|| at initialisation",
       title=f"Gradient flow over {FLOW_LENGTH} steps, loss on the last step")
ax.legend()
ax.grid(alpha=0.3, which="both")
display(fig)
assert flows["lru"].ratio > 1e6 * flows["lstm"].ratio
assert flows["mingru, chrono"].ratio > 1e6 * flows["mingru"].ratio

# %% [markdown]
# Being linear is not enough by itself: minGRU's gradient vanishes at initialisation as fast as the LSTM's,
# because its a_t = 1 - z_t starts near 1/2 (the largest of its geometric means printed above). What a linear
# recurrence offers is that δh_t is a product of the a_t alone, with no tanh' or W_hh in it: a cell that learns
# z_t ≈ 0 on blank inputs (possible, since z_t reads x_t) keeps both its state and its gradient over the blanks,
# and the LRU starts with |λ| close to 1. Chrono initialisation starts minGRU there: with it, its gradient
# reaches back at least as far as the LRU's (the fourth curve; at 1,000 steps the ratio is 0.17 against the
# LRU's 0.002 and plain minGRU's 1.7e-147), and it is what let two minGRU layers learn the adding
# problem at 1,000 steps below. Whether training gets there in the suite's budget is the next question.

# %% [markdown]
# **What the results suite has measured** (docs/results.md and RESULTS.md of rnnlab's repository:
# `rnnlab bench --only long-memory`, one seed for the 1,000-step cases; the LSTM, GRU and IRNN on the torch
# engine on an AMD EPYC, the LRU and minGRU rows on an Intel Xeon, 2 cores each):
#
# | case (no-memory baseline) | LSTM, chrono init | GRU | IRNN | LRU, 1 layer | minGRU, 2 layers, chrono init | goal for the new cells |
# |---|---:|---:|---:|---:|---:|---:|
# | copy 1000, cross-entropy (0.0204) | 0.0217 | 0.0204 | 0.0254 | **0.000045** | not run | ≤ 0.0020 |
# | adding 1000, MSE (0.1667) | 0.1655 | 0.0762 | 0.1805 | not run | **0.0032** | ≤ 0.01 |
#
# Both 1,000-step tasks are solved, each by a linear recurrence, in the same budget (1,570 updates of
# batches of 64) in which the classic cells end on or near the baseline:
#
# - **The copy, by the LRU** (one layer, ring 0.999 ≤ |λ| ≤ 0.9999, `rnnlab train --task copy --opt
#   delay=1000 --cell lru --engine scratch --lr 0.003 --batch-size 64 --epochs 10 --ring 0.999,0.9999`): it
#   passes the baseline in its third epoch, the goal in its fifth (0.0013), and recalls every symbol after
#   ten. Its output is a sum of damped complex exponentials of the past inputs, a convolution kernel; copying
#   asks the kernel to be the identity at the delay 1,010 and zero at its neighbours, which the read-out C
#   learns as a least-squares problem while |λ|^1010 stays between 0.36 and 0.90 on this ring.
# - **The adding problem, by minGRU** (two layers, chrono initialisation for 1,000 steps: `rnnlab train
#   --task adding --opt length=1000 --cell mingru --layers 2 --engine numpy --lr 0.003 --batch-size 64
#   --epochs 10 --chrono 1000`): on the baseline for five epochs, then 0.0086 after the sixth and 0.0032 after
#   the tenth. Chrono initialisation sets b_z = -log U with U uniform on (1, 999), so z_t starts at 1 / (1 + U)
#   and 1 - z_t keeps a memory of 2 to 1,000 steps, where the default start (z near 1/2) forgets in a few steps
#   (the gradient picture above). One layer did not learn it, with or without chrono (at 200 steps, 6 epochs
#   of 5,000 sequences): its gate z_t sees x_t alone, so the product "value where marked" has to be formed by
#   the first layer's nonlinearity and added up by the second.
#
# Not every pairing works in this budget: the two-layer LRU on the ring 0.99..0.9999 stood at the baseline
# of the adding problem after four epochs, and the orthogonal RNN and IndRNN did not pass the copy or adding
# baselines in short pilots. The literature's other answer to the copy task, orthogonal / unitary recurrent
# matrices (rnnlab's `orthogonal` cell), needs many more updates here.
#
# The pixel tasks (entry `pixels`: MNIST read one pixel at a time, 784 steps) have measured rows for the
# LSTM (94.55 % in pixel order, 86.86 % permuted), its layer-normalised form (98.62 %, 92.97 %) and the GRU
# (98.17 %, 88.81 %). Two LRU layers (`lru2`: 128 complex units each, GELU, layer norm and a skip between
# them) reach **96.16 %** on permuted MNIST in 9 epochs, 50 minutes on two CPU threads (`rnnlab train --task
# mnist-permuted --opt split=validation --opt scaling=standard --cell lru --layers 2 --engine scratch --lr 0.002
# --batch-size 64 --epochs 9`), where the layer-normalised LSTM stops at 92.97 % within its hour. The other
# new cells' rows are in docs/results.md (`rnnlab bench --only pixels`).

# %%
print(f"the notebook ran in {time.time() - start:.0f} s")
