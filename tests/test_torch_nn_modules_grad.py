"""The gradient tests of PyTorch's test/test_modules.py on rnnlab.torch.nn (see test_torch_nn_modules.py).

Ported from TestModule: test_non_contiguous_tensors, test_grad and test_gradgrad (float64, as torch:
gradcheck / gradgradcheck of the total derivative, then of each parameter alone) and test_memory_format
(contiguous formats; the channels_last variants apply to 4-D and 5-D inputs only), over the same
module_db inputs, training and eval mode.  Tolerances unchanged (atol=1e-4 for input gradients of
non-contiguous inputs, assertEqual's defaults elsewhere).

test_grad / test_gradgrad run in full (every sample, total and per-parameter derivatives, training and
eval mode) when RNNLAB_FULL_TORCH_TESTS=1 (about 4 minutes on 2 busy cores).  By default, for the test
suite's time budget, in training mode only (with dropout 0 the eval-mode graph is the same): test_grad
checks every sample's total derivative and the per-parameter ones on every fourth sample (every sample
of the cells); test_gradgrad checks the total
derivative of half the samples (they come in pairs, without and with h0, one per option combination;
the kept half alternates between the two kinds).
"""
from __future__ import annotations

import os
from copy import deepcopy
from itertools import product

import pytest
import torch

from test_torch_nn_modules import CASES, MODULES, _instances
from test_torch_nn_support import assert_equal, freeze_rng_state, gradcheck, gradgradcheck, one_thread  # noqa: F401  (one_thread: the fixture of pytestmark)

FULL = os.environ.get("RNNLAB_FULL_TORCH_TESTS") == "1"

pytestmark = pytest.mark.usefixtures("one_thread")


def _traverse(obj, func):
    if isinstance(obj, (tuple, list)):
        return type(obj)(_traverse(o, func) for o in obj)
    if isinstance(obj, dict):
        return {name: _traverse(o, func) for name, o in obj.items()}
    if isinstance(obj, torch.Tensor):
        return func(obj)
    return None


def _retain_grad(obj):
    _traverse(obj, lambda t: t.retain_grad() if t.requires_grad else None)


def _get_grads(obj):
    return _traverse(obj, lambda t: t.grad if t.requires_grad else None)


def _zero_grad(obj):
    def zero(t):
        t.grad = None
    _traverse(obj, zero)


def _make_non_contiguous(obj):
    def inner(t):
        if t.dim() == 0:
            return t
        out = torch.repeat_interleave(t, 2, dim=-1)[..., ::2].detach()
        out.requires_grad = t.requires_grad
        return out
    return _traverse(obj, inner)


def _backward_all(output, grad_output):
    flat_out, _ = torch.utils._pytree.tree_flatten(output)
    flat_grad, _ = torch.utils._pytree.tree_flatten(grad_output)
    for o, g in zip(flat_out, flat_grad):
        if o.requires_grad:
            o.backward(g, retain_graph=True)


@pytest.mark.parametrize("name,dtype,training", CASES)
def test_non_contiguous_tensors(name, dtype, training):
    for m, module_input in _instances(name, dtype, training, requires_grad=True):
        input_args, input_kwargs = module_input.forward_input
        _retain_grad((input_args, input_kwargs))
        with freeze_rng_state():
            default_output = m(*input_args, **input_kwargs)
            if isinstance(default_output, torch.Tensor):
                grad_output = default_output.clone().detach_().normal_()
            else:
                grad_output = tuple(_traverse(o, lambda o: o.clone().detach_().normal_() if o.requires_grad else None)
                                    for o in default_output)
            _backward_all(default_output, grad_output)
        default_input_grad = deepcopy(_get_grads((input_args, input_kwargs)))
        default_param_grad = deepcopy([p.grad for p in m.parameters()])
        nc_args, nc_kwargs = _make_non_contiguous((input_args, input_kwargs))
        nc_grad_output = _make_non_contiguous(grad_output)
        for (in_args, in_kwargs), g_out in product([(input_args, input_kwargs), (nc_args, nc_kwargs)],
                                                   [grad_output, nc_grad_output]):
            _zero_grad((in_args, in_kwargs))
            _zero_grad(list(m.parameters()))
            with freeze_rng_state():
                out = m(*in_args, **in_kwargs)
                _backward_all(out, deepcopy(g_out))
            assert_equal(out, default_output)
            assert_equal(_get_grads((in_args, in_kwargs)), default_input_grad, atol=1e-4, rtol=0)
            assert_equal([p.grad for p in m.parameters()], default_param_grad)


def _function_of(m, input_args, params):
    """torch's fn_to_gradcheck: the module's flattened outputs as a function of its flattened inputs and
    parameters (gradcheck perturbs the parameters in place), and that flat input."""
    flat_input, flat_spec = torch.utils._pytree.tree_flatten(input_args + params)

    def fn_to_gradcheck(*flat_input_and_params):
        inputs = torch.utils._pytree.tree_unflatten(list(flat_input_and_params), flat_spec)
        with freeze_rng_state():
            return torch.utils._pytree.tree_flatten(m(*inputs[:len(input_args)]))[0]
    return fn_to_gradcheck, flat_input


def _gradients_helper(name, training, check, partial_every=4, half=False):
    for k, (m, module_input) in enumerate(_instances(name, torch.float64, training, requires_grad=True)):
        if half and not FULL and (k + k // 2) % 2:      # keeps samples 0, 3, 4, 7, 8, ...: both of each pair's kinds
            continue
        params = tuple(m.parameters())
        input_args, _ = module_input.forward_input
        assert check(*_function_of(m, input_args, params), nondet_tol=0.0)
        if not (FULL or (partial_every and ("Cell" in name or k % partial_every == 0))):
            continue
        old = [p.requires_grad for p in params]
        for p in params:
            p.requires_grad = False
        for p, was in zip(params, old):
            p.requires_grad = was
            assert check(*_function_of(m, input_args, params), nondet_tol=0.0)
            p.requires_grad = False


GRAD_CASES = [(name, training) for name in MODULES for training in (True, False)]


@pytest.mark.parametrize("name,training", [c for c in GRAD_CASES if FULL or c[1]])
def test_grad(name, training):
    _gradients_helper(name, training, gradcheck)


@pytest.mark.parametrize("name,training", [c for c in GRAD_CASES if FULL or c[1]])
def test_gradgrad(name, training):
    _gradients_helper(name, training, gradgradcheck, partial_every=0, half=True)


@pytest.mark.parametrize("name,dtype,training", CASES)
def test_memory_format(name, dtype, training):
    def req_grad(t):
        return isinstance(t, torch.Tensor) and t.requires_grad

    def check_contiguous(obj):
        _traverse(obj, lambda t: (_ for _ in ()).throw(AssertionError("not contiguous"))
                  if not t.is_contiguous() else None)

    for m, module_input in _instances(name, dtype, training, requires_grad=True):
        args, kwargs = module_input.forward_input
        with freeze_rng_state():
            desired = m(*args, **kwargs)
            ref_outputs = tuple(t for t in torch.utils._pytree.tree_flatten(desired)[0] if req_grad(t))
            params = tuple(m.parameters())
            diff_inputs = tuple(t for t in torch.utils._pytree.tree_flatten((args, kwargs, params))[0] if req_grad(t))
            ref_grad_outputs = tuple(torch.rand_like(t) for t in ref_outputs)
            if training:
                ref_grads = torch.autograd.grad(ref_outputs, diff_inputs, grad_outputs=ref_grad_outputs)
            for module_format in (torch.preserve_format, torch.contiguous_format):
                m.to(memory_format=module_format)
                outputs = m(*args, **kwargs)
                check_contiguous(outputs)
                if training:
                    diff_outputs = tuple(t for t in torch.utils._pytree.tree_flatten(outputs)[0] if req_grad(t))
                    grads = torch.autograd.grad(diff_outputs, diff_inputs,
                                                grad_outputs=tuple(g.clone() for g in ref_grad_outputs))
                    check_contiguous(grads)
                    if module_format != torch.preserve_format:
                        assert_equal(grads, ref_grads)
