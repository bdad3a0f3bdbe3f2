"""Views and in-place changes, with PyTorch's autograd semantics.

A *view* is the result of a view primitive (basic indexing, reshape when no copy is needed,
permute/transpose, broadcast_to/expand, diagonal): it shares its input's memory and version
counter, and remembers its parent (``_base``) and the view op that made it (``_vstep``).
Following the parents up gives the *root* (the tensor that is not a view) and the chain of
view ops from the root: the view function.

Two things follow, as in PyTorch's autograd:

- An in-place op on a view changes the root's values, so it changes the root's history: the
  root gets a :class:`CopySlices` node (PyTorch's name), "the old root with the view's
  elements replaced by the op's result", whose vjp sends the gradient of those elements to
  the op and the rest to the old root. ``out[0:2].copy_(w)`` so gives ``w`` its gradient
  through ``out``, and a write into a view of a buffer made from a parameter keeps the
  parameter's gradient.
- After any in-place change of the root or of one of its views (the shared version counter
  moved), a view's own node is stale: it is regenerated, the view function applied to the
  root's current node, before the view is used in an op (:func:`refresh`). So a view taken
  before ``base.mul_(2)`` computes with, and differentiates through, the new values.

Cases PyTorch refuses are refused here with its reasons: an in-place change of a leaf that
requires grad or of a view of one, of a view made under ``no_grad`` of a tensor that
requires grad, of an expanded (broadcast) view.
"""

from __future__ import annotations

from typing import Any

from ..backend import xp
from . import graph, tensor_class
from .dtypes import dtype_name
from .graph import GraphError, Node, apply
from .primitives.views import CopySlices


def fresh(step: Node) -> Node:
    """A new node with ``step``'s parameters and no graph state (to apply it again)."""
    cls = type(step)
    new = object.__new__(cls)
    for klass in cls.__mro__:
        if klass is Node:
            break
        for name in getattr(klass, "__slots__", ()):
            if hasattr(step, name):
                setattr(new, name, getattr(step, name))
    return new


def chain(t: Any) -> tuple[Any, list[Node]]:
    """The root of view ``t`` and the view ops that lead from the root to ``t``."""
    steps = []
    while t._base is not None:
        steps.append(t._vstep)
        t = t._base
    steps.reverse()
    return t, steps


def positions(shape: tuple[int, ...], steps: list[Node]) -> Any:
    """The flat position in a root of ``shape`` of each element of the view."""
    a = xp.arange(int(xp.prod(shape, dtype=xp.int64))).reshape(shape)
    for s in steps:
        a = fresh(s).forward(a)
    return a.copy()  # C order; a 0-d view stays 0-d (ascontiguousarray would make it 1-d)


def refresh(t: Any) -> None:
    """Regenerate a stale view's node from its root's current node (PyTorch does the same
    when a view's version moved); a no-op for views made under ``no_grad``."""
    if t._vver is None or not graph._grad_enabled:
        return
    root, steps = chain(t)
    if root._node is None and t._node is None:
        t._vver = t._vc[0]
        return
    x = root
    for s in steps:
        x = apply(fresh(s), x)
    t._node = x._node
    t._vver = t._vc[0]


graph._refresh = tensor_class._refresh = refresh


def _record(node: Node, inputs: tuple, out: Any) -> None:
    """Record ``node`` as the producer of ``out`` (whose values are already in place)."""
    node.next = tuple(i._node for i in inputs)
    node.inputs = inputs if graph._keep_inputs else None
    node.seq = next(graph._counter)
    node.shape = out._data.shape
    node.dtype = out._data.dtype
    node.versions = ()
    node.out = None
    node.hooks = None
    out._node = node


def _check(t: Any, op: str, tracked: bool) -> None:
    """PyTorch's refusals for an in-place change of ``t``."""
    if not tracked:
        return
    if t._base is None:
        if t._node is not None and t._node.__class__ is graph.AccumulateGrad:
            raise GraphError(
                f"{op}: a leaf tensor that requires grad (shape {t._data.shape}) is being used "
                "in an in-place operation. Do the update under `with cr.no_grad():`, or use an "
                "out-of-place op (x = x + 1)."
            )
        return
    root, _ = chain(t)
    if root._node is not None and root._node.__class__ is graph.AccumulateGrad:
        raise GraphError(
            f"{op}: a view of a leaf tensor that requires grad (view shape {t._data.shape}, leaf "
            f"shape {root._data.shape}) is being used in an in-place operation. Change the leaf "
            "under `with cr.no_grad():`, or clone() it first and change the clone."
        )
    if t._vver is None and root._node is not None:
        raise GraphError(
            f"{op}: this view (shape {t._data.shape}) was created under no_grad() from a tensor "
            "that requires grad and is being changed in place with grad mode enabled; its "
            "base's gradient would be wrong. Take the view with grad mode on, or clone() it."
        )


def inplace(t: Any, op: str, fn: Any, others: tuple, ufunc: Any = None) -> Any:
    """``t = fn(t, *others)`` written into ``t``'s memory, recorded as PyTorch records it.

    ``ufunc`` (for ``+= -= *= /=``) computes straight into the memory when nothing needs
    recording: the optimizer-update path, with no temporary.
    """
    from .functional import _as_tensor
    from .tensor import _torch_name
    from .tensor_class import Tensor, _make

    grad_on = graph._grad_enabled
    is_view = t._base is not None
    if is_view and grad_on and t._vver != t._vc[0]:
        refresh(t)
    tracked = grad_on and (
        t._node is not None or any(o._node is not None for o in others if isinstance(o, Tensor))
        or (is_view and chain(t)[0]._node is not None))
    if ufunc is not None and not tracked and t._data.flags.writeable:
        o = _as_tensor(others[0], t)._data
        if not (o.dtype.kind == "f" and t._data.dtype.kind != "f"):
            try:
                ufunc(t._data, o, out=t._data, casting="same_kind")
            except (ValueError, TypeError):
                pass  # a shape or dtype the in-place result cannot take: reported below
            else:
                t._vc[0] += 1
                return t
    _check(t, op, tracked)
    if not t._data.flags.writeable:
        raise ValueError(
            f"{op}: this tensor (shape {t._data.shape}) is a read-only broadcast view (from "
            "expand/broadcast_to) whose elements share memory; clone() it before changing it."
        )
    if tracked:
        res = fn(_make(t._data.copy(), t._node), *others)
    else:
        with graph.no_grad():
            res = fn(t, *others)
    rd = res._data
    if rd.shape != t._data.shape:
        raise ValueError(
            f"{op}: the result has shape {rd.shape} but the tensor being changed in place has "
            f"shape {t._data.shape}; in-place ops cannot change a tensor's shape"
        )
    if rd.dtype != t._data.dtype and not xp.can_cast(rd.dtype, t._data.dtype, "same_kind"):
        raise RuntimeError(  # PyTorch's error and wording
            f"{op}: result type {_torch_name(rd.dtype)} can't be cast to the desired "
            f"output type {_torch_name(t._data.dtype)} (the result is {dtype_name(rd.dtype)}, "
            f"the tensor {dtype_name(t._data.dtype)}: an in-place op keeps the tensor's dtype); "
            "use an out-of-place op (x = x / y) or convert the tensor first (x = x.float())"
        )
    xp.copyto(t._data, rd, casting="same_kind")
    t._vc[0] += 1
    if tracked:
        if is_view:
            _rebase(t, res)
        else:
            t._node = res._node
    return t


def _rebase(t: Any, res: Any) -> None:
    """After an in-place change of view ``t`` to ``res``: the root's new node is CopySlices,
    and ``t``'s node is its view function applied to the root."""
    from .tensor_class import _make

    root, steps = chain(t)
    prev = _make(root._data, root._node)
    _record(CopySlices(positions(root._data.shape, steps)), (prev, res), root)
    refresh(t)
