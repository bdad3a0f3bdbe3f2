"""Gradients through time, for :class:`chainrule.viz.Diagnostics`: the gradient norm at each
time step of every recurrent layer (nn.RNN, nn.LSTM, nn.GRU, one fused ``recurrent_layer``
node per layer and direction), and the verdicts on it.

The norm at step t is that of the gradient reaching step t's gate pre-activations, through
every later step: backpropagation through time multiplies it, step by step, by W_hh^T and
the activation's derivative. A factor r per step gives r^T over T steps, so a recurrent layer
whose first step gets 1/100 of what its last step gets is losing the early inputs
(vanishing), and one whose first step gets 100 times more is exploding.

The layer's backward pass reports the norms (core/primitives/recurrent.py,
``STEP_GRAD_OBSERVERS``) only while a Diagnostics is recording a step: one reduction over the
gradient it already has. Without diagnostics nothing is computed.

Measured (seed 0, medians over the later half of the recorded steps): the digits LSTM
(``train_default(Config(model="lstm", epochs=3))``, 8 rows read in turn), first step / last
1.3: healthy. A plain tanh RNN (hidden 32) reading a digit's 64 pixels one at a time, loss on
its last output, 20 Adam steps: 7e-18, about 0.53 per step: vanishing.
"""

from __future__ import annotations

import math
from typing import Any

from ..core.primitives import recurrent

#: first step's gradient norm / last step's below which gradients vanish through time
VANISHING = 1e-2
#: and above which they explode
EXPLODING = 1e2


def labels(graph: list[Any]) -> dict[Any, str]:
    """The recurrent-layer nodes of a graph, named ``lstm 1``, ``lstm 2 (reverse)``, ...
    in the order the forward pass applied them."""
    out: dict[Any, str] = {}
    counts: dict[str, int] = {}
    for n in graph:
        if n.name == "recurrent_layer":
            kind = n.mode.replace("rnn_", "rnn ")
            counts[kind] = counts.get(kind, 0) + 1
            out[n] = f"{kind} {counts[kind]}" + (" (reverse)" if n.reverse else "")
    return out


class StepGradients:
    """Collects the per-step norms of the labelled layers during one backward pass."""

    def __init__(self, named: dict[Any, str]) -> None:
        self.named = named
        self.norms: dict[str, list[float]] = {}
        recurrent.STEP_GRAD_OBSERVERS.append(self._seen)

    def _seen(self, node: Any, norms: Any) -> None:
        label = self.named.get(node)
        if label is not None:  # in processing order: a reverse layer starts at the end
            vals = [float(v) for v in norms]
            self.norms[label] = vals[::-1] if node.reverse else vals

    def close(self) -> dict[str, list[float]]:
        if self._seen in recurrent.STEP_GRAD_OBSERVERS:
            recurrent.STEP_GRAD_OBSERVERS.remove(self._seen)
        return self.norms


def first_over_last(norms: list[float]) -> float:
    """The first step's gradient norm over the last step's (NaN when undefined)."""
    if len(norms) < 2 or not norms[-1] or not all(math.isfinite(v) for v in norms):
        return math.nan
    return norms[0] / norms[-1]


def warnings(ratios: dict[str, float], steps: dict[str, int], lang: str = "en") -> list[str]:
    """One warning per recurrent layer whose gradient vanishes or explodes through time,
    with the arithmetic behind it and what to do (clipping, when it explodes)."""
    from .i18n_diag import msg, times

    out = []
    for label, r in ratios.items():
        T = steps.get(label, 0)
        if not (r == r) or T < 2:
            continue
        per = r ** (1.0 / (T - 1)) if r > 0 else 0.0
        kw = {"label": label, "T": T, "T1": T - 1, "r": r, "per": per}
        if r < VANISHING:
            many = times(1 / r) if r > 0 else msg(lang, "infinitely")
            out.append(msg(lang, "time_vanishing", times=many, **kw))
        elif r > EXPLODING:
            out.append(msg(lang, "time_exploding", times=times(r), **kw))
    return out
