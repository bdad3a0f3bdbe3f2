"""Seeing the graph: print it, draw it, explain it, and diagnose training.

    cr.viz.print_graph(loss)              # one line per op, like a JAX jaxpr
    with cr.viz.record(model):            # group ops by module, keep every value
        loss = loss_fn(model(x), y)
    cr.viz.draw(loss, "step.svg", values=True, grads=True)
    cr.viz.explain(loss)                  # the chain rule, node by node, with numbers
    cr.viz.summary(model, x)              # layers, output shapes, parameter counts
    cr.viz.Diagnostics(...)               # gradient flow and saturation during training

viz depends on the core only: it reads models by duck typing (``named_parameters``,
``named_modules``, forward hooks), so it never imports ``chainrule.nn``. Its submodules are
imported on first use: ``import chainrule`` stays cheap and matplotlib loads only to draw.
"""

from __future__ import annotations

import importlib
from typing import Any

# NOTE: submodules named like the functions they define (summary, draw, explain) are imported
# here, so that the package attribute is the function: importing a submodule later (doctest
# collection does) would otherwise shadow a lazily loaded function with the module. None of
# them imports matplotlib at import time.
from .diagnostics import Diagnostics
from .explain import explain, format_explain
from .summary import ModelSummary, format_summary, summary
from .text import format_graph, print_graph
from .view import GraphView, Recording, build_view, record

# name -> submodule defining it (imported on first access)
_LAZY = {
    "to_dot": "draw", "draw": "draw", "Drawing": "draw",
}

__all__ = ["format_graph", "print_graph", "record", "Recording", "GraphView", "build_view",
           "summary", "format_summary", "ModelSummary", "Diagnostics", "explain",
           "format_explain", *_LAZY]


def __getattr__(name: str) -> Any:
    mod = _LAZY.get(name)
    if mod is None:
        raise AttributeError(f"module 'chainrule.viz' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{mod}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
