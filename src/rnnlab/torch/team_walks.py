"""The LSTM node's walks through time, compiled whole, each thread of torch's team walking its own rows.

The entries are numba ``cfunc``s that :func:`rnnlab.torch.team.run` hands to ``GOMP_parallel``; each reads the
walk's sizes and its tensors' addresses from an int64 block (laid out by :func:`walk_forward` and
:func:`walk_back`), takes its rows [k B / n, (k + 1) B / n) by its thread number k, and walks them through
every step.  The equations are those of the step-by-step walk (``fused.py``, ``kernels.py``), whose per-row
loops these call; only the loop over steps and the recurrent products moved inside:

    forward, step t (rows lo .. hi - 1):   a_t += b                       (where the input product left it out)
                                           a_t += h_{t-1} W_hh^T          (skipped at the first step from h0 = 0)
                                           [i, f, g, o], c_t, tanh(c_t), h_t from a_t and c_{t-1};  out_t = h_t
    backward, step t, from the last:       dh += dL/dh_t (the output's gradient)
                                           dA_t and dc <- dL/dc_{t-1} from dh, dc;  d_bias += sum_n dA_t
                                           dh <- dA_t W_hh                (skipped at the first step when h0
                                                                           needs no gradient)

Both dtypes the compiled kernels take (float32 and float64) are branches of each entry, chosen by the block's
itemsize field.  Compiled on first import and cached on disk; like every cached kernel here, they inline the
per-row loops of ``kernels.py`` (and the units of ``rnnlab.kernels.units``): after editing those, clear the
caches (see :mod:`rnnlab.kernels`).
"""
from __future__ import annotations

import numba
import numpy as np
import torch
from numba import types

from ..kernels.scalar import inline, kernel, one_like
from . import team
from .kernels import lstm_backward_rows, lstm_forward_rows
from .team import (
    GEMM,
    NO,
    THREAD_NUMBER,
    TRANS,
    fortran_gemm,
    pack_b,
    packed_b_gemm,
    packing,
    pointer,
    thread_number,
    threads_for,
)

_ENTRY = types.void(types.CPointer(types.int64))
# The walks, with the per-row loops they inline, may contract a * b + c into one fused multiply-add (one rounding
# instead of two; nothing else of fastmath): the rational tanh's polynomials and the cell's updates are chains
# of them, and the forward's elementwise part took a quarter less time (10.2 against 7.3 us per step for 32 rows
# of 128 units, float32, on the Intel Xeon).
walk_kernel = numba.njit(cache=True, nogil=True, error_model="numpy", fastmath={"contract"})
# The block: 13 fields, the same for both walks (_FLAG: the forward's zero h0, the backward's need of dh0; _PACK,
# _COMPUTE: the addresses of sgemm_pack_ and sgemm_compute_, 0 for the plain gemm at _GEMM; _PACKED: thread 0's
# packing buffer, each thread's _PACK_SIZE bytes further) ...
(_ITEMSIZE, _T, _B, _H, _THREADS, _THREAD_NUMBER, _GEMM, _REVERSE, _FLAG, _PACK, _COMPUTE, _PACKED,
 _PACK_SIZE) = range(13)
_ARRAYS = 13
# ... then the forward's 7: the addresses of gates, hs, cs, tanhs, the output, W_hh and the bias (0: none, it is
# in the gates already); or the backward's 13: the
# addresses of gates, cs, tanhs, dA, dh, dc, W_hh, the bias's gradient (a row per thread) and d_out, then d_out's
# three strides and its span in elements (0: no output gradient)
_FORWARD_ARRAYS = 7
_BACKWARD_ARRAYS = 13


@walk_kernel
def lstm_forward_walk(gates, hs, cs, tanhs, out, W_hh, bias, lo, hi, reverse, zero_start, gemm, pack, compute,
                      packed):
    """Rows lo .. hi - 1 through every step: gates (T, B, 4H) holds W_ih x_t (+ b) on entry and [i, f, g, o] on
    exit; bias (4H,), where not empty, is added to each step's rows first; hs, cs (T + 1, B, H) hold h0, c0 at the
    start (index T when ``reverse``, else 0) and every state on exit; out (T, B, H) gets h_t at step t (the node's
    output: its own tensor, written while h_t is in cache).  With ``pack`` (float32), W_hh^T is packed once into
    ``packed`` and every step's product reads it packed."""
    T, _, G = gates.shape
    H = G // 4
    one = one_like(gates[0, 0, 0])
    if pack:
        pack_b(pack, TRANS, hi - lo, G, H, W_hh.ctypes.data, H, packed)
    for s in range(T):
        t = T - 1 - s if reverse else s
        prev, cur = (t + 1, t) if reverse else (t, t + 1)
        if bias.shape[0]:
            for n in range(lo, hi):
                row = gates[t, n]
                for j in range(G):
                    row[j] += bias[j]
        if zero_start and s == 0:
            pass
        elif pack:
            packed_b_gemm(compute, hi - lo, G, H, hs[prev, lo:].ctypes.data, H, packed, one, gates[t, lo:].ctypes.data,
                          G)
        else:
            fortran_gemm(gemm, NO, TRANS, hi - lo, G, H, one, hs[prev, lo:].ctypes.data, H, W_hh.ctypes.data, H,
                         one, gates[t, lo:].ctypes.data, G)
        lstm_forward_rows(gates, hs, cs, tanhs, t, prev, cur, lo, hi)
        for n in range(lo, hi):
            out[t, n] = hs[cur, n]


@walk_kernel
def lstm_backward_walk(gates, cs, tanhs, dA, dh, dc, W_hh, d_bias, d_out, strides, lo, hi, reverse, need_dh0, gemm,
                       pack, compute, packed):
    """Rows lo .. hi - 1 back through every step: dA (T, B, 4H) written; dh, dc (B, H) hold dL/dh_n, dL/dc_n on
    entry and dL/dh0 (when ``need_dh0``), dL/dc0 on exit; d_bias (4H,) gets the sum of these rows' dA_t over every
    step (this thread's part of the bias's gradient).  d_out: the output's gradient as a flat run of memory,
    element (t, n, j) at t s_0 + n s_1 + j s_2 (``strides``; an empty run: none), added at every step (adding its
    zeros costs less than finding the steps without them).  With ``pack`` (float32), W_hh is packed once into
    ``packed`` and every step's product reads it packed."""
    T, _, G = gates.shape
    H = G // 4
    one = one_like(gates[0, 0, 0])
    if pack:
        pack_b(pack, NO, hi - lo, H, G, W_hh.ctypes.data, H, packed)
    s0, s1, s2 = strides[0], strides[1], strides[2]
    d_bias[:] = 0
    for s in range(T):
        t = s if reverse else T - 1 - s
        if d_out.shape[0]:
            for n in range(lo, hi):
                for j in range(H):
                    dh[n, j] += d_out[t * s0 + n * s1 + j * s2]
        lstm_backward_rows(gates, cs, tanhs, dA, dh, dc, t, t + 1 if reverse else t, lo, hi)
        for n in range(lo, hi):
            d_bias += dA[t, n]
        if s == T - 1 and not need_dh0:
            return
        if pack:
            packed_b_gemm(compute, hi - lo, H, G, dA[t, lo:].ctypes.data, G, packed, one - one, dh[lo:].ctypes.data, H)
        else:
            fortran_gemm(gemm, NO, NO, hi - lo, H, G, one, dA[t, lo:].ctypes.data, G, W_hh.ctypes.data, H,
                         one - one, dh[lo:].ctypes.data, H)


@kernel
def _part(b):
    """This thread's rows, [k B / n, (k + 1) B / n) for thread k of n, and its packed buffer's address."""
    k, B, n = thread_number(b[_THREAD_NUMBER]), b[_B], b[_THREADS]
    return k * B // n, (k + 1) * B // n, b[_PACKED] + k * b[_PACK_SIZE]


@inline
def _view(address, shape, zero):
    """The array of ``shape`` at ``address``, of numbers of ``zero``'s type."""
    return numba.carray(pointer(address, zero), shape)


@kernel
def _forward(b, zero):
    """The forward walk of this thread's rows, its arrays read from the block ``b`` as numbers of ``zero``'s type."""
    T, B, H = b[_T], b[_B], b[_H]
    lo, hi, packed = _part(b)
    a = b[_ARRAYS:]
    lstm_forward_walk(_view(a[0], (T, B, 4 * H), zero), _view(a[1], (T + 1, B, H), zero),
                      _view(a[2], (T + 1, B, H), zero), _view(a[3], (T, B, H), zero),
                      _view(a[4], (T, B, H), zero), _view(a[5], (4 * H, H), zero),
                      _view(a[6], (4 * H if a[6] else 0,), zero),
                      lo, hi, b[_REVERSE] != 0, b[_FLAG] != 0, b[_GEMM], b[_PACK], b[_COMPUTE], packed)


@kernel
def _backward(b, zero):
    """The backward walk of this thread's rows, its arrays read from the block ``b`` as numbers of ``zero``'s type."""
    T, B, H = b[_T], b[_B], b[_H]
    lo, hi, packed = _part(b)
    a = b[_ARRAYS:]
    d_bias = a[7] + thread_number(b[_THREAD_NUMBER]) * 4 * H * b[_ITEMSIZE]     # this thread's row
    lstm_backward_walk(_view(a[0], (T, B, 4 * H), zero), _view(a[1], (T + 1, B, H), zero),
                       _view(a[2], (T, B, H), zero), _view(a[3], (T, B, 4 * H), zero),
                       _view(a[4], (B, H), zero), _view(a[5], (B, H), zero),
                       _view(a[6], (4 * H, H), zero), _view(d_bias, (4 * H,), zero),
                       _view(a[8], (a[12],), zero), a[9:12],
                       lo, hi, b[_REVERSE] != 0, b[_FLAG] != 0, b[_GEMM], b[_PACK], b[_COMPUTE], packed)


@numba.cfunc(_ENTRY, cache=True)
def forward_entry(block):
    """GOMP_parallel's function for the forward walk (its block: :func:`walk_forward`), in the block's precision."""
    b = numba.carray(block, (_ARRAYS + _FORWARD_ARRAYS,))
    if b[_ITEMSIZE] == 4:
        _forward(b, np.float32(0))
    else:
        _forward(b, 0.0)


@numba.cfunc(_ENTRY, cache=True)
def backward_entry(block):
    """GOMP_parallel's function for the backward walk (its block: :func:`walk_back`), in the block's precision."""
    b = numba.carray(block, (_ARRAYS + _BACKWARD_ARRAYS,))
    if b[_ITEMSIZE] == 4:
        _backward(b, np.float32(0))
    else:
        _backward(b, 0.0)


def _packed_buffers(dtype: torch.dtype, threads: int, rows: int, n: int, k: int) -> tuple[torch.Tensor | None, list]:
    """One buffer for MKL's packed op(B) (k x n) per thread (float32 only; rows: the most any thread has), and
    the block's fields [pack, compute, buffer address, bytes per thread] (zeros: plain gemm)."""
    size, pack, compute = packing(rows, n, k) if dtype == torch.float32 else (0, 0, 0)
    if not size:
        return None, [0, 0, 0, 0]
    size = -(-size // 64) * 64                       # each thread's buffer on a 64-byte boundary
    buffers = torch.empty(threads * size, dtype=torch.uint8)
    return buffers, [pack, compute, buffers.data_ptr(), size]


def _flat(x: torch.Tensor) -> list[int]:
    """x's three strides and the span of memory its elements cover (in elements)."""
    strides = list(x.stride())
    return [*strides, 1 + sum((n - 1) * s for n, s in zip(x.shape, strides))]


def walk_forward(gates: torch.Tensor, hs: torch.Tensor, cs: torch.Tensor, tanhs: torch.Tensor, W_hh: torch.Tensor,
                 reverse: bool, zero_start: bool, bias: torch.Tensor | None = None) -> torch.Tensor:
    """The forward walk on torch's team (see :func:`lstm_forward_walk`): every tensor contiguous but W_hh and
    the bias (None: already in the gates).  Returns the output h_1 .. h_T (T, B, H), a tensor of its own."""
    T, B, G = gates.shape
    threads, W = threads_for(B), W_hh.contiguous()      # held here: the block keeps only addresses
    b = None if bias is None else bias.contiguous()
    buffers, packed = _packed_buffers(gates.dtype, threads, -(-B // threads), G, G // 4)
    head = [gates.element_size(), T, B, G // 4, threads, THREAD_NUMBER, GEMM[gates.dtype], int(reverse),
            int(zero_start), *packed]
    out = torch.empty_like(tanhs)
    addresses = [t.data_ptr() for t in (gates, hs, cs, tanhs, out, W)] + [0 if b is None else b.data_ptr()]
    block = np.array(head + addresses, dtype=np.int64)
    team.run(forward_entry.address, block, threads)
    return out


def walk_back(gates: torch.Tensor, cs: torch.Tensor, tanhs: torch.Tensor, dA: torch.Tensor, dh: torch.Tensor,
              dc: torch.Tensor, W_hh: torch.Tensor, d_out: torch.Tensor | None, reverse: bool,
              need_dh0: bool) -> torch.Tensor:
    """The backward walk on torch's team (see :func:`lstm_backward_walk`): every tensor contiguous but W_hh and
    d_out (any strides; None where the output has no gradient).  Returns the bias's gradient, sum_t sum_n dA_t."""
    T, B, G = gates.shape
    threads, W = threads_for(B), W_hh.contiguous()      # held here: the block keeps only addresses
    buffers, packed = _packed_buffers(gates.dtype, threads, -(-B // threads), G // 4, G)
    d_bias = torch.empty(threads, G, dtype=gates.dtype)
    head = [gates.element_size(), T, B, G // 4, threads, THREAD_NUMBER, GEMM[gates.dtype], int(reverse),
            int(need_dh0), *packed]
    addresses = [t.data_ptr() for t in (gates, cs, tanhs, dA, dh, dc, W, d_bias)]
    addresses += [d_out.data_ptr(), *_flat(d_out)] if d_out is not None else [dh.data_ptr(), 0, 0, 0, 0]
    team.run(backward_entry.address, np.array(head + addresses, dtype=np.int64), threads)
    return d_bias.sum(0)
