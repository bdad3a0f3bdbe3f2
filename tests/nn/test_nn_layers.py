"""Layers and activations: values against NumPy formulas, gradcheck in float64, errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import nn
from chainrule.autograd import gradcheck, gradgradcheck

_erf = np.vectorize(math.erf)


def _np_gelu(x: np.ndarray) -> np.ndarray:
    return x * 0.5 * (1 + _erf(x / math.sqrt(2)))


def _np_gelu_tanh(x: np.ndarray) -> np.ndarray:
    return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))


# name -> (chainrule function, numpy reference, twice differentiable away from 0)
ACTIVATIONS = {
    "relu": (F.relu, lambda x: np.maximum(x, 0), False),
    "leaky_relu": (lambda x: F.leaky_relu(x, 0.2), lambda x: np.where(x > 0, x, 0.2 * x), False),
    "gelu": (F.gelu, _np_gelu, True),
    "gelu_tanh": (lambda x: F.gelu(x, approximate="tanh"), _np_gelu_tanh, True),
    "elu": (lambda x: F.elu(x, 1.5), lambda x: np.where(x > 0, x, 1.5 * (np.exp(x) - 1)), True),
    "silu": (F.silu, lambda x: x / (1 + np.exp(-x)), True),
    "sigmoid": (F.sigmoid, lambda x: 1 / (1 + np.exp(-x)), True),
    "tanh": (F.tanh, np.tanh, True),
    "softmax": (lambda x: F.softmax(x, dim=-1),
                lambda x: np.exp(x - x.max(-1, keepdims=True))
                / np.exp(x - x.max(-1, keepdims=True)).sum(-1, keepdims=True), True),
    "log_softmax": (lambda x: F.log_softmax(x, dim=-1),
                    lambda x: x - x.max(-1, keepdims=True) - np.log(np.exp(
                        x - x.max(-1, keepdims=True)).sum(-1, keepdims=True)), True),
}


def _away_from_zero(shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.1, 3.0, size=shape) * rng.choice([-1.0, 1.0], size=shape)
    return x


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activation_values(name: str) -> None:
    fn, ref, _ = ACTIVATIONS[name]
    x = np.linspace(-6, 6, 49).reshape(7, 7)
    out = fn(cr.tensor(x, dtype=cr.float64))
    np.testing.assert_allclose(out.numpy(), ref(x), rtol=2e-7, atol=1e-7)
    out32 = fn(cr.tensor(x, dtype=cr.float32))
    assert out32.dtype == cr.float32
    np.testing.assert_allclose(out32.numpy(), ref(x), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activation_gradcheck(name: str) -> None:
    fn, _, twice = ACTIVATIONS[name]
    x = cr.tensor(_away_from_zero((3, 4)), requires_grad=True)
    assert gradcheck(fn, (x,))
    if twice:
        assert gradgradcheck(fn, (x,))


@given(hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=3, max_side=4),
                  elements=st.floats(-30, 30)))
def test_activation_gradient_shapes_and_finite(x: np.ndarray) -> None:
    for name, (fn, _, _) in ACTIVATIONS.items():
        t = cr.tensor(x, requires_grad=True)
        out = fn(t)
        assert out.shape == x.shape, name
        out.sum().backward()
        assert t.grad.shape == x.shape, name
        assert np.isfinite(t.grad.numpy()).all(), name


def test_activations_at_zero_match_pytorch_conventions() -> None:
    def grad_at(fn, v: float = 0.0) -> float:
        x = cr.tensor([v], dtype=cr.float64, requires_grad=True)
        fn(x).sum().backward()
        return x.grad.item()

    assert grad_at(F.relu) == 0.0
    assert grad_at(lambda x: F.leaky_relu(x, 0.1)) == pytest.approx(0.1)
    assert grad_at(F.elu) == pytest.approx(1.0)  # alpha * e^0
    assert grad_at(F.gelu) == pytest.approx(0.5)
    assert grad_at(F.silu) == pytest.approx(0.5)


def test_activations_are_stable_for_huge_inputs() -> None:
    x = cr.tensor([-1e4, -50.0, 50.0, 1e4], requires_grad=True)
    for fn in (F.elu, F.gelu, F.silu, F.sigmoid, lambda t: F.gelu(t, approximate="tanh"),
               lambda t: F.softmax(t, 0), lambda t: F.log_softmax(t, 0)):
        x.grad = None
        out = fn(x)
        out.sum().backward()
        assert np.isfinite(out.detach().numpy()).all() and np.isfinite(x.grad.numpy()).all()
    np.testing.assert_allclose(F.gelu(x).detach().numpy(), [0.0, 0.0, 50.0, 1e4])


def test_gelu_erf_accuracy() -> None:
    # erf is a primitive accurate to float64 rounding (core/primitives/special.py)
    x = np.linspace(-8, 8, 1001)
    out = F.gelu(cr.tensor(x, dtype=cr.float64)).numpy()
    np.testing.assert_allclose(out, _np_gelu(x), rtol=1e-14, atol=1e-15)
    t = cr.tensor(x, dtype=cr.float64, requires_grad=True)
    F.gelu(t).sum().backward()
    phi = np.exp(-x ** 2 / 2) / math.sqrt(2 * math.pi)
    np.testing.assert_allclose(t.grad.numpy(), 0.5 * (1 + _erf(x / math.sqrt(2))) + x * phi,
                               atol=1e-14)


def test_softmax_legacy_dim_and_dtype() -> None:
    x = cr.randn(2, 3)
    np.testing.assert_allclose(F.softmax(x).numpy(), F.softmax(x, dim=1).numpy())
    assert F.log_softmax(x, dim=1, dtype=cr.float64).dtype == cr.float64
    np.testing.assert_allclose(F.softmax(x, 1).numpy().sum(1), 1.0, rtol=1e-6)
    with pytest.raises(IndexError, match="dim 2 is out of range"):
        F.softmax(x, dim=2)


def test_softmax_with_infinite_logits() -> None:
    x = cr.tensor([[0.0, -math.inf, 1.0], [-math.inf, -math.inf, 2.0]], requires_grad=True)
    lp = F.log_softmax(x, 1)
    lpd = lp.detach().numpy()
    assert lpd[0, 1] == -math.inf and np.isfinite(lpd[0, [0, 2]]).all()
    F.softmax(x, 1).sum().backward()
    assert np.isfinite(x.grad.numpy()).all()


def test_activation_modules_match_functions() -> None:
    x = cr.randn(3, 5)
    pairs = [
        (nn.ReLU(), F.relu(x)), (nn.LeakyReLU(0.3), F.leaky_relu(x, 0.3)),
        (nn.GELU(), F.gelu(x)), (nn.GELU("tanh"), F.gelu(x, approximate="tanh")),
        (nn.ELU(0.5), F.elu(x, 0.5)), (nn.SiLU(), F.silu(x)), (nn.Sigmoid(), F.sigmoid(x)),
        (nn.Tanh(), F.tanh(x)), (nn.Softmax(1), F.softmax(x, 1)),
        (nn.LogSoftmax(1), F.log_softmax(x, 1)), (nn.Identity(3, k=4), x),
    ]
    for m, expected in pairs:
        np.testing.assert_array_equal(m(x).numpy(), expected.numpy(), err_msg=repr(m))
    assert repr(nn.LeakyReLU()) == "LeakyReLU(negative_slope=0.01)"
    assert repr(nn.ReLU(inplace=True)) == "ReLU(inplace=True)"
    assert repr(nn.Softmax(dim=-1)) == "Softmax(dim=-1)"
    with pytest.raises(ValueError, match="approximate"):
        nn.GELU("fast")
    with pytest.raises(TypeError, match="floating-point"):
        F.leaky_relu(cr.tensor([1, 2]))


# -- Linear ------------------------------------------------------------------------------------


def test_linear_forward_matches_numpy() -> None:
    fc = nn.Linear(5, 3)
    x = cr.randn(4, 5)
    ref = x.detach().numpy() @ fc.weight.detach().numpy().T + fc.bias.detach().numpy()
    np.testing.assert_allclose(fc(x).detach().numpy(), ref, rtol=1e-6, atol=1e-6)
    assert fc.weight.shape == (3, 5) and fc.bias.shape == (3,)
    # batched and unbatched inputs
    xb = cr.randn(2, 4, 5)
    np.testing.assert_allclose(fc(xb).detach().numpy(), xb.numpy() @ fc.weight.detach().numpy().T
                               + fc.bias.detach().numpy(), rtol=1e-6, atol=1e-6)
    assert fc(cr.randn(5)).shape == (3,)
    nob = nn.Linear(5, 3, bias=False)
    assert nob.bias is None and len(list(nob.parameters())) == 1
    np.testing.assert_allclose(nob(x).detach().numpy(), x.numpy() @ nob.weight.detach().numpy().T,
                               rtol=1e-6)


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("shape", [(4, 3), (3,), (2, 2, 3)])
def test_linear_gradcheck(bias: bool, shape: tuple[int, ...]) -> None:
    w = cr.randn(2, 3, dtype=cr.float64, requires_grad=True)
    b = cr.randn(2, dtype=cr.float64, requires_grad=True) if bias else None
    x = cr.randn(*shape, dtype=cr.float64, requires_grad=True)
    if bias:
        assert gradcheck(lambda x, w, b: F.linear(x, w, b), (x, w, b))
        assert gradgradcheck(lambda x, w, b: F.linear(x, w, b) ** 2, (x, w, b))
    else:
        assert gradcheck(lambda x, w: F.linear(x, w), (x, w))


def test_linear_module_gradients() -> None:
    fc = nn.Linear(3, 2, dtype=cr.float64)
    x = cr.randn(4, 3, dtype=cr.float64)
    fc(x).sum().backward()
    np.testing.assert_allclose(fc.weight.grad.numpy(), np.tile(x.numpy().sum(0), (2, 1)))
    np.testing.assert_allclose(fc.bias.grad.numpy(), [4.0, 4.0])


def test_linear_errors_name_the_layer() -> None:
    fc = nn.Linear(64, 128)
    with pytest.raises(ValueError, match=r"^Linear\(64 -> 128\): expected input with last dim "
                                         r"64, got shape \(32, 10\)$"):
        fc(cr.randn(32, 10))
    with pytest.raises(ValueError, match=r"flatten it first"):
        fc(cr.randn(32, 4, 16))
    with pytest.raises(ValueError, match=r"features must be in the last dim"):
        fc(cr.randn(64, 32))
    with pytest.raises(TypeError, match=r"Linear\(64 -> 128\): input dtype torch.float64 does "
                                        r"not match the weight dtype torch.float32"):
        fc(cr.randn(2, 64, dtype=cr.float64))
    with pytest.raises(TypeError, match="floating-point input"):
        fc(cr.ones(2, 64, dtype=cr.int64))
    with pytest.raises(ValueError, match="expected input with last dim 64"):
        fc(cr.tensor(1.0))
    with pytest.raises(ValueError, match="non-negative int"):
        nn.Linear(2.5, 3)
    with pytest.raises(ValueError, match=r"linear \(weight of shape \(3, 2\)\): expected input"):
        F.linear(cr.ones(4, 3), cr.ones(3, 2))
    with pytest.raises(ValueError, match=r"bias must have shape \(3,\)"):
        F.linear(cr.ones(4, 2), cr.ones(3, 2), cr.ones(2))


def test_linear_accepts_numpy_and_lists() -> None:
    fc = nn.Linear(2, 1, dtype=cr.float64)
    assert fc(np.ones((3, 2))).shape == (3, 1)
    assert fc([[1.0, 2.0]]).dtype == cr.float64  # Python data takes the weight's dtype
    with pytest.raises(TypeError, match="does not match"):
        nn.Linear(2, 1)(np.ones((3, 2)))  # a float64 array is not silently converted


def test_linear_default_init_bounds_and_seed() -> None:
    fc = nn.Linear(100, 50)
    bound = 1 / math.sqrt(100)
    for p in (fc.weight, fc.bias):
        assert float(p.abs().max()) <= bound
    # U(-b, b) has std b / sqrt(3)
    assert abs(float(fc.weight.std()) - bound / math.sqrt(3)) < 0.1 * bound
    cr.manual_seed(3)
    a = nn.Linear(4, 4)
    cr.manual_seed(3)
    b = nn.Linear(4, 4)
    np.testing.assert_array_equal(a.weight.detach().numpy(), b.weight.detach().numpy())
    np.testing.assert_array_equal(a.bias.detach().numpy(), b.bias.detach().numpy())
    g1, g2 = cr.Generator().manual_seed(7), cr.Generator().manual_seed(7)
    np.testing.assert_array_equal(nn.Linear(4, 4, generator=g1).weight.detach().numpy(),
                                  nn.Linear(4, 4, generator=g2).weight.detach().numpy())
    assert nn.Linear(3, 3, dtype=cr.float64).weight.dtype == cr.float64


# -- Flatten, Dropout --------------------------------------------------------------------------


def test_flatten() -> None:
    x = cr.randn(2, 3, 4, 5, requires_grad=True)
    assert nn.Flatten()(x).shape == (2, 60)
    assert nn.Flatten(0)(x).shape == (120,)
    assert nn.Flatten(1, 2)(x).shape == (2, 12, 5)
    assert nn.Flatten(-2)(x).shape == (2, 3, 20)
    nn.Flatten()(x).sum().backward()
    assert x.grad.shape == x.shape
    with pytest.raises(ValueError, match=r"Flatten\(start_dim=1\): the input of shape \(5,\)"):
        nn.Flatten()(cr.ones(5))


def test_dropout_train_eval_and_scaling() -> None:
    drop = nn.Dropout(0.25, generator=cr.Generator().manual_seed(0))
    x = cr.ones(200, 100, requires_grad=True)
    y = drop(x)
    vals = np.unique(y.detach().numpy())
    np.testing.assert_allclose(vals, [0.0, 1 / 0.75], rtol=1e-6)
    frac = float((y.detach().numpy() == 0).mean())
    assert abs(frac - 0.25) < 0.01
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), y.detach().numpy())  # gradient = mask / (1 - p)
    drop.eval()
    assert drop(x) is x
    assert F.dropout(x, 0.0) is x
    z = F.dropout(x, 1.0)
    assert float(z.abs().sum()) == 0.0
    with pytest.raises(ValueError, match="probability"):
        nn.Dropout(1.5)
    with pytest.raises(ValueError, match="probability"):
        F.dropout(x, -0.1)


def test_dropout_same_seed_same_mask() -> None:
    x = cr.ones(10, 10)
    cr.manual_seed(42)
    a = F.dropout(x, 0.5)
    cr.manual_seed(42)
    b = F.dropout(x, 0.5)
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    c = F.dropout(x, 0.5)
    assert not np.array_equal(a.numpy(), c.numpy())
    g = cr.Generator().manual_seed(1)
    d1 = F.dropout(x, 0.5, generator=g)
    g.manual_seed(1)
    d2 = F.dropout(x, 0.5, generator=g)
    np.testing.assert_array_equal(d1.numpy(), d2.numpy())
    assert F.dropout(cr.ones(3, dtype=cr.float64), 0.5).dtype == cr.float64
