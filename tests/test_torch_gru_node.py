"""The GRU's whole-sequence autograd node: its forward step compiled (``kernels.gru_forward_step``, the shared
per-unit GRU function) or the torch step's ATen operations, gradient-checked and agreeing with each other."""
import pytest

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("path", ["compiled", "aten"])
@pytest.mark.parametrize("reverse", [False, True])
def test_gru_sequence_node_passes_gradcheck_on_both_paths(path, reverse, monkeypatch):
    """The GRU's whole-sequence node, its forward step compiled (float64 CPU) or the torch step's ATen
    operations (RNNLAB_FUSED=0): gradcheck and gradgradcheck, b_hh given or not."""
    from rnnlab.torch.fused import compiled_kernels
    from rnnlab.torch.fused_cells import GRUSequence
    if path == "aten":
        monkeypatch.setenv("RNNLAB_FUSED", "0")
    g = torch.Generator().manual_seed(4)
    T, B, H = 4, 3, 2
    xw, h0, W, b = (torch.randn(*s, generator=g, dtype=torch.float64, requires_grad=True)
                    for s in ((T, B, 3 * H), (B, H), (3 * H, H), (3 * H,)))
    assert (compiled_kernels(xw) is None) == (path == "aten")
    assert torch.autograd.gradcheck(lambda *a: GRUSequence.apply(*a, reverse), (xw, h0, W, b))
    assert torch.autograd.gradgradcheck(lambda *a: GRUSequence.apply(*a, reverse), (xw, h0, W, b))
    assert torch.autograd.gradcheck(lambda *a: GRUSequence.apply(*a, None, reverse), (xw, h0, W))


def test_gru_compiled_and_aten_steps_agree_in_float32(monkeypatch):
    """At a training size in float32 (the compiled tanh is a rational approximation within 3.3e-7), a
    batch-first input seen time-major: outputs, final state and every gradient."""
    from rnnlab.torch.fused_cells import GRUSequence
    T, B, H = 28, 64, 128
    g = torch.Generator().manual_seed(5)
    leaves = [(torch.randn(*s, generator=g) * k).requires_grad_(True)
              for s, k in (((B, T, 3 * H), 1.0), ((B, H), 0.5), ((3 * H, H), 0.1), ((3 * H,), 0.5))]
    results = []
    for path in ("compiled", "aten"):
        if path == "aten":
            monkeypatch.setenv("RNNLAB_FUSED", "0")
        outs = GRUSequence.apply(leaves[0].transpose(0, 1), *leaves[1:], False)
        loss = sum((o * torch.linspace(-1, 1, o.shape[-1])).sum() for o in outs)
        results.append([o.detach() for o in outs] + list(torch.autograd.grad(loss, leaves)))
    for a, b in zip(*results):
        assert float((a - b).abs().max()) <= 1e-5 * float(b.abs().max())


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
def test_a_layer_takes_its_cells_node_when_not_recording(cell):
    """Any layer whose cell has a whole-sequence node in the table (not only the LSTM's) runs it when per-step
    states are not recorded, with the recorded path's numbers (float64) and gradients."""
    from rnnlab.torch import LAYERS
    torch.manual_seed(2)
    layer = LAYERS[cell](3, 4).double()
    x = torch.randn(2, 5, 3, dtype=torch.float64, requires_grad=True)
    results = []
    for record in (True, False):
        layer.record_states = record
        out, last = layer(x, reverse=True)
        grads = torch.autograd.grad((out.sum() + last.pow(2).sum()), [x, *layer.parameters()])
        assert (len(layer.h_list) == 5) == record
        results.append([out, last, *grads])
    for a, b in zip(*results):
        torch.testing.assert_close(a, b)
