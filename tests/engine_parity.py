"""A torch stack against the NumPy engine's net with the same weights, in float64: outputs, final states and the
gradients of the input and the initial state, to 1e-12 (the shared part of the per-cell parity tests)."""
import numpy as np
import torch


def assert_stack_equals_numpy(net, ours, rng, N: int, T: int, D: int, H: int, lengths) -> None:
    """Run ``net`` (rnnlab.numpy) and ``ours`` (rnnlab.torch, its weights loaded from ``net``) forward and back on
    the same random input, initial state and output gradients; afterwards ``net.grads`` and the parameters'
    ``.grad`` hold the parameter gradients for the caller to compare."""
    S = net.num_layers * (2 if net.bidirectional else 1)
    x, h0 = rng.standard_normal((N, T, D)), rng.standard_normal((S, N, H))
    out, h_n = net.forward(x, h0=h0, lengths=lengths)

    xt, h0t = torch.tensor(x, requires_grad=True), torch.tensor(h0, requires_grad=True)
    o, h_nt = ours(xt, h0t, lengths=None if lengths is None else torch.tensor(lengths))
    np.testing.assert_allclose(o.detach().numpy(), out, atol=1e-12, rtol=0)
    np.testing.assert_allclose(h_nt.detach().numpy(), h_n, atol=1e-12, rtol=0)

    g_out, g_h = rng.standard_normal(out.shape), rng.standard_normal(h_n.shape)
    dx, dh0 = net.backward(g_out, g_h)
    ((o * torch.tensor(g_out)).sum() + (h_nt * torch.tensor(g_h)).sum()).backward()
    np.testing.assert_allclose(xt.grad.numpy(), dx, atol=1e-12, rtol=0)
    np.testing.assert_allclose(h0t.grad.numpy(), dh0, atol=1e-12, rtol=0)
