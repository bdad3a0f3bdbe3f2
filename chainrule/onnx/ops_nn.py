"""ONNX converters of the layer primitives (convolution, pooling, normalisation, softmax,
recurrent layers: ``core/primitives/conv.py``, ``norm.py``, ``recurrent.py``) and of the
activation functions a trace records whole (``leaky_relu``, ``elu``, ``gelu``: see
``trace.OPAQUE``)."""

from __future__ import annotations

import math

from ..backend import xp
from ..core.graph import Node
from ..core.primitives.recurrent import GATES
from .builder import Arg, Ctx, converter

# ---------------------------------------------------------------------------------------------
# Convolution and pooling (NCHW, as ONNX)
# ---------------------------------------------------------------------------------------------


@converter("conv2d")
def conv2d(ctx: Ctx, node: Node, args: list[Arg]) -> str:
    p = node.params()
    (pt, pb), (pl, pr) = p["padding"]
    w = args[1]
    return ctx.op("Conv", [a.as_dtype(node.dtype) for a in args],
                  kernel_shape=list(w.shape[2:]), strides=list(p["stride"]),
                  pads=[pt, pl, pb, pr], dilations=list(p["dilation"]), group=int(p["groups"]))


@converter("max_pool2d")
def max_pool2d(ctx: Ctx, node: Node, args: list[Arg]) -> str:
    p = node.params()
    ph, pw = p["padding"]
    return ctx.op("MaxPool", [args[0].name], kernel_shape=list(p["kernel"]),
                  strides=list(p["stride"]), pads=[ph, pw, ph, pw],
                  dilations=list(p["dilation"]))


@converter("avg_pool2d")
def avg_pool2d(ctx: Ctx, node: Node, args: list[Arg]) -> str:
    p = node.params()
    (kh, kw), (ph, pw), divisor = p["kernel"], p["padding"], p["divisor"]
    # divisor: kh*kw (padding counts), a (Ho, Wo) array of real elements per window
    # (count_include_pad=False), or divisor_override
    per_window = not isinstance(divisor, float)
    y = ctx.op("AveragePool", [args[0].name], kernel_shape=[kh, kw], strides=list(p["stride"]),
               pads=[ph, pw, ph, pw], count_include_pad=0 if per_window else 1)
    if not per_window and divisor != kh * kw:
        y = ctx.op("Mul", [y, ctx.scalar(kh * kw / divisor, node.dtype)])
    return y


# ---------------------------------------------------------------------------------------------
# Normalisation and softmax
# ---------------------------------------------------------------------------------------------


@converter("batch_norm")
def batch_norm(ctx: Ctx, node: Node, args: list[Arg]) -> str:
    # the batch's own statistics (training=True in an eval-mode export): written out
    x, w, b = (a.as_dtype(node.dtype) for a in args)
    nd = len(args[0].shape)
    axes = [0] + list(range(2, nd))
    shape = ctx.ints([1, -1] + [1] * (nd - 2))
    xc = ctx.op("Sub", [x, ctx.reduce("ReduceMean", x, axes, True)])
    var = ctx.reduce("ReduceMean", ctx.op("Mul", [xc, xc]), axes, True)
    invstd = ctx.op("Reciprocal", [ctx.op("Sqrt", [ctx.op("Add", [
        var, ctx.scalar(float(node.params()["eps"]), node.dtype)])])])
    scale = ctx.op("Mul", [invstd, ctx.op("Reshape", [w, shape])])
    return ctx.op("Add", [ctx.op("Mul", [xc, scale]), ctx.op("Reshape", [b, shape])])


@converter("layer_norm")
def layer_norm(ctx: Ctx, node: Node, args: list[Arg]) -> str:
    p = node.params()
    x = args[0]
    k = int(p["ndim"])
    trailing = x.shape[len(x.shape) - k:]
    if trailing != x.shape2[len(x.shape2) - k:]:
        raise ctx.error("layer_norm over a dynamic axis is not exported")
    ones = ctx.const(xp.ones(trailing, node.dtype))
    return ctx.op("LayerNormalization", [x.as_dtype(node.dtype), ones], axis=-k,
                  epsilon=float(p["eps"]))


@converter("softmax")
def softmax(ctx: Ctx, node: Node, args: list[Arg]) -> str:
    # NOTE: a row that is all -inf gives zeros in chainrule and nan in ONNX's Softmax.
    return ctx.op("Softmax", [args[0].as_dtype(node.dtype)], axis=-1)


# ---------------------------------------------------------------------------------------------
# Recurrent layers: ONNX's LSTM / GRU / RNN, one direction each
# ---------------------------------------------------------------------------------------------

# PyTorch's gates (LSTM i f g o, GRU r z n) in ONNX's order (LSTM i o f c, GRU z r h)
_ONNX_GATES = {"lstm": (0, 3, 1, 2), "gru": (1, 0, 2), "rnn_tanh": (0,), "rnn_relu": (0,)}


def _check_cell_reads(ctx: Ctx, node: Node, H: int, reverse: bool) -> None:
    """ONNX's LSTM gives the cell state of the last step only: every op reading the layer's
    output must read c at that step alone (as nn.LSTM does), never c of another step."""
    T = node.shape[0]
    other = xp.ones(node.shape, bool)
    other[:, :, :H] = False
    other[0 if reverse else T - 1] = False
    for consumer, _ in ctx.consumers.get(node, []):
        if consumer.name != "getitem" or other[consumer.params()["index"]].any():
            raise ctx.error("the cell states of every step are read; ONNX's LSTM gives the "
                            "last step's only (read h of every step, c of the last)")


@converter("recurrent_layer")
def recurrent_layer(ctx: Ctx, node: Node, args: list[Arg]) -> str:
    p = node.params()
    mode, reverse = p["mode"], bool(p["reverse"])
    if p["batch_sizes"] is not None:
        raise ctx.error("packed sequences are not exported; pass a padded batch")
    xi, whh, bhh, s0 = args
    dt = node.dtype
    H = whh.shape[1]
    GH = GATES[mode] * H
    rows = xp.concatenate([xp.arange(H) + g * H for g in _ONNX_GATES[mode]])
    # the input projection x W_ih^T + b_ih is done (recorded before): W is a permutation
    W = ctx.const(xp.eye(GH, dtype=dt)[rows][None])
    perm = ctx.ints(rows.tolist())
    R = ctx.op("Unsqueeze", [ctx.op("Gather", [whh.as_dtype(dt), perm], axis=0), ctx.ints([0])])
    Bias = ctx.op("Unsqueeze", [ctx.op("Concat", [ctx.const(xp.zeros(GH, dt)), ctx.op(
        "Gather", [bhh.as_dtype(dt), perm], axis=0)], axis=0), ctx.ints([0])])
    zero_start = (s0.const is not None and s0.const2 is not None and not s0.const.any()
                  and not s0.const2.any())
    state = []
    if not zero_start:
        s = s0.as_dtype(dt)
        parts = [(0, H)] + ([(H, 2 * H)] if mode == "lstm" else [])
        for a, b in parts:
            piece = ctx.op("Slice", [s, ctx.ints([a]), ctx.ints([b]), ctx.ints([1])])
            state.append(ctx.op("Unsqueeze", [piece, ctx.ints([0])]))
    op = {"lstm": "LSTM", "gru": "GRU"}.get(mode, "RNN")
    attrs = {"hidden_size": H, "direction": "reverse" if reverse else "forward"}
    if mode == "gru":
        attrs["linear_before_reset"] = 1  # PyTorch's n = tanh(x_n + r (W_hn h + b_hn))
    if mode.startswith("rnn"):
        attrs["activations"] = ["Tanh" if mode == "rnn_tanh" else "Relu"]
    inputs = [xi.as_dtype(dt), W, R, Bias] + (["", *state] if state else [])
    outs = ctx.op(op, inputs, outputs=3 if mode == "lstm" else 2, **attrs)
    h = ctx.op("Squeeze", [outs[0], ctx.ints([1])])  # (T, 1, B, H) -> (T, B, H)
    if mode != "lstm":
        return h
    _check_cell_reads(ctx, node, H, reverse)
    # c of the last step, at every step (only the last is read: checked above)
    c = ctx.op("Expand", [outs[2], ctx.shape_of(h)])
    return ctx.op("Concat", [h, c], axis=2)


# ---------------------------------------------------------------------------------------------
# Activations recorded whole by the trace
# ---------------------------------------------------------------------------------------------


@converter("leaky_relu")
def leaky_relu(ctx: Ctx, node: Node, args: list[Arg]) -> str:
    return ctx.op("LeakyRelu", [args[0].as_dtype(node.dtype)],
                  alpha=float(node.params()["negative_slope"]))


@converter("elu")
def elu(ctx: Ctx, node: Node, args: list[Arg]) -> str:
    return ctx.op("Elu", [args[0].as_dtype(node.dtype)], alpha=float(node.params()["alpha"]))


@converter("gelu")
def gelu(ctx: Ctx, node: Node, args: list[Arg]) -> str:
    x, dt = args[0].as_dtype(node.dtype), node.dtype
    approximate = node.params()["approximate"]
    if ctx.opset >= 20:
        return ctx.op("Gelu", [x], approximate=approximate)
    half = ctx.op("Mul", [x, ctx.scalar(0.5, dt)])
    if approximate == "tanh":  # 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
        x3 = ctx.op("Mul", [ctx.op("Mul", [x, x]), x])
        inner = ctx.op("Add", [x, ctx.op("Mul", [x3, ctx.scalar(0.044715, dt)])])
        t = ctx.op("Tanh", [ctx.op("Mul", [inner, ctx.scalar(math.sqrt(2 / math.pi), dt)])])
    else:  # 0.5 x (1 + erf(x / sqrt(2)))
        t = ctx.op("Erf", [ctx.op("Mul", [x, ctx.scalar(math.sqrt(0.5), dt)])])
    return ctx.op("Mul", [half, ctx.op("Add", [t, ctx.scalar(1.0, dt)])])


def _dim(node: Node, args: list[Arg], key: str = "dim") -> int:
    nd = len(args[0].shape)
    d = node.params().get(key)
    if d is None:  # PyTorch's legacy implicit choice (reductions._softmax_dim)
        d = 0 if nd in (0, 1, 3) else 1
    if isinstance(d, (tuple, list)):
        if len(d) != 1:
            raise TypeError("one dim expected")
        d = d[0]
    return int(d) % max(nd, 1)


@converter("softmax_dim")
def softmax_dim(ctx: Ctx, node: Node, args: list[Arg]) -> str:
    return ctx.op("Softmax", [args[0].as_dtype(node.dtype)], axis=_dim(node, args))


@converter("log_softmax")
def log_softmax(ctx: Ctx, node: Node, args: list[Arg]) -> str:
    return ctx.op("LogSoftmax", [args[0].as_dtype(node.dtype)], axis=_dim(node, args))


@converter("logsumexp")
def logsumexp(ctx: Ctx, node: Node, args: list[Arg]) -> str:
    nd = len(args[0].shape)
    d = node.params()["dim"]
    axes = [int(a) % nd for a in ((d,) if isinstance(d, int) else d)]
    return ctx.reduce("ReduceLogSumExp", args[0].as_dtype(node.dtype), axes,
                      bool(node.params()["keepdim"]))


@converter("conv2d_input_grad")
def conv_transpose2d(ctx: Ctx, node: Node, args: list[Arg]) -> str:
    """conv2d's input gradient, which is also ``conv_transpose2d``: ONNX's ConvTranspose,
    with the output padding that gives the recorded output size."""
    p = node.params()
    (pt, pb), (pl, pr) = p["padding"]
    g, w = args
    out_pad = []
    for n_in, n_out, k, s, d, pads in zip(g.shape[2:], p["in_hw"], w.shape[2:], p["stride"],
                                          p["dilation"], ((pt, pb), (pl, pr))):
        out_pad.append(int(n_out) - (s * (n_in - 1) + d * (k - 1) + 1 - sum(pads)))
    if min(out_pad) < 0:
        raise ctx.error(f"output size {p['in_hw']} is smaller than ConvTranspose gives")
    return ctx.op("ConvTranspose", [a.as_dtype(node.dtype) for a in args],
                  kernel_shape=list(w.shape[2:]), strides=list(p["stride"]),
                  pads=[pt, pl, pb, pr], dilations=list(p["dilation"]),
                  group=int(p["groups"]), output_padding=out_pad)


@converter("adaptive_max_pool2d")
def adaptive_max_pool2d(ctx: Ctx, node: Node, args: list[Arg]) -> str:
    """MaxPool with the window that tiles the input exactly (ONNX has no adaptive pooling)."""
    x = args[0]
    H, W = x.shape[-2:]
    size = node.params()["output_size"]
    oh, ow = (size, size) if isinstance(size, int) else (
        H if size[0] is None else size[0], W if size[1] is None else size[1])
    if x.shape[-2:] != x.shape2[-2:] or H % oh or W % ow:
        if (oh, ow) == (1, 1):
            return ctx.op("GlobalMaxPool", [x.name])
        raise ctx.error(f"adaptive max pooling of {H}x{W} to {oh}x{ow} (not a whole number of "
                        "windows, or a dynamic size) has no ONNX op; use output size 1 or a "
                        "size that divides the input")
    k = [H // oh, W // ow]
    return ctx.op("MaxPool", [x.name], kernel_shape=k, strides=k)
