"""Building the ONNX graph: the converter registry, the values converters read, and the
context that emits ONNX nodes and initializers.

A converter turns one recorded node into ONNX nodes::

    @converter("relu")
    def relu(ctx, node, args):
        return ctx.op("Relu", [args[0].name])

``args`` are the node's inputs as :class:`Arg` (a value of the ONNX graph, or a constant that
becomes an initializer when its ``name`` is read); the converter returns the name of the
node's output. ``onnx`` itself is imported by :mod:`chainrule.onnx.export` only: converters
go through the context.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

from ..backend import ndarray, xp
from ..core.dtypes import dtype_name
from ..core.graph import Node
from .trace import OnnxExporterError, describe, same

INT64_MAX = 2 ** 63 - 1
INT64_MIN = -(2 ** 63)

Converter = Callable[["Ctx", Node, list["Arg"]], str]
CONVERTERS: dict[str, Converter] = {}
# params a converter handles itself when they differ between the two traces (sizes)
SIZE_PARAMS: dict[str, tuple[str, ...]] = {}


def converter(*names: str, sizes: tuple[str, ...] = ()) -> Callable[[Converter], Converter]:
    """Register ``fn`` as the converter of the ops ``names`` (node names, like ``"add"``).

    ``sizes``: the op's parameters that may follow a dynamic axis (the converter computes
    them at run time); any other parameter must be the same in both traces."""
    def register(fn: Converter) -> Converter:
        for n in names:
            CONVERTERS[n] = fn
            SIZE_PARAMS[n] = sizes
        return fn

    return register


class Arg:
    """One input of the node being converted: a graph value or a constant."""

    __slots__ = ("ctx", "producer", "const", "const2", "shape", "shape2", "dtype", "_name")

    def __init__(self, ctx: Ctx, producer: Node | None, const: ndarray | None,
                 const2: ndarray | None, shape: tuple, shape2: tuple, dtype: Any,
                 name: str | None = None) -> None:
        self.ctx = ctx
        self.producer = producer
        self.const = const
        self.const2 = const2
        self.shape = tuple(shape)
        self.shape2 = tuple(shape2)
        self.dtype = xp.dtype(dtype)
        self._name = name

    @property
    def name(self) -> str:
        """The ONNX value's name (a constant becomes an initializer on first use)."""
        if self._name is None:
            self._name = self.ctx.constant(self)
        return self._name

    def as_dtype(self, dtype: Any) -> str:
        """The value in ``dtype`` (a constant converted here, a value through a Cast)."""
        dtype = xp.dtype(dtype)
        if self.dtype == dtype:
            return self.name
        if self.const is not None and self.ctx.buffer_name(self.const) is None and same(
                self.const, self.const2):
            return self.ctx.const(self.const.astype(dtype))
        return self.ctx.op("Cast", [self.name], to=self.ctx.dtype_code(dtype))


class Ctx:
    """The ONNX graph under construction."""

    def __init__(self, onnx: Any, opset: int, scopes: dict[Node, str],
                 pair: dict[Node, Node], consumers: dict[Node, list[tuple[Node, int]]]) -> None:
        self.onnx = onnx
        self.helper = onnx.helper
        self.opset = opset
        self.scopes = scopes
        self.pair = pair
        self.consumers = consumers
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self.init_names: set[str] = set()
        self.used: set[str] = set()
        self.current: Node | None = None
        self.prefix = ""
        self.inputs: list[tuple[ndarray, str]] = []  # (the input's array, its name)
        self.dim_sources: list[tuple[str, int, int, int]] = []  # (input, axis, size, size2)
        self.buffers: dict[int, tuple[ndarray, str]] = {}  # id(array) -> (array, name)
        self._consts: dict[Any, str] = {}
        self._alive: list[Any] = []  # arrays whose id keys _consts
        self._shapes: dict[str, str] = {}

    # -- names -----------------------------------------------------------------------------
    def fresh(self, base: str) -> str:
        name, k = base, 1
        while name in self.used:
            k += 1
            name = f"{base}_{k}"
        self.used.add(name)
        return name

    def error(self, message: str) -> OnnxExporterError:
        where = describe(self.current, self.scopes) if self.current is not None else "export"
        return OnnxExporterError(f"export: {where}: {message}")

    # -- nodes and initializers ------------------------------------------------------------
    def op(self, op_type: str, inputs: Sequence[str], outputs: int = 1, **attrs: Any) -> Any:
        """Emit one ONNX node; its output name (a list of names when ``outputs`` > 1)."""
        base = self.prefix + (self.current.name if self.current is not None else op_type)
        outs = [self.fresh(base) for _ in range(outputs)]
        attrs = {k: v for k, v in attrs.items() if v is not None}
        self.nodes.append(self.helper.make_node(op_type, list(inputs), outs,
                                                name=self.fresh("n:" + outs[0]), **attrs))
        return outs[0] if outputs == 1 else outs

    def initializer(self, array: ndarray, name: str) -> str:
        self.used.add(name)
        self.init_names.add(name)
        self.initializers.append(self.onnx.numpy_helper.from_array(
            xp.ascontiguousarray(array), name))
        return name

    def const(self, array: Any, dtype: Any = None) -> str:
        """An initializer holding ``array`` (small ones shared by value)."""
        a = xp.asarray(array, dtype=dtype)
        key = (a.dtype.str, a.shape, a.tobytes()) if a.size <= 64 else id(array)
        if key not in self._consts:
            self._consts[key] = self.initializer(a, self.fresh("const"))
            if not isinstance(key, tuple):
                self._alive.append(array)
        return self._consts[key]

    def ints(self, values: Sequence[int]) -> str:
        return self.const(xp.asarray(list(values), dtype=xp.int64))

    def scalar(self, value: float, dtype: Any) -> str:
        return self.const(xp.asarray(value, dtype=dtype))

    def dtype_code(self, dtype: Any) -> int:
        return int(self.helper.np_dtype_to_tensor_dtype(xp.dtype(dtype)))

    def buffer_name(self, array: ndarray) -> str | None:
        hit = self.buffers.get(id(array))
        return hit[1] if hit is not None and hit[0] is array else None

    def input_name(self, array: Any) -> str | None:
        """The graph input whose array ``array`` is (an index read straight from an input)."""
        for a, name in self.inputs:
            if a is array:
                return name
        return None

    def constant(self, arg: Arg) -> str:
        """The value of a constant input: a buffer by its name, a fixed array as an
        initializer, zeros whose size follows a dynamic axis computed at run time; an
        error for a constant that depends on the input's values."""
        a, b = arg.const, arg.const2
        assert a is not None and b is not None
        name = self.buffer_name(a)
        if name is not None:
            return name if name in self.init_names else self.initializer(a, name)
        if same(a, b):
            return self.const(a)
        if a.shape != b.shape and not a.any() and not b.any():
            shape = self.shape_expr(a.shape, b.shape, "a zero-filled constant")
            return self.op("ConstantOfShape", [shape], value=self.onnx.numpy_helper.from_array(
                xp.zeros(1, a.dtype)))
        what = "size" if a.shape != b.shape else "values"
        raise self.error(
            f"it reads a constant of shape {a.shape} ({dtype_name(a.dtype)}) whose {what} changed "
            f"with the input's {what} (shape {b.shape} in a second run): it was computed outside "
            "the graph (NumPy on x._data, x.shape, .item(), a mask built from the input), so the "
            "ONNX graph would hold the example's numbers. Write that part with tensor ops, "
            "or pass it as a constant that does not depend on the input.")

    # -- sizes ------------------------------------------------------------------------------
    def shape_of(self, name: str) -> str:
        if name not in self._shapes:
            saved, self.current = self.current, None
            self._shapes[name] = self.op("Shape", [name])
            self.current = saved
        return self._shapes[name]

    def dim(self, size: int, size2: int) -> str | None:
        """A 1-element int64 value with a dynamic size, read from an input's shape."""
        for name, axis, s1, s2 in self.dim_sources:
            if (s1, s2) == (size, size2):
                return self.op("Gather", [self.shape_of(name), self.ints([axis])], axis=0)
        return None

    def shape_expr(self, shape: Sequence[int], shape2: Sequence[int], what: str,
                   minus_one: bool = False) -> str:
        """A 1-D int64 value holding ``shape``; the entries that differ in the second trace
        are computed from the inputs' shapes (or -1 for one of them, when ``minus_one``)."""
        shape, shape2 = tuple(int(s) for s in shape), tuple(int(s) for s in shape2)
        if shape == shape2:
            return self.ints(shape)
        if len(shape) != len(shape2):
            raise self.error(f"{what} has {len(shape)} dims for the example and {len(shape2)} "
                             "for other sizes")
        parts: list[str] = []
        static: list[int] = []
        free = minus_one
        for s1, s2 in zip(shape, shape2):
            if s1 == s2:
                static.append(s1)
                continue
            d = self.dim(s1, s2)
            if d is None and free:
                free = False
                static.append(-1)
                continue
            if d is None:
                raise self.error(
                    f"{what} has a size ({s1}, {s2} for other inputs) that is none of the "
                    f"dynamic input sizes ({[(s[0], s[1]) for s in self.dim_sources]}): "
                    "it cannot be computed in the ONNX graph; use fewer dynamic axes")
            if static:
                parts.append(self.ints(static))
                static = []
            parts.append(d)
        if static:
            parts.append(self.ints(static))
        return self.op("Concat", parts, axis=0) if len(parts) > 1 else parts[0]

    # -- reductions (axes are an input from opset 18 on; ReduceSum's from 13) ---------------
    def reduce(self, op_type: str, x: str, axes: Sequence[int] | None, keepdims: bool) -> str:
        if axes is None:
            return self.op(op_type, [x], keepdims=int(keepdims))
        if op_type == "ReduceSum" or self.opset >= 18:
            return self.op(op_type, [x, self.ints(axes)], keepdims=int(keepdims))
        return self.op(op_type, [x], axes=list(axes), keepdims=int(keepdims))
