"""Backpropagation explained on a small graph: the forward pass and the chain rule, node by
node, with the numbers.

    with cr.viz.record():                  # keep every intermediate value
        z1 = X @ W1 + b1
        ...
        loss = 0.5 * (output - y) ** 2
    cr.viz.explain(loss, names={"X": X, "W1": W1, "z1": z1, ...})

The walkthrough has three parts:

- **Forward pass**: every op in the order it ran, as ``z1 = add(t1, b1)``, with its value.
- **Backward pass**: the ops in reverse order. Each receives ``G = dL/d(its output)`` from
  the engine, and the walkthrough shows the op's local derivative in symbols (the table
  :data:`DERIVATIVES`, one entry per primitive), the numbers multiplied, and the gradient
  that reaches each input. A gradient summed back to the shape of a broadcast input, and the
  gradients of a tensor used by several ops adding up, are shown as steps of their own.
- **Gradients of the leaves**: what ``loss.backward()`` puts in ``.grad``.

Nothing here differentiates anything itself: the gradient of every node comes from the
engine (:func:`chainrule.viz.view.node_grads`), and the per-input breakdown of a step is the
node's own ``vjp`` applied to that gradient, only for display.

The pieces: :mod:`~chainrule.viz.derivatives` (the table of local derivatives),
:mod:`~chainrule.viz.walkthrough` (the walkthrough as data), :mod:`~chainrule.viz.explain_text`
(as text); this module holds the public functions and the tutorial's network.
"""

from __future__ import annotations

from typing import Any, Mapping

from ..backend import xp
from ..core import functional as F
from ..core.tensor import Tensor
from .derivatives import DERIVATIVES, Rule, rule_for  # noqa: F401
from .explain_text import _Formatter, _place
from .i18n import check_lang, message
from .view import record
from .walkthrough import (Contribution, Explanation, LeafGrad, Operand, Step,  # noqa: F401
                          build_explanation)

__all__ = ["explain", "format_explain", "build_explanation", "Explanation", "Rule",
           "DERIVATIVES", "tutorial_network", "format_tutorial", "TUTORIAL_NOTES"]


# ---------------------------------------------------------------------------------------------
# Public functions
# ---------------------------------------------------------------------------------------------


def format_explain(loss: Tensor, names: Mapping[str, Tensor] | None = None, model: Any = None,
                   max_nodes: int = 60, *, notes: Mapping[str, str] | None = None,
                   digits: int = 4, max_elements: int = 16, width: int = 100,
                   lang: str = "en", unroll: bool | int = True) -> str:
    """Backpropagation from ``loss``, node by node with the numbers, as text.

    The graph must have been built inside ``with cr.viz.record():`` (which keeps every
    intermediate value) and not yet freed by ``backward()``. ``names`` names tensors as the
    program does (``{"X": X, "W1": W1, "z1": z1}``): inputs, parameters and intermediate
    results; parameters of ``model`` (or of a model given to ``record``) get their dotted
    names, and the rest ``t1, t2, ...``. ``notes`` adds a line of text where dL/d``name``
    is computed. Arrays with more than ``max_elements`` elements are summarised; numbers
    have ``digits`` significant digits. A graph of more than ``max_nodes`` nodes is refused.
    ``lang="zh"`` writes the walkthrough in Chinese (the tutorial's terms): the prose of
    the local derivatives and of ``notes`` too (:data:`chainrule.viz.i18n.TRANSLATIONS`);
    formulas stay formulas. A recurrent layer (nn.RNN, nn.LSTM, nn.GRU, one fused op) is
    unrolled in time at its backward step: dL/dh_t of every step, as what arrives from the
    output plus what the next step sends back, each step's share of the repeated weights'
    gradients, and those gradients as the sums they are (``unroll=k``: only the first and
    last ``k`` steps of a long sequence are written out; ``unroll=False``: one step).

    >>> import chainrule as cr
    >>> w = cr.tensor([2.0], requires_grad=True)
    >>> with cr.viz.record():
    ...     y = (w * 3.0).sum()
    >>> text = format_explain(y, names={"w": w, "y": y})
    >>> print(text.splitlines()[-1])
      w.grad = dL/dw = [3]
    """
    check_lang(lang, "explain")
    ex = build_explanation(loss, names, model, max_nodes, notes=notes, digits=digits,
                           max_elements=max_elements, unroll=unroll)
    return ex.format(width, lang)


def explain(loss: Tensor, names: Mapping[str, Tensor] | None = None, model: Any = None,
            max_nodes: int = 60, **kwargs: Any) -> None:
    """Print :func:`format_explain` of ``loss``."""
    print(format_explain(loss, names, model, max_nodes, **kwargs))


# ---------------------------------------------------------------------------------------------
# The tutorial's 2-2-1 network
# ---------------------------------------------------------------------------------------------

#: Where the tutorial's hand-derived deltas appear in the walkthrough (d_v is dL/dv).
TUTORIAL_NOTES = {
    "output": "tutorial: d_output = output - y   (here dL/dt3 = 0.5 * 2 * t3, and t3 = output - y)",
    "z2": "tutorial: d_z2 = d_output * output * (1 - output) "
          "= (output - y) * output * (1 - output)",
    "a1": "tutorial: d_a1 = np.dot(d_z2, W2.T)",
    "W2": "tutorial: d_W2 = np.dot(a1.T, d_z2)",
    "z1": "tutorial: d_z1 = d_a1 * a1 * (1 - a1)",
    "W1": "tutorial: d_W1 = np.dot(X.T, d_z1)",
}


def tutorial_network() -> dict[str, Tensor]:
    """The tutorial's 2-2-1 sigmoid network and its loss, built inside :func:`record`.

    Returns the tensors by the tutorial's names: X, W1, b1, W2, b2, z1, a1, z2, output, y,
    loss (``0.5 * (output - y) ** 2``, shape (1, 1)). W1 and W2 require grad (the tutorial
    updates only them), in float64 as the tutorial's NumPy arrays.

    >>> t = tutorial_network()
    >>> round(t["output"].item(), 8)
    0.78456671
    """
    from ..core.creation import tensor

    with record():
        X = tensor(xp.array([[0.5, 1.2]]))
        W1 = tensor(xp.array([[0.4, 0.3], [0.2, 0.7]]), requires_grad=True)
        b1 = tensor(xp.array([[0.1, 0.2]]))
        W2 = tensor(xp.array([[0.6], [0.8]]), requires_grad=True)
        b2 = tensor(xp.array([[0.3]]))
        y = tensor(xp.array([[1.0]]))
        z1 = X @ W1 + b1
        a1 = F.sigmoid(z1)
        z2 = a1 @ W2 + b2
        output = F.sigmoid(z2)
        loss = 0.5 * (output - y) ** 2
    return {"X": X, "W1": W1, "b1": b1, "W2": W2, "b2": b2, "z1": z1, "a1": a1, "z2": z2,
            "output": output, "y": y, "loss": loss}


def format_tutorial(lr: float = 0.1, width: int = 100, lang: str = "en") -> str:
    """The walkthrough of the tutorial's 2-2-1 network, then its step of gradient descent,
    in ``lang`` (``"en"`` or ``"zh"``).

    The gradients are checked twice on the way: they equal what ``loss.backward()`` puts in
    ``.grad``, and what the tutorial's own hand-derived NumPy formulas give.
    """
    from ..core.graph import no_grad

    check_lang(lang, "explain")
    t = tutorial_network()
    ex = build_explanation(t["loss"], t, notes=TUTORIAL_NOTES)
    text = ex.format(width, lang)
    loss, W1, W2 = t["loss"], t["W1"], t["W2"]
    w1, w2 = W1._data.copy(), W2._data.copy()
    loss.backward()
    g1, g2 = W1.grad._data, W2.grad._data  # type: ignore[union-attr]
    explained = {leaf.name: leaf.grad for leaf in ex.leaves}
    same = xp.array_equal(explained["W1"], g1) and xp.array_equal(explained["W2"], g2)
    # the tutorial's own formulas, in NumPy, on the same arrays
    X, a1, out = t["X"]._data, t["a1"]._data, t["output"]._data
    d_output = out - t["y"]._data
    d_z2 = d_output * out * (1 - out)
    d_W2 = xp.dot(a1.T, d_z2)
    d_a1 = xp.dot(d_z2, w2.T)
    d_z1 = d_a1 * a1 * (1 - a1)
    d_W1 = xp.dot(X.T, d_z1)
    diff = max(float(abs(d_W1 - g1).max()), float(abs(d_W2 - g2).max()))
    with no_grad():  # the tutorial's update, on the tensors
        W2 -= lr * W2.grad  # type: ignore[operator]
        W1 -= lr * W1.grad  # type: ignore[operator]

    fmt8, fmt4 = _Formatter(8, 16), _Formatter(4, 16)
    lines = ["", message("tut_checks", lang), ""]
    lines.append(message("tut_grads", lang,
                         verdict=message("tut_same" if same else "tut_different", lang)))
    lines.append(message("tut_hand", lang, diff=f"{diff:.1e}"))
    lines += ["", message("tut_descent", lang, lr=f"{lr:g}"),
              "", f"  loss = 0.5 * (output - y)^2 = {loss.item():.8f}"]
    for name, old, g, new in (("W2", w2, g2, W2), ("W1", w1, g1, W1)):
        lines.append("")
        lines.append(f"  {name} -= {lr:g} * d_{name}")
        lines.extend(_place(f"  {name} = ", f"{fmt8(old)} - {lr:g} * {fmt4(g)}", width))
        lines.extend(_place(f"  {' ' * len(name)} = ", fmt8(new._data), width))
    return text + "\n" + "\n".join(lines)
