"""In-place shape methods (unsqueeze_, squeeze_, t_, transpose_) on a view keep the view's
map to its base: a later in-place op on the view changes, and differentiates through, the
right elements of the base (as PyTorch)."""

import numpy as np
import pytest

import chainrule as cr

CASES = [("unsqueeze_", (0,)), ("squeeze_", ()), ("t_", ()), ("transpose_", (0, 1)),
         ("unsqueeze_", (2,))]


def run(lib, meth, args):
    w = lib.tensor(np.arange(12.0).reshape(3, 4), requires_grad=True)
    base = w.clone()
    v = base[1:]
    getattr(v, meth)(*args)
    m = lib.tensor(np.arange(1.0, 1.0 + v.numel()).reshape(tuple(v.shape)))
    v.mul_(m)
    weights = lib.tensor(np.linspace(-1.0, 2.0, 12).reshape(3, 4))
    (base * weights).sum().backward()
    return tuple(v.shape), base.detach().numpy().copy(), w.grad.numpy().copy()


@pytest.mark.parametrize("meth, args", CASES)
def test_inplace_shape_change_of_a_view_then_inplace_op(meth, args):
    shape, values, grad = run(cr, meth, args)
    # by hand: the view's elements, in the view's (new) order, multiplied by m
    ref = np.arange(12.0).reshape(3, 4)
    view = ref[1:]
    order = {"unsqueeze_": lambda a: a[None] if args == (0,) else a[:, :, None],
             "squeeze_": lambda a: a, "t_": lambda a: a.T, "transpose_": lambda a: a.T}[meth]
    m = np.arange(1.0, 1.0 + view.size).reshape(order(view).shape)
    factor = np.ones((3, 4))
    order(factor[1:])[...] = m
    weights = np.linspace(-1.0, 2.0, 12).reshape(3, 4)
    assert shape == order(view).shape
    np.testing.assert_array_equal(values, ref * factor)
    np.testing.assert_allclose(grad, weights * factor, rtol=0, atol=1e-12)


@pytest.mark.parametrize("meth, args", CASES)
def test_as_pytorch(meth, args):
    torch = pytest.importorskip("torch", reason="PyTorch is the oracle")
    ours, theirs = run(cr, meth, args), run(torch, meth, args)
    assert ours[0] == theirs[0]
    np.testing.assert_allclose(ours[1], theirs[1], atol=1e-12)
    np.testing.assert_allclose(ours[2], theirs[2], atol=1e-12)
