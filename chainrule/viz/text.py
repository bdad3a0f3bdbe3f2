"""The graph as text: one line per op, inputs first, in the spirit of a JAX jaxpr."""

from __future__ import annotations

from typing import Any, Mapping

from ..core.tensor import Tensor
from .i18n import Text, check_lang, translate
from .style import _say
from .view import build_view, format_shape


def format_graph(t: Tensor, model: Any = None, names: Mapping[str, Tensor] | None = None,
                 unroll: bool | int = False, lang: str = "en") -> str:
    """The graph behind ``t`` as text, one line per node, inputs before the ops using them.

    Leaves that require grad are ``%k = leaf ...``, with their dotted name when ``model`` is
    given (or the graph was built inside ``cr.viz.record(model)``). Inputs that need no
    gradient show as ``const``, with their shape when the graph was recorded under
    ``cr.viz.record()`` or ``cr.graph.record_inputs()``, and scalar constants kept so by their
    value (``pow(%8, 2)``). ``names`` (``{"X": X, "z1": z1}``)
    names inputs, leaves and intermediate results; an op's name ends its line as a comment.
    ``unroll=True`` writes recurrent layers one line per time step (see
    :func:`~chainrule.viz.draw`). ``lang="zh"`` writes its words in Chinese (``leaf`` as
    叶子节点, ``const`` as 常数); op names, names and shapes stay as they are.

    >>> import chainrule as cr
    >>> from chainrule.viz import format_graph
    >>> w = cr.tensor([[0.5], [0.25]], requires_grad=True)
    >>> x = cr.tensor([[1.0, 2.0]])
    >>> print(format_graph((x @ w).sigmoid().sum()))
    %0 = leaf (2, 1) float32
    %1 = matmul(const(1, 2), %0) -> (1, 1) float32
    %2 = sigmoid(%1) -> (1, 1) float32
    %3 = sum(%2, axis=None, keepdim=False) -> () float32
    >>> z = x @ w
    >>> print(format_graph(z.sigmoid(), names={"x": x, "w": w, "z": z}))
    %0 = leaf w (2, 1) float32
    %1 = matmul(x, %0) -> (1, 1) float32  # z
    %2 = sigmoid(%1) -> (1, 1) float32
    """
    check_lang(lang, "format_graph")
    if t.grad_fn is None and not t.requires_grad:
        return translate(Text("const {shape} {dtype} (no graph: nothing requires grad)",
                              shape=format_shape(t.shape), dtype=t.dtype), lang)
    const, leaf = translate("const", lang), translate("leaf", lang)
    view = build_view(t, model=model, names=names, unroll=unroll)
    refs: dict[str, str] = {}
    args: dict[str, list[str]] = {}
    for e in view.edges:
        args.setdefault(e.dst, []).append(e.src)
    lines: list[str] = []
    for n in view.nodes:
        if n.kind == "input":
            if n.name and n.name != "(not kept)":
                refs[n.id] = n.name
            elif n.literal:  # a scalar constant: by its value, as in pow(%8, 2)
                refs[n.id] = n.ref
            else:
                refs[n.id] = const if n.dtype == "?" else f"{const}{format_shape(n.shape)}"
            continue
        ref = refs[n.id] = f"%{len(lines)}"
        if n.kind == "param":
            name = f" {n.name}" if n.name else ""
            lines.append(f"{ref} = {leaf}{name} {format_shape(n.shape)} {n.dtype}")
            continue
        inputs = [refs[a] for a in args.get(n.id, [])]
        call = ", ".join(inputs + ([_say(n.params, lang)] if n.params else []))
        comment = f"  # {n.name}" if n.name else ""
        lines.append(f"{ref} = {_say(n.op, lang)}({call}) -> {format_shape(n.shape)} "
                     f"{n.dtype}{comment}")
    return "\n".join(lines)


def print_graph(t: Tensor, model: Any = None, names: Mapping[str, Tensor] | None = None,
                unroll: bool | int = False, lang: str = "en") -> None:
    """Print :func:`format_graph` of ``t`` (in ``lang``)."""
    print(format_graph(t, model, names, unroll, lang))
