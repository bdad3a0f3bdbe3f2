"""The walkthrough of :mod:`chainrule.viz.explain` as text: forward pass, backward pass,
gradients of the leaves, with long arrays broken after their rows."""

from __future__ import annotations

import re
import unicodedata
from typing import TYPE_CHECKING, Any

from ..backend import xp
from .i18n import message, translate
from .view import format_shape, format_value

if TYPE_CHECKING:
    from .walkthrough import Contribution, Explanation


class _Formatter:
    def __init__(self, digits: int, max_elements: int) -> None:
        self.digits = digits
        self.max_elements = max_elements

    def __call__(self, a: Any) -> str:
        a = xp.asarray(a)
        if a.size <= self.max_elements:
            return format_value(a, self.max_elements, self.digits)
        return f"{format_shape(a.shape)} array: " + format_value(a, 0, self.digits)


class _Messages:
    """The walkthrough's words in one language (``ex_*`` in :mod:`chainrule.viz.i18n`)."""

    def __init__(self, lang: str) -> None:
        self.lang = lang

    def __call__(self, key: str, **fields: Any) -> str:
        return message("ex_" + key, self.lang, **fields)

    def prose(self, text: str) -> str:
        """A note or a derivative's prose in this language (:func:`translate`)."""
        return translate(text, self.lang)


def _split_rows(s: str) -> list[str]:
    """``[[1, 2], [3, 4]]`` -> ``["[[1, 2],", "[3, 4]]"]``: the pieces a long value may be
    broken at (after each row)."""
    if not s.startswith("[["):
        return [s]
    pieces, depth, start = [], 0, 0
    for k, ch in enumerate(s):
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
        elif ch == "," and depth == 1:
            pieces.append(s[start:k + 1])
            start = k + 2
    pieces.append(s[start:])
    return pieces


def _place(prefix: str, value: str, width: int) -> list[str]:
    """``prefix + value``, broken after rows of the array (aligned) when it is too wide."""
    if len(prefix) + len(value) <= width:
        return [prefix + value]
    rows = _split_rows(value)
    lines = [prefix + rows[0]]
    pad = " " * (len(prefix) + 1)
    for r in rows[1:]:
        if len(lines[-1]) + 1 + len(r) <= width:
            lines[-1] += " " + r
        else:
            lines.append(pad + r)
    return lines


def _equation(lhs: str, rhs: list[list[tuple[str, str]]], width: int) -> list[str]:
    """``lhs = a * b`` / ``= c`` lines: each rhs line is [(operator, text), ...]; a line too
    wide puts each operand on a line of its own, under the ``=``."""
    lines: list[str] = []
    pad = " " * (len(lhs) + 1)
    for k, terms in enumerate(rhs):
        head = lhs + " = " if k == 0 else pad + "= "
        joined = " ".join(f"{op} {t}" if op else t for op, t in terms)
        if len(head) + len(joined) <= width or len(terms) == 1:
            lines.extend(_place(head, joined, width))
            continue
        for j, (op, t) in enumerate(terms):
            h = head if j == 0 else pad + f"{op} "
            lines.extend(_place(h, t, width))
    return lines


def _render(ex: Explanation, width: int, lang: str = "en") -> str:
    fmt = _Formatter(ex.digits, ex.max_elements)
    m = _Messages(lang)
    out = (_forward(ex, fmt, width, m) + _backward(ex, fmt, width, m)
           + _leaves(ex, fmt, width, m))
    return "\n".join(out)


def _forward(ex: Explanation, fmt: _Formatter, width: int, m: _Messages) -> list[str]:
    out: list[str] = []
    add = out.append
    loss = ex.loss
    add(m("forward"))
    add("")
    if ex.inputs:
        add(m("inputs"))
        nw = max(len(o.name) for o in ex.inputs)
        sw = max(len(format_shape(o.shape)) for o in ex.inputs)
        for o in ex.inputs:
            what = m("requires_grad") if o.kind == "param" else m("input")
            what += " " * (13 - _width(what))
            head = f"    {o.name:<{nw}}  {format_shape(o.shape):<{sw}}  {what}  "
            out.extend(_place(head, fmt(o.value), width))
        add("")
    add(m("ops"))
    cw = min(max(len(f"{o.name} = {o.op}") for o in ex.ops), 40)
    shw = max(len(format_shape(o.shape)) for o in ex.ops)
    group: str | None = None
    for o in ex.ops:
        if o.group != group:
            add(m("inside", group=o.group) if o.group else m("outside"))
            group = o.group
        lhs = f"    {o.name} = {o.op}"
        tail = m("explained") if o is loss else ""
        shape = format_shape(o.shape)
        head = f"{lhs:<{cw + 4}}  {shape:<{shw}}  "
        value = fmt(o.value)
        if len(head) + len(value) + len(tail) > width and len(head) > width // 2:
            add(lhs + tail)
            out.extend(_place(f"{'':8}{shape} ", value, width))
        else:
            lines = _place(head, value, width)
            lines[-1] += tail
            out.extend(lines)
    add("")
    return out


def _backward(ex: Explanation, fmt: _Formatter, width: int, m: _Messages) -> list[str]:
    out: list[str] = []
    add = out.append
    loss = ex.loss
    add(m("backward"))
    add("")
    seed_txt = "1" if ex.seed.size == 1 else f"ones{format_shape(ex.seed.shape)}"
    intro = m("intro", name=loss.name, seed=seed_txt)
    intro += m("period") if ex.seed.size == 1 else m("intro_sum", name=loss.name)
    out.extend(_wrap_words(intro, width, "  ", "  "))
    for s in ex.steps:
        add("")
        add(f"  {s.out.name} = {s.out.op}")
        out.extend(_wrap_words(m("local", local=s.local_in(m.lang)), width, "    ", "      "))
        if s.grad is None:
            add(m("no_grad"))
            continue
        gname = f"dL/d{s.out.name}"
        if s.parts:
            add(m("used", name=s.out.name, n=len(s.parts)))
            out.extend(_equation(f"    G = {gname}",
                                 [[("", " + ".join(m("path", k=c.path[0] if c.path else k + 1)
                                                   for k, c in enumerate(s.parts)))],
                                  [("+" if k else "", fmt(c.value))
                                   for k, c in enumerate(s.parts)],
                                  [("", fmt(s.grad))]], width))
        elif s.alias:
            out.extend(_place(f"    G = {gname} = {s.alias} = ", fmt(s.grad), width))
        else:
            out.extend(_place(f"    G = {gname} = ", fmt(s.grad), width))
        if s.note:
            out.extend(_wrap_words(m.prose(s.note), width, "      "))
        for c in s.contributions:
            out.extend(_contribution(c, fmt, width, m))
        for name in s.constants:
            add(m("constant", name=name))
        if s.through_time is not None:
            out.extend(s.through_time.lines(fmt, width, m.lang))
    add("")
    return out


def _leaves(ex: Explanation, fmt: _Formatter, width: int, m: _Messages) -> list[str]:
    out: list[str] = []
    add = out.append
    loss = ex.loss
    call = f"{loss.name}.backward()" if ex.seed.size == 1 else f"{loss.name}.sum().backward()"
    add(m("leaves", call=call))
    if not ex.leaves:
        add(m("no_leaf"))
    for leaf in ex.leaves:
        add("")
        lhs = f"  {leaf.name}.grad = dL/d{leaf.name}"
        if leaf.parts:
            add(m("leaf_used", name=leaf.name, n=len(leaf.parts)))
            out.extend(_equation(lhs, [[("+" if k else "", fmt(c.value))
                                        for k, c in enumerate(leaf.parts)],
                                       [("", fmt(leaf.grad))]], width))
        else:
            out.extend(_place(lhs + " = ", fmt(leaf.grad), width))
        if leaf.note:
            out.extend(_wrap_words(m.prose(leaf.note), width, "    "))
    return out


def _contribution(c: Contribution, fmt: _Formatter, width: int, m: _Messages) -> list[str]:
    lhs = f"    dL/d{c.input}"
    if c.path is not None:
        lhs += m("path_of", k=c.path[0], n=c.path[1])
    expr = c.expr_in(m.lang)
    rhs: list[list[tuple[str, str]]] = []
    if c.operands:
        rhs.append([("", expr)])
        rhs.append([(op, fmt(a)) for op, a in c.operands])
        rhs.append([("", fmt(c.raw))])
    else:
        rhs.append([("", expr)])
        rhs.append([("", fmt(c.raw))])
    if len(rhs) == 2 and len(lhs) + _width(expr) + len(rhs[1][0][1]) + 6 <= width:
        lines = [f"{lhs} = {expr} = {rhs[1][0][1]}"]
    else:
        lines = _equation(lhs, rhs, width)
    if c.summed_axes is not None:
        pad = " " * (len(lhs) + 1)
        axes = c.summed_axes
        what = (m("axis", a=axes[0]) if len(axes) == 1 else
                m("axes", a=", ".join(str(a) for a in axes)))
        lines.extend(_wrap_words(m("summed", what=what, frm=format_shape(c.raw.shape),
                                   to=format_shape(c.value.shape), input=c.input),
                                 width, pad + "  ", pad + "    "))
        lines.extend(_place(pad + "= ", fmt(c.value), width))
    if c.path is not None:
        key = "adds_up_many" if c.path[1] > 2 else "adds_up"
        lines.append(" " * (len(lhs) + 1) + m(key, input=c.input))
    if c.note:
        lines.extend(_wrap_words(m.prose(c.note), width, "      "))
    return lines


def _wrap_words(text: str, width: int, indent: str, hang: str | None = None) -> list[str]:
    """``text`` broken at spaces (and between Chinese characters) into lines of at most
    ``width`` columns (a Chinese character takes two); the first starts with ``indent``, the
    others with ``hang`` (default: ``indent`` and two spaces)."""
    hang = indent + "  " if hang is None else hang
    lines: list[str] = []
    cur = indent
    for word, sep in _tokens(text):
        if cur.strip() and _width(cur) + len(sep) + _width(word) > width:
            lines.append(cur)
            cur = hang + word
        else:
            cur = cur + (sep if cur.strip() else "") + word
    if cur.strip():
        lines.append(cur)
    return lines


_WIDE = "\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef"  # CJK characters and full-width forms
_CJK_RUN = re.compile(f"[{_WIDE}]|[^{_WIDE}]+")


def _tokens(text: str) -> list[tuple[str, str]]:
    """(piece, separator before it): the words between spaces, each Chinese character a
    piece of its own joined without a space."""
    out = []
    for k, word in enumerate(text.split(" ")):
        for j, piece in enumerate(_CJK_RUN.findall(word) or [""]):
            out.append((piece, " " if j == 0 and k > 0 else ""))
    return out


def _width(s: str) -> int:
    """Columns ``s`` takes in a terminal: two for a wide (Chinese) character."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in s)

