"""Weights between our PyTorch modules, torch.nn.RNN/LSTM/GRU and the NumPy engine.

All three speak torch.nn's names (``weight_ih_l{k}[_reverse]``, ``bias_hh_l{k}``,
``weight_hr_l{k}`` for the LSTM projection).  Our RNN and LSTM layers have one bias per gate,
b = b_ih + b_hh, which is exact because the two are only ever added; exporting writes
b_ih = b and b_hh = 0.  The GRU keeps both biases (r multiplies W_hn h + b_hn): the cell
registry's ``separate_hh_bias``.
"""
from __future__ import annotations

import torch
from torch import nn

from ..cells import get_cell
from ..numpy.checks import check_state_names
from .stacks import GRU, LSTM, RNN, _Stack

_TORCH = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}
_OURS = {"rnn": RNN, "lstm": LSTM, "gru": GRU}
MODULES = {"scratch": _OURS, "torch": _TORCH}   # engine -> cell -> module class


def to_torch_state_dict(module: _Stack) -> dict[str, torch.Tensor]:
    """Our stack's weights under torch.nn's names (tensors detached and cloned)."""
    state = {}
    for k, d, layer in module.all_layers():
        sfx = f"_l{k}" + ("_reverse" if d else "")
        state["weight_ih" + sfx] = layer.ih.weight.detach().clone()
        state["weight_hh" + sfx] = layer.hh.weight.detach().clone()
        if module.bias:
            state["bias_ih" + sfx] = layer.ih.bias.detach().clone()
            hh_bias = layer.hh.bias     # None where b_hh merged into b_ih
            state["bias_hh" + sfx] = (hh_bias.detach().clone() if hh_bias is not None
                                      else torch.zeros_like(layer.ih.bias.detach()))
        if getattr(layer, "proj", None) is not None:
            state["weight_hr" + sfx] = layer.proj.weight.detach().clone()
        if getattr(layer, "layer_norm", False):
            state["ln_weight" + sfx] = layer.ln_weight.detach().clone()
            state["ln_bias" + sfx] = layer.ln_bias.detach().clone()
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
            sfx = f"_l{k}" + ("_reverse" if d else "")
            layer.ih.weight.copy_(tensors["weight_ih" + sfx])
            layer.hh.weight.copy_(tensors["weight_hh" + sfx])
            if module.bias:
                if module.cell_def.separate_hh_bias:
                    layer.ih.bias.copy_(tensors["bias_ih" + sfx])
                    layer.hh.bias.copy_(tensors["bias_hh" + sfx])
                else:
                    layer.ih.bias.copy_(tensors["bias_ih" + sfx] + tensors["bias_hh" + sfx])
            if getattr(layer, "proj", None) is not None:
                layer.proj.weight.copy_(tensors["weight_hr" + sfx])
            if getattr(layer, "layer_norm", False):
                layer.ln_weight.copy_(tensors["ln_weight" + sfx])
                layer.ln_bias.copy_(tensors["ln_bias" + sfx])


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
