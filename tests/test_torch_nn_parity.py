"""rnnlab.torch.nn against torch.nn in float64: random configurations over all options, state dicts both
ways, the course documents' models with our modules swapped in.

The configurations cover every cell (RNN tanh / relu, LSTM with or without projection, GRU) with every
input kind (batched, unbatched, empty batch, packed sorted, packed unsorted), every combination of
layers, direction, batch_first and h0 given or not, and draw bias and dropout (eval mode) at random.
Each loads torch.nn's weights into ours and compares outputs, final states, the gradients of a random
projection of them with respect to the input, the initial states and every parameter (once by plain
backward, once with create_graph=True), and the second derivative (the gradient of the squared
input-gradient norm with respect to the input and every parameter), all within 1e-10.
"""
from __future__ import annotations

import ast
import random
from pathlib import Path

import pytest
import torch
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence

from rnnlab.torch import nn as ours
from rnnlab.torch.models import SequenceClassifier, TaskModel
from test_torch_nn_support import one_thread  # noqa: F401

TOL = 1e-10
SEEDS = range(48)
KINDS = ("batched", "unbatched", "empty", "packed_sorted", "packed_unsorted")
CELLS = {"rnn_tanh": ("RNN", {}), "rnn_relu": ("RNN", {"nonlinearity": "relu"}), "lstm": ("LSTM", {}),
         "lstm_proj": ("LSTM", {"proj_size": 2}), "gru": ("GRU", {})}

pytestmark = pytest.mark.usefixtures("one_thread")


def _config(seed: int) -> dict:
    """Configuration ``seed``: every cell with every input kind over seeds 0-24, every combination of direction,
    layout, h0 and depth over any 16 consecutive seeds, bias and dropout drawn at random."""
    rng = random.Random(seed)
    bits = seed % 16
    return {"cell": list(CELLS)[seed % 5], "kind": KINDS[(seed // 5) % 5], "bidirectional": bool(bits & 1),
            "batch_first": bool(bits & 2), "h0": bool(bits & 4), "num_layers": 1 + (bits >> 3),
            "bias": rng.random() < 0.8, "dropout": rng.choice([0.0, 0.5])}


def _pair(cfg: dict):
    name, extra = CELLS[cfg["cell"]]
    options = dict(num_layers=cfg["num_layers"], bidirectional=cfg["bidirectional"], bias=cfg["bias"],
                   batch_first=cfg["batch_first"], dropout=cfg["dropout"] if cfg["num_layers"] > 1 else 0.0,
                   dtype=torch.float64, **extra)
    theirs = getattr(torch.nn, name)(3, 4, **options).eval()
    mine = getattr(ours, name)(3, 4, **options).eval()
    mine.load_state_dict(theirs.state_dict())
    return mine, theirs


def _inputs(cfg: dict, module, gen: torch.Generator):
    """(input, hx, leaves): the module's input, initial state and the tensors to differentiate by."""
    T, B, kind = 5, 3, cfg["kind"]
    S = module.num_layers * (2 if module.bidirectional else 1)
    batch = 0 if kind == "empty" else B
    shape = (batch, T, 3) if module.batch_first else (T, batch, 3)
    if kind == "unbatched":
        shape = (T, 3)
    x = torch.randn(shape, generator=gen, dtype=torch.float64, requires_grad=True)
    leaves = [x]
    inp = x
    if kind.startswith("packed"):
        lengths = torch.tensor([5, 3, 2] if kind == "packed_sorted" else [2, 5, 3])
        inp = pack_padded_sequence(x, lengths, batch_first=module.batch_first, enforce_sorted=kind == "packed_sorted")
    hx = None
    if cfg["h0"]:
        lead = (S,) if kind == "unbatched" else (S, batch)
        sizes = [module.proj_size or 4] + ([4] if isinstance(module, (ours.LSTM, torch.nn.LSTM)) else [])
        states = [torch.randn(lead + (size,), generator=gen, dtype=torch.float64, requires_grad=True)
                  for size in sizes]
        leaves += states
        hx = tuple(states) if len(states) == 2 else states[0]
    return inp, hx, leaves


def _flat(result) -> list[torch.Tensor]:
    out, state = result
    data = out.data if isinstance(out, PackedSequence) else out
    return [data] + list(state if isinstance(state, tuple) else (state,))


def _derivatives(module, inp, hx, leaves, weights):
    """Outputs, first derivatives (plain backward: our hand-written one), first derivatives again with
    create_graph=True (our differentiable fallback) and second derivatives."""
    params = list(module.parameters())

    def loss():
        outs = _flat(module(inp, hx))
        return outs, sum((o * w).sum() for o, w in zip(outs, weights))
    outs, value = loss()
    first = torch.autograd.grad(value, leaves + params, allow_unused=True, retain_graph=True)   # keeps the packing
    first_graph = torch.autograd.grad(loss()[1], leaves + params, create_graph=True, allow_unused=True)
    penalty = first_graph[0].pow(2).sum()
    second = torch.autograd.grad(penalty, [leaves[0]] + params, allow_unused=True) if penalty.requires_grad else []
    return outs, first, first_graph, second


def _close(a, b, what):
    if a is None or b is None:
        assert (a is None or not a.abs().any()) and (b is None or not b.abs().any()), what
        return
    assert a.shape == b.shape, what
    assert torch.allclose(a, b, atol=TOL, rtol=0), f"{what}: max difference {(a - b).abs().max().item():.3g}"


def test_the_random_configurations_cover_every_cell_and_input_kind():
    configs = [_config(seed) for seed in SEEDS]
    assert {(c["cell"], c["kind"]) for c in configs} == {(c, k) for c in CELLS for k in KINDS}
    assert {(c["bidirectional"], c["batch_first"], c["h0"], c["num_layers"]) for c in configs} >= \
        {(b, f, h, n) for b in (False, True) for f in (False, True) for h in (False, True) for n in (1, 2)}


@pytest.mark.parametrize("seed", SEEDS)
def test_random_configuration_equals_torch_nn_to_second_derivatives(seed):
    cfg = _config(seed)
    mine, theirs = _pair(cfg)
    results = []
    for module in (theirs, mine):
        gen = torch.Generator().manual_seed(seed)
        inp, hx, leaves = _inputs(cfg, module, gen)
        outs = _flat(module(inp, hx))
        weights = [torch.randn(o.shape, generator=gen, dtype=torch.float64) for o in outs]
        results.append(_derivatives(module, inp, hx, leaves, weights))
    parts = ("output/state", "gradient", "gradient with create_graph", "second derivative")
    for part, (a_list, b_list) in zip(parts, zip(*results)):
        assert len(a_list) == len(b_list)
        for k, (a, b) in enumerate(zip(a_list, b_list)):
            _close(b, a, f"{cfg} {part} {k}")


@pytest.mark.parametrize("name,extra", [("RNN", {}), ("LSTM", {"proj_size": 3}), ("LSTM", {}), ("GRU", {})])
def test_state_dict_round_trip_both_ways(name, extra):
    torch.manual_seed(0)
    theirs = getattr(torch.nn, name)(5, 6, num_layers=2, bidirectional=True, **extra)
    mine = getattr(ours, name)(5, 6, num_layers=2, bidirectional=True, **extra)
    assert list(mine.state_dict()) == list(theirs.state_dict())
    mine.load_state_dict(theirs.state_dict())
    back = getattr(torch.nn, name)(5, 6, num_layers=2, bidirectional=True, **extra)
    back.load_state_dict(mine.state_dict())
    x = torch.randn(7, 2, 5)
    for a, b in zip(_flat(theirs(x)), _flat(mine(x))):
        assert torch.equal(a, b) or torch.allclose(a, b, atol=1e-6, rtol=0)
    for a, b in zip(_flat(theirs(x)), _flat(back(x))):
        assert torch.equal(a, b)
    assert [n for n, _ in mine.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert [[p.shape for p in layer] for layer in mine.all_weights] == \
        [[p.shape for p in layer] for layer in theirs.all_weights]
    assert [p is q for p, q in zip(mine._flat_weights, mine.parameters())] == [True] * len(mine._flat_weights)


def _lab_sheet_9_classes(nn_namespace) -> dict:
    """Lab sheet 9's RNNModel and LSTMModel, their source read from the notebook, with ``nn`` bound to a namespace."""
    path = Path(__file__).resolve().parents[1] / "notebooks" / "lab-sheet-9-rnn-and-lstm-in-pytorch.py"
    tree = ast.parse(path.read_text())
    classes = [node for node in tree.body if isinstance(node, ast.ClassDef) and node.name in ("RNNModel", "LSTMModel")]
    assert len(classes) == 2, "Lab sheet 9 no longer defines RNNModel and LSTMModel"
    namespace = {"nn": nn_namespace, "torch": torch}
    exec(compile(ast.Module(body=classes, type_ignores=[]), str(path), "exec"), namespace)
    return namespace


def _swapped_nn():
    """torch.nn with RNN, LSTM and GRU replaced by ours (what a user's ``from rnnlab.torch import nn`` swap does)."""
    class Namespace:
        pass
    shim = Namespace()
    for attr in ("Module", "Linear"):
        setattr(shim, attr, getattr(torch.nn, attr))
    for attr in ("RNN", "LSTM", "GRU"):
        setattr(shim, attr, getattr(ours, attr))
    return shim


@pytest.mark.parametrize("model", ["RNNModel", "LSTMModel"])
def test_lab_sheet_9_models_give_identical_outputs_with_our_modules(model):
    original = _lab_sheet_9_classes(torch.nn)[model](hidden_size=16)
    swapped = _lab_sheet_9_classes(_swapped_nn())[model](hidden_size=16)
    swapped.load_state_dict(original.state_dict())
    images = torch.rand(4, 28, 28)
    with torch.backends.mkldnn.flags(enabled=False):
        expected = original(images)
    assert torch.allclose(swapped(images), expected, atol=1e-6, rtol=0)


@pytest.mark.parametrize("head", ["plain", "layernorm-dense", "batchnorm"])
def test_programming_assignment_4_models_give_identical_outputs_with_our_lstm(head):
    torch.manual_seed(0)
    original = TaskModel(torch.nn.LSTM(28, 16, batch_first=True, bidirectional=True), 10, head=head).double().eval()
    swapped = TaskModel(ours.LSTM(28, 16, batch_first=True, bidirectional=True), 10, head=head).double().eval()
    swapped.load_state_dict(original.state_dict())
    images = torch.rand(5, 28, 28, dtype=torch.float64)
    assert torch.allclose(swapped(images), original(images), atol=1e-12, rtol=0)
    classifier = SequenceClassifier(ours.GRU(28, 8, batch_first=True, num_layers=2), 10).double()
    reference = SequenceClassifier(torch.nn.GRU(28, 8, batch_first=True, num_layers=2), 10).double()
    classifier.load_state_dict(reference.state_dict())
    assert torch.allclose(classifier(images), reference(images), atol=1e-12, rtol=0)
