"""Hook handles: what ``register_*hook`` returns, and the hook behind ``retain_grad``."""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:  # pragma: no cover
    from .tensor_class import Tensor


class RemovableHandle:
    """What every ``register_*hook`` returns: ``handle.remove()`` unregisters the hook.

    Also a context manager: ``with x.register_hook(h): ...`` removes it on exit.
    """

    __slots__ = ("_remove",)

    def __init__(self, remove: Callable[[], None]) -> None:
        self._remove: Callable[[], None] | None = remove

    def remove(self) -> None:
        if self._remove is not None:
            self._remove()
            self._remove = None

    def __enter__(self) -> RemovableHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()


def appended(hooks: list, hook: Callable) -> RemovableHandle:
    """Append ``hook`` to ``hooks``; the handle takes that entry out again."""
    hooks.append(hook)

    def remove() -> None:
        for i, h in enumerate(hooks):
            if h is hook:
                del hooks[i]
                return

    return RemovableHandle(remove)


class RetainGrad:
    """The hook behind ``Tensor.retain_grad()``: stores the gradient on the (weakly held) tensor."""

    __slots__ = ("ref",)

    def __init__(self, t: Tensor) -> None:
        self.ref = weakref.ref(t)
