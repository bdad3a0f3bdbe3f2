"""The special functions PyTorch has as ``torch.*`` and ``torch.special.*``: erf and its
relatives (primitives: :mod:`chainrule.core.primitives.special`), and composites built
on them and on the elementwise ops (logit, xlogy, ndtr, ...).

``cr.special`` (``chainrule/special.py``) collects them under PyTorch's ``torch.special``
names; the ones PyTorch also has at the top level (``torch.erf``) are ``cr.erf`` and the
tensor method ``x.erf()`` as well.
"""

from __future__ import annotations

import math
from typing import Any

from ...backend import xp
from ..graph import apply
from ..primitives import special as S
from ..tensor_class import Tensor, _make
from .convert import _float, _pair, cast
from .elementwise import clamp, log, log1p, mul, neg, pow, sigmoid, sub, where

_SQRT1_2 = math.sqrt(0.5)


def erf(input: Any) -> Tensor:
    """The error function 2/sqrt(pi) * integral_0^x exp(-t^2) dt (to float64 rounding).

    >>> import chainrule as cr
    >>> cr.erf(cr.tensor([0.0, 1.0], dtype=cr.float64))
    tensor([0.0000, 0.8427], dtype=torch.float64)
    """
    return apply(S.Erf(), _float(input, "erf"))


def erfc(input: Any) -> Tensor:
    """1 - erf(x), accurate in the tail (erfc(10) = 2.1e-45, not 0)."""
    return apply(S.Erfc(), _float(input, "erfc"))


def erfinv(input: Any) -> Tensor:
    """The inverse of erf on (-1, 1); +-inf at +-1 and nan outside [-1, 1], as in PyTorch."""
    return apply(S.Erfinv(), _float(input, "erfinv"))


def expm1(input: Any) -> Tensor:
    """e^x - 1, accurate for small x."""
    return apply(S.Expm1(), _float(input, "expm1"))


def exp2(input: Any) -> Tensor:
    """2^x."""
    return pow(2.0, _float(input, "exp2"))


def ndtr(input: Any) -> Tensor:
    """The standard normal CDF Phi(x) = erfc(-x / sqrt(2)) / 2, accurate in both tails."""
    x = _float(input, "ndtr")
    return mul(erfc(mul(x, -_SQRT1_2)), 0.5)


def expit(input: Any) -> Tensor:
    """The logistic sigmoid 1 / (1 + e^-x) (``torch.special.expit``)."""
    return sigmoid(input)


def logit(input: Any, eps: float | None = None) -> Tensor:
    """log(p / (1 - p)); with ``eps``, p is first clamped to [eps, 1 - eps] (gradient 0
    outside), as in PyTorch.

    >>> import chainrule as cr
    >>> cr.logit(cr.tensor([0.5]))
    tensor([0.])
    """
    p = _float(input, "logit")
    if eps is not None:
        p = clamp(p, eps, 1.0 - eps)
    return sub(log(p), log1p(neg(p)))


def _xlog(input: Any, other: Any, op: str, pole: float, log_fn: Any) -> Tensor:
    """input * log_fn(other), 0 where input == 0 and other is at or beyond the log's pole."""
    x, y = _pair(input, other)
    x, y = _float(x, op), _float(y, op)
    if x._data.dtype != y._data.dtype:
        dt = xp.promote_types(x._data.dtype, y._data.dtype)
        x, y = cast(x, dt), cast(y, dt)
    # NOTE: where x == 0 and the log is -inf or nan (other <= pole), a finite stand-in is
    # taken, so that neither the forward (0 * -inf) nor the backward (0 * inf) makes a nan:
    # PyTorch's formula, which masks the same places (d/dx is log_fn(other) elsewhere, also
    # at x == 0).
    zero = (x._data == 0) & (y._data <= pole)
    if zero.any():
        y = where(_make(zero), pole + 1.0, y)
    return mul(x, log_fn(y))


def xlogy(input: Any, other: Any) -> Tensor:
    """input * log(other), 0 where input is 0 and other <= 0.

    >>> import chainrule as cr
    >>> cr.xlogy(cr.tensor([0.0, 2.0]), cr.tensor([0.0, 1.0]))
    tensor([0., 0.])
    """
    return _xlog(input, other, "xlogy", 0.0, log)


def xlog1py(input: Any, other: Any) -> Tensor:
    """input * log1p(other), 0 where input is 0 and other <= -1."""
    return _xlog(input, other, "xlog1py", -1.0, log1p)

