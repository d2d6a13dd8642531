"""The gradient-flow notebook's checks (PyTorch): ``RNNLayer``, ``RecurrentRegressionModel``, ``loss_fn``, the
two TODOs of ``GradientVisualizer.update_plots`` and the multi-layer ``RNN``; two points per TODO (the notebook
gives no points of its own; we follow Assignment 2's scheme).

The notebook's own test values are used where it gives them.  Each TODO is checked apart from the others:
the regression model runs on rnnlab's ``RNNLayer``, the multi-layer ``RNN`` and the visualiser see rnnlab's
``RNNLayer``, ``loss_fn`` and ``generate_batch`` in place of the student's while they are checked (the
visualiser keeps the student's layer when that layer is right, since its TODOs may use the layer's names).
"""
from __future__ import annotations

import contextlib

import torch

from .checks import Check, Fail, StudentError, call, need, student_error
from .flow_ref import (
    RNN_FORWARD_MISTAKES,
    check_layer_values,
    course_tensor,
    fill,
    layer_reference,
    lent,
    parameter_count,
)
from .remote import IDENTITY, TORCH_TANH


def check_layer_init(namespace: dict) -> str:
    cls = need(namespace, "RNNLayer")
    count = parameter_count(call("RNNLayer(2, 3)", cls, 2, 3))
    if count != 18:
        hint = ": two bias vectors? keep a bias in only one of the two Linear layers" if count == 21 else ""
        raise Fail(f"RNNLayer(2, 3) has {count} parameters, expected 18 = W_ih (3x2) + W_hh (3x3) + one bias (3)"
                   f"{hint}")
    return "RNNLayer(2, 3) has the 18 parameters W_ih, W_hh and one bias"


def check_layer_forward(namespace: dict) -> str:
    cls = need(namespace, "RNNLayer")
    for nonlinearity, sent, name in ((torch.tanh, TORCH_TANH, "tanh"), (lambda v: v, IDENTITY, "the identity")):
        layer = call("RNNLayer(2, 3, nonlinearity=...)", cls, 2, 3, nonlinearity=sent)
        weights = layer_reference(layer)
        x = torch.randn(2, 4, 2, generator=torch.Generator().manual_seed(5))
        out = call("RNNLayer.forward", layer, x)
        check_layer_values(out, weights, x, nonlinearity, name, RNN_FORWARD_MISTAKES)
        if len(getattr(layer, "h_list", [])) != 4:
            raise Fail("store_hidden_states_for_grad gets one hidden state per step (4 for 4 steps), "
                       f"got {len(getattr(layer, 'h_list', []))}")
    if parameter_count(layer) == 18:
        layer = fill(call("RNNLayer(1, 1)", cls, 1, 1), 0.1)
        all_h, _ = call("RNNLayer.forward", layer, torch.ones(1, 1, 1))
        first = float(all_h.detach().reshape(-1)[0])
        if abs(first - 0.1973753273487091) > 1e-4:
            raise Fail(f"the notebook's first test: expected h_1 = 0.197375, got {first:.6f}")
    return "all_h and last_h match the recurrence (tanh and the identity) and the notebook's test value"


def check_model_init(namespace: dict) -> str:
    cls = need(namespace, "RecurrentRegressionModel")
    layer = lent(namespace.session, "RNNLayer")(2, 3)
    count = parameter_count(call("RecurrentRegressionModel(RNNLayer(2, 3), 4)", cls, layer, 4))
    if count != 34:
        raise Fail(f"RecurrentRegressionModel(RNNLayer(2, 3), 4) has {count} parameters, expected 34 = the layer's "
                   f"18 + a Linear(hidden_size=3, output_dim=4) with 12 weights and 4 biases")
    return "34 parameters: the layer's 18 and a Linear(3, 4) read-out"


def check_model_forward(namespace: dict) -> str:
    cls = need(namespace, "RecurrentRegressionModel")
    layer = lent(namespace.session, "RNNLayer")(2, 3)
    model = fill(call("RecurrentRegressionModel(RNNLayer(2, 3), 4)", cls, layer, 4), -0.1)
    out = call("RecurrentRegressionModel.forward", model, course_tensor("data"))
    if not isinstance(out, tuple) or len(out) != 2:
        raise Fail("forward must return the pair (out, all_h)")
    preds, all_h = out
    if tuple(preds.shape) != (2, 4, 4):
        raise Fail(f"out has shape {tuple(preds.shape)}, expected (batch, seq_len, output_dim) = (2, 4, 4): apply "
                   f"the linear read-out to every step's hidden state (all_h)")
    for name, got in (("all_h", all_h), ("out", preds)):
        error = float((got - course_tensor(f"model_{name}")).abs().max())
        if error > 1e-4:
            raise Fail(f"{name} differs from the notebook's expected values by up to {error:.3g}")
    return "out and all_h match the notebook's expected values"


def check_loss(namespace: dict) -> str:
    fn = need(namespace, "loss_fn", "function")
    pred = torch.tensor([[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]])
    y = -1 - pred
    for last, expected in ((False, 3.0067), (True, 3.7)):
        loss = call("loss_fn", fn, pred, y, last_timestep_only=last)
        if not isinstance(loss, torch.Tensor) or loss.shape != torch.Size([]):
            raise Fail(f"loss_fn returns {getattr(loss, 'shape', type(loss).__name__)}, expected a scalar tensor")
        value = float(loss)
        if abs(value - expected) > 1e-3:
            ratio = value / expected
            if last and abs(value - 3.0067) < 1e-3:
                raise Fail("last_timestep_only is ignored: with it, only pred[:, -1] and y[:, -1] count")
            if abs(ratio - round(ratio)) < 1e-3 and round(ratio) > 1:
                raise Fail(f"wrong loss scaling: the loss is {round(ratio)} times the mean squared error "
                           f"(summed instead of averaged?); use the mean, as nn.MSELoss() does")
            raise Fail(f"loss_fn(last_timestep_only={last}) = {value:.4f}, expected {expected} "
                       f"(a factor of {ratio:.3g})")
    pred, y = torch.randn(3, 5, 1), torch.randn(3, 5, 1)
    loss = float(call("loss_fn", fn, pred, y, last_timestep_only=True))
    if abs(loss - float(((pred[:, -1] - y[:, -1]) ** 2).mean())) > 1e-5:
        raise Fail("on (batch, seq_len, 1) tensors the last-step loss must be the MSE of pred[:, -1] and y[:, -1]")
    return "the notebook's values (3.0067 on all steps, 3.7 on the last) and the MSE on (batch, seq_len, 1) tensors"


def _run_visualizer(namespace: dict, weight_val: float, bias_val: float):
    """Run the student's update_plots once on a small tanh layer; the layer, its weights before, what
    biggest_eig_magnitude was given, and the error update_plots raised, if any."""
    cls = need(namespace, "GradientVisualizer")
    session = namespace.session
    own = namespace.get("RNNLayer")
    try:
        check_layer_forward(namespace)
        layer_class = own
    except (Fail, StudentError):
        layer_class = lent(session, "RNNLayer")
    recorder = lent(session, "Recorder")()
    pieces = {"RNNLayer": layer_class, "biggest_eig_magnitude": recorder, "generate_batch": "generate_batch",
              "RecurrentRegressionModel": "RecurrentRegressionModel", "loss_fn": "loss_fn"}
    with session.lent(pieces):
        session.request("seed", 0)
        layer = layer_class(1, 4)
        before = session.request("state", layer)
        visualizer = call("GradientVisualizer(rnn, True)", cls, layer, True)
        with contextlib.suppress(StudentError, AttributeError):
            visualizer.plot_visuals()
        error = None
        try:
            visualizer.update_plots(weight_val=weight_val, bias_val=bias_val)
        except StudentError as exc:
            error = student_error("update_plots", exc)
    return layer, before, recorder.matrices, error


def check_scaling(namespace: dict) -> str:
    layer, before, _, error = _run_visualizer(namespace, 2.0, -0.5)
    after = namespace.session.request("state", layer)
    wrong = []
    for key, value in before.items():
        factor = -0.5 if "bias" in key.rsplit(".", 1)[-1] else 2.0
        if not torch.allclose(after[key], factor * value, atol=1e-6):
            got = float((after[key] * value).sum() / (value * value).sum()) if value.abs().sum() > 0 else 0.0
            wrong.append(f"{key} was scaled by {got:.3g}, expected {factor:g}")
    if wrong:
        raise Fail("with weight_val 2 and bias_val -0.5: " + "; ".join(wrong) + (f" ({error})" if error else ""))
    return "every weight matrix is scaled by weight_val and every bias by bias_val"


def check_recurrent_matrix(namespace: dict) -> str:
    layer, _, matrices, error = _run_visualizer(namespace, 1.5, 1.0)
    square = []
    for v in namespace.session.request("state", layer).values():
        if v.dim() == 2 and v.shape[0] == v.shape[1] == 4:
            square.append(v)
        elif v.dim() == 2 and v.shape in ((4, 5), (5, 4)):     # one fused Linear on [x, h] or [h, x]
            fused = v if v.shape == (4, 5) else v.T
            square += [fused[:, 1:], fused[:, :4]]
    if not matrices:
        raise Fail(f"biggest_eig_magnitude(W) was not reached{f': {error}' if error else ''}; set W to the "
                   f"hidden-to-hidden matrix W_hh")
    W = matrices[-1]
    if not isinstance(W, torch.Tensor):
        raise Fail(f"W is {W!r}, not a tensor: set W to the layer's hidden-to-hidden matrix W_hh")
    if not any(W.shape == s.shape and (torch.allclose(W, s) or torch.allclose(W.T, s)) for s in square):
        raise Fail(f"W (shape {tuple(W.shape)}) is not the layer's hidden-to-hidden matrix W_hh (4x4), the one "
                   f"whose eigenvalues decide whether gradients explode or vanish")
    return "W is the hidden-to-hidden matrix W_hh"


def check_stack_init(namespace: dict) -> str:
    cls = need(namespace, "RNN")
    with namespace.session.lent({"RNNLayer": "RNNLayer"}):
        counts = {layers: parameter_count(call(f"RNN(2, 3, {layers})", cls, 2, 3, layers)) for layers in (1, 2, 3)}
    expected = {1: 18, 2: 39, 3: 60}
    if counts != expected:
        raise Fail(f"RNN(2, 3, L) has {counts} parameters for L = 1, 2, 3, expected {expected}: layer 1 reads the "
                   f"input (18), every further layer reads the previous layer's hidden states (21 each); keep the "
                   f"layers in an nn.ModuleList so that their parameters count")
    return "one RNNLayer per layer (18, 39, 60 parameters for 1, 2, 3 layers)"


def check_stack_forward(namespace: dict) -> str:
    cls = need(namespace, "RNN")
    data = course_tensor("data")
    with namespace.session.lent({"RNNLayer": "RNNLayer"}):
        for layers in (1, 2):
            net = fill(call(f"RNN(2, 3, {layers})", cls, 2, 3, layers), -0.1)
            out = call("RNN.forward", net, data)
            if not isinstance(out, tuple) or len(out) != 2:
                raise Fail("forward must return the pair (last_layer_h, last_step_h)")
            for name, got, shape in (("last_layer_h", out[0], (2, 4, 3)), ("last_step_h", out[1], (layers, 2, 3))):
                if tuple(got.shape) != shape:
                    hint = (" (num_layers, batch, hidden): stack each layer's last state" if name == "last_step_h"
                            else "")
                    raise Fail(f"{layers} layer(s): {name} has shape {tuple(got.shape)}, expected {shape}{hint}")
                error = float((got - course_tensor(f"stack{layers}_{name}")).abs().max())
                if error > 1e-4:
                    hint = "; the second layer must read the first layer's hidden states" if layers == 2 else ""
                    raise Fail(f"{layers} layer(s): {name} differs from the notebook's values by up to {error:.3g}"
                               f"{hint}")
    return "one and two layers give the notebook's expected states and shapes"


def check_stack_training(namespace: dict) -> str:
    """No points: the student's RNN, regression model and loss, trained with Adam on the running average (the
    loop runs in the sandbox; only its losses come back, and they are worth nothing)."""
    classes = [need(namespace, n, "name") for n in ("RNN", "RecurrentRegressionModel", "loss_fn")]
    losses = call("training the RNN", lent(namespace.session, "train_stack"), *classes)
    if not isinstance(losses, list) or len(losses) < 20 or not all(isinstance(v, float) for v in losses):
        raise Fail("the training run did not return its losses")
    final = sum(losses[-20:]) / 20
    if not final < 0.05:
        raise Fail(f"after 80 Adam steps on the running average the loss is {final:.3g}, above the bar 0.05 "
                   f"(0 points: fix the TODOs above)")
    return f"trained on the running average: loss {losses[0]:.3g} -> {final:.3g} (bar 0.05; no points, a sanity run)"


def flow_checks(items: tuple[tuple[str, float], ...]) -> list[Check]:
    """The gradient-flow notebook's checks for ``items`` ((id, points), from ``assignments``, the one place they
    are defined).  Phases: the layer and the loss first (nothing lent yet), then what is checked on the grader's
    layer, then the visualiser (which is lent the model and the loss), then the training run."""
    run = {"RNNLayer.__init__": (check_layer_init, 0), "RNNLayer.forward": (check_layer_forward, 0),
           "RecurrentRegressionModel.__init__": (check_model_init, 1),
           "RecurrentRegressionModel.forward": (check_model_forward, 1), "loss_fn": (check_loss, 0),
           "GradientVisualizer.scale_weights": (check_scaling, 2),
           "GradientVisualizer.recurrent_matrix": (check_recurrent_matrix, 2),
           "RNN.__init__": (check_stack_init, 1), "RNN.forward": (check_stack_forward, 1),
           "RNN.training": (check_stack_training, 3)}
    return [Check(item, points, *run[item]) for item, points in items]
