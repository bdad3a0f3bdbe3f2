"""``backward`` and ``grad``: the user-facing entry points of the backward engine."""

from __future__ import annotations

from typing import Any, Sequence

from . import graph
from .backward import run_backward
from .graph import GraphError
from .tensor_class import Tensor, _make

_ones_like = graph.xp_ones_like


def _as_list(x: Any) -> list:
    if isinstance(x, Tensor):
        return [x]
    return list(x)


def _grad_roots(outputs: list[Tensor], grad_outputs: Any, op: str) -> list[Tensor]:
    if grad_outputs is None or isinstance(grad_outputs, Tensor):
        grad_outputs = [grad_outputs] * len(outputs) if grad_outputs is None else [grad_outputs]
    grad_outputs = list(grad_outputs)
    if len(grad_outputs) != len(outputs):
        raise ValueError(
            f"{op}: got {len(grad_outputs)} gradients for {len(outputs)} outputs; "
            "pass one per output"
        )
    roots = []
    for i, (o, g) in enumerate(zip(outputs, grad_outputs)):
        if g is None:
            if o._data.shape == ():  # the usual case: a scalar loss
                roots.append(_make(_ones_like(o._data)))
                continue
            if o._data.size != 1:
                raise GraphError(
                    f"{op}: a gradient can only be created implicitly for a scalar output, but "
                    f"output {i} has shape {tuple(o.shape)}. Reduce it first (e.g. out.sum()) or "
                    "pass gradient=cr.ones_like(out)."
                )
            g = _make(graph.xp_ones_like(o._data))
        elif not isinstance(g, Tensor):
            from .functional import _as_tensor

            g = _as_tensor(g, o)
        if g._data.shape != o._data.shape:
            raise ValueError(
                f"{op}: the gradient for output {i} has shape {tuple(g.shape)}, but the output "
                f"has shape {tuple(o.shape)}; they must match"
            )
        if g._data.dtype != o._data.dtype and g._node is None:
            g = _make(g._data.astype(o._data.dtype))
        roots.append(g)
    return roots


def backward(tensors: Any, grad_tensors: Any = None, retain_graph: bool | None = None,
             create_graph: bool = False, inputs: Sequence[Tensor] | None = None) -> None:
    """Accumulate d(tensors)/d(leaf) into the ``.grad`` of every leaf that requires grad.

    >>> import chainrule as cr
    >>> w = cr.tensor([2.0, 3.0], requires_grad=True)
    >>> cr.autograd.backward((w * w).sum())
    >>> w.grad
    tensor([4., 6.])
    """
    outputs = _as_list(tensors)
    roots = _grad_roots(outputs, grad_tensors, "backward")
    if retain_graph is None:
        retain_graph = create_graph
    if inputs is not None:
        inputs = _as_list(inputs)
        for i, t in enumerate(inputs):
            if not t.is_leaf:
                raise GraphError(f"backward: inputs[{i}] is not a leaf tensor; pass leaves only")
        grads = run_backward(outputs, roots, retain_graph, create_graph, targets=inputs,
                             accumulate=True)
        del grads
        return
    run_backward(outputs, roots, retain_graph, create_graph)


def grad(outputs: Any, inputs: Any, grad_outputs: Any = None, retain_graph: bool | None = None,
         create_graph: bool = False, allow_unused: bool | None = None,
         materialize_grads: bool = False) -> tuple[Tensor | None, ...]:
    """d(outputs)/d(inputs), returned rather than accumulated into ``.grad``.

    With ``create_graph=True`` the result is itself differentiable (higher-order gradients).

    >>> import chainrule as cr
    >>> x = cr.tensor(3.0, requires_grad=True)
    >>> (dy,) = cr.autograd.grad(x ** 3, x, create_graph=True)   # 3x^2 = 27
    >>> (d2y,) = cr.autograd.grad(dy, x)                          # 6x = 18
    >>> dy.item(), d2y.item()
    (27.0, 18.0)
    """
    outs = _as_list(outputs)
    ins = _as_list(inputs)
    roots = _grad_roots(outs, grad_outputs, "grad")
    if retain_graph is None:
        retain_graph = create_graph
    result = run_backward(outs, roots, retain_graph, create_graph, targets=ins, accumulate=False)
    final: list[Tensor | None] = []
    for i, (t, g) in enumerate(zip(ins, result)):
        if g is None:
            if materialize_grads:
                g = _make(graph.xp_zeros_like(t._data))
            elif not allow_unused:
                raise GraphError(
                    f"grad: input {i} (shape {tuple(t.shape)}) was not used to compute the "
                    "outputs, so it has no gradient. Pass allow_unused=True to get None for it."
                )
        elif not create_graph and g._node is not None:
            g = g.detach()
        final.append(g)
    return tuple(final)
