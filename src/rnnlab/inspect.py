"""What a recurrent layer is: its parameters (names, shapes, counts, the meaning of each slice),
the closed-form count, and the shapes of its inputs, outputs and states for a given call.

``describe(model_or_spec, ...)`` returns a :class:`Description` (plain data, and ``table()``
for a printable text); the same spec gives the same description on every engine, because the
parameters are listed in torch.nn's layout, the exchange format of all three engines.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from .cells import get_cell
from .engines import ENGINES, RecurrentSpec, build_recurrent


@dataclass
class ParamRow:
    name: str
    shape: tuple[int, ...]
    count: int
    meaning: str


@dataclass
class Description:
    spec: RecurrentSpec
    engine: str
    params: list[ParamRow]
    total: int
    closed_form: str
    shapes: dict[str, tuple[int, ...]] = field(default_factory=dict)
    output_lengths: list[int] | None = None
    notes: list[str] = field(default_factory=list)

    def table(self) -> str:
        s = self.spec
        opts = [f"input {s.input_size}", f"hidden {s.hidden_size}", f"layers {s.num_layers}"]
        opts += [o for o, on in (("bidirectional", s.bidirectional), (f"proj {s.proj_size}", s.proj_size),
                                 (f"nonlinearity {s.nonlinearity}", s.nonlinearity != "tanh"),
                                 (f"dropout {s.dropout}", s.dropout), ("no bias", not s.bias),
                                 ("layer norm in the cell", s.layer_norm)) if on]
        lines = [f"{get_cell(s.cell).title} ({', '.join(opts)}) on engine {self.engine!r}", ""]
        w = max(len(r.name) for r in self.params)
        lines.append(f"{'name':<{w}}  {'shape':<10} {'count':>6}  meaning")
        for r in self.params:
            lines.append(f"{r.name:<{w}}  {str(r.shape):<10} {r.count:>6}  {r.meaning}")
        lines += ["", f"total parameters: {self.total}", f"closed form: {self.closed_form}"]
        if self.shapes:
            lines += ["", "shapes of one call:"]
            lines += [f"  {k}: {v}" for k, v in self.shapes.items()]
            if self.output_lengths is not None:
                lines.append(f"  output lengths: {self.output_lengths}")
        if self.notes:
            lines += ["", "notes:"] + [f"  - {n}" for n in self.notes]
        return "\n".join(lines)


def _slices(cell: str, H: int) -> str:
    """The rows of each gate block: "i 0-19 | f 20-39 | ..." (gates and order from the registry)."""
    spec = get_cell(cell)
    rows = ((g.letter, spec.gate_slice(g.letter, H)) for g in spec.gates)
    return " | ".join(f"{letter} {s.start}-{s.stop - 1}" for letter, s in rows)


def _meaning(spec: RecurrentSpec, name: str, shape) -> str:
    """What a parameter holds, from the registry's declaration of it (its stem is the name before ``_l{k}``)."""
    H, cell = spec.hidden_size, get_cell(spec.cell)
    param = cell.param(name.rsplit("_l", 1)[0])
    rows = _slices(spec.cell, H)
    gates = ", ".join(f"{g.letter} = {g.meaning}" for g in cell.gates)
    if param.stem == "weight_hr":
        return f"projection h = W_hr (o * tanh c): {shape[0]} projected features from {shape[1]} hidden"
    if param.stem == "weight_hh" and len(shape) == 1:
        bound = f"; |u| <= {param.bound:g}" if param.bound is not None else ""
        return f"the diagonal recurrent weight u: unit j reads only its own h_j, u_j * h_j{bound}"
    if param.stem == "weight_ih":
        return f"rows {rows} ({gates}); columns: the layer's {shape[1]} input features"
    if param.stem == "weight_hh" and cell.recurrent_weight == "cayley":
        return "M: the step's W_hh is the Cayley transform (I + A)^-1 (I - A) of A = M - M^T, orthogonal"
    if param.stem == "weight_hh":
        return f"rows {rows}; columns: the previous h ({shape[1]})"
    if param.needs == "layer_norm":
        role = param.role.removeprefix("layer-norm ")
        return f"layer-norm {role} of each gate block's pre-activation (before its nonlinearity), rows {rows}"
    if param.shape[0] != "G*H":             # not gate blocks (the LRU's H-sized parameters)
        return f"{param.role}; {shape[0]} units" + (f" x {shape[1]}" if len(shape) > 1 else "")
    return f"{param.role}, rows {rows}"


def _params(model, engine: str) -> dict[str, tuple[int, ...]]:
    if engine == "numpy":
        return model.param_shapes()
    if engine == "scratch":
        from .torch import to_torch_state_dict
        return {k: tuple(v.shape) for k, v in to_torch_state_dict(model).items()}
    return {k: tuple(v.shape) for k, v in model.state_dict().items()}


def _layer_form(cell, spec: RecurrentSpec, D: int) -> tuple[str, int]:
    """One layer and direction's count from the registry's declarations: G x (the parameters with a block of
    rows per gate, each as columns x H; 1-D ones grouped as n x H) + the others (e.g. the projection R x H)."""
    G, H, R = cell.num_gates, spec.hidden_size, spec.output_size
    inner, outer, groups, count = [], [], {}, 0
    for p in cell.params_with(spec.bias, spec.layer_norm, spec.proj_size):
        shape = p.shape_for(D, H, G, R)
        count += math.prod(shape)
        if p.shape[0] != "G*H":
            outer.append(" x ".join(map(str, shape)))
        elif len(shape) == 1:
            groups[p.needs] = groups.get(p.needs, 0) + 1
        else:
            inner.append(f"{shape[1]} x {H}")
    inner += [f"{n} x {H}" + (" layer norm" if needs == "layer_norm" else "") for needs, n in groups.items()]
    text = f"{G} x ({' + '.join(inner)})" if G > 1 else f"({' + '.join(inner)})"
    return text + "".join(f" + {term}" for term in outer), count


def closed_form(spec: RecurrentSpec) -> tuple[str, int]:
    """Per layer and direction: ``G x (D_k x H + R x H [+ 2 x H] [+ 2 x H layer norm]) [+ P x H]``, G gates,
    R = size of h; the second 2 x H is layer norm's gain and shift.  The IndRNN: ``(D_k x H + 2 x H) + H``."""
    cell, R, nd = get_cell(spec.cell), spec.output_size, spec.num_directions
    parts, total = [], 0
    for k in range(spec.num_layers):
        text, count = _layer_form(cell, spec, spec.input_size if k == 0 else R * nd)
        per = f"layer {k}: {text} = {count}" + (f", x {nd} directions = {count * nd}" if nd > 1 else "")
        parts.append(per)
        total += count * nd
    return "; ".join(parts) + f"; total {total}", total


def _spec_of(model) -> tuple[RecurrentSpec, str]:
    import torch

    from .numpy import RecurrentNet
    if isinstance(model, RecurrentNet):
        return RecurrentSpec(model.cell, model.input_size, model.hidden_size, model.num_layers,
                             model.bidirectional, model.nonlinearity, model.dropout, 0, model.bias,
                             model.batch_first, model.layer_norm), "numpy"
    from .torch.stacks import _Stack
    if isinstance(model, _Stack):
        engine, cell = "scratch", model.cell
    elif isinstance(model, (torch.nn.RNN, torch.nn.LSTM, torch.nn.GRU)):
        engine, cell = "torch", type(model).__name__.lower()
    else:
        raise ValueError(f"model: expected a RecurrentSpec, a NumPy RecurrentNet, an rnnlab.torch stack or "
                         f"torch.nn.RNN/LSTM/GRU, got {type(model).__name__}")
    return RecurrentSpec(cell, model.input_size, model.hidden_size, model.num_layers, model.bidirectional,
                         getattr(model, "nonlinearity", "tanh"), float(model.dropout),
                         getattr(model, "proj_size", 0), model.bias, model.batch_first,
                         getattr(model, "layer_norm", False)), engine


def _run_shapes(model, spec: RecurrentSpec, engine: str, batch: int, seq_len: int, lengths):
    """Really call the model on zeros; returns the shapes and, for ragged input, the output lengths."""
    import numpy as np
    import torch
    S, R, H = spec.num_layers * spec.num_directions, spec.output_size, spec.hidden_size
    x_shape = (batch, seq_len, spec.input_size) if spec.batch_first else (seq_len, batch, spec.input_size)
    # the states the cell carries: h (R features), and c (H) for the LSTM
    states_in = {f"{s}0": (S, batch, R if s == "h" else H) for s in get_cell(spec.cell).states}
    shapes = {"input": x_shape, **states_in}
    several = len(states_in) > 1
    out_lengths = None
    if engine == "numpy":
        res = model.forward(np.zeros(x_shape), *(np.zeros(shape) for shape in states_in.values()), lengths=lengths)
        output, states = res[0], (res[1] if several else (res[1],))
        if lengths is not None:
            out_lengths = [int(n) for n in lengths]
    else:
        x = torch.zeros(x_shape)
        hx = tuple(torch.zeros(shape) for shape in states_in.values())
        hx = hx if several else hx[0]
        with torch.no_grad():
            if lengths is not None:
                packed = torch.nn.utils.rnn.pack_padded_sequence(x, torch.tensor(lengths), batch_first=spec.batch_first,
                                                                 enforce_sorted=False)
                out, st = model(packed, hx)
                output, lens = torch.nn.utils.rnn.pad_packed_sequence(out, batch_first=spec.batch_first)
                out_lengths = lens.tolist()
            else:
                output, st = model(x, hx)
        states = st if isinstance(st, tuple) else (st,)
    shapes["output"] = tuple(output.shape)
    for name, state in zip(states_in, states):
        shapes[f"{name[0]}_n"] = tuple(state.shape)
    return shapes, out_lengths


def _notes(spec: RecurrentSpec, lengths, seq_len) -> list[str]:
    notes = []
    H = spec.output_size
    if spec.bidirectional:
        notes.append(f"bidirectional: output has {2 * H} features, [forward | backward]; the final hidden state "
                     f"of the backward direction (h_n[-1]) is its state after reading back to step 0, i.e. "
                     f"output[:, 0, {H}:], not the last output step")
    if lengths is not None:
        notes.append(f"packed input: the output comes back padded to the longest length ({max(lengths)}) with "
                     f"zeros past each sequence's length, together with the lengths; h_n holds each "
                     f"sequence's state at its own last step, not output[:, -1]")
    if spec.proj_size:
        notes.append(f"projection: h, the output and h_n have proj_size = {spec.proj_size} features; "
                     f"the cell state c keeps hidden_size = {spec.hidden_size}; W_hh reads the projected h")
    if spec.dropout:
        notes.append("dropout acts on the outputs of every layer but the last, in training only, and adds "
                     "no parameters" + (" (with one layer it has no effect)" if spec.num_layers == 1 else ""))
    if spec.nonlinearity == "relu":
        notes.append("nonlinearity relu changes no shape and no count")
    if not spec.batch_first:
        notes.append("sequence-first (time-major): input and output are (seq_len, batch, features); the states "
                     "are (layers * directions, batch, features) in both layouts")
    return notes


def describe(model_or_spec: object, engine: str | None = None, batch: int | None = None,
             seq_len: int | None = None, lengths: list[int] | None = None) -> Description:
    """Parameters, closed-form count and (given ``batch`` and ``seq_len``) the shapes of one call."""
    if isinstance(model_or_spec, RecurrentSpec):
        spec = model_or_spec
        engines = get_cell(spec.cell).engines
        engine = engine or ("torch" if "torch" in engines else engines[0])     # torch.nn's layout where it has the cell
        if engine not in ENGINES:
            raise ValueError(f"engine: unknown value {engine!r}; expected one of {', '.join(map(repr, ENGINES))}")
        model = build_recurrent(spec, engine)
    else:
        spec, found = _spec_of(model_or_spec)
        if engine is not None and engine != found:
            raise ValueError(f"engine: the model runs on {found!r}, not {engine!r}")
        model, engine = model_or_spec, found
    rows = [ParamRow(name, tuple(shape), math.prod(shape), _meaning(spec, name, shape))
            for name, shape in _params(model, engine).items()]
    total = sum(r.count for r in rows)
    text, expected = closed_form(spec)
    if expected != total:   # pragma: no cover - a broken engine, not a user error
        raise AssertionError(f"closed form {expected} != counted {total} for {spec}")
    notes = []
    cell = get_cell(spec.cell)
    if engine == "scratch" and spec.bias and not cell.separate_hh_bias:
        merged = spec.num_layers * spec.num_directions * cell.num_gates * spec.hidden_size
        notes.append(f"rnnlab.torch stores b = b_ih + b_hh as one bias per gate, so it trains "
                     f"{total - merged} parameters; the table is the torch.nn layout it exchanges")
    shapes, out_lengths = {}, None
    if batch is not None or seq_len is not None or lengths is not None:
        if batch is None or seq_len is None:
            raise ValueError("batch and seq_len: give both to see the shapes of a call")
        if lengths is not None:
            lengths = [int(n) for n in lengths]
            if len(lengths) != batch or min(lengths) < 1 or max(lengths) > seq_len:
                raise ValueError(f"lengths: expected {batch} lengths in 1..{seq_len}, got {lengths}")
        shapes, out_lengths = _run_shapes(model, spec, engine, batch, seq_len, lengths)
    notes += _notes(spec, lengths, seq_len) if shapes else []
    return Description(spec, engine, rows, total, text, shapes, out_lengths, notes)


def compare_table(descriptions: list[Description]) -> str:
    """Parameter shapes of several models side by side, with their totals."""
    names = []
    for d in descriptions:
        names += [r.name for r in d.params if r.name not in names]
    heads = [get_cell(d.spec.cell).title for d in descriptions]
    cols = [{r.name: str(r.shape) for r in d.params} for d in descriptions]
    w = max(len(n) for n in names + ["total"])
    cw = [max(12, len(h)) for h in heads]
    lines = [f"{'name':<{w}}  " + "  ".join(f"{h:<{c}}" for h, c in zip(heads, cw))]
    for n in names:
        lines.append(f"{n:<{w}}  " + "  ".join(f"{col.get(n, '-'):<{c}}" for col, c in zip(cols, cw)))
    lines.append(f"{'total':<{w}}  " + "  ".join(f"{d.total:<{c}}" for d, c in zip(descriptions, cw)))
    lines += [""] + [f"{get_cell(d.spec.cell).title}: {d.closed_form}" for d in descriptions]
    return "\n".join(lines)
