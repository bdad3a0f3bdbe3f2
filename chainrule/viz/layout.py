"""The Python engine's layout: grandalf ranks and orders the nodes (a Sugiyama layout), then
module boxes are kept whole by separation constraints, and edges are routed as Bezier curves.
All sizes in points, y growing downwards."""

from __future__ import annotations

import os
import warnings
from typing import Any

from .sides import _Sides, _topological
from .i18n import translate
from .style import _SIZE, _chain, _edge_text, _grad_text, _label, _legend_notes, _say
from .view import GraphView


# sizes in points
_PAD_X, _PAD_Y = 9.0, 5.0  # inside a node box
_GAP = 24.0  # between boxes side by side
_DUMMY_W = 12.0  # room for an edge passing through a rank
_RANK_GAP = 36.0  # between ranks (edge labels go there)
_GPAD = 9.0  # between a module box and what it holds
_GLABEL = 15.0  # the band of a module box's label
_MARGIN = 16.0
_LINE = 1.32  # line height / font size


class _Item:
    """Something placed in a rank: a node's box, an edge passing through (dummy), or an
    empty stand-in that keeps a module box's rank range whole (spacer)."""

    __slots__ = ("id", "node", "w", "h", "chain", "rank", "order", "x", "y")

    def __init__(self, id: int, node: str | None, w: float, h: float,
                 chain: tuple[str, ...]) -> None:
        self.id, self.node, self.w, self.h, self.chain = id, node, w, h, chain
        self.rank = 0
        self.order = 0.0
        self.x = self.y = 0.0


class _Layout:
    """Positions of every box, module box, edge and edge label, in points (y grows
    downwards)."""

    def __init__(self, view: GraphView, lang: str = "en") -> None:
        self.view, self.lang = view, lang
        self.labels = {n.id: _label(n, view.values, view.grads, lang) for n in view.nodes}
        self.group_labels = {p: _say(g.label, lang) for p, g in view.groups.items()}
        texts = [s for lines in self.labels.values() for s, _ in lines]
        legend = [translate("legend", lang)] + [s for s, _ in _legend_notes(view, lang)]
        self.family, self.font_notes = _font_family(
            texts + list(self.group_labels.values()) + legend)
        with _font_context(self.family):
            self._lay_out()

    def _lay_out(self) -> None:
        view = self.view
        self.size = {k: _measure(v) for k, v in self.labels.items()}
        self.chains = {n.id: _chain(view, n.group) for n in view.nodes}
        self.shapes = [_edge_text(e, self.lang) for e in view.edges]
        self.group_label_w = {p: _text_width(label, 9.5, "bold")
                              for p, label in self.group_labels.items()}
        self.sides = _Sides(view)
        self._rank_and_order()
        self._place_x()
        self._place_y()
        self._route()
        self._grad_labels()

    # -- ranks and order within ranks: grandalf's Sugiyama layout -----------------------------

    def _rank_and_order(self) -> None:
        from grandalf.graphs import Edge, Graph, Vertex
        from grandalf.layouts import DummyVertex, SugiyamaLayout, VertexViewer

        view, home = self.view, self.sides.home
        verts = {}
        for n in view.nodes:  # side nodes join their reader's rank later
            if n.id not in home:
                v = verts[n.id] = Vertex(n.id)
                v.view = VertexViewer(*self.size[n.id])
        pairs = list(dict.fromkeys((e.src, e.dst) for e in view.edges
                                   if e.src in verts and e.dst in verts))
        edges = {p: Edge(verts[p[0]], verts[p[1]]) for p in pairs}
        graph = Graph(list(verts.values()), list(edges.values()))
        acyclic = len(_topological(view)) == len(view.nodes)
        by_edge = {e: p for p, e in edges.items()}
        ranks: list[list[_Item]] = []
        self.routes: dict[tuple[str, str], list[_Item]] = {p: [] for p in pairs}
        items: list[_Item] = []
        for comp in graph.C:
            sug = SugiyamaLayout(comp)
            if acyclic:
                roots = [v for v in comp.sV if not v.e_in()]
                sug.init_all(roots=roots, inverted_edges=[], optimize=True)
            else:  # grandalf finds edges to turn round (recursively: small graphs only)
                sug.init_all(optimize=True)
            for _ in range(4):
                for _ in sug.ordering_step():
                    pass
            layers = [list(layer) for layer in sug.layers if len(layer)]
            while len(ranks) < len(layers):
                ranks.append([])
            dummy_of = {dv: by_edge[e] for e, ctrl in sug.ctrls.items()
                        for dv in ctrl.values() if isinstance(dv, DummyVertex)}
            for r, layer in enumerate(layers):
                for k, v in enumerate(layer):
                    if isinstance(v, DummyVertex):
                        pair = dummy_of[v]
                        chain = _common(self.chains[pair[0]], self.chains[pair[1]])
                        it = _Item(len(items), None, _DUMMY_W, 0.0, chain)
                        self.routes[pair].append(it)
                    else:
                        it = _Item(len(items), v.data, *self.size[v.data], self.chains[v.data])
                    it.rank, it.order = r, (k + 0.5) / len(layer)
                    items.append(it)
                    ranks[r].append(it)
        for route in self.routes.values():
            route.sort(key=lambda it: it.rank)
        self.by_node = {it.node: it for it in items if it.node is not None}
        self._add_side_items(items, ranks)
        self.items = items
        self._order_boxes(ranks)

    def _add_side_items(self, items: list[_Item], ranks: list[list[_Item]]) -> None:
        """Side nodes (see :class:`_Sides`) join the rank of the op reading them."""
        view, home = self.view, self.sides.home
        for n in view.nodes:
            if n.id in home:
                anchor = self.by_node[home[n.id]]
                it = _Item(len(items), n.id, *self.size[n.id], self.chains[n.id])
                it.rank, it.order = anchor.rank, anchor.order
                items.append(it)
                ranks[it.rank].append(it)
                self.by_node[n.id] = it

    def _order_boxes(self, ranks: list[list[_Item]]) -> None:
        """Sort each rank so that module boxes never interleave."""
        view, home, items = self.view, self.sides.home, self.items
        # module boxes: their rank range, and one order key each (the mean place of what they
        # hold), so that boxes keep one left-to-right order on every rank and never interleave
        span: dict[str, list[int]] = {}
        keys: dict[str, list[float]] = {}
        for it in items:
            for p in it.chain:
                span.setdefault(p, [it.rank, it.rank])
                span[p][0] = min(span[p][0], it.rank)
                span[p][1] = max(span[p][1], it.rank)
                keys.setdefault(p, []).append(it.order)
        self.span = {p: (s[0], s[1]) for p, s in span.items()}
        gkey = {p: sum(v) / len(v) for p, v in keys.items()}
        # a box that holds nothing in a rank of its range gets an empty stand-in there
        present = {(p, it.rank) for it in items for p in it.chain}
        for p in sorted(span, key=lambda p: -len(_chain(view, p))):
            lo, hi = self.span[p]
            for r in range(lo, hi + 1):
                if (p, r) not in present:
                    it = _Item(len(items), None, 0.0, 0.0, _chain(view, p))
                    it.rank, it.order = r, gkey[p]
                    items.append(it)
                    ranks[r].append(it)
                    present.update((q, r) for q in it.chain)
        gindex = {p: k for k, p in enumerate(view.groups)}

        def base_key(it: _Item) -> list[tuple[float, int, int]]:
            return [(gkey[p], 1, gindex[p]) for p in it.chain] + [(it.order, 0, it.id)]

        def sort_key(it: _Item) -> list[tuple[float, int, int]]:
            if it.node not in home:
                return base_key(it)
            # a side node sits right beside its reader (or beside the reader's module box)
            anchor = self.by_node[home[it.node]]
            key = base_key(anchor)
            k = len(_common(anchor.chain, it.chain))
            sign = 1 if self.sides.right[it.node] else -1
            return key[:k] + [(key[k][0] + sign * 1e-6 * self.sides.dist[it.node],
                               0, it.id)] + base_key(it)[k + 1:]

        self.ranks = [sorted(r, key=sort_key) for r in ranks]
        self.groups = [p for p in view.groups if p in self.span]

    # -- x: separation constraints, then balancing --------------------------------------------

    def _place_x(self) -> None:
        n = len(self.items)
        L = {p: n + 2 * k for k, p in enumerate(self.groups)}
        R = {p: n + 2 * k + 1 for k, p in enumerate(self.groups)}
        nvar = n + 2 * len(self.groups)
        cons: dict[tuple[int, int], float] = {}  # (a, b) -> d: x[b] - x[a] >= d

        def need(a: int, b: int, d: float) -> None:
            cons[a, b] = max(cons.get((a, b), d), d)

        flat_gap: dict[frozenset[str | None], float] = {}  # room for the label of an edge in a rank
        for k, e in enumerate(self.view.edges):
            if (e.src, e.dst) in self.sides.flat:
                gap = _text_width(self.shapes[k], 8.5) + 18
                if e.grad is not None:  # and for what it carries back, under it
                    gap = max(gap, _text_width("← " + _grad_text(e, self.lang), 8.5) + 18)
                key = frozenset((e.src, e.dst))
                flat_gap[key] = max(flat_gap.get(key, 0.0), gap)
        for rank in self.ranks:
            for it in rank:
                if it.chain:
                    need(L[it.chain[-1]], it.id, _GPAD + it.w / 2)
                    need(it.id, R[it.chain[-1]], _GPAD + it.w / 2)
            for a, b in zip(rank, rank[1:]):
                c = len(_common(a.chain, b.chain))
                va, oa = (R[a.chain[c]], 0.0) if len(a.chain) > c else (a.id, a.w / 2)
                vb, ob = (L[b.chain[c]], 0.0) if len(b.chain) > c else (b.id, -b.w / 2)
                gap = _GAP if a.node is not None and b.node is not None else _GAP / 2
                gap = max(gap, flat_gap.get(frozenset((a.node, b.node)), 0.0))
                need(va, vb, gap + oa - ob)
        for p in self.groups:
            parent = self.view.groups[p].parent
            if parent is not None and parent in L:
                need(L[parent], L[p], _GPAD)
                need(R[p], R[parent], _GPAD)
            need(L[p], R[p], self.group_label_w[p] + 2 * _GPAD)
        pred: list[list[tuple[int, float]]] = [[] for _ in range(nvar)]
        succ: list[list[tuple[int, float]]] = [[] for _ in range(nvar)]
        for (u, v), dist in cons.items():
            succ[u].append((v, dist))
            pred[v].append((u, dist))
        x = _longest_path(nvar, succ, pred)
        self._balance(x, pred, succ, L, R)
        left = min([x[it.id] - it.w / 2 for it in self.items] + [x[L[p]] for p in self.groups])
        for it in self.items:
            it.x = x[it.id] - left + _MARGIN
        self.box_x = {p: (x[L[p]] - left + _MARGIN, x[R[p]] - left + _MARGIN)
                      for p in self.groups}

    def _balance(self, x: list[float], pred: list[list[tuple[int, float]]],
                 succ: list[list[tuple[int, float]]], L: dict[str, int],
                 R: dict[str, int]) -> None:
        """Move each item toward the mean of its neighbours (in place in ``x``)."""
        n = len(self.items)
        # balance: move each item toward the mean of its neighbours, as far as the constraints
        # allow with everything else held; every move keeps the layout valid
        nbrs: list[list[int]] = [[] for _ in range(n)]
        for (src, dst), route in self.routes.items():
            ids = [self.by_node[src].id] + [it.id for it in route] + [self.by_node[dst].id]
            for u, v in zip(ids, ids[1:]):
                nbrs[u].append(v)
                nbrs[v].append(u)
        home, right = self.sides.home, self.sides.right
        inf = float("inf")

        def lo(v: int) -> float:
            return max((x[a] + d for a, d in pred[v]), default=-inf)

        def hi(v: int) -> float:
            return min((x[b] - d for b, d in succ[v]), default=inf)

        outer_first = sorted(self.groups, key=lambda p: len(_chain(self.view, p)))
        for sweep in range(400):  # until nothing moves (a long chain straightens slowly)
            moved = 0.0
            for p in outer_first:  # loosen the boxes: room for their members to move
                x[L[p]] = max(lo(L[p]), x[L[p]] - 1e4)
                x[R[p]] = min(hi(R[p]), x[R[p]] + 1e4)
            ranks = self.ranks if sweep % 2 == 0 else self.ranks[::-1]
            for rank in ranks:
                # side nodes step out of the way, then hug their reader again after it moved
                lefts = [it for it in rank if it.node in home and not right[it.node]]
                rights = [it for it in rank if it.node in home and right[it.node]]
                for it in lefts:
                    x[it.id] = max(lo(it.id), x[it.id] - 1e4)
                for it in reversed(rights):
                    x[it.id] = min(hi(it.id), x[it.id] + 1e4)
                for it in (rank if sweep % 4 < 2 else rank[::-1]):
                    if nbrs[it.id]:
                        target = sum(x[v] for v in nbrs[it.id]) / len(nbrs[it.id])
                        new = min(max(target, lo(it.id)), hi(it.id))
                        moved = max(moved, abs(new - x[it.id]))
                        x[it.id] = new
                for it in reversed(lefts):
                    x[it.id] = hi(it.id)
                for it in rights:
                    x[it.id] = lo(it.id)
            for p in reversed(outer_first):  # tighten them around their members again
                x[L[p]] = hi(L[p])
                x[R[p]] = lo(R[p])
            if moved < 0.2 and sweep >= 4:
                break

    # -- y: ranks top to bottom, with room for module boxes' borders and labels ---------------

    def _place_y(self) -> None:
        view = self.view
        ext_top: dict[str, float] = {}
        ext_bot: dict[str, float] = {}
        for p in sorted(self.groups, key=lambda p: -len(_chain(view, p))):  # innermost first
            kids = [c.path for c in view.children(p) if c.path in self.span]
            ext_top[p] = _GPAD + _GLABEL + max(
                [ext_top[c] for c in kids if self.span[c][0] == self.span[p][0]], default=0.0)
            ext_bot[p] = _GPAD + max(
                [ext_bot[c] for c in kids if self.span[c][1] == self.span[p][1]], default=0.0)
        nr = len(self.ranks)
        top = [max([ext_top[p] for p in self.groups if self.span[p][0] == r], default=0.0)
               for r in range(nr)]
        bot = [max([ext_bot[p] for p in self.groups if self.span[p][1] == r], default=0.0)
               for r in range(nr)]
        heights = [max([it.h for it in rank], default=0.0) for rank in self.ranks]
        ys = []
        cur = _MARGIN + (top[0] if nr else 0.0)
        for r in range(nr):
            ys.append(cur + heights[r] / 2)
            cur += heights[r] + bot[r] + (_RANK_GAP + top[r + 1] if r + 1 < nr else 0.0)
        for it in self.items:
            it.y = ys[it.rank]
        self.rank_top = [y - h / 2 for y, h in zip(ys, heights)]
        self.rank_bottom = [y + h / 2 for y, h in zip(ys, heights)]
        self.boxes = {}  # path -> (x0, y0, x1, y1)
        for p in self.groups:
            (x0, x1), (r0, r1) = self.box_x[p], self.span[p]
            self.boxes[p] = (x0, self.rank_top[r0] - ext_top[p], x1,
                             self.rank_bottom[r1] + ext_bot[p])
        right = [it.x + it.w / 2 for it in self.items] + [b[2] for b in self.boxes.values()]
        self.width = max(right, default=0.0) + _MARGIN
        self.height = cur + _MARGIN

    # -- edges ----------------------------------------------------------------------------------

    def _route(self) -> None:
        """Each edge as Bezier control points (downward edges leave and enter vertically,
        through their dummies; edges within a rank run sideways) and the shape labels."""
        view, flat = self.view, self.sides.flat
        rank_of = [(self.by_node[e.src].rank, self.by_node[e.dst].rank) for e in view.edges]
        down = [k for k, e in enumerate(view.edges)
                if (e.src, e.dst) not in flat and rank_of[k][0] < rank_of[k][1]]
        mid: dict[int, list[tuple[float, float]]] = {}
        for k, e in enumerate(view.edges):
            route = sorted(self.routes.get((e.src, e.dst), []), key=lambda it: it.rank,
                           reverse=rank_of[k][0] > rank_of[k][1])
            mid[k] = [(it.x, it.y) for it in route]
        ins: dict[str, list[int]] = {}
        outs: dict[str, list[int]] = {}
        for k in down:
            ins.setdefault(view.edges[k].dst, []).append(k)
            outs.setdefault(view.edges[k].src, []).append(k)
        start: dict[int, float] = {}
        end: dict[int, float] = {}
        for node, ks in ins.items():
            self._spread(node, ks, end, -1, mid)
        for node, ks in outs.items():
            self._spread(node, ks, start, 0, mid)
        self.edge_paths: list[list[tuple[float, float]]] = []  # MOVETO, then CURVE4 triples
        self.edge_labels: list[tuple[float, float, str, str]] = []  # x, y, text, ha
        pts_of: dict[int, list[tuple[float, float]]] = {}
        for k, e in enumerate(view.edges):
            s, d = self.by_node[e.src], self.by_node[e.dst]
            if s.rank != d.rank:  # down, or (on a cycle) up: leave and enter vertically
                up = -1 if s.rank > d.rank else 1
                pts = pts_of[k] = ([(start.get(k, s.x), s.y + up * s.h / 2)] + mid[k]
                                   + [(end.get(k, d.x), d.y - up * d.h / 2)])
                verts = [pts[0]]
                for (xa, ya), (xb, yb) in zip(pts, pts[1:]):
                    dy = (yb - ya) / 2
                    verts += [(xa, ya + dy), (xb, yb - dy), (xb, yb)]
                self.edge_paths.append(verts)
                if up == -1:
                    (xa, ya), (xb, yb) = pts[:2]
                    self.edge_labels.append(((xa + xb) / 2 + 5, (ya + yb) / 2, self.shapes[k],
                                             "left"))
                continue
            # within a rank: straight across when side by side, else an arc over the top
            sgn = 1 if d.x > s.x else -1
            rank = self.ranks[s.rank]
            if abs(rank.index(s) - rank.index(d)) == 1:
                x0, x1 = s.x + sgn * s.w / 2, d.x - sgn * d.w / 2
                self.edge_paths.append([(x0, s.y), ((2 * x0 + x1) / 3, s.y),
                                        ((x0 + 2 * x1) / 3, s.y), (x1, s.y)])
                # by the source: clear of a module box's border that the edge may cross
                lx = x0 + sgn * (_text_width(self.shapes[k], 8.5) / 2 + 6)
                self.edge_labels.append((lx, s.y - 7, self.shapes[k], "center"))
            else:
                top = self.rank_top[s.rank] - 16
                x0, x1 = s.x + sgn * s.w / 4, d.x - sgn * d.w / 4
                y0, y1 = s.y - s.h / 2, d.y - d.h / 2
                self.edge_paths.append([(x0, y0), (x0, top), (x1, top), (x1, y1)])
                self.edge_labels.append(((x0 + x1) / 2, top + 4, self.shapes[k], "center"))
        # one label per source for the downward edges (they all carry its shape), just below
        # the source, or below the module boxes the edge leaves there, on its most upright edge
        for src, ks in outs.items():
            s = self.by_node[src]
            k = min(ks, key=lambda k: (abs(pts_of[k][1][0] - pts_of[k][0][0]), k))
            (x0, y0), (x1, y1) = pts_of[k][:2]
            e = view.edges[k]
            dummies = self.routes.get((e.src, e.dst))
            after = dummies[0].chain if dummies else self.by_node[e.dst].chain
            left = [self.boxes[p][3] for p in s.chain
                    if p not in after and self.span[p][1] == s.rank]
            y = min(max([y0] + left) + 9, (y0 + y1) / 2)
            t = _bezier_t(y0, y1, y)
            xt = x0 + (x1 - x0) * (3 * t * t - 2 * t ** 3)  # x of the curve at that height
            heads_right = x1 > x0 + 1
            self.edge_labels.append((xt - 5 if heads_right else xt + 5, y, self.shapes[k],
                                     "right" if heads_right else "left"))

    def _grad_labels(self) -> None:
        """Where each edge's gradient goes: by the middle of the edge, clear of the boxes and
        of the other labels (:mod:`~chainrule.viz.labels`), with an arrow pointing the way
        backward sends it (from the reader back to the source)."""
        from .labels import grad_labels

        self.grad_labels = grad_labels(self)  # x, y, text, ha
        for x, _, text, ha in self.grad_labels:
            w = _text_width(text, 8.5)
            right = x + (w if ha == "left" else 0.0 if ha == "right" else w / 2)
            self.width = max(self.width, right + _MARGIN)

    def grad_anchor(self, k: int) -> tuple[float, float, str, str]:
        """Where edge ``k``'s gradient is written (x, y, horizontal alignment) and the arrow
        pointing the way backward sends it: down the middle of an edge between ranks, on its
        right; under an edge within a rank, centred."""
        e, verts = self.view.edges[k], self.edge_paths[k]
        s, d = self.by_node[e.src], self.by_node[e.dst]
        if s.rank != d.rank:
            x, y = verts[len(verts) // 2]
            return x + 5, y + 10, "left", "↑" if s.y < d.y else "↓"  # (below a shape label)
        (x0, _), (x1, _) = verts[0], verts[-1]
        return (x0 + x1) / 2, s.y + 7, "center", "←" if s.x < d.x else "→"

    def _spread(self, node: str, ks: list[int], store: dict[int, float], near: int,
                mid: dict[int, list[tuple[float, float]]]) -> None:
        """Where the edges ``ks`` meet ``node``: spread along its side, in the order of where
        they come from, so that they do not cross there."""
        it = self.by_node[node]
        view = self.view

        def other_x(k: int) -> float:
            e = view.edges[k]
            if mid[k]:
                return mid[k][near][0]
            return self.by_node[e.src if near == -1 else e.dst].x

        ks = sorted(ks, key=lambda k: (other_x(k), view.edges[k].index))
        step = min(22.0, it.w / (len(ks) + 1))
        for j, k in enumerate(ks):
            store[k] = it.x + (j - (len(ks) - 1) / 2) * step


def _bezier_t(y0: float, y1: float, y: float) -> float:
    """The t at which the edge curve from height y0 to y1 (vertical tangents) is at y."""
    lo, hi = 0.0, 1.0
    for _ in range(30):
        t = (lo + hi) / 2
        if y0 + (y1 - y0) * (1.5 * t * (1 - t) + t ** 3) < y:
            lo = t
        else:
            hi = t
    return (lo + hi) / 2


def _common(a: tuple[str, ...], b: tuple[str, ...]) -> tuple[str, ...]:
    k = 0
    while k < min(len(a), len(b)) and a[k] == b[k]:
        k += 1
    return a[:k]


def _longest_path(nvar: int, succ: list[list[tuple[int, float]]],
                  pred: list[list[tuple[int, float]]]) -> list[float]:
    """The leftmost positions meeting every constraint (they form a DAG)."""
    indeg = [len(p) for p in pred]
    todo = [v for v in range(nvar) if indeg[v] == 0]
    x = [0.0] * nvar
    done = 0
    while todo:
        a = todo.pop()
        done += 1
        for b, d in succ[a]:
            x[b] = max(x[b], x[a] + d)
            indeg[b] -= 1
            if indeg[b] == 0:
                todo.append(b)
    if done != nvar:  # cannot happen with a consistent order of boxes
        raise RuntimeError("draw: internal error: the module boxes' order is inconsistent")
    return x


_RENDERER: list[Any] = []
# CJK fonts, best first; found in matplotlib's list or, when its cache predates them, on disk
_CJK_NAMES = ("Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "Source Han Sans CN",
              "WenQuanYi Zen Hei", "WenQuanYi Micro Hei", "Microsoft YaHei", "PingFang SC",
              "Heiti SC", "SimHei", "Noto Sans CJK JP", "Noto Serif CJK SC", "Droid Sans Fallback",
              "AR PL UMing CN")
_CJK_FILES = ("notosanscjk", "notosanssc", "sourcehansans", "wqy", "wenquanyi", "msyh",
              "pingfang", "simhei", "droidsansfallback", "notoserifcjk", "uming")
_CJK: list[str | None] = []
_NO_CJK = ("no CJK font found: Chinese characters are drawn as boxes. Install one (apt install "
           "fonts-noto-cjk, or any font with Chinese glyphs), or use engine='graphviz'")


def _has_cjk(text: str) -> bool:
    return any("\u2e80" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff"
               or "\uff00" <= ch <= "\uffef" or "\uac00" <= ch <= "\ud7af" for ch in text)


def _cjk_font() -> str | None:
    """The name of a font with Chinese glyphs that matplotlib can use, or None."""
    if _CJK:
        return _CJK[0]
    from matplotlib import font_manager as fm

    def known() -> str | None:
        names = {f.name for f in fm.fontManager.ttflist}
        return next((n for n in _CJK_NAMES if n in names), None)

    found = known()
    if found is None:
        files = [p for p in fm.findSystemFonts()
                 if any(k in os.path.basename(p).lower().replace("-", "") for k in _CJK_FILES)]
        for path in sorted(files, key=lambda p: ("sans" not in p.lower(), p)):
            try:
                fm.fontManager.addfont(path)
            except (OSError, RuntimeError, ValueError):
                continue
        found = known()
    _CJK.append(found)
    return found


def _font_family(texts: list[str]) -> tuple[list[str] | None, list[str]]:
    """The font family list for labels holding Chinese (the default font, then a CJK font
    for the glyphs it lacks), and the notes for the picture when no CJK font is found."""
    if not any(_has_cjk(t) for t in texts):
        return None, []
    font = _cjk_font()
    if font is None:
        warnings.warn("draw: " + _NO_CJK, stacklevel=3)
        return None, [_NO_CJK]
    from matplotlib import rcParams

    return [*rcParams["font.family"], font], []


def _font_context(family: list[str] | None) -> Any:
    """matplotlib's settings with ``family`` as the font (nothing changed for None)."""
    import contextlib

    if family is None:
        return contextlib.nullcontext()
    import matplotlib

    return matplotlib.rc_context({"font.family": family})


def _text_width(text: str, size: float, weight: str = "normal") -> float:
    from matplotlib.backends.backend_agg import RendererAgg
    from matplotlib.font_manager import FontProperties

    if not _RENDERER:
        _RENDERER.append(RendererAgg(8, 8, 72))  # at 72 dpi pixels are points
    w, _, _ = _RENDERER[0].get_text_width_height_descent(
        text, FontProperties(size=size, weight=weight), ismath=False)
    return float(w)


def _measure(lines: list[tuple[str, str]]) -> tuple[float, float]:
    w = max(_text_width(s, _SIZE[r], "bold" if r == "title" else "normal") for s, r in lines)
    h = sum(_SIZE[r] * _LINE for _, r in lines)
    return w + 2 * _PAD_X, h + 2 * _PAD_Y

