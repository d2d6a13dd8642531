"""First values of the cell registry's parameter declarations, drawn with NumPy: every engine's, in one place.

Each declaration names its initialisation (``Param.init``, a key of ``cells.INITS``)::

    uniform       U(-1/sqrt(H), 1/sqrt(H))          torch.nn's, for weights and biases
    uniform01     U(0, 1)                           the IndRNN's u
    ones, zeros                                     layer-norm gains and shifts, the LRU's input bias
    normal_in     N(0, 1/(2 D))                     the LRU's B = B_re + i B_im (Orvieto et al. 2023)
    normal_state  N(0, 1/H)                         the LRU's C = C_re + i C_im
    normal_skip   N(0, 1/D)                         the LRU's skip D (variance kept from x to D x)
    ring_nu, ring_theta, ring_gamma                 the LRU's ring initialisation, drawn together (:func:`ring`)

The ring initialisation (Orvieto et al. 2023, Lemma 3.2): lambda = r e^(i phi) uniform on the ring
r_min <= |lambda| <= r_max of the complex plane, phase 0 <= phi <= max_phase, stored through the
exponential parameterisation that keeps |lambda| < 1 whatever the optimiser does::

    u1, u2 ~ U(0, 1)
    nu_log    = log(-log(r) )       with  r^2 = u1 (r_max^2 - r_min^2) + r_min^2     (so r = exp(-exp(nu_log)))
    theta_log = log(max_phase u2)                                                  (phi = exp(theta_log))
    gamma_log = log(sqrt(1 - r^2))                                                 (the normalisation gamma)

so that lambda = exp(-exp(nu_log) + i exp(theta_log)) and gamma = sqrt(1 - |lambda|^2) at the start.
"""
from __future__ import annotations

import math

import numpy as np

from .cells import Param

R_MIN, R_MAX, MAX_PHASE = 0.9, 0.999, 2 * math.pi       # the LRU's ring by default (the paper's long-range one)
_NORMAL_STD = {"normal_in": lambda D, H: math.sqrt(1.0 / (2 * D)), "normal_state": lambda D, H: math.sqrt(1.0 / H),
               "normal_skip": lambda D, H: math.sqrt(1.0 / D)}


def parse_ring(text: str) -> tuple[float, ...]:
    """"R_MIN,R_MAX" or "R_MIN,R_MAX,MAX_PHASE" (the ``--ring`` setting) -> the numbers, checked; "" -> ()."""
    if text in ("", None):
        return ()
    try:
        values = tuple(float(v) for v in str(text).split(","))
    except ValueError:
        values = ()
    if len(values) not in (2, 3):
        raise ValueError(f"ring: expected R_MIN,R_MAX or R_MIN,R_MAX,MAX_PHASE (numbers), got {text!r}; "
                         f"for example --ring 0.9,0.999")
    check_ring(*values[:2], values[2] if len(values) == 3 else MAX_PHASE)
    return values


def check_ring(r_min: float, r_max: float, max_phase: float) -> None:
    """0 <= r_min < r_max < 1 and 0 < max_phase <= 2 pi, or a ValueError naming the values."""
    if not (0.0 <= r_min < r_max < 1.0) or not (0.0 < max_phase <= 2 * math.pi + 1e-12):
        raise ValueError(f"ring: expected 0 <= r_min < r_max < 1 and 0 < max_phase <= 2 pi, got r_min={r_min!r}, "
                         f"r_max={r_max!r}, max_phase={max_phase!r}; for example --ring 0.9,0.999")


def ring(size: int, rng: np.random.Generator, r_min: float = R_MIN, r_max: float = R_MAX,
         max_phase: float = MAX_PHASE) -> dict[str, np.ndarray]:
    """nu_log, theta_log and gamma_log of ``size`` eigenvalues on the ring (the module docstring), float64."""
    check_ring(r_min, r_max, max_phase)
    u1, u2 = rng.uniform(size=size), rng.uniform(size=size)
    r2 = u1 * (r_max ** 2 - r_min ** 2) + r_min ** 2
    r2 = np.maximum(r2, 1e-300)                         # r_min = 0: keep log(r) finite
    return {"ring_nu": np.log(-0.5 * np.log(r2)), "ring_theta": np.log(max_phase * np.maximum(u2, 1e-12)),
            "ring_gamma": np.log(np.sqrt(1.0 - r2))}


def first_values(decls: list[tuple[str, tuple[int, ...], Param]], hidden_size: int, rng: np.random.Generator,
                 dtype: np.dtype) -> dict[str, np.ndarray]:
    """{name: array} as each declaration's ``init`` says, drawn from ``rng`` in the declarations' order (the same
    seed gives the same values).  A ring is drawn at its ``ring_nu`` and read by the ``ring_*`` after it."""
    params, drawn = {}, {}
    for name, shape, p in decls:
        uniform = p.uniform_range(hidden_size)
        if uniform is not None:
            value = rng.uniform(*uniform, size=shape)
        elif p.fill is not None:
            value = np.full(shape, p.fill)
        elif p.init in _NORMAL_STD:
            fan_in = shape[1] if len(shape) > 1 else shape[0]
            value = rng.standard_normal(shape) * _NORMAL_STD[p.init](fan_in, hidden_size)
        else:
            if p.init == "ring_nu":
                drawn = ring(shape[0], rng)
            value = drawn[p.init]
        params[name] = np.asarray(value).astype(dtype)
    return params
