"""Convolution, pooling and batch normalisation of ``nn.functional`` (NCHW, as PyTorch)."""

from __future__ import annotations

import math
import operator
from typing import Any

from .. import backend as B
from ..backend import ndarray, xp
from ..core import functional as _F
from ..core.graph import apply
from ..core.primitives import conv as _conv_prims
from ..core.primitives.batchnorm import BatchNorm as _BatchNorm
from ..core.primitives.conv import Conv2d as _Conv2d
from ..core.tensor import Tensor, _make, _to_array
from .functional_base import _float_input, _tensor


# ---------------------------------------------------------------------------------------------
# Convolution, pooling and normalisation (NCHW, as PyTorch)
# ---------------------------------------------------------------------------------------------


def _int_pair(v: Any, what: str, op: str, minimum: int) -> tuple[int, int]:
    """An int or a pair of ints (as PyTorch's ``_pair``), each at least ``minimum``."""
    items = list(v) if isinstance(v, (tuple, list)) else [v, v]
    if len(items) == 1:
        items = items * 2
    try:
        if len(items) != 2 or any(isinstance(i, bool) for i in items):
            raise TypeError
        pair = (operator.index(items[0]), operator.index(items[1]))
    except TypeError:
        raise TypeError(f"{op}: {what} must be an int or a pair of ints, got {v!r}") from None
    if min(pair) < minimum:
        raise ValueError(f"{op}: {what} must be at least {minimum}, got {v!r}")
    return pair


def _image_batch(x: Tensor, op: str) -> tuple[Tensor, bool]:
    """(N, C, H, W) as is, an unbatched (C, H, W) with a batch dim of 1 added."""
    shape = tuple(x._data.shape)
    if len(shape) == 4:
        return x, False
    if len(shape) == 3:
        return _F.reshape(x, (1,) + shape), True
    hint = ""
    if len(shape) == 2:
        side = math.isqrt(shape[1])
        hint = ("; for rows of flat pixels reshape them to (N, C, H, W) first"
                + (f", e.g. x.reshape(-1, 1, {side}, {side})" if side * side == shape[1] else ""))
    raise ValueError(
        f"{op}: expected a 4-D input (N, C, H, W) or a 3-D unbatched input (C, H, W), got "
        f"shape {shape}{hint}"
    )


def _same_float_dtype(x: Tensor, w: Tensor, op: str, what: str = "weight") -> None:
    if x._data.dtype.kind != "f":
        raise TypeError(f"{op}: expected a floating-point input, got {x.dtype} (shape "
                        f"{tuple(x.shape)}); convert it with x.float()")
    if x._data.dtype != w._data.dtype:
        raise TypeError(
            f"{op}: input dtype {x.dtype} does not match the {what} dtype {w.dtype}; convert "
            f"the input (x.to({w.dtype.name!r})) or the layer (.to({x.dtype.name!r}))"
        )


def _conv_padding(padding: Any, kernel: tuple[int, int], stride: tuple[int, int],
                  dilation: tuple[int, int], op: str) -> tuple[tuple[int, int], ...]:
    """((top, bottom), (left, right)) from an int, a pair, 'valid' or 'same'."""
    if isinstance(padding, str):
        if padding == "valid":
            return ((0, 0), (0, 0))
        if padding == "same":
            if stride != (1, 1):
                raise ValueError(f"{op}: padding='same' is not supported for strided "
                                 f"convolutions (stride={stride}); give the padding as numbers")
            # NOTE: as PyTorch: an odd total padding puts the extra row/column at the end.
            tot = [d * (k - 1) for k, d in zip(kernel, dilation)]
            return tuple((t // 2, t - t // 2) for t in tot)
        raise ValueError(f"{op}: padding must be 'valid', 'same', an int or a pair of ints, "
                         f"got {padding!r}")
    ph, pw = _int_pair(padding, "padding", op, 0)
    return ((ph, ph), (pw, pw))


def conv2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: Any = 1,
           padding: Any = 0, dilation: Any = 1, groups: int = 1) -> Tensor:
    """2-D convolution (a cross-correlation, as PyTorch): input (N, C, H, W) or (C, H, W),
    weight (O, C / groups, kH, kW), bias (O,); output (N, O, H', W') with
    y[n, o, p, q] = b[o] + sum_{c, i, j} xpad[n, c, p s + i d, q s + j d] w[o, c, i, j].

    ``padding`` is an int, a pair, 'valid' (none) or 'same' (output size = input size,
    stride 1 only). The result's memory is channels-last (NHWC), its shape NCHW.

    >>> import chainrule as cr
    >>> import chainrule.nn.functional as F
    >>> x = cr.arange(16.0).reshape(1, 1, 4, 4)
    >>> F.conv2d(x, cr.ones(1, 1, 2, 2), stride=2)
    tensor([[[[10., 18.],
              [42., 50.]]]])
    >>> F.conv2d(x, cr.ones(2, 1, 3, 3), padding="same").shape
    torch.Size([1, 2, 4, 4])
    """
    return _conv2d(input, weight, bias, stride, padding, dilation, groups, None)


def _conv2d(x: Any, w: Any, b: Any, stride: Any, padding: Any, dilation: Any, groups: Any,
            layer: str | None) -> Tensor:
    w = _tensor(w)
    op = layer or "conv2d"
    if w._data.ndim != 4:
        raise ValueError(f"{op}: weight must be 4-D (out_channels, in_channels / groups, kH, "
                         f"kW), got shape {tuple(w.shape)}")
    if not isinstance(x, (Tensor, ndarray)):
        x = _make(_to_array(x, w._data.dtype))  # Python data has no dtype: take the weight's
    x4, unbatched = _image_batch(_tensor(x), op)
    O, Cg, kh, kw = w._data.shape
    N, C, H, W = x4._data.shape
    if isinstance(groups, bool) or not isinstance(groups, int) or groups < 1:
        raise ValueError(f"{op}: groups must be a positive int, got {groups!r}")
    if O % groups or C % groups:
        what = (f"out_channels ({O}, weight shape {tuple(w.shape)})" if O % groups
                else f"the input's {C} channels (shape {tuple(x.shape)})")
        raise ValueError(f"{op}: {what} must be divisible by groups={groups}")
    if C != Cg * groups:
        g = f" with groups={groups}" if groups > 1 else ""
        hint = ""
        if x4._data.shape[3] == Cg * groups:
            hint = ("; the channels must be dim 1 (N, C, H, W): for channels-last images use "
                    "x.permute(0, 3, 1, 2)")
        raise ValueError(
            f"{op}: expected an input with {Cg * groups} channels (weight of shape "
            f"{tuple(w.shape)}{g}), got {C} channels: input of shape {tuple(x.shape)}{hint}"
        )
    _same_float_dtype(x4, w, op)
    s = _int_pair(stride, "stride", op, 1)
    d = _int_pair(dilation, "dilation", op, 1)
    pads = _conv_padding(padding, (kh, kw), s, d, op)
    padded = (H + sum(pads[0]), W + sum(pads[1]))
    extent = (d[0] * (kh - 1) + 1, d[1] * (kw - 1) + 1)
    if extent[0] > padded[0] or extent[1] > padded[1]:
        dil = f", {extent[0]}x{extent[1]} with dilation {d}" if d != (1, 1) else ""
        raise ValueError(
            f"{op}: the kernel ({kh}x{kw}{dil}) is larger than the padded input "
            f"({padded[0]}x{padded[1]}: the input's {H}x{W} plus padding {pads}); use a "
            "smaller kernel, more padding, or larger images"
        )
    if b is not None:
        b = _tensor(b)
        if b._data.shape != (O,):
            raise ValueError(f"{op}: bias must have shape ({O},), got {tuple(b.shape)}")
        _same_float_dtype(x4, b, op, "bias")
    node = _Conv2d(s, pads, d, groups)
    out = apply(node, x4, w) if b is None else apply(node, x4, w, b)
    return _F.reshape(out, out._data.shape[1:]) if unbatched else out


def _pool_args(op: str, x: Any, kernel_size: Any, stride: Any, padding: Any, dilation: Any,
               ceil_mode: bool) -> tuple[Tensor, bool, tuple, tuple, tuple, tuple]:
    if ceil_mode:
        raise NotImplementedError(f"{op}: ceil_mode=True is not supported; pad the input "
                                  "(padding=...) to cover the last partial window instead")
    x4, unbatched = _image_batch(_float_input(x, op), op)
    k = _int_pair(kernel_size, "kernel_size", op, 1)
    s = k if stride is None or (isinstance(stride, (tuple, list)) and not stride) else \
        _int_pair(stride, "stride", op, 1)
    p = _int_pair(padding, "padding", op, 0)
    d = _int_pair(dilation, "dilation", op, 1)
    for pi, ki, di in zip(p, k, d):
        if 2 * pi > di * (ki - 1) + 1:
            raise ValueError(f"{op}: padding must be at most half of the (dilated) kernel "
                             f"size, got padding={p}, kernel_size={k}, dilation={d}")
    H, W = x4._data.shape[2:]
    out = _conv_prims.out_size(H, k[0], s[0], p[0], p[0], d[0]), \
        _conv_prims.out_size(W, k[1], s[1], p[1], p[1], d[1])
    if min(out) < 1:
        raise ValueError(
            f"{op}: the input of shape {tuple(x4.shape)} is too small for a {k[0]}x{k[1]} "
            f"window (stride {s}, padding {p}, dilation {d}): the output would be "
            f"{out[0]}x{out[1]}; use a smaller kernel or more padding"
        )
    return x4, unbatched, k, s, p, d


def max_pool2d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0,
               dilation: Any = 1, ceil_mode: bool = False, return_indices: bool = False) -> Any:
    """The maximum of each kernel_size window (stride defaults to kernel_size), on
    (N, C, H, W) or (C, H, W); padding counts as -inf. The gradient goes to the first
    maximum of each window, as in PyTorch. With ``return_indices`` also the flat index
    (h * W + w) of each maximum in its input plane.

    >>> import chainrule as cr
    >>> import chainrule.nn.functional as F
    >>> F.max_pool2d(cr.arange(16.0).reshape(1, 1, 4, 4), 2)
    tensor([[[[ 5.,  7.],
              [13., 15.]]]])
    """
    x4, unbatched, k, s, p, d = _pool_args("max_pool2d", input, kernel_size, stride, padding,
                                           dilation, ceil_mode)
    node = _conv_prims.MaxPool2d(k, s, p, d)
    out = apply(node, x4)
    if unbatched:
        out = _F.reshape(out, out._data.shape[1:])
    if not return_indices:
        return out
    tap = node._index.astype(B.int64)
    Ho, Wo = tap.shape[2:]
    rows = (xp.arange(Ho) * s[0] - p[0])[:, None] + (tap // k[1]) * d[0]
    cols = (xp.arange(Wo) * s[1] - p[1]) + (tap % k[1]) * d[1]
    index = rows * x4._data.shape[3] + cols
    return out, _make(index[0] if unbatched else index)


def avg_pool2d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0,
               ceil_mode: bool = False, count_include_pad: bool = True,
               divisor_override: int | None = None) -> Tensor:
    """The mean of each kernel_size window (stride defaults to kernel_size), on (N, C, H, W)
    or (C, H, W); zero padding counts in the mean unless count_include_pad=False.

    >>> import chainrule as cr
    >>> import chainrule.nn.functional as F
    >>> F.avg_pool2d(cr.arange(16.0).reshape(1, 1, 4, 4), 2)
    tensor([[[[ 2.5000,  4.5000],
              [10.5000, 12.5000]]]])
    """
    x4, unbatched, k, s, p, _ = _pool_args("avg_pool2d", input, kernel_size, stride, padding,
                                           1, ceil_mode)
    divisor: Any
    if divisor_override is not None:
        if isinstance(divisor_override, bool) or not isinstance(divisor_override, int) \
                or divisor_override == 0:
            raise ValueError(f"avg_pool2d: divisor_override must be a non-zero int, got "
                             f"{divisor_override!r}")
        divisor = float(divisor_override)
    elif count_include_pad or p == (0, 0):
        divisor = float(k[0] * k[1])
    else:  # the number of real (not padding) elements in each window
        H, W = x4._data.shape[2:]
        Ho, Wo = _conv_prims.out_size(H, k[0], s[0], p[0], p[0], 1), \
            _conv_prims.out_size(W, k[1], s[1], p[1], p[1], 1)
        start_h, start_w = xp.arange(Ho) * s[0] - p[0], xp.arange(Wo) * s[1] - p[1]
        n_h = xp.minimum(start_h + k[0], H) - xp.maximum(start_h, 0)
        n_w = xp.minimum(start_w + k[1], W) - xp.maximum(start_w, 0)
        divisor = (n_h[:, None] * n_w[None, :]).astype(x4._data.dtype)
    out = apply(_conv_prims.AvgPool2d(k, s, p, divisor), x4)
    return _F.reshape(out, out._data.shape[1:]) if unbatched else out


def _update_running(r: Tensor, node: Any, slot: str, momentum: float,
                    factor: float | None) -> None:
    """r = m * stat + (1 - m) * r, in place (as PyTorch) and in float64, for the statistic
    ``slot`` the batch norm ``node`` kept (times ``factor``: the unbiased variance).
    A function of its own so that cr.compile can replay it."""
    stat = getattr(node, slot)
    if factor is not None:
        stat = stat * factor
    rd = r._data
    rd[...] = momentum * stat.astype(B.float64) + (1 - momentum) * rd.astype(B.float64)
    r._vc[0] += 1


def _count_batch(t: Tensor) -> None:
    """``num_batches_tracked += 1`` in place (a function so that cr.compile replays it)."""
    t._data += 1
    t._vc[0] += 1


def batch_norm(input: Tensor, running_mean: Tensor | None, running_var: Tensor | None,
               weight: Tensor | None = None, bias: Tensor | None = None,
               training: bool = False, momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """(x - mean) / sqrt(var + eps) * weight + bias per channel (dim 1) of (N, C, ...).

    In training, mean and var are the batch's (biased var), and the running estimates, when
    given, move towards them in place: r = (1 - momentum) r + momentum * stat, with the
    unbiased variance (as PyTorch). Otherwise the running estimates are used.

    >>> import chainrule as cr
    >>> import chainrule.nn.functional as F
    >>> x = cr.tensor([[1.0], [3.0]])
    >>> rm, rv = cr.zeros(1), cr.ones(1)
    >>> F.batch_norm(x, rm, rv, training=True)
    tensor([[-1.0000],
            [ 1.0000]])
    >>> rm, rv
    (tensor([0.2000]), tensor([1.1000]))
    """
    op = "batch_norm"
    x = _float_input(input, op)
    shape = tuple(x._data.shape)
    if len(shape) < 2:
        raise ValueError(f"{op}: expected an input of shape (N, C) or (N, C, ...), with the "
                         f"channels in dim 1, got shape {shape}")
    C = shape[1]
    for what, t in (("running_mean", running_mean), ("running_var", running_var),
                    ("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != (C,):
            raise ValueError(f"{op}: {what} must have shape ({C},) for an input with {C} "
                             f"channels (shape {shape}), got {tuple(t.shape)}")
    dt = x._data.dtype
    if training:
        M = x._data.size // C if C else 0
        if M <= 1:
            raise ValueError(
                f"{op}: expected more than 1 value per channel when training, got input of "
                f"shape {shape}; use a batch of at least 2, or call model.eval() to use the "
                "running statistics"
            )
        w = _tensor(weight) if weight is not None else _make(xp.ones(C, dt))
        b = _tensor(bias) if bias is not None else _make(xp.zeros(C, dt))
        _same_float_dtype(x, w, op)
        _same_float_dtype(x, b, op, "bias")
        node = _BatchNorm(float(eps))
        out = apply(node, x, w, b)
        for r, slot, factor in ((running_mean, "_mean", None), (running_var, "_var", M / (M - 1))):
            if r is not None:
                _update_running(r, node, slot, momentum, factor)
        return out
    if running_mean is None or running_var is None:
        raise ValueError(f"{op}: running_mean and running_var are needed when training=False "
                         "(they replace the batch statistics); pass them, or training=True")
    rm, rv = _tensor(running_mean), _tensor(running_var)
    bshape = (1, C) + (1,) * (len(shape) - 2)
    if rm._data.dtype != dt:
        rm = _F.cast(rm, dt)
    if rv._data.dtype != dt:
        rv = _F.cast(rv, dt)
    scale = _F.div(1.0, _F.sqrt(_F.add(rv, float(eps))))
    if weight is not None:
        scale = _F.mul(_tensor(weight), scale)
    shift = _F.neg(_F.mul(rm, scale))
    if bias is not None:
        shift = _F.add(_tensor(bias), shift)
    return _F.add(_F.mul(x, _F.reshape(scale, bshape)), _F.reshape(shift, bshape))
