"""Convolution, pooling and batch normalisation: primitives on NCHW arrays (as PyTorch).

NOTE: these are primitives, not composites, for speed. Built from getitem and matmul, a 3x3
convolution records a node per kernel tap and scatters its input gradient with ``add.at``;
here the forward pass is one strided window view (``as_strided``) copied once into columns
(im2col) and one matrix product, and each gradient is one more matrix product. Pooling
likewise works on ``kh * kw`` strided views of the input (a loop over kernel taps, never
over pixels), and batch norm does in ~6 passes over the activations what its composite
does in ~20 recorded ops.

The convolution is a trilinear form ``T(x, w, g) = <g, conv(x, w)>``: its three primitives
(:class:`Conv2d`, :class:`Conv2dInputGrad` = dT/dx, a transposed convolution, and
:class:`Conv2dWeightGrad` = dT/dw, a correlation of the input with the output gradient)
are each other's vjps, so gradients of any order stay inside these three. Pooling pairs
work the same way (:class:`MaxPool2d` / :class:`MaxPool2dGrad`, :class:`AvgPool2d` /
:class:`AvgPool2dGrad`: each is linear in its input and the transpose of the other).

Memory layout: shapes are NCHW; the convolution computes in channels-last memory (NHWC),
where a window's columns are contiguous runs of channels, and returns an NCHW-shaped view
of NHWC memory (PyTorch's ``channels_last``). Elementwise ops keep that layout, and the next
convolution reads it without a transposing copy.
"""

from __future__ import annotations

from typing import Any

from ...backend import xp
from .. import functional as F  # read when a vjp runs: see primitives/__init__.py
from .. import graph
from ..graph import Node, apply

_as_strided = xp.lib.stride_tricks.as_strided


class _QuietParams:
    """``params()`` without the private caches (``_cols``, ``_index``, ...): they are arrays
    that the op keeps for its vjp, not parameters, and would flood the node's repr."""

    __slots__ = ()

    def params(self) -> dict[str, Any]:
        return {k: v for k, v in Node.params(self).items()  # type: ignore[arg-type]
                if not k.startswith("_")}


# ---------------------------------------------------------------------------------------------
# Geometry helpers (arrays)
# ---------------------------------------------------------------------------------------------


def out_size(n: int, k: int, s: int, p0: int, p1: int, d: int) -> int:
    """Output length of a window of size ``k`` (dilation ``d``, stride ``s``) sliding over
    ``n`` elements padded by ``p0`` before and ``p1`` after."""
    return (n + p0 + p1 - d * (k - 1) - 1) // s + 1


def _pad_nhwc(x: Any, padding: tuple) -> Any:
    """(N, C, H, W) in any memory layout -> (N, H + pt + pb, W + pl + pr, C), zero padded,
    contiguous (so that im2col copies runs of channels)."""
    (pt, pb), (pl, pr) = padding
    xt = x.transpose(0, 2, 3, 1)
    if not (pt or pb or pl or pr):
        return xp.ascontiguousarray(xt)
    N, H, W, C = xt.shape
    out = xp.empty((N, H + pt + pb, W + pl + pr, C), x.dtype)
    out[:, :pt] = 0
    out[:, pt + H:] = 0
    out[:, pt:pt + H, :pl] = 0
    out[:, pt:pt + H, pl + W:] = 0
    out[:, pt:pt + H, pl:pl + W] = xt
    return out


def _columns(xpad: Any, kernel: tuple, stride: tuple, dilation: tuple, out_hw: tuple,
             groups: int) -> Any:
    """im2col: (G, N*Ho*Wo, kh*kw*Cg), one row per output position and group, the columns
    ordered (i, j, c) to follow the NHWC memory of ``xpad`` (N, Hp, Wp, C)."""
    N, _, _, C = xpad.shape
    (kh, kw), (sh, sw), (dh, dw), (Ho, Wo) = kernel, stride, dilation, out_hw
    s0, s1, s2, s3 = xpad.strides
    win = _as_strided(xpad, (N, Ho, Wo, kh, kw, C), (s0, s1 * sh, s2 * sw, s1 * dh, s2 * dw, s3),
                      writeable=False)
    NL = N * Ho * Wo
    if groups == 1:
        cols = win.reshape(1, NL, kh * kw * C)  # the one copy of the forward pass
    else:
        cols = win.reshape(NL, kh * kw, groups, C // groups).transpose(2, 0, 1, 3).reshape(
            groups, NL, -1)
    return cols if cols.flags.c_contiguous else xp.ascontiguousarray(cols)


def _w_cols(w: Any, groups: int) -> Any:
    """weight (O, Cg, kh, kw) -> (G, kh*kw*Cg, Og), rows in the column order of _columns."""
    O, Cg, kh, kw = w.shape
    return xp.ascontiguousarray(w.reshape(groups, O // groups, Cg, kh, kw).transpose(
        0, 3, 4, 2, 1)).reshape(groups, kh * kw * Cg, O // groups)


def _g_rows(g: Any, groups: int) -> Any:
    """output gradient (N, O, Ho, Wo) -> (G, N*Ho*Wo, Og) (no copy when g is channels-last)."""
    N, O, Ho, Wo = g.shape
    # NOTE: contiguous, so that matmul can hand it to BLAS (a broadcast g, such as the
    # cotangent of a sum, has zero strides and sent matmul to its slow loop: 13 ms, not 0.1)
    NL = N * Ho * Wo
    rows = xp.ascontiguousarray(g.transpose(0, 2, 3, 1)).reshape(NL, O)
    if groups == 1:
        return rows[None]
    return rows.reshape(NL, groups, O // groups).transpose(1, 0, 2)


def _taps(a: Any, kernel: tuple, stride: tuple, dilation: tuple, out_hw: tuple,
          hw_axis: int) -> Any:
    """The kh*kw strided views of ``a`` (spatial dims at hw_axis, hw_axis + 1), each of the
    output's spatial shape: view (i, j) holds every window's element at kernel tap (i, j)."""
    (kh, kw), (sh, sw), (dh, dw), (Ho, Wo) = kernel, stride, dilation, out_hw
    lead = (slice(None),) * hw_axis
    for i in range(kh):
        for j in range(kw):
            yield a[lead + (slice(i * dh, i * dh + sh * (Ho - 1) + 1, sh),
                            slice(j * dw, j * dw + sw * (Wo - 1) + 1, sw))]


# ---------------------------------------------------------------------------------------------
# Convolution
# ---------------------------------------------------------------------------------------------


class Conv2d(_QuietParams, Node):
    """y[n, o] = sum_{c, i, j} xpad[n, c, p s + i d, q s + j d] w[o, c, i, j] (+ b[o]), over
    the channels c of o's group: PyTorch's conv2d (a cross-correlation). Inputs (x, w) or
    (x, w, b); ``padding`` is ((top, bottom), (left, right)).
    """

    __slots__ = ("stride", "padding", "dilation", "groups", "_cols")
    name = "conv2d"
    saves = (0, 1)
    _cols: Any

    def __init__(self, stride: tuple, padding: tuple, dilation: tuple, groups: int) -> None:
        self.stride = stride
        self.padding = padding
        self.dilation = dilation
        self.groups = groups
        self._cols = None

    def forward(self, x, w, b=None):
        N, _, H, W = x.shape
        O, _, kh, kw = w.shape
        (pt, pb), (pl, pr) = self.padding
        Ho = out_size(H, kh, self.stride[0], pt, pb, self.dilation[0])
        Wo = out_size(W, kw, self.stride[1], pl, pr, self.dilation[1])
        G = self.groups
        cols = _columns(_pad_nhwc(x, self.padding), (kh, kw), self.stride, self.dilation,
                        (Ho, Wo), G)
        y = xp.matmul(cols, _w_cols(w, G))  # (G, N*Ho*Wo, Og)
        y = y[0] if G == 1 else y.transpose(1, 0, 2).reshape(N * Ho * Wo, O)
        if b is not None:
            y += b
        # NOTE: the columns are kept for the weight gradient (one im2col fewer per training
        # step); the first backward takes them, a later one (retain_graph) rebuilds them.
        self._cols = cols
        return y.reshape(N, Ho, Wo, O).transpose(0, 3, 1, 2)

    def vjp(self, g):  # dT/dx = conv_transpose(g, w), dT/dw = correlate(x, g), dT/db = sum g
        x, w = self.inputs[0], self.inputs[1]
        n = self.next
        geom = (self.stride, self.padding, self.dilation, self.groups)
        cols, self._cols = self._cols, None
        gx = apply(Conv2dInputGrad(*geom, tuple(x.shape[2:])), g, w) if n[0] is not None \
            else None
        gw = apply(Conv2dWeightGrad(*geom, tuple(w.shape[2:]), cols), x, g) \
            if n[1] is not None else None
        gb = None
        if len(n) > 2 and n[2] is not None:  # dT/db = sum of g over all dims but 1
            gb = F.sum(g, (0, 2, 3)) if graph.is_grad_enabled() else \
                graph._make(channel_sum(g._data))
        return gx, gw, gb


class Conv2dInputGrad(_QuietParams, Node):
    """dx = conv2d's vjp in its input: a transposed convolution of g (N, O, Ho, Wo) with
    w (O, Cg, kh, kw), back to x's shape (N, C, H, W) (H, W given, as stride floors them).
    """

    __slots__ = ("stride", "padding", "dilation", "groups", "in_hw")
    name = "conv2d_input_grad"
    saves = (0, 1)

    def __init__(self, stride: tuple, padding: tuple, dilation: tuple, groups: int,
                 in_hw: tuple) -> None:
        self.stride = stride
        self.padding = padding
        self.dilation = dilation
        self.groups = groups
        self.in_hw = in_hw

    def forward(self, g, w):
        N, _, Ho, Wo = g.shape
        O, Cg, kh, kw = w.shape
        G = self.groups
        (pt, pb), (pl, pr) = self.padding
        H, W = self.in_hw
        # One product gives every tap's contribution: (G, 1, NL, Og) @ (G, K, Og, Cg) ->
        # (G, K, NL, Cg), each tap a contiguous block; col2im then adds each block into its
        # shifted window of the padded gradient (kh*kw strided adds).
        wt = xp.ascontiguousarray(w.reshape(G, O // G, Cg, kh * kw).transpose(0, 3, 1, 2))
        taps = xp.matmul(_g_rows(g, G)[:, None], wt)
        dx = xp.zeros((N, H + pt + pb, W + pl + pr, G, Cg), g.dtype)
        for t, view in enumerate(_taps(dx, (kh, kw), self.stride, self.dilation, (Ho, Wo), 1)):
            view += taps[:, t].reshape(G, N, Ho, Wo, Cg).transpose(1, 2, 3, 0, 4)
        return dx.reshape(N, H + pt + pb, W + pl + pr, G * Cg)[
            :, pt:pt + H, pl:pl + W].transpose(0, 3, 1, 2)

    def vjp(self, h):  # <h, dx(g, w)> = T(h, w, g): d/dg = conv(h, w), d/dw = correlate(h, g)
        g, w = self.inputs
        n = self.next
        geom = (self.stride, self.padding, self.dilation, self.groups)
        gg = apply(Conv2d(*geom), h, w) if n[0] is not None else None
        gw = apply(Conv2dWeightGrad(*geom, tuple(w.shape[2:])), h, g) if n[1] is not None \
            else None
        return gg, gw


class Conv2dWeightGrad(_QuietParams, Node):
    """dw = conv2d's vjp in its weight: the correlation of the input x (N, C, H, W) with the
    output gradient g (N, O, Ho, Wo), a (O, Cg, kh, kw) array (kernel size given)."""

    __slots__ = ("stride", "padding", "dilation", "groups", "kernel", "_cols")
    name = "conv2d_weight_grad"
    saves = (0, 1)

    def __init__(self, stride: tuple, padding: tuple, dilation: tuple, groups: int,
                 kernel: tuple, cols: Any = None) -> None:
        self.stride = stride
        self.padding = padding
        self.dilation = dilation
        self.groups = groups
        self.kernel = kernel
        self._cols = cols  # the forward's im2col of x, when it is at hand

    def forward(self, x, g):
        G = self.groups
        cols, self._cols = self._cols, None
        if cols is None:
            cols = _columns(_pad_nhwc(x, self.padding), self.kernel, self.stride,
                            self.dilation, g.shape[2:], G)
        dw = xp.matmul(cols.transpose(0, 2, 1), _g_rows(g, G))  # (G, K*Cg, Og)
        (kh, kw), O, Cg = self.kernel, g.shape[1], x.shape[1] // G
        return dw.reshape(G, kh, kw, Cg, O // G).transpose(0, 4, 3, 1, 2).reshape(O, Cg, kh, kw)

    def vjp(self, h):  # <h, dw(x, g)> = T(x, h, g): d/dx = conv_transpose(g, h), d/dg = conv(x, h)
        x, g = self.inputs
        n = self.next
        geom = (self.stride, self.padding, self.dilation, self.groups)
        gx = apply(Conv2dInputGrad(*geom, tuple(x.shape[2:])), g, h) if n[0] is not None \
            else None
        gg = apply(Conv2d(*geom), x, h) if n[1] is not None else None
        return gx, gg


# ---------------------------------------------------------------------------------------------
# Pooling
# ---------------------------------------------------------------------------------------------
# NOTE: pooling works on the array in its memory order: an NCHW array whose memory is
# channels-last (a convolution's output) is pooled as its NHWC view (hw_axis 1), so that each
# tap is a run of contiguous channels; strided NCHW views of NHWC memory run ~1.5x slower.
# Selections are multiplications by masks, not where/copyto(where=): with a data-dependent
# mask those branch per element and ran 10x slower (180 us vs 15 us for 64K floats).


def _work(a: Any) -> tuple[Any, int]:
    """(a in memory order, the axis of its H dim): NHWC view if a is channels-last."""
    if not a.flags.c_contiguous:
        t = a.transpose(0, 2, 3, 1)
        if t.flags.c_contiguous:
            return t, 1
    return a, 2


def _unwork(a: Any, hw_axis: int) -> Any:
    return a.transpose(0, 3, 1, 2) if hw_axis == 1 else a


def _as_work(a: Any, hw_axis: int) -> Any:
    """An NCHW array seen in the working layout ``hw_axis`` (contiguous when it is small)."""
    return xp.ascontiguousarray(a.transpose(0, 2, 3, 1)) if hw_axis == 1 else a


def _pad_work(a: Any, hw_axis: int, padding: tuple, value: float) -> Any:
    ph, pw = padding
    if not (ph or pw):
        return a
    shape = list(a.shape)
    H, W = shape[hw_axis], shape[hw_axis + 1]
    shape[hw_axis] += 2 * ph
    shape[hw_axis + 1] += 2 * pw
    out = xp.full(shape, value, a.dtype)
    out[(slice(None),) * hw_axis + (slice(ph, ph + H), slice(pw, pw + W))] = a
    return out


def _unpad_work(a: Any, hw_axis: int, padding: tuple, hw: tuple) -> Any:
    (ph, pw), (H, W) = padding, hw
    return a[(slice(None),) * hw_axis + (slice(ph, ph + H), slice(pw, pw + W))]


def _zeros_work(like: Any, hw_axis: int, padding: tuple, hw: tuple) -> Any:
    shape = list(like.shape)
    shape[hw_axis] = hw[0] + 2 * padding[0]
    shape[hw_axis + 1] = hw[1] + 2 * padding[1]
    return xp.zeros(shape, like.dtype)


def _pool_out_hw(x_hw: tuple, kernel: tuple, stride: tuple, padding: tuple,
                 dilation: tuple) -> tuple[int, int]:
    return tuple(out_size(n, k, s, p, p, d)  # type: ignore[return-value]
                 for n, k, s, p, d in zip(x_hw, kernel, stride, padding, dilation))


def _overlapping(kernel: tuple, stride: tuple, dilation: tuple) -> bool:
    return any(s < d * (k - 1) + 1 for k, s, d in zip(kernel, stride, dilation))


def _divisor(divisor: Any, hw_axis: int) -> Any:
    if isinstance(divisor, float) or hw_axis == 2:
        return divisor
    return divisor[:, :, None]  # (Ho, Wo) -> (Ho, Wo, 1) for NHWC


class MaxPool2d(_QuietParams, Node):
    """y[n, c, p, q] = max over the window at (p, q); ``_index`` records which kernel tap
    won (the first maximum, or the last NaN, as PyTorch). Given an ``index``, the op gathers
    at those taps instead: the transpose of :class:`MaxPool2dGrad`, its vjp.
    """

    __slots__ = ("kernel", "stride", "padding", "dilation", "_index")
    name = "max_pool2d"
    _index: Any

    def __init__(self, kernel: tuple, stride: tuple, padding: tuple, dilation: tuple,
                 index: Any = None) -> None:
        self.kernel = kernel
        self.stride = stride
        self.padding = padding
        self.dilation = dilation
        self._index = index

    def forward(self, x):
        out_hw = _pool_out_hw(x.shape[2:], self.kernel, self.stride, self.padding,
                              self.dilation)
        geom = (self.kernel, self.stride, self.dilation, out_hw)
        if self._index is not None:  # gather at the recorded taps (exactly: where, not *)
            idx, ax = _work(self._index)
            out = xp.zeros(idx.shape, x.dtype)
            for t, v in enumerate(_taps(_pad_work(_as_work(x, ax), ax, self.padding, 0),
                                        *geom, ax)):
                out += xp.where(idx == t, v, 0)
            return _unwork(out, ax)
        xw, ax = _work(x)
        taps = _taps(_pad_work(xw, ax, self.padding, -xp.inf), *geom, ax)
        # NOTE: a running maximum over the kh*kw taps (strided views, no window copy). The
        # index moves to tap t where v > best (strictly: ties keep the first tap) or v is NaN,
        # as PyTorch's kernel; np.maximum propagates NaN as PyTorch's max does.
        best = next(taps).copy()
        idx = xp.zeros(best.shape, xp.min_scalar_type(self.kernel[0] * self.kernel[1]))
        for t, v in enumerate(taps, 1):
            m = v > best
            m |= v != v
            step = t - idx
            step *= m
            idx += step
            xp.maximum(best, v, out=best)
        self._index = _unwork(idx, ax)
        return _unwork(best, ax)

    def vjp(self, g):  # d max/dx = 1 at the winning tap, 0 elsewhere: scatter g there
        return (apply(MaxPool2dGrad(self.kernel, self.stride, self.padding, self.dilation,
                                    tuple(self.next[0].shape[2:]), self._index), g),)


class MaxPool2dGrad(_QuietParams, Node):
    """dx: g (N, C, Ho, Wo) scattered to the winning taps of a max pool, in x's shape."""

    __slots__ = ("kernel", "stride", "padding", "dilation", "in_hw", "_index")
    name = "max_pool2d_grad"

    def __init__(self, kernel: tuple, stride: tuple, padding: tuple, dilation: tuple,
                 in_hw: tuple, index: Any) -> None:
        self.kernel = kernel
        self.stride = stride
        self.padding = padding
        self.dilation = dilation
        self.in_hw = in_hw
        self._index = index

    def forward(self, g):
        idx, ax = _work(self._index)
        gw = _as_work(g, ax)
        dx = _zeros_work(gw, ax, self.padding, self.in_hw)
        overlap = _overlapping(self.kernel, self.stride, self.dilation)
        # NOTE: g * mask puts nan where g is inf (inf * 0): exact where() only then.
        finite = bool(xp.isfinite(gw).all())
        for t, view in enumerate(_taps(dx, self.kernel, self.stride, self.dilation,
                                       gw.shape[ax:ax + 2], ax)):
            sel = idx == t
            if not finite:
                view += xp.where(sel, gw, 0)
            elif overlap:
                view += gw * sel
            else:  # every element is in at most one window: write, no add
                xp.multiply(gw, sel, out=view)
        return _unwork(_unpad_work(dx, ax, self.padding, self.in_hw), ax)

    def vjp(self, h):  # linear in g: the transpose is gathering h at the same taps
        return (apply(MaxPool2d(self.kernel, self.stride, self.padding, self.dilation,
                                self._index), h),)


class AvgPool2d(_QuietParams, Node):
    """y[n, c, p, q] = (sum of the zero-padded window at (p, q)) / divisor; ``divisor`` is
    a number or an (Ho, Wo) array (count_include_pad=False)."""

    __slots__ = ("kernel", "stride", "padding", "divisor")
    name = "avg_pool2d"

    def __init__(self, kernel: tuple, stride: tuple, padding: tuple, divisor: Any) -> None:
        self.kernel = kernel
        self.stride = stride
        self.padding = padding
        self.divisor = divisor

    def forward(self, x):
        out_hw = _pool_out_hw(x.shape[2:], self.kernel, self.stride, self.padding, (1, 1))
        xw, ax = _work(x)
        taps = _taps(_pad_work(xw, ax, self.padding, 0), self.kernel, self.stride, (1, 1),
                     out_hw, ax)
        out = next(taps).copy()
        for v in taps:
            out += v
        out /= _divisor(self.divisor, ax)
        return _unwork(out, ax)

    def vjp(self, g):  # d avg/dx = 1/divisor on each element of the window
        return (apply(AvgPool2dGrad(self.kernel, self.stride, self.padding, self.divisor,
                                    tuple(self.next[0].shape[2:])), g),)


class AvgPool2dGrad(_QuietParams, Node):
    """dx: g / divisor added to every element of each window, in x's shape."""

    __slots__ = ("kernel", "stride", "padding", "divisor", "in_hw")
    name = "avg_pool2d_grad"

    def __init__(self, kernel: tuple, stride: tuple, padding: tuple, divisor: Any,
                 in_hw: tuple) -> None:
        self.kernel = kernel
        self.stride = stride
        self.padding = padding
        self.divisor = divisor
        self.in_hw = in_hw

    def forward(self, g):
        gw, ax = _work(g)
        share = gw / _divisor(self.divisor, ax)
        dx = _zeros_work(gw, ax, self.padding, self.in_hw)
        for view in _taps(dx, self.kernel, self.stride, (1, 1), gw.shape[ax:ax + 2], ax):
            view += share
        return _unwork(_unpad_work(dx, ax, self.padding, self.in_hw), ax)

    def vjp(self, h):  # linear in g: the transpose is the average pool of h
        return (apply(AvgPool2d(self.kernel, self.stride, self.padding, self.divisor), h),)


# ---------------------------------------------------------------------------------------------
# Batch normalisation
# ---------------------------------------------------------------------------------------------


_ones_cache: dict[tuple[int, Any], Any] = {}


def _ones(n: int, dtype: Any) -> Any:
    key = (n, dtype)
    v = _ones_cache.get(key)
    if v is None:
        v = xp.ones(n, dtype)
        v.flags.writeable = False
        if len(_ones_cache) < 32:
            _ones_cache[key] = v
    return v


def channel_sum(a: Any) -> Any:
    """Sum over every axis but 1 (the channels) of (N, C, ...): shape (C,).

    NOTE: as a product with a vector of ones (BLAS gemv): summing the rows of an (N*H*W, C)
    array with sum(0) ran 10x slower (44 us vs 2.5 us for 2048 x 16 floats).
    """
    C = a.shape[1]
    if a.ndim == 2:
        return _ones(a.shape[0], a.dtype) @ a
    if a.ndim == 4:
        t = a.transpose(0, 2, 3, 1)
        if t.flags.c_contiguous:  # channels-last memory
            return _ones(t.size // C, a.dtype) @ t.reshape(-1, C)
    if a.flags.c_contiguous:  # (N, C, L): contiguous sums along L, then down the batch
        return _ones(a.shape[0], a.dtype) @ a.reshape(a.shape[0], C, -1).sum(2)
    return a.sum(axis=(0,) + tuple(range(2, a.ndim)))


class _PerChannel:
    """Per-channel arithmetic on an (N, C, ...) array, in the layout that makes it fast.

    NOTE: a channels-last (or (N, C)) array is worked on as a 2-D view of rows of k * C
    elements with the (C,) vectors tiled k times: broadcasting a (C,) vector down rows of 16
    or 32 channels runs NumPy's inner loop on 16 elements and was 2x slower (15 us vs 7 us
    for 32K floats). Other layouts broadcast a (1, C, 1, ...) vector.
    """

    __slots__ = ("shape", "k", "cl")

    def __init__(self, a: Any) -> None:
        self.shape = a.shape
        C = a.shape[1]
        self.cl = False
        self.k = 1
        rows = None
        if a.ndim == 2 and a.flags.c_contiguous:
            rows = a
        elif a.ndim == 4 and a.transpose(0, 2, 3, 1).flags.c_contiguous:
            rows = a.transpose(0, 2, 3, 1)
        if rows is not None and C:
            R = a.size // C
            k = max(1, min(R, 512 // C))
            while R % k:
                k -= 1
            self.cl, self.k = True, k

    def view(self, a: Any) -> Any:
        """``a`` (same shape and layout as the array this was made for) in the working form."""
        if not self.cl:
            return a
        C = self.shape[1]
        rows = a if a.ndim == 2 else a.transpose(0, 2, 3, 1)
        return rows.reshape(-1, self.k * C)

    def adopt(self, a: Any) -> Any:
        """``a`` (of the same shape) in the layout of the array this was made for."""
        if not self.cl:
            return a
        if a.ndim == 2:
            return xp.ascontiguousarray(a)
        return xp.ascontiguousarray(a.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)

    def vec(self, v: Any) -> Any:
        """A (C,) vector, broadcastable against the working form."""
        if self.cl:
            if self.k == 1:
                return v
            out = xp.empty((self.k, v.shape[0]), v.dtype)
            out[...] = v
            return out.reshape(-1)
        return v.reshape((1, -1) + (1,) * (len(self.shape) - 2))

    def back(self, y: Any) -> Any:
        """The working form back to (N, C, ...)."""
        if not self.cl or len(self.shape) == 2:
            return y.reshape(self.shape)
        N, C, H, W = self.shape
        return y.reshape(N, H, W, C).transpose(0, 3, 1, 2)


class BatchNorm(_QuietParams, Node):
    """Batch normalisation with the batch's statistics: inputs x (N, C, ...), w (C,), b (C,);
    y = (x - mean) / sqrt(var + eps) * w + b, mean and (biased) var over all dims but 1.

    NOTE: a primitive for speed: 4 passes over x forward and 6 backward instead of ~10 and
    ~20 recorded ops. The statistics are kept for the running estimates and the vjp.
    """

    __slots__ = ("eps", "_mean", "_var", "_invstd")
    name = "batch_norm"
    saves = (0, 1)
    _mean: Any
    _var: Any
    _invstd: Any

    def __init__(self, eps: float) -> None:
        self.eps = eps
        self._mean = self._var = self._invstd = None

    def forward(self, x, w, b):
        M = x.size // x.shape[1]
        pc = _PerChannel(x)
        mean = channel_sum(x) / M
        xc = pc.view(x) - pc.vec(mean)
        var = channel_sum(pc.back(xc * xc)) / M
        invstd = 1.0 / xp.sqrt(var + self.eps)
        self._mean, self._var, self._invstd = mean, var, invstd
        xc *= pc.vec(invstd * w)
        xc += pc.vec(b)
        return pc.back(xc)

    def vjp(self, g):
        # dx = w invstd (g - mean(g) - xhat mean(g xhat)), dw = sum g xhat, db = sum g
        if graph.is_grad_enabled():
            return self._vjp_differentiable(g)
        # NOTE: without create_graph, nothing records the backward: compute it on arrays in
        # a few fused passes, from the statistics of the forward pass. With xc = x - mean:
        # dw = invstd sum(g xc), dx = a g - (a invstd^2 sum(g xc) / M) xc - a sum(g) / M,
        # a = w invstd.
        x, w = self.inputs[0]._data, self.inputs[1]._data
        gd = g._data
        n = self.next
        M = x.size // x.shape[1]
        pc = _PerChannel(x)
        gd = pc.adopt(gd)
        mean, invstd = self._mean, self._invstd
        xc = pc.view(x) - pc.vec(mean)
        gv = pc.view(gd)
        db = channel_sum(gd)
        gxc = channel_sum(pc.back(gv * xc))
        gx = None
        if n[0] is not None:
            a = w * invstd
            xc *= pc.vec(-a * invstd * invstd * gxc / M)
            xc += pc.vec(-a * db / M)
            out = gv * pc.vec(a)
            out += xc
            gx = graph._make(pc.back(out))
        return (gx, graph._make(gxc * invstd) if n[1] is not None else None,
                graph._make(db) if n[2] is not None else None)

    def _vjp_differentiable(self, g):
        # The same formulas with chainrule ops on tensors, for create_graph=True.
        x, w = self.inputs[0], self.inputs[1]
        n = self.next
        nd = x._data.ndim
        C = x._data.shape[1]
        axes = (0,) + tuple(range(2, nd))
        shape = (1, C) + (1,) * (nd - 2)
        xc = F.sub(x, F.mean(x, axes, keepdim=True))
        invstd = F.div(1.0, F.sqrt(F.add(F.mean(F.mul(xc, xc), axes, keepdim=True), self.eps)))
        xhat = F.mul(xc, invstd)
        gx = None
        if n[0] is not None:
            gw = F.mul(g, F.reshape(w, shape))
            inner = F.sub(F.sub(gw, F.mean(gw, axes, keepdim=True)),
                          F.mul(xhat, F.mean(F.mul(gw, xhat), axes, keepdim=True)))
            gx = F.mul(inner, invstd)
        dw = F.sum(F.mul(g, xhat), axes) if n[1] is not None else None
        db = F.sum(g, axes) if n[2] is not None else None
        return gx, dw, db
