"""Indexing: x[index], index_put (x[index] = v), masked_fill."""

from __future__ import annotations

import builtins
from typing import Any

from ... import backend as B
from ...backend import ndarray, xp
from ..dtypes import dtype_name
from ..graph import apply
from ..indexing import split_ints
from ..primitives import structure as S
from ..tensor_class import Tensor
from .convert import _as_tensor, cast
from .elementwise import where


def _normalize_index(index: Any, op: str) -> tuple[tuple, bool]:
    if not isinstance(index, tuple):
        index = (index,)
    out: list[Any] = []
    basic = True
    for i in index:
        if isinstance(i, Tensor):
            i = i._data
            if i.ndim == 0 and i.dtype.kind in "iu":
                out.append(builtins.int(i))
                continue
        if isinstance(i, (list, range)):
            i = xp.asarray(i)
            if i.size == 0:
                i = i.astype(B.int64)
        if isinstance(i, ndarray):
            basic = False
            if i.dtype == B.bool_ and i.ndim == 0:
                out.append(i)  # x[True] adds an axis of length 1, x[False] one of length 0
            elif i.dtype == B.bool_:
                out.extend(xp.nonzero(i))
            elif i.dtype.kind in "iu":
                out.append(i)
            else:
                raise IndexError(
                    f"{op}: tensors used as indices must be integer or bool, got "
                    f"{dtype_name(i.dtype)}"
                )
        elif i is None or i is Ellipsis or isinstance(i, slice):
            out.append(i)
        elif isinstance(i, (builtins.int, xp.integer)) and not isinstance(i, builtins.bool):
            out.append(builtins.int(i))
        else:
            raise IndexError(
                f"{op}: unsupported index {i!r}; use ints, slices, None, ..., integer or bool "
                "tensors/lists"
            )
    return tuple(out), basic


def getitem(x: Tensor, index: Any) -> Tensor:
    """``x[index]``: basic and integer-array indexing (repeated indices add their gradients)."""
    idx, basic = _normalize_index(index, "getitem")
    split = None if basic else split_ints(idx)
    if split is not None:  # PyTorch applies the integers first (see core/indexing.py)
        return apply_getitem(apply_getitem(x, split[0], True), split[1], False)
    return apply_getitem(x, idx, basic)


def apply_getitem(x: Tensor, idx: tuple, basic: bool) -> Tensor:
    return apply(S.GetItem(idx, basic), x)


def index_add_zeros(g: Tensor, idx: tuple, basic: bool, shape: tuple[int, ...]) -> Tensor:
    return apply(S.IndexAddZeros(idx, basic, shape), g)


def index_put(x: Tensor, index: Any, value: Any) -> Tensor:
    """A copy of x with ``x[index] = value`` (value broadcasts); differentiable in both."""
    idx, basic = _normalize_index(index, "index_put")
    v = _as_tensor(value, x)
    if v._data.dtype != x._data.dtype:
        v = cast(v, x._data.dtype)
    split = None if basic else split_ints(idx)
    if split is not None:  # PyTorch applies the integers first (see core/indexing.py)
        inner = apply(S.IndexPut(split[1], False), apply_getitem(x, split[0], True), v)
        return apply(S.IndexPut(split[0], True), x, inner)
    return apply(S.IndexPut(idx, basic), x, v)


def masked_fill(x: Tensor, mask: Any, value: Any) -> Tensor:
    """x with ``value`` where mask is true."""
    return where(mask, value, x)
