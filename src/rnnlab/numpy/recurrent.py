"""Multi-layer, optionally bidirectional RNN / LSTM / GRU in NumPy with backpropagation through time.

Parameters carry torch.nn's names, shapes and gate order, so a ``state_dict`` moves between
this engine and ``torch.nn.RNN/LSTM/GRU`` unchanged::

    weight_ih_l{k}[_reverse]  (G*H, D_k)     G = 1 (RNN), 4 (LSTM: i, f, g, o), 3 (GRU: r, z, n)
    weight_hh_l{k}[_reverse]  (G*H, H)
    bias_ih_l{k}[_reverse]    (G*H,)
    bias_hh_l{k}[_reverse]    (G*H,)
    ln_weight_l{k}[_reverse]  (G*H,)         with layer_norm=True only (no torch.nn counterpart)
    ln_bias_l{k}[_reverse]    (G*H,)

How one layer and direction runs (``T`` steps, batch ``N``):

1. the input part of every step in one product: A_t = W_ih x_t + b_ih for all t;
2. a Python loop over the steps: one fused product W_hh h_{t-1} for all gates, then the
   cell's step function (``cells.py``);
3. backward: the same loop in reverse, each step leaving dL/da_t in place of its activations
   and adding its share of dW_hh and dW_ih while those values are still in cache;
   then dX = W_ih^T dA for all steps in one product.

Inside, arrays are time-major and feature-major, ``(T, features, N)``: one column per sequence,
as the course's column vectors, so each gate is a contiguous block of rows.  Public inputs and
outputs keep torch.nn's layouts; the transposes happen once per call, at the edges.

Layer normalisation in the cell (``layer_norm=True``, RNN and LSTM; Ba et al. 2016): each
gate's block of the summed pre-activation is normalised over its H units, per sequence, then
scaled and shifted by its own gain and bias::

    a_t = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh        (as above)
    a_t[k] <- gamma[k] * (a_t[k] - mean(a_t[k])) / sqrt(var(a_t[k]) + eps) + beta[k]
                                                      for each gate block k, eps = 1e-5

and the cell's step runs on the result.  Backward (x_hat the normalised block, r = 1/std):
dL/da[k] = r * (dx_hat - mean(dx_hat) - x_hat * mean(dx_hat * x_hat)) with dx_hat = gamma * dL/dy.

Variable lengths: steps at or past a sequence's length neither change its state nor receive
gradient (h_t = h_{t-1}, c_t = c_{t-1}); their outputs are zero, as with torch's packed
sequences.  A reverse direction therefore starts from h0 at each sequence's own last step.

Buffers live in a workspace that is allocated once per (T, N) and reused, so a training step
allocates almost nothing (see ``../shared/PERF-NOTES.md``).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import cells
from .checks import as_float_array, check_choice, check_lengths, check_positive_int, check_shape

GATES = {"rnn": 1, "lstm": 4, "gru": 3}
NONLINEARITIES = ("tanh", "relu")
_MAX_WORKSPACES = 4
LN_EPS = 1e-5


@dataclass
class _Direction:
    """Buffers of one layer and direction for one (T, N) shape."""
    gates: np.ndarray                 # (T, G*H, N) pre-activations -> activations -> dL/da
    hs: np.ndarray                    # (T+1, H, N) states; forward: hs[t+1] = h_t, reverse: hs[t] = h_t
    cs: np.ndarray | None = None      # (T+1, H, N) LSTM cell states, same indexing
    hw_n: np.ndarray | None = None    # (T, H, N) GRU u_n = W_hn h_{t-1} + b_hn, then dL/du_n
    ln_xhat: np.ndarray | None = None  # (T, G*H, N) layer norm: the normalised pre-activations
    ln_rstd: np.ndarray | None = None  # (T, G, 1, N) layer norm: 1 / std of each gate block


@dataclass
class _Workspace:
    T: int
    N: int
    dirs: list = field(default_factory=list)     # [layer][direction] -> _Direction
    out_bufs: dict = field(default_factory=dict)  # layer -> (T, dirs*H, N) when outputs need a copy
    inputs: list = field(default_factory=list)   # [layer] -> (T, D_layer, N) what the layer read
    dX: list = field(default_factory=list)       # [layer] -> (T, D_layer, N)
    dW_tmp: list = field(default_factory=list)   # [layer] -> ((G*H, D_layer), (G*H, H)) scratch
    scratch: dict = field(default_factory=dict)


class RecurrentNet:
    """A stack of recurrent layers: ``cell`` in {"rnn", "lstm", "gru"}.

    forward(x, h0=None, c0=None, lengths=None, train=False)
        x: (N, T, D) when ``batch_first`` (default) else (T, N, D).
        h0, c0: (num_layers * num_directions, N, H) initial states (zeros when None).
        lengths: (N,) integers in 1..T; the valid steps of each sequence.
        Returns ``output, h_n`` (RNN, GRU) or ``output, (h_n, c_n)`` (LSTM), as torch.nn does:
        output (N, T, dirs*H) [or (T, N, dirs*H)], h_n and c_n (layers*dirs, N, H).
    backward(d_output=None, d_h_n=None, d_c_n=None)
        Gradients of the loss with respect to the three outputs of the last forward call.
        Returns ``dx, dh0`` (and ``dc0`` for the LSTM); parameter gradients go to ``self.grads``.
    """

    def __init__(self, cell: str, input_size: int, hidden_size: int, num_layers: int = 1,
                 bidirectional: bool = False, nonlinearity: str = "tanh", bias: bool = True,
                 dropout: float = 0.0, batch_first: bool = True, dtype=np.float32, seed: int | None = 0,
                 layer_norm: bool = False):
        check_choice("cell", cell, tuple(GATES))
        if layer_norm and cell == "gru":
            raise ValueError("layer_norm: the layer-normalised cell exists for the RNN and the LSTM, not the GRU")
        check_choice("nonlinearity", nonlinearity, NONLINEARITIES)
        if nonlinearity != "tanh" and cell != "rnn":
            raise ValueError(f"nonlinearity: {nonlinearity!r} applies to the vanilla RNN only; "
                             f"the {cell.upper()} uses fixed sigmoid/tanh gates")
        if not 0.0 <= float(dropout) < 1.0:
            raise ValueError(f"dropout: expected a probability in [0, 1), got {dropout!r}")
        self.dtype = np.dtype(dtype)
        if self.dtype not in (np.dtype(np.float32), np.dtype(np.float64)):
            raise ValueError(f"dtype: expected float32 or float64, got {self.dtype}")
        self.cell = cell
        self.input_size = check_positive_int("input_size", input_size)
        self.hidden_size = check_positive_int("hidden_size", hidden_size)
        self.num_layers = check_positive_int("num_layers", num_layers)
        self.bidirectional = bool(bidirectional)
        self.num_directions = 2 if bidirectional else 1
        self.nonlinearity = nonlinearity
        self.bias = bool(bias)
        self.dropout = float(dropout)
        self.batch_first = bool(batch_first)
        self.layer_norm = bool(layer_norm)
        self.rng = np.random.default_rng(seed)
        self.recorded_dh = None   # set to {} to record dL/dh_t of every layer, direction and step
        self.params: dict[str, np.ndarray] = {}
        self._init_params()
        self.grads = {name: np.zeros_like(p) for name, p in self.params.items()}
        self._workspaces: dict[tuple[int, int], _Workspace] = {}
        self._last: dict | None = None

    # ----------------------------------------------------------------------------- params
    def _layer_input_size(self, layer: int) -> int:
        return self.input_size if layer == 0 else self.hidden_size * self.num_directions

    def param_name(self, kind: str, layer: int, direction: int) -> str:
        return f"{kind}_l{layer}" + ("_reverse" if direction == 1 else "")

    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        G, H = GATES[self.cell], self.hidden_size
        shapes = {}
        for layer in range(self.num_layers):
            for d in range(self.num_directions):
                shapes[self.param_name("weight_ih", layer, d)] = (G * H, self._layer_input_size(layer))
                shapes[self.param_name("weight_hh", layer, d)] = (G * H, H)
                if self.bias:
                    shapes[self.param_name("bias_ih", layer, d)] = (G * H,)
                    shapes[self.param_name("bias_hh", layer, d)] = (G * H,)
                if self.layer_norm:
                    shapes[self.param_name("ln_weight", layer, d)] = (G * H,)
                    shapes[self.param_name("ln_bias", layer, d)] = (G * H,)
        return shapes

    def _init_params(self) -> None:
        """torch.nn's initialisation: every parameter ~ U(-1/sqrt(H), 1/sqrt(H)); layer-norm gains
        one and shifts zero."""
        k = 1.0 / np.sqrt(self.hidden_size)
        for name, shape in self.param_shapes().items():
            if name.startswith("ln_"):
                self.params[name] = (np.ones if name.startswith("ln_weight") else np.zeros)(shape, self.dtype)
            else:
                self.params[name] = self.rng.uniform(-k, k, size=shape).astype(self.dtype)

    def state_dict(self) -> dict[str, np.ndarray]:
        return {name: p.copy() for name, p in self.params.items()}

    def load_state_dict(self, state: dict) -> None:
        """Copy ``state`` (NumPy arrays or anything np.asarray reads, torch tensors included)."""
        load_into(self.params, state, "state_dict")

    def zero_grad(self) -> None:
        for g in self.grads.values():
            g.fill(0.0)

    # ----------------------------------------------------------------------------- workspace
    def _workspace(self, T: int, N: int) -> _Workspace:
        key = (T, N)
        ws = self._workspaces.get(key)
        if ws is not None:
            return ws
        if len(self._workspaces) >= _MAX_WORKSPACES:
            self._workspaces.pop(next(iter(self._workspaces)))
        G, H, dt = GATES[self.cell], self.hidden_size, self.dtype
        ws = _Workspace(T=T, N=N)
        for layer in range(self.num_layers):
            D = self._layer_input_size(layer)
            ws.dirs.append([_Direction(
                gates=np.empty((T, G * H, N), dt),
                hs=np.empty((T + 1, H, N), dt),
                cs=np.empty((T + 1, H, N), dt) if self.cell == "lstm" else None,
                hw_n=np.empty((T, H, N), dt) if self.cell == "gru" else None,
                ln_xhat=np.empty((T, G * H, N), dt) if self.layer_norm else None,
                ln_rstd=np.empty((T, G, 1, N), dt) if self.layer_norm else None)
                for _ in range(self.num_directions)])
            ws.dX.append(np.empty((T, D, N), dt))
            ws.dW_tmp.append((np.empty((G * H, D), dt), np.empty((G * H, H), dt)))
        ws.scratch = {name: np.empty(shape, dt) for name, shape in {
            "hw": (G * H, N), "dh": (H, N), "dc": (H, N), "t1": (H, N), "t2": (H, N),
            "keep_h": (H, N), "keep_c": (H, N)}.items()}
        self._workspaces[key] = ws
        return ws

    # ----------------------------------------------------------------------------- checks
    def _check_inputs(self, x, h0, c0, lengths):
        layout = "(batch, time, features)" if self.batch_first else "(time, batch, features)"
        x = as_float_array("x", x, self.dtype, 3, layout)
        if x.shape[2] != self.input_size:
            raise ValueError(f"x: expected {self.input_size} features in the last dimension "
                             f"(input_size), got shape {tuple(x.shape)} with {x.shape[2]}")
        N, T = (x.shape[0], x.shape[1]) if self.batch_first else (x.shape[1], x.shape[0])
        if T < 1 or N < 1:
            raise ValueError(f"x: expected at least one sequence and one time step, got shape {tuple(x.shape)}")
        state_shape = (self.num_layers * self.num_directions, N, self.hidden_size)
        meaning = "(num_layers * num_directions, batch, hidden_size)"
        if h0 is not None:
            h0 = as_float_array("h0", h0, self.dtype, 3, str(state_shape))
            check_shape("h0", h0, state_shape, meaning)
        if c0 is not None:
            if self.cell != "lstm":
                raise ValueError(f"c0: only the LSTM has a cell state; got c0 for cell {self.cell!r}")
            c0 = as_float_array("c0", c0, self.dtype, 3, str(state_shape))
            check_shape("c0", c0, state_shape, meaning)
        if lengths is not None:
            lengths = check_lengths(lengths, N, T)
            if np.all(lengths == T):
                lengths = None
        return x, h0, c0, lengths, T, N

    # ----------------------------------------------------------------------------- layouts
    def _to_internal(self, x: np.ndarray) -> np.ndarray:
        """(N, T, F) batch-first or (T, N, F) time-major -> contiguous (T, F, N)."""
        return np.ascontiguousarray(x.transpose(1, 2, 0) if self.batch_first else x.transpose(0, 2, 1))

    def _to_public(self, a: np.ndarray) -> np.ndarray:
        """(T, F, N) -> a new (N, T, F) or (T, N, F) array."""
        return np.array(a.transpose(2, 0, 1) if self.batch_first else a.transpose(0, 2, 1), order="C")

    # ----------------------------------------------------------------------------- forward
    def forward(self, x, h0=None, c0=None, lengths=None, train: bool = False):
        x, h0, c0, lengths, _, _ = self._check_inputs(x, h0, c0, lengths)
        state = (lambda s: None if s is None else np.ascontiguousarray(s.transpose(0, 2, 1)))
        out, h_n, c_n = self._forward(self._to_internal(x), state(h0), state(c0), lengths, train)
        out = self._to_public(out)
        h_n = np.ascontiguousarray(h_n.transpose(0, 2, 1))
        if self.cell == "lstm":
            return out, (h_n, np.ascontiguousarray(c_n.transpose(0, 2, 1)))
        return out, h_n

    __call__ = forward

    def _forward(self, X, h0, c0, lengths, train):
        """Internal layouts: X (T, D, N); h0, c0, h_n, c_n (layers*dirs, H, N).

        Returns the output (T, dirs*H, N) (a view into the workspace), h_n and c_n (new arrays).
        """
        T, _, N = X.shape
        ws = self._workspace(T, N)
        H, nd = self.hidden_size, self.num_directions
        valid = None
        if lengths is not None:
            valid = (np.arange(T)[:, None] < lengths[None, :])[:, None, :]   # (T, 1, N)
        h_n = np.empty((self.num_layers * nd, H, N), self.dtype)
        c_n = np.empty_like(h_n) if self.cell == "lstm" else None
        ws.inputs = []
        drop_masks = []
        layer_in = X
        for layer in range(self.num_layers):
            if layer > 0 and train and self.dropout > 0:
                # inverted dropout between layers: keep with probability 1-p, scale by 1/(1-p)
                keep = (self.rng.random(layer_in.shape) >= self.dropout).astype(self.dtype)
                keep /= (1.0 - self.dropout)
                layer_in = layer_in * keep
                drop_masks.append(keep)
            else:
                drop_masks.append(None)
            ws.inputs.append(layer_in)
            for d in range(nd):
                k = layer * nd + d
                buf = ws.dirs[layer][d]
                start = 0 if d == 0 else T
                buf.hs[start] = 0.0 if h0 is None else h0[k]
                if buf.cs is not None:
                    buf.cs[start] = 0.0 if c0 is None else c0[k]
                self._forward_direction(layer, d, layer_in, buf, ws, valid)
                end = T if d == 0 else 0
                h_n[k] = buf.hs[end]
                if c_n is not None:
                    c_n[k] = buf.cs[end]
            layer_in = self._layer_output(ws, layer, valid)
        self._last = {"T": T, "N": N, "valid": valid, "drop": drop_masks}
        return layer_in, h_n, c_n

    def _layer_output(self, ws: _Workspace, layer: int, valid) -> np.ndarray:
        """(T, dirs*H, N): the states of each step, zero at padded steps."""
        T, H = ws.T, self.hidden_size
        row = ws.dirs[layer]
        if self.num_directions == 1 and valid is None:
            return row[0].hs[1:]
        out = ws.out_bufs.get(layer)
        if out is None:
            out = ws.out_bufs[layer] = np.empty((T, self.num_directions * H, ws.N), self.dtype)
        out[:, :H] = row[0].hs[1:]
        if self.num_directions == 2:
            out[:, H:] = row[1].hs[:T]
        if valid is not None:
            out *= valid
        return out

    def _layer_norm_params(self, layer: int, d: int):
        p = self.params
        return p[self.param_name("ln_weight", layer, d)][:, None], p[self.param_name("ln_bias", layer, d)][:, None]

    def _weights(self, layer: int, d: int):
        p = self.params
        W_ih = p[self.param_name("weight_ih", layer, d)]
        W_hh = p[self.param_name("weight_hh", layer, d)]
        b_ih = p.get(self.param_name("bias_ih", layer, d))
        b_hh = p.get(self.param_name("bias_hh", layer, d))
        return W_ih, W_hh, b_ih, b_hh

    def _forward_direction(self, layer, d, X, buf: _Direction, ws: _Workspace, valid) -> None:
        T = ws.T
        W_ih, W_hh, b_ih, b_hh = self._weights(layer, d)
        gates, hs, cs = buf.gates, buf.hs, buf.cs
        # input part of all steps in one product: A_t = W_ih x_t + b_ih (+ b_hh outside the GRU's r)
        if X.shape[1] == 1:
            # a product with an inner dimension of 1 runs far below BLAS peak; the outer
            # product by broadcasting is several times faster (784 steps of 1 pixel)
            np.multiply(X, W_ih, out=gates)
        else:
            np.matmul(W_ih, X, out=gates)
        if self.bias:
            gates += (b_ih if self.cell == "gru" else b_ih + b_hh)[:, None]
            b_hh_col = b_hh[:, None]
        hw, t1 = ws.scratch["hw"], ws.scratch["t1"]
        steps = range(T) if d == 0 else range(T - 1, -1, -1)
        cell, nl = self.cell, self.nonlinearity
        norm = self._layer_norm_params(layer, d) if self.layer_norm else None
        for t in steps:
            prev, cur = (t, t + 1) if d == 0 else (t + 1, t)
            a = gates[t]
            np.matmul(W_hh, hs[prev], out=hw)
            if cell != "gru":
                a += hw
                if norm is not None:
                    _layer_norm_forward(a, buf.ln_xhat[t], buf.ln_rstd[t], *norm)
            if cell == "rnn":
                cells.rnn_step_forward(a, hs[cur], nl)
            elif cell == "lstm":
                cells.lstm_step_forward(a, cs[prev], cs[cur], hs[cur], t1)
            else:
                if self.bias:
                    hw += b_hh_col
                cells.gru_step_forward(a, hw, hs[prev], hs[cur], buf.hw_n[t])
            if valid is not None:
                pad = ~valid[t]
                np.copyto(hs[cur], hs[prev], where=pad)
                if cs is not None:
                    np.copyto(cs[cur], cs[prev], where=pad)

    # ----------------------------------------------------------------------------- backward
    def backward(self, d_output=None, d_h_n=None, d_c_n=None):
        if self._last is None:
            raise RuntimeError("backward() called before forward(): run forward on a batch first")
        T, N = self._last["T"], self._last["N"]
        H, nd = self.hidden_size, self.num_directions
        if d_output is not None:
            exp = (N, T, nd * H) if self.batch_first else (T, N, nd * H)
            d_output = as_float_array("d_output", d_output, self.dtype, 3, str(exp))
            check_shape("d_output", d_output, exp, "(the shape of the forward output)")
            d_output = self._to_internal(d_output)
        state_shape = (self.num_layers * nd, N, H)

        def state(name, value):
            if value is None:
                return None
            value = as_float_array(name, value, self.dtype, 3, str(state_shape))
            check_shape(name, value, state_shape, f"(the shape of {name[2:]})")
            return np.ascontiguousarray(value.transpose(0, 2, 1))
        if d_c_n is not None and self.cell != "lstm":
            raise ValueError(f"d_c_n: only the LSTM has a cell state; got d_c_n for cell {self.cell!r}")
        dX, dh0, dc0 = self._backward(d_output, state("d_h_n", d_h_n), state("d_c_n", d_c_n))
        dx = self._to_public(dX)
        dh0 = np.ascontiguousarray(dh0.transpose(0, 2, 1))
        if self.cell == "lstm":
            return dx, dh0, np.ascontiguousarray(dc0.transpose(0, 2, 1))
        return dx, dh0

    def _backward(self, d_output, d_h_n, d_c_n):
        """Internal layouts: d_output (T, dirs*H, N) or None; d_h_n, d_c_n (layers*dirs, H, N).

        Fills self.grads (overwriting them); returns dX (T, D, N), dh0 and dc0 (layers*dirs, H, N).
        """
        T, N = self._last["T"], self._last["N"]
        valid, drop = self._last["valid"], self._last["drop"]
        ws = self._workspace(T, N)
        H, nd = self.hidden_size, self.num_directions
        dh0 = np.zeros((self.num_layers * nd, H, N), self.dtype)
        dc0 = np.zeros_like(dh0) if self.cell == "lstm" else None
        d_out = d_output
        for layer in range(self.num_layers - 1, -1, -1):
            if d_out is not None and valid is not None:
                d_out = d_out * valid     # outputs at padded steps are constant zeros
            dX = ws.dX[layer]
            for d in range(nd):
                k = layer * nd + d
                dh, dc = ws.scratch["dh"], ws.scratch["dc"]
                dh[...] = 0.0 if d_h_n is None else d_h_n[k]
                dc[...] = 0.0 if d_c_n is None else d_c_n[k]
                d_out_dir = None if d_out is None else d_out[:, d * H:(d + 1) * H]
                self._backward_direction(layer, d, ws, d_out_dir, valid)
                dh0[k] = dh
                if dc0 is not None:
                    dc0[k] = dc
            if drop[layer] is not None:
                dX *= drop[layer]
            d_out = dX
        return d_out, dh0, dc0

    def _backward_direction(self, layer, d, ws: _Workspace, d_out, valid) -> None:
        """BPTT through one layer and direction; fills its parameter gradients and adds to dX."""
        T, H, cell, nl = ws.T, self.hidden_size, self.cell, self.nonlinearity
        W_ih, W_hh, _, _ = self._weights(layer, d)
        buf, X, dX = ws.dirs[layer][d], ws.inputs[layer], ws.dX[layer]
        gates, hs, cs = buf.gates, buf.hs, buf.cs
        s = ws.scratch
        dh, dc, t1, t2, hw = s["dh"], s["dc"], s["t1"], s["t2"], s["hw"]
        keep_h, keep_c = s["keep_h"], s["keep_c"]
        g = self.grads
        dW_ih, dW_hh = g[self.param_name("weight_ih", layer, d)], g[self.param_name("weight_hh", layer, d)]
        tmp_ih, tmp_hh = ws.dW_tmp[layer]
        dW_ih.fill(0.0)
        dW_hh.fill(0.0)
        W_hh_T = W_hh.T
        if self.layer_norm:
            gain = self._layer_norm_params(layer, d)[0]
            d_gain = g[self.param_name("ln_weight", layer, d)]
            d_shift = g[self.param_name("ln_bias", layer, d)]
            d_gain.fill(0.0)
            d_shift.fill(0.0)
        steps = range(T - 1, -1, -1) if d == 0 else range(T)
        for t in steps:
            prev, cur = (t, t + 1) if d == 0 else (t + 1, t)
            if d_out is not None:
                dh += d_out[t]
            if self.recorded_dh is not None:   # gradient-flow analysis: the total dL/dh_t, (H, N)
                self.recorded_dh.setdefault((layer, d), {})[t] = dh.copy()
            if valid is not None:
                # padded step: h_t = h_{t-1}, so its gradient passes straight through
                pad = ~valid[t]
                np.multiply(dh, pad, out=keep_h)
                dh *= valid[t]
                if cell == "lstm":
                    np.multiply(dc, pad, out=keep_c)
                    dc *= valid[t]
            a = gates[t]
            if cell == "rnn":
                cells.rnn_step_backward(dh, hs[cur], nl, a)
                dU = a
            elif cell == "lstm":
                cells.lstm_step_backward(dh, dc, a, cs[prev], cs[cur], t1, t2)
                dU = a
            else:
                cells.gru_step_backward(dh, a, buf.hw_n[t], hs[prev], t2, t1)
                hw[: 2 * H] = a[: 2 * H]          # dL/d(W_hh h_{t-1} + b_hh) = [da_r ; da_z ; du_n]
                hw[2 * H:] = buf.hw_n[t]
                dU = hw
            if self.layer_norm:   # a holds dL/d(normalised a_t): back through the normalisation
                _layer_norm_backward(a, buf.ln_xhat[t], buf.ln_rstd[t], gain, d_gain, d_shift)
            # dL/dh_{t-1} = W_hh^T dU_t   (+ the GRU's direct path dh * z)
            np.matmul(W_hh_T, dU, out=dh)
            if cell == "gru":
                dh += t2
            if valid is not None:
                dh += keep_h
                if cell == "lstm":
                    dc += keep_c
            # dW_hh += dU_t h_{t-1}^T ;  dW_ih += dA_t x_t^T   (while dU_t is in cache)
            np.matmul(dU, hs[prev].T, out=tmp_hh)
            dW_hh += tmp_hh
            np.matmul(a, X[t].T, out=tmp_ih)
            dW_ih += tmp_ih
        if self.bias:
            db_ih = g[self.param_name("bias_ih", layer, d)]
            db_hh = g[self.param_name("bias_hh", layer, d)]
            gates.sum(axis=0).sum(axis=1, out=db_ih)
            if cell == "gru":
                db_hh[: 2 * H] = db_ih[: 2 * H]
                buf.hw_n.sum(axis=0).sum(axis=1, out=db_hh[2 * H:])
            else:
                db_hh[...] = db_ih
        # dX = W_ih^T dA for all steps in one product (the second direction adds to the first)
        if d == 0:
            np.matmul(W_ih.T, gates, out=dX)
        else:
            dX += np.matmul(W_ih.T, gates)


def _layer_norm_forward(a: np.ndarray, xhat: np.ndarray, rstd: np.ndarray, gain: np.ndarray,
                        shift: np.ndarray) -> None:
    """In place, per gate block k of a (G*H, N):  a[k] <- gain[k] * x_hat[k] + shift[k] with
    x_hat[k] = (a[k] - mean(a[k])) / sqrt(var(a[k]) + eps); keeps x_hat (G*H, N) and 1/std (G, 1, N)."""
    G = rstd.shape[0]
    blocks = a.reshape(G, -1, a.shape[1])
    centred = xhat.reshape(blocks.shape)
    np.subtract(blocks, blocks.mean(axis=1, keepdims=True), out=centred)
    np.multiply(centred, centred, out=blocks)                          # a is scratch until the last line
    np.add(blocks.mean(axis=1, keepdims=True), LN_EPS, out=rstd)
    np.sqrt(rstd, out=rstd)
    np.divide(1.0, rstd, out=rstd)
    centred *= rstd                                                    # x_hat
    np.multiply(xhat, gain, out=a)
    a += shift


def _layer_norm_backward(da: np.ndarray, xhat: np.ndarray, rstd: np.ndarray, gain: np.ndarray,
                         d_gain: np.ndarray, d_shift: np.ndarray) -> None:
    """In place: da = dL/dy (G*H, N) of y = gain * x_hat + shift becomes dL/da of the block input:
        d_gain += sum_n dy * x_hat,   d_shift += sum_n dy,   dx_hat = gain * dy,
        dL/da[k] = (1/std[k]) * (dx_hat[k] - mean(dx_hat[k]) - x_hat[k] * mean(dx_hat[k] * x_hat[k]))."""
    G = rstd.shape[0]
    d_shift += da.sum(axis=1)
    d_gain += np.einsum("fn,fn->f", da, xhat)
    da *= gain                                                         # dx_hat
    blocks, xh = da.reshape(G, -1, da.shape[1]), xhat.reshape(G, -1, da.shape[1])
    proj = np.einsum("ghn,ghn->gn", blocks, xh)[:, None, :] / blocks.shape[1]
    blocks -= blocks.mean(axis=1, keepdims=True)
    blocks -= xh * proj
    blocks *= rstd


def load_into(params: dict, state: dict, what: str) -> None:
    """Copy ``state`` into ``params`` after checking names and shapes; nothing changes on error."""
    missing = [k for k in params if k not in state]
    unexpected = [k for k in state if k not in params]
    if missing or unexpected:
        raise ValueError(f"{what}: names do not match the model; missing {missing}, unexpected {unexpected}; "
                         f"expected exactly {list(params)}")
    arrays = {}
    for name, p in params.items():
        value = state[name]
        if hasattr(value, "detach"):
            value = value.detach().cpu().numpy()
        arr = np.asarray(value)
        if arr.shape != p.shape:
            raise ValueError(f"{what}[{name!r}]: expected shape {p.shape}, got shape {tuple(arr.shape)}")
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"{what}[{name!r}]: contains NaN or infinite values")
        arrays[name] = arr
    for name, arr in arrays.items():
        params[name][...] = arr
