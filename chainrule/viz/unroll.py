"""Recurrent layers unrolled in time, for the drawings and ``print_graph``.

The engine runs each layer and direction of ``nn.RNN`` / ``nn.LSTM`` / ``nn.GRU`` as one fused
``recurrent_layer`` node. :func:`unroll_view` replaces it, in a
:class:`~chainrule.viz.view.GraphView`, by the picture of backpropagation through time:

- one box per time step (``RNN step t=3``), in a box for the layer and direction, with the
  hidden state (and the LSTM's cell state) going from each step to the next;
- the layer's input reaching every step (``x_3``), its input projection (``x W_ih^T + b_ih``,
  one matrix product for all steps in the engine) drawn inside the steps;
- each repeated weight (``weight_ih``, ``bias_ih``, ``weight_hh``, ``bias_hh``) drawn once,
  feeding a box ``used at all T steps`` that feeds every step: forward it hands the same
  weight to each step, backward it sums the steps' shares of the gradient, and with
  ``grads=True`` each edge carries its step's share and the box the sum (the weight's
  ``.grad``);
- the states of all steps stacked into the layer's output.

With ``grads=True`` the edge from step t to the next carries dL/dh_t's share coming back
through the later step, the edge to the stacked output the share coming from the output at
step t, and the step's box dL/dh_t, their sum. Long sequences keep the first and last ``k``
steps (:func:`keep_steps`) and draw the steps between as one box. The numbers come from
:func:`~chainrule.viz.through_time.through_time`, the layer's cell arithmetic re-run in float64
from the node's own inputs and the engine's gradient of its output.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..backend import xp as np
from ..core.graph import AccumulateGrad
from .i18n import Text
from .through_time import ThroughTime, through_time
from .view import GraphView, VEdge, VGroup, VNode, _kept

__all__ = ["unroll_view", "find_layers", "layer_numbers", "keep_steps", "Unrolled",
           "DEFAULT_KEEP"]

#: unroll=True: every step of a sequence up to 2 * DEFAULT_KEEP + 2 steps, else the first and
#: last DEFAULT_KEEP with one box for the steps between
DEFAULT_KEEP = 3
_CELL = {"rnn_tanh": "RNN", "rnn_relu": "RNN", "lstm": "LSTM", "gru": "GRU"}
_WEIGHTS = ("weight_ih", "bias_ih", "weight_hh", "bias_hh")


@dataclass
class Unrolled:
    """A recurrent layer (one direction) found in a view: its node and where its inputs
    come from (view node ids), and, when the input projection ``x W_ih^T + b_ih`` feeding it
    was found, the layer input ``x``, the ``weight_ih`` and ``bias_ih`` nodes and the ops of
    the projection (drawn inside the steps)."""

    rec: VNode
    xi: str | None
    weights: dict[str, str]  # "weight_hh" / "bias_hh" / "weight_ih" / "bias_ih" -> node id
    s0: str | None
    x: str | None = None
    absorbed: list[str] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)  # weight -> the name shown

    @property
    def node(self) -> Any:
        return self.rec.node

    @property
    def T(self) -> int:
        return int(self.rec.shape[0])

    def label(self) -> str:
        """``layer 0`` / ``layer 0, reverse`` from the weights' names, else ``recurrent
        layer``."""
        name = self.names.get("weight_hh", "")
        k = name.rsplit("_l", 1)[-1] if "_l" in name else ""
        k = k.replace("_reverse", "")
        text = Text("layer {k}", k=k) if k.isdigit() else Text("recurrent layer")
        return Text("{layer}, reverse", layer=text) if self.node.reverse else text


def keep_steps(unroll: Any) -> int | None:
    """How many first and last steps ``unroll`` keeps (None: all)."""
    if unroll is True:
        return DEFAULT_KEEP
    if isinstance(unroll, bool) or not isinstance(unroll, int) or unroll < 1:
        raise ValueError(f"draw/explain: unroll must be True, False, None or a number of "
                         f"steps >= 1 to keep at each end of a long sequence, got {unroll!r}")
    return unroll


def find_layers(view: GraphView) -> list[Unrolled]:
    """Every ``recurrent_layer`` op of ``view`` run over more than one step, with its inputs
    and input projection."""
    by_id = {v.id: v for v in view.nodes}
    ins: dict[str, dict[int, str]] = {}
    uses: dict[str, int] = {}
    for e in view.edges:
        ins.setdefault(e.dst, {})[e.index] = e.src
        uses[e.src] = uses.get(e.src, 0) + 1
    found = []
    for v in view.nodes:
        if v.kind != "op" or v.op != "recurrent_layer" or v.node is None or v.shape[0] < 2:
            continue
        a = ins.get(v.id, {})
        layer = Unrolled(v, a.get(0), {}, a.get(3))
        for i, w in ((1, "weight_hh"), (2, "bias_hh")):
            if i in a and by_id[a[i]].kind != "input":  # (not bias=False's zeros)
                layer.weights[w] = a[i]
        _projection(layer, by_id, ins, uses)
        for w, vid in layer.weights.items():
            node = by_id[vid]
            layer.names[w] = node.name or node.ref or w
        found.append(layer)
    return found


def _projection(layer: Unrolled, by_id: dict[str, VNode], ins: dict[str, dict[int, str]],
                uses: dict[str, int]) -> None:
    """Find ``reshape(add(matmul(x, permute(weight_ih)), bias_ih))`` (nn.RNN's F.linear)
    feeding the layer, each op used only there."""

    def op(vid: str | None, name: str) -> VNode | None:
        v = by_id.get(vid) if vid is not None else None
        return v if v is not None and v.kind == "op" and v.op == name and uses.get(
            v.id) == 1 else None

    r = op(layer.xi, "reshape")
    if r is None:
        return
    a = op(ins.get(r.id, {}).get(0), "add")
    bias = None
    m = op(ins[a.id].get(0), "matmul") if a is not None else op(ins.get(r.id, {}).get(0),
                                                                 "matmul")
    if a is not None:
        bias = by_id.get(ins[a.id].get(1, ""))
        if bias is None or bias.kind != "param" or len(bias.shape) != 1:
            return
    if m is None:
        return
    p = op(ins.get(m.id, {}).get(1), "permute")
    w = by_id.get(ins.get(p.id, {}).get(0, "")) if p is not None else None
    if p is None or w is None or w.kind != "param" or 0 not in ins.get(m.id, {}):
        return
    layer.x = ins[m.id][0]
    layer.weights["weight_ih"] = w.id
    if bias is not None:
        layer.weights["bias_ih"] = bias.id
    layer.absorbed = [p.id, m.id, r.id] + ([a.id] if a is not None else [])


def layer_numbers(layer: Unrolled, view: GraphView, grad: Any = None) -> ThroughTime | None:
    """The layer's steps in float64 (with ``grad``, the gradient of its output: backward
    too), from its node's kept inputs; None when backward() freed them."""
    n = layer.node
    kept = n.inputs if n.inputs is not None else _kept(n, "inputs")
    if kept is None:
        return None
    xi, whh, bhh, s0 = (t._data for t in kept)
    x = wih = None
    if layer.x is not None:
        m = view.node(layer.absorbed[1]).node
        mk = m.inputs if m is not None and m.inputs is not None else (
            _kept(m, "inputs") if m is not None else None)
        w = view.node(layer.weights["weight_ih"]).node
        leaf = w.variable() if w.__class__ is AccumulateGrad else None
        if mk is not None and leaf is not None:
            x = mk[0]._data.reshape(xi.shape[0], xi.shape[1], -1)
            wih = leaf._data
    return through_time(n.mode, n.reverse, xi, whh, bhh, s0, grad, x, wih, n.batch_sizes)


class _TimeBox(VGroup):
    """The box around a layer's unrolled steps (its label is given, not a module's)."""

    def __init__(self, path: str, text: str, parent: str | None) -> None:
        super().__init__(path, "unrolled", parent)
        self.text = text

    @property
    def label(self) -> str:  # type: ignore[override]
        return self.text


def unroll_view(view: GraphView, unroll: Any = True) -> GraphView:
    """``view`` with every recurrent layer it shows unrolled in time (see the module
    docstring); ``unroll`` as for :func:`keep_steps`."""
    keep = keep_steps(unroll)
    layers = find_layers(view)
    if not layers:
        return view
    absorbed = {a for lay in layers for a in lay.absorbed}
    new_nodes: dict[str, list[VNode]] = {}
    new_edges: list[VEdge] = []
    for j, lay in enumerate(layers):
        nodes, edges, box = _unroll_layer(j, lay, view, keep)
        new_nodes[lay.rec.id] = nodes
        new_edges += edges
        view.groups[box.path] = box
    replaced = {lay.rec.id for lay in layers}
    out_nodes: list[VNode] = []
    for v in view.nodes:
        if v.id in absorbed:
            continue
        out_nodes += new_nodes.get(v.id, [])
        out_nodes.append(v)
    kept_edges = [e for e in view.edges if e.dst not in replaced and e.src not in absorbed
                  and e.dst not in absorbed]
    edges = kept_edges + new_edges
    linked = {e.src for e in edges} | {e.dst for e in edges}
    # a constant only the fused node read and no step reads (bias=False's zeros) goes too
    gone = {e.src for e in view.edges if e.dst in replaced} - linked
    view.nodes = [v for v in out_nodes if not (v.id in gone and v.kind == "input")]
    view.edges = edges
    return view


def _segments(T: int, keep: int | None) -> list[list[int]]:
    """Positions in the order the steps run, grouped: one per shown step, one for the
    elided middle."""
    if keep is None or T <= 2 * keep + 2:
        return [[k] for k in range(T)]
    return [[k] for k in range(keep)] + [list(range(keep, T - keep))] + [
        [k] for k in range(T - keep, T)]


def _unroll_layer(j: int, lay: Unrolled, view: GraphView,
                  keep: int | None) -> tuple[list[VNode], list[VEdge], _TimeBox]:
    """The boxes and edges replacing layer ``lay`` (the ``j``-th), and the box around them."""
    rec = lay.rec
    numbers = view.values or view.grads
    tt = layer_numbers(lay, view, rec.grad if view.grads else None) if numbers else None
    if numbers and tt is None:
        view.notes.append("recurrent layer drawn unrolled without numbers: backward() freed "
                          "its inputs")
    box = _TimeBox(f"{rec.group or ''}~unrolled{j}",
                   Text("{layer}: unrolled over {T} time steps", layer=lay.label(), T=lay.T),
                   rec.group)
    d = _Drawer(j, lay, view, tt, box.path, _segments(lay.T, keep))
    d.sums()
    d.steps()
    d.stack()
    return d.nodes, d.edges, box


class _Drawer:
    """Builds one unrolled layer: the weights' sums, the steps, the stacked output."""

    def __init__(self, j: int, lay: Unrolled, view: GraphView, tt: ThroughTime | None,
                 group: str, segs: list[list[int]]) -> None:
        self.j, self.lay, self.view, self.tt, self.group, self.segs = j, lay, view, tt, group, segs
        rec, node = lay.rec, lay.node
        self.T, self.B = int(rec.shape[0]), int(rec.shape[1])
        self.H = int(node.inputs[1].shape[1]) if node.inputs is not None else int(rec.shape[2])
        self.lstm = node.mode == "lstm"
        self.order = list(range(self.T - 1, -1, -1) if node.reverse else range(self.T))
        self.g = tt if tt is not None and tt.dh is not None else None  # the backward numbers
        self.nodes: list[VNode] = []
        self.edges: list[VEdge] = []
        self.sum_of: dict[str, str] = {}  # weight -> the id of its sum's box
        self.ids: list[str] = []  # the steps' boxes, in the order they run

    def _times(self, seg: list[int]) -> list[int]:
        return [self.order[k] for k in seg]

    def sums(self) -> None:
        """Each weight once, feeding a box that hands it to every step (and sums the
        steps' shares of its gradient)."""
        lay, g, T = self.lay, self.g, self.T
        for w in _WEIGHTS:
            if w not in lay.weights:
                continue
            src = self.view.node(lay.weights[w])
            sid = self.sum_of[w] = f"u{self.j}{w}"
            total = g.total(w) if g is not None and w in g.shares else None
            said = Text("used at every step: the steps' shares add up")
            if g is not None and total is not None:
                segs = sorted(self.segs, key=lambda seg: min(self._times(seg)))
                parts = [g.shares[w][self._times(seg)].sum(0) for seg in segs]
                one = parts[0].size == 1  # a single number: its value (signed), else its norm
                said = Text("the steps' shares: {parts}" if one else
                            "the steps' shares (norms): {parts}", parts=", ".join(
                                f"t={_span(self.order, seg)} "
                                f"{float(v.sum() if one else np.linalg.norm(v)):.3g}"
                                for seg, v in zip(segs, parts)))
            self.nodes.append(VNode(sid, "op", Text("sum over t=1..{T}", T=T), src.shape,
                                    src.dtype, name=f"dL/d{lay.names[w]}", params=said,
                                    group=self.group, grad=total))
            self.edges.append(VEdge(src.id, sid, 0, src.shape, label=None))  # (box: its grad)
            if src.group == lay.rec.group:  # the weight beside its sum, in the layer's box
                src.group = self.group

    def steps(self) -> None:
        """One box per step (one for the steps left out), the input reaching each, the state
        going from each to the next, the weights' sums feeding each."""
        lay, g, B, H = self.lay, self.g, self.B, self.H
        x_src = lay.x if lay.x is not None else lay.xi
        prev: str | None = lay.s0
        for s, seg in enumerate(self.segs):
            ts = self._times(seg)
            sid = f"u{self.j}s{s}"
            self.ids.append(sid)
            self.nodes.append(_step_node(sid, lay, ts, self.order, self.group, (B, H),
                                         lay.rec.dtype, self.tt))
            one = len(ts) == 1
            at = ts[0] if one else ts
            if x_src is not None:
                feat = self.view.node(x_src).shape[-1] if self.view.node(x_src).shape else 0
                share = None
                if g is not None:  # dL/dx_t (or dL/d(input gates) without the projection)
                    if lay.x is None:
                        share = g.d_gates[at]
                    elif "input" in g.shares:
                        share = g.shares["input"][at]
                self.edges.append(VEdge(x_src, sid, 0, (B, feat) if one else (len(ts), B, feat),
                                        grad=share))
            if prev is not None:
                self._state_edges(prev, sid, None if s == 0 else self.order[self.segs[s - 1][-1]])
            for i, w in enumerate(_WEIGHTS):
                if w in self.sum_of:  # (the steps' shares are written in the sum's box: labels
                    # on each of these edges would crowd the picture)
                    shape = self.view.node(lay.weights[w]).shape
                    self.edges.append(VEdge(self.sum_of[w], sid, 3 + i, shape, label=None))
            prev = sid

    def _state_edges(self, src: str, dst: str, p: int | None) -> None:
        """h (and c) from the step at time ``p`` (None: the initial state) into ``dst``,
        carrying back what ``dst`` sends to it."""
        g, B, H = self.g, self.B, self.H
        if p is None:
            self.edges.append(VEdge(src, dst, 1, self.view.node(src).shape,
                                    grad=g.d_initial if g is not None else None,
                                    label="h_0, c_0" if self.lstm else "h_0"))
            return
        self.edges.append(VEdge(src, dst, 1, (B, H), grad=g.from_next[p] if g else None,
                                label=f"h_{p + 1}"))
        if self.lstm:
            self.edges.append(VEdge(src, dst, 2, (B, H), grad=g.dc_from_next[p] if g else None,
                                    label=f"c_{p + 1}"))

    def stack(self) -> None:
        """The states of all steps stacked: the layer's output, read by what read the fused
        node (which becomes this box)."""
        rec, g, B = self.lay.rec, self.g, self.B
        rec.op = Text("stack")
        rec.params = Text("the states of steps 1..{T}, in time order", T=self.T)
        rec.group = self.group
        S = int(rec.shape[2])
        for sid, seg in zip(self.ids, self.segs):
            ts = sorted(self._times(seg))
            if len(ts) == 1:
                n = ts[0] + 1
                label = f"(h_{n}, c_{n})" if self.lstm else f"h_{n}"
                shape: tuple[int, ...] = (B, S)
                grad = g.from_output[ts[0]] if g is not None else None
            else:
                label, shape = Text("{n} states", n=len(ts)), (len(ts), B, S)
                grad = g.from_output[ts] if g is not None else None
            self.edges.append(VEdge(sid, rec.id, ts[0], shape, grad=grad, label=label))


def _span(order: list[int], seg: list[int]) -> str:
    """``3`` or ``4..47``: the time steps (from 1) of a segment of positions."""
    ts = sorted(order[k] + 1 for k in seg)
    return str(ts[0]) if len(ts) == 1 else f"{ts[0]}..{ts[-1]}"


def _step_node(sid: str, lay: Unrolled, ts: list[int], order: list[int], group: str,
               shape: tuple[int, int], dt: str, tt: ThroughTime | None) -> VNode:
    mode = lay.node.mode
    cell = _CELL[mode]
    B, H = shape
    if len(ts) > 1:
        a, b = min(ts) + 1, max(ts) + 1
        return VNode(sid, "op", Text("{cell} steps t={a}..{b}", cell=cell, a=a, b=b),
                     (len(ts), B, H), dt, name=f"h_{a} ... h_{b}",
                     params=Text("{n} steps not drawn", n=len(ts)),
                     group=group)
    t = ts[0]
    k = order.index(t)
    p = "0" if k == 0 else str(order[k - 1] + 1)
    n = str(t + 1)
    if mode in ("rnn_tanh", "rnn_relu"):
        w = lay.weights
        x = (f"W_ih x_{n}" + (" + b_ih" if "bias_ih" in w else "")) if lay.x is not None \
            else f"a_{n}"  # (the input gates, computed before the layer)
        hh = f"W_hh h_{p}" + (" + b_hh" if "bias_hh" in w else "")
        formula = f"{mode[4:]}({x} + {hh})"
    else:
        formula = {"lstm": f"c_{n} = f*c_{p} + i*g, h_{n} = o*tanh(c_{n})",
                   "gru": f"(1 - z)*n + z*h_{p}"}[mode]
    value = tt.h[t] if tt is not None else None
    grad = tt.dh[t] if tt is not None and tt.dh is not None else None
    return VNode(sid, "op", Text("{cell} step t={n}", cell=cell, n=n), (B, H), dt,
                 name=f"h_{n}", params=formula,
                 group=group, value=value, grad=grad)
