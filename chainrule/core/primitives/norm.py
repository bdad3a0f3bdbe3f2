"""Softmax over the last dim and normalisation over the trailing dims: the two row-wise ops of
a transformer, each one primitive.

NOTE: primitives for speed, measured forward + backward on the shapes of the transformer
benchmark (float32, 2 shared cores, best of 5): softmax over (16, 4, 64, 64) attention scores
1.93 ms as the composite (sub, exp, sum, div: 4 recorded ops, 8 in backward), 1.22 ms as this
primitive, 0.86 ms in PyTorch; layer_norm over (16, 64, 128) 0.93 ms as the composite (mean,
sub, mul, mean, add, sqrt, div), 0.58 ms as this primitive, 0.37 ms in PyTorch. That is
~6 ms of a ~300-900 ms training step of benchmarks/bench_transformer.py (4 softmaxes, 9 layer
norms), whose time is the matrix products': a small gain, kept because each is also one node
in the graph a reader sees, and Softmax gives a fully masked row zeros instead of nan. The
forward is 3-4 passes over the rows; the backward, when nothing records it, 3 passes over
arrays; with ``create_graph=True`` it is written with chainrule ops, so higher-order
gradients stay exact.
"""

from __future__ import annotations

from typing import Any

from ...backend import xp
from .. import functional as F
from .. import graph
from ..graph import Node
from .conv import _QuietParams


class Softmax(Node):
    """exp(x - max) / sum(exp(x - max)) over the last dim. A row that is all -inf (a query
    masked from every key) gives zeros, and zero gradients, as PyTorch's attention does."""

    __slots__ = ()
    name = "softmax"
    saves_output = True

    def forward(self, x):
        m = x.max(axis=-1, keepdims=True)
        if not xp.isfinite(m).all():
            m = xp.where(m == -xp.inf, 0.0, m).astype(x.dtype)
        e = x - m
        xp.exp(e, out=e)
        s = e.sum(axis=-1, keepdims=True)
        s[s == 0] = 1.0
        e /= s
        return e

    def vjp(self, g):  # dx = y (g - sum(g y))
        if graph.is_grad_enabled():  # create_graph: record the backward itself
            y = self.saved_output()
            return (F.mul(y, F.sub(g, F.sum(F.mul(g, y), -1, keepdim=True))),)
        y = self.saved_output()._data
        gy = g._data * y
        out = gy - y * gy.sum(axis=-1, keepdims=True)
        return (graph._make(out),)


class LayerNorm(_QuietParams, Node):
    """(x - mean) / sqrt(var + eps) over the last ``ndim`` dims (biased variance), no affine
    part (weight and bias are a broadcasting mul and add after it)."""

    __slots__ = ("ndim", "eps", "_invstd")
    name = "layer_norm"
    saves = (0,)
    saves_output = True
    _invstd: Any

    def __init__(self, ndim: int, eps: float) -> None:
        self.ndim = ndim
        self.eps = eps
        self._invstd = None

    def _axes(self, nd: int) -> tuple[int, ...]:
        return tuple(range(nd - self.ndim, nd))

    def forward(self, x):
        axes = self._axes(x.ndim)
        xc = x - x.mean(axis=axes, keepdims=True)
        var = xp.square(xc).mean(axis=axes, keepdims=True)
        var += self.eps
        invstd = 1.0 / xp.sqrt(var)
        self._invstd = invstd
        xc *= invstd
        return xc

    def vjp(self, g):  # dx = invstd (g - mean(g) - y mean(g y)), y the output
        if graph.is_grad_enabled():
            return (self._vjp_differentiable(g),)
        y = self.saved_output()._data
        axes = self._axes(y.ndim)
        gd = g._data
        out = gd - gd.mean(axis=axes, keepdims=True)
        out -= y * (gd * y).mean(axis=axes, keepdims=True)
        out *= self._invstd
        return (graph._make(out),)

    def _vjp_differentiable(self, g):
        # The same formula with chainrule ops, recomputed from x, for create_graph=True.
        x = self.inputs[0]
        axes = self._axes(x._data.ndim)
        xc = F.sub(x, F.mean(x, axes, keepdim=True))
        invstd = F.div(1.0, F.sqrt(F.add(F.mean(F.mul(xc, xc), axes, keepdim=True), self.eps)))
        y = F.mul(xc, invstd)
        inner = F.sub(F.sub(g, F.mean(g, axes, keepdim=True)),
                      F.mul(y, F.mean(F.mul(g, y), axes, keepdim=True)))
        return F.mul(inner, invstd)
