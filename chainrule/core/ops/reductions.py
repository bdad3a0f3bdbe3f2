"""Reductions: sum, mean, var, max, argmax, prod, logsumexp, softmax."""

from __future__ import annotations

import builtins
from collections import namedtuple
from typing import Any

from ... import backend as B
from ...backend import ndarray, xp
from ..graph import apply
from ..primitives import structure as S
from ..tensor_class import Tensor, _make
from .convert import _as_tensor, _dim, _dims, _float, _prod_int, cast
from .elementwise import add, div, exp, gt, log, maximum, minimum, mul, neg, sqrt, sub, where
from .shape import gather, squeeze

_py_max = builtins.max


def sum(x: Any, dim: Any = None, keepdim: bool = False, dtype: Any = None) -> Tensor:
    """Sum over ``dim`` (all dims by default).

    >>> import chainrule as cr
    >>> cr.tensor([[1.0, 2.0], [3.0, 4.0]]).sum(dim=0)
    tensor([4., 6.])
    """
    x = _as_tensor(x)
    if dtype is not None:
        x = cast(x, dtype)
    elif x._data.dtype.kind in "bi" and x._data.dtype != B.int64:
        x = cast(x, B.int64)  # PyTorch sums bools and small ints as int64
    return apply(S.Sum(_dims(dim, x._data.ndim, "sum"), keepdim), x)


def mean(x: Any, dim: Any = None, keepdim: bool = False) -> Tensor:
    """Mean over ``dim`` (all dims by default)."""
    x = _as_tensor(x)
    if x._data.dtype.kind != "f":
        raise TypeError(
            f"mean: input dtype must be floating point, got {x.dtype}; use x.float().mean()"
        )
    axes = _dims(dim, x._data.ndim, "mean")
    n = x._data.size if axes is None else _prod_int(x._data.shape[a] for a in axes)
    return div(sum(x, axes, keepdim), n)


def var(x: Any, dim: Any = None, unbiased: bool | None = None, keepdim: bool = False,
        correction: Any = None) -> Tensor:
    """Variance over ``dim`` with Bessel's correction (``correction=1``) by default."""
    x = _float(x, "var")
    if correction is None:
        correction = 0 if unbiased is False else 1
    axes = _dims(dim, x._data.ndim, "var")
    n = x._data.size if axes is None else _prod_int(x._data.shape[a] for a in axes)
    d = sub(x, mean(x, axes, keepdim=True))
    return div(sum(mul(d, d), axes, keepdim), _py_max(n - correction, 0))


def std(x: Any, dim: Any = None, unbiased: bool | None = None, keepdim: bool = False,
        correction: Any = None) -> Tensor:
    """Standard deviation: sqrt(var); its gradient is 0 where the variance is 0 (as PyTorch)."""
    v = var(x, dim, unbiased, keepdim, correction)
    if not (v._data == 0).any():
        return sqrt(v)
    # NOTE: sqrt'(0) is infinite and (x - mean) is 0 there: 0 * inf. Route the zero-variance
    # entries around sqrt so their gradient is 0 and everything stays finite.
    pos = gt(v, 0)
    return where(pos, sqrt(where(pos, v, 1.0)), 0.0)


def amax(x: Any, dim: Any = None, keepdim: bool = False) -> Tensor:
    """Maximum over ``dim``; ties share the gradient evenly."""
    x = _as_tensor(x)
    _check_nonempty(x, dim, "amax")
    return apply(S.Amax(_dims(dim, x._data.ndim, "amax"), keepdim), x)


def amin(x: Any, dim: Any = None, keepdim: bool = False) -> Tensor:
    """Minimum over ``dim``; ties share the gradient evenly."""
    return neg(amax(neg(x), dim, keepdim))


def _check_nonempty(x: Tensor, dim: Any, op: str) -> None:
    if x._data.size == 0:
        raise ValueError(f"{op}: the input (shape {tuple(x.shape)}) is empty; it has no maximum")


MaxResult = namedtuple("MaxResult", ["values", "indices"])


def max(x: Any, dim: Any = None, keepdim: bool = False) -> Any:
    """``max(x)``: the largest value; ``max(x, dim)``: (values, indices); ``max(x, y)``: maximum.

    >>> import chainrule as cr
    >>> cr.tensor([[1.0, 5.0], [7.0, 2.0]]).max(dim=1)
    MaxResult(values=tensor([5., 7.]), indices=tensor([1, 0]))
    """
    if isinstance(dim, Tensor):
        return maximum(x, dim)
    if dim is None:
        return amax(x)
    return _max_dim(_as_tensor(x), dim, keepdim, xp.argmax, "max")


def min(x: Any, dim: Any = None, keepdim: bool = False) -> Any:
    """``min(x)``: the smallest value; ``min(x, dim)``: (values, indices); ``min(x, y)``."""
    if isinstance(dim, Tensor):
        return minimum(x, dim)
    if dim is None:
        return amin(x)
    return _max_dim(_as_tensor(x), dim, keepdim, xp.argmin, "min")


def _max_dim(x: Tensor, dim: int, keepdim: bool, argfn: Any, op: str) -> Any:
    _check_nonempty(x, dim, op)
    d = _dim(dim, x._data.ndim, op)
    idx = argfn(x._data, axis=d, keepdims=True) if x._data.ndim else xp.zeros((), B.int64)
    # NOTE: the gradient goes to the one selected index (as in PyTorch's max(dim)).
    values = gather(x, d, _make(idx)) if x._data.ndim else x
    if not keepdim and x._data.ndim:
        values = squeeze(values, d)
        idx = idx.squeeze(d)
    return MaxResult(values, _make(xp.asarray(idx, dtype=B.int64)))


def argmax(x: Any, dim: Any = None, keepdim: bool = False) -> Tensor:
    """Index of the maximum (of the flattened tensor when ``dim`` is None)."""
    return _arg(x, dim, keepdim, xp.argmax, "argmax")


def argmin(x: Any, dim: Any = None, keepdim: bool = False) -> Tensor:
    """Index of the minimum (of the flattened tensor when ``dim`` is None)."""
    return _arg(x, dim, keepdim, xp.argmin, "argmin")


def _arg(x: Any, dim: Any, keepdim: bool, fn: Any, op: str) -> Tensor:
    x = _as_tensor(x)
    _check_nonempty(x, dim, op)
    if dim is None:
        r = fn(x._data)
        if keepdim:
            r = xp.reshape(r, (1,) * x._data.ndim)
    else:
        r = fn(x._data, axis=_dim(dim, x._data.ndim, op), keepdims=keepdim)
    return _make(xp.asarray(r, dtype=B.int64))


def prod(x: Any, dim: Any = None, keepdim: bool = False) -> Tensor:
    """Product over one ``dim`` (all elements by default); exact gradients with zeros."""
    x = _as_tensor(x)
    axis = None if dim is None else _dims(dim, x._data.ndim, "prod")
    if axis == ():  # a 0-d tensor: dim 0 / -1 is the tensor itself
        axis = None
    if axis is not None and len(axis) != 1:
        raise ValueError(f"prod: dim must be a single int, got {dim!r}")
    return apply(S.Prod(None if axis is None or not axis else axis[0], keepdim), x)


def _shift(xd: ndarray, axis: Any) -> ndarray:
    """The max of ``xd`` over ``axis`` (kept as size-1 dims), non-finite maxima replaced by 0.

    NOTE: softmax, log_softmax and logsumexp subtract it as a *constant* (it is not recorded):
    they are shift invariant, so neither value nor gradient changes, exp's argument stays
    <= 0, and the graph is four or five ops shorter than with a detached amax.
    """
    if xd.size == 0:
        return xp.zeros(_keepdim_shape(xd.shape, axis), xd.dtype)
    m = xd.max(axis=axis, keepdims=True)
    if not xp.isfinite(m).all():
        m = xp.where(xp.isfinite(m), m, 0).astype(xd.dtype)
    return m


def _keepdim_shape(shape: tuple[int, ...], axis: Any) -> tuple[int, ...]:
    axes = range(len(shape)) if axis is None else \
        ((axis,) if isinstance(axis, builtins.int) else axis)
    return tuple(1 if i in axes else s for i, s in enumerate(shape))


def logsumexp(x: Any, dim: Any, keepdim: bool = False) -> Tensor:
    """log(sum(exp(x), dim)), finite for large inputs.

    >>> import chainrule as cr
    >>> cr.logsumexp(cr.tensor([1e4, 1e4]), dim=0).item()
    10000.693...
    """
    x = _float(x, "logsumexp")
    axes = _dims(dim, x._data.ndim, "logsumexp")
    m = _make(_shift(x._data, axes))
    out = add(log(sum(exp(sub(x, m)), axes, keepdim=True)), m)
    return out if keepdim else squeeze(out, axes)


def _softmax_dim(x: Tensor, dim: Any, op: str) -> int:
    if dim is None:  # PyTorch's legacy implicit choice
        dim = 0 if x._data.ndim in (0, 1, 3) else 1
    return _dim(dim, x._data.ndim, op)


def softmax(x: Any, dim: Any = None) -> Tensor:
    """exp(x) / sum(exp(x), dim), computed without overflow.

    >>> import chainrule as cr
    >>> cr.softmax(cr.tensor([0.0, 1e4]), dim=0)
    tensor([0., 1.])
    """
    x = _float(x, "softmax")
    d = _softmax_dim(x, dim, "softmax")
    e = exp(sub(x, _make(_shift(x._data, d if x._data.ndim else None))))
    return div(e, sum(e, d, keepdim=True))


def log_softmax(x: Any, dim: Any = None) -> Tensor:
    """x - logsumexp(x, dim): log-probabilities, finite for large inputs.

    >>> import chainrule as cr
    >>> cr.log_softmax(cr.tensor([[0.0, 0.0]]), dim=1)
    tensor([[-0.6931, -0.6931]])
    """
    x = _float(x, "log_softmax")
    d = _softmax_dim(x, dim, "log_softmax")
    z = sub(x, _make(_shift(x._data, d if x._data.ndim else None)))
    return sub(z, log(sum(exp(z), d, keepdim=True)))
