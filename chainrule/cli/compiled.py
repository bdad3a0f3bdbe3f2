"""``chainrule train --compile``: the default recipe's training step under ``cr.compile``.

The step is the eager loop's, in its order (forward, loss, zero_grad, backward, step,
scheduler step), so a compiled run ends on the same weights, bit for bit. It is the default
for the MLP, where it is measured faster (benchmarks/bench_compile.py); a model whose step
cannot be captured (batch norm in training mode, dropout) runs eagerly, silently unless
``--compile`` was asked for.
"""

from __future__ import annotations

import warnings
from typing import Any, Callable

import chainrule as cr


def wanted(flag: bool | None, model: str, diagnostics: Any, ranks: Any) -> bool:
    """Whether to compile: ``--compile``/``--no-compile``, else the MLP's default (on).
    Diagnostics and data-parallel runs watch every step eagerly: never compiled."""
    if diagnostics is not None or ranks is not None:
        return False
    return flag if flag is not None else model == "mlp"


def training_step(model: Any, loss_fn: Any, opt: Any, sched: Any,
                  quiet: bool) -> Callable[[Any, Any], tuple[Any, Any]]:
    """``step(xb, yb) -> (loss, logits)``, compiled; ``quiet``: no warning if it falls back."""

    def step(xb: Any, yb: Any) -> tuple[Any, Any]:
        logits = model(xb)
        loss = loss_fn(logits, yb)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if sched is not None:
            sched.step()
        return loss, logits

    compiled = cr.compile(step)
    if not quiet:
        return compiled

    def silent(xb: Any, yb: Any) -> tuple[Any, Any]:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="cr.compile", category=UserWarning)
            return compiled(xb, yb)

    return silent
