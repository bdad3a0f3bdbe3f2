"""More Tensor methods with PyTorch's semantics: in-place shape changes (``unsqueeze_``,
``t_``, ``resize_``), ``f"{t:.4f}"`` on one value, the deprecated ``add_(Number, Tensor)``
overloads, and the methods of :mod:`ops_extra` and :mod:`random_extra`.

>>> import chainrule as cr
>>> x = cr.zeros(2, 3); x.unsqueeze_(0).shape
torch.Size([1, 2, 3])
>>> f"{cr.tensor(3.14159):.4f}"
'3.1416'
>>> cr.ones(2).add_(2, cr.ones(2))            # old PyTorch: x + 2 * y
tensor([3., 3.])
"""

from __future__ import annotations

import numbers
from typing import Any, Callable

from ..backend import xp
from . import functional as F
from . import graph
from . import ops_extra as O
from . import random_extra as R
from .graph import GraphError
from .legacy_types import type_method
from .tensor import Tensor

__all__ = ["install", "deprecated_alpha"]


def _inplace_view(self: Tensor, op: str, fn: Callable[[Tensor], Tensor]) -> Tensor:
    """Give ``self`` the shape of ``fn(self)`` (a view of the same memory), in place."""
    tracked = graph._grad_enabled and self._node is not None
    if tracked and self.is_leaf:
        raise GraphError(
            f"{op}: a leaf tensor that requires grad (shape {tuple(self.shape)}) is being used "
            f"in an in-place operation; use the out-of-place x = x.{op[:-1]}(...), or do it "
            "under `with cr.no_grad():`")
    res = fn(self)
    if self._base is not None and res._base is self:
        # self is a view: its view function gains fn's step, so that a later in-place op on
        # it (CopySlices) and its refresh map its elements to the root's correctly.
        old = object.__new__(Tensor)
        old._data, old._node, old._vc, old.grad = self._data, self._node, self._vc, None
        old._base, old._vstep, old._vver = self._base, self._vstep, self._vver
        self._base, self._vstep, self._vver = old, res._vstep, res._vver
    self._data = res._data
    if tracked:
        self._node = res._node
    self._vc[0] += 1
    return self


def unsqueeze_(self: Tensor, dim: int) -> Tensor:
    return _inplace_view(self, "unsqueeze_", lambda x: F.unsqueeze(x, dim))


def squeeze_(self: Tensor, dim: Any = None) -> Tensor:
    return _inplace_view(self, "squeeze_", lambda x: F.squeeze(x, dim))


def t_(self: Tensor) -> Tensor:
    return _inplace_view(self, "t_", F.t)


def transpose_(self: Tensor, dim0: int, dim1: int) -> Tensor:
    return _inplace_view(self, "transpose_", lambda x: F.transpose(x, dim0, dim1))


def resize_(self: Tensor, *sizes: Any) -> Tensor:
    """New shape ``sizes``: the first elements (in row-major order) are kept, new ones are 0
    (PyTorch leaves them uninitialised)."""
    shape = F._shape_arg(sizes, "resize_")
    if self.requires_grad:
        raise GraphError(
            f"resize_: cannot resize a tensor that requires grad (shape {tuple(self.shape)}); "
            "use x.reshape(...) or build a new tensor")
    n = 1
    for s in shape:
        n *= s
    flat = self._data.reshape(-1)
    if n == flat.size:
        self._data = self._data.reshape(shape)
    else:
        new = xp.zeros(n, self._data.dtype)
        k = min(n, flat.size)
        new[:k] = flat[:k]
        self._data = new.reshape(shape)
    self._vc[0] += 1
    return self


def resize_as_(self: Tensor, other: Tensor) -> Tensor:
    return resize_(self, *other.shape)


def __format__(self: Tensor, spec: str) -> str:
    """A 0-d tensor formats as its value (``f"{loss:.4f}"``); others only without a spec."""
    if self._data.ndim == 0:
        return self._data.item().__format__(spec)
    if not spec:
        return str(self)
    raise TypeError(
        f"unsupported format string {spec!r} passed to Tensor.__format__: only a tensor with "
        f"one value (0-d) takes a format spec, this one has shape {tuple(self.shape)}; use "
        "x.item() for one element, or format x.tolist()'s elements")


def deprecated_alpha(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Accept PyTorch's deprecated ``fn(x, Number, Tensor)`` = ``fn(x, Tensor, alpha=Number)``."""
    def wrapper(self: Any, other: Any, alpha: Any = 1, **kwargs: Any) -> Any:
        if isinstance(alpha, Tensor) and isinstance(other, numbers.Number):
            other, alpha = alpha, other
        return fn(self, other, alpha, **kwargs)

    wrapper.__name__ = wrapper.__qualname__ = fn.__name__
    wrapper.__doc__ = fn.__doc__
    return wrapper


def _multinomial(self: Tensor, num_samples: int, replacement: bool = False, *,
                 generator: Any = None) -> Tensor:
    return R.multinomial(self, num_samples, replacement, generator=generator)


def _tril_(self: Tensor, diagonal: int = 0) -> Tensor:
    return self._inplace("tril_", lambda a: O.tril(a, diagonal))


def _triu_(self: Tensor, diagonal: int = 0) -> Tensor:
    return self._inplace("triu_", lambda a: O.triu(a, diagonal))


def _take_along_dim(self: Tensor, indices: Any, dim: int | None = None) -> Tensor:
    return O.take_along_dim(self, indices, dim)


def install(cls: type) -> None:
    """Attach the methods to Tensor (replacing the 'not supported' stubs of core/compat.py)."""
    from . import compat

    methods = {
        "type": type_method, "sort": O.sort, "argsort": O.argsort, "topk": O.topk,
        "norm": O.norm, "narrow": O.narrow, "tril": O.tril, "triu": O.triu,
        "tril_": _tril_, "triu_": _triu_, "take_along_dim": _take_along_dim,
        "masked_fill_": O.masked_fill_, "multinomial": _multinomial,
        "unsqueeze_": unsqueeze_, "squeeze_": squeeze_, "t_": t_, "transpose_": transpose_,
        "resize_": resize_, "resize_as_": resize_as_, "__format__": __format__,
    }
    for name in ("add", "sub", "add_", "sub_"):
        methods[name] = deprecated_alpha(getattr(cls, name))
    for name, fn in methods.items():
        setattr(cls, name, fn)
        compat._stubs.discard(name)
