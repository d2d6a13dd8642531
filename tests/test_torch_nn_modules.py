"""PyTorch's generic module tests (test/test_modules.py over common_modules.module_db) on rnnlab.torch.nn.

Ported from pytorch/pytorch test/test_modules.py (TestModule) and the module_db entries of
torch/testing/_internal/common_modules.py for nn.RNN, nn.GRU, nn.LSTM, nn.RNNCell, nn.GRUCell and
nn.LSTMCell (their module_inputs_* / module_error_inputs_* functions and reference functions,
copied below), with the module classes swapped for ours.  Assertions and tolerances are torch's
(``assert_equal``: TestCase.assertEqual's default comparison; gradcheck / gradgradcheck with
common_utils' defaults fast_mode=True, check_batched_grad=True; see test_torch_nn_support.py).

Ported, on the CPU, float32 and float64 (test_grad / test_gradgrad: float64 only, as torch), training
and eval mode: test_forward, test_factory_kwargs, test_repr, test_pickle, test_non_contiguous_tensors,
test_grad, test_gradgrad, test_memory_format, test_if_train_and_eval_modes_differ,
test_device_ctx_init, test_errors.

Left out, and why:
- test_multiple_device_transfer, test_cpu_gpu_parity: @onlyCUDA (need a GPU);
- test_check_inplace: runs only on modules with an ``inplace`` argument (none of these);
- the entries' decorators: expected failures under cuDNN / MPS only;
- test_memory_format's channels_last variants: they apply to 4-D and 5-D inputs only (these are 1-3-D);
- test_factory_kwargs' mock of Parameter.__new__ (it only decides whether a module creates parameters;
  these all do, which the test asserts instead);
- test_pickle loads with ``weights_only=False`` (a whole module is not a weights-only pickle).
"""
from __future__ import annotations

import io
from copy import deepcopy
from functools import partial, wraps
from itertools import product

import pytest
import torch
from torch.nn.utils.rnn import pack_padded_sequence  # noqa: F401  (torch's make_packed_sequence uses it)
from torch.testing import make_tensor

from rnnlab.torch import nn as ours
from test_torch_nn_support import assert_equal, freeze_rng_state, one_thread  # noqa: F401

pytestmark = pytest.mark.usefixtures("one_thread")


def FunctionInput(*args, **kwargs):
    return args, kwargs


class ModuleInput:
    """common_modules.ModuleInput: the reference function gets the module, its parameters and copies of the input."""

    def __init__(self, constructor_input, forward_input=None, reference_fn=None) -> None:
        self.constructor_input, self.forward_input = constructor_input, forward_input
        self.reference_fn = None
        if reference_fn is not None:
            @wraps(reference_fn)
            def copy_reference_fn(m, *args, **kwargs):
                args, kwargs = deepcopy(args), deepcopy(kwargs)
                return reference_fn(m, list(m.parameters()), *args, **kwargs)
            self.reference_fn = copy_reference_fn


def no_batch_dim_reference_fn(m, p, *args, **kwargs):
    batch_dim = 0 if kwargs.pop("batch_first", True) else 1
    single_batch_input_args = [input.unsqueeze(batch_dim) for input in args]
    with freeze_rng_state():
        return m(*single_batch_input_args, **kwargs).squeeze(batch_dim)


def no_batch_dim_reference_rnn_gru(m, p, *args, **kwargs):
    if len(args) == 1:
        inp, = args
        h = None
    elif len(args) == 2:
        inp, h = args
        h = h.unsqueeze(1)
    batch_dim = 0 if kwargs["batch_first"] else 1
    kwargs.pop("batch_first")
    inp = inp.unsqueeze(batch_dim)
    with freeze_rng_state():
        output = m(inp, h, **kwargs)
        return (output[0].squeeze(batch_dim), output[1].squeeze(1))


def no_batch_dim_reference_lstm(m, p, *args, **kwargs):
    if len(args) == 1:
        inp, = args
        h = None
    elif len(args) == 2:
        inp, h = args
        h = (h[0].unsqueeze(1), h[1].unsqueeze(1))
    batch_dim = 0 if kwargs["batch_first"] else 1
    kwargs.pop("batch_first")
    inp = inp.unsqueeze(batch_dim)
    with freeze_rng_state():
        output = m(inp, h, **kwargs)
        return (output[0].squeeze(batch_dim), (output[1][0].squeeze(1), output[1][1].squeeze(1)))


def no_batch_dim_reference_lstmcell(m, p, *args, **kwargs):
    inp, (h, c) = args
    with freeze_rng_state():
        output = m(inp.unsqueeze(0), (h.unsqueeze(0), c.unsqueeze(0)), **kwargs)
        return (output[0].squeeze(0), output[1].squeeze(0))


def module_inputs_RNN_GRU_Cell(device, dtype, requires_grad, is_rnn=False):
    make_input = partial(make_tensor, device=device, dtype=dtype, requires_grad=requires_grad)
    samples = [
        ModuleInput(FunctionInput(5, 10), FunctionInput(make_input(5), make_input(10)), no_batch_dim_reference_fn),
        ModuleInput(FunctionInput(5, 10, bias=True), FunctionInput(make_input(5), make_input(10)),
                    no_batch_dim_reference_fn)]
    if is_rnn:
        samples.append(ModuleInput(FunctionInput(5, 10, bias=True, nonlinearity="relu"),
                                   FunctionInput(make_input(5), make_input(10)), no_batch_dim_reference_fn))
    return samples


def module_inputs_LSTMCell(device, dtype, requires_grad):
    make_input = partial(make_tensor, device=device, dtype=dtype, requires_grad=requires_grad)
    return [ModuleInput(FunctionInput(5, 10), FunctionInput(make_input(5), (make_input(10), make_input(10))),
                        no_batch_dim_reference_lstmcell),
            ModuleInput(FunctionInput(5, 10, bias=True),
                        FunctionInput(make_input(5), (make_input(10), make_input(10))),
                        no_batch_dim_reference_lstmcell)]


def module_inputs_RNN_GRU(device, dtype, requires_grad, is_rnn):
    make_input = partial(make_tensor, device=device, dtype=dtype, requires_grad=requires_grad)
    samples = []
    prod_gen = product(("relu", "tanh"), (False, True), (False, True), (False, True)) if is_rnn else \
        product((None,), (False, True), (False, True), (False, True))
    for nl, b, b_f, bidir in prod_gen:
        cons_args = {"input_size": 2, "hidden_size": 2, "num_layers": 2, "batch_first": b_f, "bias": b,
                     "bidirectional": bidir}
        cons_args_hidden = dict(cons_args, hidden_size=3)
        if is_rnn:
            cons_args["nonlinearity"] = cons_args_hidden["nonlinearity"] = nl
        reference = partial(no_batch_dim_reference_rnn_gru, batch_first=b_f)
        samples.append(ModuleInput(FunctionInput(**cons_args), FunctionInput(make_input((3, 2))), reference))
        samples.append(ModuleInput(FunctionInput(**cons_args_hidden),
                                   FunctionInput(make_input((3, 2)), make_input((4 if bidir else 2, 3))), reference))
    return samples


def module_inputs_LSTM(device, dtype, requires_grad):
    make_input = partial(make_tensor, device=device, dtype=dtype, requires_grad=requires_grad)
    samples = []
    for b, b_f, bidir, proj_size in product((False, True), (False, True), (False, True), (0, 2)):
        hidden_size = 3
        cons_args = {"input_size": 2, "hidden_size": hidden_size, "num_layers": 2, "proj_size": proj_size,
                     "batch_first": b_f, "bias": b, "bidirectional": bidir}
        reference = partial(no_batch_dim_reference_lstm, batch_first=b_f)
        samples.append(ModuleInput(FunctionInput(**cons_args), FunctionInput(make_input((2, 2))), reference))
        h_out = proj_size if proj_size > 0 else hidden_size
        hx = (make_input((4 if bidir else 2, h_out)), make_input((4 if bidir else 2, hidden_size)))
        samples.append(ModuleInput(FunctionInput(**cons_args), FunctionInput(make_input((3, 2)), hx), reference))
    return samples


CONSTRUCTION, FORWARD = "construction", "forward"


def error_inputs_RNN_GRU_Cell(device, dtype, requires_grad):
    make_input = partial(make_tensor, device=device, dtype=dtype, requires_grad=requires_grad)
    return [
        (FunctionInput(10, 20), FunctionInput(make_input(3, 11), make_input(3, 20)), RuntimeError,
         "input has inconsistent input_size: got 11 expected 10"),
        (FunctionInput(10, 20), FunctionInput(make_input(3, 10), make_input(3, 21)), RuntimeError,
         "hidden0 has inconsistent hidden_size: got 21, expected 20"),
        (FunctionInput(10, 20), FunctionInput(make_input(3, 10), make_input(5, 20)), RuntimeError,
         "Input batch size 3 doesn't match hidden0 batch size 5"),
        (FunctionInput(10, 20), FunctionInput(make_input(3, 10), make_input(3, 1, 1, 20)), ValueError,
         "Expected hidden to be 1D or 2D, got 4D instead"),
        (FunctionInput(10, 20, "relu"), FunctionInput(make_input(3, 10), make_input(3, 21)), RuntimeError,
         "hidden0 has inconsistent hidden_size: got 21, expected 20"),
        (FunctionInput(10, 20, "tanh"), FunctionInput(make_input(3, 10), make_input(3, 21)), RuntimeError,
         "hidden0 has inconsistent hidden_size: got 21, expected 20")]


def error_inputs_LSTMCell(device, dtype, requires_grad):
    make_input = partial(make_tensor, device=device, dtype=dtype, requires_grad=requires_grad)
    return [
        (FunctionInput(10, 20), FunctionInput(make_input(3, 11), (make_input(3, 20), make_input(3, 20))),
         RuntimeError, "input has inconsistent input_size: got 11 expected 10"),
        (FunctionInput(10, 20), FunctionInput(make_input(3, 10), (make_input(3, 21), make_input(3, 21))),
         RuntimeError, "hidden0 has inconsistent hidden_size: got 21, expected 20"),
        (FunctionInput(10, 20), FunctionInput(make_input(3, 10), (make_input(5, 20), make_input(5, 20))),
         RuntimeError, "Input batch size 3 doesn't match hidden0 batch size 5"),
        (FunctionInput(10, 20), FunctionInput(make_input(3, 10), (make_input(3, 1, 1, 20), make_input(3, 1, 1, 20))),
         ValueError, "Expected hx\\[0\\] to be 1D or 2D, got 4D instead")]


def error_inputs_RNN_GRU(device, dtype, requires_grad):
    mismatched_dtype = torch.float64 if dtype == torch.float32 else torch.float32
    make_input = partial(make_tensor, device=device, dtype=mismatched_dtype, requires_grad=requires_grad)
    construction = [
        ((10, 0, 1), {}, ValueError, "hidden_size must be greater than zero"),
        ((10, 10, 0), {}, ValueError, "num_layers must be greater than zero"),
        ((3, 5), {"bias": 0}, TypeError, "bias should be of type bool, got: int"),
        ((3, 5), {"bias": 1}, TypeError, "bias should be of type bool, got: int"),
        ((3, 5), {"bias": "True"}, TypeError, "bias should be of type bool, got: str"),
        ((3, 5), {"batch_first": 0}, TypeError, "batch_first should be of type bool, got: int"),
        ((3, 5), {"batch_first": 1}, TypeError, "batch_first should be of type bool, got: int"),
        ((3, 5), {"batch_first": "False"}, TypeError, "batch_first should be of type bool, got: str"),
        ((3.0, 5), {}, TypeError, "input_size should be of type int, got: float"),
        (("10", 5), {}, TypeError, "input_size should be of type int, got: str"),
        ((0, 5), {}, ValueError, "input_size must be greater than zero"),
        ((-1, 5), {}, ValueError, "input_size must be greater than zero"),
        ((3, 5.0), {}, TypeError, "hidden_size should be of type int, got: float"),
        ((3, "5"), {}, TypeError, "hidden_size should be of type int, got: str"),
        ((3, 0), {}, ValueError, "hidden_size must be greater than zero"),
        ((3, -1), {}, ValueError, "hidden_size must be greater than zero")]
    samples = [(FunctionInput(*a, **k), None, err, regex) for a, k, err, regex in construction]
    samples.append((FunctionInput(3, 5, dtype=dtype, device=device), FunctionInput(make_input((2, 4, 3))),
                    ValueError, r"RNN input dtype .* does not match weight dtype .* "
                                r"Convert input: input\.to\(.*\), or convert model: model\.to\(.*\)"))
    return samples


MODULES = {   # name: (our class, inputs, error inputs, train_and_eval_differ)
    "RNNCell": (ours.RNNCell, partial(module_inputs_RNN_GRU_Cell, is_rnn=True), error_inputs_RNN_GRU_Cell, False),
    "GRUCell": (ours.GRUCell, module_inputs_RNN_GRU_Cell, error_inputs_RNN_GRU_Cell, False),
    "LSTMCell": (ours.LSTMCell, module_inputs_LSTMCell, error_inputs_LSTMCell, False),
    "RNN": (ours.RNN, partial(module_inputs_RNN_GRU, is_rnn=True), error_inputs_RNN_GRU, True),
    "GRU": (ours.GRU, partial(module_inputs_RNN_GRU, is_rnn=False), error_inputs_RNN_GRU, True),
    "LSTM": (ours.LSTM, module_inputs_LSTM, error_inputs_RNN_GRU, True),
}
DTYPES = [torch.float32, torch.float64]
CASES = [(name, dtype, training) for name in MODULES for dtype in DTYPES for training in (True, False)]


def _instances(name, dtype, training, requires_grad=False):
    module_cls, inputs, _, _ = MODULES[name]
    for module_input in inputs(device="cpu", dtype=dtype, requires_grad=requires_grad):
        (args, kwargs) = module_input.constructor_input
        m = module_cls(*args, **kwargs)
        m.to("cpu").to(dtype)
        m.train(training)
        yield m, module_input


@pytest.mark.parametrize("name,dtype,training", CASES)
def test_forward(name, dtype, training):
    method = {torch.float32: "float", torch.float64: "double"}[dtype]
    for m, module_input in _instances(name, dtype, training):
        args, kwargs = module_input.forward_input
        with freeze_rng_state():
            outputs = m(*args, **kwargs)
            if module_input.reference_fn is not None:
                assert_equal(outputs, module_input.reference_fn(m, *args, **kwargs))
            getattr(m, method)()
            m(*args, **kwargs)
            _assert_parameters_are(m, torch.device("cpu"), dtype)


def _assert_parameters_are(module, device, dtype):
    for _, item in list(module.named_parameters()) + list(module.named_buffers()):
        assert item.device == device
        if item.dtype.is_floating_point:
            assert item.dtype == dtype


@pytest.mark.parametrize("name,dtype,training", CASES)
def test_factory_kwargs(name, dtype, training):
    module_cls, inputs, _, _ = MODULES[name]
    for module_input in inputs(device="cpu", dtype=dtype, requires_grad=False):
        args, kwargs = module_input.constructor_input
        m = module_cls(*args, **dict(kwargs, device="cpu", dtype=dtype))
        m.train(training)
        assert list(m.parameters())
        _assert_parameters_are(m, torch.device("cpu"), dtype)


@pytest.mark.parametrize("name,dtype,training", CASES)
def test_repr_and_pickle(name, dtype, training):
    """test_repr and test_pickle."""
    for m, module_input in _instances(name, dtype, training):
        m.__repr__()
        str(m)
        args, kwargs = module_input.forward_input
        with freeze_rng_state():
            output = m(*args, **kwargs)
            buffer = io.BytesIO()
            torch.save(m, buffer)
            buffer.seek(0)
            m_copy = torch.load(buffer, weights_only=False)
            assert_equal(output, m_copy(*args, **kwargs))


@pytest.mark.parametrize("name,dtype,training", [c for c in CASES if MODULES[c[0]][3]])
def test_if_train_and_eval_modes_differ(name, dtype, training):
    """The forward pass may read ``training`` only where the entry says train and eval differ."""
    for m, module_input in _instances(name, dtype, training):
        delattr(m, "training")
        args, kwargs = module_input.forward_input
        try:
            m(*args, **kwargs)
        except AttributeError as e:
            assert "'training'" in str(e) and MODULES[name][3]


@pytest.mark.parametrize("name,dtype", [(name, dtype) for name in MODULES for dtype in DTYPES])
def test_device_ctx_init(name, dtype):
    """A module built under ``with torch.device('meta')`` has meta parameters of the CPU module's metadata."""
    module_cls, inputs, _, _ = MODULES[name]
    with torch.device("meta"):
        meta_inputs = inputs(device=None, dtype=dtype, requires_grad=False)
    for module_input, meta_input in zip(inputs(device="cpu", dtype=dtype, requires_grad=False), meta_inputs):
        args, kwargs = module_input.constructor_input
        m_cpu = module_cls(*args, **kwargs)
        with torch.device("meta"):
            m = module_cls(*meta_input.constructor_input[0], **meta_input.constructor_input[1])
        for p_meta, p_cpu in zip(m.parameters(), m_cpu.parameters()):
            assert p_meta.is_meta
            assert (p_meta.shape, p_meta.dtype, p_meta.stride()) == (p_cpu.shape, p_cpu.dtype, p_cpu.stride())


@pytest.mark.parametrize("name,dtype", [(name, dtype) for name in MODULES for dtype in DTYPES])
def test_errors(name, dtype):
    module_cls, _, error_inputs, _ = MODULES[name]
    for (c_args, c_kwargs), forward, error_type, regex in error_inputs(device="cpu", dtype=dtype,
                                                                      requires_grad=False):
        if forward is None:
            with pytest.raises(error_type, match=regex):
                module_cls(*c_args, **c_kwargs)
        else:
            m = module_cls(*c_args, **c_kwargs)
            with pytest.raises(error_type, match=regex):
                m(*forward[0], **forward[1])

