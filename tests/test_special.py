"""erf, erfc, erfinv and cr.special: accurate to float64 rounding (elementwise against the C
library's erf/erfc and SciPy's erfinv), PyTorch's names, values and gradients; gelu on them;
and PyTorch's type promotion and argument errors fixed in issue 15."""

from __future__ import annotations

import math

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F
from chainrule.core.primitives.special import erf_array, erfc_array, erfinv_array

torch = pytest.importorskip("torch")


def _ulps(a: np.ndarray, ref: np.ndarray) -> float:
    spacing = np.spacing(np.abs(ref))
    spacing[spacing == 0] = np.finfo(np.float64).smallest_subnormal
    return float(np.max(np.abs(a - ref) / spacing))


def _grid() -> np.ndarray:
    rng = np.random.default_rng(0)
    return np.concatenate([rng.normal(0, 3, 20000), np.linspace(-27, 27, 20001),
                           rng.uniform(-1, 1, 5000), [0.0, -0.0, 1.0, -1.0, 8.0, -8.0]])


def test_erf_and_erfc_are_accurate_to_a_few_ulps() -> None:
    x = _grid()
    assert _ulps(erf_array(x), np.array([math.erf(v) for v in x])) <= 4
    ref = np.array([math.erfc(v) for v in x])
    keep = ref > 1e-300  # below that, erfc is subnormal and has fewer bits to be exact in
    assert _ulps(erfc_array(x)[keep], ref[keep]) <= 16
    assert erfc_array(np.array([10.0]))[0] == pytest.approx(2.088487583762545e-45, rel=1e-14)


def test_erfinv_is_accurate_and_inverts_erf() -> None:
    scipy_special = pytest.importorskip("scipy.special")
    rng = np.random.default_rng(1)
    y = np.concatenate([rng.uniform(-1, 1, 20000), 1 - np.geomspace(1e-16, 1e-2, 200),
                        -1 + np.geomspace(1e-16, 1e-2, 200), [0.0, 1e-300, -1e-300]])
    assert _ulps(erfinv_array(y), scipy_special.erfinv(y)) <= 16
    np.testing.assert_array_equal(erfinv_array(np.array([1.0, -1.0, 1.5, np.nan])),
                                  [np.inf, -np.inf, np.nan, np.nan])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_special_functions_match_torch(dtype: str) -> None:
    x = np.linspace(-3, 3, 61)
    p = np.linspace(0.02, 0.98, 49)
    cases = [
        ("erf", x, lambda L, t: L.erf(t)), ("erfc", x, lambda L, t: L.special.erfc(t)),
        ("erfinv", p * 2 - 1, lambda L, t: t.erfinv()), ("expm1", x, lambda L, t: L.expm1(t)),
        ("exp2", x, lambda L, t: L.special.exp2(t)), ("ndtr", x, lambda L, t: L.special.ndtr(t)),
        ("expit", x, lambda L, t: L.special.expit(t)), ("logit", p, lambda L, t: L.logit(t)),
        ("logit_eps", p, lambda L, t: L.logit(t, eps=0.1)),
        ("xlogy", x, lambda L, t: L.xlogy(t, t * t + 0.5)),
        ("xlog1py", x, lambda L, t: L.special.xlog1py(t, t * t)),
        ("log1p", p, lambda L, t: L.special.log1p(t)),
        ("softmax", x, lambda L, t: L.special.softmax(t, 0)),
        ("log_softmax", x, lambda L, t: L.special.log_softmax(t, 0)),
        ("logsumexp", x, lambda L, t: L.special.logsumexp(t, 0)),
    ]
    tol = 1e-6 if dtype == "float32" else 1e-13
    for name, data, fn in cases:
        a = cr.tensor(data, dtype=getattr(cr, dtype), requires_grad=True)
        b = torch.tensor(data, dtype=getattr(torch, dtype), requires_grad=True)
        ya, yb = fn(cr, a), fn(torch, b)
        assert ya.dtype == getattr(cr, dtype), name
        np.testing.assert_allclose(ya.detach().numpy(), yb.detach().numpy(), rtol=tol,
                                   atol=tol, err_msg=name)
        ya.sum().backward()
        yb.sum().backward()
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=tol * 10, atol=tol,
                                   err_msg=name)


def test_xlogy_at_zero_follows_torch() -> None:
    x, y = [0.0, 0.0, 0.0, 2.0], [0.0, -1.0, 3.0, 0.5]
    for lib in (cr, torch):
        a = lib.tensor(x, dtype=lib.float64, requires_grad=True)
        b = lib.tensor(y, dtype=lib.float64)
        out = lib.xlogy(a, b)
        out.sum().backward()
        np.testing.assert_allclose(out.detach().numpy(), [0.0, 0.0, 0.0, 2 * math.log(0.5)])
        np.testing.assert_allclose(a.grad.numpy(), [0.0, 0.0, math.log(3.0), math.log(0.5)])


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_matches_torch_to_float64_rounding(approximate: str) -> None:
    x = np.linspace(-12, 12, 4801)
    a = cr.tensor(x, dtype=cr.float64, requires_grad=True)
    b = torch.tensor(x, requires_grad=True)
    ya = F.gelu(a, approximate=approximate)
    yb = torch.nn.functional.gelu(b, approximate=approximate)
    np.testing.assert_allclose(ya.detach().numpy(), yb.detach().numpy(), rtol=1e-14, atol=1e-15)
    ga, = cr.autograd.grad(ya.sum(), [a], create_graph=True)
    gb, = torch.autograd.grad(yb.sum(), [b], create_graph=True)
    np.testing.assert_allclose(ga.detach().numpy(), gb.detach().numpy(), rtol=1e-13, atol=1e-14)
    ga.sum().backward()
    gb.sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-12, atol=1e-13)


def test_cr_special_has_torch_names() -> None:
    for name in ("erf", "erfc", "erfinv", "expit", "logit", "xlogy", "xlog1py", "ndtr", "expm1",
                 "exp2", "log1p", "softmax", "log_softmax", "logsumexp"):
        assert callable(getattr(cr.special, name)) and hasattr(torch.special, name), name
    for name in ("erf", "erfc", "erfinv", "logit", "xlogy", "expm1"):
        assert callable(getattr(cr, name)) and callable(getattr(cr.Tensor, name)), name


# -- promotion and argument errors (issue 15) -------------------------------------------------


def test_cat_promotes_as_torch() -> None:
    pairs = [("float32", "int64"), ("int64", "float32"), ("float32", "float64"),
             ("int32", "int64"), ("bool", "int64"), ("float16", "int64")]
    for a, b in pairs:
        ours = cr.cat([cr.zeros(2, dtype=getattr(cr, a)), cr.zeros(2, dtype=getattr(cr, b))])
        ref = torch.cat([torch.zeros(2, dtype=getattr(torch, a)),
                         torch.zeros(2, dtype=getattr(torch, b))])
        assert str(ours.dtype) == str(ref.dtype), (a, b)


def test_loss_of_float32_input_and_float64_target_is_float64() -> None:
    x = cr.full((3,), 0.5)
    t = cr.full((3,), 0.25, dtype=cr.float64)
    for fn in (F.mse_loss, F.l1_loss, F.binary_cross_entropy_with_logits):
        assert fn(x, t).dtype == cr.float64, fn.__name__
    assert F.mse_loss(x, cr.tensor([1, 0, 1])).dtype == cr.float32  # int targets: input's


def test_integer_in_place_true_division_raises_torch_error() -> None:
    x = cr.tensor([1, 2])
    with pytest.raises(RuntimeError, match="result type Float can't be cast to the desired "
                                           "output type Long"):
        x /= 2
    with pytest.raises(RuntimeError, match="can't be cast"):
        x.mul_(1.5)
    x += 1
    assert x.tolist() == [2, 3]


def test_numpy_of_a_tensor_that_requires_grad_raises() -> None:
    w = cr.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"Can't call numpy\(\) on Tensor that requires grad"):
        w.numpy()
    np.testing.assert_array_equal(w.detach().numpy(), [1.0, 1.0])
    np.testing.assert_array_equal(w.numpy(force=True), [1.0, 1.0])


@pytest.mark.parametrize("call", [lambda: cr.randn(3.5), lambda: cr.zeros(2, 3.0),
                                  lambda: cr.ones((2, 2.5)), lambda: cr.rand(1.0),
                                  lambda: cr.empty(2.0), lambda: cr.randint(0, 3, (2.5,)),
                                  lambda: cr.full((2.0,), 1.0),
                                  lambda: cr.zeros(4).reshape(2, 2.0)])
def test_non_integer_sizes_are_errors(call) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(TypeError, match="size must be a tuple of ints"):
        call()


def test_mixed_integer_and_array_index_order_is_torch() -> None:
    x = np.arange(24.0).reshape(2, 3, 4)
    for idx in [(0, slice(None), [0, 1]), (slice(None), 0, [0, 1]), (1, [[0], [2]], [1, 3]),
                (None, 0, slice(None), [1, 2]), (1, None, [2, 0], slice(1, 3)),
                (0, slice(None), np.array([True, False, True, False]))]:
        a = cr.tensor(x, dtype=cr.float64, requires_grad=True)
        b = torch.tensor(x, requires_grad=True)
        ya, yb = a[idx], b[idx]
        assert tuple(ya.shape) == tuple(yb.shape), idx
        g = np.random.default_rng(0).uniform(size=tuple(yb.shape))
        ya.backward(cr.tensor(g))
        yb.backward(torch.tensor(g))
        np.testing.assert_array_equal(ya.detach().numpy(), yb.detach().numpy())
        np.testing.assert_array_equal(a.grad.numpy(), b.grad.numpy())
        c, d = cr.tensor(x), torch.tensor(x)
        c[idx] = cr.tensor(-g)
        d[idx] = torch.tensor(-g)
        np.testing.assert_array_equal(c.numpy(), d.numpy())
