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

import shutil
import subprocess
from pathlib import Path
from typing import Any, Callable, Mapping

from ..core.tensor import Tensor
from .dot import _dot
from .i18n import Text, check_lang
from .layout import _Layout
from .render_mpl import _render_python
from .style import _chain  # noqa: F401  (tests reach it here)
from .view import GraphView, VNode, build_view

__all__ = ["to_dot", "draw", "Drawing"]

FORMATS = ("svg", "png", "pdf")
ENGINES = ("auto", "graphviz", "python")
DOT_TIMEOUT = 60.0  # seconds
_VIZ_EXTRA = 'pip install "chainrule[viz]"'


def _view(t: Tensor, model: Any, values: bool, grads: bool, depth: int | None,
          names: Mapping[str, Tensor] | None, unroll: bool | int | None = None) -> GraphView:
    if hasattr(t, "graph_view"):  # a cr.compile'd function: its captured program
        return t.graph_view()
    view = build_view(t, model, values=values, grads=grads, depth=depth, names=names,
                      unroll=unroll)
    if not view.nodes:  # a tensor with no graph behind it: one box that says so
        view.nodes.append(VNode("n0", "input", "const", tuple(t.shape), str(t._data.dtype),
                                name=Text("tensor (no graph: nothing requires grad)"),
                                value=t._data if values else None, is_output=True))
    return view


def to_dot(t: Tensor, model: Any = None, *, values: bool = False, grads: bool = False,
           depth: int | None = None, names: Mapping[str, Tensor] | None = None,
           legend: bool = True, rankdir: str = "TB", unroll: bool | int | None = None,
           lang: str = "en") -> str:
    """The graph behind ``t`` as Graphviz DOT text.

    Each node shows its op (with parameters) or its name, its shape and dtype, and on
    request a summary of its value and gradient; ops are rounded blue boxes, parameters
    green, inputs grey, collapsed modules purple with a double border, the output orange.
    Module calls recorded with :func:`~chainrule.viz.record` become nested boxes labelled
    like ``0 (Linear)``; edges carry the shape of the tensor flowing along them.
    ``model``, ``values``, ``grads``, ``depth``, ``names`` and ``unroll`` (recurrent layers one
    box per time step) are those of :func:`~chainrule.viz.build_view`. ``lang="zh"`` writes
    the words of the picture in Chinese (参数, 输入, 指数 2, 图例, ...); names, op names and
    formulas stay as they are.

    >>> import chainrule as cr
    >>> w = cr.tensor([[0.5], [0.25]], requires_grad=True)
    >>> dot = cr.viz.to_dot(cr.tensor([[1.0, 2.0]]) @ w, names={"w": w})
    >>> dot.startswith("digraph"), "<B>t2 = matmul</B>" in dot, "<B>w</B>" in dot
    (True, True, True)
    """
    check_lang(lang, "to_dot")
    return _dot(_view(t, model, values, grads, depth, names, unroll), legend=legend,
                rankdir=rankdir, lang=lang)


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
         engine: str = "auto", unroll: bool | int | None = None, lang: str = "en") -> Drawing:
    """Draw the graph behind ``t``; write it to ``path`` (``.svg``, ``.png`` or ``.pdf``)
    when given, and return the :class:`Drawing` (shown inline in Jupyter).

    The picture is that of :func:`to_dot`. ``engine="auto"`` uses Graphviz's ``dot``
    program when it is on the PATH and the pure-Python layout (matplotlib and grandalf:
    ``pip install "chainrule[viz]"``) otherwise; ``"graphviz"`` or ``"python"`` force one.
    ``depth=1`` draws one box per top-level layer: the way to read a real model.

    Recurrent layers (nn.RNN, nn.LSTM, nn.GRU) are drawn unrolled in time when ``depth``
    reaches inside them (``depth=2`` for ``Sequential(rnn, ...)``) or with ``unroll=True``:
    one box per time step, the hidden (and cell) state going from step to step, and each
    repeated weight feeding a box that sums its steps' shares of the gradient
    (backpropagation through time; with ``grads=True`` every edge carries its share).
    ``unroll=k`` keeps the first and last ``k`` steps of a long sequence, ``unroll=False``
    keeps each layer one fused box. See :mod:`chainrule.viz.unroll`.

    ``lang="zh"`` draws the picture in Chinese: the kinds of boxes, the constants' roles, the
    legend and the notes (the Python engine finds a font with Chinese glyphs on the system).

    >>> import chainrule as cr
    >>> model = cr.nn.Sequential(cr.nn.Linear(2, 3), cr.nn.ReLU(), cr.nn.Linear(3, 1))
    >>> with cr.viz.record(model):
    ...     loss = model(cr.ones(4, 2)).sum()
    >>> d = cr.viz.draw(loss, depth=1)  # doctest: +SKIP
    >>> d.save("model.svg")             # doctest: +SKIP
    """
    fmt = _format_of(path, format)
    check_lang(lang, "draw")
    used = _pick_engine(engine)
    view = _view(t, model, values, grads, depth, names, unroll)
    source = _dot(view, lang=lang)
    render: Callable[[str], bytes]
    if used == "graphviz":
        def render(f: str) -> bytes:
            return _run_dot(source, f)
    else:
        layout: list[_Layout] = []

        def render(f: str) -> bytes:
            if not layout:
                layout.append(_Layout(view, lang))
            return _render_python(layout[0], f)
    d = Drawing(source, used, render, len(view.nodes), len(view.edges))
    if path is not None:
        d.save(path, fmt)
    return d
