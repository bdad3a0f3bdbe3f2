"""The captured step for a learner: a listing in ``print_graph``'s style, and a GraphView.

The listing walks the program in its three phases (forward, backward, update), one line per
instruction with its buffer, then the buffer plan: which values share which buffer.
"""

from __future__ import annotations

from typing import Any

from ..viz.i18n import Text
from ..viz.view import GraphView, VEdge, VGroup, VNode, format_params, format_shape
from .plan import Plan

_INPLACE = {"add": "+=", "subtract": "-=", "multiply": "*=", "divide": "/="}
PHASES = ("forward", "backward", "update")


def _names(plan: Plan, arg_names: list[str]) -> dict[int, str]:
    """A readable name for every value that is not computed: inputs, parameters, grads."""
    prog = plan.prog
    pnames: dict[int, str] = {}
    for m in reversed(prog.modules):  # the outermost module's names win
        for name, p in m.named_parameters():
            pnames[id(p)] = name
    out: dict[int, str] = {}
    for i, vid in enumerate(prog.inputs):
        if vid is not None:
            out[vid] = arg_names[i] if i < len(arg_names) else f"input{i}"
    k = 0
    for vid, v in enumerate(prog.values):
        if v.kind == "param":
            out[vid] = pnames.get(id(v.ref)) or f"param{k}"
            k += 1
    for vid, v in enumerate(prog.values):
        if v.kind == "grad":
            pv = prog.params.get(id(v.ref))
            out[vid] = f"{out.get(pv, 'param')}.grad" if pv is not None else "grad"
    return out


def _ref(plan: Plan, vid: int, refs: dict[int, str]) -> str:
    r = refs.get(vid)
    if r is not None:
        return r
    v = plan.prog.values[vid]
    if v.kind == "const":
        return repr(v.ref.item()) if v.ref.size == 1 and v.ref.ndim == 0 else \
            f"const{format_shape(v.shape)}"
    if v.kind in ("ext", "extarr"):
        if v.sample.ndim == 0:
            return repr(v.sample.item())
        return f"ext{format_shape(v.shape)}"
    if v.kind == "view":
        return f"{_ref(plan, v.ref, refs)}.reshape{format_shape(v.shape)}"
    return f"%{vid}"


def _grad_place(plan: Plan, vid: int, refs: dict[int, str]) -> str:
    """Where a value computed straight into a .grad buffer lives (fast.py)."""
    direct = getattr(plan, "direct", {})
    if vid not in direct:
        return "buffer"
    gv, perm = direct[vid]
    return _ref(plan, gv, refs) + (" transposed" if perm is not None else "")


def _line(plan: Plan, ins: Any, refs: dict[int, str], label: str) -> str:
    prog = plan.prog
    r = lambda v: _ref(plan, v, refs)  # noqa: E731
    op = ins.op
    if op in ("op", "fn"):
        v = prog.values[ins.out]
        refs[ins.out] = f"%{len(refs)}"
        if op == "op":
            node = ins.arg[0]
            params = format_params({k: s[1] for k, s in ins.arg[1].items()
                                    if s[0] == "py" and not k.startswith("_")})
            name = node.name
        else:
            params, name = "", getattr(ins.arg[0], "__name__", "helper")
        args = ", ".join([r(i) for i in ins.ins] + ([params] if params else []))
        where = "view" if len(ins.arg) == 3 else f"buf{plan.slot[ins.out]}" \
            if ins.out in plan.slot else _grad_place(plan, ins.out, refs)
        return (f"{refs[ins.out]} = {name}({args}) -> {format_shape(v.shape)} {v.dtype}"
                f"   [{where}: {label}]")
    if op == "acc":
        sign = "=" if ins.arg[0] == "copy" else "+="
        return f"{r(ins.out)} {sign} {r(ins.ins[0])}   [{label}]"
    if op == "ufunc":
        sym = _INPLACE.get(ins.arg.__name__)
        t, o = r(ins.ins[0]), r(ins.ins[1])
        return f"{t} {sym} {o}   [{label}]" if sym else f"{t} = {label}({t}, {o})"
    if op == "copyto":
        return f"{r(ins.ins[0])} <- {r(ins.ins[1])}   [{label}]"
    if op == "zero":
        return f"{r(ins.out)} = 0   [{label}]"
    if op == "vjp":
        outs = []
        for v in ins.results:
            refs[v] = f"%{len(refs)}"
            outs.append(refs[v])
        args = ", ".join(r(i) for i in ins.ins)
        name, _, kernel = label.partition(" (")
        how = "vjp on arrays, an out= kernel" if kernel else "vjp on arrays, replayed as one call"
        return f"{', '.join(outs)} = {name}({args})   [{how}]"
    if op == "pycall":
        return f"{label}({', '.join(r(v) for v in ins.ins)}, ...)"
    if op == "opt":
        n = len(ins.ins) // 2
        return f"{label}: {', '.join(r(v) for v in ins.ins[n:])}"
    return f"{label}()"


def format_program(plan: Plan, title: str, arg_names: list[str], dropped: tuple) -> str:
    """The captured step as text (see :meth:`CompiledFunction.print_program`)."""
    prog = plan.prog
    refs = _names(plan, arg_names)
    work = sum(b.nbytes for b in plan.store)
    lines = [f"{title}: a captured step of {len(prog.instrs)} instructions "
             f"({dropped[0]} dead ones removed, {dropped[1]} recomputations merged), "
             f"replayed as {len(plan.calls)} NumPy calls"]
    lines.append("inputs (copied into their buffers at each call):")
    for vid in prog.inputs:
        if vid is not None:
            v = prog.values[vid]
            lines.append(f"  {refs[vid]} {format_shape(v.shape)} {v.dtype}")
    lines.append("parameters (views of one flat buffer per dtype; .grad and optimizer state "
                 "in flat buffers of the same layout):")
    for p in plan.params:
        dt, a, b = plan.offsets[id(p)]
        name = refs.get(prog.params.get(id(p), -1), "param")
        lines.append(f"  {name} {format_shape(tuple(p.shape))} {dt}   [flat {dt}[{a}:{b}]]")
    labels = plan.instr_labels
    for phase in PHASES:
        body = [_line(plan, ins, refs, lab) for ins, lab in zip(prog.instrs, labels)
                if ins.phase == phase]
        if body:
            lines.append(f"{phase}:")
            lines.extend("  " + b for b in body)
    outs = [_ref(plan, o[1], refs) if o[0] == "value" else repr(o[1]) for o in prog.outputs]
    lines.append(f"return {', '.join(outs)}")
    lines.append(f"buffer plan: {len(plan.store)} work buffers ({work / 1024:.1f} KB) for "
                 f"{len(plan.slot)} computed values")
    users: dict[int, list[str]] = {}
    for vid, s in plan.slot.items():
        if vid in refs:
            users.setdefault(s, []).append(refs[vid])
    for s, arr in enumerate(plan.store):
        lines.append(f"  buf{s} {format_shape(arr.shape)} {arr.dtype}: "
                     f"{' '.join(users.get(s, []))}")
    return "\n".join(lines)


def graph_view(plan: Plan, arg_names: list[str]) -> GraphView:
    """The program as a :class:`GraphView` for ``cr.viz.draw``: one box per phase."""
    prog = plan.prog
    names = _names(plan, arg_names)
    nodes: list[VNode] = []
    edges: list[VEdge] = []
    producer: dict[int, str] = {}

    def source(vid: int) -> str:
        if vid not in producer:
            v = prog.values[vid]
            kind = "param" if v.kind in ("param", "grad") else "input"
            nid = f"v{vid}"
            label = names.get(vid) or _ref(plan, vid, names)
            nodes.append(VNode(nid, kind, label, v.shape, str(v.dtype), name=label))
            producer[vid] = nid
        return producer[vid]

    labels = plan.instr_labels
    for k, (ins, lab) in enumerate(zip(prog.instrs, labels)):
        srcs = [source(v) for v in ins.ins]
        nid = f"i{k}"
        if ins.op == "op":
            op = ins.arg[0].name
        elif ins.op == "acc":
            op = Text("accumulate {name}", name=names.get(ins.out or 0, "grad"))
        elif ins.op == "opt":
            op = lab
        else:
            op = {"fn": getattr(ins.arg[0], "__name__", "helper") if ins.op == "fn" else "",
                  "ufunc": "in-place " + getattr(ins.arg, "__name__", ""),
                  "copyto": "copy", "zero": "zero", "call": lab, "pycall": lab,
                  "vjp": lab}[ins.op]
        v = prog.values[ins.out] if ins.out is not None else None
        nodes.append(VNode(nid, "op", op, v.shape if v is not None else (),
                           str(v.dtype) if v is not None else "", group=ins.phase))
        for i, s in enumerate(srcs):
            edges.append(VEdge(s, nid, i, prog.values[ins.ins[i]].shape))
        if ins.out is not None:
            producer[ins.out] = nid
    for o in prog.outputs:
        if o[0] == "value" and o[1] in producer:
            for n in nodes:
                if n.id == producer[o[1]]:
                    n.is_output = True
    used = {n.group for n in nodes if n.group}
    groups = {p: VGroup(Text(p), p, None) for p in PHASES if p in used}  # (its label: p)
    return GraphView(nodes, edges, groups)
