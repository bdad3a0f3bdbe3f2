"""Where parameters and constants sit: beside the op that reads them (both engines)."""

from __future__ import annotations

from .view import GraphView

class _Sides:
    """Nodes drawn beside the op that reads them rather than above it: parameters,
    constants, and ops on those only (like a transposed weight). Each joins the rank of the
    data-path op it feeds (``home``), on the left or the right (they take turns), next to it
    at distance ``dist`` along the ``flat`` edges. The data path then runs straight down and
    module boxes stack instead of standing side by side. An input that is the first argument
    of an op reading nothing else from the data path is the data itself, and stays above."""

    def __init__(self, view: GraphView) -> None:
        preds: dict[str, list[str]] = {}
        for e in view.edges:
            preds.setdefault(e.dst, []).append(e.src)
        kind = {n.id: n.kind for n in view.nodes}
        readers: dict[str, int] = {}
        for e in view.edges:
            readers[e.src] = readers.get(e.src, 0) + 1
        side: dict[str, bool] = {}
        on_data: dict[str, bool] = {}  # reads an input (data), maybe through other ops
        for v in _topological(view):  # (nodes on a cycle count as data path)
            ps = preds.get(v, [])
            on_data[v] = kind[v] == "input" or any(on_data.get(p, True) for p in ps)
            # NOTE: an op read by several ops (a weight shared by the steps of an unrolled
            # recurrent layer) stays on the data path: beside one reader, its edges to the
            # others would cross the picture
            side[v] = kind[v] in ("param", "input") or (
                bool(ps) and not on_data[v] and all(side.get(p, False) for p in ps)
                and (kind[v] != "op" or readers.get(v, 0) <= 1))
        for n in view.nodes:
            side.setdefault(n.id, False)
        self.home: dict[str, str] = {}
        self.right: dict[str, bool] = {}
        self.dist: dict[str, int] = {}
        self.flat: dict[tuple[str, str], None] = {}  # ordered set of edges within a rank
        count: dict[str, int] = {}
        reads_data = {e.dst for e in view.edges if not side[e.src]}
        for e in view.edges:  # the data itself, entering the data path: it stays above
            if kind[e.src] == "input" and e.index == 0 and e.dst not in reads_data:
                side[e.src] = False
        for e in view.edges:  # (the first reader of a node shared by several ops wins)
            if side[e.src] and not side[e.dst] and e.src not in self.home:
                self.home[e.src] = e.dst
                count[e.dst] = count.get(e.dst, 0) + 1
                self.right[e.src] = count[e.dst] % 2 == 0
                self.dist[e.src] = 1
                self.flat[e.src, e.dst] = None
        changed = True
        while changed:  # the side nodes feeding those go along, on the same side
            changed = False
            for e in view.edges:
                if side[e.src] and e.src not in self.home and e.dst in self.home:
                    self.home[e.src], self.right[e.src] = self.home[e.dst], self.right[e.dst]
                    self.dist[e.src] = self.dist[e.dst] + 1
                    self.flat[e.src, e.dst] = None
                    changed = True

    def ranks(self, view: GraphView) -> list[list[str]]:
        """The ids of each data-path op with its side nodes."""
        out: dict[str, list[str]] = {}
        for n in view.nodes:
            if n.id in self.home:
                out.setdefault(self.home[n.id], [self.home[n.id]]).append(n.id)
        return list(out.values())


def _topological(view: GraphView) -> list[str]:
    """Node ids, inputs before the ops reading them. A view is normally in that order
    already, but a module called twice and collapsed by ``depth`` closes a cycle: its nodes
    are left out."""
    indeg = {n.id: 0 for n in view.nodes}
    succ: dict[str, list[str]] = {}
    for e in view.edges:
        indeg[e.dst] += 1
        succ.setdefault(e.src, []).append(e.dst)
    todo = [n.id for n in reversed(view.nodes) if indeg[n.id] == 0]
    out = []
    while todo:
        v = todo.pop()
        out.append(v)
        for w in succ.get(v, []):
            indeg[w] -= 1
            if indeg[w] == 0:
                todo.append(w)
    return out

