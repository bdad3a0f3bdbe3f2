"""How the graph looks, for both drawing engines: colours, fonts, and each box's label lines."""

from __future__ import annotations

from typing import Any

from .i18n import Text, translate
from .view import GraphView, VNode, format_shape, format_value

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
         "value": "#1c4f8a", "grad": "#a1262e", "backward": "#a1262e"}
_SIZE = {"title": 10.5, "params": 9.0, "shape": 9.0, "info": 9.0, "value": 9.0, "grad": 9.0,
         "backward": 8.5}
_GRAD = "#a1262e"  # gradients: labels, and the arrows of what edges carry back
_WIDTH = 50  # characters per label line before it wraps


# ---------------------------------------------------------------------------------------------
# Labels
# ---------------------------------------------------------------------------------------------


def _say(text: str, lang: str) -> str:
    """``text`` in ``lang`` when chainrule wrote it (a :class:`~chainrule.viz.i18n.Text`);
    names, op names and formulas (plain strings) as they are: a tensor the user named
    ``target`` stays ``target``."""
    return translate(text, lang) if isinstance(text, Text) else text


def _label(n: VNode, values: bool, grads: bool, lang: str = "en") -> list[tuple[str, str]]:
    """The label of ``n`` as (text, role) lines in ``lang``; roles pick font and colour."""
    lines = n.lines(values, grads)
    out: list[tuple[str, str]] = []
    if n.kind == "op":  # the op in bold, its parameters below in the small font
        ref, op, params = n.name or n.ref, _say(n.op, lang), _say(n.params, lang)
        out.append((f"{ref} = {op}" if ref else op, "title"))
        out += [(s, "params") for s in _wrap(params, _WIDTH - 4)] if params else []
        if n.from_backward:
            out.append((translate("made by backward (second order)", lang), "backward"))
    else:
        out.append((_say(lines[0], lang), "title"))
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
        out += [(w, role) for w in _wrap(_say(s, lang), _WIDTH)]
    return out


def _wide(ch: str) -> bool:
    """Whether ``ch`` takes two columns (a CJK character or a full-width form)."""
    return "\u2e80" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff" or "\uff00" <= ch <= "\uffef"


def _columns(text: str) -> int:
    """The width of ``text`` in columns: a CJK character takes two."""
    return sum(2 if _wide(ch) else 1 for ch in text)


_CJK_BREAK_AFTER = ",。:;、)!?"


def _wrap(text: str, width: int) -> list[str]:
    """Break ``text`` into lines of at most ``width`` columns (a CJK character takes two)
    where it reads best: after the outermost ``", "``, else at a double space or after
    Chinese punctuation, else at a space, else between two Chinese characters."""
    out = []
    while _columns(text) > width:
        best: tuple[float, int] | None = None  # (badness, -where the line ends)
        depth = col = 0
        fit = 0  # the longest start of text that fits
        for i, ch in enumerate(text):
            col += 2 if _wide(ch) else 1
            if col > width + 1:
                break
            if col <= width:
                fit = i + 1
            score, cut = None, i
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
            elif _wide(ch) and col <= width and i + 1 < len(text):
                cut = i + 1  # after it
                score = 0.5 if ch in _CJK_BREAK_AFTER else (
                    6.0 if _wide(text[i + 1]) and text[i + 1] not in _CJK_BREAK_AFTER else None)
            if score is not None and (best is None or (score, -cut) <= best):
                best = (score, -cut)
        cut = -best[1] if best is not None else max(fit, 1)
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



def _style(n: VNode) -> tuple[str, str]:
    fill, border, _ = _STYLE["output" if n.is_output else n.kind]
    return fill, border



def _legend_entries(view: GraphView) -> list[str]:
    kinds = [k for k in ("op", "param", "input", "module") if any(n.kind == k for n in view)]
    if any(n.is_output for n in view):
        kinds.append("output")
    return kinds



def _legend_notes(view: GraphView, lang: str = "en") -> list[tuple[str, str]]:
    """The legend's lines of text under the swatches, as (text, colour), in ``lang``."""
    out = [("arrows: data flow (forward)", "#555555"), ("edge labels: tensor shape", "#555555")]
    if view.grads and any(e.grad is not None for e in view.edges):
        out.append(("red arrow + grad: the gradient the edge carries back", _GRAD))
        out.append(("(backward runs against the black arrows)", _GRAD))
    if any(n.from_backward for n in view.nodes):
        out.append(("red line in a box: an op made by backward", _GRAD))
    return [(translate(text, lang), colour) for text, colour in out]


def _edge_text(e: Any, lang: str = "en") -> str:
    """An edge's label: the shape of what flows along it, after its name when it has one
    (``label=None``: none)."""
    if getattr(e, "label", "") is None:
        return ""
    shape = format_shape(e.shape)
    return f"{_say(e.label, lang)} {shape}" if getattr(e, "label", "") else shape


def _grad_text(e: Any, lang: str = "en") -> str:
    """The text of what an edge carries back, after the arrow showing which way."""
    return translate(Text("grad {v}", v=format_value(e.grad)), lang)
