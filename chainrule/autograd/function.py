"""``cr.autograd.function``: where PyTorch keeps ``Function``, ``FunctionCtx`` and
``once_differentiable`` (so ``from torch.autograd.function import once_differentiable`` runs).
"""

from ..core.function import BackwardFunction, Function, FunctionCtx, once_differentiable

__all__ = ["Function", "FunctionCtx", "BackwardFunction", "once_differentiable"]
