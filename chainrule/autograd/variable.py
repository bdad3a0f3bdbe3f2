"""``Variable``: PyTorch 0.3's wrapper, today (as in PyTorch 2.x) just a way to make a tensor.

``Variable(t, requires_grad=True)`` is a new leaf sharing ``t``'s memory; ``t`` itself is left
alone (it does not start requiring grad). ``isinstance(x, Variable)`` is true of every tensor.

>>> import chainrule as cr
>>> from chainrule.autograd import Variable
>>> t = cr.ones(2); v = Variable(t, requires_grad=True)
>>> v.requires_grad, t.requires_grad, v.is_leaf, isinstance(t, Variable)
(True, False, True, True)
"""

from __future__ import annotations

from typing import Any

from ..core.tensor import Tensor

__all__ = ["Variable"]


class _VariableMeta(type):
    def __instancecheck__(cls, obj: Any) -> bool:
        return isinstance(obj, Tensor)

    def __call__(cls, data: Any = None, requires_grad: bool = False,  # type: ignore[override]
                 volatile: bool = False) -> Tensor:
        if not isinstance(data, Tensor):
            raise TypeError(f"Variable(data): data must be a tensor, got "
                            f"{type(data).__name__}; use cr.tensor(data) for other data")
        return data.detach().requires_grad_(requires_grad)


class Variable(metaclass=_VariableMeta):
    """``Variable(tensor, requires_grad=False)``: a leaf sharing the tensor's memory."""
