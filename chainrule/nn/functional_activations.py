"""Activations, softmaxes and dropout of ``nn.functional``."""

from __future__ import annotations

import math
from typing import Any

from .. import backend as B
from ..backend import ndarray, xp
from ..core import creation
from ..core import functional as _F
from ..core.creation import Generator
from ..core.functional import ndtr
from ..core.tensor import Tensor, _make
from .functional_base import _float_input, _tensor


# ---------------------------------------------------------------------------------------------
# Activations
# ---------------------------------------------------------------------------------------------


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """max(x, 0); the gradient at 0 is 0.

    NOTE: ``inplace`` is accepted for compatibility; the result is always a new tensor.

    >>> import chainrule as cr
    >>> import chainrule.nn.functional as F
    >>> F.relu(cr.tensor([-1.0, 2.0]))
    tensor([0., 2.])
    """
    return _F.relu(input)


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """x if x > 0 else negative_slope * x.

    >>> import chainrule as cr
    >>> import chainrule.nn.functional as F
    >>> F.leaky_relu(cr.tensor([-2.0, 3.0]), 0.1)
    tensor([-0.2000,  3.0000])
    """
    x = _float_input(input, "leaky_relu")
    return _F.where(x._data > 0, x, _F.mul(x, negative_slope))


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """x if x > 0 else alpha * (e^x - 1).

    >>> import chainrule as cr
    >>> import chainrule.nn.functional as F
    >>> F.elu(cr.tensor([-1.0, 2.0]))
    tensor([-0.6321,  2.0000])
    """
    x = _float_input(input, "elu")
    pos = x._data > 0
    # NOTE: exp sees min(x, 0) only, so a large positive x cannot overflow into the unused
    # branch (whose zero gradient times inf would be nan). e^x - 1 rather than expm1: no
    # expm1 primitive; the absolute error is one ulp of 1.
    neg = _F.mul(_F.sub(_F.exp(_F.where(pos, 0.0, x)), 1.0), alpha)
    return _F.where(pos, x, neg)


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """x * sigmoid(x) (also called swish).

    >>> import chainrule as cr
    >>> import chainrule.nn.functional as F
    >>> F.silu(cr.tensor([0.0, 1.0]))
    tensor([0.0000, 0.7311])
    """
    x = _float_input(input, "silu")
    return _F.mul(x, _F.sigmoid(x))


def sigmoid(input: Tensor) -> Tensor:
    """1 / (1 + e^-x).

    >>> import chainrule as cr
    >>> import chainrule.nn.functional as F
    >>> F.sigmoid(cr.tensor([0.0]))
    tensor([0.5000])
    """
    return _F.sigmoid(input)


def tanh(input: Tensor) -> Tensor:
    """Hyperbolic tangent.

    >>> import chainrule as cr
    >>> import chainrule.nn.functional as F
    >>> F.tanh(cr.tensor([0.0]))
    tensor([0.])
    """
    return _F.tanh(input)


_GELU_TANH_C = math.sqrt(2.0 / math.pi)


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """x * Phi(x), Phi the standard normal CDF; ``approximate='tanh'`` uses
    0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).

    >>> import chainrule as cr
    >>> import chainrule.nn.functional as F
    >>> F.gelu(cr.tensor([-1.0, 0.0, 1.0]))
    tensor([-0.1587,  0.0000,  0.8413])
    """
    x = _float_input(input, "gelu")
    if approximate == "none":
        return _F.mul(x, ndtr(x))  # x Phi(x), Phi from erfc: accurate in both tails
    if approximate == "tanh":
        inner = _F.mul(_F.add(x, _F.mul(_F.mul(_F.mul(x, x), x), 0.044715)), _GELU_TANH_C)
        return _F.mul(_F.mul(x, 0.5), _F.add(_F.tanh(inner), 1.0))
    raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")


def _softmax_args(input: Any, dim: Any, dtype: Any, op: str) -> tuple[Tensor, int]:
    x = _tensor(input)
    if dtype is not None:
        x = _F.cast(x, dtype)
    x = _F._float(x, op)
    if dim is None:
        dim = 0 if x._data.ndim in (0, 1, 3) else 1  # PyTorch's legacy implicit choice
    return x, _F._dim(dim, x._data.ndim, op)


def softmax(input: Tensor, dim: int | None = None, dtype: Any = None) -> Tensor:
    """exp(x_i) / sum_j exp(x_j) along ``dim``, without overflow.

    >>> import chainrule as cr
    >>> import chainrule.nn.functional as F
    >>> F.softmax(cr.tensor([[0.0, 0.0], [0.0, 1e4]]), dim=1)
    tensor([[0.5000, 0.5000],
            [0.0000, 1.0000]])
    """
    x, d = _softmax_args(input, dim, dtype, "softmax")
    return _F.softmax(x, d)


def log_softmax(input: Tensor, dim: int | None = None, dtype: Any = None) -> Tensor:
    """x_i - log(sum_j exp(x_j)) along ``dim``: log-probabilities, finite for large inputs.

    >>> import chainrule as cr
    >>> import chainrule.nn.functional as F
    >>> F.log_softmax(cr.tensor([[0.0, 0.0]]), dim=1)
    tensor([[-0.6931, -0.6931]])
    """
    x, d = _softmax_args(input, dim, dtype, "log_softmax")
    return _F.log_softmax(x, d)


def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False,
            generator: Generator | None = None) -> Tensor:
    """x * mask / (1 - p) with mask ~ Bernoulli(1 - p) in training; x unchanged otherwise.

    The mask comes from ``generator`` (default: the global one that cr.manual_seed resets).

    >>> import chainrule as cr
    >>> import chainrule.nn.functional as F
    >>> g = cr.Generator().manual_seed(0)
    >>> y = F.dropout(cr.ones(1000), 0.5, generator=g)
    >>> sorted(set(y.tolist()))
    [0.0, 2.0]
    >>> F.dropout(cr.ones(3), 0.5, training=False).tolist()
    [1.0, 1.0, 1.0]
    """
    if not isinstance(p, (int, float)) or not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout: p must be a probability in [0, 1], got {p!r}")
    if not training or p == 0:
        return input
    x = _float_input(input, "dropout")
    dt = x._data.dtype
    if p == 1:
        mask = xp.zeros(x._data.shape, dt)
    else:
        mask = _dropout_mask(x._data.shape, dt, p, generator)
    return _F.mul(x, _make(mask))


def _dropout_mask(shape: tuple[int, ...], dt: Any, p: float, generator: Any) -> ndarray:
    """Bernoulli(1 - p) / (1 - p) from ``generator`` (default: the global one); a function of
    its own so that cr.compile replays it, drawing the same numbers eager mode would."""
    rng = (generator if generator is not None else creation.default_generator).rng
    u = rng.random(shape, dtype=dt if dt in (B.float32, B.float64) else B.float32)
    mask = (u >= p).astype(dt)
    mask *= 1.0 / (1.0 - p)
    return mask
