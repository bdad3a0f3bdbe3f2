"""Elementwise tensor functions (broadcasting), and the non-differentiable comparisons."""

from __future__ import annotations

import builtins
from typing import Any

from ... import backend as B
from ...backend import xp
from ..creation import eye as _eye
from ..dtypes import get_default_dtype
from ..graph import apply
from ..primitives import elementwise as E
from ..tensor_class import Tensor, _make
from .convert import _as_tensor, _float, _pair, cast


def add(a: Any, b: Any, alpha: Any = 1) -> Tensor:
    """a + b, broadcasting.

    >>> import chainrule as cr
    >>> cr.add(cr.tensor([1.0, 2.0]), 1.5)
    tensor([2.5000, 3.5000])
    """
    if alpha != 1:
        b = mul(b, alpha)
    if a.__class__ is not Tensor or b.__class__ is not Tensor or a._data.dtype is not b._data.dtype:
        a, b = _pair(a, b)
    return apply(E.Add(), a, b)


def sub(a: Any, b: Any, alpha: Any = 1) -> Tensor:
    """a - b, broadcasting."""
    if alpha != 1:
        b = mul(b, alpha)
    if a.__class__ is not Tensor or b.__class__ is not Tensor or a._data.dtype is not b._data.dtype:
        a, b = _pair(a, b)
    return apply(E.Sub(), a, b)


def mul(a: Any, b: Any) -> Tensor:
    """a * b, broadcasting.

    >>> import chainrule as cr
    >>> cr.mul(cr.tensor([[1.0], [2.0]]), cr.tensor([3.0, 4.0]))
    tensor([[3., 4.],
            [6., 8.]])
    """
    if a.__class__ is not Tensor or b.__class__ is not Tensor or a._data.dtype is not b._data.dtype:
        a, b = _pair(a, b)
    return apply(E.Mul(), a, b)


def div(a: Any, b: Any) -> Tensor:
    """a / b (true division: integer inputs give floats)."""
    if a.__class__ is not Tensor or b.__class__ is not Tensor or a._data.dtype is not b._data.dtype:
        a, b = _pair(a, b)
    if a._data.dtype.kind != "f":
        a, b = cast(a, get_default_dtype()), cast(b, get_default_dtype())
    return apply(E.Div(), a, b)


def pow(a: Any, b: Any) -> Tensor:
    """a ** b, broadcasting."""
    a, b = _pair(a, b)
    return apply(E.Pow(), a, b)


def maximum(a: Any, b: Any) -> Tensor:
    """Elementwise max(a, b); at ties the gradient is split evenly."""
    a, b = _pair(a, b)
    return apply(E.Maximum(), a, b)


def minimum(a: Any, b: Any) -> Tensor:
    """Elementwise min(a, b); at ties the gradient is split evenly."""
    a, b = _pair(a, b)
    return apply(E.Minimum(), a, b)


def where(condition: Any, x: Any, y: Any) -> Tensor:
    """x where condition is true, else y (all three broadcast).

    >>> import chainrule as cr
    >>> x = cr.tensor([-1.0, 2.0])
    >>> cr.where(x > 0, x, 0.0)
    tensor([0., 2.])
    """
    c = condition if isinstance(condition, Tensor) else _make(xp.asarray(condition))
    if c._data.dtype != B.bool_:
        c = _make(c._data.astype(B.bool_))
    x, y = _pair(x, y)
    return apply(E.Where(), c, x, y)


def neg(x: Any) -> Tensor:
    """-x."""
    return apply(E.Neg(), _as_tensor(x))


def exp(x: Any) -> Tensor:
    """e^x."""
    return apply(E.Exp(), _float(x, "exp"))


def log(x: Any) -> Tensor:
    """Natural logarithm."""
    return apply(E.Log(), _float(x, "log"))


def log1p(x: Any) -> Tensor:
    """log(1 + x), accurate for small x."""
    return apply(E.Log1p(), _float(x, "log1p"))


def sqrt(x: Any) -> Tensor:
    """Square root."""
    return apply(E.Sqrt(), _float(x, "sqrt"))


def sin(x: Any) -> Tensor:
    """Sine."""
    return apply(E.Sin(), _float(x, "sin"))


def cos(x: Any) -> Tensor:
    """Cosine."""
    return apply(E.Cos(), _float(x, "cos"))


def tanh(x: Any) -> Tensor:
    """Hyperbolic tangent."""
    return apply(E.Tanh(), _float(x, "tanh"))


def sigmoid(x: Any) -> Tensor:
    """1 / (1 + e^-x), finite for any input (e^-x overflowing gives exactly 0).

    >>> import chainrule as cr
    >>> cr.sigmoid(cr.tensor([-1e4, 0.0, 1e4]))
    tensor([0.0000, 0.5000, 1.0000])
    """
    return apply(E.Sigmoid(), _float(x, "sigmoid"))


def relu(x: Any) -> Tensor:
    """max(x, 0); its gradient at 0 is 0."""
    return apply(E.Relu(), _as_tensor(x))


def abs(x: Any) -> Tensor:
    """|x|; its gradient at 0 is 0."""
    return apply(E.Abs(), _as_tensor(x))


def clone(x: Tensor) -> Tensor:
    """A copy of x that stays in the graph."""
    return apply(E.Cast(x._data.dtype), x)


def eye(n: int, dtype: Any = None) -> Tensor:
    return _eye(n, dtype=dtype)


def square(x: Any) -> Tensor:
    """x * x."""
    x = _as_tensor(x)
    return mul(x, x)


def softplus(x: Any, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """log(1 + e^(beta x)) / beta, finite for any input.

    >>> import chainrule as cr
    >>> cr.softplus(cr.tensor([-1e4, 0.0, 1e4]))
    tensor([0.0000e+00, 6.9315e-01, 1.0000e+04])
    """
    x = _float(x, "softplus")
    bx = mul(x, beta) if beta != 1 else x
    out = apply(E.Softplus(), bx)
    out = div(out, beta) if beta != 1 else out
    return where(gt(bx, threshold), x, out)


def clamp(x: Any, min: Any = None, max: Any = None) -> Tensor:
    """x limited to [min, max]; the gradient is 1 inside (bounds included), 0 outside.

    >>> import chainrule as cr
    >>> cr.clamp(cr.tensor([-2.0, 0.5, 3.0]), min=0.0, max=1.0)
    tensor([0.0000, 0.5000, 1.0000])
    """
    x = _as_tensor(x)
    if min is None and max is None:
        raise ValueError("clamp: at least one of min and max must be given")
    if min is not None:
        x = where(lt(x, min), min, x)
    if max is not None:
        x = where(gt(x, max), max, x)
    return x


clip = clamp


# -- non-differentiable elementwise ops: their results are constants ------------------------


def _compare(a: Any, b: Any, fn: Any) -> Tensor:
    a, b = _pair(a, b)
    try:
        return _make(xp.asarray(fn(a._data, b._data)))
    except ValueError:
        raise ValueError(
            f"comparison: cannot broadcast shapes {tuple(a.shape)} and {tuple(b.shape)}"
        ) from None


def eq(a: Any, b: Any) -> Tensor:
    """a == b, elementwise (a bool tensor, no gradient)."""
    return _compare(a, b, xp.equal)


def ne(a: Any, b: Any) -> Tensor:
    """a != b, elementwise."""
    return _compare(a, b, xp.not_equal)


def lt(a: Any, b: Any) -> Tensor:
    """a < b, elementwise."""
    return _compare(a, b, xp.less)


def le(a: Any, b: Any) -> Tensor:
    """a <= b, elementwise."""
    return _compare(a, b, xp.less_equal)


def gt(a: Any, b: Any) -> Tensor:
    """a > b, elementwise."""
    return _compare(a, b, xp.greater)


def ge(a: Any, b: Any) -> Tensor:
    """a >= b, elementwise."""
    return _compare(a, b, xp.greater_equal)


def logical_not(x: Any) -> Tensor:
    return _make(xp.logical_not(_as_tensor(x)._data))


def logical_and(a: Any, b: Any) -> Tensor:
    return _compare(a, b, xp.logical_and)


def logical_or(a: Any, b: Any) -> Tensor:
    return _compare(a, b, xp.logical_or)


def sign(x: Any) -> Tensor:
    """-1, 0 or 1 (a constant: its gradient is zero everywhere it exists)."""
    return _make(xp.sign(_as_tensor(x)._data))


def isnan(x: Any) -> Tensor:
    return _make(xp.isnan(_as_tensor(x)._data))


def isinf(x: Any) -> Tensor:
    return _make(xp.isinf(_as_tensor(x)._data))


def isfinite(x: Any) -> Tensor:
    return _make(xp.isfinite(_as_tensor(x)._data))


def allclose(a: Any, b: Any, rtol: float = 1e-5, atol: float = 1e-8) -> bool:
    a, b = _pair(a, b)
    return builtins.bool(xp.allclose(a._data, b._data, rtol=rtol, atol=atol))


def equal(a: Tensor, b: Tensor) -> bool:
    return a.shape == b.shape and builtins.bool((a._data == b._data).all())
