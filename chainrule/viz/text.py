"""The graph as text: one line per op, inputs first, in the spirit of a JAX jaxpr."""

from __future__ import annotations

from typing import Any

from ..backend import ndarray
from ..core.graph import AccumulateGrad, Node, nodes
from ..core.tensor import Tensor


def _fmt_shape(shape: tuple[int, ...]) -> str:
    return "(" + ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"


def _fmt_param(value: Any) -> str:
    if isinstance(value, ndarray):
        return f"array{_fmt_shape(value.shape)}"
    if isinstance(value, tuple):
        inner = ", ".join(_fmt_param(v) for v in value)
        return f"({inner}{',' if len(value) == 1 else ''})"
    if isinstance(value, slice):
        parts = ["" if v is None else str(v) for v in (value.start, value.stop, value.step)]
        return ":".join(parts[:2]) + (f":{parts[2]}" if value.step is not None else "")
    if value is Ellipsis:
        return "..."
    return repr(value) if not hasattr(value, "kind") else str(value)


def _names_of(model: Any) -> dict[int, str]:
    if model is None:
        return {}
    return {id(p): name for name, p in model.named_parameters()}


def format_graph(t: Tensor, model: Any = None) -> str:
    """The graph behind ``t`` as text, one line per node, inputs before the ops using them.

    Leaves that require grad are ``%k = leaf ...`` (with their dotted name when ``model`` is
    given); inputs that need no gradient show as ``const`` (with their shape when the graph
    was recorded under ``cr.graph.record_inputs()``).

    >>> import chainrule as cr
    >>> from chainrule.viz import format_graph
    >>> w = cr.tensor([[0.5], [0.25]], requires_grad=True)
    >>> x = cr.tensor([[1.0, 2.0]])
    >>> print(format_graph((x @ w).sigmoid().sum()))
    %0 = leaf (2, 1) float32
    %1 = matmul(const(1, 2), %0) -> (1, 1) float32
    %2 = sigmoid(%1) -> (1, 1) float32
    %3 = sum(%2, axis=None, keepdim=False) -> () float32
    """
    if t.grad_fn is None and not t.requires_grad:
        return f"const {_fmt_shape(t.shape)} {t.dtype} (no graph: nothing requires grad)"
    names = _names_of(model)
    ids: dict[Node, str] = {}
    lines = []
    for n in nodes(t):
        ref = f"%{len(ids)}"
        ids[n] = ref
        if n.__class__ is AccumulateGrad:
            leaf = n.variable()
            name = f" {names[id(leaf)]}" if leaf is not None and id(leaf) in names else ""
            lines.append(f"{ref} = leaf{name} {_fmt_shape(n.shape)} {n.dtype}")
            continue
        args = []
        for i, m in enumerate(n.next):
            if m is not None:
                args.append(ids[m])
            elif n.inputs is not None and i < len(n.inputs):
                args.append(f"const{_fmt_shape(n.inputs[i].shape)}")
            else:
                args.append("const")
        params = [f"{k}={_fmt_param(v)}" for k, v in n.params().items()]
        lines.append(f"{ref} = {n.name}({', '.join(args + params)}) -> "
                     f"{_fmt_shape(n.shape)} {n.dtype}")
    return "\n".join(lines)


def print_graph(t: Tensor, model: Any = None) -> None:
    """Print :func:`format_graph` of ``t``."""
    print(format_graph(t, model))
