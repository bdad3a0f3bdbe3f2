"""ONNX converters of the elementwise, reduction, shape, indexing and matrix primitives
(``core/primitives/elementwise.py`` and ``structure.py``)."""

from __future__ import annotations

from typing import Any

from ..backend import ndarray, xp
from ..core.graph import Node
from .builder import INT64_MAX, INT64_MIN, Arg, Ctx, converter

# ---------------------------------------------------------------------------------------------
# Elementwise
# ---------------------------------------------------------------------------------------------

_BINARY = {"add": "Add", "sub": "Sub", "mul": "Mul", "div": "Div", "pow": "Pow",
           "maximum": "Max", "minimum": "Min"}
_UNARY = {"neg": "Neg", "exp": "Exp", "log": "Log", "sqrt": "Sqrt", "sin": "Sin", "cos": "Cos",
          "tanh": "Tanh", "sigmoid": "Sigmoid", "relu": "Relu", "abs": "Abs"}


@converter(*_BINARY)
def binary(ctx: Ctx, node: Node, args: list[Arg]) -> str:
    # NOTE: ONNX wants both operands in one type; chainrule's NumPy forward promoted them.
    return ctx.op(_BINARY[node.name], [a.as_dtype(node.dtype) for a in args])


@converter(*_UNARY)
def unary(ctx: Ctx, node: Node, args: list[Arg]) -> str:
    return ctx.op(_UNARY[node.name], [args[0].as_dtype(node.dtype)])


@converter("where")
def where(ctx: Ctx, node: Node, args: list[Arg]) -> str:
    c, x, y = args
    cond = c.name if c.dtype == xp.bool_ else ctx.op("Cast", [c.name], to=ctx.dtype_code(
        xp.bool_))
    return ctx.op("Where", [cond, x.as_dtype(node.dtype), y.as_dtype(node.dtype)])


@converter("erf")
def erf(ctx: Ctx, node: Node, args: list[Arg]) -> str:
    return ctx.op("Erf", [args[0].as_dtype(node.dtype)])


@converter("erfc")
def erfc(ctx: Ctx, node: Node, args: list[Arg]) -> str:
    # NOTE: ONNX has no Erfc: 1 - Erf(x), which loses the far tail (x > ~4 in float32 gives 0
    # where chainrule keeps the tiny value); within 1e-5 absolute everywhere.
    x = args[0].as_dtype(node.dtype)
    return ctx.op("Sub", [ctx.scalar(1.0, node.dtype), ctx.op("Erf", [x])])


@converter("expm1")
def expm1(ctx: Ctx, node: Node, args: list[Arg]) -> str:
    # NOTE: ONNX has no Expm1: Exp(x) - 1 (absolute error ~1e-7 near 0 in float32).
    x = args[0].as_dtype(node.dtype)
    return ctx.op("Sub", [ctx.op("Exp", [x]), ctx.scalar(1.0, node.dtype)])


@converter("log1p")
def log1p(ctx: Ctx, node: Node, args: list[Arg]) -> str:
    x = args[0].as_dtype(node.dtype)
    return ctx.op("Log", [ctx.op("Add", [x, ctx.scalar(1.0, node.dtype)])])


def stable_softplus(ctx: Ctx, x: str, dtype: Any) -> str:
    """log(1 + e^x) as max(x, 0) + log(1 + e^-|x|): no overflow for large x."""
    tail = ctx.op("Exp", [ctx.op("Neg", [ctx.op("Abs", [x])])])
    return ctx.op("Add", [ctx.op("Relu", [x]),
                          ctx.op("Log", [ctx.op("Add", [tail, ctx.scalar(1.0, dtype)])])])


@converter("softplus")
def softplus(ctx: Ctx, node: Node, args: list[Arg]) -> str:
    if node.params():  # the function cr.softplus (beta, threshold), recorded whole
        beta, threshold = float(node.params()["beta"]), float(node.params()["threshold"])
        x = args[0].as_dtype(node.dtype)
        bx = x if beta == 1 else ctx.op("Mul", [x, ctx.scalar(beta, node.dtype)])
        sp = stable_softplus(ctx, bx, node.dtype)
        if beta != 1:
            sp = ctx.op("Div", [sp, ctx.scalar(beta, node.dtype)])
        big = ctx.op("Greater", [bx, ctx.scalar(threshold, node.dtype)])
        return ctx.op("Where", [big, x, sp])
    return stable_softplus(ctx, args[0].as_dtype(node.dtype), node.dtype)


@converter("clamp")
def clamp(ctx: Ctx, node: Node, args: list[Arg]) -> str:
    bounds = []
    for key in ("min", "max"):
        v = node.params().get(key)
        if v is None:
            bounds.append("")
            continue
        v = getattr(v, "_data", v)
        if getattr(v, "ndim", 0) != 0:
            raise ctx.error(f"clamp with a tensor {key} of shape {xp.shape(v)} is not "
                            "exported; clamp to numbers")
        bounds.append(ctx.scalar(float(v), node.dtype))
    while bounds and bounds[-1] == "":
        bounds.pop()
    return ctx.op("Clip", [args[0].as_dtype(node.dtype)] + bounds)


@converter("cast")
def cast(ctx: Ctx, node: Node, args: list[Arg]) -> str:
    return ctx.op("Cast", [args[0].name], to=ctx.dtype_code(node.dtype))


@converter("tanh_grad")
def tanh_grad(ctx: Ctx, node: Node, args: list[Arg]) -> str:  # g (1 - t^2)
    g, t = (a.as_dtype(node.dtype) for a in args)
    one = ctx.scalar(1.0, node.dtype)
    return ctx.op("Mul", [g, ctx.op("Sub", [one, ctx.op("Mul", [t, t])])])


@converter("sigmoid_grad")
def sigmoid_grad(ctx: Ctx, node: Node, args: list[Arg]) -> str:  # (g s) (1 - s)
    g, s = (a.as_dtype(node.dtype) for a in args)
    one = ctx.scalar(1.0, node.dtype)
    return ctx.op("Mul", [ctx.op("Mul", [g, s]), ctx.op("Sub", [one, s])])


# ---------------------------------------------------------------------------------------------
# Reductions, shapes, products
# ---------------------------------------------------------------------------------------------

_REDUCE = {"sum": "ReduceSum", "amax": "ReduceMax", "prod": "ReduceProd"}


@converter(*_REDUCE)
def reduce(ctx: Ctx, node: Node, args: list[Arg]) -> str:
    axis = node.params()["axis"]
    axes = None if axis is None else ((axis,) if isinstance(axis, int) else tuple(axis))
    if axes == ():
        return ctx.op("Identity", [args[0].name])
    return ctx.reduce(_REDUCE[node.name], args[0].name, axes, bool(node.params()["keepdim"]))


@converter("reshape", sizes=("shape_to",))
def reshape(ctx: Ctx, node: Node, args: list[Arg]) -> str:
    # the recorded output shape (no -1 in it), with its dynamic sizes computed at run time
    shape = ctx.shape_expr(node.shape, ctx.pair[node].shape, "the reshape's target shape",
                           minus_one=True)
    zero = 0 in node.shape  # a literal 0 is a size, not "copy the input's" (ONNX's default)
    return ctx.op("Reshape", [args[0].name, shape], allowzero=1 if zero else None)


@converter("permute")
def permute(ctx: Ctx, node: Node, args: list[Arg]) -> str:
    return ctx.op("Transpose", [args[0].name], perm=[int(d) for d in node.params()["dims"]])


@converter("broadcast_to", sizes=("shape_to",))
def broadcast_to(ctx: Ctx, node: Node, args: list[Arg]) -> str:
    x = args[0]
    out1, out2 = node.shape, ctx.pair[node].shape
    lead = len(out1) - len(x.shape)
    # Expand broadcasts: where the input already has the size, 1 will do (no dynamic size)
    s1, s2 = list(out1), list(out2)
    for i in range(len(x.shape)):
        if (x.shape[i], x.shape2[i]) == (out1[lead + i], out2[lead + i]):
            s1[lead + i] = s2[lead + i] = 1
    return ctx.op("Expand", [x.name, ctx.shape_expr(s1, s2, "broadcast_to's target shape")])


@converter("cat")
def cat(ctx: Ctx, node: Node, args: list[Arg]) -> str:
    return ctx.op("Concat", [a.as_dtype(node.dtype) for a in args],
                  axis=int(node.params()["axis"]))


@converter("matmul")
def matmul(ctx: Ctx, node: Node, args: list[Arg]) -> str:
    return ctx.op("MatMul", [a.as_dtype(node.dtype) for a in args])


# ---------------------------------------------------------------------------------------------
# Indexing
# ---------------------------------------------------------------------------------------------


def _expand_ellipsis(index: tuple, ndim: int) -> list[Any]:
    idx = list(index)
    used = sum(1 for i in idx if i is not None and i is not Ellipsis)
    for k, i in enumerate(idx):
        if i is Ellipsis:
            return idx[:k] + [slice(None)] * (ndim - used) + idx[k + 1:]
    return idx + [slice(None)] * (ndim - used)


def _position(ctx: Ctx, v1: Any, v2: Any, n1: int, n2: int, what: str) -> Any:
    """An index or bound the same in both traces, or the same distance from the end (x[-1]
    written x[T - 1]); else an error."""
    if v1 == v2:
        return v1 if v1 is None else int(v1)
    if v1 is not None and v2 is not None and v1 - n1 == v2 - n2 and v1 - n1 < 0:
        return int(v1 - n1)
    raise ctx.error(f"its {what} ({v1}, {v2} for other inputs) follows a dynamic size in "
                    "a way ONNX cannot compute; index from the end (x[-1], x[:-2]) or use a "
                    "fixed size")


def _slice_bounds(ctx: Ctx, s1: slice, s2: slice, n1: int, n2: int) -> tuple[int, int, int]:
    step = 1 if s1.step is None else int(s1.step)
    start = _position(ctx, s1.start, s2.start, n1, n2, "slice start")
    stop = _position(ctx, s1.stop, s2.stop, n1, n2, "slice stop")
    if s1.start is None:
        start = 0 if step > 0 else INT64_MAX
    if s1.stop is None:
        stop = INT64_MAX if step > 0 else INT64_MIN
    return start, stop, step


def _index_array(ctx: Ctx, a1: ndarray, a2: Any) -> str:
    name = ctx.input_name(a1)
    if name is not None:
        return name
    from .trace import same

    if not same(a1, a2):
        raise ctx.error(f"it indexes with an integer array of shape {a1.shape} that changed "
                        "with the input (computed from it outside the graph); index with an "
                        "input of the model, or a fixed array")
    return ctx.const(a1.astype(xp.int64))


@converter("getitem", sizes=("index",))
def getitem(ctx: Ctx, node: Node, args: list[Arg]) -> str:
    x = args[0]
    idx1 = _expand_ellipsis(node.params()["index"], len(x.shape))
    idx2 = _expand_ellipsis(ctx.pair[node].params()["index"], len(x.shape2))
    arrays = [k for k, i in enumerate(idx1) if isinstance(i, ndarray)]
    if arrays and (len(arrays) > 1 or any(not isinstance(i, slice) for k, i in enumerate(idx1)
                                          if k != arrays[0])
                   or idx1[arrays[0]].dtype.kind not in "iu"):
        raise ctx.error("only one integer index array, with slices elsewhere (x[idx], "
                        "x[:, idx]), is exported; split the indexing into steps")
    spans: list[tuple[int, int, int, int]] = []  # (start, end, step, axis) for one Slice
    squeeze: list[int] = []
    unsqueeze: list[int] = []
    ax = out = 0
    for i1, i2 in zip(idx1, idx2):
        if i1 is None:
            unsqueeze.append(out)
            out += 1
            continue
        n1, n2 = x.shape[ax], x.shape2[ax]
        if isinstance(i1, slice):
            b = _slice_bounds(ctx, i1, i2, n1, n2)
            if b != (0, INT64_MAX, 1):
                spans.append(b + (ax,))
            out += 1
        elif isinstance(i1, int):
            p = _position(ctx, i1, i2, n1, n2, "index")
            spans.append((p, p + 1 if p != -1 else INT64_MAX, 1, ax))
            squeeze.append(ax)
        ax += 1
    y = x.name
    if spans:
        starts, ends, steps, axes = zip(*spans)
        y = ctx.op("Slice", [y, ctx.ints(starts), ctx.ints(ends), ctx.ints(axes),
                             ctx.ints(steps)])
    if arrays:
        k = arrays[0]
        return ctx.op("Gather", [y, _index_array(ctx, idx1[k], idx2[k])], axis=k)
    if squeeze:
        y = ctx.op("Squeeze", [y, ctx.ints(squeeze)])
    if unsqueeze:
        y = ctx.op("Unsqueeze", [y, ctx.ints(unsqueeze)])
    return y if y != x.name else ctx.op("Identity", [y])



@converter("index_put")
def index_put(ctx: Ctx, node: Node, args: list[Arg]) -> str:
    """``x[index] = v`` (out of place) as a scatter over the flattened x: the positions
    written are worked out here, so the shape of x must be fixed."""
    x, v = args
    from .trace import same

    if x.shape != x.shape2 or not same(node.params()["index"], ctx.pair[node].params()["index"]):
        raise ctx.error("x[index] = v on a tensor whose size follows a dynamic axis is not "
                        "exported; build the tensor with cat/where instead")
    pos = xp.arange(int(xp.prod(x.shape)), dtype=xp.int64).reshape(x.shape)[
        node.params()["index"]]
    if xp.unique(pos).size != pos.size:
        raise ctx.error("x[index] = v with a repeated index is not exported (ONNX's scatter "
                        "leaves the order of repeated writes unspecified)")
    flat = ctx.op("Reshape", [x.as_dtype(node.dtype), ctx.ints([-1])])
    vals = ctx.op("Expand", [v.as_dtype(node.dtype), ctx.ints(pos.shape)])
    out = ctx.op("ScatterElements", [flat, ctx.const(pos.reshape(-1)),
                                     ctx.op("Reshape", [vals, ctx.ints([-1])])], axis=0)
    return ctx.op("Reshape", [out, ctx.ints(x.shape)])
