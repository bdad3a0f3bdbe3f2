"""What the view adds to the graph's nodes and edges so that pictures and walkthroughs read
alike: the names ``explain`` uses (t1, t2, ...), what each constant is to the op reading it,
the ops a create_graph backward made, and the gradient each edge carries back."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..backend import ndarray
from ..core import functional as F
from ..core import graph as _graph
from ..core.graph import GraphError
from .formatting import format_value

if TYPE_CHECKING:
    from .view import VEdge, VNode

__all__ = ["edge_grads", "name_refs", "const_roles", "mark_backward"]


def edge_grads(vnodes: list[VNode], edges: list[VEdge]) -> None:
    """Fill in what each edge carries back: the gradient of its source when it has one
    consumer; else the consumer's share, its vjp applied to its gradient (for display)."""
    by_id = {v.id: v for v in vnodes}
    uses: dict[str, int] = {}
    for e in edges:
        uses[e.src] = uses.get(e.src, 0) + 1
    shares: dict[str, Any] = {}
    for e in edges:
        src, dst = by_id[e.src], by_id[e.dst]
        if src.grad is None:
            continue
        if uses[e.src] == 1:
            e.grad = src.grad
            continue
        n = dst.node
        if dst.grad is None or n is None:
            continue
        if dst.id not in shares:
            try:
                with _graph.no_grad():
                    shares[dst.id] = n.vjp(_graph._make(dst.grad))
            except (GraphError, TypeError, AttributeError):  # freed by backward()
                shares[dst.id] = ()
        got = shares[dst.id]
        c = got[e.index] if e.index < len(got) else None
        if c is None:
            continue
        if tuple(c.shape) != src.shape:
            with _graph.no_grad():
                c = F.sum_to(c, src.shape)
        e.grad = c._data.astype(src.grad.dtype, copy=False)


def name_refs(vnodes: list[VNode], consts: dict[str, ndarray]) -> None:
    """Every node's ``ref``: its given name, a scalar constant's value, else t1, t2, ... in
    the order of the view (the names ``explain`` and the stepper use)."""
    taken = {v.name for v in vnodes if v.name}
    counter = 0
    for v in vnodes:
        c = consts.get(v.id)
        if v.name and v.name != "(not kept)":
            v.ref = v.name
        elif v.kind == "input" and c is not None and c.ndim == 0:
            v.ref = format_value(c, digits=6)
            v.literal = True
        else:
            counter += 1
            while f"t{counter}" in taken:
                counter += 1
            v.ref = f"t{counter}"


#: (op, input index) -> what a constant is to that op; index -1: any input
_ROLES = {("pow", 1): "exponent", ("pow", 0): "base", ("mul", -1): "factor",
          ("div", 1): "divisor", ("div", 0): "numerator", ("add", -1): "offset",
          ("sub", 1): "target", ("sub", 0): "offset", ("where", 0): "mask",
          ("maximum", -1): "threshold", ("minimum", -1): "threshold",
          ("matmul", -1): "matrix", ("getitem", -1): "index", ("index_put", -1): "index"}


def const_roles(vnodes: list[VNode], edges: list[VEdge], consts: dict[str, ndarray]) -> None:
    """Label constants by what they are to the op reading them: the exponent of a square,
    the factor 0.5, a mask, a target, or the input data."""
    by_id = {v.id: v for v in vnodes}
    for e in edges:
        v = by_id[e.src]
        if v.kind != "input" or v.role:
            continue
        op = by_id[e.dst].op
        c = consts.get(v.id)
        role = _ROLES.get((op, e.index)) or _ROLES.get((op, -1))
        if role == "target" and c is not None and c.ndim == 0:
            role = "offset"
        if c is not None and c.dtype.kind == "b":
            role = "mask"
        elif e.index == 0 and (c is None or c.ndim > 0) and role != "mask":
            role = "input"
        v.role = role or "constant"


def mark_backward(vnodes: list[VNode]) -> None:
    """Mark the ops a backward pass with create_graph=True recorded (a second-order graph)."""
    spans = _graph._backward_spans
    if not spans:
        return
    for v in vnodes:
        if v.kind == "op" and v.node is not None:
            seq = v.node.seq
            v.from_backward = any(a <= seq < b for a, b in spans)
