"""The graph as Graphviz DOT text (the ``dot`` engine lays it out and renders it)."""

from __future__ import annotations

from .i18n import translate
from .sides import _Sides
from .style import (_FONT, _GRAD, _GROUP_BORDER, _GROUP_FILL, _SIZE, _STYLE, _TEXT,
                    _edge_text, _grad_text, _label, _legend_entries, _legend_notes, _say, _style)
from .view import GraphView, VNode

# ---------------------------------------------------------------------------------------------
# DOT
# ---------------------------------------------------------------------------------------------


def _q(s: str) -> str:
    """A DOT double-quoted string."""
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _html(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def _dot_label(lines: list[tuple[str, str]]) -> str:
    parts = []
    for text, role in lines:
        if role == "title":
            parts.append(f"<B>{_html(text)}</B>")
        else:
            parts.append(f'<FONT POINT-SIZE="{_SIZE[role]:g}" COLOR="{_TEXT[role]}">'
                         f"{_html(text)}</FONT>")
    return "<" + "<BR/>".join(parts) + ">"


def _dot_node(n: VNode, view: GraphView, indent: str, svg_ids: bool = False,
              lang: str = "en") -> str:
    fill, border = _style(n)
    attrs = [f"label={_dot_label(_label(n, view.values, view.grads, lang))}",
             f'fillcolor="{fill}"', f'color="{border}"']
    if svg_ids:
        attrs.append(f'id="node-{n.id}"')
    if n.kind != "op":
        attrs.append('style="filled"')
    if n.kind == "module":
        attrs.append("peripheries=2")
    if n.is_output:
        attrs.append("penwidth=2.5")
    return f"{indent}{_q(n.id)} [{', '.join(attrs)}];"


def _dot(view: GraphView, legend: bool = True, rankdir: str = "TB",
         svg_ids: bool = False, lang: str = "en") -> str:
    """The DOT text of ``view`` with its words in ``lang``; ``svg_ids``: the SVG ids the
    Python engine gives its shapes (``node-<id>``, ``edge-<src>-<dst>-<index>``), which the
    stepper page looks up."""
    if rankdir not in ("TB", "LR", "BT", "RL"):
        raise ValueError(f"to_dot: rankdir must be TB, LR, BT or RL, got {rankdir!r}")
    out = [
        "digraph chainrule {",
        f'  graph [rankdir={rankdir}, fontname="{_FONT}", nodesep=0.3, ranksep=0.35, '
        'pad=0.2, bgcolor="white", newrank=true];',
        f'  node [shape=box, style="rounded,filled", fontname="{_FONT}", fontsize=11, '
        'margin="0.14,0.06", penwidth=1.2];',
        f'  edge [fontname="{_FONT}", fontsize=9, fontcolor="#555555", color="#4a5568", '
        "arrowsize=0.7];",
    ]
    index = {p: k for k, p in enumerate(view.groups)}

    def emit_group(path: str, level: int) -> None:
        ind = "  " * level
        g = view.groups[path]
        out.append(f"{ind}subgraph cluster_{index[path]} {{")
        out.append(f'{ind}  label={_q(_say(g.label, lang))}; labeljust=l; style="rounded,filled"; '
                   f'fillcolor="{_GROUP_FILL[min(level - 1, 2)]}"; color="{_GROUP_BORDER}"; '
                   'fontsize=10; fontcolor="#4a5568"; margin=10;')
        for n in view.members(path):
            out.append(_dot_node(n, view, ind + "  ", svg_ids, lang))
        for c in view.children(path):
            emit_group(c.path, level + 1)
        out.append(f"{ind}}}")

    for g in view.children(None):
        emit_group(g.path, 1)
    for n in view.nodes:
        if n.group is None or n.group not in view.groups:
            out.append(_dot_node(n, view, "  ", svg_ids, lang))
    kind = {n.id: n.kind for n in view.nodes}
    sides = _Sides(view)
    for e in view.edges:
        attrs = f"label={_q(' ' + _edge_text(e, lang) + ' ')}"
        if e.grad is not None:
            flat = (e.src, e.dst) in sides.flat
            arrow = ("→" if sides.right[e.src] else "←") if flat else "↑"
            attrs = (f'label=<{_html(_edge_text(e, lang))}<BR/><FONT COLOR="{_GRAD}">'
                     f"{arrow} {_html(_grad_text(e, lang))}</FONT>>")
        if kind[e.src] in ("op", "module"):  # the data path pulls hardest: it runs straight
            attrs += ", weight=4"
        if svg_ids:  # (also for an edge written dst -> src below)
            attrs += f', id="edge-{e.src}-{e.dst}-{e.index}"'
        if (e.src, e.dst) in sides.flat and sides.right[e.src]:  # (keeps it right of dst)
            out.append(f"  {_q(e.dst)} -> {_q(e.src)} [{attrs}, dir=back];")
        else:
            out.append(f"  {_q(e.src)} -> {_q(e.dst)} [{attrs}];")
    for ids in sides.ranks(view):
        out.append("  { rank=same; " + " ".join(_q(i) + ";" for i in ids) + " }")
    if legend:
        out += _dot_legend(view, lang)
    elif view.notes:
        notes = " ".join(translate(note, lang) for note in view.notes)
        out.append(f"  label={_q(notes)}; labelloc=b; fontcolor=\"{_GRAD}\";")
    out.append("}")
    return "\n".join(out) + "\n"



def _dot_legend(view: GraphView, lang: str = "en") -> list[str]:
    """One small table in its own cluster: a swatch and a line of text per kind of box."""
    rows = []
    for k in _legend_entries(view):
        fill, border, text = _STYLE[k]
        rows.append((fill, border, translate(text.replace("(rounded)", "(rounded box)"), lang)))
    if view.groups:
        rows.append((_GROUP_FILL[0], _GROUP_BORDER,
                     translate("module call (box around its ops)", lang)))
    cells = "".join(
        f'<TR><TD BGCOLOR="{fill}" COLOR="{border}" BORDER="1" WIDTH="26" HEIGHT="12"></TD>'
        f'<TD ALIGN="LEFT">{_html(text)}</TD></TR>' for fill, border, text in rows)
    lines = _legend_notes(view, lang) + [(translate(note, lang), _GRAD) for note in view.notes]
    cells += "".join(f'<TR><TD COLSPAN="2" ALIGN="LEFT"><FONT COLOR="{colour}">{_html(text)}'
                     "</FONT></TD></TR>" for text, colour in lines)
    return ["  subgraph cluster_legend {",
            f'    label="{translate("legend", lang)}"; labeljust=l; style="rounded"; '
            'color="#bbbbbb"; fontsize=10; fontcolor="#666666"; margin=6;',
            '    legend [shape=plaintext, style="", fontsize=9, label=<<TABLE BORDER="0" '
            f'CELLBORDER="0" CELLSPACING="4" CELLPADDING="1">{cells}</TABLE>>];',
            "  }"]

