"""View primitives beyond reshape/permute/broadcast_to/getitem: the diagonal of a tensor (a
view, as in PyTorch) and its transpose diag_embed; and CopySlices, what an in-place change
of a view does to its root (see core/views.py)."""

from __future__ import annotations

from ...backend import xp
from .. import graph
from ..graph import Node, apply


def _start(x, offset, dim1, dim2):
    """The view's first element, as an index into x (for as_strided's offset)."""
    idx = [0] * x.ndim
    if offset >= 0:
        idx[dim2] = min(offset, x.shape[dim2])
    else:
        idx[dim1] = min(-offset, x.shape[dim1])
    return tuple(idx)


class Diagonal(Node):
    __slots__ = ("offset", "dim1", "dim2")
    name = "diagonal"
    is_view = True

    def __init__(self, offset, dim1, dim2):
        self.offset = offset
        self.dim1 = dim1
        self.dim2 = dim2

    def forward(self, x):
        d = xp.diagonal(x, self.offset, self.dim1, self.dim2)
        if not d.size:
            return d.copy()
        start = x[_start(x, self.offset, self.dim1, self.dim2) + (Ellipsis,)]
        return xp.lib.stride_tricks.as_strided(start, d.shape, d.strides,
                                               writeable=x.flags.writeable)

    def vjp(self, g):  # the diagonal is a selection: put g back on it, zeros elsewhere
        return (apply(DiagEmbed(self.offset, self.dim1, self.dim2, self.next[0].shape), g),)


class DiagEmbed(Node):
    """zeros of ``shape_to`` with ``g`` on the diagonal: the transpose of :class:`Diagonal`."""

    __slots__ = ("offset", "dim1", "dim2", "shape_to")
    name = "diag_embed"

    def __init__(self, offset, dim1, dim2, shape_to):
        self.offset = offset
        self.dim1 = dim1
        self.dim2 = dim2
        self.shape_to = shape_to

    def forward(self, g):
        out = xp.zeros(self.shape_to, g.dtype)
        Diagonal(self.offset, self.dim1, self.dim2).forward(out)[...] = g
        return out

    def vjp(self, h):  # linear: its transpose is taking the diagonal again
        return (apply(Diagonal(self.offset, self.dim1, self.dim2), h),)


class CopySlices(Node):
    """``base`` with the elements a view sees replaced by ``value`` (of the view's shape).

    ``pos`` holds, for every element of the view, its flat position in the base: the view
    function evaluated on ``arange``, so any chain of view ops is one scatter and one gather.
    """

    __slots__ = ("pos",)
    name = "copy_slices"

    def __init__(self, pos):
        self.pos = pos

    def forward(self, base, value):
        out = base.copy()
        out.reshape(-1)[self.pos.reshape(-1)] = xp.broadcast_to(value, self.pos.shape).reshape(-1)
        return out

    def vjp(self, g):  # d/dbase: 1 outside the view, 0 inside; d/dvalue: the view of g
        from ..functional import apply_getitem, reshape

        n = self.next
        gb = gv = None
        if n[0] is not None:
            zeros = graph._make(xp.zeros(self.pos.shape, g._data.dtype))
            gb = apply(CopySlices(self.pos), g, zeros)
        if n[1] is not None:
            gv = apply_getitem(reshape(g, (-1,)), (self.pos,), False)
        return gb, gv
