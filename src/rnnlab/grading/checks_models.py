"""Checks of a PyTorch model class a student writes after a course document (Lab sheet 9, RNN Warmup,
Programming Assignment 4): its ``__init__`` must build the document's layers, its ``forward`` must compute what
the document's model computes.

``__init__``: the student's model, built with the document's arguments, has the parameters and buffers of the
document's model (``course_models``), by name or, when named otherwise, in the same order with the same shapes.
``forward``: the document's model is loaded with the student's own parameters and both run on the same random
input (in evaluation mode); every output tensor must agree (relative 1e-4, absolute 1e-5).  Known wrong
read-outs are named.  When the student's ``__init__`` is wrong, ``forward`` is checked on an instance of the
student's class built by the document's ``__init__`` (lent from ``lend_models`` after the ``__init__`` checks),
so that one mistake costs one TODO.
"""
from __future__ import annotations

from collections.abc import Callable

import torch

from . import course_models as documents
from .checks import Fail, StudentError, call, need

ATOL, RTOL = 1e-5, 1e-4


def _shown(args: tuple, kwargs: dict) -> str:
    return ", ".join([repr(a) for a in args] + [f"{k}={v!r}" for k, v in kwargs.items()])


def reference(name: str, args: tuple = (), kwargs: dict | None = None) -> torch.nn.Module:
    torch.manual_seed(0)
    return documents.REFERENCES[name](*args, **(kwargs or {}))


def layout(state: dict) -> str:
    return ", ".join(f"{k} {tuple(v.shape)}" for k, v in state.items() if not k.endswith("num_batches_tracked"))


def aligned(expected: dict, state: dict) -> dict | None:
    """The student's ``state`` under the reference's names: matched by name, else in order by shape; None when
    neither fits."""
    if list(expected) == list(state) or set(expected) == set(state):
        if all(tuple(state[k].shape) == tuple(v.shape) for k, v in expected.items()):
            return {k: state[k] for k in expected}
    if len(expected) == len(state) and all(tuple(a.shape) == tuple(b.shape)
                                           for a, b in zip(expected.values(), state.values())):
        return dict(zip(expected, state.values()))
    return None


def _defaults(namespace) -> None:
    """``device``: the notebooks define it with a call (``torch.device(...)``), which the grader does not run."""
    namespace.session.request("default", "device", "cpu")


def init_check(name: str, variants: list[tuple] = ((), {}), hint: str = "") -> Callable:
    """``variants``: the (args, kwargs) the model is built with; every one must give the document's layers."""
    variants = [variants] if isinstance(variants, tuple) else variants

    def run(namespace) -> str:
        cls = need(namespace, name)
        _defaults(namespace)
        for args, kwargs in variants:
            made = f"{name}({_shown(args, kwargs)})"
            state = namespace.session.request("state", call(made, cls, *args, **kwargs))
            expected = reference(name, args, kwargs).state_dict()
            if aligned(expected, state) is None:
                raise Fail(f"{made} has {layout(state) or 'no parameters'}; the document's model has "
                           f"{layout(expected)}{hint}")
        count = sum(v.numel() for k, v in expected.items() if "running" not in k and "num_batches" not in k)
        return f"{made}: the document's layers, every parameter of the right shape ({count} numbers)"
    return run


def built(namespace, name: str, args: tuple, kwargs: dict):
    """The student's model built by its own ``__init__`` when that is right, else by the document's; the model
    and the reference model loaded with its parameters."""
    cls = need(namespace, name)
    _defaults(namespace)
    expected = reference(name, args, kwargs)
    model, state = None, None
    try:
        model = cls(*args, **kwargs)
        state = aligned(expected.state_dict(), namespace.session.request("state", model))
    except StudentError:
        pass
    if state is None:
        init = namespace.session.request("lent", "models.init")
        model = call(f"{name}.__init__ (the document's)", init, cls.bare(), name, *args, **kwargs)
        state = aligned(expected.state_dict(), namespace.session.request("state", model))
    expected.load_state_dict(state)
    expected.eval()
    call(f"{name}.eval()", model.eval)
    return model, expected


def tensors(value) -> list:
    """The tensors of an output, nested tuples and lists flattened in order."""
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, (tuple, list)):
        return [t for v in value for t in tensors(v)]
    if value is None:
        raise Fail("forward returned None: is the TODO written yet?")
    raise Fail(f"forward returned a {type(value).__name__}, expected tensors")


def agree(got, want) -> bool:
    got, want = tensors(got), tensors(want)
    return len(got) == len(want) and all(
        g.shape == w.shape and torch.allclose(g.detach().double(), w.detach().double(), rtol=RTOL, atol=ATOL)
        for g, w in zip(got, want))


def forward_check(name: str, variants: list[tuple], mistakes: dict[str, Callable] | None = None,
                  returns: str = "") -> Callable:
    """``variants``: (args, kwargs, inputs) with ``inputs()`` the input tensors; ``mistakes``: message -> a
    function (reference, *inputs) -> the output of that mistake; ``returns``: what forward returns, in words."""
    variants = [variants] if isinstance(variants, tuple) else variants

    def run(namespace) -> str:
        for args, kwargs, inputs in variants:
            _forward_once(namespace, name, args, kwargs, inputs(), mistakes or {}, returns)
        return f"forward computes the document's model ({returns or 'the same outputs'})"
    return run


def _forward_once(namespace, name: str, args: tuple, kwargs: dict, x: tuple, mistakes: dict, returns: str) -> None:
    model, expected = built(namespace, name, args, kwargs)
    got = call(f"{name}.forward", model.forward, *x)
    with torch.no_grad():
        want = expected(*x)
    got_t, want_t = tensors(got), tensors(want)
    made = f"{name}({_shown(args, kwargs)})"
    if [tuple(t.shape) for t in got_t] != [tuple(t.shape) for t in want_t]:
        raise Fail(f"{made}: forward returns {_shapes(got_t)} for an input {_shapes(list(x))}; the document's model "
                   f"returns {_shapes(want_t)}{f' ({returns})' if returns else ''}")
    if agree(got, want):
        return
    for message, mistake in mistakes.items():
        with torch.no_grad():
            if agree(got, mistake(expected, *x)):
                raise Fail(f"{made}: {message}")
    error = max(float((g.detach().double() - w.double()).abs().max()) for g, w in zip(got_t, want_t))
    raise Fail(f"{made}: forward differs from the document's model with the same parameters by up to {error:.3g}"
               f"{f' (it should return {returns})' if returns else ''}")


def _shapes(values: list) -> str:
    return ", ".join(str(tuple(v.shape)) for v in values) or "nothing"


def inputs(*shapes: tuple[int, ...], seed: int = 3) -> Callable[[], tuple]:
    """Random input tensors of these shapes (the same every time)."""
    def make() -> tuple:
        generator = torch.Generator().manual_seed(seed)
        return tuple(torch.rand(*shape, generator=generator) for shape in shapes)
    return make
