"""Each cell's step for one unit of one sequence, forward and backward: the compiled equations, written once.

The engines' compiled loops walk their own layouts (the NumPy engine's feature-major ``(G*H, N)`` in
``numpy/fused_steps.py``, rnnlab.torch's batch-major ``(B, G*H)`` in ``torch/kernels.py``) and call
these for each unit j of each sequence n; numba inlines them (``inline="always"``), so a loop of them
compiles as if written out in place and LLVM can still vectorise it.  Arguments and results are numbers
of one precision (float32 or float64); the pre-activations already hold input and recurrent parts,
a = (W_ih x_t + b) + (W_hh h_{t-1}).

A forward function comes in two flavours that differ only in the tanh (``scalar.py``): the plain
names use :func:`~rnnlab.kernels.scalar.tanh_` (tanh(x) = x near 0; the NumPy engine's), the
``*_vector`` names :func:`~rnnlab.kernels.scalar.vector_tanh` (branch-free; rnnlab.torch's).  Both
are made by one function from the same lines.  Backward functions read the activations only and have
one flavour.  Where the reference NumPy steps are (``numpy/cells.py``), the same equations are
written out for whole arrays; the tests check the two against each other.

    lstm_unit_forward(a_i, a_f, a_g, a_o, c_prev) -> (i, f, g, o, c, tanh_c, h)
        i = sigma(a_i)   f = sigma(a_f)   g = tanh(a_g)   o = sigma(a_o)
        c = f c_prev + i g                h = o tanh(c)
    lstm_unit_backward(dh, dc, i, f, g, o, c_prev, tanh_c) -> (da_i, da_f, da_g, da_o, dc_prev)
        dc_t = dc + dh o (1 - tanh_c^2)          da_o = dh tanh_c o (1 - o)
        da_i = dc_t g i (1 - i)    da_g = dc_t i (1 - g^2)    da_f = dc_t c_prev f (1 - f)
        dc_prev = dc_t f
    rnn_unit_forward(a, relu) -> h                 h = tanh(a), or relu(a) (NaN stays NaN, as torch.relu)
    rnn_unit_backward(dh, h, relu) -> da           da = dh (1 - h^2), or dh [h > 0]
    gru_unit_forward(s_r, s_z, x_n, u_n, h_prev) -> (r, z, n, h)
        r = sigma(s_r)   z = sigma(s_z)   (s = x + u)   n = tanh(x_n + r u_n)   h = n + z (h_prev - n)
    gru_unit_backward(dh, r, z, n, u_n, h_prev) -> (da_r, da_z, da_n, du_n, dh_direct)
        dh_direct = dh z       da_z = dh (h_prev - n) z (1 - z)       da_n = dh (1 - z)(1 - n^2)
        da_r = da_n u_n r (1 - r)       du_n = da_n r

The IndRNN's step is the RNN's on a = W_ih x_t + b + u * h_{t-1}: its engines call the RNN's units.
"""
from __future__ import annotations

from .scalar import inline, one_like, sigmoid, tanh_, vector_sigmoid, vector_tanh


def _forward_units(tanh, sigma):
    """The forward units with this tanh and sigmoid (see the module docstring)."""

    def lstm_unit_forward(a_i, a_f, a_g, a_o, c_prev):
        i = sigma(a_i)
        f = sigma(a_f)
        g = tanh(a_g)
        o = sigma(a_o)
        c = f * c_prev + i * g                  # c_t = f c_{t-1} + i g
        tanh_c = tanh(c)
        return i, f, g, o, c, tanh_c, o * tanh_c    # h_t = o tanh(c_t)

    def rnn_unit_forward(a, relu):
        zero = one_like(a) - one_like(a)
        return (zero if a < zero else a) if relu else tanh(a)

    def gru_unit_forward(s_r, s_z, x_n, u_n, h_prev):
        r = sigma(s_r)
        z = sigma(s_z)
        n = tanh(x_n + r * u_n)                 # n = tanh(x_n + r (W_hn h_{t-1} + b_hn))
        return r, z, n, n + z * (h_prev - n)    # h_t = (1 - z) n + z h_{t-1}

    return inline(lstm_unit_forward), inline(rnn_unit_forward), inline(gru_unit_forward)


lstm_unit_forward, rnn_unit_forward, gru_unit_forward = _forward_units(tanh_, sigmoid)
lstm_unit_forward_vector, rnn_unit_forward_vector, gru_unit_forward_vector = _forward_units(vector_tanh,
                                                                                            vector_sigmoid)


@inline
def lstm_unit_backward(dh, dc, i, f, g, o, c_prev, tanh_c):
    one = one_like(dh)
    dct = dc + dh * o * (one - tanh_c * tanh_c)       # dL/dc_t: from step t+1 and through h_t
    return (dct * g * i * (one - i),                  # da_i
            dct * c_prev * f * (one - f),             # da_f
            dct * i * (one - g * g),                  # da_g
            dh * tanh_c * o * (one - o),              # da_o
            dct * f)                                  # dc_{t-1}


@inline
def rnn_unit_backward(dh, h, relu):
    one = one_like(dh)
    zero = one - one
    return (dh if h > zero else zero) if relu else dh * (one - h * h)


@inline
def gru_unit_backward(dh, r, z, n, u_n, h_prev):
    one = one_like(dh)
    da_n = dh * (one - z) * (one - n * n)
    return (da_n * u_n * r * (one - r),               # da_r
            dh * (h_prev - n) * z * (one - z),        # da_z
            da_n,                                     # da_n
            da_n * r,                                 # du_n
            dh * z)                                   # the direct part of dL/dh_{t-1}
