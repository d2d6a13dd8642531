"""Multi-layer, optionally bidirectional RNN / LSTM / GRU in NumPy with backpropagation through time.

Parameters carry torch.nn's names, shapes and gate order, so a ``state_dict`` moves between
this engine and ``torch.nn.RNN/LSTM/GRU`` unchanged::

    weight_ih_l{k}[_reverse]  (G*H, D_k)     G = 1 (RNN), 4 (LSTM: i, f, g, o), 3 (GRU: r, z, n)
    weight_hh_l{k}[_reverse]  (G*H, H)
    bias_ih_l{k}[_reverse]    (G*H,)
    bias_hh_l{k}[_reverse]    (G*H,)

How one layer and direction runs (time-major inside, ``T`` steps, batch ``N``):

1. the input part of every step in one product: A = X W_ih^T + b_ih  (T*N, G*H);
2. a Python loop over the steps: one fused product h_{t-1} W_hh^T for all gates, then the
   cell's step function (``cells.py``);
3. backward: the same loop in reverse, each step leaving dL/da_t in place of its activations;
   then dW_ih = dA^T X, dW_hh = dA^T H_prev and dX = dA W_ih as single products over all steps.

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


@dataclass
class _Direction:
    """Buffers of one layer and direction for one (T, N) shape."""
    gates: np.ndarray                 # (T, N, G*H) pre-activations -> activations -> dL/da
    hs: np.ndarray                    # (T+1, N, H) states; forward: hs[t+1] = h_t, reverse: hs[t] = h_t
    cs: np.ndarray | None = None      # (T+1, N, H) LSTM cell states, same indexing
    hw_n: np.ndarray | None = None    # (T, N, H) GRU u_n = h_{t-1} W_hn^T + b_hn, then dL/du_n


@dataclass
class _Workspace:
    T: int
    N: int
    dirs: list = field(default_factory=list)     # [layer][direction] -> _Direction
    outs: list = field(default_factory=list)     # [layer] -> (T, N, dirs*H) or None (use hs view)
    inputs: list = field(default_factory=list)   # [layer] -> (T*N, D_layer) what the layer read
    dX: list = field(default_factory=list)       # [layer] -> (T*N, D_layer)
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
                 dropout: float = 0.0, batch_first: bool = True, dtype=np.float32, seed: int | None = 0):
        check_choice("cell", cell, tuple(GATES))
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
        self.rng = np.random.default_rng(seed)
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
        return shapes

    def _init_params(self) -> None:
        """torch.nn's initialisation: every parameter ~ U(-1/sqrt(H), 1/sqrt(H))."""
        k = 1.0 / np.sqrt(self.hidden_size)
        for name, shape in self.param_shapes().items():
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
            row = []
            for _ in range(self.num_directions):
                row.append(_Direction(
                    gates=np.empty((T, N, G * H), dt),
                    hs=np.empty((T + 1, N, H), dt),
                    cs=np.empty((T + 1, N, H), dt) if self.cell == "lstm" else None,
                    hw_n=np.empty((T, N, H), dt) if self.cell == "gru" else None))
            ws.dirs.append(row)
            ws.dX.append(np.empty((T * N, self._layer_input_size(layer)), dt))
        ws.scratch = {name: np.empty(shape, dt) for name, shape in {
            "hw": (N, G * H), "dh": (N, H), "dc": (N, H), "t1": (N, H), "t2": (N, H),
            "keep_h": (N, H), "keep_c": (N, H)}.items()}
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

    # ----------------------------------------------------------------------------- forward
    def forward(self, x, h0=None, c0=None, lengths=None, train: bool = False):
        out, h_n, c_n = self._forward(x, h0, c0, lengths, train)
        out = out.copy()
        if self.batch_first:
            out = np.ascontiguousarray(out.transpose(1, 0, 2))
        return (out, (h_n, c_n)) if self.cell == "lstm" else (out, h_n)

    __call__ = forward

    def _forward(self, x, h0, c0, lengths, train):
        """Returns the time-major output (a view into the workspace), h_n and c_n (new arrays)."""
        x, h0, c0, lengths, T, N = self._check_inputs(x, h0, c0, lengths)
        ws = self._workspace(T, N)
        H, nd = self.hidden_size, self.num_directions
        x_tm = x.transpose(1, 0, 2) if self.batch_first else x
        layer_in = np.ascontiguousarray(x_tm).reshape(T * N, self.input_size)
        valid = None
        if lengths is not None:
            valid = (np.arange(T)[:, None] < lengths[None, :])[:, :, None]   # (T, N, 1)
        h_n = np.empty((self.num_layers * nd, N, H), self.dtype)
        c_n = np.empty_like(h_n) if self.cell == "lstm" else None
        ws.inputs = []
        ws.outs = []
        drop_masks = []
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
            out = self._layer_output(ws, layer, valid)
            ws.outs.append(out)
            layer_in = out.reshape(T * N, nd * H)
        self._last = {"T": T, "N": N, "valid": valid, "drop": drop_masks,
                      "batch_first": self.batch_first}
        return ws.outs[-1], h_n, c_n

    def _layer_output(self, ws: _Workspace, layer: int, valid) -> np.ndarray:
        """(T, N, dirs*H): the states of each step, zero at padded steps."""
        T, H = ws.T, self.hidden_size
        row = ws.dirs[layer]
        if self.num_directions == 1 and valid is None:
            return row[0].hs[1:]
        out = np.empty((T, ws.N, self.num_directions * H), self.dtype)
        out[:, :, :H] = row[0].hs[1:]
        if self.num_directions == 2:
            out[:, :, H:] = row[1].hs[:T]
        if valid is not None:
            out *= valid
        return out

    def _weights(self, layer: int, d: int):
        p = self.params
        W_ih = p[self.param_name("weight_ih", layer, d)]
        W_hh = p[self.param_name("weight_hh", layer, d)]
        b_ih = p.get(self.param_name("bias_ih", layer, d))
        b_hh = p.get(self.param_name("bias_hh", layer, d))
        return W_ih, W_hh, b_ih, b_hh

    def _forward_direction(self, layer, d, X, buf: _Direction, ws: _Workspace, valid) -> None:
        T, N, H = ws.T, ws.N, self.hidden_size
        W_ih, W_hh, b_ih, b_hh = self._weights(layer, d)
        W_hh_T = W_hh.T
        gates, hs, cs = buf.gates, buf.hs, buf.cs
        # input part of all steps in one product: A = X W_ih^T + b_ih (+ b_hh outside the GRU's r)
        np.matmul(X, W_ih.T, out=gates.reshape(T * N, -1))
        if self.bias:
            gates += b_ih if self.cell == "gru" else (b_ih + b_hh)
        hw, t1 = ws.scratch["hw"], ws.scratch["t1"]
        steps = range(T) if d == 0 else range(T - 1, -1, -1)
        cell, nl = self.cell, self.nonlinearity
        for t in steps:
            prev, cur = (t, t + 1) if d == 0 else (t + 1, t)
            a = gates[t]
            np.matmul(hs[prev], W_hh_T, out=hw)
            if cell == "rnn":
                a += hw
                cells.rnn_step_forward(a, hs[cur], nl)
            elif cell == "lstm":
                a += hw
                cells.lstm_step_forward(a, cs[prev], cs[cur], hs[cur], t1)
            else:
                if self.bias:
                    hw += b_hh
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
            if self.batch_first:
                d_output = d_output.transpose(1, 0, 2)
        state_shape = (self.num_layers * nd, N, H)
        if d_h_n is not None:
            d_h_n = as_float_array("d_h_n", d_h_n, self.dtype, 3, str(state_shape))
            check_shape("d_h_n", d_h_n, state_shape, "(the shape of h_n)")
        if d_c_n is not None:
            if self.cell != "lstm":
                raise ValueError(f"d_c_n: only the LSTM has a cell state; got d_c_n for cell {self.cell!r}")
            d_c_n = as_float_array("d_c_n", d_c_n, self.dtype, 3, str(state_shape))
            check_shape("d_c_n", d_c_n, state_shape, "(the shape of c_n)")
        dx_tm, dh0, dc0 = self._backward(d_output, d_h_n, d_c_n)
        dx = dx_tm.transpose(1, 0, 2) if self.batch_first else dx_tm
        dx = np.ascontiguousarray(dx)
        return (dx, dh0, dc0) if self.cell == "lstm" else (dx, dh0)

    def _backward(self, d_output, d_h_n, d_c_n):
        """d_output time-major (T, N, dirs*H) or None. Fills self.grads (overwriting them)."""
        T, N = self._last["T"], self._last["N"]
        valid, drop = self._last["valid"], self._last["drop"]
        ws = self._workspace(T, N)
        H, nd = self.hidden_size, self.num_directions
        dh0 = np.zeros((self.num_layers * nd, N, H), self.dtype)
        dc0 = np.zeros_like(dh0) if self.cell == "lstm" else None
        d_out = d_output
        for layer in range(self.num_layers - 1, -1, -1):
            if d_out is not None and valid is not None:
                d_out = d_out * valid     # outputs at padded steps are constant zeros
            X = ws.inputs[layer]
            dX = ws.dX[layer]
            for d in range(nd):
                k = layer * nd + d
                buf = ws.dirs[layer][d]
                dh, dc = ws.scratch["dh"], ws.scratch["dc"]
                dh[...] = 0.0 if d_h_n is None else d_h_n[k]
                dc[...] = 0.0 if d_c_n is None or self.cell != "lstm" else d_c_n[k]
                d_out_dir = None if d_out is None else d_out[:, :, d * H:(d + 1) * H]
                self._backward_direction(layer, d, buf, ws, d_out_dir, valid)
                dh0[k] = dh
                if dc0 is not None:
                    dc0[k] = dc
                self._weight_grads(layer, d, X, buf, ws, dX, accumulate_dx=(d == 1))
            if drop[layer] is not None:
                dX *= drop[layer]
            d_out = dX.reshape(T, N, -1)
        return d_out, dh0, dc0

    def _backward_direction(self, layer, d, buf: _Direction, ws: _Workspace, d_out, valid) -> None:
        T = ws.T
        _, W_hh, _, _ = self._weights(layer, d)
        gates, hs, cs = buf.gates, buf.hs, buf.cs
        s = ws.scratch
        dh, dc, t1, t2, hw = s["dh"], s["dc"], s["t1"], s["t2"], s["hw"]
        keep_h, keep_c = s["keep_h"], s["keep_c"]
        H, cell, nl = self.hidden_size, self.cell, self.nonlinearity
        steps = range(T - 1, -1, -1) if d == 0 else range(T)
        for t in steps:
            prev, cur = (t, t + 1) if d == 0 else (t + 1, t)
            if d_out is not None:
                dh += d_out[t]
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
                np.matmul(a, W_hh, out=dh)
            elif cell == "lstm":
                cells.lstm_step_backward(dh, dc, a, cs[prev], cs[cur], t1, t2)
                np.matmul(a, W_hh, out=dh)
            else:
                cells.gru_step_backward(dh, a, buf.hw_n[t], hs[prev], t2, t1)
                hw[:, : 2 * H] = a[:, : 2 * H]
                hw[:, 2 * H:] = buf.hw_n[t]
                np.matmul(hw, W_hh, out=dh)
                dh += t2
            if valid is not None:
                dh += keep_h
                if cell == "lstm":
                    dc += keep_c

    def _weight_grads(self, layer, d, X, buf: _Direction, ws: _Workspace, dX, accumulate_dx) -> None:
        """dW_ih = dA^T X, dW_hh = dU^T H_prev, biases, and dX (+)= dA W_ih: one product each."""
        T, N, H = ws.T, ws.N, self.hidden_size
        W_ih, _, _, _ = self._weights(layer, d)
        g = self.grads
        dA = buf.gates.reshape(T * N, -1)
        H_prev = (buf.hs[:T] if d == 0 else buf.hs[1:]).reshape(T * N, H)
        np.matmul(dA.T, X, out=g[self.param_name("weight_ih", layer, d)])
        dW_hh = g[self.param_name("weight_hh", layer, d)]
        if self.cell == "gru":
            dU_n = buf.hw_n.reshape(T * N, H)
            np.matmul(dA[:, : 2 * H].T, H_prev, out=dW_hh[: 2 * H])
            np.matmul(dU_n.T, H_prev, out=dW_hh[2 * H:])
        else:
            np.matmul(dA.T, H_prev, out=dW_hh)
        if self.bias:
            db_ih = g[self.param_name("bias_ih", layer, d)]
            db_hh = g[self.param_name("bias_hh", layer, d)]
            dA.sum(axis=0, out=db_ih)
            if self.cell == "gru":
                db_hh[: 2 * H] = db_ih[: 2 * H]
                dU_n.sum(axis=0, out=db_hh[2 * H:])
            else:
                db_hh[...] = db_ih
        if accumulate_dx:
            dX += dA @ W_ih
        else:
            np.matmul(dA, W_ih, out=dX)


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
