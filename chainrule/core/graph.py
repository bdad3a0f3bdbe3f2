"""The computational graph: nodes, grad mode and the ``apply`` funnel.

Forward propagation calls :func:`apply` for every primitive. When gradients are wanted,
``apply`` stores on the op's node what backward needs (its inputs, the edges to the nodes
that produced them, the output's shape) and hangs the node on the output tensor as
``grad_fn``. ``run_backward`` (the backward engine, ``core/backward.py``) then walks the
nodes in reverse creation order and applies the chain rule: each node turns the cotangent of
its output into cotangents of its inputs with its ``vjp``.

Every node gets a sequence number when it is recorded. A node's inputs were recorded before
it, so visiting nodes from the highest number down is a topological order: no recursion, no
set iteration, and the same program always sums the same numbers in the same order.
"""

from __future__ import annotations

import itertools
import weakref
from typing import Any, Callable, Iterator, Sequence

from ..backend import asarray, ndarray, xp
from .handles import RemovableHandle, RetainGrad  # noqa: F401  (graph.RemovableHandle, .RetainGrad)
from .tensor_class import Tensor, _make

_refresh: Any = None  # views.refresh(view): regenerate a stale view's node (set by views.py)

_counter = itertools.count()
xp_ones_like = xp.ones_like
xp_zeros_like = xp.zeros_like

# ---------------------------------------------------------------------------------------------
# Grad mode
# ---------------------------------------------------------------------------------------------

# NOTE: grad mode is a plain module global rather than thread-local state: reading it is on
# the path of every op, and chainrule runs one graph per process today.
_grad_enabled = True
_keep_inputs = False  # set by record_inputs(): keep every op's inputs for inspection
# NOTE: set only while cr.compile traces a call (compile/trace.py): apply hands it every op.
# Outside tracing it costs apply one test of this global.
_tracer: Callable[..., None] | None = None
# For inspection (chainrule.viz): the node-number ranges that backward passes with
# create_graph=True recorded ops in (a second-order graph), the latest 64; and callables
# tap(node, g) that backward calls with each node's incoming gradient (viz.record keeps them).
_backward_spans: list[tuple[int, int]] = []
_backward_taps: list[Any] = []


def is_grad_enabled() -> bool:
    """Whether ops are recorded for backward right now."""
    return _grad_enabled


class set_grad_enabled:
    """Context manager (and decorator) that turns graph recording on or off.

    >>> import chainrule as cr
    >>> x = cr.tensor([1.0], requires_grad=True)
    >>> with cr.set_grad_enabled(False):
    ...     y = x * 2
    >>> y.requires_grad
    False
    """

    def __init__(self, mode: bool) -> None:
        global _grad_enabled
        self.prev = _grad_enabled
        self.mode = bool(mode)
        _grad_enabled = self.mode

    def __enter__(self) -> None:
        global _grad_enabled
        _grad_enabled = self.mode

    def __exit__(self, *exc: object) -> None:
        global _grad_enabled
        _grad_enabled = self.prev

    def __call__(self, fn: Callable) -> Callable:
        mode = self.mode

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with set_grad_enabled(mode):
                return fn(*args, **kwargs)

        wrapper.__name__ = getattr(fn, "__name__", "wrapper")
        wrapper.__doc__ = fn.__doc__
        return wrapper


class _GradMode:
    mode = True

    def __new__(cls, *args: Any) -> Any:
        if len(args) == 1 and callable(args[0]) and not isinstance(args[0], bool):
            return cls()(args[0])  # bare decorator: @no_grad, as PyTorch allows
        return object.__new__(cls)

    def __init__(self) -> None:
        self.prev = True

    def __enter__(self) -> None:
        global _grad_enabled
        self.prev = _grad_enabled
        _grad_enabled = self.mode

    def __exit__(self, *exc: object) -> None:
        global _grad_enabled
        _grad_enabled = self.prev

    def __call__(self, fn: Callable) -> Callable:
        cls = type(self)

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with cls():
                return fn(*args, **kwargs)

        wrapper.__name__ = getattr(fn, "__name__", "wrapper")
        wrapper.__doc__ = fn.__doc__
        return wrapper


class no_grad(_GradMode):
    """Context manager (and decorator) under which no op is recorded.

    >>> import chainrule as cr
    >>> w = cr.tensor([1.0, 2.0], requires_grad=True)
    >>> with cr.no_grad():
    ...     y = w * 3
    >>> y.requires_grad, y.grad_fn is None
    (False, True)
    """

    mode = False


class enable_grad(_GradMode):
    """Context manager (and decorator) that records ops even inside ``no_grad``."""

    mode = True


class inference_mode(_GradMode):
    """``no_grad`` under PyTorch's other name (chainrule has no separate inference mode).

    ``inference_mode(False)`` changes nothing, as in PyTorch.
    """

    def __init__(self, mode: bool = True) -> None:
        self.prev = True
        self.enabled = bool(mode)

    def __enter__(self) -> None:
        global _grad_enabled
        self.prev = _grad_enabled
        if self.enabled:
            _grad_enabled = False

    def __call__(self, fn: Callable) -> Callable:
        enabled = self.enabled

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with inference_mode(enabled):
                return fn(*args, **kwargs)

        wrapper.__name__ = getattr(fn, "__name__", "wrapper")
        wrapper.__doc__ = fn.__doc__
        return wrapper


# ---------------------------------------------------------------------------------------------
# Nodes
# ---------------------------------------------------------------------------------------------


class GraphError(RuntimeError):
    """Raised when the graph cannot be differentiated as asked (released, modified, ...)."""


class Node:
    """One recorded op: its parameters, what backward needs, and edges to its inputs' nodes.

    Subclasses (the primitives) define ``forward(*arrays) -> array`` on raw arrays and
    ``vjp(g) -> tuple`` on tensors, returning one cotangent (or None) per input. They read
    their saved inputs from ``self.inputs`` and, if ``saves_output``, the output with
    :meth:`saved_output`. ``saves`` lists the inputs the vjp reads, so that an in-place change
    to one of them is caught at backward.
    """

    __slots__ = ("inputs", "next", "seq", "shape", "dtype", "versions", "out", "hooks",
                 "__weakref__")
    # the slots' types, for readers and type checkers (set by ``apply``)
    inputs: tuple[Tensor, ...] | None  # kept inputs; None when not kept or released
    next: tuple[Node | None, ...]  # the producers' nodes, one per input (None: no grad)
    seq: int  # creation number: a node's inputs always have smaller ones
    shape: tuple[int, ...]  # of the output
    dtype: Any
    versions: tuple[int, ...]  # versions of the saved inputs when they were saved
    out: tuple[ndarray, list[int]] | None  # the saved output and its version counter
    hooks: list[Any] | None
    name = "node"
    saves: tuple[int, ...] = ()
    # saved input -> the inputs whose gradients read it (default: all); an in-place change of
    # a saved input no other input's gradient needs is not an error (PyTorch saves only those)
    saved_for: dict[int, tuple[int, ...]] | None = None
    saves_output = False
    broadcasts = False  # cotangents of broadcast inputs are summed back to their shapes
    is_view = False  # output shares memory (and so its version counter) with input 0

    def forward(self, *xs: ndarray) -> ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def vjp(self, g: Tensor) -> tuple[Tensor | None, ...]:  # pragma: no cover - abstract
        raise NotImplementedError

    # -- inspection -----------------------------------------------------------------------
    def params(self) -> dict[str, Any]:
        """The op's parameters (axis, shape, index, ...), by name."""
        out: dict[str, Any] = {}
        for cls in type(self).__mro__:
            if cls is Node:
                break
            for k in getattr(cls, "__slots__", ()):
                out[k] = getattr(self, k, None)
        return out

    @property
    def next_functions(self) -> tuple[tuple[Node | None, int], ...]:
        """PyTorch-style edges: ``((node_or_None, 0), ...)``, one per input."""
        return tuple((n, 0) for n in self.next)

    def __repr__(self) -> str:
        p = ", ".join(f"{k}={v!r}" for k, v in self.params().items())
        return f"<{type(self).__name__}Backward{'(' + p + ')' if p else ''}>"

    # -- backward support -----------------------------------------------------------------
    def needs_grad(self, i: int) -> bool:
        """Whether input ``i`` wants a cotangent (the vjp may skip the others)."""
        return self.next[i] is not None

    def saved_output(self) -> Tensor:
        """The op's output, as a tensor whose grad_fn is this node (for higher order)."""
        if self.out is None:
            raise _released_error(self)
        data, vc = self.out
        if vc[0] != 0:
            raise GraphError(
                f"{self.name}: its output (shape {tuple(data.shape)}) was modified by an "
                f"in-place operation after {self.name} saved it for backward (version "
                f"{vc[0]}, expected 0). Use an out-of-place op (y = y + 1, not y += 1) or "
                "clone() the output before changing it."
            )
        return _make(data, self if _grad_enabled else None)

    def _check_saved(self) -> None:
        if self.inputs is None:
            raise _released_error(self)
        for i, v in zip(self.saves, self.versions):
            t = self.inputs[i]
            if t._vc[0] != v:
                users = self.saved_for.get(i) if self.saved_for else None
                if users is not None and all(self.next[j] is None for j in users):
                    continue  # read only for gradients nobody wants
                raise GraphError(
                    f"{self.name}: input {i} (shape {tuple(t.shape)}, {t.dtype}) was modified by "
                    f"an in-place operation after {self.name} saved it for backward (its "
                    f"version is {t._vc[0]}, expected {v}). Use an out-of-place op "
                    "(x = x + 1, not x += 1) or clone() the tensor before changing it."
                )

    def release(self) -> None:
        self.inputs = None
        self.out = None


def _released_error(node: Node) -> GraphError:
    return GraphError(
        f"{node.name}: trying to backward through the graph a second time: its saved values "
        "were freed by the first backward. Pass retain_graph=True to the first backward() "
        "(or autograd.grad) if you need to backpropagate through it again."
    )


class AccumulateGrad(Node):
    """The node of a leaf tensor that requires grad: adds incoming cotangents to ``.grad``."""

    __slots__ = ("variable", "post_hooks")
    name = "AccumulateGrad"

    def __init__(self, t: Tensor) -> None:
        # NOTE: weak reference: the leaf owns this node, so a strong one would be a cycle.
        self.variable = weakref.ref(t)
        self.seq = next(_counter)
        self.next = ()
        self.inputs = None
        self.out = None
        self.hooks = None
        self.post_hooks: list | None = None  # register_post_accumulate_grad_hook's
        self.shape = t._data.shape
        self.dtype = t._data.dtype

    def __repr__(self) -> str:
        return "<AccumulateGrad>"

    def accumulate(self, g: Tensor, create_graph: bool) -> None:
        t = self.variable()
        if t is None:
            return
        if t.grad is None:
            # NOTE: a copy, because vjps may hand the same array to several inputs.
            t.grad = g if create_graph else _make(g._data.copy())
        elif create_graph or t.grad._node is not None:
            t.grad = t.grad + g
        else:
            gd = t.grad._data
            if gd.flags.writeable and gd.shape == g._data.shape:
                gd += g._data
                t.grad._vc[0] += 1
            else:
                t.grad = _make(gd + g._data)
        if self.post_hooks:
            for hook in tuple(self.post_hooks):
                if hook(t) is not None:
                    raise TypeError(
                        f"post-accumulate-grad hook {hook!r} returned a value; such a hook is "
                        "called with the tensor after its .grad was updated and returns "
                        "None (to change the gradient, use register_hook)")


# ---------------------------------------------------------------------------------------------
# The funnel every op goes through
# ---------------------------------------------------------------------------------------------


def apply(node: Node, *inputs: Tensor) -> Tensor:
    """Run ``node.forward`` on the inputs' arrays and record the node if gradients are wanted.

    The single funnel of every op: graph recording happens here and nowhere else.
    """
    n = len(inputs)
    try:
        if n == 1:
            data = node.forward(inputs[0]._data)
        elif n == 2:
            data = node.forward(inputs[0]._data, inputs[1]._data)
        else:
            data = node.forward(*[t._data for t in inputs])
    except (ValueError, TypeError, IndexError) as e:
        raise _forward_error(node, inputs, e) from None
    if data.__class__ is not ndarray:
        data = asarray(data)
    if _tracer is not None:
        _tracer(node, inputs, data)
    out = _new(Tensor)
    out._data = data
    out._node = None
    out.grad = None
    if node.is_view:  # shares memory: see core/views.py
        a = inputs[0]
        out._vc = a._vc
        out._base = a
        out._vstep = node
        out._vver = a._vc[0] if _grad_enabled or a._node is None else None
    else:
        out._vc = [0]
        out._base = None
    if not _grad_enabled:
        return out
    if n == 1:
        a = inputs[0]
        if a._base is not None and a._vver != a._vc[0]:
            _refresh(a)  # a view whose base changed in place: regenerate its node
        if a._node is None:
            return out
        node.next = (a._node,)
    elif n == 2:
        a, b = inputs
        if a._base is not None and a._vver != a._vc[0]:
            _refresh(a)
        if b._base is not None and b._vver != b._vc[0]:
            _refresh(b)
        na, nb = a._node, b._node
        if na is None and nb is None:
            return out
        node.next = (na, nb)
    else:
        for t in inputs:
            if t._base is not None and t._vver != t._vc[0]:
                _refresh(t)
        nxt = tuple([t._node for t in inputs])
        if nxt.count(None) == n:
            return out
        node.next = nxt
    if data.dtype.kind != "f":  # integer / bool results carry no gradient
        return out
    # NOTE: inputs are kept only when the vjp reads them, as PyTorch keeps only saved tensors:
    # holding every intermediate until backward grows the working set past the caches.
    node.inputs = inputs if node.saves or _keep_inputs else None
    node.seq = next(_counter)
    node.shape = data.shape
    node.dtype = data.dtype
    saves = node.saves
    if not saves:
        node.versions = ()
    elif saves == (0, 1):
        node.versions = (inputs[0]._vc[0], inputs[1]._vc[0])
    elif saves == (0,):
        node.versions = (inputs[0]._vc[0],)
    else:
        node.versions = tuple([inputs[i]._vc[0] for i in saves])
    node.out = (data, out._vc) if node.saves_output else None
    node.hooks = None
    out._node = node
    return out


_new = object.__new__


def _forward_error(node: Node, inputs: Sequence[Tensor], e: Exception) -> Exception:
    shapes = ", ".join(f"{tuple(t.shape)} {t.dtype}" for t in inputs)
    msg = str(e)
    if "broadcast" in msg:
        hint = ("shapes must be equal or 1 in each dimension, counting from the right; "
                "use reshape/unsqueeze to align them")
        return ValueError(f"{node.name}: cannot broadcast input shapes [{shapes}]: {hint}")
    return type(e)(f"{node.name}: invalid input [{shapes}]: {msg}")


# ---------------------------------------------------------------------------------------------
# Inspection
# ---------------------------------------------------------------------------------------------


class record_inputs:
    """Keep every op's input tensors on its node (``node.inputs``), for inspection.

    Normally a node keeps only what its vjp needs; visualisation and explanation of the
    forward pass want every value.

    >>> import chainrule as cr
    >>> x = cr.tensor([1.0], requires_grad=True)
    >>> with cr.graph.record_inputs():
    ...     y = x + 1
    >>> y.grad_fn.inputs[1].item()
    1.0
    """

    def __enter__(self) -> None:
        global _keep_inputs
        self.prev = _keep_inputs
        _keep_inputs = True

    def __exit__(self, *exc: object) -> None:
        global _keep_inputs
        _keep_inputs = self.prev


def nodes(t: Tensor | Node) -> list[Node]:
    """All nodes behind ``t`` (leaves' AccumulateGrad nodes included), inputs first.

    >>> import chainrule as cr
    >>> x = cr.tensor([1.0, 2.0], requires_grad=True)
    >>> [n.name for n in cr.graph.nodes((x * x).sum())]
    ['AccumulateGrad', 'mul', 'sum']
    """
    root = t if isinstance(t, Node) else t._node
    if root is None:
        return []
    seen: dict[Node, None] = {}
    stack = [root]
    while stack:
        n = stack.pop()
        if n in seen:
            continue
        seen[n] = None
        stack.extend(m for m in n.next if m is not None)
    return sorted(seen, key=lambda n: n.seq)


def iter_edges(t: Tensor) -> Iterator[tuple[Node, int, Node]]:
    """``(consumer, input_index, producer)`` for every edge of the graph behind ``t``."""
    for n in nodes(t):
        for i, m in enumerate(n.next):
            if m is not None:
                yield n, i, m


def __getattr__(name: str) -> Any:
    # run_backward moved to backward.py (which imports this module, so this one cannot import
    # it at load time); its old address ``graph.run_backward`` still works.
    if name == "run_backward":
        from .backward import run_backward

        return run_backward
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
