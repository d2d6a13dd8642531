"""The scan of a linear recurrence h_t = a_t * h_{t-1} + b_t, forward and backward, as compiled loops (numba).

Both engines call these on 3-D views ``(B, T, M)``, time on the middle axis, M values per step contiguous:
rnnlab.torch's batch-major tensors (B sequences, T steps, M = H units) as they are, and the NumPy engine's
time-major ``(T, H, N)`` arrays as one "sequence" (B = 1) of T steps of M = H*N values (the recurrence is
elementwise, so the layout inside a step does not matter).  One pass over time, the M values of a step in
one vectorised inner loop (each step reads a_t, b_t and h_{t-1}, still in cache, and writes h_t once): the
work of the step-by-step loop without its Python calls and its extra passes over memory.  The dependence
through time stays; what a parallel (associative) scan gains in depth it pays in work (``numpy/linear.py``
keeps the recursive-doubling scan as the vectorised reference), and on a CPU of a few cores the work is the
cost.

    forward  (reverse=False):  out[:, t] = a_t * out[:, t-1] + b_t,   t = 0 .. T-1,  out[:, -1] = h0
    reverse  (reverse=True):   out[:, t] = a_t * out[:, t+1] + b_t,   t = T-1 .. 0,  out[:, T] = h0

The backward pass is the same scan run the other way (conj(.) is the identity on real numbers; on complex
ones it is the gradient convention of PyTorch, dL/dz = dL/dRe z + i dL/dIm z, so that a complex recurrence,
the LRU's, runs through the same loop)::

    dh_t  = g_t + conj(a_{t+1}) * dh_{t+1}        (g_t = dL/dh_t from the outputs; the last dh also gets dL/dh_n)
    dL/da_t = dh_t * conj(h_{t-1})     dL/db_t = dh_t      dL/dh0 = conj(a_0) * dh_0

``a`` may have one row for every sequence (first axis 1) and one for every step (middle axis 1): the LRU's
lambda, the same at every step.
"""
from __future__ import annotations

from .scalar import kernel


@kernel
def scan_forward(a, b, h0, out, reverse):
    """out[n, t] = a[n, t] out[n, t-1] + b[n, t] (reverse: out[n, t+1]), out[n, -1] (out[n, T]) = h0[n].
    a: (B or 1, T or 1, M); b, out: (B, T, M); h0: (B, M)."""
    B, T, M = b.shape
    for n in range(B):
        an = a[n if a.shape[0] > 1 else 0]
        hp = h0[n]
        for k in range(T):
            t = T - 1 - k if reverse else k
            at, bt, hc = an[t if an.shape[0] > 1 else 0], b[n, t], out[n, t]
            for m in range(M):
                hc[m] = at[m] * hp[m] + bt[m]
            hp = hc


@kernel
def scan_backward(a, g, h0, out, carry, da, reverse):
    """The reverse scan: g (B, T, M) holds dL/dh_t from the outputs and becomes dh_t; carry (B, M) holds dL/dh_n
    and becomes dL/dh0; da, shaped as a and zero, receives dL/da = sum of dh_t conj(h_{t-1}) over the
    sequences and steps that share an a (none: da (B, T, M) holds each step's).  a, h0 and out as
    :func:`scan_forward` had and left them.  A forward direction's dh runs from t = T-1 down to 0, a reverse
    one's from 0 up to T-1."""
    B, T, M = g.shape
    for n in range(B):
        an, cn, dan = a[n if a.shape[0] > 1 else 0], carry[n], da[n if a.shape[0] > 1 else 0]
        for k in range(T):
            t = k if reverse else T - 1 - k
            at, dat = an[t if an.shape[0] > 1 else 0], dan[t if an.shape[0] > 1 else 0]
            first = t == (T - 1 if reverse else 0)
            hp = h0[n] if first else out[n, t + 1 if reverse else t - 1]
            gt = g[n, t]
            for m in range(M):
                d = gt[m] + cn[m]             # dh_t = g_t + conj(a_{t+1}) dh_{t+1}
                gt[m] = d
                cn[m] = at[m].conjugate() * d
                dat[m] += d * hp[m].conjugate()   # dL/da_t = dh_t conj(h_{t-1})
