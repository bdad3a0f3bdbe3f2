"""The Python engine's rendering: a :class:`~chainrule.viz.layout._Layout` drawn with matplotlib."""

from __future__ import annotations

import io
from typing import Any

from .i18n import translate
from .layout import _GLABEL, _LINE, _MARGIN, _PAD_Y, _font_context, _Layout, _text_width
from .style import (_GRAD, _GROUP_BORDER, _GROUP_FILL, _SIZE, _STYLE, _TEXT, _chain,
                    _legend_entries, _legend_notes, _style, _wrap)
from .view import VNode

def _render_python(lay: _Layout, fmt: str, legend: bool = True) -> bytes:
    import matplotlib
    from matplotlib.figure import Figure

    view, lang = lay.view, lay.lang
    entries = [(k, _legend_text(k, lang)) for k in _legend_entries(view)
               + (["box"] if view.groups else [])] if legend else []
    notes = _legend_notes(view, lang) + [  # (a missing font is said in English: the Chinese
        (line, _GRAD) for note in [translate(n, lang) for n in view.notes] + lay.font_notes
        for line in _wrap(note, 46)]  # would be drawn as boxes)
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "chainrule",
                                "pdf.fonttype": 42}), _font_context(lay.family):
        leg_w = max([_text_width(text, 9) + 56 for _, text in entries]  # (8 points to spare
                    + [_text_width(t, 9) + 24 for t, _ in notes])  # on the right)
        leg_h = 24 + 19 * (len(entries) + len(notes))
        width = lay.width + (leg_w + _MARGIN if legend else 0.0)
        height = max(lay.height, leg_h + 2 * _MARGIN if legend else 0.0)
        fig = Figure(figsize=(width / 72, height / 72))
        ax = fig.add_axes((0, 0, 1, 1))
        ax.set_xlim(0, width)
        ax.set_ylim(height, 0)
        ax.axis("off")
        _draw_groups(ax, lay)
        _draw_edges(ax, lay)
        for n in view.nodes:
            it = lay.by_node[n.id]
            _draw_node(ax, n, it.x, it.y, it.w, it.h, lay.labels[n.id])
        if legend:
            _draw_legend(ax, entries, notes, lay.width + 4, _MARGIN, leg_w - 8, leg_h, lang)
        buf = io.BytesIO()
        dpi = min(100.0, 16000 * 72 / max(width, height))
        meta = {"svg": {"Date": None}, "pdf": {"CreationDate": None}}.get(fmt)
        fig.savefig(buf, format=fmt, dpi=dpi, facecolor="white", metadata=meta)
    return buf.getvalue()


def _rounded(x0: float, y0: float, w: float, h: float, radius: float, **kw: Any) -> Any:
    from matplotlib.patches import FancyBboxPatch

    style = f"round,pad=0,rounding_size={radius}" if radius else "square,pad=0"
    return FancyBboxPatch((x0, y0), w, h, boxstyle=style, **kw)


def _draw_groups(ax: Any, lay: _Layout) -> None:
    for p in lay.groups:  # parents first: children drawn over them
        x0, y0, x1, y1 = lay.boxes[p]
        level = len(_chain(lay.view, p))
        ax.add_patch(_rounded(x0, y0, x1 - x0, y1 - y0, 8, facecolor=_GROUP_FILL[min(level - 1, 2)],
                              edgecolor=_GROUP_BORDER, linewidth=1.0, zorder=0.1 * level))
        ax.text(x0 + 7, y0 + 4 + _GLABEL / 2, lay.group_labels[p], fontsize=9.5,
                fontweight="bold", color="#4a5568", ha="left", va="center", parse_math=False,
                zorder=0.1 * level + 0.05)


def _draw_edges(ax: Any, lay: _Layout) -> None:
    from matplotlib.patches import ArrowStyle, FancyArrowPatch
    from matplotlib.path import Path as MPath

    style = ArrowStyle("-|>", head_length=6.5, head_width=3.2)
    for e, verts in zip(lay.view.edges, lay.edge_paths):
        codes = [MPath.MOVETO] + [MPath.CURVE4] * (len(verts) - 1)
        ax.add_patch(FancyArrowPatch(path=MPath(verts, codes), arrowstyle=style,
                                     mutation_scale=1, color="#4a5568", linewidth=1.0,
                                     zorder=2, gid=f"edge-{e.src}-{e.dst}-{e.index}"))
    for x, y, text, ha in lay.grad_labels:
        ax.text(x, y, text, fontsize=8.5, color=_GRAD, ha=ha, va="center",
                parse_math=False, zorder=4.5,
                bbox={"boxstyle": "round,pad=0.1", "facecolor": "white", "edgecolor": "none",
                      "alpha": 0.85})
    for x, y, text, ha in lay.edge_labels:
        ax.text(x, y, text, fontsize=8.5, color="#555555", ha=ha, va="center",
                parse_math=False, zorder=4,
                bbox={"boxstyle": "round,pad=0.1", "facecolor": "white", "edgecolor": "none",
                      "alpha": 0.8})


def _draw_node(ax: Any, n: VNode, x: float, y: float, w: float, h: float,
               lines: list[tuple[str, str]]) -> None:
    fill, border = _style(n)
    lw = 2.4 if n.is_output else 1.2
    radius = 6 if n.kind == "op" else 0
    ax.add_patch(_rounded(x - w / 2, y - h / 2, w, h, radius, facecolor=fill, edgecolor=border,
                          linewidth=lw, zorder=3, gid=f"node-{n.id}"))
    if n.kind == "module":  # a double border, as Graphviz's peripheries=2
        ax.add_patch(_rounded(x - w / 2 + 2.5, y - h / 2 + 2.5, w - 5, h - 5, 0,
                              facecolor="none", edgecolor=border, linewidth=0.9, zorder=3.1))
    cy = y - h / 2 + _PAD_Y
    for text, role in lines:
        lh = _SIZE[role] * _LINE
        ax.text(x, cy + lh / 2, text, fontsize=_SIZE[role], ha="center", va="center",
                color="#111111" if role == "title" else _TEXT[role],
                fontweight="bold" if role == "title" else "normal", parse_math=False,
                zorder=3.2)
        cy += lh


def _legend_text(kind: str, lang: str) -> str:
    """The legend's words for a kind of box (``"box"``: a module call's box), in ``lang``."""
    text = "module call (box)" if kind == "box" else _STYLE[kind][2].replace(" (rounded)", "")
    return translate(text, lang)


def _draw_legend(ax: Any, entries: list[tuple[str, str]], notes: list[tuple[str, str]],
                 x0: float, y0: float, w: float, h: float, lang: str = "en") -> None:
    ax.add_patch(_rounded(x0, y0, w, h, 6, facecolor="white", edgecolor="#bbbbbb",
                          linewidth=0.9, zorder=5))
    ax.text(x0 + 8, y0 + 12, translate("legend", lang), fontsize=9.5, color="#666666",
            ha="left", va="center", zorder=5.1)
    y = y0 + 30
    for k, text in entries:
        if k == "box":
            fill, border, radius = _GROUP_FILL[0], _GROUP_BORDER, 4
        else:
            fill, border, _ = _STYLE[k]
            radius = 4 if k in ("op", "output") else 0
        ax.add_patch(_rounded(x0 + 8, y - 6, 24, 12, radius, facecolor=fill, edgecolor=border,
                              linewidth=2.0 if k == "output" else 1.0, zorder=5.1))
        ax.text(x0 + 40, y, text, fontsize=9, color="#333333", ha="left", va="center",
                zorder=5.1, parse_math=False)
        y += 19
    for text, colour in notes:
        ax.text(x0 + 8, y, text, fontsize=9, color=colour, ha="left", va="center",
                zorder=5.1, parse_math=False)
        y += 19
