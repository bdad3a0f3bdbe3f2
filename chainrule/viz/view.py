"""The graph as something to look at: nodes with labels, values, gradients and module boxes.

:func:`build_view` turns the graph behind a tensor into a :class:`GraphView`: plain records
(:class:`VNode`, :class:`VEdge`, :class:`VGroup`) that the DOT writer, the Python renderer
and ``explain`` read, so that each of them only lays out and draws.

Two things are not in the graph itself and come from :func:`record` (in
:mod:`~chainrule.viz.recording`):

- **Which module recorded which op.** Every node gets a sequence number when it is recorded
  (see ``core/graph.py``). ``record(model)`` notes, for each module call, the interval of
  numbers handed out during it; a node belongs to the innermost call whose interval holds its
  number. Nothing is added to nodes, and nothing at all happens outside ``record``.
- **Every intermediate value.** Nodes normally keep only the inputs their vjp reads;
  ``record`` turns on ``cr.graph.record_inputs()`` so that each op's output can be shown
  (an op's output is the input its consumer kept).

Gradients are computed on request by the engine itself: :func:`node_grads` hangs a hook on
every node and runs backward with ``retain_graph=True`` and without touching any ``.grad``.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from typing import Any, Iterator, Mapping

from ..backend import ndarray, xp
from ..core import graph as _graph
from ..core.graph import AccumulateGrad, GraphError, Node, nodes
from ..core.tensor import Tensor
from . import annotate
from .formatting import format_param, format_params, format_shape, format_value
from .i18n import Text
from .recording import _RECORDINGS, Recording, record

__all__ = ["record", "Recording", "GraphView", "VNode", "VEdge", "VGroup", "build_view",
           "format_value", "format_shape", "format_param", "format_params", "node_values",
           "node_grads"]


# ---------------------------------------------------------------------------------------------
# Values and gradients of nodes
# ---------------------------------------------------------------------------------------------


def node_values(t: Tensor) -> dict[Node, ndarray]:
    """The output value of every node behind ``t`` that is still known.

    A node's output is known when a consumer kept it as an input (always inside
    ``record()``; otherwise only for inputs some vjp reads), for the root (``t`` itself)
    and for leaves.
    """
    values: dict[Node, ndarray] = {}
    if t._node is not None:
        values[t._node] = t._data
    for n in nodes(t):
        if n.__class__ is AccumulateGrad:
            leaf = n.variable()
            if leaf is not None:
                values[n] = leaf._data
            continue
        inputs = n.inputs if n.inputs is not None else _kept(n, "inputs")
        if inputs is None:
            continue
        for m, x in zip(n.next, inputs):
            if m is not None and m not in values:
                values[m] = x._data
    return values


def _kept(n: Node, what: str) -> Any:
    """What a :func:`record` kept of node ``n`` through a backward that freed it
    (``"inputs"`` or ``"grads"``), or None."""
    for r in reversed(_RECORDINGS):
        got = getattr(r, what).get(n.seq)
        if got is not None:
            return got
    return None


_FREED = ("gradients not shown: backward() already freed this graph. Draw it before "
          "backward(), call backward(retain_graph=True), or build it inside "
          "`with cr.viz.record():`, which keeps them")
_NOT_KEPT = ("some values not shown: an op keeps only the inputs its backward reads. Build "
             "the graph inside `with cr.viz.record():` to keep every value")


def _grads_or_note(t: Tensor, graph_nodes: list[Node], notes: list[str]) -> dict[Node, ndarray]:
    """The gradients of every node: computed now, or, when backward() already freed the
    graph, the ones a :func:`record` kept while it ran (else a note saying why none)."""
    try:
        return node_grads(t)
    except GraphError as e:
        if "already freed" not in str(e):
            raise
    kept = {n: g for n in graph_nodes if (g := _kept(n, "grads")) is not None}
    if not kept:
        notes.append(_FREED)
    return kept


def node_grads(t: Tensor, gradient: Tensor | None = None) -> dict[Node, ndarray]:
    """d(t)/d(output of each node) for every node behind ``t``, computed by the engine.

    Runs backward with ``retain_graph=True`` and a capturing hook on every node; no
    ``.grad`` is changed. ``gradient`` seeds the backward pass (ones when omitted). Hooks
    registered on the graph's tensors run as in ``backward()`` (so the gradients shown are
    the ones backward would use, hooks' changes included).
    """
    if t._node is None:
        return {}
    grads: dict[Node, ndarray] = {}
    added: list[tuple[Node, Any, bool]] = []
    kept: list[tuple[Tensor, Any]] = []  # retain_grad() tensors' .grad, put back afterwards
    for n in nodes(t):
        for h in n.hooks or ():
            x = h.ref() if h.__class__ is _graph.RetainGrad else None
            if x is not None:
                kept.append((x, x.grad))

        def capture(g: Tensor, n: Node = n) -> None:
            grads[n] = g._data

        had = n.hooks is not None
        hooks = n.hooks if n.hooks is not None else []
        hooks.append(capture)
        n.hooks = hooks
        added.append((n, capture, had))
    seed = gradient if gradient is not None else _graph._make(xp.ones_like(t._data))
    try:
        _graph.run_backward([t], [seed], retain_graph=True, create_graph=False,
                            accumulate=False)
    except GraphError as e:
        if "second time" not in str(e):
            raise
        raise GraphError(
            "cannot show gradients: the graph was already freed by a backward() call. Draw "
            "or explain before calling backward(), or call backward(retain_graph=True)"
        ) from None
    finally:
        for n, capture, had in added:
            n.hooks.remove(capture)  # type: ignore[union-attr]
            if not had and not n.hooks:
                n.hooks = None
        for x, g in kept:
            x.grad = g
    return grads


# ---------------------------------------------------------------------------------------------
# The view
# ---------------------------------------------------------------------------------------------


@dataclass
class VNode:
    """One box of the drawing.

    ``kind`` is ``"op"`` (a recorded op), ``"param"`` (a leaf that requires grad: a model
    parameter or a tensor created with ``requires_grad=True``), ``"input"`` (a tensor that
    needs no gradient, such as the data) or ``"module"`` (a module call collapsed by
    ``depth=``).
    """

    id: str
    kind: str
    op: str
    shape: tuple[int, ...]
    dtype: str
    name: str | None = None  # dotted parameter name, or a name given by the caller
    params: str = ""  # the op's parameters, formatted
    group: str | None = None  # path of the innermost module box holding it
    value: ndarray | None = None
    grad: ndarray | None = None
    is_output: bool = False
    n_params: int = 0  # for collapsed modules: the parameters inside
    node: Node | None = field(default=None, repr=False)
    ref: str = ""  # the name ``explain`` uses: ``name``, a scalar's value, or t1, t2, ...
    role: str = ""  # for a constant: what it is to the op reading it (exponent, mask, ...)
    from_backward: bool = False  # made by a backward pass with create_graph=True
    literal: bool = False  # an unnamed scalar constant: ``ref`` is its value

    def title(self) -> str:
        """The first line of the label: op (with parameters), parameter name, or module."""
        if self.kind == "op":
            return f"{self.op}({self.params})" if self.params else self.op
        if self.kind == "module":
            return self.name or self.op
        if self.name:
            return self.name
        what = Text("parameter" if self.kind == "param" else (self.role or "input"))
        return Text("{what} {ref}", what=what, ref=self.ref) if self.ref else what  # (a
        # scalar constant's ref is its value: exponent 2)

    def lines(self, values: bool = False, grads: bool = False) -> list[str]:
        """The label, one string per line (in English; the words chainrule adds are
        :class:`~chainrule.viz.i18n.Text`, which the pictures translate)."""
        out = [self.title(), f"{format_shape(self.shape)} {self.dtype}"]
        if self.kind == "module" and self.n_params:
            out.append(Text("{n} parameters", n=f"{self.n_params:,}"))
        if values and self.value is not None:
            out.append(Text("value {v}", v=format_value(self.value)))
        if grads and self.grad is not None:
            out.append(Text("grad {v}", v=format_value(self.grad)))
        return out


@dataclass
class VEdge:
    src: str
    dst: str
    index: int  # which input of dst
    shape: tuple[int, ...]
    grad: ndarray | None = None  # what backward sends along it: dL/d(src), dst's share of it
    label: str | None = ""  # what flows along it, before its shape (h_3); None: no text


@dataclass
class VGroup:
    path: str
    type_name: str
    parent: str | None

    @property
    def label(self) -> str:
        """``0 (Linear)``, as PyTorch prints a Sequential's children."""
        if self.path == self.type_name or self.path.startswith(self.type_name + "#"):
            return self.path  # a model boxed under its class name already says it
        return f"{self.path} ({self.type_name})"


@dataclass
class GraphView:
    nodes: list[VNode]
    edges: list[VEdge]
    groups: dict[str, VGroup]  # path -> group, parents before children
    values: bool = False  # whether labels show values / gradients
    grads: bool = False
    repeated: set[str] = field(default_factory=set)  # modules called more than once
    notes: list[str] = field(default_factory=list)  # what the picture cannot show, and why

    def node(self, id: str) -> VNode:
        for n in self.nodes:
            if n.id == id:
                return n
        raise KeyError(id)

    def members(self, path: str) -> list[VNode]:
        """The nodes directly inside group ``path`` (not inside its subgroups)."""
        return [n for n in self.nodes if n.group == path]

    def children(self, path: str | None) -> list[VGroup]:
        return [g for g in self.groups.values() if g.parent == path]

    def __iter__(self) -> Iterator[VNode]:
        return iter(self.nodes)


def build_view(t: Tensor, model: Any = None, *, values: bool = False, grads: bool = False,
               depth: int | None = None, names: Mapping[str, Tensor] | None = None,
               unroll: bool | int | None = None) -> GraphView:
    """The graph behind ``t`` as a :class:`GraphView`.

    ``model`` names parameters by their dotted names (a :func:`record` of the graph does it
    too). ``names`` gives names to other tensors (``{"x": x, "z1": z1}``): leaves, inputs
    and intermediate results alike. ``values`` and ``grads`` fill in ``VNode.value`` and
    ``VNode.grad`` (gradients of ``t``, computed now). ``depth`` collapses every module
    call nested ``depth`` deep into one node (``depth=1``: one node per top-level layer).
    ``unroll`` draws recurrent layers (nn.RNN, nn.LSTM, nn.GRU) one box per time step
    (:mod:`~chainrule.viz.unroll`): None (the default) when ``depth`` is given and reaches
    inside the layer (``depth=2`` for ``Sequential(rnn, ...)``), True always, False never, a
    number ``k``: always, and a long sequence as its first and last ``k`` steps.
    """
    if not isinstance(t, Tensor):
        raise TypeError(f"build_view: expected a Tensor, got {type(t).__name__}")
    if depth is not None and depth < 1:
        raise ValueError(f"build_view: depth must be at least 1 (or None), got {depth}")
    graph_nodes = nodes(t)
    recs = list(_RECORDINGS)
    if model is not None:
        recs = recs + [Recording(model)]
    module_types: dict[str, str] = {}
    for r in recs:
        module_types.update(r.module_types)

    node_names, const_names = _given_names(names)
    notes: list[str] = []
    vals = node_values(t) if values else {}
    grd = _grads_or_note(t, graph_nodes, notes) if grads else {}
    if values and any(n not in vals for n in graph_nodes):
        notes.append(_NOT_KEPT)
    scopes, calls = _scopes(graph_nodes, recs)
    vnodes, edges, consts, const_arrays = _walk(t, graph_nodes, recs, module_types, scopes,
                                                node_names, const_names, vals, grd, values)
    by_cid = {cid: const_arrays[key] for key, cid in consts.items() if key in const_arrays}
    annotate.name_refs(vnodes, by_cid)
    annotate.const_roles(vnodes, edges, by_cid)
    annotate.mark_backward(vnodes)
    if vnodes and t._node is not None and t._node.__class__ is AccumulateGrad:
        vnodes[-1].is_output = True
    edges.sort(key=lambda e: (int(e.dst[1:]), e.index))
    passed = {k for r in recs for k, ref in r.passed.items() if ref() is const_arrays.get(k)}
    _place_constants(vnodes, edges, passed, consts)
    if grads:
        annotate.edge_grads(vnodes, edges)
    used = {g for g in (v.group for v in vnodes) if g is not None}
    groups = _group_tree(used, module_types)
    view = GraphView(vnodes, edges, groups, values=values, grads=grads,
                     repeated={p for p, starts in calls.items() if len(starts) > 1},
                     notes=notes)
    view = _collapse(view, depth) if depth is not None else view
    if unroll is None:
        unroll = depth is not None
    if unroll is not False:
        from .unroll import unroll_view

        view = unroll_view(view, unroll)
    return view


def _given_names(names: Mapping[str, Tensor] | None) -> tuple[dict[Node, str], dict[int, str]]:
    """The caller's ``names``: by node for computed tensors, by identity for the others."""
    node_names: dict[Node, str] = {}
    const_names: dict[int, str] = {}  # id(tensor) -> name: the tensor itself, not its data
    for name, named in (names or {}).items():
        if not isinstance(named, Tensor):
            raise TypeError(
                f"build_view: names[{name!r}] is a {type(named).__name__}, not a Tensor")
        if named._node is not None:
            node_names.setdefault(named._node, name)
        else:  # NOTE: by identity: x.detach() shares x's array but is not x
            const_names.setdefault(id(named), name)
    return node_names, const_names


def _walk(t: Tensor, graph_nodes: list[Node], recs: list[Recording],
          module_types: dict[str, str], scopes: dict[Node, str], node_names: dict[Node, str],
          const_names: dict[int, str], vals: dict[Node, ndarray], grd: dict[Node, ndarray],
          values: bool) -> tuple[list[VNode], list[VEdge], dict[int, str], dict[int, ndarray]]:
    """A VNode for every node of the graph and every constant input, and the edges."""

    def param_name(leaf: Any) -> tuple[str | None, str | None]:
        for r in reversed(recs):
            name = r.param_name(leaf)
            if name is not None:
                return name, r.param_box(leaf)
        return None, None

    ids: dict[Node, str] = {}
    vnodes: list[VNode] = []
    edges: list[VEdge] = []
    consts: dict[int, str] = {}  # id of a constant's array -> its node id
    const_arrays: dict[int, ndarray] = {}

    def group_of_param(box: str | None) -> str | None:
        # parameters go into the boxes of their modules, when the ops were recorded in boxes
        return box if scopes and box in module_types else None

    for n in graph_nodes:
        if n.__class__ is AccumulateGrad:
            vid = ids[n] = f"n{len(vnodes)}"
            leaf = n.variable()
            pname, box = param_name(leaf) if leaf is not None else (None, None)
            pname = node_names.get(n) or pname
            vnodes.append(VNode(vid, "param", "leaf", tuple(n.shape), str(n.dtype), name=pname,
                                group=group_of_param(box), value=vals.get(n),
                                grad=grd.get(n), node=n))
            continue
        pending: list[tuple[str, int, tuple[int, ...]]] = []
        for i, m in enumerate(n.next):
            if m is not None:
                pending.append((ids[m], i, tuple(m.shape)))
                continue
            kept = n.inputs if n.inputs is not None else _kept(n, "inputs")
            x: Tensor | None = kept[i] if kept is not None and i < len(kept) else None
            key = id(x._data) if x is not None else -len(vnodes) - 1
            cid = consts.get(key)
            if cid is None:
                cid = consts[key] = f"n{len(vnodes)}"
                if x is None:  # not kept: drawn without shape (record() keeps every input)
                    vnodes.append(VNode(cid, "input", "const", (), "?", name=Text("(not kept)")))
                else:
                    const_arrays[key] = x._data
                    vnodes.append(VNode(cid, "input", "const", tuple(x.shape), str(x._data.dtype),
                                        name=const_names.get(id(x)),
                                        value=x._data if values else None))
            pending.append((cid, i, vnodes[int(cid[1:])].shape))
        vid = ids[n] = f"n{len(vnodes)}"
        vnodes.append(VNode(vid, "op", n.name, tuple(n.shape), str(n.dtype),
                            name=node_names.get(n), params=format_params(n.params()),
                            group=scopes.get(n), value=vals.get(n), grad=grd.get(n), node=n,
                            is_output=n is t._node))
        edges.extend(VEdge(src, vid, i, shape) for src, i, shape in pending)
    return vnodes, edges, consts, const_arrays


def _place_constants(vnodes: list[VNode], edges: list[VEdge], passed: set[int],
                     consts: dict[int, str]) -> None:
    """Put a constant made inside a module call (a dropout mask, a loss's 1/N) in that
    module's box: it is used only there and was not passed in."""
    by_id = {v.id: v for v in vnodes}
    users: dict[str, set[str | None]] = {}
    for e in edges:
        if by_id[e.src].kind == "input":
            users.setdefault(e.src, set()).add(by_id[e.dst].group)
    for key, cid in consts.items():
        groups = users.get(cid, set())
        if key >= 0 and key not in passed and len(groups) == 1:
            by_id[cid].group = next(iter(groups))


def _scopes(graph_nodes: list[Node],
            recs: list[Recording]) -> tuple[dict[Node, str], dict[str, set[int]]]:
    """Node -> path of the innermost recorded module call it was made in; and, for each
    module path, the calls (by start number) that made nodes of this graph."""
    intervals = sorted((iv for r in recs for iv in r.intervals), key=lambda iv: iv[0])
    out: dict[Node, str] = {}
    calls: dict[str, set[int]] = {}
    if not intervals:
        return out, calls
    starts = [iv[0] for iv in intervals]
    for n in graph_nodes:
        if n.__class__ is AccumulateGrad:
            continue
        k = bisect.bisect_left(starts, n.seq)
        # calls nest, so the holding intervals, latest start first, go innermost to outermost
        for j in range(k - 1, -1, -1):
            start, end, path, _ = intervals[j]
            if start < n.seq < end:
                out.setdefault(n, path)
                calls.setdefault(path, set()).add(start)
    return out, calls


def _group_tree(used: set[str], module_types: dict[str, str]) -> dict[str, VGroup]:
    """The boxes for the used paths and all their ancestors that are modules, parents first."""
    paths: set[str] = set()
    for p in used:
        parts = p.split(".")
        for k in range(1, len(parts) + 1):
            q = ".".join(parts[:k])
            if q in module_types or q == p:
                paths.add(q)
    groups: dict[str, VGroup] = {}
    for p in sorted(paths, key=lambda p: (p.count("."), _natural(p))):
        parts = p.split(".")
        parent = None
        for k in range(len(parts) - 1, 0, -1):
            q = ".".join(parts[:k])
            if q in paths:
                parent = q
                break
        groups[p] = VGroup(p, module_types.get(p, p), parent)
    return groups


def _natural(path: str) -> list[Any]:
    return [(0, int(s), "") if s.isdigit() else (1, 0, s) for s in path.split(".")]


def _collapse(view: GraphView, depth: int) -> GraphView:
    """Replace every group ``depth`` deep (or a shallower leaf group) by one module node."""
    target: dict[str, str] = {}  # group path -> path of the collapsed group holding it
    for g in view.groups.values():
        anc = g
        chain = [g]
        while anc.parent is not None:
            anc = view.groups[anc.parent]
            chain.append(anc)
        chain.reverse()  # outermost first
        # NOTE: a module called more than once stays a box: one node for several calls
        # would make a cycle out of a chain (call 1 -> other ops -> call 2)
        if len(chain) >= depth and chain[depth - 1].path not in view.repeated:
            target[g.path] = chain[depth - 1].path
    if not target:
        return view
    into_of: dict[str, str] = {}  # node id -> the collapsed group taking it
    for v in view.nodes:
        if v.group is not None and v.group in target:
            into_of[v.id] = target[v.group]
    last_op: dict[str, int] = {}  # a module node goes where its output op was: inputs first
    for k, v in enumerate(view.nodes):
        if v.id in into_of and v.kind == "op":
            last_op[into_of[v.id]] = k
    merged: dict[str, VNode] = {}
    for path in last_op:
        grp = view.groups[path]
        merged[path] = VNode(f"m{len(merged)}", "module", grp.type_name, (), "",
                             name=grp.label, group=grp.parent)
    node_map: dict[str, str] = {}
    out_nodes: list[VNode] = []
    for k, v in enumerate(view.nodes):
        into = into_of.get(v.id)
        m = merged.get(into) if into is not None else None
        if m is None or into is None:
            out_nodes.append(v)
            node_map[v.id] = v.id
            continue
        node_map[v.id] = m.id
        if v.kind == "param":
            m.n_params += int(xp.prod(v.shape)) if v.shape else 1
        if last_op[into] == k:  # the module's output: value, gradient and shape follow it
            m.shape, m.dtype, m.value, m.grad, m.node = v.shape, v.dtype, v.value, v.grad, v.node
            m.is_output = v.is_output
            out_nodes.append(m)
    by_id = {n.id: n for n in out_nodes}
    edges: list[VEdge] = []
    seen: set[tuple[str, str]] = set()
    for e in view.edges:
        s, d = node_map[e.src], node_map[e.dst]
        if s == d or (s, d) in seen:
            continue
        seen.add((s, d))
        edges.append(VEdge(s, d, e.index, by_id[s].shape))
    groups = {p: g for p, g in view.groups.items() if p not in target}
    return GraphView(out_nodes, edges, groups, view.values, view.grads, view.repeated,
                     view.notes)
