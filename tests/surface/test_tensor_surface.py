"""The PyTorch tensor surface real programs use: legacy types, sorting, norms, sampling,
in-place shape methods, deprecated overloads, out=, formatting, Variable; checked against
torch where it is installed."""

from __future__ import annotations

import math

import numpy as np
import pytest

import chainrule as cr
from chainrule.autograd import Variable
from chainrule.core.graph import GraphError

torch = pytest.importorskip("torch")


def same(a, b, tol=1e-12):
    a = a.detach().numpy() if hasattr(a, "detach") else np.asarray(a)
    b = b.detach().numpy() if hasattr(b, "detach") else np.asarray(b)
    assert a.shape == b.shape, (a.shape, b.shape)
    assert a.dtype == b.dtype or a.dtype.kind == b.dtype.kind == "f", (a.dtype, b.dtype)
    np.testing.assert_allclose(a.astype(np.float64), b.astype(np.float64), rtol=tol, atol=tol)


# -- legacy tensor types ------------------------------------------------------------------------

LEGACY = ["FloatTensor", "DoubleTensor", "HalfTensor", "LongTensor", "IntTensor", "ShortTensor",
          "CharTensor", "ByteTensor", "BoolTensor"]


@pytest.mark.parametrize("name", LEGACY)
def test_legacy_types_construct_like_torch(name):
    C, T = getattr(cr, name), getattr(torch, name)
    for args in ([[1, 0, 2]], [[1.5, 2.7]], [3], [2, 3], []):
        a, b = C(*args), T(*args)
        assert a.shape == tuple(b.shape) and str(a.dtype) == str(b.dtype)
        if args and isinstance(args[0], list):
            same(a, b)
        assert a.type() == b.type() == f"torch.{name}"
        assert isinstance(a, C) and not isinstance(a, cr.FloatTensor if name != "FloatTensor"
                                                   else cr.DoubleTensor)
    assert C(cr.Size([2])).shape == (2,)
    assert repr(C) == repr(T)


def test_type_converts_like_torch():
    x, tx = cr.tensor([1.5, 2.0]), torch.tensor([1.5, 2.0])
    for target in ("DoubleTensor", "IntTensor", "LongTensor"):
        same(x.type(getattr(cr, target)), tx.type(getattr(torch, target)))
        same(x.type(f"torch.{target}"), tx.type(f"torch.{target}"))
    assert x.type(cr.FloatTensor) is x
    assert x.type(cr.float64).dtype == cr.float64
    with pytest.raises(NotImplementedError, match="CPU"):
        x.type("torch.cuda.FloatTensor")
    with pytest.raises(TypeError, match="requires_grad=True"):
        cr.FloatTensor([1.0], requires_grad=True)


# -- sort, argsort, topk ------------------------------------------------------------------------

@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_sort_is_stable_like_torch(descending, dim):
    data = np.array([[3, 1, 2, 1], [0, 0, 5, 0], [2, 2, 2, 1]])
    for arr in (data, data.astype(np.float64) / 2):
        v, i = cr.sort(cr.tensor(arr), dim=dim, descending=descending)
        tv, ti = torch.sort(torch.tensor(arr), dim=dim, descending=descending, stable=True)
        same(v, tv)
        same(i, ti)
        same(cr.tensor(arr).argsort(dim, descending),
             torch.argsort(torch.tensor(arr), dim=dim, descending=descending, stable=True))


def test_sort_puts_nan_where_torch_does():
    a = np.array([1.0, np.nan, -1.0, 2.0])
    for desc in (False, True):
        v, i = cr.tensor(a).sort(descending=desc)
        tv, ti = torch.tensor(a).sort(descending=desc, stable=True)
        same(i, ti)


@pytest.mark.parametrize("largest", [True, False])
def test_topk_like_torch_with_gradient(largest):
    a = np.random.default_rng(0).standard_normal((3, 5))
    x = cr.tensor(a, requires_grad=True)
    tx = torch.tensor(a, requires_grad=True)
    v, i = x.topk(2, dim=1, largest=largest)
    tv, ti = tx.topk(2, dim=1, largest=largest)
    same(v, tv)
    same(i, ti)
    (v * v).sum().backward()
    (tv * tv).sum().backward()
    same(x.grad, tx.grad)
    with pytest.raises(ValueError, match=r"topk: k must be an int in \[0, 5\]"):
        x.topk(6)


# -- norms --------------------------------------------------------------------------------------

@pytest.mark.parametrize("p,dim,keepdim", [
    ("fro", None, False), (2, 1, False), (1, 0, True), (3, (0, 1), False),
    (math.inf, 1, False), (-math.inf, 0, False), (0.5, None, False), ("fro", (0, 1), True)])
def test_norm_matches_torch_values_and_gradients(p, dim, keepdim):
    a = np.random.default_rng(1).standard_normal((3, 4))
    x = cr.tensor(a, requires_grad=True)
    tx = torch.tensor(a, requires_grad=True)
    y, ty = x.norm(p, dim, keepdim), tx.norm(p, dim, keepdim)
    same(y, ty)
    y.sum().backward()
    ty.sum().backward()
    same(x.grad, tx.grad)


def test_norm_gradient_at_the_origin_is_zero_like_torch():
    for p in (2, 1, 3):
        x = cr.zeros(3, dtype=cr.float64, requires_grad=True)
        cr.norm(x, p).backward()
        assert x.grad.tolist() == [0.0, 0.0, 0.0]


def test_linalg_norms_match_torch():
    a = np.random.default_rng(2).standard_normal((2, 3, 4))
    x, tx = cr.tensor(a), torch.tensor(a)
    same(cr.linalg.norm(x), torch.linalg.norm(tx))
    same(cr.linalg.vector_norm(x, 3, dim=-1), torch.linalg.vector_norm(tx, 3, dim=-1))
    for ord in ("fro", 1, -1, math.inf, -math.inf):
        same(cr.linalg.matrix_norm(x, ord), torch.linalg.matrix_norm(tx, ord))
        same(cr.linalg.norm(x[0], ord), torch.linalg.norm(tx[0], ord))
    with pytest.raises(NotImplementedError, match="SVD"):
        cr.linalg.matrix_norm(x, "nuc")
    with pytest.raises(NotImplementedError, match="torch.linalg.svd"):
        cr.linalg.svd(x)


# -- narrow, tril/triu, take_along_dim, masked_fill_ --------------------------------------------

def test_narrow_tril_triu_take_along_dim_like_torch():
    a = np.arange(24.0).reshape(2, 3, 4)
    x, tx = cr.tensor(a), torch.tensor(a)
    same(x.narrow(2, 1, 2), tx.narrow(2, 1, 2))
    same(cr.narrow(x, -1, -2, 2), torch.narrow(tx, -1, -2, 2))
    with pytest.raises(IndexError, match="narrow: start 3 and length 2"):
        x.narrow(1, 3, 2)
    for d in (-1, 0, 2):
        same(cr.tril(x, d), torch.tril(tx, d))
        same(x.triu(diagonal=d), tx.triu(diagonal=d))
    idx = np.array([[[0], [3], [1]]])
    same(cr.take_along_dim(x, cr.tensor(idx), 2), torch.take_along_dim(tx, torch.tensor(idx), 2))
    same(x.take_along_dim(cr.tensor([5, 0])), tx.take_along_dim(torch.tensor([5, 0])))
    y, ty = cr.tensor(a), torch.tensor(a)
    y.masked_fill_(y > 10, -1.0)
    ty.masked_fill_(ty > 10, -1.0)
    same(y, ty)
    z, tz = cr.ones(3, 3), torch.ones(3, 3)
    same(z.tril_(), tz.tril_())


# -- sampling -----------------------------------------------------------------------------------

def test_randint_forms():
    cr.manual_seed(0)
    assert cr.randint(5, (3,)).shape == (3,) and cr.randint(5, (3,)).dtype == cr.int64
    r = cr.randint(3, 5, (200,))
    assert r.min().item() == 3 and r.max().item() == 4
    assert cr.randint(10, size=(2, 2)).shape == (2, 2)
    assert cr.randint(low=2, high=3, size=(4,)).tolist() == [2, 2, 2, 2]
    assert cr.randint(0, 2, cr.Size([5])).shape == (5,)
    with pytest.raises(TypeError, match="size is required"):
        cr.randint(5)


def test_normal_overloads():
    cr.manual_seed(0)
    assert cr.normal(0.0, 1.0, (2, 3)).shape == (2, 3)
    assert cr.normal(cr.zeros(4), 1.0).shape == (4,)
    assert cr.normal(2.0, cr.ones(3)).shape == (3,)
    s = cr.normal(cr.full((20000,), 3.0, dtype=cr.float64), cr.full((20000,), 2.0,
                                                                     dtype=cr.float64))
    assert abs(s.mean().item() - 3.0) < 0.05 and abs(s.std().item() - 2.0) < 0.05
    m = cr.zeros(3, requires_grad=True)
    y = cr.normal(m, 1.0)
    assert y.requires_grad
    y.sum().backward()
    assert m.grad.tolist() == [0.0, 0.0, 0.0]  # as PyTorch: no gradient through the draw
    with pytest.raises(TypeError, match="give a size"):
        cr.normal(0.0, 1.0)


def test_multinomial_with_and_without_replacement():
    cr.manual_seed(0)
    p = cr.tensor([0.1, 0.0, 0.6, 0.3], dtype=cr.float64)
    draws = cr.multinomial(p, 20000, replacement=True)
    freq = np.bincount(draws.numpy(), minlength=4) / 20000
    np.testing.assert_allclose(freq, [0.1, 0.0, 0.6, 0.3], atol=0.02)
    rows = cr.multinomial(cr.tensor([[1.0, 1.0, 1.0, 0.0]] * 500), 3)
    assert rows.shape == (500, 3)
    assert all(sorted(r) == [0, 1, 2] for r in rows.tolist())  # distinct, never the 0 weight
    first = np.bincount(rows[:, 0].numpy(), minlength=4) / 500
    assert abs(first[0] - 1 / 3) < 0.08
    with pytest.raises(ValueError, match="without replacement from 4"):
        p.multinomial(5)


# -- in-place shape methods, deprecated overloads, out=, format, Variable ------------------------

def test_inplace_shape_methods_like_torch():
    x, tx = cr.arange(6.0).reshape(2, 3), torch.arange(6.0).reshape(2, 3)
    for f in (lambda t: t.unsqueeze_(0), lambda t: t.squeeze_(), lambda t: t.t_(),
              lambda t: t.transpose_(0, 1), lambda t: t.unsqueeze_(-1), lambda t: t.squeeze_(2)):
        assert f(x) is x
        f(tx)
        same(x, tx)
    y, ty = cr.arange(6.0), torch.arange(6.0)
    same(y.resize_(2, 3), ty.resize_(2, 3))
    w = cr.ones(3, requires_grad=True)
    with pytest.raises(GraphError, match="leaf tensor that requires grad"):
        w.unsqueeze_(0)
    h = w * 2
    h.unsqueeze_(0)
    assert h.shape == (1, 3)
    (h * cr.tensor([[1.0, 2.0, 3.0]])).sum().backward()
    assert w.grad.tolist() == [2.0, 4.0, 6.0]


def test_deprecated_alpha_overloads():
    x, y = cr.ones(3), cr.full((3,), 2.0)
    assert cr.add(x, 2, y).tolist() == [5.0] * 3
    assert x.add(2, y).tolist() == [5.0] * 3
    assert x.clone().sub_(2, y).tolist() == [-3.0] * 3
    assert x.clone().add_(y, alpha=0.5).tolist() == [2.0] * 3


def test_out_argument():
    out = cr.empty(5)
    res = cr.add(cr.ones(2), cr.ones(2), out=out)
    assert res is out and out.tolist() == [2.0, 2.0]
    m = cr.zeros(2, 2)
    cr.matmul(cr.eye(2), cr.full((2, 2), 3.0), out=m)
    assert m.tolist() == [[3.0, 3.0], [3.0, 3.0]]
    v, i = cr.empty(2), cr.empty(2, dtype=cr.int64)
    cr.sort(cr.tensor([2.0, 1.0]), out=(v, i))
    assert v.tolist() == [1.0, 2.0] and i.tolist() == [1, 0]
    w = cr.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="don't support automatic differentiation"):
        cr.mul(w, 2.0, out=cr.empty(2))


def test_format_like_torch():
    a, ta = cr.tensor(3.14159), torch.tensor(3.14159)
    assert f"{a:.4f}" == f"{ta:.4f}" and f"{a:>10.2e}" == f"{ta:>10.2e}"
    assert f"{cr.tensor(7):d}" == f"{torch.tensor(7):d}"
    assert f"{cr.tensor([1.0, 2.0])}" == str(cr.tensor([1.0, 2.0]))
    with pytest.raises(TypeError, match=r"shape \(2,\); use x.item\(\)"):
        f"{cr.tensor([1.0, 2.0]):.2f}"


def test_variable_makes_a_new_leaf_and_leaves_the_tensor_alone():
    t = cr.ones(2)
    v = Variable(t, requires_grad=True)
    assert v is not t and v.requires_grad and v.is_leaf and not t.requires_grad
    v.data[0] = 5.0
    assert t.tolist() == [5.0, 1.0]  # shares memory, as in PyTorch
    h = cr.ones(2, requires_grad=True) * 2
    assert not Variable(h).requires_grad
    assert isinstance(t, Variable) and isinstance(h, Variable)
