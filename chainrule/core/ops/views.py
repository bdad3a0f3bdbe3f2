"""View functions PyTorch has that chainrule builds from its view primitives: diagonal,
select, unbind, swapaxes, and ``view`` (which, unlike ``reshape``, never copies); ``narrow``
is core/ops_extra.py's.

Each result shares its input's memory and version counter (see core/views.py for what an
in-place change of a view does).
"""

from __future__ import annotations

from typing import Any

from ...backend import xp
from ..graph import apply
from ..primitives.views import Diagonal
from ..tensor_class import Tensor
from .convert import _as_tensor, _dim
from .elementwise import clone
from .indexing import getitem
from .shape import reshape, transpose


def diagonal(input: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
    """The diagonal of the (dim1, dim2) planes, as a last dim (a view).

    >>> import chainrule as cr
    >>> cr.arange(9.0).reshape(3, 3).diagonal()
    tensor([0., 4., 8.])
    """
    x = _as_tensor(input)
    nd = x._data.ndim
    if nd < 2:
        raise RuntimeError(f"diagonal: needs a tensor with at least 2 dims, got shape {x.shape}")
    d1, d2 = _dim(dim1, nd, "diagonal"), _dim(dim2, nd, "diagonal")
    if d1 == d2:
        raise RuntimeError(f"diagonal: dim1 and dim2 cannot be the same dim ({dim1}, {dim2})")
    return apply(Diagonal(int(offset), d1, d2), x)


def select(input: Tensor, dim: int, index: int) -> Tensor:
    """``input[..., index, ...]`` with the index at ``dim`` (a view without that dim)."""
    x = _as_tensor(input)
    d = _dim(dim, x._data.ndim, "select")
    size = x._data.shape[d]
    if not -size <= index < size:
        raise IndexError(
            f"select: index {index} out of range for tensor of size {tuple(x.shape)} at "
            f"dimension {dim}")
    return getitem(x, (slice(None),) * d + (int(index) % size,))


def unbind(input: Tensor, dim: int = 0) -> tuple[Tensor, ...]:
    """The slices along ``dim``, each a view."""
    x = _as_tensor(input)
    d = _dim(dim, x._data.ndim, "unbind")
    return tuple(select(x, d, i) for i in range(x._data.shape[d]))


def swapaxes(input: Tensor, axis0: int, axis1: int) -> Tensor:
    """``transpose`` under NumPy's name."""
    return transpose(input, axis0, axis1)


def view(input: Tensor, *shape: Any) -> Tensor:
    """The same memory seen in a new shape; an error (as in PyTorch) where that needs a copy:
    use ``reshape`` there.

    >>> import chainrule as cr
    >>> cr.arange(6).view(2, 3).shape
    torch.Size([2, 3])
    """
    x = _as_tensor(input)
    out = reshape(x, *shape)
    if out is not x and out._base is None:
        raise RuntimeError(
            "view size is not compatible with input tensor's size and stride (at least one "
            "dimension spans across two contiguous subspaces). Use .reshape(...) instead. "
            f"(view of a tensor of shape {tuple(x.shape)} as {tuple(out.shape)})")
    return out


def contiguous(self: Tensor) -> Tensor:
    """This tensor if its memory is in row-major order, else a copy that is."""
    if self._data.flags.c_contiguous:
        return self
    out = clone(self)  # NOTE: clone keeps the layout (as PyTorch's does); then reorder it:
    out._data = xp.ascontiguousarray(out._data)  # same values, and clone's node saves nothing
    return out


def is_contiguous(self: Tensor) -> bool:
    return bool(self._data.flags.c_contiguous)


swapdims = swapaxes
