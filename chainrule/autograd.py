"""``cr.autograd``: gradients as functions, and gradient checking.

>>> import chainrule as cr
>>> x = cr.tensor([1.0, 2.0], requires_grad=True)
>>> cr.autograd.grad((x * x).sum(), x)
(tensor([2., 4.]),)
"""

from .core.autograd import backward, grad
from .testing import GradcheckError, gradcheck, gradgradcheck

__all__ = ["backward", "grad", "gradcheck", "gradgradcheck", "GradcheckError"]
