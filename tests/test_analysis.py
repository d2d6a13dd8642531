"""Gradient flow analysis, `rnnlab gradients`, and the explorer's server."""
import json
import urllib.error
import urllib.request

import numpy as np
import pytest
import torch

from rnnlab.analysis import explore, flow_model, gradient_flow, numpy_to_scratch, scaled_copy
from rnnlab.cli import main
from rnnlab.data.synthetic import cumulative_average
from served import serving


@pytest.mark.parametrize("engine", ["numpy", "scratch"])
def test_linear_rnn_gradients_follow_powers_of_w(engine):
    """Last-step loss, linear RNN: dL/dh_t = (W_hh^T)^(T-t) dL/dh_T."""
    T = 7
    x, y = cumulative_average(1, T, seed=2)
    nl = "identity" if engine == "scratch" else "relu"
    model = flow_model("rnn", nl, hidden_size=5, engine=engine, seed=4)
    if engine == "numpy":   # relu is linear where every pre-activation is positive: make them so
        model.params["weight_hh_l0"][...] = np.abs(model.params["weight_hh_l0"])
        model.params["weight_ih_l0"][...] = np.abs(model.params["weight_ih_l0"])
        model.params["bias_ih_l0"][...] = 1.0
        x = np.abs(x)
        W, Wf = model.params["weight_hh_l0"], model.params["head.weight"]
        pred = model.forward(x)
    else:
        W = model.recurrent_net.hh.weight.detach().numpy()
        Wf = model.linear.weight.detach().numpy()
        pred = model(torch.as_tensor(x, dtype=torch.float64))[0].detach().numpy()
    flow = gradient_flow(model, x, y, last_step_only=True)
    g_T = Wf.T @ (2.0 * (pred[0, -1] - y[0, -1]))          # dL/dh_T of mean((y_T - t_T)^2) with one output
    expected = [np.linalg.norm(np.linalg.matrix_power(W.T, T - 1 - t) @ g_T) for t in range(T)]
    assert np.allclose(flow.grad_norms, expected, rtol=1e-10)
    assert flow.eigenvalue == pytest.approx(np.abs(np.linalg.eigvals(W)).max())


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("last", [True, False])
def test_numpy_and_torch_modules_give_the_same_flow(cell, last):
    x, y = cumulative_average(3, 9, seed=1)
    model = scaled_copy(flow_model(cell, "tanh", 6, engine="numpy", seed=3), 1.8, -0.7)
    a = gradient_flow(model, x, y, last)
    b = gradient_flow(numpy_to_scratch(model), x, y, last)
    assert np.allclose(a.grad_norms, b.grad_norms, rtol=1e-10, atol=0)
    assert np.allclose(a.h_norms, b.h_norms, rtol=1e-10)
    assert a.loss == pytest.approx(b.loss, rel=1e-12)
    if cell == "rnn":
        assert a.eigenvalue == pytest.approx(b.eigenvalue, rel=1e-12)
    else:
        assert a.eigenvalue is None and b.eigenvalue is None


def test_scaled_copy_leaves_the_original_untouched():
    model = flow_model("rnn", "tanh", 4, seed=0)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    twin = scaled_copy(model, 2.0, -3.0)
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert torch.allclose(twin.recurrent_net.hh.weight, 2.0 * before["recurrent_net.hh.weight"])
    assert torch.allclose(twin.recurrent_net.ih.bias, -3.0 * before["recurrent_net.ih.bias"])
    assert torch.equal(twin.linear.weight, before["linear.weight"])          # the readout is not scaled
    numpy_model = flow_model("gru", "tanh", 4, engine="numpy", seed=0)
    kept = {k: v.copy() for k, v in numpy_model.params.items()}
    scaled_copy(numpy_model, 0.5, 0.0)
    assert all(np.array_equal(kept[k], numpy_model.params[k]) for k in kept)


def _student_model(cell, stack=False):
    """What a student builds: float32 (torch's default dtype), one of our layers or stacks under a readout."""
    from rnnlab.torch import GRU, LSTM, RNN, GRULayer, LSTMLayer, RecurrentRegressionModel, RNNLayer
    torch.manual_seed(5)
    if stack:
        net = {"rnn": RNN, "lstm": LSTM, "gru": GRU}[cell](1, 6, 2)
    else:
        net = {"rnn": RNNLayer, "lstm": LSTMLayer, "gru": GRULayer}[cell](1, 6)
    return RecurrentRegressionModel(net)


@pytest.mark.parametrize("stack", [False, True])
@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_scaled_copy_of_a_model_that_has_run_forward_and_backward(cell, stack):
    """The layers keep non-leaf tensors (h_list, final_state) after forward: deepcopy alone refuses them."""
    model = _student_model(cell, stack)
    x, y = (torch.as_tensor(a) for a in cumulative_average(2, 5, seed=0))
    pred, _ = model(x)
    ((pred - y) ** 2).mean().backward()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    grads = {k: p.grad.clone() for k, p in model.named_parameters()}
    layer = model.recurrent_net if not stack else model.recurrent_net.layers[-1]
    h_list, final = list(layer.h_list), layer.final_state
    assert final[0].grad_fn is not None                       # a non-leaf tensor kept on the layer
    twin = scaled_copy(model, 2.0, -0.5)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())      # the original untouched
    assert all(torch.equal(grads[k], p.grad) for k, p in model.named_parameters())
    assert layer.h_list == h_list and layer.final_state is final
    for name, value in twin.recurrent_net.state_dict().items():
        scale = -0.5 if name.endswith("bias") else 2.0
        assert torch.allclose(value, scale * before["recurrent_net." + name]), name
    assert torch.equal(twin.linear.weight, before["linear.weight"])
    assert all(p.grad is None for p in twin.parameters())
    flow = gradient_flow(twin, x.numpy(), y.numpy(), last_step_only=True)   # the copy runs on its own
    assert len(flow.grad_norms) == 5 and np.isfinite(flow.grad_norms).all()
    assert torch.equal(model(x)[0], pred)                                     # and the original still does


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("last", [True, False])
def test_gradient_flow_on_float32_and_float64_models_agree(cell, last):
    """A student's RNNLayer is float32: gradient_flow runs in the model's dtype, float32 or float64."""
    import copy
    x, y = cumulative_average(1, 12, seed=3)
    double = scaled_copy(flow_model(cell, "tanh", 8, seed=1), 1.5, 0.5)
    single = copy.deepcopy(double).float()
    assert next(single.parameters()).dtype == torch.float32
    a, b = gradient_flow(double, x, y, last), gradient_flow(single, x, y, last)
    assert np.allclose(b.grad_norms, a.grad_norms, rtol=1e-4, atol=1e-9)
    assert np.allclose(b.h_norms, a.h_norms, rtol=1e-4)
    assert b.loss == pytest.approx(a.loss, rel=1e-4)
    if cell == "rnn":
        assert b.eigenvalue == pytest.approx(a.eigenvalue, rel=1e-5)
    else:
        assert a.eigenvalue is None and b.eigenvalue is None
    student = _student_model(cell)                        # float32 straight from the constructor
    flow = gradient_flow(student, x, y, last)
    assert flow.grad_norms.shape == (12,) and np.isfinite(flow.grad_norms).all()
    if cell == "rnn":
        from rnnlab.torch import biggest_eig_magnitude
        assert flow.eigenvalue == pytest.approx(biggest_eig_magnitude(student.recurrent_net.hh.weight), rel=1e-5)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_gradient_flow_reads_the_top_layer_of_a_stack(cell):
    """A one-layer stack (the course's RNN(1, H, 1)) gives its layer's numbers; the LSTM stack's fused path
    is switched to recording for the measurement and back."""
    model = _student_model(cell, stack=True)
    x, y = cumulative_average(1, 6, seed=2)
    flow = gradient_flow(model, x, y, True)
    assert flow.grad_norms.shape == (6,) and np.isfinite(flow.grad_norms).all()
    assert (flow.eigenvalue is not None) == (cell == "rnn")
    top = model.recurrent_net.layers[-1]
    assert top.record_states == (cell != "lstm")


def test_larger_weights_explode_smaller_vanish():
    small = explore(cell="rnn", nonlinearity="identity", length=30, weight_scale=0.5)
    large = explore(cell="rnn", nonlinearity="identity", length=30, weight_scale=4.0)
    assert small["eigenvalue"] < 1 < large["eigenvalue"]
    assert small["ratio"] < 1e-3 and large["ratio"] > 1e3


@pytest.mark.parametrize("kwargs,message", [
    ({"weight_scale": 5.5}, "weight_scale: expected a number in [-5, 5], got 5.5"),
    ({"cell": "transformer"}, "cell: unknown value 'transformer'"),
    ({"hidden_size": 0}, "hidden_size: expected an integer in [1, 256], got 0"),
    ({"loss": "first"}, "loss: expected 'every' or 'last'"),
    ({"nonlinearity": "sigmoid"}, "nonlinearity: unknown value 'sigmoid'"),
])
def test_explore_validates(kwargs, message):
    with pytest.raises(ValueError) as info:
        explore(**kwargs)
    assert message in str(info.value)


@pytest.fixture
def server():
    with serving() as httpd:
        yield httpd, f"http://127.0.0.1:{httpd.server_address[1]}"


def _get(url):
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def test_server_answers_and_refuses_bad_requests(server):
    httpd, base = server
    assert httpd.server_address[0] == "127.0.0.1"
    status, body = _get(f"{base}/")
    assert status == 200 and b"<canvas" in body and b"http" not in body.replace(b"http-equiv", b"")
    status, body = _get(f"{base}/explore.js")
    assert status == 200 and b"/api/flow" in body
    status, body = _get(f"{base}/api/flow?cell=gru&length=6&weight_scale=1.5&loss=every")
    data = json.loads(body)
    assert status == 200 and len(data["grad_norms"]) == 6 and data["eigenvalue"] is None
    assert data["grad_norms"] == explore(cell="gru", length=6, weight_scale=1.5, loss="every")["grad_norms"]
    for query, message in [("weight_scale=9", "weight_scale: expected a number in [-5, 5]"),
                           ("weight_scale=abc", "weight_scale: expected a number in [-5, 5], got 'abc'"),
                           ("weight_scale=nan", "expected a finite number"),
                           ("cell=cnn", "cell: unknown value 'cnn'"),
                           ("length=1", "length: expected an integer in [2, 200]"),
                           ("length=2.5", "length: expected an integer in [2, 200], got '2.5'"),
                           ("colour=red", "unknown parameter 'colour' (= 'red')")]:
        status, body = _get(f"{base}/api/flow?{query}")
        assert status == 400 and message in json.loads(body)["error"], query
    status, _ = _get(f"{base}/nowhere")
    assert status == 404


def test_gradients_command_writes_its_pictures(tmp_path, capsys):
    out = tmp_path / "g"
    assert main(["gradients", "--length", "6", "--hidden-size", "4", "--epochs", "1", "--long-length", "50",
                 "--out", str(out)]) == 0
    for name in ("flow.png", "heatmap.png", "eigen_growth.png", "long_range.png", "eigenvalues.png", "summary.txt",
                 "summary.json"):
        assert (out / name).is_file()
    summary = json.loads((out / "summary.json").read_text())
    assert set(summary["models"]) == {"rnn", "lstm", "gru"}
    text = (out / "summary.txt").read_text()
    for cell in ("rnn", "lstm", "gru"):
        assert f"{summary['models'][cell]['ratio_init']:.4g}" in text
    assert "||dL/dh_1|| / ||dL/dh_T||" in capsys.readouterr().out
    growth = [(p["eigenvalue"], p["growth_per_step"]) for p in summary["linear_rnn"]]
    assert all((e < 1) == (g < 1) for e, g in growth if abs(e - 1) > 0.15)


def test_the_explorer_page_offers_the_registrys_cells(server):
    """The page's choice of cell is written from the registry (no hard-coded list in the HTML)."""
    from rnnlab.analysis import CELLS
    from rnnlab.cells import get_cell
    _, base = server
    status, body = _get(base + "/")
    page = body.decode()
    assert status == 200 and "CELL OPTIONS" not in page
    assert "indrnn" in CELLS
    for cell in CELLS:
        assert f'<option value="{cell}">{get_cell(cell).title}</option>' in page


@pytest.mark.parametrize("engine", ["numpy", "scratch"])
def test_an_indrnn_flows_and_its_eigenvalue_is_its_largest_u(engine):
    """The IndRNN's W_hh is diagonal: dL/dh_t shrinks or grows by u per step, and |lambda_max| = max |u|."""
    x, y = cumulative_average(1, 6, seed=2)
    model = flow_model("indrnn", "relu", hidden_size=5, engine=engine, seed=4)
    flow = gradient_flow(model, x, y, last_step_only=True)
    u = (model.params["weight_hh_l0"] if engine == "numpy"
         else model.recurrent_net.hh.weight.detach().numpy())
    assert u.shape == (5,) and flow.eigenvalue == pytest.approx(float(np.abs(u).max()))
    assert np.all(np.isfinite(flow.grad_norms)) and flow.grad_norms[-1] > 0
    assert explore(cell="indrnn", nonlinearity="tanh", hidden_size=4, length=5)["nonlinearity"] == "tanh"
    assert explore(cell="lstm", nonlinearity="relu", hidden_size=4, length=5)["nonlinearity"] == "tanh"


def test_the_linear_recurrences_and_the_orthogonal_rnn_in_the_flow_analysis():
    """Every cell of the explorer on both engines; their eigenvalues (the LRU's lambda, minGRU's a_t, Cayley(M)'s on
    the unit circle); at 400 steps the LSTM's gradient vanishes at initialisation where the LRU's does not."""
    from rnnlab.analysis import CELLS, flow_model, gradient_flow
    from rnnlab.data.synthetic import cumulative_average
    from rnnlab.plots import eigenvalue_plane
    assert {"orthogonal", "mingru", "minlstm", "lru"} <= set(CELLS)
    x, y = cumulative_average(1, 400, seed=0)
    flows = {(cell, engine): gradient_flow(flow_model(cell, "tanh", 8, engine=engine, seed=0), x, y, True)
             for cell in ("lstm", "orthogonal", "mingru", "lru") for engine in ("scratch", "numpy")}
    for (cell, engine), flow in flows.items():
        assert flow.grad_norms.shape == (400,) and np.isfinite(flow.grad_norms).all(), (cell, engine)
    for engine in ("scratch", "numpy"):
        assert flows[("lstm", engine)].ratio < 1e-10 < 1e-5 < flows[("lru", engine)].ratio
        lam = flows[("lru", engine)].eigenvalues
        assert lam.dtype.kind == "c" and np.all((np.abs(lam) > 0.9 - 1e-9) & (np.abs(lam) < 0.999 + 1e-9))
        np.testing.assert_allclose(np.abs(flows[("orthogonal", engine)].eigenvalues), 1.0, atol=1e-10)
        a = flows[("mingru", engine)].eigenvalues
        assert np.all((a.real > 0) & (a.real < 1)) and np.allclose(a.imag, 0)
    fig = eigenvalue_plane({cell: flows[(cell, "scratch")].eigenvalues for cell in ("orthogonal", "mingru", "lru")})
    assert len(fig.axes[0].lines) >= 4
