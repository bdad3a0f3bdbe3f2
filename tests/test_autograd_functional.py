"""cr.autograd.functional: jacobian, hessian, vjp, jvp, hvp, vhp with PyTorch's signatures."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.autograd.functional import hessian, hvp, jacobian, jvp, vhp, vjp


def f64(*shape, seed=0):
    return cr.tensor(np.random.default_rng(seed).standard_normal(shape))


def test_jacobian_of_a_tensor_function():
    x = f64(3)
    J = jacobian(lambda x: x.exp() * x.sum(), x)
    xn = x.numpy()
    expected = np.diag(np.exp(xn)) * xn.sum() + np.exp(xn)[:, None]
    assert J.shape == (3, 3) and not J.requires_grad
    np.testing.assert_allclose(J.numpy(), expected, rtol=1e-12)


def test_jacobian_structures():
    a, b = f64(2, 3), f64(3, seed=1)
    J = jacobian(lambda a, b: a @ b, (a, b))  # tuple of inputs, one output
    assert isinstance(J, tuple) and [j.shape for j in J] == [(2, 2, 3), (2, 3)]
    np.testing.assert_allclose(J[1].numpy(), a.numpy())
    J = jacobian(lambda a: (a.sum(), a * 2), a)  # one input, tuple of outputs
    assert isinstance(J, tuple) and [j.shape for j in J] == [(2, 3), (2, 3, 2, 3)]
    J = jacobian(lambda a, b: (a.sum(0) * b, b.exp()), (a, b))  # tuples of both
    assert [[j.shape for j in row] for row in J] == [[(3, 2, 3), (3, 3)], [(3, 2, 3), (3, 3)]]
    np.testing.assert_allclose(J[1][0].numpy(), np.zeros((3, 2, 3)))  # independent: zeros


def test_jacobian_create_graph_and_strict():
    x = f64(2)
    J = jacobian(lambda x: x ** 3, x, create_graph=True)
    assert J.requires_grad and not x.requires_grad
    with pytest.raises(RuntimeError, match="Output 0 of the user-provided function is "
                                           "independent of input 1"):
        jacobian(lambda a, b: a * 2, (x.detach(), f64(2)), strict=True)
    with pytest.raises(RuntimeError, match="does not require gradients"):
        jacobian(lambda a: cr.ones(2), x.detach(), strict=True)
    np.testing.assert_allclose(jacobian(lambda a: cr.ones(2), x.detach()).numpy(),
                               np.zeros((2, 2)))
    with pytest.raises(TypeError, match="The inputs given to jacobian must be either a Tensor"):
        jacobian(lambda a: a, [x])


def test_jacobian_create_graph_keeps_the_inputs_graph():
    x = cr.tensor([1.0, 2.0], dtype=cr.float64, requires_grad=True)
    J = jacobian(lambda x: x ** 3, x, create_graph=True)  # diag(3x^2)
    (g,) = cr.autograd.grad(J.sum(), x)  # 6x
    np.testing.assert_allclose(g.numpy(), [6.0, 12.0])


def test_hessian():
    x = f64(3)
    H = hessian(lambda x: (x ** 3).sum() + x.prod(), x)
    xn = x.numpy()
    expected = np.diag(6 * xn)
    for i in range(3):
        for j in range(3):
            if i != j:
                expected[i, j] += np.prod([xn[k] for k in range(3) if k not in (i, j)])
    np.testing.assert_allclose(H.numpy(), expected, rtol=1e-12)
    a, b = f64(2), f64(2, seed=1)
    H = hessian(lambda a, b: (a * b.exp()).sum(), (a, b))
    assert [[h.shape for h in row] for row in H] == [[(2, 2), (2, 2)], [(2, 2), (2, 2)]]
    np.testing.assert_allclose(H[0][1].numpy(), np.diag(np.exp(b.numpy())))
    with pytest.raises(RuntimeError, match="should contain a single element"):
        hessian(lambda x: x * 2, x)


def test_vjp_jvp():
    x, v, u = f64(3), f64(3, seed=1), f64(3, seed=2)

    def f(x):
        return x.sin() * x.sum()

    J = jacobian(f, x).numpy()
    out, g = vjp(f, x, v)
    np.testing.assert_allclose(out.numpy(), f(x).numpy())
    np.testing.assert_allclose(g.numpy(), v.numpy() @ J, rtol=1e-12)
    out, g = jvp(f, x, u)
    np.testing.assert_allclose(g.numpy(), J @ u.numpy(), rtol=1e-12)
    # tuples in, tuples out
    a, b = f64(2), f64(2, seed=3)
    outs, gs = vjp(lambda a, b: (a * b, a.exp()), (a, b), (cr.ones(2), cr.ones(2)))
    assert isinstance(outs, tuple) and isinstance(gs, tuple)
    np.testing.assert_allclose(gs[0].numpy(), b.numpy() + np.exp(a.numpy()))
    outs, gs = jvp(lambda a, b: (a * b, a.exp()), (a, b), (cr.ones(2), cr.zeros(2)))
    np.testing.assert_allclose(gs[0].numpy(), b.numpy())
    np.testing.assert_allclose(gs[1].numpy(), np.exp(a.numpy()))
    # v may be omitted for a single element
    s = cr.tensor(2.0, dtype=cr.float64)
    assert vjp(lambda s: s ** 2, s)[1].item() == 4.0
    assert jvp(lambda s: s ** 2, s)[1].item() == 4.0
    with pytest.raises(RuntimeError, match="v can only be None"):
        vjp(f, x)
    with pytest.raises(RuntimeError, match=r"v has invalid size: should be \(3,\)"):
        vjp(f, x, cr.ones(2))


def test_hvp_vhp():
    x, v = f64(3), f64(3, seed=1)

    def f(x):
        return (x.sin() * x).sum() * x[0]

    H = hessian(f, x).numpy()
    out, r = hvp(f, x, v)
    np.testing.assert_allclose(r.numpy(), H @ v.numpy(), rtol=1e-12)
    assert out.item() == pytest.approx(f(x).item())
    out, r = vhp(f, x, v)
    np.testing.assert_allclose(r.numpy(), v.numpy() @ H, rtol=1e-12)
    _, r = hvp(f, x, v, create_graph=True)
    assert r.requires_grad
    with pytest.raises(RuntimeError, match="The function given to hvp should return a single"):
        hvp(lambda x: (x, x), x, v)


CASES = {
    "elementwise": (lambda x: (x.tanh() * x.exp()).sum(), lambda t: (t.tanh() * t.exp()).sum()),
    "matrix": (lambda x: ((x @ x.T).sigmoid() ** 2).sum(),
               lambda t: ((t @ t.T).sigmoid() ** 2).sum()),
}


@pytest.mark.parametrize("name", list(CASES))
def test_matches_pytorch(name):
    torch = pytest.importorskip("torch")
    import torch.autograd.functional as TF

    fc, ft = CASES[name]
    data = np.random.default_rng(0).standard_normal((2, 3))
    vdata = np.random.default_rng(1).standard_normal((2, 3))
    cx, tx = cr.tensor(data), torch.tensor(data)
    cv, tv = cr.tensor(vdata), torch.tensor(vdata)

    def same(a, b):
        if isinstance(a, tuple):
            assert isinstance(b, tuple) and len(a) == len(b)
            for u, w in zip(a, b):
                same(u, w)
        else:
            np.testing.assert_allclose(a.numpy(), b.detach().numpy(), rtol=1e-10, atol=1e-12)

    same(hessian(fc, cx), TF.hessian(ft, tx))
    same(jacobian(lambda x: x.sin() * x.sum(), cx), TF.jacobian(lambda x: x.sin() * x.sum(), tx))
    same(jacobian(lambda a, b: (a * b, a.exp()), (cx, cv)),
         TF.jacobian(lambda a, b: (a * b, a.exp()), (tx, tv)))
    for cf, tf in ((vjp, TF.vjp), (jvp, TF.jvp)):
        same(cf(lambda x: x.sin() * x.sum(), cx, cv), tf(lambda x: x.sin() * x.sum(), tx, tv))
    for cf, tf in ((hvp, TF.hvp), (vhp, TF.vhp)):
        same(cf(fc, cx, cv), tf(ft, tx, tv))
    same(hessian(lambda a, b: (a * b.exp()).sum(), (cx, cv)),
         TF.hessian(lambda a, b: (a * b.exp()).sum(), (tx, tv)))
