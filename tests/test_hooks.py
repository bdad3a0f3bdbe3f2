"""Hooks: Tensor.register_hook, and Module forward / forward-pre / full backward hooks."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.graph import GraphError


def f64(*shape, seed=0, requires_grad=True):
    rng = np.random.default_rng(seed)
    return cr.tensor(rng.standard_normal(shape), requires_grad=requires_grad)


# -- Tensor.register_hook ---------------------------------------------------------------------


def test_hook_on_an_intermediate_changes_what_flows_upstream():
    x = f64(3)
    h = x * 2
    seen = []
    handle = h.register_hook(lambda g: seen.append(g.tolist()) or g * 10)
    (h * h).sum().backward()
    assert seen == [(4 * x).tolist()]  # called once, with the total gradient of h
    np.testing.assert_allclose(x.grad.detach().numpy(), 80 * x.detach().numpy())
    handle.remove()
    handle.remove()  # removing twice is harmless
    x.grad = None
    h = x * 2
    (h * h).sum().backward()
    np.testing.assert_allclose(x.grad.detach().numpy(), 8 * x.detach().numpy())


def test_hook_on_a_leaf_changes_what_is_accumulated():
    x = f64(3)
    handle = x.register_hook(lambda g: g * 3)
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.detach().numpy(), 6 * x.detach().numpy())
    handle.remove()
    x.grad = None
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.detach().numpy(), 2 * x.detach().numpy())


def test_hooks_run_in_order_and_retain_grad_sees_their_result():
    x = f64(2)
    y = x * 1.0
    order = []
    y.retain_grad()
    y.register_hook(lambda g: order.append("a") or g + 1)
    y.register_hook(lambda g: order.append("b") or g * 10)
    y.sum().backward()
    assert order == ["a", "b"]
    assert y.grad.tolist() == [20.0, 20.0]  # PyTorch runs retain_grad after the hooks
    assert x.grad.tolist() == [20.0, 20.0]


def test_handle_is_a_context_manager():
    x = f64(2)
    with x.register_hook(lambda g: g * 0):
        (x * 1).sum().backward()
    assert x.grad.tolist() == [0.0, 0.0]
    (x * 1).sum().backward()
    assert x.grad.tolist() == [1.0, 1.0]


def test_hook_sees_autograd_grad_too():
    x = f64(2)
    x.register_hook(lambda g: g * 2)
    (g,) = cr.autograd.grad((x * 3).sum(), x)
    assert g.tolist() == [6.0, 6.0] and x.grad is None


def test_hook_with_create_graph_gets_a_differentiable_gradient():
    x = cr.tensor(2.0, dtype=cr.float64, requires_grad=True)
    y = x ** 2
    y.register_hook(lambda g: g * x)  # the hook's own op is recorded
    (g,) = cr.autograd.grad(y ** 2, x, create_graph=True)  # (2y * x) * 2x = 64
    # The second backward passes y's node again, so the hook scales that path once more
    # (as in PyTorch): d/dy (4y x^2) * x * 2x + the explicit x's: 128 + 32 + 32.
    (gg,) = cr.autograd.grad(g, x)
    assert g.item() == 64.0 and gg.item() == 192.0


def test_hook_errors():
    with pytest.raises(GraphError, match="doesn't require grad"):
        cr.ones(2).register_hook(lambda g: g)
    with pytest.raises(TypeError, match="must be callable"):
        f64(2).register_hook(3)
    x = f64(2)
    x.register_hook(lambda g: g[:1])
    with pytest.raises(GraphError, match=r"returned a gradient of shape \(1,\), expected \(2,\)"):
        (x * 2).sum().backward()
    y = f64(2)
    y.register_hook(lambda g: 1.0)
    with pytest.raises(TypeError, match="returned a float; a hook returns a tensor"):
        (y * 2).sum().backward()


def test_tensor_hooks_match_pytorch():
    torch = pytest.importorskip("torch")
    data = np.random.default_rng(0).standard_normal(4)

    def run(lib):
        x = lib.tensor(data, requires_grad=True)
        x.register_hook(lambda g: g * 2)
        h = x.sin()
        h.retain_grad()
        h.register_hook(lambda g: g + 1)
        (h * h).sum().backward()
        return x.grad.detach().numpy().copy(), h.grad.detach().numpy().copy()

    for ours, theirs in zip(run(cr), run(torch)):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12)


# -- Module forward hooks ---------------------------------------------------------------------


def test_forward_pre_hook_can_replace_args():
    m = nn.Linear(2, 2)
    h = m.register_forward_pre_hook(lambda mod, args: args[0] * 0)  # a bare tensor is wrapped
    out = m(cr.ones(3, 2))
    np.testing.assert_allclose(out.detach().numpy(), np.broadcast_to(m.bias.detach().numpy(),
                                                                     (3, 2)))
    h.remove()
    assert not (m(cr.ones(3, 2)) == out).all()


def test_forward_hook_sees_args_and_can_replace_output():
    m = nn.Linear(2, 3)
    seen = []

    def hook(mod, args, out):
        seen.append((mod, args[0].shape, out.shape))
        return out * 0

    h = m.register_forward_hook(hook)
    out = m(cr.ones(4, 2))
    assert seen == [(m, (4, 2), (4, 3))] and out.abs().sum().item() == 0
    h.remove()
    assert m(cr.ones(4, 2)).abs().sum().item() > 0
    assert not m._hooked


def test_hooks_with_kwargs_and_prepend():
    class Scale(nn.Module):
        def forward(self, x, factor=1.0):
            return x * factor

    m = Scale()
    order = []
    m.register_forward_hook(lambda mod, args, out: order.append("second"))
    m.register_forward_hook(lambda mod, args, out: order.append("first"), prepend=True)

    def pre(mod, args, kwargs):
        return args, {"factor": kwargs.get("factor", 1.0) * 10}

    def post(mod, args, kwargs, out):
        order.append(("kw", kwargs["factor"]))

    m.register_forward_pre_hook(pre, with_kwargs=True)
    m.register_forward_hook(post, with_kwargs=True)
    assert m(cr.tensor([1.0]), factor=2.0).tolist() == [20.0]
    assert order == ["first", "second", ("kw", 20.0)]


def test_hooks_on_submodules_of_a_sequential():
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    shapes = []
    for layer in model:
        layer.register_forward_hook(lambda mod, args, out: shapes.append(
            (type(mod).__name__, out.shape)))
    model(cr.ones(5, 3))
    assert shapes == [("Linear", (5, 4)), ("ReLU", (5, 4)), ("Linear", (5, 2))]


# -- Module full backward hooks -----------------------------------------------------------------


def test_full_backward_hook_gets_grad_input_and_grad_output():
    m = nn.Linear(3, 2).double()
    x = f64(4, 3)
    seen = []
    m.register_full_backward_hook(lambda mod, gin, gout: seen.append((mod, gin, gout)))
    out = m(x)
    g = f64(4, 2, seed=1, requires_grad=False)
    out.backward(g)
    ((mod, gin, gout),) = seen
    assert mod is m and len(gin) == 1 and len(gout) == 1
    np.testing.assert_allclose(gout[0].numpy(), g.numpy())
    np.testing.assert_allclose(gin[0].numpy(), g.numpy() @ m.weight.detach().numpy())
    np.testing.assert_allclose(x.grad.numpy(), gin[0].numpy())


def test_full_backward_hook_can_replace_grad_input():
    m = nn.Linear(3, 2).double()
    x = f64(4, 3)
    m.register_full_backward_hook(lambda mod, gin, gout: (gin[0] * 0,))
    m(x).sum().backward()
    assert x.grad.abs().sum().item() == 0
    assert m.weight.grad.abs().sum().item() > 0  # parameters' gradients are untouched


def test_full_backward_hook_when_no_input_requires_grad():
    m = nn.Linear(3, 2)
    seen = []
    m.register_full_backward_hook(lambda mod, gin, gout: seen.append((gin, gout[0].shape)))
    m(cr.ones(4, 3)).sum().backward()
    assert seen == [((None,), (4, 2))]


def test_full_backward_hook_several_arguments_and_outputs():
    class Two(nn.Module):
        def forward(self, a, b, k=1.0):
            return a * b * k, a + b

    m = Two()
    seen = []
    m.register_full_backward_hook(lambda mod, gin, gout: seen.append((gin, gout)))
    a = cr.tensor([1.0, 2.0], requires_grad=True)
    b = cr.tensor([3.0, 4.0])
    o1, o2 = m(a, b, 2.0)
    o1.sum().backward()
    ((gin, gout),) = seen
    assert gin[0].tolist() == [6.0, 8.0] and gin[1] is None and gin[2] is None
    assert gout[0].tolist() == [1.0, 1.0] and gout[1] is None


def test_full_backward_pre_hook_can_replace_grad_output():
    m = nn.Linear(2, 2).double()
    m.register_full_backward_pre_hook(lambda mod, gout: (gout[0] * 2,))
    x = f64(3, 2)
    m(x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.ones((3, 2)) @ m.weight.detach().numpy())
    np.testing.assert_allclose(m.bias.grad.numpy(), [6.0, 6.0])


def test_full_backward_hook_removed_and_not_run_under_no_grad():
    m = nn.Linear(2, 2)
    calls = []
    h = m.register_full_backward_hook(lambda mod, gin, gout: calls.append(1))
    with cr.no_grad():
        m(cr.ones(1, 2))
    x = cr.ones(1, 2, requires_grad=True)
    m(x).sum().backward()
    h.remove()
    m(x).sum().backward()
    assert calls == [1]


def test_full_backward_hook_error_for_a_wrong_return():
    m = nn.Linear(2, 2)
    m.register_full_backward_hook(lambda mod, gin, gout: (gin[0], gin[0]))
    with pytest.raises(GraphError, match="full backward hook of Linear returned tuple of "
                                         "length 2; it must return None or a tuple of 1"):
        m(cr.ones(1, 2, requires_grad=True)).sum().backward()


def test_module_backward_hooks_match_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    w1, b1, w2, b2 = (rng.standard_normal(s) for s in [(4, 3), (4,), (2, 4), (2,)])
    x0 = rng.standard_normal((5, 3))

    def run(lib):
        model = lib.nn.Sequential(lib.nn.Linear(3, 4), lib.nn.Tanh(), lib.nn.Linear(4, 2))
        model = model.double()
        with lib.no_grad():
            for p, w in zip(model.parameters(), (w1, b1, w2, b2)):
                p.copy_(lib.tensor(w))
        seen = []

        def hook(mod, gin, gout):
            seen.append([None if g is None else g.detach().numpy().copy() for g in gin + gout])
            return tuple(None if g is None else g * 0.5 for g in gin)

        for layer in model:
            layer.register_full_backward_hook(hook)
        x = lib.tensor(x0, requires_grad=True)
        model(x).pow(2).sum().backward()
        return seen, x.grad.numpy().copy(), model[0].weight.grad.numpy().copy()

    ours, theirs = run(cr), run(torch)
    np.testing.assert_allclose(ours[1], theirs[1], rtol=1e-12)
    np.testing.assert_allclose(ours[2], theirs[2], rtol=1e-12)
    assert len(ours[0]) == len(theirs[0]) == 3
    for a, b in zip(ours[0], theirs[0]):
        assert len(a) == len(b)
        for u, v in zip(a, b):
            np.testing.assert_allclose(u, v, rtol=1e-12)
