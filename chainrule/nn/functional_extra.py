"""More of ``torch.nn.functional``: transposed convolution, adaptive pooling, channel
dropout, smooth L1 / Huber losses.

Re-exported by :mod:`chainrule.nn.functional`. All are composites of the existing
primitives: ``conv_transpose2d`` *is* conv2d's input gradient (the ``Conv2dInputGrad``
primitive, whose own vjp is a convolution and a correlation); adaptive average pooling is
two matrix products with averaging matrices; adaptive max pooling gathers the window maxima.

>>> import chainrule as cr
>>> import chainrule.nn.functional as F
>>> F.conv_transpose2d(cr.ones(1, 1, 2, 2), cr.ones(1, 1, 2, 2), stride=2).shape
torch.Size([1, 1, 4, 4])
>>> F.adaptive_avg_pool2d(cr.arange(16.0).reshape(1, 1, 4, 4), 1).item()
7.5
"""

from __future__ import annotations

from typing import Any

from .. import backend as B
from ..backend import xp
from ..core import creation
from ..core import functional as _F
from ..core.graph import apply
from ..core.primitives.conv import Conv2dInputGrad
from ..core.tensor import Tensor, _make
from . import functional as NF

__all__ = ["conv_transpose2d", "adaptive_avg_pool2d", "adaptive_max_pool2d", "dropout1d",
           "dropout2d", "alpha_dropout", "smooth_l1_loss", "huber_loss"]


# ---------------------------------------------------------------------------------------------
# Transposed convolution
# ---------------------------------------------------------------------------------------------


def conv_transpose2d(input: Tensor, weight: Tensor, bias: Tensor | None = None,
                     stride: Any = 1, padding: Any = 0, output_padding: Any = 0,
                     groups: int = 1, dilation: Any = 1) -> Tensor:
    """The transposed convolution ("deconvolution"): input (N, Cin, H, W) or (Cin, H, W),
    weight (Cin, Cout / groups, kH, kW), bias (Cout,); output size
    (H - 1) * stride - 2 * padding + dilation * (kH - 1) + output_padding + 1."""
    return _conv_transpose2d(input, weight, bias, stride, padding, output_padding, groups,
                             dilation, "conv_transpose2d")


def _conv_transpose2d(x: Any, w: Any, b: Any, stride: Any, padding: Any, output_padding: Any,
                      groups: Any, dilation: Any, op: str) -> Tensor:
    w = NF._tensor(w)
    if w._data.ndim != 4:
        raise ValueError(f"{op}: weight must be 4-D (in_channels, out_channels / groups, kH, "
                         f"kW), got shape {tuple(w.shape)}")
    x4, unbatched = NF._image_batch(NF._tensor(x), op)
    Cin, Cg, kh, kw = w._data.shape
    N, C, H, W = x4._data.shape
    if isinstance(groups, bool) or not isinstance(groups, int) or groups < 1 or Cin % groups:
        raise ValueError(f"{op}: groups must be a positive int dividing in_channels "
                         f"({Cin}, weight shape {tuple(w.shape)}), got {groups!r}")
    if C != Cin:
        raise ValueError(f"{op}: expected an input with {Cin} channels (weight of shape "
                         f"{tuple(w.shape)}), got {C} channels: input of shape "
                         f"{tuple(x4.shape)}")
    NF._same_float_dtype(x4, w, op)
    s = NF._int_pair(stride, "stride", op, 1)
    p = NF._int_pair(padding, "padding", op, 0)
    d = NF._int_pair(dilation, "dilation", op, 1)
    op_ = NF._int_pair(output_padding, "output_padding", op, 0)
    for o, si, di in zip(op_, s, d):
        if o >= si and o >= di:
            raise ValueError(f"{op}: output_padding {op_} must be smaller than either stride "
                             f"{s} or dilation {d}")
    out_hw = tuple((n - 1) * si - 2 * pi + di * (k - 1) + oi + 1
                   for n, si, pi, di, k, oi in zip((H, W), s, p, d, (kh, kw), op_))
    if min(out_hw) < 1:
        raise ValueError(f"{op}: the output would be {out_hw[0]}x{out_hw[1]} for input "
                         f"{H}x{W}, kernel {kh}x{kw}, stride {s}, padding {p}: use less padding")
    node = Conv2dInputGrad(s, ((p[0], p[0]), (p[1], p[1])), d, groups, out_hw)
    out = apply(node, x4, w)
    if b is not None:
        b = NF._tensor(b)
        if b._data.shape != (Cg * groups,):
            raise ValueError(f"{op}: bias must have shape ({Cg * groups},), got "
                             f"{tuple(b.shape)}")
        out = _F.add(out, _F.reshape(b, (1, -1, 1, 1)))
    return _F.reshape(out, out._data.shape[1:]) if unbatched else out


# ---------------------------------------------------------------------------------------------
# Adaptive pooling
# ---------------------------------------------------------------------------------------------


def _adaptive_size(output_size: Any, hw: tuple[int, int], op: str) -> tuple[int, int]:
    items = list(output_size) if isinstance(output_size, (tuple, list)) else [output_size] * 2
    if len(items) != 2:
        raise ValueError(f"{op}: output_size must be an int or a pair, got {output_size!r}")
    out = tuple(n if o is None else int(o) for o, n in zip(items, hw))
    if min(out) < 1:
        raise ValueError(f"{op}: output_size must be positive, got {output_size!r}")
    return out  # type: ignore[return-value]


def _bins(n: int, o: int) -> list[tuple[int, int]]:
    """PyTorch's adaptive windows: [floor(i n / o), ceil((i + 1) n / o)) for each output i."""
    return [((i * n) // o, -(-((i + 1) * n) // o)) for i in range(o)]


def adaptive_avg_pool2d(input: Tensor, output_size: Any) -> Tensor:
    """Average over PyTorch's adaptive windows, so that the output is ``output_size``."""
    x4, unbatched = NF._image_batch(NF._float_input(input, "adaptive_avg_pool2d"),
                                    "adaptive_avg_pool2d")
    H, W = x4._data.shape[2:]
    oh, ow = _adaptive_size(output_size, (H, W), "adaptive_avg_pool2d")
    dt = x4._data.dtype

    def averaging(n: int, o: int) -> Tensor:
        m = xp.zeros((o, n), dt)
        for i, (a, b) in enumerate(_bins(n, o)):
            m[i, a:b] = 1.0 / (b - a)
        return _make(m)

    out = _F.matmul(_F.matmul(averaging(H, oh), x4), _F.transpose(averaging(W, ow), 0, 1))
    return _F.reshape(out, out._data.shape[1:]) if unbatched else out


def adaptive_max_pool2d(input: Tensor, output_size: Any, return_indices: bool = False) -> Any:
    """The maximum over PyTorch's adaptive windows; with ``return_indices``, also each
    maximum's flat position ``h * W + w`` in its input plane. The gradient goes to the
    maximum."""
    x4, unbatched = NF._image_batch(NF._float_input(input, "adaptive_max_pool2d"),
                                    "adaptive_max_pool2d")
    N, C, H, W = x4._data.shape
    oh, ow = _adaptive_size(output_size, (H, W), "adaptive_max_pool2d")
    a = x4._data
    idx = xp.empty((N, C, oh, ow), B.int64)
    for i, (h0, h1) in enumerate(_bins(H, oh)):
        for j, (w0, w1) in enumerate(_bins(W, ow)):
            win = a[:, :, h0:h1, w0:w1].reshape(N, C, -1)
            k = xp.argmax(win, axis=2)
            idx[:, :, i, j] = (h0 + k // (w1 - w0)) * W + w0 + k % (w1 - w0)
    flat = _F.reshape(x4, (N, C, H * W))
    out = _F.reshape(_F.gather(flat, 2, _make(idx.reshape(N, C, -1))), (N, C, oh, ow))
    ind = _make(idx)
    if unbatched:
        out, ind = _F.reshape(out, (C, oh, ow)), _make(idx.reshape(C, oh, ow))
    return (out, ind) if return_indices else out


# ---------------------------------------------------------------------------------------------
# Dropout of whole channels, alpha dropout
# ---------------------------------------------------------------------------------------------


def _check_p(p: Any, op: str) -> None:
    if not isinstance(p, (int, float)) or not 0.0 <= p <= 1.0:
        raise ValueError(f"{op}: p must be a probability in [0, 1], got {p!r}")


def _keep_mask(shape: tuple[int, ...], p: float, dt: Any) -> Any:
    if p == 1:
        return xp.zeros(shape, dt)
    u = creation.default_generator.rng.random(shape)
    return (u >= p).astype(dt)


def _channel_dropout(input: Tensor, p: float, training: bool, op: str, nd: int) -> Tensor:
    _check_p(p, op)
    if not training or p == 0:
        return input
    x = NF._float_input(input, op)
    s = x._data.shape
    if len(s) not in (nd, nd + 1):
        raise ValueError(f"{op}: expected a {nd + 1}-D input (N, C, ...) or a {nd}-D unbatched "
                         f"one (C, ...), got shape {tuple(s)}")
    batch = len(s) - nd  # 1 for (N, C, ...), 0 for (C, ...)
    mshape = s[:batch + 1] + (1,) * (len(s) - batch - 1)
    mask = _keep_mask(mshape, p, x._data.dtype)
    if p < 1:
        mask *= 1.0 / (1.0 - p)
    return _F.mul(x, _make(mask))


def dropout1d(input: Tensor, p: float = 0.5, training: bool = True,
              inplace: bool = False) -> Tensor:
    """Zero whole channels of (N, C, L) or (C, L) with probability p, scale the rest by
    1 / (1 - p)."""
    return _channel_dropout(input, p, training, "dropout1d", 2)


def dropout2d(input: Tensor, p: float = 0.5, training: bool = True,
              inplace: bool = False) -> Tensor:
    """Zero whole channels of (N, C, H, W) or (C, H, W) with probability p, scale the rest by
    1 / (1 - p)."""
    return _channel_dropout(input, p, training, "dropout2d", 3)


_SELU_ALPHA_P = -1.7580993408473766  # -scale * alpha of SELU


def alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False,
                  inplace: bool = False) -> Tensor:
    """Dropout that keeps SELU's mean 0 and variance 1: dropped elements become
    -scale * alpha, then an affine map a * x + b restores the moments."""
    _check_p(p, "alpha_dropout")
    if not training or p == 0:
        return input
    x = NF._float_input(input, "alpha_dropout")
    if p == 1:
        return _F.mul(x, 0.0)
    keep = _keep_mask(x._data.shape, p, x._data.dtype)
    a = (1.0 / ((1 - p) * (1 + p * _SELU_ALPHA_P ** 2))) ** 0.5
    b = _make(((1 - keep) * _SELU_ALPHA_P * a + (-a * _SELU_ALPHA_P * p)).astype(keep.dtype))
    return _F.add(_F.mul(x, _make(keep * a)), b)


# ---------------------------------------------------------------------------------------------
# Smooth L1 and Huber
# ---------------------------------------------------------------------------------------------


def _huber_like(input: Tensor, target: Tensor, reduction: str, delta: float, op: str,
                scale: float) -> Tensor:
    NF._check_reduction(reduction, op)
    if delta < 0:
        raise ValueError(f"{op}: {'beta' if op.startswith('smooth') else 'delta'} must be "
                         f">= 0, got {delta}")
    x = NF._float_input(input, op)
    d = _F.sub(x, NF._same_shape_target(x, target, op))
    ad = _F.abs(d)
    if delta == 0:
        return NF._reduce(ad, reduction)
    quad = _F.mul(_F.mul(d, d), 0.5 * scale)
    lin = _F.mul(_F.sub(ad, 0.5 * delta), delta * scale)
    return NF._reduce(_F.where(_F.lt(ad, delta), quad, lin), reduction)


def smooth_l1_loss(input: Tensor, target: Tensor, size_average: Any = None, reduce: Any = None,
                   reduction: str = "mean", beta: float = 1.0) -> Tensor:
    """0.5 d^2 / beta where |d| < beta, |d| - 0.5 beta elsewhere (d = input - target)."""
    from .legacy import legacy_reduction

    reduction = legacy_reduction(size_average, reduce, reduction)
    return _huber_like(input, target, reduction, beta, "smooth_l1_loss", 1.0 / beta
                       if beta else 1.0)


def huber_loss(input: Tensor, target: Tensor, reduction: str = "mean",
               delta: float = 1.0, weight: Tensor | None = None) -> Tensor:
    """0.5 d^2 where |d| < delta, delta (|d| - 0.5 delta) elsewhere: smooth_l1 * delta."""
    if weight is not None:
        loss = _huber_like(input, target, "none", delta, "huber_loss", 1.0)
        return NF._reduce(_F.mul(loss, NF._tensor(weight)), reduction)
    return _huber_like(input, target, reduction, delta, "huber_loss", 1.0)
