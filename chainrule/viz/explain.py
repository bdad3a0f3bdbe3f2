"""Backpropagation explained on a small graph: the forward pass and the chain rule, node by
node, with the numbers.

    with cr.viz.record():                  # keep every intermediate value
        z1 = X @ W1 + b1
        ...
        loss = 0.5 * (output - y) ** 2
    cr.viz.explain(loss, names={"X": X, "W1": W1, "z1": z1, ...})

The walkthrough has three parts:

- **Forward pass**: every op in the order it ran, as ``z1 = add(t1, b1)``, with its value.
- **Backward pass**: the ops in reverse order. Each receives ``G = dL/d(its output)`` from
  the engine, and the walkthrough shows the op's local derivative in symbols (the table
  :data:`DERIVATIVES`, one entry per primitive), the numbers multiplied, and the gradient
  that reaches each input. A gradient summed back to the shape of a broadcast input, and the
  gradients of a tensor used by several ops adding up, are shown as steps of their own.
- **Gradients of the leaves**: what ``loss.backward()`` puts in ``.grad``.

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
from .view import (GraphView, VNode, build_view, format_param, format_shape, format_value,
                   node_grads, record)

__all__ = ["explain", "format_explain", "build_explanation", "Explanation", "Rule",
           "DERIVATIVES", "tutorial_network", "format_tutorial", "TUTORIAL_NOTES"]


# ---------------------------------------------------------------------------------------------
# The local derivative of every primitive
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    """How one primitive's backward step is shown.

    ``local`` is the local derivative in symbols. ``grads`` has one template per input (the
    last one serves any further input); the templates may use ``{G}`` (the incoming
    gradient's symbol), ``{out}`` (the op's output), ``{a} {b} {c}`` (its inputs),
    ``{me}`` and ``{shape}`` (the input being served and its shape). ``kind`` says how the
    numbers are shown:

    - ``"elementwise"``: the template is the local factor f, and dL/dinput = G * f;
    - ``"pass"``: the same with f = 1 or -1 (dL/dinput = G or -G);
    - ``"matmul"``: the template is the product, with its operands' numbers;
    - ``"other"``: the template describes the result, which is shown on its own.
    """

    local: str | tuple[str, ...]  # a tuple: one part per input, shown for those needing grad
    grads: tuple[str, ...] = ()
    kind: str = "other"
    intro: str = ""  # shown before the parts of a tuple ``local``

    def text(self, needed: tuple[bool, ...] | None = None) -> str:
        """The local derivative; only the parts for the inputs that need a gradient."""
        if isinstance(self.local, str):
            return self.local
        parts = [p for i, p in enumerate(self.local)
                 if needed is None or (i < len(needed) and needed[i])]
        return self.intro + ", ".join(parts or self.local)


_EW = "elementwise"

#: The primitive's name (``Node.name``) -> how its backward step reads.
DERIVATIVES: dict[str, Rule] = {
    # binary elementwise (broadcasting: gradients are summed back to each input's shape)
    "add": Rule(("d(a + b)/da = 1", "d(a + b)/db = 1"), ("1", "1"), "pass"),
    "sub": Rule(("d(a - b)/da = 1", "d(a - b)/db = -1"), ("1", "-1"), "pass"),
    "mul": Rule(("d(a*b)/da = b", "d(a*b)/db = a"), ("{b}", "{a}"), _EW),
    "div": Rule(("d(a/b)/da = 1/b", "d(a/b)/db = -a/b^2"), ("(1 / {b})", "(-{a} / {b}^2)"), _EW),
    "pow": Rule(("d a^p/da = p a^(p-1)", "d a^p/dp = a^p log(a)"),
                ("{b} * {a}^({b} - 1)", "{out} * log({a})"), _EW),
    "maximum": Rule(("d max(a, b)/da = [a > b] (1/2 at a tie)",
                     "d max(a, b)/db = [b > a] (1/2 at a tie)"),
                    ("[{a} > {b}]", "[{b} > {a}]"), _EW),
    "minimum": Rule(("d min(a, b)/da = [a < b] (1/2 at a tie)",
                     "d min(a, b)/db = [b < a] (1/2 at a tie)"),
                    ("[{a} < {b}]", "[{b} < {a}]"), _EW),
    "where": Rule(("c is a condition: no gradient", "d where(c, x, y)/dx = [c]",
                   "d where(c, x, y)/dy = [not c]"),
                  ("", "[{a}]", "[not {a}]"), _EW),
    "tanh_grad": Rule("tanh_grad(g, t) = g (1 - t^2): d/dg = 1 - t^2, d/dt = -2 g t",
                      ("(1 - {b}^2)", "(-2 * {a} * {b})"), _EW),
    "sigmoid_grad": Rule("sigmoid_grad(g, s) = g s (1 - s): d/dg = s(1 - s), d/ds = g(1 - 2s)",
                         ("{b} * (1 - {b})", "{a} * (1 - 2 * {b})"), _EW),
    # unary elementwise
    "neg": Rule("d(-x)/dx = -1", ("-1",), "pass"),
    "exp": Rule("d exp(x)/dx = exp(x)", ("{out}",), _EW),
    "log": Rule("d log(x)/dx = 1/x", ("(1 / {a})",), _EW),
    "log1p": Rule("d log(1 + x)/dx = 1/(1 + x)", ("(1 / (1 + {a}))",), _EW),
    "sqrt": Rule("d sqrt(x)/dx = 1/(2 sqrt(x))", ("(1 / (2 * {out}))",), _EW),
    "sin": Rule("d sin(x)/dx = cos(x)", ("cos({a})",), _EW),
    "cos": Rule("d cos(x)/dx = -sin(x)", ("-sin({a})",), _EW),
    "tanh": Rule("d tanh(x)/dx = 1 - tanh(x)^2", ("(1 - {out}^2)",), _EW),
    "sigmoid": Rule("d sigmoid(z)/dz = s(1 - s), s = sigmoid(z)", ("{out} * (1 - {out})",),
                    _EW),
    "softplus": Rule("d log(1 + e^x)/dx = sigmoid(x)", ("sigmoid({a})",), _EW),
    "relu": Rule("d relu(x)/dx = 1 where x > 0, else 0", ("[{a} > 0]",), _EW),
    "abs": Rule("d|x|/dx = sign(x)", ("sign({a})",), _EW),
    "cast": Rule("d cast(x)/dx = 1 (the gradient goes back in x's dtype)", ("1",), "pass"),
    "erf": Rule("d erf(x)/dx = 2/sqrt(pi) exp(-x^2)", ("2/sqrt(pi) * exp(-{a}^2)",), _EW),
    "erfc": Rule("d erfc(x)/dx = -2/sqrt(pi) exp(-x^2)", ("-2/sqrt(pi) * exp(-{a}^2)",), _EW),
    "erfinv": Rule("d erfinv(y)/dy = sqrt(pi)/2 exp(erfinv(y)^2)",
                   ("sqrt(pi)/2 * exp({out}^2)",), _EW),
    "expm1": Rule("d (e^x - 1)/dx = e^x", ("({out} + 1)",), _EW),
    # reductions
    "sum": Rule("d sum(x)/dx_i = 1: G is copied back over the summed axes",
                ("{G} copied back to shape {shape}",)),
    "amax": Rule("d max(x)/dx_i = 1 at the maximum (shared at ties), 0 elsewhere",
                 ("{G} at the maxima of {a}, 0 elsewhere",)),
    "prod": Rule("d prod(x)/dx_i = the product of the other elements",
                 ("{G} * {out} / {a} (the product of the others)",)),
    # shapes
    "reshape": Rule("reshape only relabels the elements: G is reshaped back",
                    ("{G} reshaped to {shape}",)),
    "permute": Rule("permute only moves axes: G is permuted back", ("{G} permuted back",)),
    "broadcast_to": Rule("each copy of x_i gets a gradient: G is summed over the copies",
                         ("{G} summed back to shape {shape}",)),
    "diagonal": Rule("the diagonal is a selection: G goes back onto the diagonal, 0 elsewhere",
                     ("zeros{shape} with {G} on the diagonal",)),
    "diag_embed": Rule("diag_embed(g) puts g on a diagonal of zeros: linear, its vjp reads "
                       "the diagonal of G", ("the diagonal of {G}",)),
    "copy_slices": Rule("an in-place change of a view: the base with the view's elements "
                        "replaced by v: d/dbase = 1 outside the view, 0 inside; d/dv = 1 in it",
                        ("{G} with zeros in the view", "the view of {G}")),
    "cat": Rule("cat puts its inputs side by side: each input gets its slice of G",
                ("the slice of {G} that holds {me}",)),
    # indexing
    "getitem": Rule("d x[index]/dx = 1 at the selected elements, 0 elsewhere",
                    ("zeros{shape} with {G} added at the index",)),
    "index_add": Rule("index_add(g) puts g at an index in zeros: linear, its vjp reads G "
                      "back at the index", ("{G} at the index",)),
    "index_put": Rule("x with v written at an index: d/dx = 1 outside the index, 0 inside; "
                      "d/dv = 1 at the index", ("{G} with zeros at the index", "{G} at the index")),
    # products
    "matmul": Rule(("dL/dA = G @ B^T", "dL/dB = A^T @ G"), ("{G} @ {b}.T", "{a}.T @ {G}"),
                   "matmul", intro="for C = A @ B, "),
    "conv2d": Rule("conv2d: dL/dx = conv_transpose(G, w), dL/dw = correlate(x, G), "
                   "dL/db = G summed over (N, H, W)",
                   ("conv_transpose({G}, {b})", "correlate({a}, {G})",
                    "{G} summed over (N, H, W)")),
    "conv2d_input_grad": Rule("conv_transpose(g, w) is linear in g and w: d/dg is a "
                              "convolution, d/dw a correlation",
                              ("conv2d({G}, {b})", "correlate({G}, {a})")),
    "conv2d_weight_grad": Rule("correlate(x, g) is linear in x and g: d/dx is a transposed "
                               "convolution, d/dg a convolution",
                               ("conv_transpose({b}, {G})", "conv2d({a}, {G})")),
    "max_pool2d": Rule("d max/dx = 1 at the winning element of each window, 0 elsewhere",
                       ("{G} sent to the maximum of each window",)),
    "max_pool2d_grad": Rule("linear in g: its vjp gathers G at the same winning elements",
                            ("{G} read at the winning elements",)),
    "avg_pool2d": Rule("d mean/dx = 1/k for each of the k elements of a window",
                       ("{G} / k spread over each window",)),
    "avg_pool2d_grad": Rule("linear in g: its vjp is the average pool of G",
                            ("avg_pool2d({G})",)),
    "batch_norm": Rule("y = xh w + b, xh = (x - mean)/sqrt(var + eps): "
                       "dL/dx = w/sqrt(var + eps) (G - mean(G) - xh mean(G xh)), "
                       "dL/dw = sum(G xh), dL/db = sum(G)",
                       ("w/sqrt(var + eps) * ({G} - mean({G}) - xh * mean({G} * xh))",
                        "sum({G} * xh)", "sum({G})")),
    "recurrent_layer": Rule("a recurrent layer unrolled over T steps (backpropagation through "
                            "time): each step's gradient flows into the previous state, and "
                            "the weights' gradients are summed over the steps",
                            ("dL/d(input gates) of every step, from {G} flowing back in time",
                             "sum over steps of dL/d(hidden gates)^T h_(t-1)",
                             "sum over steps and batch of dL/d(hidden gates)",
                             "dL/d(initial state): {G} after flowing back through every step")),
    # row-wise ops of attention (issue 11)
    "softmax": Rule("y = softmax(x) over the last dim: dL/dx = y (G - sum(G y))",
                    ("{out} * ({G} - sum({G} * {out}))",)),
    "layer_norm": Rule("y = (x - mean)/sqrt(var + eps) over the trailing dims: "
                       "dL/dx = (G - mean(G) - y mean(G y)) / sqrt(var + eps)",
                       ("({G} - mean({G}) - {out} * mean({G} * {out})) / sqrt(var + eps)",)),
}


def rule_for(op: str) -> Rule:
    """The :class:`Rule` of primitive ``op``; a generic one for an op without an entry."""
    return DERIVATIVES.get(op) or Rule(f"vjp of {op}", ("vjp of {out} applied to {G}",))


# ---------------------------------------------------------------------------------------------
# The explanation, as data
# ---------------------------------------------------------------------------------------------


@dataclass
class Operand:
    """An input, parameter or op result, as the walkthrough names it."""

    name: str
    kind: str  # "op", "param", "input" or "literal"
    shape: tuple[int, ...]
    value: ndarray
    op: str = ""  # for ops: ``add(t1, b1)``
    group: str | None = None  # the module call that ran the op


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

    def gradient(self, name: str) -> ndarray:
        """dL/d``name`` as the engine computed it (any named or auto-named node)."""
        try:
            return self.grads[name]
        except KeyError:
            raise KeyError(f"no node named {name!r}; known: {', '.join(self.grads)}") from None

    def format(self, width: int = 100) -> str:
        return _render(self, width)


# ---------------------------------------------------------------------------------------------
# Building it
# ---------------------------------------------------------------------------------------------


def build_explanation(loss: Tensor, names: Mapping[str, Tensor] | None = None,
                      model: Any = None, max_nodes: int = 60, *,
                      notes: Mapping[str, str] | None = None, digits: int = 4,
                      max_elements: int = 16) -> Explanation:
    """The walkthrough of backpropagation from ``loss``, as an :class:`Explanation`.

    Arguments as for :func:`format_explain`.
    """
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
    grads = node_grads(loss)  # raises a clear error when backward already freed the graph
    view = build_view(loss, model, values=True, names=names)
    notes = dict(notes or {})

    # names: the caller's, parameters' dotted names, literals for unnamed scalar constants,
    # t1, t2, ... for the rest
    label: dict[str, str] = {}
    taken = {v.name for v in view.nodes if v.name}
    counter = 0
    for v in view.nodes:
        if v.name and v.name != "(not kept)":
            label[v.id] = v.name
        elif v.kind == "input" and v.value is not None and v.value.ndim == 0:
            label[v.id] = format_value(v.value, digits=6)
        else:
            counter += 1
            while f"t{counter}" in taken:
                counter += 1
            label[v.id] = f"t{counter}"
    args: dict[str, list[str]] = {}
    uses: dict[str, list[tuple[str, int]]] = {}
    for e in view.edges:
        args.setdefault(e.dst, []).append(e.src)
        uses.setdefault(e.src, []).append((e.dst, e.index))
    by_id = {v.id: v for v in view.nodes}

    operands: dict[str, Operand] = {}
    for v in view.nodes:
        if v.kind == "op":
            call = f"{v.op}({', '.join([label[a] for a in args.get(v.id, [])] + _params(v))})"
        else:
            call = ""
        value = v.value
        if value is None:
            what = f"{label[v.id]} = {call}" if call else f"an input of {_consumer(v, view)}"
            raise GraphError(
                f"explain: the value of {what} was not kept. Build the loss inside "
                "`with cr.viz.record():` (or cr.graph.record_inputs()) so that every "
                "intermediate value is kept, and explain it before loss.backward() frees the "
                "graph (or call backward(retain_graph=True)).")
        kind = v.kind
        if kind == "input" and value.ndim == 0 and not v.name:
            kind = "literal"
        group = view.groups[v.group].label if v.group in view.groups else v.group
        # a copy: the explanation is a snapshot (an optimizer step changes parameters in place)
        operands[v.id] = Operand(label[v.id], kind, tuple(v.shape), xp.array(value), call,
                                 group)

    root = next(v for v in view.nodes if v.is_output)
    seed = grads.get(root.node) if root.node is not None else None
    if seed is None:
        seed = xp.ones_like(loss._data)
    names_grads: dict[str, ndarray] = {}
    gsym: dict[str, str] = {}
    alias: dict[str, str] = {}
    arrived: dict[str, list[Contribution]] = {}  # vnode id -> contributions into it

    def sym(vid: str) -> str:
        return gsym.get(vid) or f"dL/d{label[vid]}"

    steps: list[Step] = []
    ops = [v for v in view.nodes if v.kind == "op"]
    for v in reversed(ops):
        n = v.node
        assert n is not None
        g = grads.get(n)
        if g is not None:
            names_grads[label[v.id]] = g
        rule = rule_for(n.name)
        note = notes.get(label[v.id], "") if len(uses.get(v.id, [])) != 1 else ""
        needed = tuple(m is not None for m in n.next)
        step = Step(operands[v.id], rule, rule.text(needed), sym(v.id), alias.get(v.id, ""), g,
                    arrived.get(v.id, []) if len(uses.get(v.id, [])) > 1 else [], [], [], note)
        steps.append(step)
        if g is None:
            continue
        ins = args.get(v.id, [])
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
                if operands[src].kind != "literal" and label[src] not in step.constants:
                    step.constants.append(label[src])
                continue
            c = got[i] if i < len(got) else None
            if c is None:
                continue
            fields.update(me=label[src], shape=format_shape(tuple(m.shape)))
            template = rule.grads[min(i, len(rule.grads) - 1)] if rule.grads else \
                "vjp of {out} applied to {G}"
            expr, ops_shown = _expression(rule, template, fields, n, i, ins, operands, g,
                                          units[i] if units is not None else None)
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
            paths = uses.get(src, [])
            path = None
            if len(paths) > 1:  # numbered in the order backward delivers them
                path = (len(arrived.get(src, [])) + 1, len(paths))
            contrib = Contribution(label[src], expr, ops_shown, raw, summed, value, path,
                                   notes.get(label[src], "") if path is None else "")
            step.contributions.append(contrib)
            arrived.setdefault(src, []).append(contrib)
            src_v = by_id[src]
            if (src_v.kind == "op" and not src_v.name and len(paths) == 1 and summed is None
                    and rule.kind == "pass" and expr == step.gsym):
                gsym[src] = step.gsym  # G passed through unchanged: keep its symbol
                alias[src] = step.gsym

    leaves: list[LeafGrad] = []
    for v in view.nodes:
        if v.kind != "param" or v.node is None:
            continue
        g = grads.get(v.node)
        if g is None:
            continue
        names_grads[label[v.id]] = g
        parts = arrived.get(v.id, [])
        leaves.append(LeafGrad(label[v.id], g, parts if len(parts) > 1 else [],
                               notes.get(label[v.id], "") if len(parts) > 1 else ""))
    first_use: dict[str, tuple[int, int]] = {}
    for k, v in enumerate(ops):
        for j, a in enumerate(args.get(v.id, [])):
            first_use.setdefault(a, (k, j))
    inputs = [operands[v.id] for v in sorted(
        (v for v in view.nodes if v.kind in ("param", "input")
         and operands[v.id].kind != "literal"),
        key=lambda v: first_use.get(v.id, (len(ops), 0)))]
    return Explanation(operands[root.id], inputs, [operands[v.id] for v in ops], steps,
                       leaves, seed, digits, max_elements, names_grads)


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


# ---------------------------------------------------------------------------------------------
# Rendering
# ---------------------------------------------------------------------------------------------


class _Formatter:
    def __init__(self, digits: int, max_elements: int) -> None:
        self.digits = digits
        self.max_elements = max_elements

    def __call__(self, a: Any) -> str:
        a = xp.asarray(a)
        if a.size <= self.max_elements:
            return format_value(a, self.max_elements, self.digits)
        return f"{format_shape(a.shape)} array: " + format_value(a, 0, self.digits)


def _split_rows(s: str) -> list[str]:
    """``[[1, 2], [3, 4]]`` -> ``["[[1, 2],", "[3, 4]]"]``: the pieces a long value may be
    broken at (after each row)."""
    if not s.startswith("[["):
        return [s]
    pieces, depth, start = [], 0, 0
    for k, ch in enumerate(s):
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
        elif ch == "," and depth == 1:
            pieces.append(s[start:k + 1])
            start = k + 2
    pieces.append(s[start:])
    return pieces


def _place(prefix: str, value: str, width: int) -> list[str]:
    """``prefix + value``, broken after rows of the array (aligned) when it is too wide."""
    if len(prefix) + len(value) <= width:
        return [prefix + value]
    rows = _split_rows(value)
    lines = [prefix + rows[0]]
    pad = " " * (len(prefix) + 1)
    for r in rows[1:]:
        if len(lines[-1]) + 1 + len(r) <= width:
            lines[-1] += " " + r
        else:
            lines.append(pad + r)
    return lines


def _equation(lhs: str, rhs: list[list[tuple[str, str]]], width: int) -> list[str]:
    """``lhs = a * b`` / ``= c`` lines: each rhs line is [(operator, text), ...]; a line too
    wide puts each operand on a line of its own, under the ``=``."""
    lines: list[str] = []
    pad = " " * (len(lhs) + 1)
    for k, terms in enumerate(rhs):
        head = lhs + " = " if k == 0 else pad + "= "
        joined = " ".join(f"{op} {t}" if op else t for op, t in terms)
        if len(head) + len(joined) <= width or len(terms) == 1:
            lines.extend(_place(head, joined, width))
            continue
        for j, (op, t) in enumerate(terms):
            h = head if j == 0 else pad + f"{op} "
            lines.extend(_place(h, t, width))
    return lines


def _render(ex: Explanation, width: int) -> str:
    fmt = _Formatter(ex.digits, ex.max_elements)
    out: list[str] = []
    add = out.append
    loss = ex.loss
    add("FORWARD PASS: every op computes its output from its inputs, first to last")
    add("")
    if ex.inputs:
        add("  inputs and parameters:")
        nw = max(len(o.name) for o in ex.inputs)
        sw = max(len(format_shape(o.shape)) for o in ex.inputs)
        for o in ex.inputs:
            what = "requires grad" if o.kind == "param" else "input"
            head = f"    {o.name:<{nw}}  {format_shape(o.shape):<{sw}}  {what:<13}  "
            out.extend(_place(head, fmt(o.value), width))
        add("")
    add("  ops:")
    cw = min(max(len(f"{o.name} = {o.op}") for o in ex.ops), 40)
    shw = max(len(format_shape(o.shape)) for o in ex.ops)
    group: str | None = None
    for o in ex.ops:
        if o.group != group:
            add(f"    # inside {o.group}" if o.group else "    # outside the model")
            group = o.group
        lhs = f"    {o.name} = {o.op}"
        tail = "    <- the output being explained" if o is loss else ""
        shape = format_shape(o.shape)
        head = f"{lhs:<{cw + 4}}  {shape:<{shw}}  "
        value = fmt(o.value)
        if len(head) + len(value) + len(tail) > width and len(head) > width // 2:
            add(lhs + tail)
            out.extend(_place(f"{'':8}{shape} ", value, width))
        else:
            lines = _place(head, value, width)
            lines[-1] += tail
            out.extend(lines)
    add("")

    add("BACKWARD PASS: the chain rule, from the output back to the inputs")
    add("")
    seed_txt = "1" if ex.seed.size == 1 else f"ones{format_shape(ex.seed.shape)}"
    intro = (f"  Each op receives G = dL/d(its output), multiplies it by its local derivative "
             f"and passes dL/d(input) to each input. Backward starts from dL/d{loss.name} = "
             f"{seed_txt}")
    intro += "." if ex.seed.size == 1 else f" (what {loss.name}.sum().backward() does)."
    out.extend(_wrap_words(intro, width, "  ", "  "))
    for s in ex.steps:
        add("")
        add(f"  {s.out.name} = {s.out.op}")
        out.extend(_wrap_words(f"local derivative: {s.local}", width, "    ", "      "))
        if s.grad is None:
            add("    no gradient reaches this op")
            continue
        gname = f"dL/d{s.out.name}"
        if s.parts:
            add(f"    {s.out.name} is used {len(s.parts)} times: the gradients of its "
                f"{len(s.parts)} paths add up")
            out.extend(_equation(f"    G = {gname}",
                                 [[("", " + ".join(f"path {c.path[0] if c.path else k + 1}"
                                                   for k, c in enumerate(s.parts)))],
                                  [("+" if k else "", fmt(c.value))
                                   for k, c in enumerate(s.parts)],
                                  [("", fmt(s.grad))]], width))
        elif s.alias:
            out.extend(_place(f"    G = {gname} = {s.alias} = ", fmt(s.grad), width))
        else:
            out.extend(_place(f"    G = {gname} = ", fmt(s.grad), width))
        if s.note:
            out.extend(_wrap_words(s.note, width, "      "))
        for c in s.contributions:
            out.extend(_contribution(c, fmt, width))
        for name in s.constants:
            add(f"    ({name} needs no gradient: it does not require grad)")

    add("")
    call = f"{loss.name}.backward()" if ex.seed.size == 1 else f"{loss.name}.sum().backward()"
    add(f"GRADIENTS OF THE LEAVES: what {call} puts in .grad")
    if not ex.leaves:
        add("  (no leaf requires grad)")
    for leaf in ex.leaves:
        add("")
        lhs = f"  {leaf.name}.grad = dL/d{leaf.name}"
        if leaf.parts:
            add(f"  {leaf.name} is used {len(leaf.parts)} times: the gradients of its paths "
                "add up in .grad")
            out.extend(_equation(lhs, [[("+" if k else "", fmt(c.value))
                                        for k, c in enumerate(leaf.parts)],
                                       [("", fmt(leaf.grad))]], width))
        else:
            out.extend(_place(lhs + " = ", fmt(leaf.grad), width))
        if leaf.note:
            out.extend(_wrap_words(leaf.note, width, "    "))
    return "\n".join(out)


def _contribution(c: Contribution, fmt: _Formatter, width: int) -> list[str]:
    lhs = f"    dL/d{c.input}"
    if c.path is not None:
        lhs += f" (path {c.path[0]} of {c.path[1]})"
    rhs: list[list[tuple[str, str]]] = []
    if c.operands:
        rhs.append([("", c.expr)])
        rhs.append([(op, fmt(a)) for op, a in c.operands])
        rhs.append([("", fmt(c.raw))])
    else:
        rhs.append([("", c.expr)])
        rhs.append([("", fmt(c.raw))])
    if len(rhs) == 2 and len(lhs) + len(c.expr) + len(rhs[1][0][1]) + 6 <= width:
        lines = [f"{lhs} = {c.expr} = {rhs[1][0][1]}"]
    else:
        lines = _equation(lhs, rhs, width)
    if c.summed_axes is not None:
        pad = " " * (len(lhs) + 1)
        axes = c.summed_axes
        what = (f"axis {axes[0]}" if len(axes) == 1 else
                "axes " + ", ".join(str(a) for a in axes))
        lines.extend(_wrap_words(f"summed over {what}: {format_shape(c.raw.shape)} -> "
                                 f"{format_shape(c.value.shape)}   ({c.input} was broadcast "
                                 "in the forward pass)", width, pad + "  ", pad + "    "))
        lines.extend(_place(pad + "= ", fmt(c.value), width))
    if c.path is not None:
        lines.append(" " * (len(lhs) + 1) + f"  (adds up with the other path"
                     f"{'s' if c.path[1] > 2 else ''} into {c.input})")
    if c.note:
        lines.extend(_wrap_words(c.note, width, "      "))
    return lines


def _wrap_words(text: str, width: int, indent: str, hang: str | None = None) -> list[str]:
    """``text`` broken at spaces into lines of at most ``width`` columns; the first starts
    with ``indent``, the others with ``hang`` (default: ``indent`` and two spaces)."""
    hang = indent + "  " if hang is None else hang
    lines: list[str] = []
    cur = indent
    for word in text.split(" "):
        if cur.strip() and len(cur) + 1 + len(word) > width:
            lines.append(cur)
            cur = hang + word
        else:
            cur = cur + (" " if cur.strip() else "") + word
    if cur.strip():
        lines.append(cur)
    return lines


# ---------------------------------------------------------------------------------------------
# Public functions
# ---------------------------------------------------------------------------------------------


def format_explain(loss: Tensor, names: Mapping[str, Tensor] | None = None, model: Any = None,
                   max_nodes: int = 60, *, notes: Mapping[str, str] | None = None,
                   digits: int = 4, max_elements: int = 16, width: int = 100) -> str:
    """Backpropagation from ``loss``, node by node with the numbers, as text.

    The graph must have been built inside ``with cr.viz.record():`` (which keeps every
    intermediate value) and not yet freed by ``backward()``. ``names`` names tensors as the
    program does (``{"X": X, "W1": W1, "z1": z1}``): inputs, parameters and intermediate
    results; parameters of ``model`` (or of a model given to ``record``) get their dotted
    names, and the rest ``t1, t2, ...``. ``notes`` adds a line of text where dL/d``name``
    is computed. Arrays with more than ``max_elements`` elements are summarised; numbers
    have ``digits`` significant digits. A graph of more than ``max_nodes`` nodes is refused.

    >>> import chainrule as cr
    >>> w = cr.tensor([2.0], requires_grad=True)
    >>> with cr.viz.record():
    ...     y = (w * 3.0).sum()
    >>> text = format_explain(y, names={"w": w, "y": y})
    >>> print(text.splitlines()[-1])
      w.grad = dL/dw = [3]
    """
    ex = build_explanation(loss, names, model, max_nodes, notes=notes, digits=digits,
                           max_elements=max_elements)
    return ex.format(width)


def explain(loss: Tensor, names: Mapping[str, Tensor] | None = None, model: Any = None,
            max_nodes: int = 60, **kwargs: Any) -> None:
    """Print :func:`format_explain` of ``loss``."""
    print(format_explain(loss, names, model, max_nodes, **kwargs))


# ---------------------------------------------------------------------------------------------
# The tutorial's 2-2-1 network
# ---------------------------------------------------------------------------------------------

#: Where the tutorial's hand-derived deltas appear in the walkthrough (d_v is dL/dv).
TUTORIAL_NOTES = {
    "output": "tutorial: d_output = output - y   (here dL/dt3 = 0.5 * 2 * t3, and t3 = output - y)",
    "z2": "tutorial: d_z2 = d_output * output * (1 - output) "
          "= (output - y) * output * (1 - output)",
    "a1": "tutorial: d_a1 = np.dot(d_z2, W2.T)",
    "W2": "tutorial: d_W2 = np.dot(a1.T, d_z2)",
    "z1": "tutorial: d_z1 = d_a1 * a1 * (1 - a1)",
    "W1": "tutorial: d_W1 = np.dot(X.T, d_z1)",
}


def tutorial_network() -> dict[str, Tensor]:
    """The tutorial's 2-2-1 sigmoid network and its loss, built inside :func:`record`.

    Returns the tensors by the tutorial's names: X, W1, b1, W2, b2, z1, a1, z2, output, y,
    loss (``0.5 * (output - y) ** 2``, shape (1, 1)). W1 and W2 require grad (the tutorial
    updates only them), in float64 as the tutorial's NumPy arrays.

    >>> t = tutorial_network()
    >>> round(t["output"].item(), 8)
    0.78456671
    """
    from ..core.creation import tensor

    with record():
        X = tensor(xp.array([[0.5, 1.2]]))
        W1 = tensor(xp.array([[0.4, 0.3], [0.2, 0.7]]), requires_grad=True)
        b1 = tensor(xp.array([[0.1, 0.2]]))
        W2 = tensor(xp.array([[0.6], [0.8]]), requires_grad=True)
        b2 = tensor(xp.array([[0.3]]))
        y = tensor(xp.array([[1.0]]))
        z1 = X @ W1 + b1
        a1 = F.sigmoid(z1)
        z2 = a1 @ W2 + b2
        output = F.sigmoid(z2)
        loss = 0.5 * (output - y) ** 2
    return {"X": X, "W1": W1, "b1": b1, "W2": W2, "b2": b2, "z1": z1, "a1": a1, "z2": z2,
            "output": output, "y": y, "loss": loss}


def format_tutorial(lr: float = 0.1, width: int = 100) -> str:
    """The walkthrough of the tutorial's 2-2-1 network, then its step of gradient descent.

    The gradients are checked twice on the way: they equal what ``loss.backward()`` puts in
    ``.grad``, and what the tutorial's own hand-derived NumPy formulas give.
    """
    from ..core.graph import no_grad

    t = tutorial_network()
    ex = build_explanation(t["loss"], t, notes=TUTORIAL_NOTES)
    text = ex.format(width)
    loss, W1, W2 = t["loss"], t["W1"], t["W2"]
    w1, w2 = W1._data.copy(), W2._data.copy()
    loss.backward()
    g1, g2 = W1.grad._data, W2.grad._data  # type: ignore[union-attr]
    explained = {leaf.name: leaf.grad for leaf in ex.leaves}
    same = xp.array_equal(explained["W1"], g1) and xp.array_equal(explained["W2"], g2)
    # the tutorial's own formulas, in NumPy, on the same arrays
    X, a1, out = t["X"]._data, t["a1"]._data, t["output"]._data
    d_output = out - t["y"]._data
    d_z2 = d_output * out * (1 - out)
    d_W2 = xp.dot(a1.T, d_z2)
    d_a1 = xp.dot(d_z2, w2.T)
    d_z1 = d_a1 * a1 * (1 - a1)
    d_W1 = xp.dot(X.T, d_z1)
    diff = max(float(abs(d_W1 - g1).max()), float(abs(d_W2 - g2).max()))
    with no_grad():  # the tutorial's update, on the tensors
        W2 -= lr * W2.grad  # type: ignore[operator]
        W1 -= lr * W1.grad  # type: ignore[operator]

    fmt8, fmt4 = _Formatter(8, 16), _Formatter(4, 16)
    lines = ["", "CHECKS", ""]
    lines.append("  W1.grad and W2.grad after loss.backward(): "
                 f"{'the same numbers as above' if same else 'DIFFERENT from the numbers above'}")
    lines.append("  the tutorial's hand-derived d_W1, d_W2 in NumPy: largest difference "
                 f"{diff:.1e}")
    lines += ["", f"ONE STEP OF GRADIENT DESCENT, as in the tutorial (learning_rate = {lr:g})",
              "", f"  loss = 0.5 * (output - y)^2 = {loss.item():.8f}"]
    for name, old, g, new in (("W2", w2, g2, W2), ("W1", w1, g1, W1)):
        lines.append("")
        lines.append(f"  {name} -= {lr:g} * d_{name}")
        lines.extend(_place(f"  {name} = ", f"{fmt8(old)} - {lr:g} * {fmt4(g)}", width))
        lines.extend(_place(f"  {' ' * len(name)} = ", fmt8(new._data), width))
    return text + "\n" + "\n".join(lines)
