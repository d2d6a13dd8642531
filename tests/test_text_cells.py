"""What the cells of a character-level model learned (rnnlab.text_cells, rnnlab.text_figures via rnnlab.plots):
the traces and gradients agree with torch.nn in float64, the signals and the unit search find what is planted, and
the figures and HTML draw every character."""
import numpy as np
import pytest
import torch
from matplotlib.colors import to_rgb

from rnnlab import plots
from rnnlab import text_cells as tc
from rnnlab.engines import build_trainable
from rnnlab.spec import ModelSpec

CHARS = '\n "()abcd'
TEXT = 'ab "cab" (dab (ca)) bad\n"a" b\ncab (d)'


def _model(cell, hidden=6, seed=0):
    spec = ModelSpec.build(cell, len(CHARS), len(CHARS), hidden_size=hidden, readout="every")
    return spec, build_trainable(spec, "numpy", seed=seed).weights()


def _torch_twin(cell, weights):
    """torch.nn's own cell and a linear head with the run's portable weights, in float64."""
    H = weights["weight_hh_l0"].shape[1]
    net = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[cell](len(CHARS), H, batch_first=True).double()
    head = torch.nn.Linear(H, len(CHARS)).double()
    net.load_state_dict({k: torch.tensor(v, dtype=torch.float64) for k, v in weights.items() if "head" not in k})
    head.load_state_dict({k[5:]: torch.tensor(v, dtype=torch.float64) for k, v in weights.items() if "head" in k})
    return net, head


def test_signals_of_a_small_text():
    s = tc.text_signals('a "b" (c [d])\nxy')
    #                    a   "  b  "  _  (  c  _  [  d  ]  )  \n x  y
    assert s["quote"].tolist() == [0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
    assert s["bracket"].tolist() == [0, 0, 0, 0, 0, 0, 1, 1, 1, 2, 2, 1, 0, 0, 0, 0]
    assert s["line"].tolist() == [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 0, 1, 2]
    assert s["word"].tolist() == [0, 1, 1, 0, 1, 1, 1, 0, 1, 1, 0, 1, 1, 1, 0, 0]
    assert tc.text_signals("“x” y")["quote"].tolist() == [1, 1, 0, 0, 0]


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_trace_is_torch_nn_reading_the_one_hot_text(cell):
    spec, weights = _model(cell)
    trace = tc.read_text(spec, weights, CHARS, TEXT)
    net, _ = _torch_twin(cell, weights)
    x = torch.tensor(tc.one_hot(CHARS, TEXT)[None])
    with torch.no_grad():
        expected = net(x)[0][0].numpy()
    assert trace.hidden.shape == (len(TEXT), 6)
    np.testing.assert_allclose(trace.hidden, expected, atol=1e-12)
    assert set(trace.gates) == ({"input", "forget", "cell", "output"} if cell == "lstm" else {"reset", "update", "new"})
    assert trace.signed("hidden") and trace.signed("cell" if cell == "lstm" else "new")
    assert not trace.signed("forget" if cell == "lstm" else "update")


def test_connectivity_is_torch_autograd_of_the_prediction():
    spec, weights = _model("lstm")
    step = 20
    found = tc.connectivity(spec, weights, CHARS, TEXT, step=step)
    net, head = _torch_twin("lstm", weights)
    x = torch.tensor(tc.one_hot(CHARS, TEXT)[None], requires_grad=True)
    log_p = torch.log_softmax(head(net(x)[0])[0, step], -1)
    k = int(log_p.argmax())
    log_p[k].backward()
    np.testing.assert_allclose(found.norms, x.grad[0].norm(dim=1).numpy(), rtol=1e-9, atol=1e-15)
    assert found.predicted == CHARS[k] and found.probability == pytest.approx(float(log_p[k].detach().exp()))
    assert (found.norms[step + 1:] == 0).all() and (found.norms[:step + 1] > 0).all()
    assert tc.connectivity(spec, weights, CHARS, TEXT).step == len(TEXT) - 1


def _planted(hidden, gates=None):
    return tc.CellTrace(TEXT, "lstm", hidden, gates or {})


def test_the_search_finds_planted_units_and_skips_a_signal_that_never_changes():
    rng = np.random.default_rng(0)
    signals = tc.text_signals(TEXT)
    hidden = rng.normal(0, 0.3, (len(TEXT), 8))
    hidden[:, 5] = np.tanh(signals["bracket"]) + rng.normal(0, 0.05, len(TEXT))
    hidden[:, 2] = -signals["quote"]
    hidden[:, 7] = 0.3                                   # a unit that never changes: r = 0, not nan
    search = tc.find_units(_planted(hidden), top=2)
    assert search.best["bracket"][0][0] == 5 and search.best["bracket"][0][1] > 0.9
    assert search.best["quote"][0] == (2, pytest.approx(-1.0))
    assert search.correlations[:, 7].tolist() == [0, 0, 0, 0]
    assert search.ranked_units()[:2] == [2, search.best["quote"][1][0]] and sorted(search.ranked_units()) == list(
        range(8))
    flat = tc.find_units(tc.CellTrace("abcab", "lstm", rng.normal(size=(5, 3))))
    assert flat.best["quote"] == [] and np.isnan(flat.correlations[0]).all()


def test_saturation_counts_steps_beyond_the_thresholds_of_sigmoid_gates_only():
    T = len(TEXT)
    forget = np.full((T, 2), 0.5)
    forget[: T // 4, 0] = 0.05                           # unit 0: a quarter of the time closed
    forget[:, 1] = 0.95                                  # unit 1: always open
    gates = {"input": np.full((T, 2), 0.5), "forget": forget, "cell": np.zeros((T, 2)), "output": np.full((T, 2), .5)}
    fractions = tc.gate_saturation(_planted(np.zeros((T, 2)), gates))
    assert set(fractions) == {"input", "forget", "output"}      # the LSTM's cell candidate g is a tanh
    left, right = fractions["forget"]
    assert left.tolist() == [pytest.approx((T // 4) / T), 0] and right.tolist() == [0, 1]
    with pytest.raises(ValueError, match="0 < low < high < 1"):
        tc.gate_saturation(_planted(np.zeros((T, 2)), gates), low=0.9, high=0.1)


def test_html_colours_every_character_and_escapes_it():
    text = 'a<b>&"\nz'
    page = tc.coloured_html(text, np.linspace(-1, 1, len(text)), title="unit <3>")
    assert page.count("<span") == len(text) and "↵</span>\n" in page and "<b>" not in page.replace("<b>unit", "")
    assert all(f">{escaped}</span>" in page for escaped in ("&lt;", "&gt;", "&amp;", "&quot;"))
    assert "unit &lt;3&gt;" in page and 'background:#053061' in page      # -1: RdBu's darkest blue
    with pytest.raises(ValueError, match="one number per character"):
        tc.coloured_html(text, [0.5])


def test_figures_draw_every_character():
    spec, weights = _model("lstm")
    trace = tc.read_text(spec, weights, CHARS, TEXT)
    fig = plots.unit_text(trace, 3, of="forget", width=20)
    grid = fig.axes[0].images[0].get_array()                                   # a cell per character, by line
    assert grid.shape == (4, 20, 3) and tuple(grid[0, 0]) == to_rgb(tc.colour_of(trace.gates["forget"][0, 3], False))
    assert tuple(grid[3, 6]) == to_rgb(tc.colour_of(trace.gates["forget"][-1, 3], False))
    assert len(fig.axes[0].texts) == sum(not c.isspace() for c in TEXT) + 2    # and "↵" per newline
    assert fig._suptitle.get_text() == "forget unit 3"
    found = tc.connectivity(spec, weights, CHARS, TEXT, step=10)
    fig = plots.connectivity(found, width=20)
    boxed = fig.axes[0].patches
    assert len(boxed) == 1 and boxed[0].get_xy() == (10, 0) and boxed[0].get_edgecolor() == (0, 0, 0, 1)
    assert fig.axes[1].lines[0].get_ydata().tolist() == found.norms[10::-1].tolist()   # g_s from 0 to 10 back
    assert len(plots.gate_saturation(trace).axes) == 3
    assert "r = " in plots.unit_search(tc.find_units(trace)).axes[0].get_title()


def test_bad_input_is_refused_with_one_line():
    spec, weights = _model("lstm")
    with pytest.raises(ValueError, match=r"character\(s\) the run never saw \('XZ'\)"):
        tc.read_text(spec, weights, CHARS, "abXZ")
    with pytest.raises(ValueError, match="the model reads 9 inputs per step"):
        tc.read_text(spec, weights, "abc", "abc")
    with pytest.raises(TypeError, match="vocabulary"):
        tc.read_text(spec, weights, 42, "abc")
    with pytest.raises(ValueError, match=r"^vocabulary: a word-level vocabulary \(2 words\); the views of what the "
                                         r"cells learned read text one character at a time"):
        tc.read_text(spec, weights, ["ab", "c"], "abc")
    with pytest.raises(ValueError, match="step"):
        tc.connectivity(spec, weights, CHARS, "abc", step=3)
    with pytest.raises(ValueError, match="of: expected one of hidden, input, forget, cell, output"):
        tc.find_units(tc.read_text(spec, weights, CHARS, "abc"), of="gate")


def test_lab_reads_the_cells_of_a_result_of_a_text_task(tmp_path):
    from rnnlab import lab
    from text_run import made_up_text
    (tmp_path / "corpus.txt").write_text(made_up_text(2000))
    result = lab.train("gru", task="text", task_options={"path": str(tmp_path / "corpus.txt"), "bptt": 16},
                       hidden_size=8, epochs=1, batch_size=8, engine="numpy", echo=False)
    search = lab.units(result, TEXT, of="update", top=2)
    expected = tc.find_units(tc.read_text(result.model.spec, result.model.weights(), CHARS, TEXT), "update", 2)
    assert search.best == expected.best and search.of == "update"
    found = lab.connectivity(result, TEXT, step=5)
    assert found.step == 5 and (found.norms[6:] == 0).all() and found.predicted in CHARS
    with pytest.raises(TypeError, match="result: expected the Result of lab.train"):
        lab.units("runs/x", TEXT)
