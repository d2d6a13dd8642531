"""Bad input to rnnlab.torch's stacks and layers: one clear line, and torch.nn's exception type.

Every case is run on our module and, where torch.nn has the same argument, on torch.nn's twin with
the same input: where torch.nn raises RuntimeError, TypeError or ValueError we must raise that type;
where torch.nn accepts the input (``bidirectional="False"``, a 2-D unbatched ``x``) or fails with
something else (AttributeError for a list), we raise the type the case names.  Our message must be
one line that starts with the argument's name and says what it got.
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from torch.nn.utils.rnn import pack_padded_sequence

from rnnlab.torch import GRU, LSTM, RNN, GRULayer, LSTMLayer, RNNLayer

OURS = {"rnn": RNN, "lstm": LSTM, "gru": GRU}
TORCH = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}
LAYERS = {"rnn": RNNLayer, "lstm": LSTMLayer, "gru": GRULayer}
CELLS = tuple(OURS)
MATCHED = (RuntimeError, TypeError, ValueError)   # the types we must share with torch.nn


def torch_error(call) -> type[Exception] | None:
    """The type torch.nn raises for ``call`` when it is one we match, else None."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            call()
    except MATCHED as e:
        return type(e)
    except Exception:
        return None
    return None


def check_refusal(call, argument: str, says: str, own: type[Exception], twin=None) -> None:
    """``call`` raises torch.nn's type (``twin`` computes it) or else ``own``, with one clear line."""
    expected = (torch_error(twin) if twin is not None else None) or own
    with pytest.raises(Exception) as info:
        call()
    assert type(info.value) is expected, f"{type(info.value).__name__} ({info.value}), expected {expected.__name__}"
    message = str(info.value)
    assert "\n" not in message and message.startswith(f"{argument}: "), message
    assert says in message, message


# -- constructors -------------------------------------------------------------------------------------------------
# (option, value, what the message says, our type where torch.nn accepts it or has no such option, cells)
CTOR_CASES = [
    ("input_size", 3.0, "3.0 (a float)", TypeError, CELLS),
    ("input_size", "3", "'3' (a string)", TypeError, CELLS),
    ("input_size", True, "True (a bool)", TypeError, CELLS),          # torch.nn takes True as 1
    ("input_size", np.int64(3), "numpy.int64", TypeError, CELLS),
    ("input_size", None, "None", TypeError, CELLS),
    ("input_size", 0, "got 0", ValueError, CELLS),
    ("input_size", -1, "got -1", ValueError, CELLS),
    ("hidden_size", 5.0, "5.0 (a float)", TypeError, CELLS),
    ("hidden_size", "5", "'5' (a string)", TypeError, CELLS),
    ("hidden_size", True, "True (a bool)", TypeError, CELLS),
    ("hidden_size", 0, "got 0", ValueError, CELLS),
    ("hidden_size", -2, "got -2", ValueError, CELLS),
    ("num_layers", 0, "got 0", ValueError, CELLS),
    ("num_layers", -1, "got -1", ValueError, CELLS),
    ("num_layers", 1.5, "1.5 (a float)", TypeError, CELLS),
    ("num_layers", "2", "'2' (a string)", TypeError, CELLS),
    ("num_layers", None, "None", TypeError, CELLS),
    ("num_layers", True, "True (a bool)", TypeError, CELLS),          # torch.nn takes True as 1
    ("bias", "False", "pass False, not the string 'False'", TypeError, CELLS),
    ("bias", 0, "0 (an int)", TypeError, CELLS),
    ("bias", None, "None", TypeError, CELLS),
    ("bias", np.bool_(True), "numpy.bool", TypeError, CELLS),
    ("batch_first", "False", "'False' (a string)", TypeError, CELLS),
    ("batch_first", 2, "2 (an int)", TypeError, CELLS),
    ("batch_first", None, "None", TypeError, CELLS),
    ("bidirectional", "False", "'False' (a string)", TypeError, CELLS),   # torch.nn reads it as True
    ("bidirectional", 2, "2 (an int)", TypeError, CELLS),
    ("bidirectional", None, "None", TypeError, CELLS),
    ("layer_norm", "True", "'True' (a string)", TypeError, CELLS),       # no torch.nn option
    ("layer_norm", 1, "1 (an int)", TypeError, CELLS),
    ("dropout", -0.1, "got -0.1", ValueError, CELLS),
    ("dropout", 1.5, "got 1.5", ValueError, CELLS),
    ("dropout", "0.5", "'0.5' (a string)", ValueError, CELLS),
    ("dropout", True, "True (a bool)", ValueError, CELLS),
    ("dropout", float("nan"), "got nan", ValueError, CELLS),
    ("dropout", None, "None", TypeError, CELLS),
    ("dropout", [0.1], "[0.1] (a list)", TypeError, CELLS),
    ("nonlinearity", "sigmoid", "'sigmoid'", ValueError, ("rnn",)),
    ("nonlinearity", None, "None", ValueError, ("rnn",)),
    ("nonlinearity", torch.tanh, "expected one of 'tanh', 'relu'", ValueError, ("rnn",)),
    ("proj_size", -1, "got -1", ValueError, ("lstm",)),
    ("proj_size", 5, "in 0..4", ValueError, ("lstm",)),
    ("proj_size", 1.5, "1.5 (a float)", TypeError, ("lstm",)),
    ("proj_size", "1", "'1' (a string)", TypeError, ("lstm",)),
    ("proj_size", True, "True (a bool)", TypeError, ("lstm",)),
]


def _ctor_params():
    for option, value, says, own, cells in CTOR_CASES:
        for cell in cells:
            shown = value.__name__ if callable(value) else repr(value)   # a stable id: no object address
            yield pytest.param(cell, option, value, says, own, id=f"{cell}-{option}={shown}")


@pytest.mark.parametrize("cell,option,value,says,own", list(_ctor_params()))
def test_stack_refuses_bad_options(cell, option, value, says, own):
    sizes = {"input_size": 3, "hidden_size": 5}
    kwargs = {**sizes, option: value}
    twin = None if option == "layer_norm" else (lambda: TORCH[cell](**kwargs))
    check_refusal(lambda: OURS[cell](**kwargs), option, says, own, twin)


LAYER_CTOR_CASES = [(opt, val, says, own) for opt, val, says, own, _ in CTOR_CASES
                    if opt in ("input_size", "hidden_size", "bias", "layer_norm")]


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("option,value,says,own", LAYER_CTOR_CASES, ids=lambda v: repr(v)[:20])
def test_layer_refuses_bad_options(cell, option, value, says, own):
    kwargs = {"input_size": 3, "hidden_size": 5, option: value}
    twin = None if option == "layer_norm" else (lambda: TORCH[cell](**kwargs))
    check_refusal(lambda: LAYERS[cell](**kwargs), option, says, own, twin)


@pytest.mark.parametrize("value,says", [(1.5, "1.5 (a float)"), (6, "in 0..4"), (-1, "got -1")])
def test_lstm_layer_refuses_bad_projections(value, says):
    check_refusal(lambda: LSTMLayer(3, 5, proj_size=value), "proj_size", says, ValueError,
                  lambda: torch.nn.LSTM(3, 5, proj_size=value))


def test_rnn_layer_refuses_unknown_nonlinearities():
    check_refusal(lambda: RNNLayer(3, 5, nonlinearity="swish"), "nonlinearity", "'swish'", ValueError,
                  lambda: torch.nn.RNN(3, 5, nonlinearity="swish"))
    check_refusal(lambda: RNNLayer(3, 5, nonlinearity=3), "nonlinearity", "got 3", ValueError,
                  lambda: torch.nn.RNN(3, 5, nonlinearity=3))


def test_string_flags_are_refused_not_read_as_true():
    # bias first, as in torch.nn
    with pytest.raises(TypeError, match=r"^bias: expected True or False, got 'False' \(a string\)"):
        GRU(3, 5, batch_first="False", bias="False")
    with pytest.raises(TypeError, match=r"^batch_first: expected True or False, got 'False' \(a string\)"):
        GRU(3, 5, batch_first="False")


@pytest.mark.parametrize("cell", CELLS)
def test_what_torch_nn_accepts_is_accepted(cell):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        net = OURS[cell](3, 5, num_layers=np.int64(2), dropout=1, bidirectional=1)
        OURS[cell](3, 5, bidirectional=np.bool_(False), dropout=np.float64(0.2))
    assert net.dropout == 1.0 and net.bidirectional is True and net.num_layers == 2
    assert type(net.num_layers) is int
    out, _ = net.train()(torch.randn(2, 4, 3))
    assert out.shape == (2, 4, 10) and torch.isfinite(out).all()
    if cell == "lstm":
        assert OURS[cell](3, 5, proj_size=np.int64(2)).proj_size == 2


@pytest.mark.parametrize("cell", CELLS)
def test_an_empty_batch_works_as_in_torch_nn(cell):
    ours, twin = OURS[cell](3, 5, num_layers=2), TORCH[cell](3, 5, num_layers=2, batch_first=True)
    x = torch.zeros(0, 4, 3)
    out, state = ours(x)
    ref_out, ref_state = twin(x)
    assert out.shape == ref_out.shape == (0, 4, 5)
    h, ref_h = (state[0], ref_state[0]) if cell == "lstm" else (state, ref_state)
    assert h.shape == ref_h.shape == (2, 0, 5)
    assert ours(x, lengths=[])[0].shape == (0, 4, 5)


# -- forward calls ------------------------------------------------------------------------------------------------
B, T, D, H = 2, 4, 3, 5


def _x(*shape, **kw) -> torch.Tensor:
    return torch.zeros(shape or (B, T, D), **kw)


def _hx(cell, *shape, **kw):
    """The stacks' hx: h0 of ``shape`` (default (1, B, H)), with a good c0 for the LSTM."""
    h = torch.zeros(shape or (1, B, H), **kw)
    return (h, torch.zeros(1, B, H)) if cell == "lstm" else h


def _c0(*shape, **kw):
    return (torch.zeros(1, B, H), torch.zeros(shape or (1, B, H), **kw))


def _packed(dtype=torch.float32, features=D):
    return pack_padded_sequence(torch.zeros(B, T, features, dtype=dtype), torch.tensor([T, 2]), batch_first=True,
                                enforce_sorted=False)


ALL, NONE = CELLS, ()
# name: (argument, what the message says, our type where torch.nn does not raise one of ours,
#        call -> (args, kwargs), the cells it applies to, the cells whose torch.nn twin is asked, module options)
FORWARD_CASES = {
    "seq_len 0": ("x", "expected at least one time step, got shape (2, 0, 3)", RuntimeError,
                  lambda c: ((_x(B, 0, D),), {}), ALL, ALL, {}),
    "seq_len 0 time-major": ("x", "got shape (0, 2, 3)", RuntimeError, lambda c: ((_x(0, B, D),), {}), ALL, ALL,
                             {"batch_first": False}),
    "seq_len 0 with hx": ("x", "got shape (2, 0, 3)", RuntimeError, lambda c: ((_x(B, 0, D), _hx(c)), {}),
                          ALL, ALL, {}),
    "float64": ("x", "x.float() or the module with module.double()", ValueError,
                lambda c: ((_x(dtype=torch.float64),), {}), ALL, ALL, {}),
    "int64": ("x", "got torch.int64", ValueError, lambda c: ((_x(dtype=torch.int64),), {}), ALL, ALL, {}),
    "float16": ("x", "module.half()", ValueError, lambda c: ((_x(dtype=torch.float16),), {}), ALL, ALL, {}),
    "other device": ("x", "got one on meta", RuntimeError, lambda c: ((_x(device="meta"),), {}), ALL, ALL, {}),
    "4-D": ("x", "got (2, 4, 3, 1)", ValueError, lambda c: ((_x(B, T, D, 1),), {}), ALL, ALL, {}),
    "1-D": ("x", "got (3,)", ValueError, lambda c: ((_x(D),), {}), ALL, ALL, {}),
    # torch.nn takes a 2-D x as one unbatched sequence; these modules do not (yet)
    "2-D": ("x", "x.unsqueeze(0)", ValueError, lambda c: ((_x(T, D),), {}), ALL, ALL, {}),
    "list": ("x", "got a list", TypeError, lambda c: (([[0.0] * D] * T,), {}), ALL, ALL, {}),
    "features": ("x", "expected 3 input features", RuntimeError, lambda c: ((_x(B, T, 7),), {}), ALL, ALL, {}),
    "h0 batch": ("h0", "expected shape (1, 2, 5)", RuntimeError, lambda c: ((_x(), _hx(c, 1, 3, H)), {}),
                 ALL, ALL, {}),
    "h0 layers": ("h0", "got shape (2, 2, 5)", RuntimeError, lambda c: ((_x(), _hx(c, 2, B, H)), {}), ALL, ALL, {}),
    "h0 2-D": ("h0", "got shape (2, 5)", RuntimeError, lambda c: ((_x(), _hx(c, B, H)), {}), ALL, ALL, {}),
    "h0 float64": ("h0", "h0.float()", RuntimeError, lambda c: ((_x(), _hx(c, dtype=torch.float64)), {}),
                   ALL, ALL, {}),
    "h0 other device": ("h0", "got one on meta", RuntimeError, lambda c: ((_x(), _hx(c, device="meta")), {}),
                        ALL, ALL, {}),
    "h0 list": ("h0", "got a list", TypeError,
                lambda c: ((_x(), ([[0.0]], torch.zeros(1, B, H)) if c == "lstm" else [[0.0]]), {}), ALL, ALL, {}),
    "c0 shape": ("c0", "expected shape (1, 2, 5)", RuntimeError, lambda c: ((_x(), _c0(1, B, 4)), {}),
                 ("lstm",), ALL, {}),
    "c0 float64": ("c0", "c0.float()", RuntimeError, lambda c: ((_x(), _c0(dtype=torch.float64)), {}),
                   ("lstm",), ALL, {}),
    "hx one tensor": ("hx", "got a single tensor", RuntimeError, lambda c: ((_x(), torch.zeros(1, B, H)), {}),
                      ("lstm",), ALL, {}),
    "hx three tensors": ("hx", "got 3 tensors", RuntimeError, lambda c: ((_x(), (torch.zeros(1, B, H),) * 3), {}),
                         ("lstm",), ALL, {}),
    "hx two tensors": ("hx", "got 2 tensors", RuntimeError, lambda c: ((_x(), (torch.zeros(1, B, H),) * 2), {}),
                       ("rnn", "gru"), ALL, {}),
    "hx string": ("hx", "got a string", TypeError, lambda c: ((_x(), "zeros"), {}), ALL, ALL, {}),
    # torch.nn's LSTM does not check a packed input's dtype (its matmul fails with a RuntimeError); its RNN
    # and GRU do, with a ValueError, which all three of ours raise
    "packed float64": ("x", "got torch.float64", ValueError, lambda c: ((_packed(torch.float64),), {}), ALL,
                       ("rnn", "gru"), {}),
    "packed features": ("x", "expected 3 input features", RuntimeError, lambda c: ((_packed(features=7),), {}),
                        ALL, ALL, {}),
    "packed and lengths": ("lengths", "carries its own lengths", TypeError,
                           lambda c: ((_packed(),), {"lengths": [T, 2]}), ALL, ALL, {}),
    # torch.nn has no lengths argument (pack_padded_sequence refuses lengths < 1 with a RuntimeError)
    "lengths 0": ("lengths", "min 0", ValueError, lambda c: ((_x(),), {"lengths": [0, 2]}), ALL, NONE, {}),
    "lengths > seq_len": ("lengths", "must lie in 1..4", ValueError, lambda c: ((_x(),), {"lengths": [5, 2]}),
                          ALL, NONE, {}),
    "lengths shape": ("lengths", "expected shape (2,)", ValueError, lambda c: ((_x(),), {"lengths": [4, 2, 1]}),
                      ALL, NONE, {}),
    "lengths float": ("lengths", "dtype torch.float32", TypeError, lambda c: ((_x(),), {"lengths": [4.0, 2.0]}),
                      ALL, NONE, {}),
    "lengths string": ("lengths", "got a string", TypeError, lambda c: ((_x(),), {"lengths": "4, 2"}), ALL, NONE, {}),
}


def _twin_of(name: str, cell: str):
    """torch.nn's call for forward case ``name`` on ``cell``, or None where it is not asked."""
    _, _, _, build, _, twin_cells, options = FORWARD_CASES[name]
    if cell not in twin_cells:
        return None
    twin = TORCH[cell](D, H, batch_first=options.get("batch_first", True))
    return lambda: twin(*build(cell)[0], **build(cell)[1])


def _forward_params():
    for name, (_, _, _, _, cells, _, _) in FORWARD_CASES.items():
        for cell in cells:
            yield pytest.param(cell, name, id=f"{cell}-{name}")


@pytest.mark.parametrize("cell,name", list(_forward_params()))
def test_stack_refuses_bad_input(cell, name):
    argument, says, own, build, _, _, options = FORWARD_CASES[name]
    net = OURS[cell](D, H, **options)
    args, kwargs = build(cell)
    check_refusal(lambda: net(*args, **kwargs), argument, says, own, _twin_of(name, cell))


def _layer_state(cell, h):
    return (h, torch.zeros(B, H)) if cell == "lstm" else h


# the layers' forward (x, state, mask): the same faults, torch.nn's type from the stack case of that name
LAYER_CASES = {
    "seq_len 0": ("x", "got shape (2, 0, 3)", lambda c: (_x(B, 0, D),)),
    "float64": ("x", "x.float()", lambda c: (_x(dtype=torch.float64),)),
    "other device": ("x", "got one on meta", lambda c: (_x(device="meta"),)),
    "2-D": ("x", "x.unsqueeze(0)", lambda c: (_x(T, D),)),
    "list": ("x", "got a list", lambda c: ([[0.0] * D] * T,)),
    "features": ("x", "expected 3 input features", lambda c: (_x(B, T, 7),)),
    "h0 batch": ("h0", "expected shape (2, 5)", lambda c: (_x(), _layer_state(c, torch.zeros(3, H)))),
    "h0 float64": ("h0", "h0.float()", lambda c: (_x(), _layer_state(c, torch.zeros(B, H, dtype=torch.float64)))),
    "hx one tensor": ("hx", "got a single tensor", lambda c: (_x(), torch.zeros(B, H))),
    "mask shape": ("mask", "expected shape (2, 4)", lambda c: (_x(), None, torch.ones(B, T + 1, dtype=torch.bool))),
    "mask dtype": ("mask", "dtype torch.float32", lambda c: (_x(), None, torch.ones(B, T))),
}
LAYER_OWN = {"mask shape": ValueError, "mask dtype": TypeError}   # no torch.nn twin


def _layer_params():
    for name in LAYER_CASES:
        for cell in (FORWARD_CASES[name][4] if name in FORWARD_CASES else CELLS):
            for fused in ((False, True) if cell == "lstm" else (False,)):
                yield pytest.param(cell, name, fused, id=f"{cell}{'-fused' if fused else ''}-{name}")


@pytest.mark.parametrize("cell,name,fused", list(_layer_params()))
def test_layer_refuses_bad_input(cell, name, fused):
    argument, says, build = LAYER_CASES[name]
    layer = LAYERS[cell](D, H)
    layer.record_states = not fused
    own = LAYER_OWN.get(name) or FORWARD_CASES[name][2]
    twin = _twin_of(name, cell) if name in FORWARD_CASES else None
    check_refusal(lambda: layer(*build(cell)), argument, says, own, twin)
