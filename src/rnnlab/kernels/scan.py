"""The scan of a linear recurrence h_t = a_t * h_{t-1} + b_t, forward and backward, as compiled loops (numba).

Both engines call these on 2-D views ``(T, M)`` of their own layouts: the NumPy engine's ``(T, H, N)``
feature-major arrays and rnnlab.torch's ``(T, B, H)`` batch-major tensors are both contiguous blocks of
M = H*N (or B*H) values per step, and the recurrence is elementwise, so the layout inside a step does not
matter.  One pass over time, the M values of a step in one vectorised inner loop (each step reads a_t, b_t
and h_{t-1}, which is still in cache, and writes h_t once): the work of the step-by-step loop without its
two NumPy calls, and their passes over memory, per step.  The sequential dependence through time stays;
what a parallel (associative) scan would gain in depth it pays in work (``numpy/linear.py`` keeps the
recursive-doubling scan as the vectorised reference), and on a CPU of a few cores the work is the cost.

The states live in one array ``hs`` (T+1, M) in the direction's own layout, as the engines keep them::

    forward direction  (reverse=False):  hs[0] = h0,  hs[t+1] = a_t * hs[t]   + b_t    t = 0 .. T-1
    reverse direction  (reverse=True):   hs[T] = h0,  hs[t]   = a_t * hs[t+1] + b_t    t = T-1 .. 0

and the backward pass is the same scan run the other way (conj(.) is the identity on real numbers; on
complex ones it is the gradient convention of PyTorch, dL/dz = dL/dRe z + i dL/dIm z, so that a complex
recurrence, the LRU's, runs through the same loop)::

    dh_t  = g_t + conj(a_{t+1}) * dh_{t+1}        (g_t = dL/dh_t from the outputs; the last dh also gets dL/dh_n)
    dL/da_t = dh_t * conj(h_{t-1})     dL/db_t = dh_t      dL/dh0 = conj(a_0) * dh_0

``a`` may have a single row (1, M): the same a for every step (the LRU's lambda).
"""
from __future__ import annotations

from .scalar import kernel


@kernel
def scan_forward(a, b, hs, reverse):
    """hs[t+1] = a[t] hs[t] + b[t] (reverse: hs[t] = a[t] hs[t+1] + b[t]), hs[0] (hs[T]) the initial state.
    a: (T, M) or (1, M); b: (T, M); hs: (T+1, M), written in place."""
    T, M = b.shape
    shared = a.shape[0] == 1
    for k in range(T):
        t = T - 1 - k if reverse else k
        prev, cur = (t + 1, t) if reverse else (t, t + 1)
        at = a[0] if shared else a[t]
        bt, hp, hc = b[t], hs[prev], hs[cur]
        for m in range(M):
            hc[m] = at[m] * hp[m] + bt[m]


@kernel
def scan_backward(a, g, hs, carry, da, reverse):
    """The reverse scan: g (T, M) holds dL/dh_t from the outputs and becomes dh_t; carry (M,) holds dL/dh_n
    and becomes dL/dh0; da (T, M) receives dL/da_t = dh_t conj(h_{t-1}).  a: (T, M) or (1, M); hs: (T+1, M)
    as :func:`scan_forward` left it.  A forward direction's dh runs from t = T-1 down to 0, a reverse one's
    from 0 up to T-1 (h_{t-1} is then hs[t+1])."""
    T, M = g.shape
    shared = a.shape[0] == 1
    for k in range(T):
        t = k if reverse else T - 1 - k
        at = a[0] if shared else a[t]
        gt, dat, hp = g[t], da[t], hs[t + 1 if reverse else t]
        for m in range(M):
            d = gt[m] + carry[m]            # dh_t = g_t + conj(a_{t+1}) dh_{t+1}
            gt[m] = d
            carry[m] = at[m].conjugate() * d
            dat[m] = d * hp[m].conjugate()  # dL/da_t = dh_t conj(h_{t-1})
