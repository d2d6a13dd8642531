"""Initialisation schemes, applied to a freshly built model on any engine through its portable weights.

    scheme     ``default`` keeps each engine's torch.nn-style init (uniform in +-1/sqrt(hidden));
               ``course`` draws every weight matrix from N(0, 0.1^2) and zeroes every bias, as the
               course's NumPy classes do (normalisation gains and shifts keep their ones and zeros).
    recurrent  ``orthogonal`` makes each gate's block of W_hh an orthogonal matrix (Saxe et al. 2014);
               ``identity`` makes it the identity (IRNN: Le et al. 2015, for ReLU RNNs).  A diagonal W_hh
               (the registry's ``recurrent_weight``; the IndRNN's u) is the diagonal of such a matrix:
               ``identity`` u = 1, ``orthogonal`` u = +-1 (a diagonal orthogonal matrix), random signs.
    ring       r_min,r_max[,max_phase] draws the LRU's eigenvalues on that ring of the complex plane, and
               gamma = sqrt(1 - |lambda|^2) with them (Orvieto et al. 2023; ``draws.py``; default 0.9,0.999).
    forget_bias  added to the LSTM's forget-gate bias (Jozefowicz et al. 2015), so that the cell
               starts by remembering.
    chrono     T_max > 1 sets the gate biases by chrono initialisation (Tallec & Ollivier 2018), for
               dependencies up to T_max steps (the registry's ``chrono``), with U ~ U(1, T_max - 1):
                   LSTM, minLSTM ("forget-input"):  b_f = log U,  b_i = -b_f   (b_hh's rows of both zero)
                   minGRU ("write"):                b_z = -log U   (z = 1 / (1 + U) writes, 1 - z keeps)
               so each unit starts with its own memory time scale 1 / (1 - sigma(b_f)) = 1 + U (the
               LSTM; minLSTM's normalised f / (f + i) = U / (1 + U) and minGRU's 1 / z the same),
               uniform on (2, T_max), and writes little into its memory until it learns to.

With layer norm in the cell, the normalisation removes any constant added before it (a constant
per gate block has zero deviation), so forget_bias and chrono set its shifts (``ln_bias``), the
biases that reach the gates, and leave the pre-normalisation biases alone.  Gate rows come from
the cell registry (:mod:`rnnlab.cells`).
"""
from __future__ import annotations

import numpy as np

from .cells import get_cell
from .config import InitConfig
from .draws import parse_ring, ring
from .engines.protocol import Trainable
from .rules import check_options


def apply_init(model: Trainable, init: str | InitConfig = "default", seed: int = 0, recurrent_init: str = "default",
               forget_bias: float = 0.0, chrono: int = 0, ring: str = "") -> None:
    """Re-initialise ``model`` as ``init`` says (an InitConfig, or its scheme and the keywords)."""
    config = init if isinstance(init, InitConfig) else InitConfig(init, recurrent_init, forget_bias, chrono, ring)
    check_options(model.spec.cell, None, {"forget_bias": config.forget_bias, "chrono": config.chrono,
                                          "recurrent_init": config.recurrent, "ring": config.ring})
    if config.is_default:
        return
    rng = np.random.default_rng(seed)
    weights = model.weights()
    if config.scheme == "course":
        _course(weights, rng)
    if config.recurrent != "default":
        _recurrent_blocks(weights, get_cell(model.spec.cell).recurrent_weight == "diagonal", config.recurrent, rng)
    if config.chrono or config.forget_bias:
        _gate_biases(weights, get_cell(model.spec.cell), config, rng)
    if config.ring:
        _ring(weights, parse_ring(config.ring), rng)
    model.load_weights(weights)


def _ring(weights: dict[str, np.ndarray], values: tuple[float, ...], rng: np.random.Generator) -> None:
    """The LRU's nu_log, theta_log and gamma_log of every layer and direction drawn on the ring (r_min, r_max
    [, max_phase]) (``rnnlab/draws.py``)."""
    for name in [n for n in weights if n.startswith("nu_log")]:
        suffix, value = name[len("nu_log"):], weights[name]
        drawn = ring(value.shape[0], rng, *values)
        for stem in ("nu", "theta", "gamma"):
            weights[f"{stem}_log{suffix}"] = drawn[f"ring_{stem}"].astype(value.dtype)


def _course(weights: dict[str, np.ndarray], rng: np.random.Generator) -> None:
    """W ~ N(0, 0.1^2), b = 0, for every weight and bias outside the normalisations and the LRU's eigenvalues
    (nu_log, theta_log, gamma_log keep their ring)."""
    for name, value in weights.items():
        if name.startswith(("norm.", "ln_", "nu_log", "theta_log", "gamma_log")):
            continue
        weights[name] = (np.zeros_like(value) if "bias" in name
                         else (rng.standard_normal(value.shape) * 0.1).astype(value.dtype))


def _recurrent_blocks(weights: dict[str, np.ndarray], diagonal: bool, kind: str, rng: np.random.Generator) -> None:
    """Each gate's (H, H) block of every W_hh: orthogonal (Q of a Gaussian's QR, signs fixed) or I; a diagonal
    W_hh (H,): random signs or ones."""
    for name, value in weights.items():
        if not name.startswith("weight_hh"):
            continue
        if diagonal:
            signs = np.ones(value.shape) if kind == "identity" else rng.choice([-1.0, 1.0], value.shape)
            weights[name] = signs.astype(value.dtype)
            continue
        hidden = value.shape[1]
        blocks = []
        for _ in range(value.shape[0] // hidden):
            if kind == "identity":
                blocks.append(np.eye(hidden))
            else:
                q, r = np.linalg.qr(rng.standard_normal((hidden, hidden)))
                blocks.append(q * np.sign(np.diag(r)))
        weights[name] = np.concatenate(blocks).astype(value.dtype)


def _gate_biases(weights: dict[str, np.ndarray], cell, config: InitConfig, rng: np.random.Generator) -> None:
    """Chrono or forget-gate bias on the biases that reach the gates (see the module docstring)."""
    layer_norm = any(name.startswith("ln_bias") for name in weights)
    gate_bias, other_bias = ("ln_bias", None) if layer_norm else ("bias_ih", "bias_hh")
    for name, value in weights.items():
        reaches_gates = name.startswith(gate_bias)
        if not (reaches_gates or (other_bias and name.startswith(other_bias))):
            continue
        hidden = value.shape[0] // cell.num_gates
        value = value.copy()
        if cell.chrono == "write":                   # minGRU: z writes, 1 - z keeps; no b_hh, no forget_bias
            value[cell.gate_slice("z", hidden)] = -np.log(rng.uniform(1.0, config.chrono - 1.0, hidden))
            weights[name] = value
            continue
        forget, write = cell.gate_slice("f", hidden), cell.gate_slice("i", hidden)
        if config.chrono and reaches_gates:
            b_f = np.log(rng.uniform(1.0, config.chrono - 1.0, hidden))
            value[write], value[forget] = -b_f, b_f
        elif config.chrono:
            value[write], value[forget] = 0.0, 0.0
        elif reaches_gates:
            value[forget] += config.forget_bias
        weights[name] = value
