"""Module hooks: the hooked call path of ``Module.__call__`` and hook registration.

``Module.__call__`` takes this path only on an instance with hooks (``module._hooked``), so
the plain call stays one attribute test and ``forward``.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any

from ..core import graph
from ..core.graph import RemovableHandle
from ..core.hooks import module_backward_hook_call

if TYPE_CHECKING:
    from .module import Module

_hook_ids = itertools.count()
_HOOK_STORES = ("_forward_pre_hooks", "_forward_hooks", "_backward_hooks", "_backward_pre_hooks")


def call_with_hooks(module: Module, args: tuple, kwargs: dict) -> Any:
    """``module(*args, **kwargs)`` on a module with hooks: the forward pre-hooks, the
    backward hooks' wiring, ``forward``, the forward hooks."""
    d = module.__dict__
    for hook, with_kwargs in list(d.get("_forward_pre_hooks", {}).values()):
        if with_kwargs:
            r = hook(module, args, kwargs)
            if r is not None:
                if not (isinstance(r, tuple) and len(r) == 2):
                    raise RuntimeError(
                        f"forward pre-hook {hook!r} of {type(module).__name__} was registered "
                        "with with_kwargs=True: it must return None or (args, kwargs), got "
                        f"{type(r).__name__}"
                    )
                args, kwargs = r
        else:
            r = hook(module, args)
            if r is not None:
                args = r if isinstance(r, tuple) else (r,)
    call = None
    bw = d.get("_backward_hooks")
    bw_pre = d.get("_backward_pre_hooks")
    if (bw or bw_pre) and graph._grad_enabled:
        call = module_backward_hook_call(module, list(bw.values()) if bw else [],
                                         list(bw_pre.values()) if bw_pre else [])
        args = call.setup_inputs(args)
    out = module.forward(*args, **kwargs)
    for hook, with_kwargs in list(d.get("_forward_hooks", {}).values()):
        r = hook(module, args, kwargs, out) if with_kwargs else hook(module, args, out)
        if r is not None:
            out = r
    if call is not None:
        out = call.setup_outputs(out)
    return out



def add_hook(module: Module, store: str, key: int, hook: Any, value: Any,
             prepend: bool) -> RemovableHandle:
    """Register ``value`` under ``key`` in the hook store ``store`` (first with
    ``prepend``); the handle removes it."""
    if not callable(hook):
        raise TypeError(f"{store.strip('_')}: the hook must be callable, got "
                        f"{type(hook).__name__}")
    d = module.__dict__
    hooks = d.get(store) or {}
    d[store] = {key: value, **hooks} if prepend else {**hooks, key: value}
    d["_hooked"] = True

    def remove() -> None:
        cur = d.get(store)
        if cur is not None:
            cur.pop(key, None)
        d["_hooked"] = any(d.get(s) for s in _HOOK_STORES)

    return RemovableHandle(remove)

