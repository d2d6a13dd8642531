"""RNN Warmup's printed parameter tables and input/output shapes, reproduced by rnnlab.inspect."""
import subprocess
import sys

import pytest
import torch

from rnnlab.engines import RecurrentSpec, build_recurrent
from rnnlab.inspect import closed_form, compare_table, describe

ENGINES = ["numpy", "scratch", "torch"]


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("cell,total,G", [("rnn", 1480, 1), ("gru", 4440, 3), ("lstm", 5920, 4)])
def test_seed003_two_layer_tables(engine, cell, total, G):
    d = describe(RecurrentSpec(cell, 10, 20, 2), engine)
    assert d.total == total
    assert [(r.name, r.shape) for r in d.params] == [
        ("weight_ih_l0", (G * 20, 10)), ("weight_hh_l0", (G * 20, 20)), ("bias_ih_l0", (G * 20,)),
        ("bias_hh_l0", (G * 20,)), ("weight_ih_l1", (G * 20, 20)), ("weight_hh_l1", (G * 20, 20)),
        ("bias_ih_l1", (G * 20,)), ("bias_hh_l1", (G * 20,))]
    assert d.closed_form.endswith(f"total {total}")


@pytest.mark.parametrize("engine", ENGINES)
def test_seed003_hyperparameter_examples(engine):
    assert describe(RecurrentSpec("rnn", 10, 20, 1), engine).total == 640
    bi = describe(RecurrentSpec("rnn", 10, 20, 1, bidirectional=True), engine)
    assert bi.total == 1280
    assert [r.name for r in bi.params][4:] == ["weight_ih_l0_reverse", "weight_hh_l0_reverse",
                                               "bias_ih_l0_reverse", "bias_hh_l0_reverse"]
    assert describe(RecurrentSpec("rnn", 10, 20, 1, nonlinearity="relu"), engine).total == 640
    assert describe(RecurrentSpec("rnn", 10, 20, 3, dropout=0.5), engine).total == 640 + 2 * 840


@pytest.mark.parametrize("engine", ["scratch", "torch"])
def test_projection_lstm(engine):
    d = describe(RecurrentSpec("lstm", 10, 20, 1, proj_size=10), engine)
    shapes = {r.name: r.shape for r in d.params}
    assert shapes == {"weight_ih_l0": (80, 10), "weight_hh_l0": (80, 10), "bias_ih_l0": (80,),
                      "bias_hh_l0": (80,), "weight_hr_l0": (10, 20)}
    reference = torch.nn.LSTM(10, 20, 1, proj_size=10)
    assert d.total == sum(p.numel() for p in reference.parameters())
    # RNN Warmup example 5: input 10, hidden 20, proj 15, 2 layers, batch 5, 8 steps
    d = describe(RecurrentSpec("lstm", 10, 20, 2, proj_size=15), engine, batch=5, seq_len=8)
    assert d.shapes == {"input": (5, 8, 10), "h0": (2, 5, 15), "c0": (2, 5, 20), "output": (5, 8, 15),
                        "h_n": (2, 5, 15), "c_n": (2, 5, 20)}
    assert any("proj_size = 15" in n for n in d.notes)


def _expected(cell, x, h, out):
    e = {"input": x, "h0": h}
    if cell == "lstm":
        e["c0"] = h
    e.update({"output": out, "h_n": h})
    if cell == "lstm":
        e["c_n"] = h
    return e


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
def test_seed003_io_examples(engine, cell):
    # example 1: batch-first; example 2: sequence-first; example 3: bidirectional
    d = describe(RecurrentSpec(cell, 10, 20, 2), engine, batch=5, seq_len=8)
    assert d.shapes == _expected(cell, (5, 8, 10), (2, 5, 20), (5, 8, 20))
    d = describe(RecurrentSpec(cell, 10, 20, 2, batch_first=False), engine, batch=5, seq_len=8)
    assert d.shapes == _expected(cell, (8, 5, 10), (2, 5, 20), (8, 5, 20))
    d = describe(RecurrentSpec(cell, 10, 20, 2, bidirectional=True), engine, batch=5, seq_len=8)
    assert d.shapes == _expected(cell, (5, 8, 10), (4, 5, 20), (5, 8, 40))
    assert any("not the last output step" in n for n in d.notes)
    # example 4: packed variable lengths
    d = describe(RecurrentSpec(cell, 10, 20, 2), engine, batch=3, seq_len=10, lengths=[10, 7, 5])
    assert d.shapes["input"] == (3, 10, 10) and d.shapes["output"] == (3, 10, 20)
    assert d.shapes["h_n"] == (2, 3, 20) and d.output_lengths == [10, 7, 5]


def test_descriptions_are_identical_across_engines():
    spec = RecurrentSpec("gru", 7, 9, 2, bidirectional=True)
    base = describe(spec, "torch", batch=4, seq_len=6, lengths=[6, 2, 5, 1])
    for engine in ("numpy", "scratch"):
        d = describe(spec, engine, batch=4, seq_len=6, lengths=[6, 2, 5, 1])
        assert (d.params, d.total, d.closed_form, d.shapes, d.output_lengths, d.notes) == \
               (base.params, base.total, base.closed_form, base.shapes, base.output_lengths, base.notes)


def test_describe_a_model_directly_and_meanings():
    net = build_recurrent(RecurrentSpec("lstm", 3, 4), "numpy")
    d = describe(net)
    assert d.engine == "numpy" and d.total == 4 * (3 * 4 + 4 * 4 + 8)
    assert d.params[0].meaning.startswith("rows i 0-3 | f 4-7 | g 8-11 | o 12-15")
    table = d.table()
    assert "weight_hh_l0" in table and "total parameters: 144" in table
    gru = describe(torch.nn.GRU(3, 4))
    assert "r 0-3 | z 4-7 | n 8-11" in gru.params[1].meaning
    scratch = describe(build_recurrent(RecurrentSpec("lstm", 3, 4), "scratch"))
    assert any("trains 128 parameters" in n for n in scratch.notes)
    assert sum(p.numel() for p in build_recurrent(RecurrentSpec("lstm", 3, 4), "scratch").parameters()) == 128


def test_closed_form_matches_counts_for_many_shapes():
    for cell in ("rnn", "gru", "lstm"):
        for layers in (1, 3):
            for bi in (False, True):
                spec = RecurrentSpec(cell, 5, 6, layers, bidirectional=bi, bias=(layers == 1))
                _, total = closed_form(spec)
                ref = {"rnn": torch.nn.RNN, "gru": torch.nn.GRU, "lstm": torch.nn.LSTM}[cell](
                    5, 6, layers, bidirectional=bi, bias=(layers == 1))
                assert total == sum(p.numel() for p in ref.parameters())


@pytest.mark.parametrize("cell,G", [("rnn", 1), ("lstm", 4), ("gru", 3)])
def test_layer_normalised_cells(cell, G):
    """Numpy and scratch list the same table; the closed form counts the gains and shifts."""
    spec = RecurrentSpec(cell, 5, 6, 2, bidirectional=True, layer_norm=True)
    numpy_d, scratch_d = describe(spec, "numpy"), describe(spec, "scratch")
    assert numpy_d.params == scratch_d.params and numpy_d.total == scratch_d.total
    plain = closed_form(RecurrentSpec(cell, 5, 6, 2, bidirectional=True))[1]
    assert numpy_d.total == plain + 2 * 2 * (2 * G * 6)        # 2 layers x 2 directions x (gain + shift)
    assert closed_form(spec)[1] == numpy_d.total
    assert numpy_d.total == sum(p.size for p in build_recurrent(spec, "numpy").params.values())
    gain = next(r for r in numpy_d.params if r.name == "ln_weight_l1_reverse")
    assert gain.shape == (G * 6,) and gain.meaning.startswith("layer-norm gain of each gate block")
    assert "layer norm in the cell" in numpy_d.table()
    assert describe(spec, "scratch", batch=2, seq_len=3).shapes["output"] == (2, 3, 12)
    with pytest.raises(ValueError, match="torch.nn has no layer-normalised cell"):
        describe(spec, "torch")


def test_unknown_options_list_the_valid_ones():
    with pytest.raises(ValueError, match="cell: unknown value 'transformer'; expected one of 'rnn', 'lstm', 'gru'"):
        RecurrentSpec("transformer", 10, 20)
    with pytest.raises(ValueError, match="engine: unknown value 'jax'; expected one of 'numpy', 'scratch', 'torch'"):
        describe(RecurrentSpec("rnn", 10, 20), "jax")
    with pytest.raises(ValueError, match="proj_size: the NumPy engine has no LSTM projection"):
        describe(RecurrentSpec("lstm", 10, 20, proj_size=5), "numpy")
    with pytest.raises(ValueError, match=r"lengths: expected 3 lengths in 1\.\.8"):
        describe(RecurrentSpec("rnn", 10, 20), batch=3, seq_len=8, lengths=[8, 9, 1])


def test_compare_table_side_by_side():
    text = compare_table([describe(RecurrentSpec(c, 10, 20, 2)) for c in ("rnn", "gru", "lstm")])
    total_line = [line for line in text.splitlines() if line.startswith("total")][0]
    assert total_line.split()[1:] == ["1480", "4440", "5920"]


def test_cli_inspect():
    run = lambda *a: subprocess.run([sys.executable, "-m", "rnnlab", "inspect", *a],
                                    capture_output=True, text=True, timeout=120)
    res = run("lstm", "--input-size", "10", "--hidden-size", "20", "--layers", "2",
              "--batch", "5", "--seq-len", "8", "--engine", "numpy")
    assert res.returncode == 0, res.stderr
    assert "total parameters: 5920" in res.stdout and "output: (5, 8, 20)" in res.stdout
    res = run("--compare", "rnn", "gru", "lstm", "--layers", "2")
    assert res.returncode == 0 and "1480" in res.stdout and "5920" in res.stdout
    res = run("lstm", "--batch", "3", "--seq-len", "10", "--lengths", "10,7,5", "--time-major")
    assert res.returncode == 0 and "output lengths: [10, 7, 5]" in res.stdout and "input: (10, 3, 10)" in res.stdout
    res = run("transformer")
    assert res.returncode == 2
    assert ("invalid choice: 'transformer' (choose from 'rnn', 'lstm', 'gru', 'indrnn', 'orthogonal', 'mingru', "
            "'minlstm', 'lru')" in res.stderr)
    res = run("rnn", "--proj-size", "5")
    assert res.returncode == 2 and "proj_size: only the LSTM has a projection" in res.stderr
