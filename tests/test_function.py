"""Custom differentiable functions: cr.autograd.Function, in PyTorch's form."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.autograd import Function, once_differentiable
from chainrule.graph import GraphError


def f64(*shape, seed=0, requires_grad=True):
    rng = np.random.default_rng(seed)
    return cr.tensor(rng.standard_normal(shape), requires_grad=requires_grad)


class Cube(Function):
    @staticmethod
    def forward(ctx, x):  # y = x^3
        ctx.save_for_backward(x)
        return x ** 3

    @staticmethod
    def backward(ctx, g):  # dy/dx = 3 x^2, written with chainrule ops (differentiable)
        (x,) = ctx.saved_tensors
        return g * 3 * x ** 2


class Exp(Function):
    """Saves its output, as PyTorch's documentation example does."""

    @staticmethod
    def forward(ctx, x):
        y = x.exp()
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return g * y


class ScaleShift(Function):
    """Tensor and non-tensor arguments mixed: y = x * k + b."""

    @staticmethod
    def forward(ctx, x, k, b, name):
        ctx.k = k
        ctx.name = name
        return x * k + b

    @staticmethod
    def backward(ctx, g):
        gb = g.sum(0) if ctx.needs_input_grad[2] else None
        return g * ctx.k, None, gb, None


class LegendrePolynomial3(Function):
    @staticmethod
    def forward(ctx, input):
        ctx.save_for_backward(input)
        return 0.5 * (5 * input ** 3 - 3 * input)

    @staticmethod
    def backward(ctx, grad_output):
        (input,) = ctx.saved_tensors
        return grad_output * 1.5 * (5 * input ** 2 - 1)


def test_forward_and_backward():
    x = f64(3)
    y = Cube.apply(x)
    np.testing.assert_allclose(y.detach().numpy(), x.detach().numpy() ** 3)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.detach().numpy(), 3 * x.detach().numpy() ** 2)


def test_node_is_named_after_the_function():
    x = f64(2)
    y = Cube.apply(x)
    assert y.grad_fn.name == "Cube" and repr(y.grad_fn) == "<CubeBackward>"
    assert isinstance(y.grad_fn, Cube._backward_cls) and isinstance(y.grad_fn, cr.graph.Node)
    assert [n.name for n in cr.graph.nodes((y * 2).sum())] == ["AccumulateGrad", "Cube", "mul",
                                                               "sum"]
    assert y.grad_fn.next_functions == ((x.grad_fn or x._node, 0),)


def test_legendre_matches_the_formula_differentiated_by_chainrule():
    x = f64(50)
    LegendrePolynomial3.apply(x).sum().backward()
    custom = x.grad.numpy().copy()
    x.grad = None
    (0.5 * (5 * x ** 3 - 3 * x)).sum().backward()
    np.testing.assert_allclose(custom, x.grad.numpy(), rtol=1e-12)


@pytest.mark.parametrize("fn", [Cube, Exp, LegendrePolynomial3])
def test_gradcheck_and_gradgradcheck(fn):
    x = f64(2, 3)
    assert cr.autograd.gradcheck(fn.apply, (x,))
    assert cr.autograd.gradgradcheck(fn.apply, (x,))


def test_create_graph_differentiates_the_users_backward():
    x = cr.tensor(2.0, dtype=cr.float64, requires_grad=True)
    (g,) = cr.autograd.grad(Cube.apply(x), x, create_graph=True)  # 3x^2 = 12
    (gg,) = cr.autograd.grad(g, x)  # 6x = 12
    assert g.item() == 12.0 and gg.item() == 12.0
    y = cr.tensor(0.5, dtype=cr.float64, requires_grad=True)
    (g,) = cr.autograd.grad(Exp.apply(y), y, create_graph=True)  # through the saved output
    (gg,) = cr.autograd.grad(g, y)
    assert gg.item() == pytest.approx(np.exp(0.5))


def test_non_tensor_arguments_and_ctx_attributes():
    x, b = f64(4, 3), f64(3, seed=1)
    assert cr.autograd.gradcheck(lambda x, b: ScaleShift.apply(x, 2.5, b, "s"), (x, b))
    y = ScaleShift.apply(x, 2.5, b, "s")
    assert y.grad_fn.ctx.k == 2.5 and y.grad_fn.ctx.name == "s"
    assert y.grad_fn.ctx.needs_input_grad == (True, False, True, False)


def test_needs_input_grad_and_unneeded_gradients_are_dropped():
    x, b = f64(4, 3), f64(3, seed=1, requires_grad=False)
    y = ScaleShift.apply(x, 1.0, b, "s")
    assert y.grad_fn.ctx.needs_input_grad == (True, False, False, False)
    y.sum().backward()
    assert b.grad is None and x.grad is not None


def test_forward_runs_with_grad_disabled():
    seen = {}

    class Probe(Function):
        @staticmethod
        def forward(ctx, x):
            seen["enabled"] = cr.is_grad_enabled()
            seen["requires_grad"] = x.requires_grad
            y = x * 2
            seen["recorded"] = y.grad_fn is not None
            return y

        @staticmethod
        def backward(ctx, g):
            return g * 2

    Probe.apply(f64(2))
    assert seen == {"enabled": False, "requires_grad": True, "recorded": False}
    assert cr.is_grad_enabled()


def test_nothing_is_recorded_without_grad():
    x = f64(2, requires_grad=False)
    assert Cube.apply(x).grad_fn is None
    w = f64(2)
    with cr.no_grad():
        y = Cube.apply(w)
    assert y.grad_fn is None and not y.requires_grad


def test_saved_tensor_changed_in_place_is_caught():
    x = f64(3)
    h = x * 1.0
    y = Cube.apply(h)
    h += 1
    with pytest.raises(GraphError, match=r"Cube: saved tensor 0 .*modified by an in-place"):
        y.sum().backward()


def test_saved_output_changed_in_place_is_caught():
    x = f64(3)
    y = Exp.apply(x)
    y += 1
    with pytest.raises(GraphError, match=r"Exp: saved tensor 0 \(output 0\)"):
        y.sum().backward()


def test_second_backward_needs_retain_graph():
    x = f64(3)
    y = Cube.apply(x).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad.detach().numpy(), 6 * x.detach().numpy() ** 2)
    with pytest.raises(GraphError, match="Cube: trying to backward through the graph a second"):
        y.backward()


def make_bad(result):
    class Bad(Function):
        @staticmethod
        def forward(ctx, x, k):
            return x * k

        @staticmethod
        def backward(ctx, g):
            return result(g)

    return Bad


@pytest.mark.parametrize("result,err,pattern", [
    (lambda g: (g[:1], None), GraphError,
     r"Bad.backward returned a gradient of shape \(1,\) for argument 0, whose shape is \(3,\)"),
    (lambda g: g, GraphError, r"Bad.backward returned 1 gradient\(s\), but Bad.forward took 2"),
    (lambda g: (g, g, g), GraphError, r"Bad.backward returned 3 gradient\(s\)"),
    (lambda g: (g, g), GraphError,
     r"Bad.backward returned a gradient for argument 1, which is a float, not a tensor"),
    (lambda g: (g.numpy(), None), TypeError, r"Bad.backward: the gradient for argument 0"),
])
def test_wrong_backward_gets_a_clear_error(result, err, pattern):
    y = make_bad(result).apply(f64(3), 2.0)
    with pytest.raises(err, match=pattern):
        y.sum().backward()


def test_extra_trailing_nones_and_broadcast_gradients_are_accepted():
    x = f64(3)
    make_bad(lambda g: (g, None, None)).apply(x, 2.0).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.ones(3))
    x.grad = None
    # a gradient of a broadcast shape is summed back to the input's shape, as in PyTorch
    make_bad(lambda g: (g.expand(2, 3), None)).apply(x, 2.0).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.full(3, 2.0))


class SplitHalvesSaved(Function):
    @staticmethod
    def forward(ctx, x):
        n = x.shape[0] // 2
        lo, hi = x[:n] * 2, x[n:].exp()
        ctx.save_for_backward(hi)
        return lo, hi

    @staticmethod
    def backward(ctx, g1, g2):
        (hi,) = ctx.saved_tensors
        return cr.cat([g1 * 2, g2 * hi])


def test_multiple_outputs():
    x = f64(4)
    lo, hi = SplitHalvesSaved.apply(x)
    assert lo.grad_fn is not hi.grad_fn and lo.grad_fn.next[0] is hi.grad_fn.next[0]
    assert repr(lo.grad_fn) == "<SplitHalvesSavedBackward (output 0)>"
    names = [n.name for n in cr.graph.nodes(lo.sum() + hi.sum())]
    assert names[:4] == ["AccumulateGrad", "SplitHalvesSaved", "SplitHalvesSaved[0]",
                         "SplitHalvesSaved[1]"]
    (lo.sum() * 3 + hi.sum()).backward()
    np.testing.assert_allclose(x.grad.numpy()[:2], [6, 6])
    np.testing.assert_allclose(x.grad.detach().numpy()[2:], np.exp(x.detach().numpy()[2:]))
    assert cr.autograd.gradcheck(SplitHalvesSaved.apply, (f64(6),))
    assert cr.autograd.gradgradcheck(SplitHalvesSaved.apply, (f64(6),))


def test_unused_output_gets_zeros_or_none():
    seen = []

    class Two(Function):
        @staticmethod
        def forward(ctx, x, materialize):
            ctx.set_materialize_grads(materialize)
            return x * 1, x * 2

        @staticmethod
        def backward(ctx, g1, g2):
            seen.append(g2)
            return g1 + (0 if g2 is None else 2 * g2), None

    x = f64(3)
    Two.apply(x, True)[0].sum().backward()
    assert seen[-1] is not None and seen[-1].tolist() == [0.0, 0.0, 0.0]
    Two.apply(x, False)[0].sum().backward()
    assert seen[-1] is None


def test_output_used_twice_accumulates_before_backward():
    calls = []

    class Two(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 1, x * 1

        @staticmethod
        def backward(ctx, g1, g2):
            calls.append(1)
            return g1 + g2

    x = f64(3)
    a, b = Two.apply(x)
    (a * 2 + a * 3 + b).sum().backward()
    assert calls == [1]
    np.testing.assert_allclose(x.grad.numpy(), np.full(3, 6.0))


def test_non_differentiable_outputs():
    class MaxWithIndex(Function):
        @staticmethod
        def forward(ctx, x):
            i = x.argmax()
            m = x.max()
            mask = (x == m).float()
            ctx.mark_non_differentiable(mask)
            ctx.save_for_backward(mask)
            return m, i, mask

        @staticmethod
        def backward(ctx, gm, gi, gmask):
            (mask,) = ctx.saved_tensors
            return gm * mask

    x = cr.tensor([1.0, 3.0, 2.0], requires_grad=True)
    m, i, mask = MaxWithIndex.apply(x)
    assert m.requires_grad and not i.requires_grad and not mask.requires_grad
    assert i.dtype == cr.int64
    m.backward()
    assert x.grad.tolist() == [0.0, 1.0, 0.0]


def test_hooks_and_retain_grad_on_function_outputs():
    x = f64(3)
    y = Cube.apply(x)
    y.retain_grad()
    y.register_hook(lambda g: g * 2)
    y.sum().backward()
    assert y.grad.tolist() == [2.0, 2.0, 2.0]
    np.testing.assert_allclose(x.grad.detach().numpy(), 6 * x.detach().numpy() ** 2)


def test_forward_returning_an_input_does_not_touch_it():
    class Identity(Function):
        @staticmethod
        def forward(ctx, x):
            return x

        @staticmethod
        def backward(ctx, g):
            return g * 5

    x = f64(2)
    h = x * 1.0
    node = h.grad_fn
    y = Identity.apply(h)
    assert y is not h and h.grad_fn is node and y.grad_fn.name == "Identity"
    assert np.shares_memory(y.detach().numpy(), h.detach().numpy())
    y.sum().backward()
    assert x.grad.tolist() == [5.0, 5.0]


def test_setup_context_style():
    class Square(Function):
        @staticmethod
        def forward(x):
            return x * x

        @staticmethod
        def setup_context(ctx, inputs, output):
            (x,) = inputs
            ctx.save_for_backward(x)

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return 2 * x * g

    x = f64(3)
    assert cr.autograd.gradcheck(Square.apply, (x,))


def test_once_differentiable():
    class NumpyExp(Function):
        @staticmethod
        def forward(ctx, x):
            y = cr.from_numpy(np.exp(x.detach().numpy()))
            ctx.save_for_backward(y)
            return y

        @staticmethod
        @once_differentiable
        def backward(ctx, g):
            (y,) = ctx.saved_tensors
            return cr.from_numpy(g.numpy() * y.numpy())

    x = f64(3)
    assert cr.autograd.gradcheck(NumpyExp.apply, (x,))
    (g,) = cr.autograd.grad(NumpyExp.apply(x).sum(), x, create_graph=True)
    with pytest.raises(GraphError, match="NumpyExp.backward is decorated with "
                                         "@once_differentiable"):
        g.sum().backward()


def test_misuse_errors():
    x = f64(2)
    with pytest.raises(TypeError, match=r"Cube.apply takes positional arguments only"):
        Cube.apply(x=x)
    with pytest.raises(TypeError, match=r"call Cube.apply\(...\)"):
        Cube()(x)

    class Dirty(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.mark_dirty(x)
            return x

    with pytest.raises(NotImplementedError, match="mark_dirty"):
        Dirty.apply(x)

    class ChangesInput(Function):
        @staticmethod
        def forward(ctx, x):
            x += 1
            return x

    with pytest.raises(NotImplementedError, match="changed an input that requires grad"):
        ChangesInput.apply(x * 1.0)

    class SavesANumber(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(3)
            return x

    with pytest.raises(TypeError, match="SavesANumber: save_for_backward takes tensors"):
        SavesANumber.apply(x)

    class ReturnsANumber(Function):
        @staticmethod
        def forward(ctx, x):
            return 3.0

    with pytest.raises(TypeError, match="ReturnsANumber.forward must return a tensor"):
        ReturnsANumber.apply(x)


def test_function_in_a_module_trains():
    class Model(cr.nn.Module):
        def __init__(self):
            super().__init__()
            self.a = cr.nn.Parameter(cr.tensor(0.0))
            self.b = cr.nn.Parameter(cr.tensor(-1.0))
            self.c = cr.nn.Parameter(cr.tensor(0.0))
            self.d = cr.nn.Parameter(cr.tensor(0.3))

        def forward(self, x):
            return self.a + self.b * LegendrePolynomial3.apply(self.c + self.d * x)

    x = cr.linspace(-np.pi, np.pi, 200)
    y = x.sin()
    model = Model()
    opt = cr.optim.SGD(model.parameters(), lr=2e-4)
    losses = []
    for _ in range(300):
        opt.zero_grad()
        loss = ((model(x) - y) ** 2).sum()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert model(x).grad_fn.next[1].next[1].name == "LegendrePolynomial3"
    assert losses[-1] < 0.5 * losses[0]


def test_matches_pytorch():
    torch = pytest.importorskip("torch")

    class TCube(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x, k):
            ctx.save_for_backward(x)
            ctx.k = k
            return x ** 3 * k, x.sin()

        @staticmethod
        def backward(ctx, g1, g2):
            (x,) = ctx.saved_tensors
            return g1 * 3 * x ** 2 * ctx.k + g2 * x.cos(), None

    class CCube(Function):
        @staticmethod
        def forward(ctx, x, k):
            ctx.save_for_backward(x)
            ctx.k = k
            return x ** 3 * k, x.sin()

        @staticmethod
        def backward(ctx, g1, g2):
            (x,) = ctx.saved_tensors
            return g1 * 3 * x ** 2 * ctx.k + g2 * x.cos(), None

    data = np.random.default_rng(0).standard_normal(5)
    tx = torch.tensor(data, requires_grad=True)
    cx = cr.tensor(data, requires_grad=True)
    ta, tb = TCube.apply(tx, 1.5)
    ca, cb = CCube.apply(cx, 1.5)
    (tg,) = torch.autograd.grad((ta * tb).sum(), tx, create_graph=True)
    (cg,) = cr.autograd.grad((ca * cb).sum(), cx, create_graph=True)
    np.testing.assert_allclose(cg.detach().numpy(), tg.detach().numpy(), rtol=1e-12)
    (tgg,) = torch.autograd.grad(tg.sum(), tx)
    (cgg,) = cr.autograd.grad(cg.sum(), cx)
    np.testing.assert_allclose(cgg.numpy(), tgg.numpy(), rtol=1e-12)
