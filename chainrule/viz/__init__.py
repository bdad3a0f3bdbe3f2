"""Seeing the graph: print it, draw it, explain it, and diagnose training.

    cr.viz.print_graph(loss)              # one line per op, like a JAX jaxpr
    with cr.viz.record(model):            # group ops by module, keep every value
        loss = loss_fn(model(x), y)
    cr.viz.draw(loss, "step.svg", values=True, grads=True)
    cr.viz.draw(loss, unroll=True)        # nn.RNN/LSTM/GRU one box per time step (depth=2 too)
    cr.viz.explain(loss)                  # the chain rule, node by node, with numbers
    cr.viz.stepper(loss).save("step.html") # the same, played one op at a time in a browser
    cr.viz.summary(model, x)              # layers, output shapes, parameter counts
    cr.viz.Diagnostics(...)               # gradient flow and saturation during training

viz depends on the core only: it reads models by duck typing (``named_parameters``,
``named_modules``, forward hooks), so it never imports ``chainrule.nn``. Its submodules are
imported with the package (``chainrule.viz`` itself is loaded on first use of ``cr.viz``);
matplotlib and grandalf load only when something is drawn.
"""

from __future__ import annotations

# NOTE: submodules named like the functions they define (summary, draw, explain) are imported
# here, so that the package attribute is the function: importing a submodule later (doctest
# collection does) would otherwise shadow a lazily loaded function with the module. None of
# them imports matplotlib at import time.
from .diagnostics import Diagnostics
from .draw import Drawing, draw, to_dot
from .explain import explain, format_explain
from .stepper import Stepper, stepper
from .summary import ModelSummary, format_summary, summary
from .text import format_graph, print_graph
from .view import GraphView, Recording, build_view, record

__all__ = ["format_graph", "print_graph", "record", "Recording", "GraphView", "build_view",
           "summary", "format_summary", "ModelSummary", "Diagnostics", "explain",
           "format_explain", "to_dot", "draw", "Drawing", "stepper", "Stepper"]

