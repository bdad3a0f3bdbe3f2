"""Conversion and promotion: Python values to tensors, dtype promotion, argument checks."""

from __future__ import annotations

import builtins
import operator
from typing import Any, Sequence

from ... import backend as B
from ...backend import xp
from ..dtypes import get_default_dtype, normalize_dtype
from ..graph import apply
from ..primitives import elementwise as E
from ..tensor_class import Tensor, _make, _to_array

_py_max = builtins.max


def _scalar_dtype(x: Any, like: Any) -> Any:
    """PyTorch's rule for a Python number next to a tensor of dtype ``like``."""
    if like.kind == "f":
        return like
    if isinstance(x, builtins.bool):
        return like
    if isinstance(x, builtins.float):
        return get_default_dtype()
    return like if like.kind in "iu" else B.int64


_constants: dict[tuple, Tensor] = {}


def _as_tensor(x: Any, like: Tensor | None = None) -> Tensor:
    if isinstance(x, Tensor):
        return x
    if like is not None and isinstance(x, (builtins.int, builtins.float, builtins.bool)):
        dt = _scalar_dtype(x, like._data.dtype)
        key = (x.__class__, x, dt)
        c = _constants.get(key)
        if c is None:
            # NOTE: Python numbers become cached read-only 0-d constants: building a fresh
            # array for every `1 - s` in a vjp costs more than the arithmetic on small tensors.
            arr = xp.asarray(x, dtype=dt)
            arr.flags.writeable = False
            c = _make(arr)
            if len(_constants) < 1024:
                _constants[key] = c
        return c
    return _make(_to_array(x))


def _pair(a: Any, b: Any) -> tuple[Tensor, Tensor]:
    """Two operands as tensors, promoted the way PyTorch promotes them."""
    # Fast path: a float tensor next to a Python float seen before (the constants of vjps).
    if a.__class__ is Tensor and b.__class__ is builtins.float:
        c = _constants.get((builtins.float, b, a._data.dtype))
        if c is not None and a._data.dtype.kind == "f":
            return a, c
    elif b.__class__ is Tensor and a.__class__ is builtins.float:
        c = _constants.get((builtins.float, a, b._data.dtype))
        if c is not None and b._data.dtype.kind == "f":
            return c, b
    if isinstance(a, Tensor):
        if not isinstance(b, Tensor):
            b = _as_tensor(b, a)
    elif isinstance(b, Tensor):
        a = _as_tensor(a, b)
    else:
        a = _as_tensor(a)
        b = _as_tensor(b, a)
    da, db = a._data.dtype, b._data.dtype
    if da is not db and da != db:
        ka, kb = da.kind, db.kind
        if ka == "f" and kb != "f":
            b = cast(b, da)
        elif kb == "f" and ka != "f":
            a = cast(a, db)
        elif ka == kb == "f" and (a._data.ndim == 0) != (b._data.ndim == 0):
            # NOTE: as in PyTorch, a 0-d tensor does not promote a dimensioned one.
            if a._data.ndim == 0:
                a = cast(a, db)
            else:
                b = cast(b, da)
    return a, b


def _float(x: Any, op: str) -> Tensor:
    """Input of a floating-point function: ints and bools become the default float dtype."""
    if x.__class__ is not Tensor and not isinstance(x, Tensor):
        x = _as_tensor(x)
    if x._data.dtype.kind != "f":
        return cast(x, get_default_dtype())
    return x


def _dim(d: Any, ndim: int, op: str) -> int:
    if not isinstance(d, (builtins.int, B.xp.integer)) or isinstance(d, builtins.bool):
        raise TypeError(f"{op}: dim must be an int, got {d!r}")
    n = _py_max(ndim, 1)
    if not -n <= d < n:
        raise IndexError(
            f"{op}: dim {d} is out of range for a tensor with {ndim} dims "
            f"(valid: {-n} to {n - 1})"
        )
    return builtins.int(d % n)


def _dims(dim: Any, ndim: int, op: str) -> tuple[int, ...] | None:
    """Normalise ``dim`` (None, an int, or a sequence of ints) to sorted positive axes."""
    if dim is None:
        return None
    if isinstance(dim, (list, tuple)):
        axes = tuple(sorted(_dim(d, ndim, op) for d in dim))
        if len(set(axes)) != len(axes):
            raise ValueError(f"{op}: dim {tuple(dim)} names the same dimension twice")
        return axes if ndim > 0 else ()
    return (_dim(dim, ndim, op),) if ndim > 0 else ()


def _shape_arg(shape: Sequence[Any], op: str) -> tuple[int, ...]:
    if len(shape) == 1 and isinstance(shape[0], (list, tuple)):
        shape = shape[0]
    try:
        # NOTE: operator.index, not int(): a size of 3.5 is an error (as in PyTorch), not 3
        return tuple(operator.index(s) for s in shape)
    except TypeError:
        bad = next(s for s in shape if not hasattr(s, "__index__") or isinstance(s, Tensor))
        raise TypeError(f"{op}: the size must be a tuple of ints, got {tuple(shape)!r} (an "
                        f"element is a {type(bad).__name__}); use int(...)") from None


def _new_size(shape: Sequence[Any], op: str) -> tuple[int, ...]:
    """The size of a new tensor (zeros, ones, rand, ...): ints, none negative."""
    shp = _shape_arg(shape, op)
    if any(s < 0 for s in shp):
        raise RuntimeError(f"{op}: Dimension size must be non-negative, got size {shp}")
    return shp


def cast(x: Any, dtype: Any) -> Tensor:
    """x converted to ``dtype`` (always a copy); the gradient flows back in x's dtype."""
    return apply(E.Cast(normalize_dtype(dtype)), _as_tensor(x))


def _prod_int(it: Any) -> int:
    p = 1
    for v in it:
        p *= v
    return p
