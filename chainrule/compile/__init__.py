"""``cr.compile``: capture a whole training step once, then replay it as a static program.

>>> import chainrule as cr
>>> model = cr.nn.Linear(3, 1)
>>> opt = cr.optim.SGD(model.parameters(), lr=0.1)
>>> @cr.compile
... def step(x, y):
...     opt.zero_grad()
...     loss = ((model(x) - y) ** 2).mean()
...     loss.backward()
...     opt.step()
...     return loss
>>> x, y = cr.ones(4, 3), cr.zeros(4, 1)
>>> losses = [step(x, y) for _ in range(3)]   # two traced calls, then replays
>>> len(step.programs())
1
"""

from __future__ import annotations

import sys as _sys
import types as _types
from typing import Any, Callable

from .compiled import _BACKENDS, _MODES, CACHE_SIZE_LIMIT, CompiledFunction
from .program import Uncapturable
from .trace import GraphBreakError

__all__ = ["compile", "CompiledFunction", "GraphBreakError", "Uncapturable"]

_OPTIONS = ("cache_size_limit",)


def compile(model: Callable | None = None, *, fullgraph: bool = False, dynamic: bool | None = None,
            backend: str | Callable | None = None, mode: str | None = None,
            options: dict[str, Any] | None = None, disable: bool = False,
            **kwargs: Any) -> Any:
    """Compile ``model`` (a function or module) into a captured, replayed static program.

    PyTorch's signature (``torch.compile``); also a decorator, bare or with arguments. The
    first two calls with new argument shapes run eagerly and are traced through the ``apply``
    funnel: forward, ``loss.backward()``, ``optimizer.step()``/``zero_grad()`` and scheduler
    steps; later calls replay the program: preallocated buffers, NumPy calls with ``out=``,
    and the parameters, gradients and optimizer state in one flat buffer per dtype. The
    results are those of eager mode, bit for bit.

    - ``fullgraph=True``: a graph break (``.item()``, ``if`` on a tensor, ``.numpy()``,
      ``print``) raises :class:`GraphBreakError` naming the line; otherwise the function runs
      eagerly from then on, with one warning naming the line.
    - ``dynamic``: accepted for compatibility; chainrule always specialises on shapes (one
      variant per shape, up to ``options={"cache_size_limit": 8}``, then eager with a warning
      naming what keeps changing).
    - ``backend``: ``"inductor"`` (the default, as in PyTorch) or ``"chainrule"`` capture and
      replay; ``"eager"`` runs the function as it is.
    - ``mode``: PyTorch's mode names are accepted; chainrule has one mode.
    - ``disable=True``: returns ``model`` unchanged.

    Python side effects of the function (appending to a list, counters) happen on the traced
    calls only, as with every tracing compiler; return what you need instead.
    """
    if kwargs:
        name = next(iter(kwargs))
        raise TypeError(
            f"compile() got an unexpected keyword argument {name!r}; it accepts fullgraph, "
            "dynamic, backend, mode, options and disable (torch.compile's arguments)")
    if mode not in _MODES:
        raise RuntimeError(f"compile: unrecognized mode={mode!r}; choose from "
                           f"{', '.join(repr(m) for m in _MODES[1:])}")
    if mode is not None and options is not None:
        raise RuntimeError("compile: either mode or options can be specified, but both can't "
                           "be specified at the same time")
    if backend not in _BACKENDS:
        raise ValueError(f"compile: unknown backend {backend!r}; chainrule has 'inductor' (the "
                         "default, an alias of 'chainrule': capture and replay) and 'eager'")
    limit = CACHE_SIZE_LIMIT
    for k, v in (options or {}).items():
        if k not in _OPTIONS:
            raise ValueError(f"compile: unknown option {k!r}; chainrule's options are "
                             f"{', '.join(_OPTIONS)}")
        if not isinstance(v, int) or isinstance(v, bool) or v < 1:
            raise ValueError(f"compile: option cache_size_limit must be a positive int, got {v!r}")
        limit = v
    if not isinstance(fullgraph, bool):
        raise TypeError(f"compile: fullgraph must be a bool, got {type(fullgraph).__name__}")
    if dynamic not in (None, True, False):
        raise TypeError(f"compile: dynamic must be None, True or False, got {dynamic!r}")

    def wrap(fn: Callable) -> Any:
        if not callable(fn):
            raise TypeError(f"compile: expected a function or a module, got "
                            f"{type(fn).__name__}")
        if disable:
            return fn
        return CompiledFunction(fn, fullgraph, backend, limit, disable)

    return wrap if model is None else wrap(model)


class _CallableModule(_types.ModuleType):
    """``cr.compile`` is this package *and* the function: importing a submodule
    (``chainrule.compile.program``) makes Python bind the package to the parent's attribute,
    so the package itself must be callable as ``compile``."""

    def __call__(self, model: Callable | None = None, **kwargs: Any) -> Any:
        return compile(model, **kwargs)


_sys.modules[__name__].__class__ = _CallableModule
