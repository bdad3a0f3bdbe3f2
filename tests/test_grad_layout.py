"""Gradients in their input's memory layout: Linear's weight gradient is C-ordered like the
weight (docs/architecture.md, "Gradient layout")."""

import numpy as np

import chainrule as cr


def test_linear_weight_gradient_has_the_weight_layout():
    """The weight's gradient is C-ordered like the weight (PyTorch's gradients follow their
    input's strides), not a transposed array: later passes over it run along memory."""
    m = cr.nn.Linear(30, 20)
    m(cr.randn(8, 30)).sum().backward()
    assert m.weight.grad.numpy().flags.c_contiguous
    x = cr.randn(8, 30, dtype=cr.float64)
    w = cr.randn(20, 30, dtype=cr.float64, requires_grad=True)
    (x @ w.T).pow(2).sum().backward()
    expect = 2 * (x.numpy() @ w.detach().numpy().T).T @ x.numpy()
    np.testing.assert_allclose(w.grad.numpy(), expect, rtol=1e-12)


def test_matmul_with_a_transposed_operand_passes_gradcheck():
    x = cr.randn(6, 5, dtype=cr.float64, requires_grad=True)
    w = cr.randn(4, 5, dtype=cr.float64, requires_grad=True)
    assert cr.autograd.gradcheck(lambda x, w: x @ w.T, (x, w))
    assert cr.autograd.gradgradcheck(lambda x, w: x @ w.T, (x, w))
