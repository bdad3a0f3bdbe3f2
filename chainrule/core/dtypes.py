"""dtypes: chainrule uses the backend's dtype objects, under PyTorch's names."""

from __future__ import annotations

import builtins as _builtins
from typing import Any

from .. import backend as B

float16 = half = B.float16
float32 = float = B.float32
float64 = double = B.float64
int8 = B.int8
int16 = short = B.int16
int32 = int = B.int32
int64 = long = B.int64
uint8 = B.uint8
bool = B.bool_

_default = [B.float32]

_NAMES = {
    "float16": B.float16, "half": B.float16, "float32": B.float32, "float": B.float32,
    "float64": B.float64, "double": B.float64, "int8": B.int8, "int16": B.int16,
    "short": B.int16, "int32": B.int32, "int": B.int32, "int64": B.int64, "long": B.int64,
    "uint8": B.uint8, "bool": B.bool_,
}


def normalize_dtype(dtype: Any) -> Any:
    """Accept a dtype object, a name (``"float32"``, ``"torch.float32"``) or a Python type."""
    if dtype is _builtins.float:
        return _default[0]
    if dtype is _builtins.int:
        return B.int64
    if dtype is _builtins.bool:
        return B.bool_
    if isinstance(dtype, str):
        name = dtype.rsplit(".", 1)[-1]
        if name in _NAMES:
            return _NAMES[name]
    try:
        dt = B.dtype(dtype)
    except TypeError:
        raise TypeError(
            f"unknown dtype {dtype!r}; use cr.float32, cr.float64, cr.int64, cr.bool, ..."
        ) from None
    if dt.kind not in "fiub":
        raise TypeError(f"unsupported dtype {dt}; use a float, int or bool dtype")
    return dt


def set_default_dtype(dtype: Any) -> None:
    """Set the dtype that Python floats become (float32 unless changed).

    >>> import chainrule as cr
    >>> cr.set_default_dtype(cr.float64); cr.tensor([1.5]).dtype
    dtype('float64')
    >>> cr.set_default_dtype(cr.float32)
    """
    dt = normalize_dtype(dtype)
    if dt.kind != "f":
        raise TypeError(f"set_default_dtype: the default must be a float dtype, got {dt}")
    _default[0] = dt


def get_default_dtype() -> Any:
    return _default[0]
