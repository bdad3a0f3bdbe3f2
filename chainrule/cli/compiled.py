"""``chainrule train --compile``: the default recipe's training step under ``cr.compile``.

The step is the eager loop's, in its order (forward, loss, zero_grad, backward, step,
scheduler step), so a compiled run ends on the same weights, bit for bit. It is the default
where it is measured faster (DEFAULT_ON); a step that cannot be captured runs eagerly,
silently unless ``--compile`` was asked for.
"""

from __future__ import annotations

import warnings
from typing import Any, Callable

import chainrule as cr


# Measured (benchmarks/bench_compile.py, one process): the compiled step takes 0.42-0.46x the
# eager step's time for the MLP, 0.71x for the CNN; the LSTM's about 0.95x (its time is in
# the recurrent layer's own loop), so it stays eager unless --compile is given.
DEFAULT_ON = ("mlp", "cnn")


def wanted(flag: bool | None, model: str, diagnostics: Any, ranks: Any) -> bool:
    """Whether to compile: ``--compile``/``--no-compile``, else the model's default.
    Diagnostics and data-parallel runs watch every step eagerly: never compiled."""
    if diagnostics is not None or ranks is not None:
        return False
    return flag if flag is not None else model in DEFAULT_ON


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
