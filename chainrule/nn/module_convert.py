"""Converting a module's parameters and buffers to another dtype (``Module.to`` and the
``float``/``double``/``half``/``type`` shortcuts, which call it)."""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any, TypeVar

from ..core import graph
from ..core.dtypes import dtype_name, normalize_dtype
from ..core.tensor import _make
from ..core.to_args import to_dtype

if TYPE_CHECKING:
    from .module import Module

M = TypeVar("M", bound="Module")


def to(module: M, args: tuple, kwargs: dict[str, Any]) -> M:
    """``module.to(*args, **kwargs)``: convert floating-point parameters and buffers in place
    (the parameters stay the same objects, their gradients are converted too)."""
    dtype = to_dtype(args, kwargs, "Module.to")
    if kwargs:
        raise TypeError(f"to: unexpected arguments {sorted(kwargs)}")
    if dtype is None:
        return module
    dt = normalize_dtype(dtype)
    if dt.kind != "f":
        raise TypeError(
            f"to: modules can only be converted to a floating-point dtype, got {dtype_name(dt)}"
        )
    with graph.no_grad():
        for t in itertools.chain(module.parameters(), module.buffers()):
            if t._data.dtype.kind == "f" and t._data.dtype != dt:
                t.data = _make(t._data.astype(dt))
                if t.grad is not None:
                    t.grad = _make(t.grad._data.astype(dt))
    return module
