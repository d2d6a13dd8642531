"""Multi-layer, optionally bidirectional recurrent nets in NumPy with backpropagation through time.

Parameters carry torch.nn's names, shapes and gate order, as the cell registry declares them, so a
``state_dict`` moves between this engine and ``torch.nn.RNN/LSTM/GRU`` unchanged::

    weight_ih_l{k}[_reverse]  (G*H, D_k)     G = 1 (RNN, IndRNN), 4 (LSTM: i, f, g, o), 3 (GRU: r, z, n)
    weight_hh_l{k}[_reverse]  (G*H, H)       the IndRNN's is the vector u (H,)
    bias_ih_l{k}, bias_hh_l{k}  (G*H,)
    ln_weight_l{k}, ln_bias_l{k}  (G*H,)     with layer_norm=True only (no torch.nn counterpart)

What differs between the cells (gates, states, bias convention, parameter shapes and initialisation,
the recurrent product) is read from the cell registry, ``rnnlab/cells.py``, and the step itself from the
engine's table (``cells.IMPLEMENTATIONS``); this module never asks which cell it runs.

How one layer and direction runs (``T`` steps, batch ``N``):

1. the input part of every step in one product: A_t = W_ih x_t + b_ih (+ b_hh) for all t;
2. a Python loop over the steps: one fused product U_t = W_hh h_{t-1} for all gates (or u * h_{t-1}
   where W_hh is diagonal: ``recurrence.py``), then the cell's step function, looked up once: its
   elementwise part compiled into one loop (``fused.py``, when numba is there, ``fused`` is not False
   and the cell has one) or the reference NumPy step (``cells.py``);
3. backward: the same loop in reverse, each step leaving dL/dA_t in place of its activations
   and adding its share of dW_hh and dW_ih while those values are still in cache;
   then dX = W_ih^T dA for all steps in one product.

Inside, arrays are time-major and feature-major, ``(T, features, N)``: one column per sequence, so each
gate is a contiguous block of rows; public inputs and outputs keep torch.nn's layouts.

Layer norm in the cell (``layer_norm=True``; Ba et al. 2016): each gate's block of the pre-activation,
normalised over its H units, with its own gain and shift (``layer_norm.py``; equations in ``rnnlab/cells.py``).

Variable lengths: steps at or past a sequence's length neither change its state nor receive gradient
(h_t = h_{t-1}, c_t = c_{t-1}); their outputs are zero; a reverse direction starts at its own last step.

Buffers live in a workspace allocated once per (T, N) and reused (``workspace.py``).  A linear recurrence
runs a scan per layer and direction (``linear.py``) and its layers stack as residual blocks (``block.py``).
"""
from __future__ import annotations

from functools import partial

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from ..cells import cells_having, get_cell
from ..rules import check_options
from .block import ResidualBlock
from .checks import check_array, check_lengths, check_positive_int, check_sequences, check_state, load_into
from .fused import resolve_fused, sequence_pair, step_pair
from .parameters import clip_to_bounds, declared, initial_values
from .recurrence import RECURRENCES
from .workspace import Sweep, Workspace, new_workspace, public_states, step_order, to_internal, to_public

_MAX_WORKSPACES = 4
States = np.ndarray | tuple[np.ndarray, np.ndarray]   # h_n, or (h_n, c_n) for the LSTM


class RecurrentNet:
    """A stack of recurrent layers of ``cell``, a name in the cell registry ("rnn", "lstm", "gru", "indrnn").

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
                 bidirectional: bool = False, nonlinearity: str | None = None, bias: bool = True,
                 dropout: float = 0.0, batch_first: bool = True, dtype: DTypeLike = np.float32,
                 seed: int | None = 0, layer_norm: bool = False, fused: bool | None = None,
                 sequence: bool = True) -> None:
        self.cell_def = get_cell(cell)
        nonlinearity = self.cell_def.default_nonlinearity if nonlinearity is None else nonlinearity
        check_options(cell, "numpy", {"nonlinearity": nonlinearity, "layer_norm": layer_norm})
        if not 0.0 <= float(dropout) < 1.0:
            raise ValueError(f"dropout: expected a probability in [0, 1), got {dropout!r}")
        self.dtype = np.dtype(dtype)
        if self.dtype not in (np.dtype(np.float32), np.dtype(np.float64)):
            raise ValueError(f"dtype: expected float32 or float64, got {self.dtype}")
        self.cell = cell
        self._has_c = "c" in self.cell_def.states
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
        # the cell's compiled steps where it has them (with layer norm: where they do it), else the reference
        *self._steps, self.fused = step_pair(cell, resolve_fused(fused), self.layer_norm)
        # where those are compiled: a whole sequence per call (``sequence.py``) unless ``sequence`` is False
        self._sequence = sequence_pair(cell, self.fused, self.layer_norm, sequence)
        self._recurrence = RECURRENCES.get(self.cell_def.recurrent_weight)     # None: no recurrent weight
        if self.cell_def.recurrence == "linear":     # a scan over the whole layer and direction (``linear.py``)
            self._forward_direction, self._backward_direction = (partial(f, self) for f in self._steps)
        # between layers: the registry's block (``block.py``: phi, LN and a skip), or output into input
        self._block = ResidualBlock(self.num_layers, self.fused) if self.cell_def.block == "residual" else None
        self.rng = np.random.default_rng(seed)
        self.recorded_dh = None   # set to {} to record dL/dh_t of every layer, direction and step
        self._decls = declared(self.cell_def, self.input_size, self.hidden_size, self.num_layers,
                               self.num_directions, self.bias, self.layer_norm)
        self.params = initial_values(self._decls, self.hidden_size, self.rng, self.dtype)
        self.grads = {name: np.zeros_like(p) for name, p in self.params.items()}
        self.dropped: dict[str, np.ndarray] = {}   # stand-ins for params while training: weight drop's W_hh m/(1-p)
        self._workspaces: dict[tuple[int, int], Workspace] = {}
        self._last: dict | None = None

    # ----------------------------------------------------------------------------- params
    def _layer_input_size(self, layer: int) -> int:
        return self.input_size if layer == 0 else self.hidden_size * self.num_directions

    def param_name(self, kind: str, layer: int, direction: int) -> str:
        return f"{kind}_l{layer}" + ("_reverse" if direction == 1 else "")

    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        """Every parameter's name and shape, as the registry declares them for these sizes and options."""
        return {name: shape for name, shape, _ in self._decls}

    def apply_bounds(self) -> None:
        """Clip every parameter the registry bounds (the IndRNN's |u| <= 1) to its bound, in place; call it
        after every optimizer update."""
        clip_to_bounds(self.params, self._decls)

    def step_values(self, layer: int = -1, direction: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """After a forward call, one layer and direction's h_t (T, H, N), in step order, and what its steps
        left in the gate buffer (T, G*H, N): the gate activations (LSTM [i; f; g; o], GRU [r; z; n])."""
        if self._last is None:
            raise RuntimeError("step_values() called before forward(): run forward on a batch first")
        sw = self._workspace(self._last["T"], self._last["N"]).sweeps[layer][direction]
        return (sw.hs[1:] if direction == 0 else sw.hs[:-1]).copy(), sw.gates.copy()

    def state_dict(self) -> dict[str, np.ndarray]:
        return {name: p.copy() for name, p in self.params.items()}

    def load_state_dict(self, state: dict) -> None:
        """Copy ``state`` (NumPy arrays or anything np.asarray reads, torch tensors included)."""
        load_into(self.params, state, "state_dict")

    def zero_grad(self) -> None:
        for g in self.grads.values():
            g.fill(0.0)

    def _param(self, kind: str, layer: int, d: int) -> np.ndarray | None:
        name = self.param_name(kind, layer, d)
        return self.dropped.get(name, self.params.get(name))

    def _bind(self, sw: Sweep, layer: int, d: int) -> None:
        """Hand the sweep the parameters its step functions read and the gradients they add to."""
        sw.nonlinearity = self.nonlinearity
        sw.hh_T = self._recurrence.transposed(self._param("weight_hh", layer, d))
        if self.layer_norm:
            sw.gain = self._param("ln_weight", layer, d)[:, None]
            sw.shift = self._param("ln_bias", layer, d)[:, None]
            sw.d_gain = self.grads[self.param_name("ln_weight", layer, d)]
            sw.d_shift = self.grads[self.param_name("ln_bias", layer, d)]

    # ----------------------------------------------------------------------------- workspace
    def _workspace(self, T: int, N: int) -> Workspace:
        """The buffers for T steps of N sequences, made on first use (the oldest of four dropped)."""
        ws = self._workspaces.get((T, N))
        if ws is None:
            if len(self._workspaces) >= _MAX_WORKSPACES:
                self._workspaces.pop(next(iter(self._workspaces)))
            sizes = [self._layer_input_size(layer) for layer in range(self.num_layers)]
            ws = self._workspaces[(T, N)] = new_workspace(self.cell_def, T, N, self.hidden_size, sizes,
                                                          self.num_directions, self.layer_norm, self.dtype)
        return ws

    # ----------------------------------------------------------------------------- checks
    def _check_inputs(self, x, h0, c0, lengths):
        """Checked x (public layout), h0 and c0 (internal layout or None), lengths (None when all are T), T, N."""
        x, T, N = check_sequences(x, self.dtype, self.input_size, self.batch_first)
        if c0 is not None and not self._has_c:
            self._refuse_cell_state("c0")
        shape, meaning = self._state_shape(N), "(num_layers * num_directions, batch, hidden_size)"
        h0, c0 = (check_state(name, s, self.dtype, shape, meaning) for name, s in (("h0", h0), ("c0", c0)))
        if lengths is not None:
            lengths = check_lengths(lengths, N, T)
            lengths = None if np.all(lengths == T) else lengths
        return x, h0, c0, lengths, T, N

    def _state_shape(self, N: int) -> tuple[int, int, int]:
        return (self.num_layers * self.num_directions, N, self.hidden_size)

    def _refuse_cell_state(self, name: str) -> None:
        raise ValueError(f"{name}: only {cells_having(lambda c: 'c' in c.states)} has a cell state; "
                         f"got {name} for cell {self.cell!r}")

    # ----------------------------------------------------------------------------- forward
    def forward(self, x: ArrayLike, h0: ArrayLike | None = None, c0: ArrayLike | None = None,
                lengths: ArrayLike | None = None, train: bool = False) -> tuple[np.ndarray, States]:
        x, h0, c0, lengths, _, _ = self._check_inputs(x, h0, c0, lengths)
        out, h_n, c_n = self._forward(to_internal(self.batch_first, x), h0, c0, lengths, train)
        states = public_states(h_n, c_n)
        return to_public(self.batch_first, out), (states if self._has_c else states[0])

    __call__ = forward

    def _forward(self, X, h0, c0, lengths, train):
        """Internal layouts: X (T, D, N); h0, c0, h_n, c_n (layers*dirs, H, N).

        Returns the output (T, dirs*H, N) (a view into the workspace), h_n and c_n (new arrays).
        """
        T, _, N = X.shape
        ws = self._workspace(T, N)
        H, nd = self.hidden_size, self.num_directions
        valid = pad = None
        if lengths is not None:
            valid = (np.arange(T)[:, None] < lengths[None, :])[:, None, :]   # (T, 1, N)
            pad = ~valid
        h_n = np.empty((self.num_layers * nd, H, N), self.dtype)
        c_n = np.empty_like(h_n) if self._has_c else None
        ws.inputs = []
        drop_masks = []
        layer_in = X
        for layer in range(self.num_layers):
            if layer > 0 and train and self.dropout > 0:
                # inverted dropout between layers: keep with probability 1-p, scale by 1/(1-p)
                keep = (self.rng.random(layer_in.shape) >= self.dropout).astype(self.dtype) / (1.0 - self.dropout)
                layer_in = layer_in * keep
                drop_masks.append(keep)
            else:
                drop_masks.append(None)
            ws.inputs.append(layer_in)
            for d, sw in enumerate(ws.sweeps[layer]):
                k, start, end = layer * nd + d, (0 if d == 0 else T), (T if d == 0 else 0)
                sw.hs[start] = 0.0 if h0 is None else h0[k]
                if sw.cs is not None:
                    sw.cs[start] = 0.0 if c0 is None else c0[k]
                self._forward_direction(layer, d, layer_in, sw, pad)
                h_n[k] = sw.hs[end]
                if c_n is not None:
                    c_n[k] = sw.cs[end]
            layer_in = ws.layer_output(layer, valid)
            if self._block is not None:
                layer_in = self._block.forward(layer, layer_in)
        self._last = {"T": T, "N": N, "valid": valid, "pad": pad, "drop": drop_masks}
        return layer_in, h_n, c_n

    def _forward_direction(self, layer: int, d: int, X: np.ndarray, sw: Sweep, pad) -> None:
        """The input part of every step in one product, then the time loop of the cell's step."""
        W_ih, W_hh = self._param("weight_ih", layer, d), self._param("weight_hh", layer, d)
        gates, hs, cs, u = sw.gates, sw.hs, sw.cs, sw.u
        if X.shape[1] == 1:
            # a product with an inner dimension of 1 runs far below BLAS peak; the outer
            # product by broadcasting is several times faster (784 steps of 1 pixel)
            np.multiply(X, W_ih, out=gates)
        else:
            np.matmul(W_ih, X, out=gates)
        u_bias = None
        if self.bias:
            # A_t = W_ih x_t + b_ih + b_hh, but a b_hh that a gate multiplies (GRU) joins U_t instead
            b_ih, b_hh = self._param("bias_ih", layer, d), self._param("bias_hh", layer, d)
            apart = self.cell_def.separate_hh_bias
            gates += (b_ih if apart else b_ih + b_hh)[:, None]
            u_bias = b_hh[:, None] if apart else None
        self._bind(sw, layer, d)
        if self._sequence is not None and pad is None:   # the whole time loop in one compiled call (``sequence.py``)
            self._sequence.forward(sw, W_hh, None if u_bias is None else u_bias[:, 0], d == 1)
            return
        step = self._steps[0]                        # bound once: no per-step choice of cell
        recurrent = self._recurrence.product(W_hh, u)
        for t, prev, cur in step_order(gates.shape[0], d):
            recurrent(hs[prev])                      # U_t = W_hh h_{t-1}, all gates in one product
            if u_bias is not None:
                u += u_bias
            step(sw, t, prev, cur)
            if pad is not None:                      # padded steps keep the state
                np.copyto(hs[cur], hs[prev], where=pad[t])
                if cs is not None:
                    np.copyto(cs[cur], cs[prev], where=pad[t])

    # ----------------------------------------------------------------------------- backward
    def backward(self, d_output: ArrayLike | None = None, d_h_n: ArrayLike | None = None,
                 d_c_n: ArrayLike | None = None) -> tuple[np.ndarray, ...]:
        if self._last is None:
            raise RuntimeError("backward() called before forward(): run forward on a batch first")
        T, N = self._last["T"], self._last["N"]
        H, nd = self.hidden_size, self.num_directions
        if d_output is not None:
            exp = (N, T, nd * H) if self.batch_first else (T, N, nd * H)
            d_output = check_array("d_output", d_output, self.dtype, exp, "(the shape of the forward output)")
            d_output = to_internal(self.batch_first, d_output)
        if d_c_n is not None and not self._has_c:
            self._refuse_cell_state("d_c_n")
        d_h_n, d_c_n = (check_state(name, s, self.dtype, self._state_shape(N), f"(the shape of {name[2:]})")
                        for name, s in (("d_h_n", d_h_n), ("d_c_n", d_c_n)))
        dX, dh0, dc0 = self._backward(d_output, d_h_n, d_c_n)
        return (to_public(self.batch_first, dX), *public_states(dh0, dc0))

    def _backward(self, d_output, d_h_n, d_c_n):
        """Internal layouts: d_output (T, dirs*H, N) or None; d_h_n, d_c_n (layers*dirs, H, N).

        Fills self.grads (overwriting them); returns dX (T, D, N), dh0 and dc0 (layers*dirs, H, N).
        """
        T, N = self._last["T"], self._last["N"]
        valid, drop = self._last["valid"], self._last["drop"]
        ws = self._workspace(T, N)
        H, nd = self.hidden_size, self.num_directions
        dh0 = np.zeros((self.num_layers * nd, H, N), self.dtype)
        dc0 = np.zeros_like(dh0) if self._has_c else None
        d_out = d_output
        for layer in range(self.num_layers - 1, -1, -1):
            if self._block is not None:
                d_out = self._block.backward(layer, d_out if valid is None or d_out is None else d_out * valid)
            if d_out is not None and valid is not None:
                d_out = d_out * valid     # outputs at padded steps are constant zeros
            for d, sw in enumerate(ws.sweeps[layer]):
                k = layer * nd + d
                sw.dh[...] = 0.0 if d_h_n is None else d_h_n[k]
                sw.dc[...] = 0.0 if d_c_n is None else d_c_n[k]
                d_out_dir = None if d_out is None else d_out[:, d * H:(d + 1) * H]
                self._backward_direction(layer, d, ws, d_out_dir)
                dh0[k] = sw.dh
                if dc0 is not None:
                    dc0[k] = sw.dc
            dX = ws.dX[layer]
            if drop[layer] is not None:
                dX *= drop[layer]
            d_out = dX
        return d_out, dh0, dc0

    def _backward_direction(self, layer: int, d: int, ws: Workspace, d_out) -> None:
        """BPTT through one layer and direction; fills its parameter gradients and adds to dX."""
        sw, X = ws.sweeps[layer][d], ws.inputs[layer]
        dW_ih, dW_hh = self._zero_grads(layer, d)
        self._bind(sw, layer, d)
        if (self._sequence is not None and self._last["pad"] is None and self.recorded_dh is None
                and X.flags.c_contiguous):          # the whole time loop in one compiled call (``sequence.py``)
            self._sequence.backward(sw, self._param("weight_hh", layer, d), X, d_out, dW_hh, dW_ih, d == 1)
        else:
            self._backward_steps(layer, d, ws, d_out, dW_ih, dW_hh)
        self._recurrence.finish(dW_hh, self._param("weight_hh", layer, d))     # the Cayley transform's chain rule
        self._bias_grads(layer, d, sw)
        # dX = W_ih^T dA for all steps in one product (the second direction adds to the first)
        W_ih = self._param("weight_ih", layer, d)
        if d == 0:
            np.matmul(W_ih.T, sw.gates, out=ws.dX[layer])
        else:
            ws.dX[layer] += np.matmul(W_ih.T, sw.gates)

    def _backward_steps(self, layer: int, d: int, ws: Workspace, d_out, dW_ih, dW_hh) -> None:
        """The backward time loop step by step (padded steps, recorded dL/dh_t, the reference steps)."""
        sw, X = ws.sweeps[layer][d], ws.inputs[layer]
        valid, pad = self._last["valid"], self._last["pad"]
        hs, dh, dc, keep_h, keep_c = sw.hs, sw.dh, sw.dc, ws.keep_h, ws.keep_c
        tmp_ih, tmp_hh = ws.dW_tmp[layer]
        step = self._steps[1]                        # bound once: no per-step choice of cell
        add_dW_hh = self._recurrence.weight_grad(dW_hh, tmp_hh)
        for t, prev, cur in step_order(ws.T, d, backward=True):
            if d_out is not None:
                dh += d_out[t]
            if self.recorded_dh is not None:   # gradient-flow analysis: the total dL/dh_t, (H, N)
                self.recorded_dh.setdefault((layer, d), {})[t] = dh.copy()
            if pad is not None:
                # padded step: h_t = h_{t-1}, so its gradient passes straight through
                np.multiply(dh, pad[t], out=keep_h)
                dh *= valid[t]
                if sw.cs is not None:
                    np.multiply(dc, pad[t], out=keep_c)
                    dc *= valid[t]
            dU = step(sw, t, prev, cur)        # dh <- dL/dh_{t-1}; gates[t] <- dL/dA_t
            if pad is not None:
                dh += keep_h
                if sw.cs is not None:
                    dc += keep_c
            # dW_hh += dU_t h_{t-1}^T ;  dW_ih += dA_t x_t^T   (while they are in cache)
            add_dW_hh(dU, hs[prev])
            np.matmul(sw.gates[t], X[t].T, out=tmp_ih)
            dW_ih += tmp_ih

    def _zero_grads(self, layer: int, d: int) -> tuple[np.ndarray, np.ndarray]:
        """Zero the gradients the backward loop accumulates; returns dW_ih and dW_hh."""
        kinds = ("weight_ih", "weight_hh") + (("ln_weight", "ln_bias") if self.layer_norm else ())
        grads = [self.grads[self.param_name(kind, layer, d)] for kind in kinds]
        for g in grads:
            g.fill(0.0)
        return grads[0], grads[1]

    def _bias_grads(self, layer: int, d: int, sw: Sweep) -> None:
        """db_ih = sum over steps and sequences of dL/dA_t; db_hh is the same (b_hh adds to the
        same pre-activation) except on the block where a gate multiplies it (GRU: r * (W_hn h + b_hn)),
        whose gradient is that of U_t's block, kept in sweep.u_n."""
        if not self.bias:
            return
        db_ih = self.grads[self.param_name("bias_ih", layer, d)]
        db_hh = self.grads[self.param_name("bias_hh", layer, d)]
        sw.gates.sum(axis=0).sum(axis=1, out=db_ih)
        db_hh[...] = db_ih
        if self.cell_def.gated_block is not None:
            rows = self.cell_def.gate_slice(self.cell_def.gated_block, self.hidden_size)
            sw.u_n.sum(axis=0).sum(axis=1, out=db_hh[rows])
