"""The walkthrough of backpropagation as data: :func:`build_explanation` turns the graph
behind a loss into an :class:`Explanation` (forward ops, backward steps, leaf gradients),
which ``explain`` prints and the stepper plays.

Nothing here differentiates anything itself: the gradient of every node comes from the
engine (:func:`chainrule.viz.view.node_grads`), and the per-input breakdown of a step is the
node's own ``vjp`` applied to that gradient, only for display.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from ..backend import ndarray, xp
from ..core import functional as F
from ..core import graph as _graph
from ..core.graph import AccumulateGrad, GraphError, Node, nodes
from ..core.tensor import Tensor
from .derivatives import _EW, GENERIC_GRAD, Rule, rule_for
from .i18n import LANGS, translate
from .view import GraphView, VNode, build_view, format_param, format_shape, node_grads

__all__ = ["build_explanation", "Explanation", "Operand", "Contribution", "Step", "LeafGrad"]


@dataclass
class Operand:
    """An input, parameter or op result, as the walkthrough names it."""

    name: str
    kind: str  # "op", "param", "input" or "literal"
    shape: tuple[int, ...]
    value: ndarray
    op: str = ""  # for ops: ``add(t1, b1)``
    group: str | None = None  # the module call that ran the op
    id: str = ""  # the node's id in the graph view


@dataclass
class Contribution:
    """What one edge of the graph carries backward: dL/d(input) from one consumer."""

    input: str  # the input's name
    expr: str  # in symbols: ``dL/doutput * output * (1 - output)``
    operands: list[tuple[str, ndarray]]  # the numbers combined: [("", G), ("*", factor)]
    raw: ndarray  # the vjp's result (the op's output shape when the input was broadcast)
    summed_axes: tuple[int, ...] | None  # the axes summed back to the input's shape, if any
    value: ndarray  # what reaches the input along this edge
    path: tuple[int, int] | None = None  # (k, n): the k-th of the n paths into the input
    note: str = ""
    src: str = ""  # the input's node id in the graph view (the edge is src -> the step's op)
    exprs: dict[str, str] = field(default_factory=dict)  # ``expr`` in each language

    def expr_in(self, lang: str) -> str:
        """``expr`` in ``lang`` (its prose translated; formulas are the same)."""
        return self.exprs.get(lang, self.expr)


@dataclass
class Step:
    """The backward step of one op."""

    out: Operand
    rule: Rule
    local: str  # the local derivative shown (the parts for the inputs that need a gradient)
    gsym: str  # the symbol of G: ``dL/dz2``
    alias: str  # G's other symbol when G passed unchanged through an add, else ""
    grad: ndarray | None  # G, as the engine computed it (None: no gradient reached the op)
    parts: list[Contribution]  # the paths adding up to G, when the output was used twice
    contributions: list[Contribution]
    constants: list[str]  # named inputs that need no gradient
    note: str = ""
    locals: dict[str, str] = field(default_factory=dict)  # ``local`` in each language
    through_time: Any = None  # a recurrent layer's step unrolled in time (unroll_text.TimeWalk)

    def local_in(self, lang: str) -> str:
        """``local`` in ``lang`` (its prose translated; formulas are the same)."""
        return self.locals.get(lang, self.local)


@dataclass
class LeafGrad:
    name: str
    grad: ndarray
    parts: list[Contribution]
    note: str = ""


@dataclass
class Explanation:
    """What :func:`format_explain` prints, as data (see :func:`build_explanation`)."""

    loss: Operand
    inputs: list[Operand]
    ops: list[Operand]
    steps: list[Step]
    leaves: list[LeafGrad]
    seed: ndarray
    digits: int = 4
    max_elements: int = 16
    grads: dict[str, ndarray] = field(default_factory=dict)  # name -> dL/dname
    view: GraphView | None = field(default=None, repr=False)  # the graph view it was built on
    operands: dict[str, Operand] = field(default_factory=dict, repr=False)  # by view node id

    def gradient(self, name: str) -> ndarray:
        """dL/d``name`` as the engine computed it (any named or auto-named node)."""
        try:
            return self.grads[name]
        except KeyError:
            raise KeyError(f"no node named {name!r}; known: {', '.join(self.grads)}") from None

    def format(self, width: int = 100, lang: str = "en") -> str:
        from .explain_text import _render
        from .i18n import check_lang

        return _render(self, width, check_lang(lang, "explain"))


def build_explanation(loss: Tensor, names: Mapping[str, Tensor] | None = None,
                      model: Any = None, max_nodes: int = 60, *,
                      notes: Mapping[str, str] | None = None, digits: int = 4,
                      max_elements: int = 16, unroll: bool | int = True) -> Explanation:
    """The walkthrough of backpropagation from ``loss``, as an :class:`Explanation`.

    Arguments as for :func:`~chainrule.viz.explain.format_explain`.
    """
    _check(loss, max_nodes)
    grads = node_grads(loss)  # raises a clear error when backward already freed the graph
    view = build_view(loss, model, values=True, names=names)
    b = _Builder(view, grads, dict(notes or {}))
    root = next(v for v in view.nodes if v.is_output)
    seed = grads.get(root.node) if root.node is not None else None
    if seed is None:
        seed = xp.ones_like(loss._data)
    steps = [b.step(v) for v in reversed(b.ops)]
    if unroll is not False:
        _unroll_steps(b, steps, unroll)
    leaves = b.leaves()
    return Explanation(b.operands[root.id], b.inputs(), [b.operands[v.id] for v in b.ops],
                       steps, leaves, seed, digits, max_elements, b.names_grads, view,
                       b.operands)


def _unroll_steps(b: _Builder, steps: list[Step], unroll: bool | int) -> None:
    """Attach to each recurrent layer's step its walk through time."""
    from .unroll import find_layers, keep_steps
    from .unroll_text import time_walk

    keep = keep_steps(unroll)
    by_node = {s.out.id: s for s in steps}
    for layer in find_layers(b.view):
        s = by_node.get(layer.rec.id)
        if s is not None and s.grad is not None:
            s.through_time = time_walk(layer, b.view, s.grad, keep)


def _check(loss: Tensor, max_nodes: int) -> None:
    """A clear error for what cannot be explained: not a tensor, no graph, a leaf, too big."""
    if not isinstance(loss, Tensor):
        raise TypeError(f"explain: expected a Tensor (the loss), got {type(loss).__name__}")
    graph_nodes = nodes(loss)
    if not graph_nodes:
        raise GraphError(
            f"explain: the tensor of shape {tuple(loss.shape)} has no graph (grad_fn is None): "
            "none of the tensors it was computed from requires grad, or it was computed under "
            "no_grad(). Create the parameters with requires_grad=True.")
    if loss._node.__class__ is AccumulateGrad:
        raise GraphError(
            f"explain: the tensor of shape {tuple(loss.shape)} is a leaf (created, not computed "
            "by an op): there is no chain rule to show. Explain a result computed from it, "
            "such as the loss.")
    if len(graph_nodes) > max_nodes:
        raise ValueError(
            f"explain: the graph has {len(graph_nodes)} nodes, more than max_nodes="
            f"{max_nodes}: a walkthrough that long would not be read. See its shape with "
            "cr.viz.print_graph(loss) (one line per op) or cr.viz.draw(loss, 'graph.svg'), "
            "explain a smaller piece of it (a batch of 1-2 samples, a smaller model), or pass "
            "a larger max_nodes.")


def _labels(view: GraphView) -> dict[str, str]:
    """Names: the caller's, parameters' dotted names, literals for unnamed scalar constants,
    t1, t2, ... for the rest (the view's ``ref``, shared with the drawings)."""
    return {v.id: v.ref for v in view.nodes}


class _Builder:
    """The walkthrough's parts, built node by node from the view and the engine's gradients."""

    def __init__(self, view: GraphView, grads: dict[Node, ndarray],
                 notes: dict[str, str]) -> None:
        self.view, self.grads, self.notes = view, grads, notes
        self.label = _labels(view)
        self.args: dict[str, list[str]] = {}
        self.uses: dict[str, list[tuple[str, int]]] = {}
        for e in view.edges:
            self.args.setdefault(e.dst, []).append(e.src)
            self.uses.setdefault(e.src, []).append((e.dst, e.index))
        self.by_id = {v.id: v for v in view.nodes}
        self.operands = {v.id: self._operand(v) for v in view.nodes}
        self.ops = [v for v in view.nodes if v.kind == "op"]
        self.names_grads: dict[str, ndarray] = {}
        self.gsym: dict[str, str] = {}
        self.alias: dict[str, str] = {}
        self.arrived: dict[str, list[Contribution]] = {}  # vnode id -> contributions into it

    def _operand(self, v: VNode) -> Operand:
        label = self.label
        if v.kind == "op":
            call = f"{v.op}({', '.join([label[a] for a in self.args.get(v.id, [])] + _params(v))})"
        else:
            call = ""
        value = v.value
        if value is None:
            what = f"{label[v.id]} = {call}" if call else f"an input of {_consumer(v, self.view)}"
            raise GraphError(
                f"explain: the value of {what} was not kept. Build the loss inside "
                "`with cr.viz.record():` (or cr.graph.record_inputs()) so that every "
                "intermediate value is kept, and explain it before loss.backward() frees the "
                "graph (or call backward(retain_graph=True)).")
        kind = v.kind
        if kind == "input" and value.ndim == 0 and not v.name:
            kind = "literal"
        group = self.view.groups[v.group].label if v.group in self.view.groups else v.group
        # a copy: the explanation is a snapshot (an optimizer step changes parameters in place)
        return Operand(label[v.id], kind, tuple(v.shape), xp.array(value), call, group, v.id)

    def sym(self, vid: str) -> str:
        return self.gsym.get(vid) or f"dL/d{self.label[vid]}"

    def step(self, v: VNode) -> Step:
        """The backward step of op ``v``: G, and what it sends to each input."""
        n = v.node
        assert n is not None
        label, uses = self.label, self.uses
        g = self.grads.get(n)
        if g is not None:
            self.names_grads[label[v.id]] = g
        rule = rule_for(n.name)
        note = self.notes.get(label[v.id], "") if len(uses.get(v.id, [])) != 1 else ""
        needed = tuple(m is not None for m in n.next)
        step = Step(self.operands[v.id], rule, rule.text(needed), self.sym(v.id),
                    self.alias.get(v.id, ""), g,
                    self.arrived.get(v.id, []) if len(uses.get(v.id, [])) > 1 else [], [], [],
                    note, {lang: rule.text(needed, lang) for lang in LANGS})
        if g is None:
            return step
        ins = self.args.get(v.id, [])
        with _graph.no_grad():
            got = n.vjp(_graph._make(g))
            units = n.vjp(_graph._make(xp.ones_like(g))) if rule.kind == _EW else None
        fields = _Fields(G=step.gsym, out=label[v.id])
        for k, key in enumerate("abc"):
            if k < len(ins):
                fields[key] = label[ins[k]]
        for i, src in enumerate(ins):
            m = n.next[i] if i < len(n.next) else None
            if m is None:
                if self.operands[src].kind != "literal" and label[src] not in step.constants:
                    step.constants.append(label[src])
                continue
            c = got[i] if i < len(got) else None
            if c is None:
                continue
            fields.update(me=label[src], shape=format_shape(tuple(m.shape)))
            self._contribute(step, n, i, ins, m, c, fields, g,
                             units[i] if units is not None else None)
        return step

    def _contribute(self, step: Step, n: Node, i: int, ins: list[str], m: Node, c: Tensor,
                    fields: _Fields, g: ndarray, unit: Any) -> None:
        """What the edge from input ``i`` carries back, added to ``step``."""
        rule, label, src = step.rule, self.label, ins[i]
        template = rule.grads[min(i, len(rule.grads) - 1)] if rule.grads else GENERIC_GRAD
        by_lang = {lang: _expression(rule, translate(template, lang), fields, n, i, ins,
                                     self.operands, g, unit) for lang in LANGS}
        expr, ops_shown = by_lang["en"]
        exprs = {lang: e for lang, (e, _) in by_lang.items()}
        raw = c._data
        summed = None
        val = c
        if raw.shape != tuple(m.shape):
            with _graph.no_grad():
                val = F.sum_to(c, tuple(m.shape))
            summed = F.summed_axes(raw.shape, tuple(m.shape))
        value = val._data
        if value.dtype != m.dtype:
            value = value.astype(m.dtype)
        paths = self.uses.get(src, [])
        path = None
        if len(paths) > 1:  # numbered in the order backward delivers them
            path = (len(self.arrived.get(src, [])) + 1, len(paths))
        contrib = Contribution(label[src], expr, ops_shown, raw, summed, value, path,
                               self.notes.get(label[src], "") if path is None else "", src,
                               exprs)
        step.contributions.append(contrib)
        self.arrived.setdefault(src, []).append(contrib)
        src_v = self.by_id[src]
        if (src_v.kind == "op" and not src_v.name and len(paths) == 1 and summed is None
                and rule.kind == "pass" and expr == step.gsym):
            self.gsym[src] = step.gsym  # G passed through unchanged: keep its symbol
            self.alias[src] = step.gsym

    def leaves(self) -> list[LeafGrad]:
        """What backward puts in the ``.grad`` of each leaf that requires grad."""
        leaves: list[LeafGrad] = []
        for v in self.view.nodes:
            if v.kind != "param" or v.node is None:
                continue
            g = self.grads.get(v.node)
            if g is None:
                continue
            self.names_grads[self.label[v.id]] = g
            parts = self.arrived.get(v.id, [])
            leaves.append(LeafGrad(self.label[v.id], g, parts if len(parts) > 1 else [],
                                   self.notes.get(self.label[v.id], "") if len(parts) > 1
                                   else ""))
        return leaves

    def inputs(self) -> list[Operand]:
        """Inputs and parameters in the order the forward pass first reads them."""
        first_use: dict[str, tuple[int, int]] = {}
        for k, v in enumerate(self.ops):
            for j, a in enumerate(self.args.get(v.id, [])):
                first_use.setdefault(a, (k, j))
        ops = self.ops
        return [self.operands[v.id] for v in sorted(
            (v for v in self.view.nodes if v.kind in ("param", "input")
             and self.operands[v.id].kind != "literal"),
            key=lambda v: first_use.get(v.id, (len(ops), 0)))]


def _consumer(v: VNode, view: GraphView) -> str:
    for e in view.edges:
        if e.src == v.id:
            return view.node(e.dst).op
    return "an op"


class _Fields(dict):
    """Template fields; a field the op lacks reads as ``?`` rather than failing."""

    def __missing__(self, key: str) -> str:
        return "?"


def _params(v: VNode) -> list[str]:
    """The op's parameters worth reading (defaults such as axis=None, keepdim=False left out)."""
    n = v.node
    if n is None:
        return []
    out = []
    for k, val in n.params().items():
        if val is None or val is False or k in ("basic", "sizes") or k.startswith("_"):
            continue
        out.append(f"{k}={format_param(val)}")
    return out


def _expression(rule: Rule, template: str, fields: _Fields, n: Node, i: int,
                ins: list[str], operands: dict[str, Operand], g: ndarray,
                unit: Any) -> tuple[str, list[tuple[str, ndarray]]]:
    """dL/d(input i) in symbols, and the numbers it multiplies."""
    G = fields["G"]
    if rule.kind in (_EW, "pass"):
        if n.name == "pow" and i == 0 and operands[ins[1]].kind == "literal":
            template = _pow_factor(float(operands[ins[1]].value))
        factor = template.format_map(fields)
        if factor == "1":
            return G, []
        if factor == "-1":
            return f"-{G}", []
        shown = [("", g)]
        if unit is not None:
            shown.append(("*", unit._data))
        return f"{G} * {factor}", shown
    expr = template.format_map(fields)
    if rule.kind == "matmul":
        a, b = operands[ins[0]].value, operands[ins[1]].value
        if i == 0:
            return expr, [("", g), ("@", xp.swapaxes(b, -1, -2))]
        return expr, [("", xp.swapaxes(a, -1, -2)), ("@", g)]
    return expr, []


def _pow_factor(p: float) -> str:
    """p a^(p-1) with the exponent's number written out: ``2 * {a}`` for a square."""
    if p == 1:
        return "1"
    if p == 2:
        return "2 * {a}"
    return f"{_short(p)} * {{a}}^{_short(p - 1)}"


def _short(x: float) -> str:
    return str(int(x)) if x == int(x) else f"{x:g}"

