"""Drawing the graph: Graphviz DOT text, and SVG, PNG or PDF pictures.

    cr.viz.to_dot(loss, model)                        # DOT text, for Graphviz
    cr.viz.draw(loss, "step.svg", values=True)        # a picture; .png and .pdf too
    cr.viz.draw(loss, depth=1)                        # in Jupyter: shown inline

Pictures come from Graphviz's ``dot`` program when it is installed (``engine="graphviz"``);
otherwise from pure Python (``engine="python"``, ``pip install "chainrule[viz]"``): grandalf
ranks the nodes (a Sugiyama layout) and orders each rank to cut edge crossings, this module
places them so that module boxes stay whole, and matplotlib draws. Both engines read the same
:class:`~chainrule.viz.view.GraphView` and use the same colours, shapes and labels.
"""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path
from typing import Any, Callable, Mapping

from ..core.tensor import Tensor
from .view import GraphView, VNode, build_view, format_shape

__all__ = ["to_dot", "draw", "Drawing"]

FORMATS = ("svg", "png", "pdf")
ENGINES = ("auto", "graphviz", "python")
DOT_TIMEOUT = 60.0  # seconds
_VIZ_EXTRA = 'pip install "chainrule[viz]"'
_FONT = "Helvetica,Arial,sans-serif"

# kind -> fill colour, border colour, legend text. Ops are rounded boxes, the rest square;
# collapsed modules have a double border; the output a thick orange one.
_STYLE = {
    "op": ("#dbe9fb", "#3d6fb4", "op (rounded)"),
    "param": ("#d7f0d4", "#3c8a3c", "parameter (requires grad)"),
    "input": ("#ebebeb", "#8c8c8c", "input / constant"),
    "module": ("#ece0f8", "#7b52ab", "module call (collapsed)"),
    "output": ("#fdd8b2", "#d2600a", "output"),
}
_GROUP_FILL = ("#f6f8fb", "#edf1f7", "#e4eaf3")
_GROUP_BORDER = "#97a3b6"
_TEXT = {"params": "#333333", "shape": "#333333", "info": "#555555",
         "value": "#1c4f8a", "grad": "#a1262e"}
_SIZE = {"title": 10.5, "params": 9.0, "shape": 9.0, "info": 9.0, "value": 9.0, "grad": 9.0}
_WIDTH = 50  # characters per label line before it wraps


# ---------------------------------------------------------------------------------------------
# Labels
# ---------------------------------------------------------------------------------------------


def _label(n: VNode, values: bool, grads: bool) -> list[tuple[str, str]]:
    """The label of ``n`` as (text, role) lines; roles pick font and colour."""
    lines = n.lines(values, grads)
    out: list[tuple[str, str]] = []
    if n.kind == "op":  # the op in bold, its parameters below in the small font
        out.append((f"{n.name} = {n.op}" if n.name else n.op, "title"))
        out += [(s, "params") for s in _wrap(n.params, _WIDTH - 4)] if n.params else []
    else:
        out.append((lines[0], "title"))
    for k, s in enumerate(lines[1:]):
        if s.startswith("value "):
            role = "value"
        elif s.startswith("grad "):
            role = "grad"
        elif k == 0:
            if n.dtype == "?":  # an input the graph did not keep: shape unknown
                continue
            role = "shape"
        else:
            role = "info"
        out += [(w, role) for w in _wrap(s, _WIDTH)]
    return out


def _wrap(text: str, width: int) -> list[str]:
    """Break ``text`` into lines of at most ``width`` characters where it reads best: after
    the outermost ``", "``, else at a double space, else at a space."""
    out = []
    while len(text) > width:
        best: tuple[float, int] | None = None  # (badness, -position)
        depth = 0
        for i, ch in enumerate(text[:width + 1]):
            if ch in "([{":
                depth += 1
            elif ch in ")]}":
                depth -= 1
            elif ch == " " and i > 0:
                if text[i - 1] == ",":
                    score = float(depth)
                elif text[i - 1] == " " or text[i + 1:i + 2] == " ":
                    score = 0.5
                else:
                    score = 5.0
                if best is None or (score, -i) <= best:
                    best = (score, -i)
        cut = -best[1] if best is not None else width
        out.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    out.append(text)
    return out


def _chain(view: GraphView, path: str | None) -> tuple[str, ...]:
    """The module boxes holding ``path``, outermost first."""
    out: list[str] = []
    while path is not None and path in view.groups:
        out.append(path)
        path = view.groups[path].parent
    return tuple(reversed(out))


def _view(t: Tensor, model: Any, values: bool, grads: bool, depth: int | None,
          names: Mapping[str, Tensor] | None) -> GraphView:
    if hasattr(t, "graph_view"):  # a cr.compile'd function: its captured program
        return t.graph_view()
    view = build_view(t, model, values=values, grads=grads, depth=depth, names=names)
    if not view.nodes:  # a tensor with no graph behind it: one box that says so
        view.nodes.append(VNode("n0", "input", "const", tuple(t.shape), str(t.dtype),
                                name="tensor (no graph: nothing requires grad)",
                                value=t._data if values else None, is_output=True))
    return view


def _style(n: VNode) -> tuple[str, str]:
    fill, border, _ = _STYLE["output" if n.is_output else n.kind]
    return fill, border


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


def _dot_node(n: VNode, view: GraphView, indent: str) -> str:
    fill, border = _style(n)
    attrs = [f"label={_dot_label(_label(n, view.values, view.grads))}",
             f'fillcolor="{fill}"', f'color="{border}"']
    if n.kind != "op":
        attrs.append('style="filled"')
    if n.kind == "module":
        attrs.append("peripheries=2")
    if n.is_output:
        attrs.append("penwidth=2.5")
    return f"{indent}{_q(n.id)} [{', '.join(attrs)}];"


def _dot(view: GraphView, legend: bool = True, rankdir: str = "TB") -> str:
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
        out.append(f'{ind}  label={_q(g.label)}; labeljust=l; style="rounded,filled"; '
                   f'fillcolor="{_GROUP_FILL[min(level - 1, 2)]}"; color="{_GROUP_BORDER}"; '
                   'fontsize=10; fontcolor="#4a5568"; margin=10;')
        for n in view.members(path):
            out.append(_dot_node(n, view, ind + "  "))
        for c in view.children(path):
            emit_group(c.path, level + 1)
        out.append(f"{ind}}}")

    for g in view.children(None):
        emit_group(g.path, 1)
    for n in view.nodes:
        if n.group is None or n.group not in view.groups:
            out.append(_dot_node(n, view, "  "))
    kind = {n.id: n.kind for n in view.nodes}
    sides = _Sides(view)
    for e in view.edges:
        attrs = f"label={_q(' ' + format_shape(e.shape) + ' ')}"
        if kind[e.src] in ("op", "module"):  # the data path pulls hardest: it runs straight
            attrs += ", weight=4"
        if (e.src, e.dst) in sides.flat and sides.right[e.src]:  # (keeps it right of dst)
            out.append(f"  {_q(e.dst)} -> {_q(e.src)} [{attrs}, dir=back];")
        else:
            out.append(f"  {_q(e.src)} -> {_q(e.dst)} [{attrs}];")
    for ids in sides.ranks(view):
        out.append("  { rank=same; " + " ".join(_q(i) + ";" for i in ids) + " }")
    if legend:
        out += _dot_legend(view)
    out.append("}")
    return "\n".join(out) + "\n"


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
        side: dict[str, bool] = {}
        on_data: dict[str, bool] = {}  # reads an input (data), maybe through other ops
        for v in _topological(view):  # (nodes on a cycle count as data path)
            ps = preds.get(v, [])
            on_data[v] = kind[v] == "input" or any(on_data.get(p, True) for p in ps)
            side[v] = kind[v] in ("param", "input") or (
                bool(ps) and not on_data[v] and all(side.get(p, False) for p in ps))
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


def _legend_entries(view: GraphView) -> list[str]:
    kinds = [k for k in ("op", "param", "input", "module") if any(n.kind == k for n in view)]
    if any(n.is_output for n in view):
        kinds.append("output")
    return kinds


def _dot_legend(view: GraphView) -> list[str]:
    """One small table in its own cluster: a swatch and a line of text per kind of box."""
    rows = []
    for k in _legend_entries(view):
        fill, border, text = _STYLE[k]
        rows.append((fill, border, text.replace("(rounded)", "(rounded box)")))
    if view.groups:
        rows.append((_GROUP_FILL[0], _GROUP_BORDER, "module call (box around its ops)"))
    cells = "".join(
        f'<TR><TD BGCOLOR="{fill}" COLOR="{border}" BORDER="1" WIDTH="26" HEIGHT="12"></TD>'
        f'<TD ALIGN="LEFT">{_html(text)}</TD></TR>' for fill, border, text in rows)
    cells += ('<TR><TD COLSPAN="2" ALIGN="LEFT"><FONT COLOR="#555555">arrows: data flow; '
              "edge labels: tensor shape</FONT></TD></TR>")
    return ["  subgraph cluster_legend {",
            '    label="legend"; labeljust=l; style="rounded"; color="#bbbbbb"; fontsize=10; '
            'fontcolor="#666666"; margin=6;',
            '    legend [shape=plaintext, style="", fontsize=9, label=<<TABLE BORDER="0" '
            f'CELLBORDER="0" CELLSPACING="4" CELLPADDING="1">{cells}</TABLE>>];',
            "  }"]


def to_dot(t: Tensor, model: Any = None, *, values: bool = False, grads: bool = False,
           depth: int | None = None, names: Mapping[str, Tensor] | None = None,
           legend: bool = True, rankdir: str = "TB") -> str:
    """The graph behind ``t`` as Graphviz DOT text.

    Each node shows its op (with parameters) or its name, its shape and dtype, and on
    request a summary of its value and gradient; ops are rounded blue boxes, parameters
    green, inputs grey, collapsed modules purple with a double border, the output orange.
    Module calls recorded with :func:`~chainrule.viz.record` become nested boxes labelled
    like ``0 (Linear)``; edges carry the shape of the tensor flowing along them.
    ``model``, ``values``, ``grads``, ``depth`` and ``names`` are those of
    :func:`~chainrule.viz.build_view`.

    >>> import chainrule as cr
    >>> w = cr.tensor([[0.5], [0.25]], requires_grad=True)
    >>> dot = cr.viz.to_dot(cr.tensor([[1.0, 2.0]]) @ w, names={"w": w})
    >>> dot.startswith("digraph"), "<B>matmul</B>" in dot, "<B>w</B>" in dot
    (True, True, True)
    """
    return _dot(_view(t, model, values, grads, depth, names), legend=legend, rankdir=rankdir)


# ---------------------------------------------------------------------------------------------
# draw and Drawing
# ---------------------------------------------------------------------------------------------


class Drawing:
    """A drawn graph: its DOT ``source``, and the picture, rendered on demand and kept.

    In Jupyter a Drawing displays itself (as SVG). ``svg()``, ``png()`` and ``pdf()`` give
    the bytes; ``save(path)`` writes them (the format from the suffix).
    """

    def __init__(self, source: str, engine: str, render: Callable[[str], bytes],
                 n_nodes: int, n_edges: int) -> None:
        self.source = source
        self.engine = engine  # "graphviz" or "python": who lays out and renders
        self.n_nodes = n_nodes
        self.n_edges = n_edges
        self.path: Path | None = None  # where save() last wrote
        self._render = render
        self._cache: dict[str, bytes] = {}

    def render(self, format: str = "svg") -> bytes:
        """The picture as ``svg``, ``png`` or ``pdf`` bytes."""
        fmt = _format_of(None, format)
        if fmt not in self._cache:
            self._cache[fmt] = self._render(fmt)
        return self._cache[fmt]

    def svg(self) -> bytes:
        return self.render("svg")

    def png(self) -> bytes:
        return self.render("png")

    def pdf(self) -> bytes:
        return self.render("pdf")

    def save(self, path: str | Path, format: str | None = None) -> Path:
        """Write the picture to ``path`` (format from ``format`` or the suffix)."""
        fmt = _format_of(path, format)
        data = self.render(fmt)  # render first: a failure leaves no empty file behind
        p = Path(path)
        p.write_bytes(data)
        self.path = p
        return p

    def _repr_svg_(self) -> str:
        return self.svg().decode("utf-8")

    def __repr__(self) -> str:
        where = f", {self.path}" if self.path is not None else ""
        return f"<Drawing: {self.n_nodes} nodes, {self.engine} engine{where}>"


def _format_of(path: str | Path | None, format: str | None) -> str:
    if format is not None:
        fmt = format.lower().lstrip(".")
        if fmt not in FORMATS:
            raise ValueError(f"draw: unknown format {format!r}; use svg, png or pdf")
        return fmt
    if path is None:
        return "svg"
    fmt = Path(path).suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        raise ValueError(f"draw: cannot tell the picture format of {str(path)!r}: name a .svg, "
                         f".png or .pdf file, or pass format='svg'")
    return fmt


def _python_engine_missing() -> str | None:
    """What the Python engine lacks (None: nothing)."""
    import importlib.util

    lacking = [m for m in ("matplotlib", "grandalf") if importlib.util.find_spec(m) is None]
    return " and ".join(lacking) or None


def _pick_engine(engine: str) -> str:
    if engine not in ENGINES:
        raise ValueError(f"draw: engine must be one of {', '.join(ENGINES)}, got {engine!r}")
    if engine == "graphviz":
        if shutil.which("dot") is None:
            raise RuntimeError(
                "draw: engine='graphviz' needs Graphviz's 'dot' program on the PATH (install "
                "Graphviz: apt install graphviz, brew install graphviz or conda install "
                f"graphviz), or use engine='python' ({_VIZ_EXTRA})")
        return engine
    if engine == "auto" and shutil.which("dot") is not None:
        return "graphviz"
    lacking = _python_engine_missing()
    if lacking is not None:
        hint = "" if engine == "python" else (
            ", or install Graphviz (the 'dot' program) for engine='graphviz'")
        raise ImportError(f"draw: drawing without Graphviz needs {lacking}: "
                          f"{_VIZ_EXTRA}{hint}")
    return "python"


def _run_dot(source: str, fmt: str) -> bytes:
    exe = shutil.which("dot")
    if exe is None:
        raise RuntimeError("draw: Graphviz's 'dot' program is no longer on the PATH")
    try:
        proc = subprocess.run([exe, f"-T{fmt}"], input=source.encode("utf-8"),
                              capture_output=True, timeout=DOT_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise RuntimeError(
            f"draw: Graphviz's dot took over {DOT_TIMEOUT:g} s on this graph (an input used "
            "by very many ops makes long edges that are slow to lay out): draw it with "
            "engine='python', or draw less of it (depth=1)") from None
    if proc.returncode != 0 or not proc.stdout:
        msg = proc.stderr.decode("utf-8", "replace").strip()
        raise RuntimeError(f"draw: Graphviz's dot failed (exit {proc.returncode}): {msg}")
    return proc.stdout


def draw(t: Tensor, path: str | Path | None = None, model: Any = None, *, values: bool = False,
         grads: bool = False, depth: int | None = None,
         names: Mapping[str, Tensor] | None = None, format: str | None = None,
         engine: str = "auto") -> Drawing:
    """Draw the graph behind ``t``; write it to ``path`` (``.svg``, ``.png`` or ``.pdf``)
    when given, and return the :class:`Drawing` (shown inline in Jupyter).

    The picture is that of :func:`to_dot`. ``engine="auto"`` uses Graphviz's ``dot``
    program when it is on the PATH and the pure-Python layout (matplotlib and grandalf:
    ``pip install "chainrule[viz]"``) otherwise; ``"graphviz"`` or ``"python"`` force one.
    ``depth=1`` draws one box per top-level layer: the way to read a real model.

    >>> import chainrule as cr
    >>> model = cr.nn.Sequential(cr.nn.Linear(2, 3), cr.nn.ReLU(), cr.nn.Linear(3, 1))
    >>> with cr.viz.record(model):
    ...     loss = model(cr.ones(4, 2)).sum()
    >>> d = cr.viz.draw(loss, depth=1)  # doctest: +SKIP
    >>> d.save("model.svg")             # doctest: +SKIP
    """
    fmt = _format_of(path, format)
    used = _pick_engine(engine)
    view = _view(t, model, values, grads, depth, names)
    source = _dot(view)
    render: Callable[[str], bytes]
    if used == "graphviz":
        def render(f: str) -> bytes:
            return _run_dot(source, f)
    else:
        layout: list[_Layout] = []

        def render(f: str) -> bytes:
            if not layout:
                layout.append(_Layout(view))
            return _render_python(layout[0], f)
    d = Drawing(source, used, render, len(view.nodes), len(view.edges))
    if path is not None:
        d.save(path, fmt)
    return d


# ---------------------------------------------------------------------------------------------
# The Python engine: layout
# ---------------------------------------------------------------------------------------------

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

    def __init__(self, view: GraphView) -> None:
        self.view = view
        self.labels = {n.id: _label(n, view.values, view.grads) for n in view.nodes}
        self.size = {k: _measure(v) for k, v in self.labels.items()}
        self.chains = {n.id: _chain(view, n.group) for n in view.nodes}
        self.shapes = [format_shape(e.shape) for e in view.edges]
        self.group_label_w = {p: _text_width(g.label, 9.5, "bold")
                              for p, g in view.groups.items()}
        self.sides = _Sides(view)
        self._rank_and_order()
        self._place_x()
        self._place_y()
        self._route()

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
        for n in view.nodes:
            if n.id in home:
                anchor = self.by_node[home[n.id]]
                it = _Item(len(items), n.id, *self.size[n.id], self.chains[n.id])
                it.rank, it.order = anchor.rank, anchor.order
                items.append(it)
                ranks[it.rank].append(it)
                self.by_node[n.id] = it
        self.items = items
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
        left = min([x[it.id] - it.w / 2 for it in self.items] + [x[L[p]] for p in self.groups])
        for it in self.items:
            it.x = x[it.id] - left + _MARGIN
        self.box_x = {p: (x[L[p]] - left + _MARGIN, x[R[p]] - left + _MARGIN)
                      for p in self.groups}

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


# ---------------------------------------------------------------------------------------------
# The Python engine: rendering with matplotlib
# ---------------------------------------------------------------------------------------------


def _render_python(lay: _Layout, fmt: str) -> bytes:
    import matplotlib
    from matplotlib.figure import Figure

    view = lay.view
    legend = _legend_entries(view) + (["box"] if view.groups else [])
    leg_w = max(_text_width(_STYLE[k][2] if k in _STYLE else "module call (box)", 9)
                for k in legend) + 48
    leg_h = 24 + 19 * (len(legend) + 2)
    width = lay.width + leg_w + _MARGIN
    height = max(lay.height, leg_h + 2 * _MARGIN)
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "chainrule",
                                "pdf.fonttype": 42}):
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
        _draw_legend(ax, legend, lay.width + 4, _MARGIN, leg_w - 8, leg_h)
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
        ax.text(x0 + 7, y0 + 4 + _GLABEL / 2, lay.view.groups[p].label, fontsize=9.5,
                fontweight="bold", color="#4a5568", ha="left", va="center", parse_math=False,
                zorder=0.1 * level + 0.05)


def _draw_edges(ax: Any, lay: _Layout) -> None:
    from matplotlib.patches import ArrowStyle, FancyArrowPatch
    from matplotlib.path import Path as MPath

    style = ArrowStyle("-|>", head_length=6.5, head_width=3.2)
    for verts in lay.edge_paths:
        codes = [MPath.MOVETO] + [MPath.CURVE4] * (len(verts) - 1)
        ax.add_patch(FancyArrowPatch(path=MPath(verts, codes), arrowstyle=style,
                                     mutation_scale=1, color="#4a5568", linewidth=1.0,
                                     zorder=2))
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
                          linewidth=lw, zorder=3))
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


def _draw_legend(ax: Any, entries: list[str], x0: float, y0: float, w: float, h: float) -> None:
    ax.add_patch(_rounded(x0, y0, w, h, 6, facecolor="white", edgecolor="#bbbbbb",
                          linewidth=0.9, zorder=5))
    ax.text(x0 + 8, y0 + 12, "legend", fontsize=9.5, color="#666666", ha="left",
            va="center", zorder=5.1)
    y = y0 + 30
    for k in entries:
        if k == "box":
            fill, border, text, radius = _GROUP_FILL[0], _GROUP_BORDER, "module call (box)", 4
        else:
            fill, border, text = _STYLE[k]
            radius = 4 if k in ("op", "output") else 0
        ax.add_patch(_rounded(x0 + 8, y - 6, 24, 12, radius, facecolor=fill, edgecolor=border,
                              linewidth=2.0 if k == "output" else 1.0, zorder=5.1))
        ax.text(x0 + 40, y, text.replace(" (rounded)", ""), fontsize=9, color="#333333",
                ha="left", va="center", zorder=5.1)
        y += 19
    for text in ("arrows: data flow", "edge labels: tensor shape"):
        ax.text(x0 + 8, y, text, fontsize=9, color="#555555", ha="left", va="center",
                zorder=5.1)
        y += 19
