"""The helpers every ``nn.functional`` module shares (argument checks, reductions) and
``linear``: the first op of every MLP, written to record as few ops as possible."""

from __future__ import annotations

from typing import Any

from ..backend import ndarray, xp
from ..core import functional as _F
from ..core.graph import apply
from ..core.primitives.elementwise import Add as _Add
from ..core.primitives.structure import Matmul as _Matmul
from ..core.primitives.structure import Permute as _Permute
from ..core.tensor import Tensor, _make, _to_array


_REDUCTIONS = ("mean", "sum", "none")


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------


def _tensor(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else _make(_to_array(x))


def _float_input(x: Any, op: str, what: str = "input") -> Tensor:
    x = _tensor(x)
    if x._data.dtype.kind != "f":
        raise TypeError(
            f"{op}: {what} must be a floating-point tensor, got {x.dtype} (shape "
            f"{tuple(x.shape)}); convert it with .float()"
        )
    return x


def _check_reduction(reduction: Any, op: str) -> None:
    if reduction not in _REDUCTIONS:
        raise ValueError(
            f"{op}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}"
        )


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return _F.mean(loss)
    if reduction == "sum":
        return _F.sum(loss)
    return loss


def _same_shape_target(x: Tensor, target: Any, op: str) -> Tensor:
    """The target as a tensor of x's dtype, with exactly x's shape."""
    t = _tensor(target)
    if t._data.shape != x._data.shape:
        xs, ts = tuple(x.shape), tuple(t.shape)
        try:
            b = tuple(xp.broadcast_shapes(xs, ts))
            why = (f"; they would broadcast to {b}, comparing every input with every target, "
                   "which is almost never intended")
        except ValueError:
            why = ""
        fix = (f" Reshape one of them, e.g. target.reshape{xs}." if t._data.size == x._data.size
               else " They must have the same shape.")
        raise ValueError(f"{op}: input shape {xs} and target shape {ts} differ{why}.{fix}")
    if t._data.dtype.kind != "f":
        # NOTE: PyTorch refuses integer targets here ("Found dtype Long but expected Float");
        # 0/1 labels as ints are the common case, so they are converted instead. A float
        # target keeps its dtype: the loss is computed in the wider one, as in PyTorch.
        t = _F.cast(t, x._data.dtype)
    return t


_aranges: dict[int, ndarray] = {}


def _arange(n: int) -> ndarray:
    a = _aranges.get(n)
    if a is None:
        a = xp.arange(n)
        a.flags.writeable = False
        if len(_aranges) < 64:
            _aranges[n] = a
    return a


# ---------------------------------------------------------------------------------------------
# Linear
# ---------------------------------------------------------------------------------------------

_T2 = (1, 0)


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """y = x W^T + b, for x of shape (..., in), W of shape (out, in) and b of shape (out,).

    >>> import chainrule as cr
    >>> import chainrule.nn.functional as F
    >>> F.linear(cr.ones(2, 3), cr.ones(4, 3), cr.zeros(4)).tolist()
    [[3.0, 3.0, 3.0, 3.0], [3.0, 3.0, 3.0, 3.0]]
    """
    return _linear(input, weight, bias, None)


def _linear(x: Any, w: Tensor, b: Tensor | None, layer: str | None) -> Tensor:
    # Fast path: a 2-D input of the weight's dtype. One matmul against the transposed view of
    # the weight (a view: no copy) and one broadcast add, straight through the primitives.
    try:
        xd, wd = x._data, w._data
        if (xd.ndim == 2 and wd.ndim == 2 and xd.shape[1] == wd.shape[1]
                and xd.dtype is wd.dtype and wd.dtype.kind == "f"):
            if b is None:
                return apply(_Matmul(), x, apply(_Permute(_T2), w))
            bd = b._data
            if bd.dtype is wd.dtype and bd.shape == (wd.shape[0],):
                return apply(_Add(), apply(_Matmul(), x, apply(_Permute(_T2), w)), b)
    except AttributeError:
        pass
    return _linear_checked(x, w, b, layer)


def _linear_checked(x: Any, w: Tensor, b: Tensor | None, layer: str | None) -> Tensor:
    w = _tensor(w)
    if w._data.ndim != 2:
        raise ValueError(f"linear: weight must be 2-D (out_features, in_features), got shape "
                         f"{tuple(w.shape)}")
    out_f, in_f = w._data.shape
    name = layer or f"linear (weight of shape {(out_f, in_f)})"
    if not isinstance(x, (Tensor, ndarray)):
        x = _make(_to_array(x, w._data.dtype))  # Python data has no dtype: take the weight's
    x = _tensor(x)
    if x._data.ndim == 0 or x._data.shape[-1] != in_f:
        hint = ""
        if x._data.ndim > 2 and x._data.size == x._data.shape[0] * in_f:
            hint = "; flatten it first (x.flatten(1) or nn.Flatten())"
        elif x._data.ndim == 2 and x._data.shape[0] == in_f:
            hint = "; the features must be in the last dim (transpose the input?)"
        raise ValueError(
            f"{name}: expected input with last dim {in_f}, got shape {tuple(x.shape)}{hint}"
        )
    if x._data.dtype.kind != "f":
        raise TypeError(
            f"{name}: expected a floating-point input, got {x.dtype} (shape {tuple(x.shape)}); "
            "convert it with x.float()"
        )
    if x._data.dtype != w._data.dtype:
        raise TypeError(
            f"{name}: input dtype {x.dtype} does not match the weight dtype {w.dtype}; convert "
            f"the input (x.to({w.dtype.name!r})) or the layer (.to({x.dtype.name!r}))"
        )
    if b is not None:
        b = _tensor(b)
        if b._data.shape != (out_f,):
            raise ValueError(f"{name}: bias must have shape ({out_f},), got {tuple(b.shape)}")
        if b._data.dtype != w._data.dtype:
            raise TypeError(f"{name}: bias dtype {b.dtype} does not match the weight dtype "
                            f"{w.dtype}")
    lead = x._data.shape[:-1]
    x2 = x if x._data.ndim == 2 else _F.reshape(x, (-1, in_f))
    out = apply(_Matmul(), x2, apply(_Permute(_T2), w))
    if b is not None:
        out = apply(_Add(), out, b)
    return out if x._data.ndim == 2 else _F.reshape(out, lead + (out_f,))
