"""More of PyTorch's tensor functions: sorting, norms, triangles, slicing, sampling.

All are composites of the existing primitives (gather, where, sum, pow, getitem), so their
gradients come from those: ``sort``/``topk`` values route the gradient back through the
indices they picked, ``norm`` is ``sum(|x|^p)^(1/p)`` with PyTorch's 0 gradient at the origin.

>>> import chainrule as cr
>>> cr.sort(cr.tensor([3, 1, 2, 1]), descending=True)
SortResult(values=tensor([3, 2, 1, 1]), indices=tensor([0, 2, 1, 3]))
>>> cr.tensor([3.0, 4.0]).norm()
tensor(5.)
>>> cr.tril(cr.ones(2, 2))
tensor([[1., 0.],
        [1., 1.]])
"""

from __future__ import annotations

import builtins
import math
from collections import namedtuple
from typing import Any

from .. import backend as B
from ..backend import xp
from . import functional as F
from .functional import _as_tensor, _dim, _dims
from .tensor import Tensor, _make

__all__ = ["sort", "argsort", "topk", "norm", "vector_norm", "matrix_norm", "linalg_norm",
           "narrow", "tril", "triu", "take_along_dim", "masked_fill_"]

SortResult = namedtuple("SortResult", ["values", "indices"])
TopkResult = namedtuple("TopkResult", ["values", "indices"])


# ---------------------------------------------------------------------------------------------
# Sorting
# ---------------------------------------------------------------------------------------------


def _argsort(a: Any, axis: int, descending: bool) -> Any:
    """Stable order along ``axis``; descending keeps equal elements in their original order
    and puts NaN first (PyTorch's order), ascending puts NaN last."""
    if not descending:
        return xp.argsort(a, axis=axis, kind="stable")
    n = a.shape[axis]
    rev = xp.flip(a, axis)
    return n - 1 - xp.flip(xp.argsort(rev, axis=axis, kind="stable"), axis)


def _sort_dim(x: Tensor, dim: int, op: str) -> int:
    return _dim(dim, x._data.ndim, op) if x._data.ndim else 0


def sort(input: Any, dim: int = -1, descending: bool = False, stable: bool = False) -> Any:
    """(values, indices) sorted along ``dim`` (always stable); values carry the gradient."""
    x = _as_tensor(input)
    if x._data.ndim == 0:
        return SortResult(x, _make(xp.zeros((), B.int64)))
    d = _sort_dim(x, dim, "sort")
    idx = _argsort(x._data, d, descending).astype(B.int64)
    return SortResult(F.gather(x, d, _make(idx)), _make(idx))


def argsort(input: Any, dim: int = -1, descending: bool = False, stable: bool = False) -> Tensor:
    """The indices that sort ``input`` along ``dim``."""
    x = _as_tensor(input)
    if x._data.ndim == 0:
        return _make(xp.zeros((), B.int64))
    return _make(_argsort(x._data, _sort_dim(x, dim, "argsort"), descending).astype(B.int64))


def topk(input: Any, k: int, dim: int = -1, largest: bool = True, sorted: bool = True) -> Any:
    """The ``k`` largest (or smallest) elements along ``dim``, as (values, indices)."""
    x = _as_tensor(input)
    d = _sort_dim(x, dim, "topk")
    n = x._data.shape[d] if x._data.ndim else 1
    if not isinstance(k, builtins.int) or not 0 <= k <= n:
        raise ValueError(f"topk: k must be an int in [0, {n}] (the size of dim {dim} of shape "
                         f"{tuple(x.shape)}), got {k!r}")
    if x._data.ndim == 0:
        return TopkResult(x, _make(xp.zeros((), B.int64)))
    order = _argsort(x._data, d, largest)
    idx = xp.take(order, xp.arange(k), axis=d).astype(B.int64)
    return TopkResult(F.gather(x, d, _make(idx)), _make(idx))


# ---------------------------------------------------------------------------------------------
# Norms
# ---------------------------------------------------------------------------------------------


def _root(s: Tensor, p: float) -> Tensor:
    """s ** (1/p) with gradient 0 where s == 0 (PyTorch's norm gradient at the origin)."""
    zero = F.eq(s, 0.0)
    safe = F.where(zero, 1.0, s)
    r = F.sqrt(safe) if p == 2 else F.pow(safe, 1.0 / p)
    return F.where(zero, 0.0, r)


def vector_norm(x: Any, ord: Any = 2, dim: Any = None, keepdim: bool = False, *,
                dtype: Any = None) -> Tensor:
    """``torch.linalg.vector_norm``: (sum |x|^ord)^(1/ord) over ``dim`` (all elements by
    default); ord inf/-inf: max/min |x|; ord 0: the number of non-zeros."""
    x = F._float(_as_tensor(x), "vector_norm")
    if dtype is not None:
        x = F.cast(x, dtype)
    if isinstance(ord, str) or isinstance(ord, builtins.bool):
        raise ValueError(f"vector_norm: ord must be a number, got {ord!r}; for 'fro' and "
                         "'nuc' use matrix_norm (torch.linalg.matrix_norm)")
    axes = _dims(dim, x._data.ndim, "vector_norm")
    p = builtins.float(ord)
    if p == math.inf:
        return F.amax(F.abs(x), axes, keepdim)
    if p == -math.inf:
        return F.amin(F.abs(x), axes, keepdim)
    if p == 0:
        return F.sum(F.cast(F.ne(x, 0.0), x.dtype), axes, keepdim)
    if p == 2:
        return _root(F.sum(F.mul(x, x), axes, keepdim), 2)
    if p == 1:
        return F.sum(F.abs(x), axes, keepdim)
    return _root(F.sum(F.pow(F.abs(x), p), axes, keepdim), p)


def matrix_norm(A: Any, ord: Any = "fro", dim: Any = (-2, -1), keepdim: bool = False, *,
                dtype: Any = None) -> Tensor:
    """``torch.linalg.matrix_norm`` for ord 'fro', 1, -1, inf, -inf ('nuc', 2, -2 need an SVD,
    which chainrule does not have)."""
    x = F._float(_as_tensor(A), "matrix_norm")
    if dtype is not None:
        x = F.cast(x, dtype)
    if x._data.ndim < 2:
        raise ValueError(f"matrix_norm: needs at least 2 dims, got shape {tuple(x.shape)}")
    if not isinstance(dim, (tuple, list)) or len(dim) != 2:
        raise ValueError(f"matrix_norm: dim must be a pair of dims, got {dim!r}")
    r, c = (_dim(d, x._data.ndim, "matrix_norm") for d in dim)
    if ord == "fro":
        return vector_norm(x, 2, (r, c), keepdim)
    if ord in (1, -1, math.inf, -math.inf):
        s_ax, m_ax = (r, c) if ord in (1, -1) else (c, r)
        sums = F.sum(F.abs(x), s_ax, True)
        out = F.amax(sums, m_ax, True) if ord > 0 else F.amin(sums, m_ax, True)
        return out if keepdim else F.squeeze(out, tuple(sorted((r, c))))
    raise NotImplementedError(
        f"matrix_norm: ord={ord!r} needs singular values (an SVD), which chainrule does not "
        "have; 'fro', 1, -1, inf and -inf are supported (for 'nuc' or 2 use "
        "numpy.linalg.norm(x.numpy(), ord) without a gradient)")


def linalg_norm(A: Any, ord: Any = None, dim: Any = None, keepdim: bool = False, *,
                dtype: Any = None) -> Tensor:
    """``torch.linalg.norm``: a vector norm, or a matrix norm over two dims (or for a string
    ord)."""
    x = _as_tensor(A)
    if dim is not None and not isinstance(dim, (tuple, list)):
        dim = (dim,)
    if isinstance(ord, str) or (dim is not None and len(dim) == 2) or (
            dim is None and ord is not None and x._data.ndim == 2):
        return matrix_norm(x, "fro" if ord is None else ord, dim or (-2, -1), keepdim,
                           dtype=dtype)
    return vector_norm(x, 2 if ord is None else ord, dim, keepdim, dtype=dtype)


def norm(input: Any, p: Any = "fro", dim: Any = None, keepdim: bool = False,
         dtype: Any = None) -> Tensor:
    """``torch.norm`` / ``x.norm()``: the 2-norm of all elements by default, ``p`` a number
    (a vector norm over ``dim``) or 'fro' (the 2-norm over ``dim``, or over all elements)."""
    if p == "fro":
        if dim is None or (isinstance(dim, (tuple, list)) and len(dim) <= 2) or \
                isinstance(dim, builtins.int):
            return vector_norm(input, 2, dim, keepdim, dtype=dtype)
        raise ValueError(f"norm: 'fro' takes at most 2 dims, got dim={dim!r}")
    if p == "nuc":
        return matrix_norm(input, "nuc", dim or (-2, -1), keepdim, dtype=dtype)
    if p is None:
        p = 2
    return vector_norm(input, p, dim, keepdim, dtype=dtype)


# ---------------------------------------------------------------------------------------------
# Slices and triangles
# ---------------------------------------------------------------------------------------------


def narrow(input: Tensor, dim: int, start: Any, length: int) -> Tensor:
    """The slice ``start:start + length`` of ``dim`` (a view, as x[..., start:start+length])."""
    x = _as_tensor(input)
    d = _dim(dim, x._data.ndim, "narrow")
    n = x._data.shape[d]
    start = builtins.int(start)
    if start < 0:
        start += n
    if not (0 <= start <= n and 0 <= length and start + length <= n):
        raise IndexError(
            f"narrow: start {start} and length {length} do not fit dim {d} of size {n} "
            f"(shape {tuple(x.shape)}); need 0 <= start and start + length <= {n}")
    idx = (slice(None),) * d + (slice(start, start + length),)
    return F.getitem(x, idx)


def _triangle(x: Any, diagonal: int, op: str, keep: Any) -> Tensor:
    x = _as_tensor(x)
    if x._data.ndim < 2:
        raise ValueError(f"{op}: needs a matrix (or a batch of them), got shape {tuple(x.shape)}")
    r, c = x._data.shape[-2:]
    mask = keep(xp.ones((r, c), dtype=B.bool_), builtins.int(diagonal))
    return F.where(_make(mask), x, F.cast(_make(xp.zeros((), x._data.dtype)), x.dtype))


def tril(input: Any, diagonal: int = 0) -> Tensor:
    """The lower triangle (elements on and below the ``diagonal``-th diagonal), the rest 0."""
    return _triangle(input, diagonal, "tril", xp.tril)


def triu(input: Any, diagonal: int = 0) -> Tensor:
    """The upper triangle (elements on and above the ``diagonal``-th diagonal), the rest 0."""
    return _triangle(input, diagonal, "triu", xp.triu)


def take_along_dim(input: Any, indices: Any, dim: int | None = None) -> Tensor:
    """``torch.take_along_dim(input, indices, dim)``: gather along ``dim`` with input and
    indices broadcast against each other in the other dims; the flattened input when ``dim``
    is None."""
    x = _as_tensor(input)
    idx = _as_tensor(indices)
    if idx._data.dtype.kind not in "iu":
        raise TypeError(f"take_along_dim: indices must be an integer tensor, got "
                        f"{idx.dtype}")
    if dim is None:
        return F.gather(F.reshape(x, -1), 0, _make(idx._data.reshape(-1)))
    if idx._data.ndim != x._data.ndim:
        raise ValueError(
            f"take_along_dim: input (shape {tuple(x.shape)}) and indices (shape "
            f"{tuple(idx.shape)}) must have the same number of dims")
    d = _dim(dim, x._data.ndim, "take_along_dim")
    xs, ids = list(x._data.shape), list(idx._data.shape)
    xs[d] = ids[d] = 1
    try:
        common = list(xp.broadcast_shapes(tuple(xs), tuple(ids)))
    except ValueError:
        raise ValueError(
            f"take_along_dim: input shape {tuple(x.shape)} and indices shape "
            f"{tuple(idx.shape)} do not broadcast outside dim {d}") from None
    xt, it = list(common), list(common)
    xt[d], it[d] = x._data.shape[d], idx._data.shape[d]
    if tuple(xt) != x._data.shape:
        x = F.broadcast_to(x, tuple(xt))
    return F.gather(x, d, _make(xp.broadcast_to(idx._data, tuple(it))))


def masked_fill_(self: Tensor, mask: Any, value: Any) -> Tensor:
    """In place: ``value`` where ``mask`` is true."""
    return self._inplace("masked_fill_", lambda a, v: F.masked_fill(a, mask, v), value)
