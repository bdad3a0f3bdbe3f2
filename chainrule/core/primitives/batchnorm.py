"""Batch normalisation with the batch's statistics: a primitive on (N, C, ...) arrays.

NOTE: a primitive, not a composite, for speed: in ~6 passes over the activations what its
composite does in ~20 recorded ops, with per-channel arithmetic in the layout the array
already has (channels-last after a convolution: see conv.py).
"""

from __future__ import annotations

from typing import Any

from ...backend import xp
from .. import functional as F  # read when a vjp runs: see primitives/__init__.py
from .. import graph
from ..graph import Node
from .conv import _QuietParams, channel_sum


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
