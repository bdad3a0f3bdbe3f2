"""``torch.special`` under chainrule: the special functions, differentiable to any order.

>>> import chainrule as cr
>>> cr.special.erf(cr.tensor([0.0]))
tensor([0.])
>>> cr.special.expit(cr.tensor([0.0]))
tensor([0.5000])
"""

from __future__ import annotations

from typing import Any

from .core import functional as _F
from .core.functional import (erf, erfc, erfinv, exp2, expit, expm1, logit, ndtr, xlog1py,
                           xlogy)
from .core.tensor import Tensor

__all__ = ["erf", "erfc", "erfinv", "exp2", "expit", "expm1", "logit", "ndtr", "xlog1py",
           "xlogy", "log1p", "softmax", "log_softmax", "logsumexp"]


def log1p(input: Any) -> Tensor:
    """log(1 + x), accurate for small x."""
    return _F.log1p(input)


def softmax(input: Any, dim: int, dtype: Any = None) -> Tensor:
    """exp(x) / sum(exp(x), dim) (``dim`` is required, as in ``torch.special.softmax``)."""
    return _F.softmax(input if dtype is None else _F.cast(input, dtype), dim)


def log_softmax(input: Any, dim: int, dtype: Any = None) -> Tensor:
    """x - logsumexp(x, dim)."""
    return _F.log_softmax(input if dtype is None else _F.cast(input, dtype), dim)


def logsumexp(input: Any, dim: Any, keepdim: bool = False) -> Tensor:
    """log(sum(exp(x), dim)), finite for large inputs."""
    return _F.logsumexp(input, dim, keepdim)
