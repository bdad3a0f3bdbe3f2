"""The autodiff engine: leaves, grad modes, backward/grad, higher order, graph release."""

import gc
import weakref

import numpy as np
import pytest

import chainrule as cr
from chainrule.graph import GraphError


def f64(*shape, seed=0, requires_grad=True):
    rng = np.random.default_rng(seed)
    return cr.tensor(rng.standard_normal(shape), requires_grad=requires_grad)


# -- leaves and .grad -----------------------------------------------------------------------------


def test_grad_accumulates_on_leaves_across_backward_calls():
    x = f64(3)
    (x * 2).sum().backward()
    (x * 3).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.full(3, 5.0))


def test_only_leaves_get_grad_unless_retained():
    x = f64(3)
    h = x * 2
    k = h * 3
    k.retain_grad()
    k.sum().backward()
    assert h.grad is None
    np.testing.assert_array_equal(k.grad.numpy(), np.ones(3))
    assert k.retains_grad and not h.retains_grad
    assert x.is_leaf and not h.is_leaf
    assert x.grad_fn is None and h.grad_fn is not None


def test_tensor_used_k_times_gets_k_contributions():
    x = f64(2, 2)
    y = x + x + x * 1.0
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.full((2, 2), 3.0))


def test_grad_is_a_copy_not_shared_between_leaves():
    a, b = f64(2), f64(2, seed=1)
    (a + b).sum().backward()
    assert a.grad is not b.grad
    a.grad.numpy()[0] = 100.0
    assert b.grad.numpy()[0] == 1.0


def test_integer_and_bool_tensors_cannot_require_grad():
    with pytest.raises(TypeError, match="floating-point"):
        cr.tensor([1, 2], requires_grad=True)
    with pytest.raises(TypeError, match="int64"):
        cr.arange(3).requires_grad_()
    with pytest.raises(TypeError, match="bool"):
        cr.tensor([True]).requires_grad_()


def test_integer_results_do_not_require_grad():
    x = f64(3)
    assert not x.argmax().requires_grad
    assert not (x > 0).requires_grad
    assert not x.long().requires_grad


def test_detach_and_requires_grad_():
    x = f64(3)
    d = x.detach()
    assert not d.requires_grad and d.is_leaf
    assert np.shares_memory(d.detach().numpy(), x.detach().numpy())
    y = x * 2
    with pytest.raises(GraphError, match="non-leaf"):
        y.requires_grad_(False)
    z = cr.ones(2)
    assert z.requires_grad_() is z and z.requires_grad


def test_grad_modes():
    x = f64(2)
    with cr.no_grad():
        y = x * 2
        with cr.enable_grad():
            z = x * 2
    assert not y.requires_grad and y.grad_fn is None
    assert z.requires_grad
    with cr.set_grad_enabled(False):
        assert not cr.is_grad_enabled()
    assert cr.is_grad_enabled()

    @cr.no_grad()
    def f(t):
        return t * 2

    assert not f(x).requires_grad


# -- backward and grad ----------------------------------------------------------------------------


def test_backward_non_scalar_needs_gradient():
    x = f64(2, 3)
    y = x * 2
    with pytest.raises(GraphError, match=r"shape \(2, 3\).*ones_like"):
        y.backward()
    y.backward(cr.ones_like(y))
    np.testing.assert_array_equal(x.grad.numpy(), np.full((2, 3), 2.0))


def test_backward_gradient_shape_is_checked():
    x = f64(2, 3)
    with pytest.raises(ValueError, match=r"shape \(3,\).*\(2, 3\)"):
        (x * 2).backward(cr.ones(3, dtype=cr.float64))


def test_backward_on_tensor_without_graph():
    with pytest.raises(GraphError, match="does not require grad"):
        cr.ones(2).sum().backward()


def test_second_backward_through_released_graph_says_retain_graph():
    x = f64(3)
    y = x.exp().sum()
    y.backward()
    with pytest.raises(GraphError, match="retain_graph=True"):
        y.backward()


def test_retain_graph_allows_second_backward():
    x = f64(3)
    y = x.exp().sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad.detach().numpy(), 2 * np.exp(x.detach().numpy()))


def test_grad_returns_without_touching_dot_grad():
    x = f64(3)
    (g,) = cr.autograd.grad((x ** 2).sum(), x)
    np.testing.assert_allclose(g.detach().numpy(), 2 * x.detach().numpy())
    assert x.grad is None
    assert not g.requires_grad


def test_grad_unused_input():
    x, y = f64(2), f64(2, seed=1)
    with pytest.raises(GraphError, match="input 1.*allow_unused=True"):
        cr.autograd.grad((x * 2).sum(), [x, y])
    gx, gy = cr.autograd.grad((x * 2).sum(), [x, y], allow_unused=True)
    assert gy is None
    np.testing.assert_array_equal(gx.numpy(), [2.0, 2.0])


def test_grad_with_respect_to_intermediate():
    x = f64(3)
    h = x.sin()
    y = (h * h).sum()
    (gh,) = cr.autograd.grad(y, h)
    np.testing.assert_allclose(gh.detach().numpy(), 2 * np.sin(x.detach().numpy()))


def test_second_and_third_order():
    x = cr.tensor(1.5, dtype=cr.float64, requires_grad=True)
    y = x.sin() * x ** 3
    (d1,) = cr.autograd.grad(y, x, create_graph=True)
    (d2,) = cr.autograd.grad(d1, x, create_graph=True)
    (d3,) = cr.autograd.grad(d2, x)
    s, c, v = np.sin(1.5), np.cos(1.5), 1.5
    assert d1.item() == pytest.approx(c * v ** 3 + 3 * s * v ** 2)
    assert d2.item() == pytest.approx(-s * v ** 3 + 6 * c * v ** 2 + 6 * s * v)
    assert d3.item() == pytest.approx(-c * v ** 3 - 9 * s * v ** 2 + 18 * c * v + 6 * s)


def test_hessian_vector_product():
    rng = np.random.default_rng(0)
    A = rng.standard_normal((4, 4))
    A = A + A.T
    x = cr.tensor(rng.standard_normal(4), requires_grad=True)
    v = cr.tensor(rng.standard_normal(4))
    f = 0.5 * (x @ cr.tensor(A) @ x) + x.tanh().sum()
    (g,) = cr.autograd.grad(f, x, create_graph=True)
    (hv,) = cr.autograd.grad((g * v).sum(), x)
    t = np.tanh(x.detach().numpy())
    H = A + np.diag(-2 * t * (1 - t ** 2))
    np.testing.assert_allclose(hv.numpy(), H @ v.numpy(), rtol=1e-12)


def test_backward_create_graph_then_grad_of_grad():
    x = f64(3)
    (x ** 3).sum().backward(create_graph=True)
    g = x.grad
    assert g.requires_grad
    (gg,) = cr.autograd.grad(g.sum(), x)
    np.testing.assert_allclose(gg.detach().numpy(), 6 * x.detach().numpy())


def test_backward_inputs_restricts_accumulation():
    a, b = f64(2), f64(2, seed=1)
    (a * b).sum().backward(inputs=[a])
    assert a.grad is not None and b.grad is None


def test_hooks_and_retain_grad():
    x = f64(3)
    seen = []
    h = x * 2
    handle = h.register_hook(lambda g: seen.append(g.numpy().copy()) or g * 10)
    h.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.full(3, 20.0))
    assert len(seen) == 1
    handle.remove()


# -- in-place changes -----------------------------------------------------------------------------


def test_inplace_on_saved_input_is_detected():
    x = f64(3)
    h = x * 1.0
    y = (h * h).sum()  # mul saves h
    h += 1
    with pytest.raises(GraphError, match=r"mul: input 0 \(shape \(3,\).*modified by an in-place"):
        y.backward()


def test_setitem_on_saved_tensor_is_detected():
    x = f64(3)
    h = x * 1.0
    y = h.exp().sum() + (h * h).sum()
    h[0] = 2.0
    with pytest.raises(GraphError, match="in-place"):
        y.backward()


def test_mutating_data_is_detected():
    w = f64(3)
    y = (w * w).sum()
    w.data[0] = 5.0
    with pytest.raises(GraphError, match="in-place"):
        y.backward()
    w2 = f64(3)
    y2 = (w2 * w2).sum()
    w2.data = cr.zeros(3, dtype=cr.float64)
    with pytest.raises(GraphError, match="in-place"):
        y2.backward()


def test_inplace_on_saved_output_is_detected():
    x = f64(3)
    y = x.exp()
    z = y.sum()
    with cr.no_grad():
        y += 1
    with pytest.raises(GraphError, match="exp: its output"):
        z.backward()


def test_inplace_on_input_not_needed_for_backward_is_fine():
    x = f64(3)
    h = x * 1.0
    y = (h + 1.0).sum()  # add saves nothing
    with cr.no_grad():
        h += 1
    y.backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.ones(3))


def test_inplace_on_leaf_requiring_grad():
    w = f64(3)
    with pytest.raises(GraphError, match="leaf tensor that requires grad"):
        w += 1
    with cr.no_grad():
        w -= 0.5 * cr.ones(3, dtype=cr.float64)
    assert w.requires_grad and w.is_leaf and w._version == 1


def test_inplace_on_non_leaf_is_recorded():
    x = f64(3)
    y = x * 2
    y *= x  # y = 2x * x
    y += 1
    y.sum().backward()
    np.testing.assert_allclose(x.grad.detach().numpy(), 4 * x.detach().numpy())


def test_setitem_is_differentiable():
    x = f64(4)
    v = f64(2, seed=3)
    y = x * 1.0
    y[1:3] = v * 3
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1, 0, 0, 1])
    np.testing.assert_array_equal(v.grad.numpy(), [3, 3])


def test_inplace_on_broadcast_view_is_an_error():
    e = cr.ones(3).expand(2, 3)
    with pytest.raises(ValueError, match="read-only broadcast view"):
        e += 1


def test_views_share_the_version_counter():
    x = f64(2, 3)
    h = x * 1.0
    v = h[0]
    y = (h * h).sum()
    with cr.no_grad():
        v.zero_()
    with pytest.raises(GraphError, match="in-place"):
        y.backward()


# -- graph structure and release ------------------------------------------------------------------


def test_deep_chain_backpropagates_without_recursion():
    x = cr.tensor([0.5], dtype=cr.float64, requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.0
    y.sum().backward()
    assert x.grad.item() == 1.0
    del y  # releasing a 100,000-deep graph must not overflow the C stack either


def test_graph_is_freed_by_reference_counting():
    gc.disable()
    try:
        x = f64(3)
        y = (x.exp() * x).sum()
        node = weakref.ref(y.grad_fn.next[0])
        y.backward()
        del y
        assert node() is None
    finally:
        gc.enable()


def test_saved_arrays_are_released_after_backward():
    x = f64(3)
    y = (x.exp() * x).sum()
    mul = y.grad_fn.next[0]
    assert mul.inputs is not None
    y.backward()
    assert mul.inputs is None


def test_memory_stays_flat_over_10000_steps():
    import tracemalloc

    rng = np.random.default_rng(0)
    X = cr.tensor(rng.standard_normal((32, 8)))
    Y = cr.tensor(rng.standard_normal((32, 1)))
    W = cr.tensor(rng.standard_normal((8, 1)) * 0.1, requires_grad=True)

    def step():
        loss = ((X @ W).tanh() - Y).pow(2).mean()
        loss.backward()
        with cr.no_grad():
            W.sub_(0.01 * W.grad)
        W.grad = None

    for _ in range(100):
        step()
    tracemalloc.start()
    for _ in range(1000):
        step()
    after_1k = tracemalloc.get_traced_memory()[0]
    for _ in range(9000):
        step()
    after_10k = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    assert after_10k - after_1k < 64 * 1024, (after_1k, after_10k)


def test_graph_inspection_is_deterministic():
    def build():
        x = cr.tensor([1.0, 2.0], requires_grad=True)
        w = cr.tensor([[0.5], [0.25]], requires_grad=True)
        return ((x @ w).sigmoid() + x.sum()).sum()

    a, b = cr.graph.nodes(build()), cr.graph.nodes(build())
    assert [n.name for n in a] == [n.name for n in b]
    assert [n.name for n in a] == ["AccumulateGrad", "AccumulateGrad", "matmul", "sigmoid", "sum",
                                   "add", "sum"] or [n.name for n in a][-1] == "sum"
    s = a[-1]
    assert s.params() == {"axis": None, "keepdim": False}
    assert s.shape == () and s.dtype == cr.float32
    assert all(isinstance(e, tuple) for e in s.next_functions)


def test_repeated_runs_give_identical_gradients():
    def run():
        x = f64(5, 4)
        y = (x.softmax(dim=1) * x.tanh()).sum(dim=0).logsumexp(dim=0)
        y.backward()
        return x.grad.numpy()

    np.testing.assert_array_equal(run(), run())


def test_deepcopy_and_pickle_of_leaves():
    import copy
    import pickle

    t = cr.tensor([1.0, 2.0], requires_grad=True)
    c = copy.deepcopy(t)
    (c * 3).sum().backward()
    assert t.grad is None and c.grad.tolist() == [3.0, 3.0]
    u = pickle.loads(pickle.dumps(t))
    assert u.requires_grad and u.is_leaf and u.tolist() == [1.0, 2.0]
    with pytest.raises(GraphError, match="detach"):
        copy.deepcopy(t * 2)
