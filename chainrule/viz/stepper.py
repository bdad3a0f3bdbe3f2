"""Watch backpropagation happen: an HTML page that plays the forward pass, then the backward
pass, one op at a time, on the learner's own program.

    page = cr.viz.stepper(loss, names={"X": X, "W1": W1})    # a graph built in cr.viz.record()
    page = cr.viz.stepper(fn, x, w)                          # or a function and its arguments
    page.save("step.html")                                   # one file, nothing fetched
    page                                                     # in Jupyter: shown inline

The page is built from :func:`~chainrule.viz.walkthrough.build_explanation`: the same graph
view, the same names and the same numbers as ``explain`` (nothing is computed twice; the
picture is drawn from that view). Each step highlights its node; the backward steps show the
local derivative in symbols and in numbers, the gradient each edge carries back, and the sums
where a tensor was used twice or broadcast; the last step is one step of gradient descent.
English and Chinese are both in the page (a button switches): the messages, each local
derivative, expression and note, and the picture, drawn once in each language (its words and
so its boxes' sizes differ; the page shows the one of the language it is in).
"""

from __future__ import annotations

import dataclasses
import html
import inspect
import json
from pathlib import Path
from typing import Any, Callable, Mapping

from ..backend import xp
from ..core.tensor import Tensor
from .explain_text import _Formatter
from .formatting import _num, format_shape
from .i18n import LANGS, MESSAGES, check_lang, translate
from .recording import record
from .walkthrough import Contribution, Explanation, Step, build_explanation

__all__ = ["stepper", "Stepper", "tutorial_stepper"]

_MAX_ELEMENTS_LISTED = 256  # elements a tensor lists when opened
_SATURATING = {"sigmoid": "0.25", "sigmoid_grad": "0.25", "tanh": "1"}


class Stepper:
    """The stepper page: ``html()`` is the whole self-contained file, ``save(path)`` writes
    it, and in Jupyter it shows inline. ``explanation`` is what it plays, and ``steps`` the
    steps as data (the numbers formatted as on the page). ``svgs`` holds the picture in each
    language (empty without one) and ``overlays`` where the numbers go on it; ``svg`` and
    ``overlay`` are the English ones."""

    def __init__(self, explanation: Explanation, steps: list[dict[str, Any]],
                 svgs: dict[str, str], overlays: dict[str, dict[str, list[Any]]], lang: str,
                 lr: float) -> None:
        self.explanation = explanation
        self.steps = steps
        self.svgs = svgs
        self.overlays = overlays
        self.lang = lang
        self.lr = lr
        self.path: Path | None = None

    @property
    def svg(self) -> str | None:
        return self.svgs.get("en")

    @property
    def overlay(self) -> dict[str, list[Any]]:
        return self.overlays.get("en", {})

    @overlay.setter
    def overlay(self, value: dict[str, list[Any]]) -> None:
        self.overlays = {lang: value for lang in self.overlays}

    def html(self) -> str:
        from .stepper_page import page

        data = {"steps": self.steps, "overlays": self.overlays, "lang": self.lang,
                "messages": MESSAGES}
        return page(json.dumps(data, ensure_ascii=False), self.svgs)

    def save(self, path: str | Path) -> Path:
        p = Path(path)
        p.write_text(self.html(), encoding="utf-8")
        self.path = p
        return p

    def _repr_html_(self) -> str:
        doc = html.escape(self.html(), quote=True)
        return (f'<iframe srcdoc="{doc}" style="width:100%;height:720px;border:1px solid #ccc" '
                'sandbox="allow-scripts"></iframe>')

    def __repr__(self) -> str:
        where = f", {self.path}" if self.path is not None else ""
        return f"<Stepper: {len(self.steps)} steps{where}>"


def stepper(target: Tensor | Callable[..., Tensor], *args: Any,
            names: Mapping[str, Tensor] | None = None, model: Any = None, lr: float = 0.1,
            lang: str = "en", path: str | Path | None = None, max_nodes: int = 60,
            notes: Mapping[str, str] | None = None) -> Stepper:
    """The stepper page of ``target``: a loss built inside ``cr.viz.record()``, or a function
    called here (inside ``record``) on ``args``, its tensor arguments named by its
    parameters. ``names``, ``model``, ``max_nodes`` and ``notes`` are those of
    :func:`~chainrule.viz.explain.format_explain`; ``lr`` is the learning rate of the
    gradient-descent step the page ends with; ``lang`` (``"en"`` or ``"zh"``) the language
    it opens in. Written to ``path`` when given.

    >>> import chainrule as cr
    >>> w = cr.tensor([2.0], requires_grad=True)
    >>> page = cr.viz.stepper(lambda w: (w * 3.0).sum(), w)
    >>> [s["phase"] for s in page.steps]
    ['forward', 'forward', 'forward', 'backward', 'backward', 'backward', 'leaves', 'descent']
    """
    check_lang(lang, "stepper")
    if isinstance(target, Tensor):
        if args:
            raise TypeError(f"stepper: a tensor was given with {len(args)} extra arguments; "
                            "pass stepper(loss) or stepper(fn, *args)")
        loss = target
    elif callable(target):
        loss, names = _call(target, args, names)
    else:
        raise TypeError(f"stepper: expected a Tensor (the loss) or a function, got "
                        f"{type(target).__name__}")
    ex = build_explanation(loss, names, model, max_nodes, notes=notes)
    pictures = {k: _picture(ex, k) for k in LANGS}
    svgs = {k: svg for k, (svg, _) in pictures.items() if svg is not None}
    overlays = {k: overlay for k, (svg, overlay) in pictures.items() if svg is not None}
    page = Stepper(ex, _steps(ex, lr), svgs, overlays, lang, lr)
    if path is not None:
        page.save(path)
    return page


def tutorial_stepper(lr: float = 0.1, path: str | Path | None = None,
                     lang: str = "en") -> Stepper:
    """The stepper of the tutorial's 2-2-1 network (``chainrule explain tutorial --html``),
    with the tutorial's hand-derived deltas noted where they appear."""
    from .explain import TUTORIAL_NOTES, tutorial_network

    t = tutorial_network()
    return stepper(t["loss"], names=t, notes=TUTORIAL_NOTES, lr=lr, path=path, lang=lang)


def _call(fn: Callable[..., Tensor], args: tuple[Any, ...],
          names: Mapping[str, Tensor] | None) -> tuple[Tensor, dict[str, Tensor]]:
    """Run ``fn(*args)`` inside ``record()``; name its tensor arguments by its parameters."""
    try:
        params = list(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        params = []
    given = {p: a for p, a in zip(params, args) if isinstance(a, Tensor)}
    with record():
        out = fn(*args)
    if not isinstance(out, Tensor):
        raise TypeError(f"stepper: {getattr(fn, '__name__', 'the function')} returned "
                        f"{type(out).__name__}, not a Tensor (the loss)")
    return out, {**given, **(names or {})}


# ---------------------------------------------------------------------------------------------
# The picture: the explanation's own view, drawn without values (the steps show them)
# ---------------------------------------------------------------------------------------------


def _picture(ex: Explanation, lang: str = "en") -> tuple[str | None, dict[str, list[Any]]]:
    """The SVG of the graph in ``lang`` (nodes ``node-<id>``, edges ``edge-<src>-<dst>-<k>``)
    and, for
    each edge, where its gradient is written on it (Python engine only: with Graphviz the
    page places the numbers itself, at the middle of each edge and right of each box).
    Graphviz's ``dot`` draws it when installed, else the Python engine (matplotlib and
    grandalf); with neither the page has no picture and says how to get one."""
    from .draw import _pick_engine, _run_dot
    from .dot import _dot

    assert ex.view is not None
    view = dataclasses.replace(ex.view, values=False, grads=False, notes=[])
    try:
        engine = _pick_engine("auto")
    except (ImportError, RuntimeError):
        return None, {}
    overlay: dict[str, list[Any]] = {}
    if engine == "graphviz":
        svg = _run_dot(_dot(view, legend=False, svg_ids=True, lang=lang), "svg").decode("utf-8")
    else:
        from .layout import _Layout
        from .render_mpl import _render_python

        lay = _Layout(view, lang)
        svg = _render_python(lay, "svg", legend=False).decode("utf-8")
        for k, e in enumerate(view.edges):
            x, y, ha, arrow = lay.grad_anchor(k)
            if ha == "center":  # within a rank: under the source box, from its left edge
                src = lay.by_node[e.src]  # (no room between boxes drawn without gradients)
                x, y, ha = src.x - src.w / 2, src.y + src.h / 2 + 10, "left"
            overlay[f"{e.src}-{e.dst}-{e.index}"] = [round(x, 1), round(y, 1), arrow, ha]
        for n in view.nodes:  # right of each box: the number its step computes
            it = lay.by_node[n.id]
            overlay[f"node:{n.id}"] = [round(it.x + it.w / 2, 1), round(it.y, 1)]
    return svg[svg.index("<svg"):], overlay


# ---------------------------------------------------------------------------------------------
# The steps, as data for the page
# ---------------------------------------------------------------------------------------------


class _Values:
    """Arrays as the page shows them: explain's summary, and the elements one by one."""

    def __init__(self, ex: Explanation) -> None:
        self.fmt = _Formatter(ex.digits, ex.max_elements)
        self.digits = ex.digits

    def __call__(self, a: Any) -> dict[str, Any]:
        a = xp.asarray(a)
        out: dict[str, Any] = {"t": self.fmt(a), "shape": format_shape(a.shape)}
        if a.size > 1:
            flat = a.reshape(-1)[:_MAX_ELEMENTS_LISTED]
            idx = xp.unravel_index(xp.arange(flat.size), a.shape)
            out["el"] = [[",".join(str(int(i[k])) for i in idx), self._elem(flat[k])]
                         for k in range(flat.size)]
            out["n"] = int(a.size)
        return out

    def _elem(self, x: Any) -> str:
        return str(bool(x)) if isinstance(x, (bool, xp.bool_)) else _num(float(x), self.digits)


def _steps(ex: Explanation, lr: float) -> list[dict[str, Any]]:
    v = _Values(ex)
    view = ex.view
    assert view is not None
    args: dict[str, list[str]] = {}
    for e in view.edges:
        args.setdefault(e.dst, []).append(e.src)
    ops = {o.id for o in ex.ops}
    steps: list[dict[str, Any]] = [{
        "phase": "forward", "kind": "inputs",
        "nodes": [n.id for n in view.nodes if n.kind != "op"],  # constants too
        "items": [{"name": o.name, "kind": o.kind, "v": v(o.value)} for o in ex.inputs]}]
    for o in ex.ops:
        steps.append({"phase": "forward", "kind": "op", "node": o.id, "name": o.name,
                      "call": o.op, "group": o.group or "", "out": v(o.value),
                      "args": [{"name": ex.operands[a].name, "v": v(ex.operands[a].value),
                                "op": a in ops} for a in args.get(o.id, [])]})
    steps.append({"phase": "backward", "kind": "seed", "node": ex.loss.id,
                  "name": ex.loss.name, "seed": v(ex.seed), "many": bool(ex.seed.size > 1)})
    steps += [_backward_step(s, v) for s in ex.steps]
    by_name = {o.name: o for o in ex.inputs}
    call = f"{ex.loss.name}.backward()" if ex.seed.size == 1 else \
        f"{ex.loss.name}.sum().backward()"
    for leaf in ex.leaves:
        steps.append({"phase": "leaves", "kind": "leaf", "node": by_name[leaf.name].id,
                      "name": leaf.name, "call": call, "grad": v(leaf.grad),
                      "parts": [v(c.value) for c in leaf.parts], "note": _in_langs(leaf.note),
                      "edges": [by_name[leaf.name].id + "-"]})
    updates = [{"name": leaf.name, "node": by_name[leaf.name].id,
                "old": v(by_name[leaf.name].value), "grad": v(leaf.grad),
                "new": v(by_name[leaf.name].value - lr * leaf.grad)} for leaf in ex.leaves]
    steps.append({"phase": "descent", "kind": "descent", "lr": f"{lr:g}", "updates": updates,
                  "nodes": [u["node"] for u in updates]})
    return steps


def _backward_step(s: Step, v: _Values) -> dict[str, Any]:
    out: dict[str, Any] = {
        "phase": "backward", "kind": "step", "node": s.out.id, "name": s.out.name,
        "call": s.out.op, "local": {lang: s.local_in(lang) for lang in LANGS},
        "gsym": s.gsym, "alias": s.alias,
        "G": v(s.grad) if s.grad is not None else None,
        "parts": [v(c.value) for c in s.parts], "constants": s.constants,
        "note": _in_langs(s.note),
        "contribs": [_contribution(c, s, v) for c in s.contributions],
        "edges": [s.out.id + "-"] if s.parts else []}  # the paths whose gradients add up
    op = s.out.op.split("(")[0]
    if op in _SATURATING:
        out["saturates"] = _SATURATING[op]
    return out


def _contribution(c: Contribution, s: Step, v: _Values) -> dict[str, Any]:
    axes = None
    if c.summed_axes is not None:
        axes = ", ".join(str(a) for a in c.summed_axes)
    return {"input": c.input, "edge": f"{c.src}-{s.out.id}-",
            "expr": {lang: c.expr_in(lang) for lang in LANGS},
            "ops": [[op, v(a)] for op, a in c.operands], "raw": v(c.raw), "axes": axes,
            "many_axes": bool(c.summed_axes is not None and len(c.summed_axes) > 1),
            "v": v(c.value), "path": list(c.path) if c.path else None,
            "note": _in_langs(c.note)}


def _in_langs(note: str) -> dict[str, str]:
    """A note in each language the page speaks (the page shows the one it is in)."""
    return {lang: translate(note, lang) for lang in LANGS}
