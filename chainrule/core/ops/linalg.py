"""Linear algebra: matmul, mm, dot."""

from __future__ import annotations

from typing import Any

from ...backend import xp
from ..graph import apply
from ..primitives import structure as S
from ..tensor_class import Tensor
from .convert import _pair
from .elementwise import mul
from .shape import squeeze, unsqueeze
from .reductions import sum


def matmul(a: Any, b: Any) -> Tensor:
    """Matrix product with NumPy/PyTorch semantics (1-D operands, broadcast batch dims).

    >>> import chainrule as cr
    >>> (cr.ones(2, 3) @ cr.ones(3)).tolist()
    [3.0, 3.0]
    """
    if (a.__class__ is Tensor and b.__class__ is Tensor
            and a._data.dtype is not b._data.dtype and a._data.dtype != b._data.dtype):
        raise RuntimeError(  # PyTorch refuses mixed dtypes here too (no promotion)
            f"matmul: expected both operands to have the same dtype, got {a.dtype} (shape "
            f"{tuple(a.shape)}) and {b.dtype} (shape {tuple(b.shape)}); convert one of them, "
            f"e.g. b.to({a.dtype}) or a.to({b.dtype})")
    a, b = _pair(a, b)
    sa, sb = a._data.shape, b._data.shape
    if not sa or not sb:
        raise ValueError(
            f"matmul: both operands must have at least 1 dim, got shapes {sa} and {sb}; use * "
            "to multiply by a scalar"
        )
    ka = sa[-1]
    kb = sb[-2] if len(sb) >= 2 else sb[0]
    if ka != kb:
        raise ValueError(
            f"matmul: shapes {sa} and {sb} are not aligned: the last dim of the first ({ka}) "
            f"must equal the {'second-to-last' if len(sb) >= 2 else 'only'} dim of the second "
            f"({kb})"
        )
    if len(sa) > 2 and len(sb) > 2:
        try:
            xp.broadcast_shapes(sa[:-2], sb[:-2])
        except ValueError:
            raise ValueError(
                f"matmul: batch dims {sa[:-2]} and {sb[:-2]} of shapes {sa} and {sb} cannot be "
                "broadcast"
            ) from None
    if len(sa) == 1 and len(sb) == 1:
        return sum(mul(a, b))
    if len(sa) == 1:
        return squeeze(apply(S.Matmul(), unsqueeze(a, 0), b), -2)
    if len(sb) == 1:
        return squeeze(apply(S.Matmul(), a, unsqueeze(b, -1)), -1)
    return apply(S.Matmul(), a, b)


def mm(a: Tensor, b: Tensor) -> Tensor:
    if a.ndim != 2 or b.ndim != 2:
        raise ValueError(
            f"mm: expects 2-D tensors, got shapes {tuple(a.shape)} and {tuple(b.shape)}")
    return matmul(a, b)


def dot(a: Tensor, b: Tensor) -> Tensor:
    if a.ndim != 1 or b.ndim != 1:
        raise ValueError(
            f"dot: expects 1-D tensors, got shapes {tuple(a.shape)} and {tuple(b.shape)}")
    return matmul(a, b)
