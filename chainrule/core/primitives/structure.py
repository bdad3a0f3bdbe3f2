"""Reductions, shape changes, indexing and matrix products."""

from __future__ import annotations

from ... import backend as B
from ...backend import scatter_add, xp
from .. import functional as F  # read when a vjp runs: see primitives/__init__.py
from ..graph import Node, apply


def _keepdim_shape(in_shape, axis):
    if axis is None:
        return (1,) * len(in_shape)
    return tuple(1 if i in axis else s for i, s in enumerate(in_shape))


# ---------------------------------------------------------------------------------------------
# Reductions
# ---------------------------------------------------------------------------------------------


class Sum(Node):
    __slots__ = ("axis", "keepdim")
    name = "sum"

    def __init__(self, axis, keepdim):
        self.axis = axis  # tuple of non-negative ints, or None for all
        self.keepdim = keepdim

    def forward(self, x):
        return xp.sum(x, axis=self.axis, keepdims=self.keepdim)

    def vjp(self, g):  # d sum(x)/dx_i = 1: broadcast g back over the summed axes
        shape = self.next[0].shape
        if not self.keepdim and g._data.ndim != len(shape):
            g = apply(Reshape(_keepdim_shape(shape, self.axis)), g)
        return (apply(BroadcastTo(shape), g) if g._data.shape != shape else g,)


class Amax(Node):
    __slots__ = ("axis", "keepdim")
    name = "amax"
    saves = (0,)
    saves_output = True

    def __init__(self, axis, keepdim):
        self.axis = axis
        self.keepdim = keepdim

    def forward(self, x):
        return xp.amax(x, axis=self.axis, keepdims=self.keepdim)

    def vjp(self, g):  # d max(x)/dx_i = [x_i == max] / (number of maxima)
        # NOTE: ties share the gradient evenly, as PyTorch's amax does.
        x = self.inputs[0]
        ks = _keepdim_shape(x.shape, self.axis)
        out = F.reshape(self.saved_output(), ks)
        mask = F.cast(F.eq(x, out), x._data.dtype)
        count = F.sum(mask, dim=self.axis, keepdim=True)
        return (F.mul(mask, F.div(F.reshape(g, ks), count)),)


class Prod(Node):
    __slots__ = ("axis", "keepdim")
    name = "prod"
    saves = (0,)
    saves_output = True

    def __init__(self, axis, keepdim):
        self.axis = axis  # a single non-negative int, or None for all
        self.keepdim = keepdim

    def forward(self, x):
        return xp.prod(x, axis=self.axis, keepdims=self.keepdim)

    def vjp(self, g):  # d prod(x)/dx_i = prod_{j != i} x_j
        x = self.inputs[0]
        ax = None if self.axis is None else (self.axis,)
        ks = _keepdim_shape(x.shape, ax)
        g = F.reshape(g, ks)
        if not (x._data == 0).any():
            return (F.mul(g, F.div(F.reshape(self.saved_output(), ks), x)),)
        # NOTE: with zeros, prod/x_i is 0/0. Build prod_{j != i} x_j directly instead: for each
        # i, the row of x with x_i replaced by 1, multiplied out (n x n work along the axis).
        # Exact, and differentiable again for higher orders.
        xm = F.reshape(x, (-1,)) if self.axis is None else F.transpose(x, self.axis, -1)
        n = xm.shape[-1]
        rows = F.where(F.eye(n, dtype=B.bool_), 1.0, F.unsqueeze(xm, -2))
        others = F.prod(rows, dim=-1)
        others = F.reshape(others, x.shape) if self.axis is None else \
            F.transpose(others, self.axis, -1)
        return (F.mul(g, others),)


# ---------------------------------------------------------------------------------------------
# Shape
# ---------------------------------------------------------------------------------------------


class Reshape(Node):
    __slots__ = ("shape_to", "view")
    name = "reshape"

    def __init__(self, shape_to):
        self.shape_to = shape_to
        self.view = True

    @property
    def is_view(self):  # type: ignore[override]
        return self.view  # a view, unless the memory layout forced a copy (as in PyTorch)

    def forward(self, x):
        if x.flags.c_contiguous:
            return x.reshape(self.shape_to)
        try:
            return x.reshape(self.shape_to, copy=False)
        except ValueError:
            self.view = False
            return x.reshape(self.shape_to)

    def vjp(self, g):  # reshape is a permutation of memory: reshape g back
        return (F.reshape(g, self.next[0].shape),)


class Permute(Node):
    __slots__ = ("dims",)
    name = "permute"
    is_view = True

    def __init__(self, dims):
        self.dims = dims

    def forward(self, x):
        return x.transpose(self.dims)

    def vjp(self, g):  # permute back with the inverse permutation
        inv = [0] * len(self.dims)
        for i, d in enumerate(self.dims):
            inv[d] = i
        return (F.permute(g, tuple(inv)),)


class BroadcastTo(Node):
    __slots__ = ("shape_to",)
    name = "broadcast_to"
    is_view = True

    def __init__(self, shape_to):
        self.shape_to = shape_to

    def forward(self, x):
        return xp.broadcast_to(x, self.shape_to)

    def vjp(self, g):  # every copy of x_i contributes: sum g over the broadcast axes
        return (F.sum_to(g, self.next[0].shape),)


class Cat(Node):
    __slots__ = ("axis", "sizes")
    name = "cat"

    def __init__(self, axis, sizes):
        self.axis = axis
        self.sizes = sizes

    def forward(self, *xs):
        return xp.concatenate(xs, axis=self.axis)

    def vjp(self, g):  # each input gets its own slice of g
        out = []
        start = 0
        lead = (slice(None),) * self.axis
        for n, size in zip(self.next, self.sizes):
            if n is not None:
                out.append(F.getitem(g, lead + (slice(start, start + size),)))
            else:
                out.append(None)
            start += size
        return tuple(out)


# ---------------------------------------------------------------------------------------------
# Indexing
# ---------------------------------------------------------------------------------------------


class GetItem(Node):
    __slots__ = ("index", "basic")
    name = "getitem"

    def __init__(self, index, basic):
        if basic and Ellipsis not in index:
            index = index + (Ellipsis,)  # NOTE: x[0] of a 1-d x is then a 0-d view, not a copy
        self.index = index  # normalised: a tuple of ints, slices, None, Ellipsis, int arrays
        self.basic = basic  # no integer arrays: a view, and no repeated elements

    @property
    def is_view(self):  # type: ignore[override]
        return self.basic

    def forward(self, x):
        return x[self.index]

    def vjp(self, g):  # scatter g into zeros at the indexed places (repeats add up)
        return (F.index_add_zeros(g, self.index, self.basic, self.next[0].shape),)


class IndexAddZeros(Node):
    """``zeros(shape)`` with ``g`` added at ``index``: the transpose of :class:`GetItem`."""

    __slots__ = ("index", "basic", "shape_to")
    name = "index_add"

    def __init__(self, index, basic, shape_to):
        self.index = index
        self.basic = basic
        self.shape_to = shape_to

    def forward(self, g):
        return scatter_add(self.shape_to, self.index, g, self.basic)

    def vjp(self, h):  # linear in g: its transpose is gathering at the same index
        return (F.apply_getitem(h, self.index, self.basic),)


class IndexPut(Node):
    """``x`` with ``x[index] = v`` (out of place); behind ``x[index] = v`` on tensors."""

    __slots__ = ("index", "basic")
    name = "index_put"
    broadcasts = True

    def __init__(self, index, basic):
        self.index = index
        self.basic = basic

    def forward(self, x, v):
        out = x.copy()
        out[self.index] = v
        return out

    def vjp(self, g):  # d/dx = 1 outside the index, 0 inside; d/dv = g at the index
        n = self.next
        gx = F.index_put(g, self.index, 0.0) if n[0] is not None else None
        gv = None
        if n[1] is not None:
            gv = F.apply_getitem(g, self.index, self.basic)
            if not self.basic:
                # NOTE: with a repeated index only the last write survives (NumPy's order), so
                # only it gets a gradient: number the writes, scatter the numbers, and keep
                # the writes whose number is the one that landed.
                order = xp.arange(gv._data.size).reshape(gv._data.shape)
                landed = xp.full(g._data.shape, -1)
                landed[self.index] = order
                won = landed[self.index] == order
                if not won.all():
                    gv = F.where(won, gv, 0.0)
        return gx, gv


# ---------------------------------------------------------------------------------------------
# Linear algebra
# ---------------------------------------------------------------------------------------------


class Matmul(Node):
    """Matrix product of tensors with at least 2 dims (batch dims broadcast)."""

    __slots__ = ()
    name = "matmul"
    broadcasts = True
    saves = (0, 1)
    saved_for = {0: (1,), 1: (0,)}

    def forward(self, a, b):
        return a @ b

    def vjp(self, g):  # d(AB)/dA: g B^T, d(AB)/dB: A^T g
        a, b = self.inputs
        n = self.next
        ga = apply(Matmul(), g, _swap_last(b)) if n[0] is not None else None
        if n[1] is None:
            gb = None
        elif _transposed(b._data):  # Linear's W.T: the gradient in W's layout, (g^T A)^T
            gb = _swap_last(apply(Matmul(), _swap_last(g), a))
        else:
            gb = apply(Matmul(), _swap_last(a), g)
        return ga, gb


def _transposed(x) -> bool:
    """A 2-d array stored transposed (``W.T`` of a C-ordered ``W``): its gradient is computed
    in the same layout, as PyTorch's gradients follow their input's strides. Otherwise the
    gradient of Linear's weight reaches ``.grad`` transposed, and every later pass over it
    (the optimizer's update, DistributedDataParallel's copy into its bucket, a checkpoint)
    walks memory across the grain: 166 us instead of 20 us to copy the gradient of a
    784x256 weight."""
    return x.ndim == 2 and x.shape[0] > 1 and x.shape[1] > 1 and x.flags.f_contiguous \
        and not x.flags.c_contiguous


def _swap_last(x):
    nd = x._data.ndim
    return apply(Permute(tuple(range(nd - 2)) + (nd - 1, nd - 2)), x)
