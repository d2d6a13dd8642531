"""Assignment 2's per-sample NumPy classes, complete, built on the engine's cell steps.

Each model reads one sequence ``X`` of shape ``(time, input_dim)`` and keeps the course's
column-vector parameter names; ``backward`` runs BPTT over the cached sequence, clips every
gradient elementwise to [-clip_value, clip_value] and applies plain SGD, as the notebook says.

    RNN:   h_t = tanh(Wx x_t + Wh h_{t-1} + bh)
    LSTM:  i_t = sigma(Wi x_t + Ui h_{t-1} + bi)      f_t = sigma(Wf x_t + Uf h_{t-1} + bf)
           o_t = sigma(Wo x_t + Uo h_{t-1} + bo)      c~_t = tanh(Wc x_t + Uc h_{t-1} + bc)
           c_t = f_t * c_{t-1} + i_t * c~_t           h_t = o_t * tanh(c_t)
    GRU:   r_t = sigma(Wr x_t + Ur h_{t-1} + br)      z_t = sigma(Wz x_t + Uz h_{t-1} + bz)
           n_t = tanh(Wn x_t + bn + r_t * (Un h_{t-1}))
           h_t = (1 - z_t) * n_t + z_t * h_{t-1}
    all:   y = Wy h_T + by

Inside, the per-gate matrices are row blocks of one fused matrix in torch.nn's gate order
(LSTM i, f, g=c~, o; GRU r, z, n), so the engine's fused step functions do the work; the
course names (``model.Wi`` ...) are views of those blocks and can be read, updated in place
or assigned.  Weights are drawn as ``np.random.randn(...) * 0.1`` and biases start at zero.
"""
from __future__ import annotations

import numpy as np

from .cells import get_cell
from .numpy import cells


class _Block:
    """A course parameter that is a row block of a fused engine array (a view, assignable):
    the block of gate ``letter`` (the cell registry's letters: LSTM i, f, g, o; GRU r, z, n)."""

    def __init__(self, fused: str, letter: str, column: bool = False):
        self.fused, self.letter, self.column = fused, letter, column

    def __set_name__(self, owner, name):
        self.name = name

    def __get__(self, obj, objtype=None):
        if obj is None:
            return self
        block = getattr(obj, self.fused)[obj.cell_def.gate_slice(self.letter, obj.hidden_dim)]
        return block[:, None] if self.column else block

    def __set__(self, obj, value):
        view = self.__get__(obj)
        value = np.asarray(value, dtype=np.float64)
        if value.shape != view.shape:
            raise ValueError(f"{self.name}: expected shape {view.shape}, got shape {value.shape}")
        view[...] = value


class _ClassicModel:
    cell = ""

    def __init__(self, input_dim: int, hidden_dim: int, output_dim: int):
        self.input_dim, self.hidden_dim, self.output_dim = input_dim, hidden_dim, output_dim
        self.cell_def = get_cell(self.cell)
        G, H = self.cell_def.num_gates, hidden_dim
        scale = 0.1
        self._W_ih = np.random.randn(G * H, input_dim) * scale   # rows: gate blocks
        self._W_hh = np.random.randn(G * H, H) * scale
        self._b = np.zeros(G * H)
        self.Wy = np.random.randn(output_dim, H) * scale
        self.by = np.zeros((output_dim, 1))
        self.cache = []

    # the course's activation helpers
    @staticmethod
    def tanh(x: np.ndarray) -> np.ndarray:
        return np.tanh(x)

    @staticmethod
    def sigmoid(x: np.ndarray) -> np.ndarray:
        return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(x)))

    def _check_input(self, X) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != self.input_dim:
            raise ValueError(f"X: expected shape (sequence_length, {self.input_dim}), got shape {X.shape}")
        if X.shape[0] < 1:
            raise ValueError("X: expected at least one time step, got an empty sequence")
        return X

    def forward(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """X: (time, input_dim) -> (y (output_dim, 1), h_T (hidden_dim, 1))."""
        X = self._check_input(X)
        T, H = X.shape[0], self.hidden_dim
        # input part of all steps in one product, one column per step: (T, G*H, 1)
        gates = np.ascontiguousarray((X @ self._W_ih.T + self._b)[:, :, None])
        hs = np.zeros((T + 1, H, 1))                 # hs[t + 1] = h_t as a column
        self._run_forward(gates, hs)
        self._X, self._gates, self._hs = X, gates, hs
        # the course's cache: one tuple per step, (h_prev, x_t, h_t) as columns
        self.cache = [(hs[t], X[t][:, None], hs[t + 1]) for t in range(T)]
        h_T = hs[T]
        y = self.Wy @ h_T + self.by
        return y, h_T

    def backward(self, dLdy: np.ndarray, learning_rate: float = 0.001, clip_value: float = 5.0) -> None:
        """BPTT over the cached sequence, elementwise clipping, then the SGD update."""
        if not self.cache:
            raise RuntimeError("backward() called before forward(): run forward on a sequence first")
        dLdy = np.asarray(dLdy, dtype=np.float64).reshape(self.by.shape)
        h_T = self._hs[-1]
        dWy = dLdy @ h_T.T
        dby = dLdy.copy()
        dh = self.Wy.T @ dLdy                       # (H, 1)
        dA = self._run_backward(dh)[:, :, 0]        # (T, G*H): dL/d pre-activations of every step
        dW_ih = dA.T @ self._X
        dW_hh = self._recurrent_grad(dA)
        db = dA.sum(axis=0)
        for grad in (dW_ih, dW_hh, db, dWy, dby):
            np.clip(grad, -clip_value, clip_value, out=grad)
        self._W_ih -= learning_rate * dW_ih
        self._W_hh -= learning_rate * dW_hh
        self._b -= learning_rate * db
        self.Wy -= learning_rate * dWy
        self.by -= learning_rate * dby

    def _recurrent_grad(self, dA):
        return dA.T @ self._hs[:-1, :, 0]


class RNN(_ClassicModel):
    """Vanilla RNN with parameters Wx (H, D), Wh (H, H), bh (H, 1), Wy (O, H), by (O, 1)."""
    cell = "rnn"
    Wx = _Block("_W_ih", "h")
    Wh = _Block("_W_hh", "h")
    bh = _Block("_b", "h", column=True)

    def _run_forward(self, gates, hs):
        for t in range(gates.shape[0]):
            a = gates[t]
            a += self._W_hh @ hs[t]
            cells.rnn_step_forward(a, hs[t + 1], "tanh")

    def _run_backward(self, dh):
        dA = np.empty_like(self._gates)
        for t in range(dA.shape[0] - 1, -1, -1):
            cells.rnn_step_backward(dh, self._hs[t + 1], "tanh", dA[t])
            dh = self._W_hh.T @ dA[t]
        return dA


class LSTM(_ClassicModel):
    """LSTM with per-gate Wi, Ui, bi / Wf, Uf, bf / Wo, Uo, bo / Wc, Uc, bc and Wy, by."""
    cell = "lstm"
    Wi, Wf, Wc, Wo = (_Block("_W_ih", g) for g in "ifgo")      # the course's c~ is the gate g
    Ui, Uf, Uc, Uo = (_Block("_W_hh", g) for g in "ifgo")
    bi, bf, bc, bo = (_Block("_b", g, column=True) for g in "ifgo")

    def _run_forward(self, gates, hs):
        T, H = gates.shape[0], self.hidden_dim
        cs = np.zeros((T + 1, H, 1))
        tmp = np.empty((H, 1))
        for t in range(T):
            a = gates[t]
            a += self._W_hh @ hs[t]
            cells.lstm_step_forward(a, cs[t], cs[t + 1], hs[t + 1], tmp)
        self._cs = cs

    def forward(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        y, h_T = super().forward(X)
        # the notebook's cache layout: (x_t, h_prev, c_prev, i_t, f_t, o_t, c_tilde, c_t, h_t)
        acts, hs, cs = self._gates, self._hs, self._cs
        i, f, g, o = (self.cell_def.gate_slice(k, self.hidden_dim) for k in "ifgo")
        self.cache = [(self._X[t][:, None], hs[t], cs[t], acts[t, i], acts[t, f], acts[t, o], acts[t, g],
                       cs[t + 1], hs[t + 1]) for t in range(self._X.shape[0])]
        return y, h_T

    def _run_backward(self, dh):
        T, H = self._gates.shape[0], self.hidden_dim
        dA = self._gates.copy()                       # activations, overwritten step by step with dL/da
        dc = np.zeros((H, 1))
        t1, t2 = np.empty((H, 1)), np.empty((H, 1))
        for t in range(T - 1, -1, -1):
            cells.lstm_step_backward(dh, dc, dA[t], self._cs[t], self._cs[t + 1], t1, t2)
            dh = self._W_hh.T @ dA[t]
        return dA


class GRU(_ClassicModel):
    """GRU with per-gate Wr, Ur, br / Wz, Uz, bz / Wn, Un, bn and Wy, by (r gates Un h_{t-1})."""
    cell = "gru"
    Wr, Wz, Wn = (_Block("_W_ih", g) for g in "rzn")
    Ur, Uz, Un = (_Block("_W_hh", g) for g in "rzn")
    br, bz, bn = (_Block("_b", g, column=True) for g in "rzn")

    def _run_forward(self, gates, hs):
        T, H = gates.shape[0], self.hidden_dim
        self._hw_n = np.empty((T, H, 1))
        for t in range(T):
            hw = self._W_hh @ hs[t]                 # no recurrent bias in the course's GRU
            cells.gru_step_forward(gates[t], hw, hs[t], hs[t + 1], self._hw_n[t])

    def _run_backward(self, dh):
        T, H = self._gates.shape[0], self.hidden_dim
        dA = self._gates.copy()
        self._du_n = self._hw_n.copy()              # becomes dL/du_n, the recurrent part of da_n
        direct, tmp = np.empty((H, 1)), np.empty((H, 1))
        n = self.cell_def.gate_slice("n", H)
        for t in range(T - 1, -1, -1):
            cells.gru_step_backward(dh, dA[t], self._du_n[t], self._hs[t], direct, tmp)
            dU = dA[t].copy()                       # dL/d(U h_{t-1}) = [da_r ; da_z ; du_n]
            dU[n] = self._du_n[t]
            dh = self._W_hh.T @ dU + direct
        return dA

    def _recurrent_grad(self, dA):
        dU = dA.copy()
        dU[:, self.cell_def.gate_slice("n", self.hidden_dim)] = self._du_n[:, :, 0]
        return dU.T @ self._hs[:-1, :, 0]
