"""rnnlab.torch's whole-sequence node of the linear recurrence (``rnnlab.torch.linear.LinearScan``): its hand-written
backward against torch's gradcheck, real and complex, one a for all steps, the compiled kernels against the ATen
loop, and the fall-back that makes second derivatives."""
import pytest

torch = pytest.importorskip("torch")

from rnnlab.torch.linear import LinearScan, linear_sequence  # noqa: E402


def _inputs(dtype, shared=False, T=5, seed=0):
    g = torch.Generator().manual_seed(seed)
    real = torch.float64 if dtype == torch.complex128 else dtype
    a = torch.rand(2, (1 if shared else T), 3, generator=g, dtype=real) * 0.9 + 0.05     # batch-major
    if dtype.is_complex:
        a = a * torch.exp(1j * torch.rand(a.shape, generator=g, dtype=real) * 6)
    b, h0 = torch.randn(2, T, 3, generator=g, dtype=dtype), torch.randn(2, 3, generator=g, dtype=dtype)
    return tuple(v.requires_grad_() for v in (a, b, h0))


@pytest.mark.parametrize("dtype", [torch.float64, torch.complex128])
@pytest.mark.parametrize("shared", [False, True])
@pytest.mark.parametrize("reverse", [False, True])
def test_the_node_passes_gradcheck_and_equals_the_autograd_graph(dtype, shared, reverse):
    a, b, h0 = _inputs(dtype, shared)
    assert torch.autograd.gradcheck(lambda *v: LinearScan.apply(*v, reverse), (a, b, h0))
    ours, ref = LinearScan.apply(a, b, h0, reverse), linear_sequence(a, b, h0, reverse)
    for o, r in zip(ours, ref):
        torch.testing.assert_close(o, r, rtol=0, atol=1e-12)


@pytest.mark.parametrize("reverse", [False, True])
def test_second_derivatives_fall_back_to_the_autograd_graph(reverse):
    a, b, h0 = _inputs(torch.float64, T=4, seed=1)
    assert torch.autograd.gradgradcheck(lambda *v: LinearScan.apply(*v, reverse), (a, b, h0))


@pytest.mark.parametrize("dtype,atol", [(torch.float32, 1e-5), (torch.float64, 1e-12), (torch.complex64, 1e-5)])
def test_the_compiled_kernels_equal_the_aten_loop(dtype, atol, monkeypatch):
    """RNNLAB_FUSED=0 turns the compiled kernels off: the ATen loop of the same steps gives the same numbers
    (float32: to a few rounding errors over 300 steps)."""
    pytest.importorskip("numba")
    results = []
    for fused in ("1", "0"):
        monkeypatch.setenv("RNNLAB_FUSED", fused)
        a, b, h0 = _inputs(dtype, T=300, seed=2)
        all_h, h_n = LinearScan.apply(a, b, h0, True)
        grads = torch.autograd.grad((all_h.real * all_h.imag if dtype.is_complex else all_h * all_h).sum()
                                    + h_n.abs().sum(), (a, b, h0))
        results.append((all_h, h_n, *grads))
    for x, y in zip(*results):
        torch.testing.assert_close(x, y, rtol=atol, atol=atol)
