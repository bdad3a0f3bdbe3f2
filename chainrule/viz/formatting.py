"""Numbers, shapes and op parameters as short text, for labels and walkthroughs."""

from __future__ import annotations

from typing import Any, Mapping

from ..backend import ndarray, xp

__all__ = ["format_shape", "format_value", "format_param", "format_params"]


def format_shape(shape: tuple[int, ...]) -> str:
    """``(2, 3)``; a 1-d shape as ``(4,)``; a 0-d one as ``()``."""
    return "(" + ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"


def _num(x: float, digits: int) -> str:
    if x != x or x in (float("inf"), float("-inf")):
        return str(x)
    s = f"{x:.{digits}g}"
    # a number rounded to exactly 1 or -1 would hide saturation (tanh(6) is 0.9999877, not
    # 1): such numbers keep the digits that tell them apart (0 needs none: 1e-05 shows)
    if float(s) in (1.0, -1.0) and x != float(s):
        while digits < 15 and float(s) in (1.0, -1.0):
            digits += 1
            s = f"{x:.{digits}g}"
        s = f"{x:.{digits + 1}g}"  # two digits of the distance to 1
    return s


def format_value(a: Any, max_elements: int = 6, digits: int = 4) -> str:
    """A short summary of an array: the values themselves when there are at most
    ``max_elements`` of them, else ``min .. mean .. max``.

    >>> import numpy as np
    >>> format_value(np.array([[0.5, 1.25]]))
    '[[0.5, 1.25]]'
    >>> format_value(np.arange(100.0))
    'min 0  mean 49.5  max 99'
    """
    a = xp.asarray(a)
    if a.size <= max_elements:
        if a.ndim == 0:
            return _num(float(a), digits)
        return _nested(a.tolist(), digits)
    if a.dtype.kind == "b":
        return f"{int(a.sum())} of {a.size} true"
    with xp.errstate(all="ignore"):
        lo, mean, hi = float(a.min()), float(a.mean()), float(a.max())
    return f"min {_num(lo, digits)}  mean {_num(mean, digits)}  max {_num(hi, digits)}"


def _nested(v: Any, digits: int) -> str:
    if isinstance(v, list):
        return "[" + ", ".join(_nested(x, digits) for x in v) + "]"
    if isinstance(v, bool):
        return str(v)
    return _num(float(v), digits)


def format_param(value: Any) -> str:
    """One op parameter as text: arrays by their shape, slices as ``1:3``."""
    if isinstance(value, ndarray):
        return f"array{format_shape(value.shape)}"
    if isinstance(value, tuple):
        inner = ", ".join(format_param(v) for v in value)
        return f"({inner}{',' if len(value) == 1 else ''})"
    if isinstance(value, slice):
        parts = ["" if v is None else str(v) for v in (value.start, value.stop, value.step)]
        return ":".join(parts[:2]) + (f":{parts[2]}" if value.step is not None else "")
    if value is Ellipsis:
        return "..."
    return repr(value) if not hasattr(value, "kind") else str(value)


def format_params(params: Mapping[str, Any]) -> str:
    """An op's parameters as ``axis=1, keepdim=True`` (arrays by their shape)."""
    return ", ".join(f"{k}={format_param(v)}" for k, v in params.items())

