"""``cr.autograd``: gradients as functions, custom Functions, and gradient checking.

>>> import chainrule as cr
>>> x = cr.tensor([1.0, 2.0], requires_grad=True)
>>> cr.autograd.grad((x * x).sum(), x)
(tensor([2., 4.]),)
"""

from typing import Any

from ..core.autograd import backward, grad
from ..core.function import Function, FunctionCtx, once_differentiable
from ..core.graph import enable_grad, inference_mode, no_grad, set_grad_enabled
from ..testing import GradcheckError, gradcheck, gradgradcheck
from . import function
from .variable import Variable

__all__ = ["backward", "grad", "gradcheck", "gradgradcheck", "GradcheckError", "Function",
           "FunctionCtx", "once_differentiable", "functional", "function", "Variable",
           "no_grad", "enable_grad", "set_grad_enabled", "inference_mode"]


def __getattr__(name: str) -> Any:
    # NOTE: cr.autograd.functional loads on first use (import cost of `import chainrule`).
    if name == "functional":
        import importlib

        return importlib.import_module("chainrule.autograd.functional")
    from ..core.compat import attribute_hook

    return attribute_hook(__name__)(name)
