"""``out=``: PyTorch's way of writing a function's result into an existing tensor.

``cr.add(a, b, out=c)`` computes ``a + b`` and writes it into ``c`` (resized when its shape
differs, as PyTorch does), returning ``c``. As in PyTorch, ``out=`` does not record a graph:
with an input that requires grad (and grad mode on) it is an error that says what to do.

>>> import chainrule as cr
>>> c = cr.empty(0)
>>> cr.add(cr.ones(2), cr.ones(2), out=c)
tensor([2., 2.])
>>> c
tensor([2., 2.])
"""

from __future__ import annotations

import functools
from typing import Any, Callable

from ..backend import xp
from . import graph
from .dtypes import dtype_name
from .tensor import Tensor, _torch_name

__all__ = ["write_out", "with_out", "OUT_FUNCTIONS"]

# The functions of ``cr`` that take ``out=`` (as PyTorch's do).
OUT_FUNCTIONS = (
    "add sub mul div pow matmul mm dot cat stack sum mean prod amax amin exp log log1p sqrt "
    "abs neg sin cos tanh sigmoid clamp maximum minimum where gather argmax argmin eq ne lt le "
    "gt ge logical_not logical_and logical_or sign square softmax log_softmax logsumexp"
).split()


def write_out(out: Any, res: Any, op: str) -> Any:
    """Write ``res`` into ``out`` (resizing it to ``res``'s shape) and return ``out``."""
    if isinstance(res, tuple) and isinstance(out, (tuple, list)):
        for o, r in zip(out, res):
            write_out(o, r, op)
        return out
    if not isinstance(out, Tensor):
        raise TypeError(f"{op}: out must be a tensor, got {type(out).__name__}")
    if graph._grad_enabled and (res.requires_grad or out.requires_grad):
        raise RuntimeError(
            f"{op}(): functions with out=... arguments don't support automatic "
            "differentiation, but one of the arguments requires grad. Drop out= and assign "
            "the result (y = cr.op(...)), or compute under `with cr.no_grad():`.")
    data = res._data
    if out._data.shape != data.shape:
        # PyTorch resizes out (warning when it had elements); chainrule resizes silently.
        out._data = xp.empty(data.shape, out._data.dtype)
    if not xp.can_cast(data.dtype, out._data.dtype, "same_kind"):
        raise TypeError(f"{op}: result type {_torch_name(data.dtype)} can't be cast to the "
                        f"desired output type {_torch_name(out._data.dtype)} (out=: the result "
                        f"is {dtype_name(data.dtype)}, out is {dtype_name(out._data.dtype)})")
    xp.copyto(out._data, data, casting="same_kind")
    out._vc[0] += 1
    return out


def with_out(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` with an ``out=`` keyword (the function itself when it is not given)."""
    @functools.wraps(fn)
    def wrapper(*args: Any, out: Any = None, **kwargs: Any) -> Any:
        if out is None:
            return fn(*args, **kwargs)
        return write_out(out, fn(*args, **kwargs), fn.__name__)

    return wrapper
