"""Weights between our PyTorch modules, torch.nn.RNN/LSTM/GRU and the NumPy engine.

All three speak torch.nn's names (``weight_ih_l{k}[_reverse]``, ``bias_hh_l{k}``,
``weight_hr_l{k}`` for the LSTM projection), and every parameter's name and shape is the cell
registry's declaration (``CellDef.params``: IndRNN's ``weight_hh_l{k}`` is the vector u, (H,)).
Our layers keep one bias per gate, b = b_ih + b_hh, where the two are only ever added (exact);
exporting writes b_ih = b and b_hh = 0.  The GRU keeps both biases (r multiplies W_hn h + b_hn):
the cell registry's ``separate_hh_bias``.
"""
from __future__ import annotations

import torch
from torch import nn

from ..argcheck import check_state_names
from ..cells import get_cell
from .stacks import STACKS, _Stack
from .table import refuse_unimplemented


class _Modules(dict):
    """cell -> module class of one engine; a cell the engine lacks is refused with its name and the engines
    that implement it."""

    def __init__(self, engine: str, what: str, classes: dict) -> None:
        super().__init__(classes)
        self.engine, self.what = engine, what

    def __missing__(self, cell: str):
        raise refuse_unimplemented(cell, self.engine, self.what)


_TORCH = _Modules("torch", "torch.nn", {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU})
_OURS = _Modules("scratch", "rnnlab.torch", STACKS)
MODULES = {"scratch": _OURS, "torch": _TORCH}   # engine -> cell -> module class


def _declared(module: _Stack, layer: nn.Module):
    """The registry's parameters of ``layer`` with ``module``'s options."""
    return module.cell_def.params_with(module.bias, getattr(layer, "layer_norm", False), getattr(layer, "proj_size", 0))


def to_torch_state_dict(module: _Stack) -> dict[str, torch.Tensor]:
    """Our stack's weights under torch.nn's names (tensors detached and cloned), in the registry's order."""
    state = {}
    G = module.cell_def.num_gates
    for k, d, layer in module.all_layers():
        tensors = layer.portable_parameters()
        for param in _declared(module, layer):
            value = tensors[param.stem]
            if value is None:       # b_hh merged into b_ih: exported as zeros
                shape = param.shape_for(layer.input_size, layer.hidden_size, G, layer.output_size)
                value = torch.zeros(shape, dtype=layer.ih.weight.dtype, device=layer.ih.weight.device)
            state[param.name(k, d)] = value.detach().clone()
    return state


def load_torch_state_dict(module: _Stack, state: dict) -> None:
    """Load weights named as torch.nn's (tensors or NumPy arrays) into our stack."""
    expected = to_torch_state_dict(module)
    check_state_names("state", expected, state, f"a {module.cell_def.title} of this shape")
    tensors = {}
    for name, ref in expected.items():
        value = torch.as_tensor(state[name])
        if tuple(value.shape) != tuple(ref.shape):
            raise ValueError(f"state[{name!r}]: expected shape {tuple(ref.shape)}, got {tuple(value.shape)}")
        tensors[name] = value
    with torch.no_grad():
        for k, d, layer in module.all_layers():
            ours = layer.portable_parameters()
            for param in _declared(module, layer):
                target = ours[param.stem]
                if target is None:          # a merged b_hh: added to b_ih below
                    continue
                value = tensors[param.name(k, d)]
                # (a linear recurrence, recurrent_weight "none", has no b_hh at all)
                if param.stem == "bias_ih" and ours["bias_hh"] is None and module.cell_def.recurrent_weight != "none":
                    value = value + tensors[module.cell_def.param("bias_hh").name(k, d)]
                target.copy_(value)


def module_options(cell: str, source: object) -> dict:
    """The keyword options of a recurrent module of ``cell``, read from anything that carries
    torch.nn's attribute names (a RecurrentSpec, one of our stacks, a torch.nn module)."""
    spec = get_cell(cell)
    options = {"num_layers": source.num_layers, "bias": source.bias, "batch_first": source.batch_first,
               "dropout": source.dropout, "bidirectional": source.bidirectional}
    if len(spec.nonlinearities) > 1:
        options["nonlinearity"] = source.nonlinearity
    if spec.projection and source.proj_size:
        options["proj_size"] = source.proj_size
    if getattr(source, "layer_norm", False):
        options["layer_norm"] = True
    return options


def to_torch(module: _Stack) -> nn.Module:
    """An equal torch.nn.RNN/LSTM/GRU (same options, same weights, same dtype)."""
    if getattr(module, "layer_norm", False):
        raise ValueError("layer_norm: torch.nn has no layer-normalised cell, so this stack has no torch.nn twin")
    twin = _TORCH[module.cell](module.input_size, module.hidden_size, **module_options(module.cell, module))
    dtype = module.layers[0].ih.weight.dtype
    twin = twin.to(dtype)
    twin.load_state_dict(to_torch_state_dict(module))
    return twin


def from_torch(torch_module: nn.Module) -> _Stack:
    """Our stack equal to a torch.nn.RNN/LSTM/GRU (same options, weights and dtype)."""
    cell = next((name for name, cls in _TORCH.items() if type(torch_module) is cls), None)
    if cell is None:
        raise ValueError(f"torch_module: expected torch.nn.RNN, LSTM or GRU, got {type(torch_module).__name__}")
    m = torch_module
    ours = _OURS[cell](m.input_size, m.hidden_size, **module_options(cell, m))
    ours = ours.to(next(m.parameters()).dtype)
    load_torch_state_dict(ours, m.state_dict())
    return ours
