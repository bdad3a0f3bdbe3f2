"""A keyword argument chainrule does not take: a NotImplementedError that names the API.

``torch.zeros(3, layout=torch.strided)`` or ``nn.Linear(2, 3, biass=False)`` would otherwise
end in Python's bare ``TypeError: got an unexpected keyword argument``. :func:`guard` wraps a
function (or a class's ``__init__``) so that exactly that error, raised while Python binds the
arguments and not from inside the call, becomes an :class:`UnsupportedKeywordError` (both a
NotImplementedError and a TypeError) that names the PyTorch API, the keyword, the arguments
chainrule does take, and a close one if the keyword looks like a typo.

>>> import chainrule as cr
>>> try:
...     cr.nn.Linear(2, 3, biass=False)
... except UnsupportedKeywordError as e:
...     print(str(e).split(";")[-1])
 did you mean bias?
"""

from __future__ import annotations

import functools
import inspect
import re
import types
from typing import Any, Callable

__all__ = ["UnsupportedKeywordError", "guard", "guard_module"]

_UNEXPECTED = re.compile(r"got an unexpected keyword argument '(\w+)'")


class UnsupportedKeywordError(NotImplementedError, TypeError):
    """A keyword argument (PyTorch's, or a typo) that this chainrule function does not take."""


def _message(fn: Callable[..., Any], api: str, keyword: str) -> str:
    from .suggest import close_names

    try:
        params = [p.name for p in inspect.signature(fn).parameters.values()
                  if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD) and p.name != "self"]
    except (TypeError, ValueError):
        params = []
    near = close_names(keyword, params)
    return (f"{api}(...) got the keyword argument {keyword!r}, which chainrule does not support "
            f"(if PyTorch has it, chainrule does not implement it)"
            + (f"; the arguments are {', '.join(params)}" if params else "")
            + (f"; did you mean {', '.join(near)}?" if near else ""))


def guard(fn: Callable[..., Any], api: str) -> Callable[..., Any]:
    """``fn``, refusing unknown keywords with an :class:`UnsupportedKeywordError`."""
    if getattr(fn, "__chainrule_guarded__", False):
        return fn

    @functools.wraps(fn)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except TypeError as e:
            # NOTE: raised while binding the arguments when no frame of fn's own follows ours.
            tb = e.__traceback__
            m = _UNEXPECTED.search(str(e))
            if m is None or tb is None or tb.tb_next is not None:
                raise
            raise UnsupportedKeywordError(_message(fn, api, m.group(1))) from None

    guarded.__chainrule_guarded__ = True  # type: ignore[attr-defined]
    return guarded


def guard_module(module: types.ModuleType | str, api_prefix: str, names: Any = None) -> None:
    """Guard the functions and classes (their ``__init__``) that ``module`` (or the module of
    that name) defines and lists in ``names`` (default: its ``__all__``); ``api_prefix`` is its
    PyTorch name."""
    if isinstance(module, str):
        import sys

        module = sys.modules[module]
    for name in names if names is not None else getattr(module, "__all__", ()):
        obj = module.__dict__.get(name)
        if obj is None or not getattr(obj, "__module__", "").startswith("chainrule"):
            continue
        if inspect.isclass(obj):
            init = obj.__dict__.get("__init__")
            if init is not None and inspect.isfunction(init):
                obj.__init__ = guard(init, f"{api_prefix}.{name}")  # type: ignore[misc]
        elif inspect.isfunction(obj):
            setattr(module, name, guard(obj, f"{api_prefix}.{name}"))
