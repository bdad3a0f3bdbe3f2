"""Custom differentiable functions, in PyTorch's form: ``forward`` and ``backward`` by hand.

Subclass :class:`Function`, write two static methods and call ``.apply``:

>>> import chainrule as cr
>>> class Cube(cr.autograd.Function):
...     @staticmethod
...     def forward(ctx, x):              # y = x^3
...         ctx.save_for_backward(x)
...         return x ** 3
...
...     @staticmethod
...     def backward(ctx, g):             # dy/dx = 3 x^2
...         (x,) = ctx.saved_tensors
...         return g * 3 * x ** 2
>>> x = cr.tensor([1.0, 2.0], requires_grad=True)
>>> y = Cube.apply(x)
>>> y.grad_fn
<CubeBackward>
>>> y.sum().backward(); x.grad
tensor([ 3., 12.])

``apply`` runs ``forward`` with grad mode off. When grad mode is on and some tensor argument
requires grad, it records one node, an instance of ``Cube._backward_cls`` (a :class:`Node`
subclass whose ``name`` is ``"Cube"``), with one edge per argument; the engine calls its
``vjp``, which calls ``backward`` and checks what it returns (one gradient per argument,
each of its argument's shape, None for arguments that are not tensors).

``backward`` runs under the engine's grad mode: with ``create_graph=True`` its ops are
recorded, so a backward written with chainrule ops is itself differentiable.

Several outputs: ``forward`` returns a tuple. Each output tensor gets its own node (a
:class:`FunctionOutput`, one edge to the Function's node), and the cotangents of the outputs
travel to the Function's node together in a :class:`_Pack`, so that ``backward`` is called
once with one gradient per output. The engine needs no special case for it.
"""

from __future__ import annotations

import functools
import weakref
from typing import Any, Callable, cast

from ..backend import xp
from . import graph
from .graph import GraphError, Node, _counter, _released_error
from .tensor_class import Tensor, _make, _rebuild

__all__ = ["Function", "FunctionCtx", "BackwardFunction", "FunctionOutput", "once_differentiable"]

_object_new = object.__new__


class FunctionCtx:
    """The ``ctx`` that ``forward`` and ``backward`` share.

    ``ctx.save_for_backward(*tensors)`` / ``ctx.saved_tensors`` (checked for in-place changes
    at unpacking, like the saved tensors of built-in ops), ``ctx.needs_input_grad`` (one bool
    per forward argument), ``ctx.mark_non_differentiable(*outputs)``,
    ``ctx.set_materialize_grads(False)``; any other attribute can be set freely
    (``ctx.k = k``).
    """

    def __init__(self, name: str = "Function") -> None:
        self.needs_input_grad: tuple[bool, ...] = ()
        self.materialize_grads = True
        self._fn_name = name
        self._to_save: tuple | None = None
        self._n_saved = 0
        self._non_differentiable: tuple = ()
        self._node: Any = None  # weak reference to the recorded node

    def save_for_backward(self, *tensors: Tensor | None) -> None:
        """Keep tensors for ``backward``; an in-place change to one of them is caught there."""
        for i, t in enumerate(tensors):
            if t is not None and not isinstance(t, Tensor):
                raise TypeError(
                    f"{self._fn_name}: save_for_backward takes tensors (or None), but argument "
                    f"{i} is a {type(t).__name__}; keep other values as ctx attributes "
                    "(ctx.k = k)"
                )
        self._to_save = tensors

    @property
    def saved_tensors(self) -> tuple[Tensor | None, ...]:
        ref = self._node
        if ref is None:  # forward ran without recording: hand back what was saved
            return tuple(self._to_save or ())
        if not self._n_saved:
            return ()
        node = ref()
        if node is None:
            raise GraphError(f"{self._fn_name}: its graph was freed; saved_tensors are gone")
        return node.unpack_saved()

    def mark_non_differentiable(self, *tensors: Tensor) -> None:
        """Outputs that get no gradient (indices, masks): they will not require grad."""
        self._non_differentiable = self._non_differentiable + tensors

    def set_materialize_grads(self, value: bool) -> None:
        """With False, ``backward`` gets None (not zeros) for outputs that got no gradient."""
        self.materialize_grads = bool(value)

    def mark_dirty(self, *tensors: Tensor) -> None:
        raise NotImplementedError(
            f"{self._fn_name}: ctx.mark_dirty (in-place changes of inputs in forward) is not "
            "supported by chainrule; change a clone instead (x = x.clone()) and return it"
        )

    def mark_shared_storage(self, *pairs: Any) -> None:  # pragma: no cover - legacy API
        raise NotImplementedError(f"{self._fn_name}: ctx.mark_shared_storage is not supported")


class BackwardFunction(Node):
    """The node of a :class:`Function` call; ``Function._backward_cls`` subclasses it."""

    __slots__ = ("ctx", "arg_types", "outputs_meta", "multi")
    name = "Function"
    ctx: Any
    arg_types: Any
    outputs_meta: Any
    multi: bool
    # Node's ``out`` slot holds here the records of ctx.save_for_backward (see unpack_saved).
    out: Any
    _function: Any = None

    def __repr__(self) -> str:
        return f"<{self.name}Backward>"

    def params(self) -> dict[str, Any]:
        return {}

    def unpack_saved(self) -> tuple[Tensor | None, ...]:
        saved = self.out
        if saved is None:
            raise _released_error(self)
        res: list[Tensor | None] = []
        for i, rec in enumerate(saved):
            if rec is None:
                res.append(None)
                continue
            kind, obj, vc, version = rec
            if vc[0] != version:
                what = f"output {obj[2]}" if kind else "tensor"
                raise GraphError(
                    f"{self.name}: saved tensor {i} ({what}) was modified by an in-place "
                    f"operation after {self.name}.forward saved it for backward (its version is "
                    f"{vc[0]}, expected {version}). Use an out-of-place op (x = x + 1, not "
                    "x += 1) or clone() the tensor before changing it."
                )
            if kind == 0:
                res.append(obj)
                continue
            data, slot_ref, _ = obj
            # NOTE: a saved output is kept as its array, not as the output tensor (whose
            # grad_fn is this node: a cycle); it is re-wrapped with this node as its grad_fn so
            # that a backward run with create_graph=True differentiates through it.
            node = self if slot_ref is None else slot_ref()
            t = _make(data, node if graph._grad_enabled else None)
            t._vc = vc
            res.append(t)
        return tuple(res)

    def vjp(self, g: Tensor) -> tuple[Tensor | None, ...]:
        ctx = self.ctx
        grads = list(g.grads) if self.multi else [g]  # type: ignore[attr-defined]
        if ctx.materialize_grads:
            for i, gi in enumerate(grads):
                meta = self.outputs_meta[i]
                if gi is None and meta is not None:
                    grads[i] = _make(xp.zeros(meta[0], meta[1]))
        return self._check_grads(self._function.backward(ctx, *grads))

    def _check_grads(self, res: Any) -> tuple[Tensor | None, ...]:
        name = self.name
        if isinstance(res, list):
            res = tuple(res)
        elif not isinstance(res, tuple):
            res = (res,)
        n = len(self.next)
        if len(res) != n:
            if len(res) > n and all(r is None for r in res[n:]):
                res = res[:n]
            else:
                raise GraphError(
                    f"{name}.backward returned {len(res)} gradient(s), but {name}.forward took "
                    f"{n} argument(s) after ctx: return one gradient per forward argument, in "
                    "order, with None for arguments that are not tensors or need no gradient"
                )
        out: list[Tensor | None] = []
        for i, (gi, nxt, kind) in enumerate(zip(res, self.next, self.arg_types)):
            if gi is None:
                out.append(None)
                continue
            if kind is not None:
                raise GraphError(
                    f"{name}.backward returned a gradient for argument {i}, which is a {kind}, "
                    "not a tensor: return None in its place"
                )
            if not isinstance(gi, Tensor):
                raise TypeError(
                    f"{name}.backward: the gradient for argument {i} must be a tensor or None, "
                    f"got {type(gi).__name__}"
                )
            if nxt is None:
                out.append(None)
                continue
            if gi._data.shape != nxt.shape:
                gi = self._fit(i, gi, nxt.shape)
            out.append(gi)
        return tuple(out)

    def _fit(self, i: int, gi: Tensor, shape: tuple[int, ...]) -> Tensor:
        # As in PyTorch, a gradient of the broadcast shape is summed back to the input's shape.
        try:
            ok = xp.broadcast_shapes(gi._data.shape, shape) == gi._data.shape
        except ValueError:
            ok = False
        if ok:
            from .functional import sum_to

            return sum_to(gi, shape)
        raise GraphError(
            f"{self.name}.backward returned a gradient of shape {tuple(gi.shape)} for argument "
            f"{i}, whose shape is {tuple(shape)}: each gradient must have its input's shape"
        )


class FunctionOutput(Node):
    """The node of one output of a Function with several outputs; it forwards that output's
    cotangent to the Function's node inside a :class:`_Pack`."""

    __slots__ = ("index", "n", "token", "fn_name")
    index: int
    n: int
    token: Any
    fn_name: str

    @property
    def name(self) -> str:  # type: ignore[override]  # Node.name is a class attribute
        return f"{self.fn_name}[{self.index}]"

    def __repr__(self) -> str:
        return f"<{self.fn_name}Backward (output {self.index})>"

    def params(self) -> dict[str, Any]:
        return {}

    def vjp(self, g: Tensor) -> tuple[Tensor]:
        grads: list[Tensor | None] = [None] * self.n
        grads[self.index] = g
        return (_pack(self.token, grads),)


class _Pack(Tensor):
    """The cotangents of a multi-output Function's outputs on their way to its node.

    Its array is a 0-d zero matching the node's recorded shape and dtype, so the engine
    handles it like any cotangent; the engine's ``prev + new`` merges two packs.
    """

    __slots__ = ("grads",)
    grads: list

    def __add__(self, other: Any) -> _Pack:  # type: ignore[override]
        grads = list(self.grads)
        for i, g in enumerate(other.grads):
            if g is not None:
                mine = grads[i]
                grads[i] = g if mine is None else mine + g
        return _pack(self._data, grads)

    __radd__ = __add__  # type: ignore[assignment]


def _pack(token: Any, grads: list) -> _Pack:
    p = cast(_Pack, _rebuild(_Pack, token, False))
    p.grads = grads
    return p


_tokens: dict[Any, Any] = {}


def _token(dtype: Any) -> Any:
    t = _tokens.get(dtype)
    if t is None:
        t = xp.zeros((), dtype)
        t.flags.writeable = False
        _tokens[dtype] = t
    return t


class Function:
    """Base class of custom differentiable functions (see the module docstring).

    Define ``forward(ctx, *args)`` and ``backward(ctx, *grad_outputs)`` as static methods
    (or, PyTorch 2 style, ``forward(*args)`` plus ``setup_context(ctx, inputs, output)``) and
    call ``YourFunction.apply(*args)``.
    """

    _backward_cls: type[BackwardFunction] = BackwardFunction

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._backward_cls = type(f"{cls.__name__}Backward", (BackwardFunction,), {
            "__slots__": (), "name": cls.__name__, "_function": cls,
            "__module__": cls.__module__,
        })

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        name = type(self).__name__
        raise TypeError(
            f"{name} objects are not callable: forward and backward are static methods; call "
            f"{name}.apply(...) instead of {name}()(...)"
        )

    @staticmethod
    def forward(ctx: Any, *args: Any) -> Any:
        raise NotImplementedError(
            "a Function subclass must define @staticmethod forward(ctx, *args)")

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple, output: Any) -> None:
        raise NotImplementedError  # only called when a subclass defines it

    @staticmethod
    def backward(ctx: Any, *grad_outputs: Any) -> Any:
        raise NotImplementedError(
            "a Function subclass must define @staticmethod backward(ctx, *grad_outputs)")

    @staticmethod
    def jvp(ctx: Any, *grad_inputs: Any) -> Any:
        raise NotImplementedError("chainrule has no forward-mode AD; Function.jvp is not used")

    @classmethod
    def apply(cls, *args: Any, **kwargs: Any) -> Any:
        """Run ``forward`` (grad mode off) and, when gradients are wanted, record its node."""
        name = cls.__name__
        if kwargs:
            raise TypeError(
                f"{name}.apply takes positional arguments only (as in PyTorch); pass "
                f"{', '.join(kwargs)} positionally"
            )
        ctx = FunctionCtx(name)
        record = False
        if graph._grad_enabled:
            for a in args:
                if isinstance(a, Tensor) and a._node is not None:
                    record = True
                    break
        ctx.needs_input_grad = tuple(
            record and isinstance(a, Tensor) and a._node is not None for a in args)
        versions = [a._vc[0] for a in args if isinstance(a, Tensor)] if record else None
        prev = graph._grad_enabled
        graph._grad_enabled = False
        try:
            if cls.setup_context is not Function.setup_context:
                out = cls.forward(*args)
                cls.setup_context(ctx, args, out)
            else:
                out = cls.forward(ctx, *args)
        finally:
            graph._grad_enabled = prev
        if not record:
            return out
        tensors = [a for a in args if isinstance(a, Tensor)]
        for t, v in zip(tensors, versions):  # type: ignore[arg-type]
            if t._vc[0] != v and t._node is not None:
                raise NotImplementedError(
                    f"{name}.forward changed an input that requires grad in place; chainrule "
                    "does not support ctx.mark_dirty: change a clone (x = x.clone()) instead"
                )
        return _record(cls, ctx, args, out)


def _new_node(cls: type[Function], ctx: FunctionCtx, multi: bool, args: tuple) -> Any:
    """The node of one call of ``cls``: its edges are the tensor arguments' nodes."""
    node = _object_new(cls._backward_cls)
    node.ctx = ctx
    node.multi = multi
    node.next = tuple(a._node if isinstance(a, Tensor) else None for a in args)
    node.arg_types = tuple(None if isinstance(a, Tensor) else type(a).__name__ for a in args)
    # NOTE: inputs are kept only for inspection (record_inputs), and only when every argument
    # is a tensor: the graph's readers expect node.inputs[i] to be the tensor of edge i.
    node.inputs = args if graph._keep_inputs and all(isinstance(a, Tensor) for a in args) \
        else None
    node.seq = next(_counter)
    node.versions = ()
    node.hooks = None
    node.out = None
    return node


def _output_slot(node: Node, i: int, n: int, name: str, o: Tensor) -> FunctionOutput:
    """The node of output ``i`` of ``n`` of a multi-output Function: an edge to ``node``."""
    slot = _object_new(FunctionOutput)
    slot.index = i
    slot.n = n
    slot.fn_name = name
    slot.next = (node,)
    slot.inputs = None
    slot.seq = next(_counter)
    slot.shape = o._data.shape
    slot.dtype = o._data.dtype
    slot.versions = ()
    slot.out = None
    slot.hooks = None
    return slot


def _record(cls: type[Function], ctx: FunctionCtx, args: tuple, out: Any) -> Any:
    name = cls.__name__
    multi = isinstance(out, (tuple, list))
    outs = tuple(out) if multi else (out,)
    if not multi and not isinstance(out, Tensor):
        raise TypeError(
            f"{name}.forward must return a tensor or a tuple of tensors, got "
            f"{type(out).__name__}"
        )
    nondiff = {id(t) for t in ctx._non_differentiable}
    node = _new_node(cls, ctx, multi, args)

    new_outs: list[Any] = []
    meta: list[Any] = []
    slots: list[Any] = []
    first = None
    for i, o in enumerate(outs):
        if not isinstance(o, Tensor):
            new_outs.append(o)
            meta.append(None)
            slots.append(None)
            continue
        # NOTE: always a fresh tensor (sharing memory and version counter): forward may return
        # one of its inputs, or a tensor the caller holds, whose own node must not change.
        t = _make(o._data)
        t._vc = o._vc
        t._base = None  # a Function's output is its own tensor, not a view (core/views.py)
        meta.append((o._data.shape, o._data.dtype))
        slot = None
        if o._data.dtype.kind == "f" and id(o) not in nondiff:
            if first is None:
                first = o
            if multi:
                slot = _output_slot(node, i, len(outs), name, o)
                t._node = slot
            else:
                t._node = node
        slots.append(slot)
        new_outs.append(t)
    if first is None:  # nothing differentiable came out: nothing to record
        ctx._node = None
        return tuple(new_outs) if multi else new_outs[0]
    if multi:
        node.shape = ()
        node.dtype = first._data.dtype
        tok = _token(node.dtype)
        for s in slots:
            if s is not None:
                s.token = tok
    else:
        node.shape = first._data.shape
        node.dtype = first._data.dtype
    node.outputs_meta = tuple(meta)

    to_save = ctx._to_save
    if to_save is not None:
        recs: list[Any] = []
        for t in to_save:
            if t is None:
                recs.append(None)
                continue
            j = next((k for k, o in enumerate(outs) if o is t), None)
            if j is None:
                recs.append((0, t, t._vc, t._vc[0]))
            else:
                ref = weakref.ref(slots[j]) if multi and slots[j] is not None else None
                recs.append((1, (t._data, ref, j), t._vc, t._vc[0]))
        node.out = tuple(recs)  # released by the engine after backward, like saved values
        ctx._n_saved = len(recs)
        ctx._to_save = None
    ctx._node = weakref.ref(node)
    return tuple(new_outs) if multi else new_outs[0]


class _OnceDifferentiableError(Function):
    """Identity on its first argument whose backward says it cannot be differentiated."""

    @staticmethod
    def forward(ctx: Any, x: Tensor, name: str, *deps: Tensor) -> Tensor:
        ctx.fn_name = name
        return x

    @staticmethod
    def backward(ctx: Any, *grads: Any) -> Any:
        raise GraphError(
            f"{ctx.fn_name}.backward is decorated with @once_differentiable: its gradients "
            "cannot be differentiated again (create_graph=True reached it)"
        )


def once_differentiable(fn: Callable) -> Callable:
    """Decorator for a ``backward`` written with non-differentiable code (NumPy, say).

    It runs under ``no_grad``; if a ``create_graph=True`` backward then tries to
    differentiate its results, that raises a clear error instead of giving zeros.
    """

    @functools.wraps(fn)
    def wrapper(ctx: Any, *grads: Any) -> Any:
        if not graph._grad_enabled:
            return fn(ctx, *grads)
        with graph.no_grad():
            res = fn(ctx, *grads)
        deps = [g for g in grads if isinstance(g, Tensor) and g._node is not None]
        deps += [t for t in ctx.saved_tensors if t is not None and t._node is not None]
        if not deps:
            return res
        name = getattr(ctx, "_fn_name", "Function")
        single = not isinstance(res, tuple)
        items = (res,) if single else res
        items = tuple(_OnceDifferentiableError.apply(r, name, *deps)
                      if isinstance(r, Tensor) and r._data.dtype.kind == "f" else r
                      for r in items)
        return items[0] if single else items

    return wrapper
