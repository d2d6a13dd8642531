"""The compiled scan of linear recurrences (``rnnlab.kernels.scan``) against the step-by-step loop, forward and
backward, real and complex, both directions, and its backward against central differences."""
import numpy as np
import pytest

pytest.importorskip("numba")

from rnnlab.numpy.linear import scan, scan_grads


def _case(rng, T, shape, dtype, shared=False):
    cplx = np.issubdtype(dtype, np.complexfloating)

    def draw(*s):
        v = rng.standard_normal(s)
        return (v + 1j * rng.standard_normal(s) if cplx else v).astype(dtype)
    a = (rng.uniform(0.2, 1.0, ((1 if shared else T), *shape)) * (np.exp(1j * rng.uniform(0, 6, shape)) if cplx
                                                                    else 1.0)).astype(dtype)
    return a, draw(T, *shape), draw(T + 1, *shape), draw(T, *shape), draw(*shape)


@pytest.mark.parametrize("dtype,tol", [(np.float64, 1e-10), (np.float32, 2e-5), (np.complex128, 1e-10)])
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("shared", [False, True])
def test_the_compiled_scan_is_the_step_by_step_loop(dtype, tol, reverse, shared):
    """Forward states and every gradient, compiled against the loop, 300 steps of (4, 3) values.  float32: the
    same operations in the same order, so only the rounding of a fused multiply-add may differ (2e-5)."""
    rng = np.random.default_rng(1)
    a, b, hs, g, carry = _case(rng, 300, (4, 3), dtype, shared)
    results = []
    for compiled in (True, False):
        h, gg, c = hs.copy(), g.copy(), carry.copy()
        scan(compiled, a, b, h, reverse)
        da = scan_grads(compiled, a, gg, h, c, reverse)
        results.append((h, gg, c, da))
    for x, y in zip(*results):
        np.testing.assert_allclose(x, y, rtol=0, atol=tol * max(1.0, np.abs(y).max()))


@pytest.mark.parametrize("reverse", [False, True])
def test_the_scan_gradients_are_central_differences(reverse):
    """L = sum_t w_t . h_t + v . h_n (real parts, complex recurrence), and its gradient in a_t, b_t and h0 by the
    backward scan against central differences (PyTorch's convention: dL/dRe z + i dL/dIm z)."""
    rng = np.random.default_rng(2)
    T, shape = 7, (2, 3)
    a, b, hs, w, v = _case(rng, T, shape, np.complex128)
    end = 0 if reverse else T

    def loss(a_, b_, h0_):
        h = np.zeros((T + 1, *shape), complex)
        h[T if reverse else 0] = h0_
        scan(True, a_, b_, h, reverse)
        states = h[:T] if reverse else h[1:]
        return float(np.real(np.conj(w) * states).sum() + np.real(np.conj(v) * h[end]).sum())
    h0 = hs[T if reverse else 0]
    h = np.zeros_like(hs)
    h[T if reverse else 0] = h0
    scan(True, a, b, h, reverse)
    g, carry = w.copy(), v.copy()
    da = scan_grads(True, a, g, h, carry, reverse)
    for value, analytic, index in ((a, da, 0), (b, g, 1), (h0, carry, 2)):
        numeric = np.zeros_like(value)
        for i in np.ndindex(value.shape):
            for unit in (1.0, 1j):
                args = [a, b, h0]
                plus, minus = value.copy(), value.copy()
                plus[i] += 1e-6 * unit
                minus[i] -= 1e-6 * unit
                args[index] = plus
                up = loss(*args)
                args[index] = minus
                numeric[i] += unit * (up - loss(*args)) / 2e-6
        np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-8)
