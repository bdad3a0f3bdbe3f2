"""The backward engine: a loop over a heap of nodes, applying the chain rule.

:func:`run_backward` walks the nodes that :func:`chainrule.core.graph.apply` recorded in
reverse creation order: each node turns the cotangent of its output into cotangents of its
inputs with its ``vjp``. A node's inputs were recorded before it, so visiting nodes from the
highest sequence number down is a topological order: no recursion, no set iteration, and the
same program always sums the same numbers in the same order.

The engine's state (grad mode, the node counter, the inspection taps and spans) lives in
``graph.py``, which every op reads; this module reads and sets it there.
"""

from __future__ import annotations

import heapq
from typing import Sequence

from . import graph as _graph
from .graph import AccumulateGrad, GraphError, Node
from .handles import RetainGrad
from .tensor_class import Tensor, _make


def run_backward(
    roots: Sequence[Tensor],
    grad_roots: Sequence[Tensor],
    retain_graph: bool,
    create_graph: bool,
    targets: Sequence[Tensor] | None = None,
    accumulate: bool = True,
) -> list[Tensor | None]:
    """Backpropagate ``grad_roots`` from ``roots`` through the graph.

    With ``accumulate`` the cotangents reaching leaves are added to their ``.grad``; with
    ``targets`` only those tensors' cotangents are collected (and returned, in order), and
    nodes that lead to none of them are skipped.
    """
    for t in list(roots) + list(targets or ()):
        if t._base is not None and t._vver != t._vc[0]:
            _graph._refresh(t)  # a view whose base changed in place (see core/views.py)
    table, heap = _seed(roots, grad_roots)
    wanted: dict[Node, int] | None = None
    needed: set[Node] | None = None
    captured: list[Tensor | None] = []
    if targets is not None:
        wanted = _wanted_nodes(targets)
        needed = _nodes_leading_to(list(table), wanted)
        captured = [None] * len(targets)

    prev = _graph._grad_enabled
    _graph._grad_enabled = create_graph
    pop, get, hpop, hpush = table.pop, table.get, heapq.heappop, heapq.heappush
    counter, taps = _graph._counter, _graph._backward_taps
    first = next(counter) if create_graph else 0
    try:
        while heap:
            node = hpop(heap)[1]
            g = pop(node)
            if node.hooks:
                g = _run_hooks(node, g, create_graph)
            for tap in taps:
                tap(node, g)
            if wanted is not None and node in wanted:
                for i, t in enumerate(targets):  # type: ignore[arg-type]
                    if t._node is node:
                        captured[i] = g
            if node.__class__ is AccumulateGrad:
                if accumulate and (needed is None or node in needed):
                    node.accumulate(g, create_graph)
                continue
            if needed is not None and node not in needed:
                continue
            if node.saves:
                node._check_saved()
            grads = node.vjp(g)
            for nxt, gi in zip(node.next, grads):
                if nxt is None or gi is None:
                    continue
                if gi._data.shape != nxt.shape:
                    gi = _fit_cotangent(node, nxt, gi)
                if gi._data.dtype is not nxt.dtype and gi._data.dtype != nxt.dtype:
                    gi = gi.to(nxt.dtype)
                prev_g = get(nxt)
                if prev_g is None:
                    table[nxt] = gi
                    hpush(heap, (-nxt.seq, nxt))
                else:
                    table[nxt] = prev_g + gi
            if not retain_graph:
                node.inputs = None  # release what the node saved (see Node.release)
                node.out = None
    finally:
        _graph._grad_enabled = prev
        if create_graph:
            spans = _graph._backward_spans
            spans.append((first, next(counter)))
            del spans[:-64]
    return captured


def _seed(roots: Sequence[Tensor], grad_roots: Sequence[Tensor]
          ) -> tuple[dict[Node, Tensor], list[tuple[int, Node]]]:
    """The cotangent table and the heap (highest sequence number first) backward starts from."""
    table: dict[Node, Tensor] = {}
    heap: list[tuple[int, Node]] = []
    for r, g in zip(roots, grad_roots):
        node = r._node
        if node is None:
            raise GraphError(
                f"backward: output of shape {tuple(r.shape)} does not require grad and has no "
                "grad_fn: none of the tensors it was computed from has requires_grad=True "
                "(or it was computed under no_grad())."
            )
        if node in table:
            table[node] = table[node] + g
        else:
            table[node] = g
            heapq.heappush(heap, (-node.seq, node))
    return table, heap


def _wanted_nodes(targets: Sequence[Tensor]) -> dict[Node, int]:
    """The node of each target tensor, with the index of its first target."""
    wanted: dict[Node, int] = {}
    for i, t in enumerate(targets):
        n = t._node
        if n is None:
            raise GraphError(
                f"grad: input {i} (shape {tuple(t.shape)}) does not require grad, so no "
                "gradient can be computed for it. Create it with requires_grad=True."
            )
        wanted.setdefault(n, i)
    return wanted


def _run_hooks(node: Node, g: Tensor, create_graph: bool) -> Tensor:
    retain = None
    for hook in node.hooks:  # type: ignore[union-attr]
        if hook.__class__ is RetainGrad:
            retain = hook  # NOTE: as in PyTorch, .grad of retain_grad() sees the hooks' result
            continue
        r = hook(g)
        if r is not None:
            if not isinstance(r, Tensor):
                raise TypeError(
                    f"hook {hook!r} (registered with register_hook on a tensor of shape "
                    f"{tuple(g.shape)}) returned a {type(r).__name__}; a hook returns a tensor "
                    "(the new gradient) or None"
                )
            if r.shape != g.shape:
                raise GraphError(
                    f"hook {hook!r} returned a gradient of shape {tuple(r.shape)}, expected "
                    f"{tuple(g.shape)}"
                )
            g = r
    if retain is not None:
        t = retain.ref()
        if t is not None:
            t.grad = g if create_graph else _make(g._data)
    return g


def _fit_cotangent(node: Node, nxt: Node, gi: Tensor) -> Tensor:
    # NOTE: the engine's one use of the tensor functions (which sit above it): summing a
    # broadcast cotangent back is itself an op, recorded under create_graph. A call-time
    # import, as the vjps' `functional` (see primitives/__init__.py).
    from .functional import sum_to

    if node.broadcasts:
        try:
            return sum_to(gi, nxt.shape)
        except ValueError:
            pass
    raise GraphError(
        f"{node.name}: its vjp returned a gradient of shape {tuple(gi.shape)} for an input of "
        f"shape {tuple(nxt.shape)}; this is a bug in {type(node).__name__}.vjp"
    )


def _nodes_leading_to(roots: list[Node], wanted: dict[Node, int]) -> set[Node]:
    """The nodes reachable from ``roots`` from which some wanted node can be reached."""
    seen: dict[Node, None] = {}
    stack = list(roots)
    while stack:
        n = stack.pop()
        if n in seen:
            continue
        seen[n] = None
        stack.extend(m for m in n.next if m is not None and m not in seen)
    needed: set[Node] = set()
    for n in sorted(seen, key=lambda n: n.seq):  # inputs before consumers
        if n in wanted or any(m in needed for m in n.next if m is not None):
            needed.add(n)
    return needed
