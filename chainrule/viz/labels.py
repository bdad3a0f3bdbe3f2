"""Where the Python engine writes what each edge carries back (``draw(..., grads=True)``): by
the middle of its edge, or, when that spot is taken, at the nearest point along the edge (or
below the boxes an edge within a rank joins) that is clear of every box and of the labels
already placed (edges converging on one op, an unrolled recurrent layer's crossing edges);
where no spot is clear, at the one that covers the least."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .style import _grad_text

if TYPE_CHECKING:
    from .layout import _Layout

_SIZE = 8.5  # the font size of edge labels
_HALF_H = 6.0  # half the height of a label, its white background included
_ALONG = (0.5, 0.4, 0.6, 0.3, 0.7, 0.2, 0.8, 0.15, 0.85)  # where on its edge, best first

Rect = tuple[float, float, float, float]


def grad_labels(lay: _Layout) -> list[tuple[float, float, str, str]]:
    """(x, y, text, horizontal alignment) of each edge's gradient label (never left of the
    picture: it grows to the right only)."""
    from .layout import _text_width

    taken: list[Rect] = [(it.x - it.w / 2, it.y - it.h / 2, it.x + it.w / 2, it.y + it.h / 2)
                         for it in lay.items if it.node is not None]
    for x, y, text, ha in lay.edge_labels:  # the shapes written on the edges
        taken.append(_rect(x, y, ha, _text_width(text, _SIZE)))
    out = []
    for k, e in enumerate(lay.view.edges):
        if e.grad is None:
            continue
        x, y, ha, arrow = lay.grad_anchor(k)
        text = f"{arrow} {_grad_text(e, lay.lang)}"
        w = _text_width(text, _SIZE)
        best: tuple[float, Rect, tuple[float, float, str]] | None = None
        for cx, cy, cha in _candidates(lay, k, x, y, ha):  # (the first of the least covered)
            r = _rect(cx, cy, cha, w)
            if r[0] < 2.0:  # (left of the picture)
                continue
            covered = sum(_covered(r, t) for t in taken)
            if best is None or covered < best[0]:
                best = (covered, r, (cx, cy, cha))
        rect, spot = (best[1], best[2]) if best is not None else (_rect(x, y, ha, w), (x, y, ha))
        taken.append(rect)
        out.append((spot[0], spot[1], text, spot[2]))
    return out


def _candidates(lay: _Layout, k: int, x: float, y: float,
                ha: str) -> list[tuple[float, float, str]]:
    """Where edge ``k``'s label may go, best first: where :meth:`_Layout.grad_anchor` puts
    it, then along the edge (either side of it), or below the boxes of an edge within a
    rank."""
    e = lay.view.edges[k]
    s, d = lay.by_node[e.src], lay.by_node[e.dst]
    out = [(x, y, ha)]
    if s.rank == d.rank:
        below = max(s.y + s.h / 2, d.y + d.h / 2) + _HALF_H + 2
        return out + [(x, below, "center"), (x, below + 2 * _HALF_H, "center")]
    verts = lay.edge_paths[k]
    for t in _ALONG:
        px, py = _point(verts, t)
        out += [(px + 5, py, "left"), (px - 5, py, "right")]
    return out


def _point(verts: list[tuple[float, float]], t: float) -> tuple[float, float]:
    """The point at ``t`` (0..1) along a path of cubic Bezier segments (a start point, then
    three points per segment)."""
    n = max(1, (len(verts) - 1) // 3)
    j = min(int(t * n), n - 1)
    u = t * n - j
    (x0, y0), (x1, y1), (x2, y2), (x3, y3) = verts[3 * j:3 * j + 4]
    a, b, c, d = (1 - u) ** 3, 3 * u * (1 - u) ** 2, 3 * u * u * (1 - u), u ** 3
    return a * x0 + b * x1 + c * x2 + d * x3, a * y0 + b * y1 + c * y2 + d * y3


def _rect(x: float, y: float, ha: str, w: float) -> Rect:
    x0 = x if ha == "left" else x - w if ha == "right" else x - w / 2
    return x0 - 3, y - _HALF_H, x0 + w + 3, y + _HALF_H


def _overlap(a: Rect, b: Rect) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _covered(a: Rect, b: Rect) -> float:
    """The area ``a`` and ``b`` share."""
    return max(0.0, min(a[2], b[2]) - max(a[0], b[0])) * max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
