"""``Categorical(probs=..., logits=...)``: one of K categories per batch element."""

from __future__ import annotations

from typing import Any

from .. import backend as B
from ..backend import xp
from ..core import functional as F
from ..core.compat import Size
from ..core.random_extra import multinomial
from ..core.tensor import Tensor, _make
from .bernoulli import _one_of
from .distribution import Distribution, probs_to_logits

__all__ = ["Categorical"]


class Categorical(Distribution):
    """Categories 0..K-1 with weights ``probs`` (normalised over the last dim) or
    ``logits`` (unnormalised log-weights); ``batch_shape`` is the parameter's shape without
    its last dim.

    >>> import chainrule as cr
    >>> d = cr.distributions.Categorical(probs=cr.tensor([0.2, 0.3, 0.5]))
    >>> d.log_prob(cr.tensor([0, 2])), d.entropy()
    (tensor([-1.6094, -0.6931]), tensor(1.0297))
    """

    has_enumerate_support = True

    def __init__(self, probs: Any = None, logits: Any = None,
                 validate_args: bool | None = None) -> None:
        _one_of(probs, logits, "Categorical")
        param = F._float(F._as_tensor(probs if probs is not None else logits), "Categorical")
        if param.ndim < 1:
            raise ValueError(f"Categorical: {'probs' if probs is not None else 'logits'} must "
                             "have at least one dim (the categories), got a 0-d tensor")
        if probs is not None:
            a = param._data
            if validate_args is not False and (bool((a < 0).any()) or
                                               bool((a.sum(-1) <= 0).any())):
                raise self._invalid(f"parameter probs (Tensor of shape {a.shape})",
                                    "Simplex() (non-negative, with a positive sum)",
                                    param.detach())
            self.probs = F.div(param, F.sum(param, -1, keepdim=True))
            self.logits = probs_to_logits(self.probs)
        else:
            self.logits = F.sub(param, F.logsumexp(param, -1, keepdim=True))
            self.probs = F.softmax(self.logits, -1)
        self._param = self.probs if probs is not None else self.logits
        self._num_events = param.shape[-1]
        super().__init__(param.shape[:-1])

    @property
    def param_shape(self) -> tuple[int, ...]:
        return self._param.shape

    @property
    def mean(self) -> Tensor:
        return _make(xp.full(self._extended_shape(), xp.nan, self.probs.dtype))

    @property
    def variance(self) -> Tensor:
        return self.mean

    @property
    def mode(self) -> Tensor:
        return F.argmax(self.probs, -1)

    def sample(self, sample_shape: Any = (), generator: Any = None) -> Tensor:
        shape = tuple(self._extended_shape(sample_shape))
        n = 1
        for s in shape[:len(shape) - len(self.batch_shape)]:
            n *= s
        rows = _make(self.probs._data.reshape(-1, self._num_events))
        draws = multinomial(rows, n, True, generator=generator)._data  # (batch, n)
        return _make(xp.ascontiguousarray(draws.T).reshape(shape))

    def log_prob(self, value: Tensor) -> Tensor:
        v = self._check_value(value)
        a = v._data
        if a.dtype.kind == "f":
            if not bool((a == xp.floor(a)).all()):
                raise self._support_error(v)
            a = a.astype(B.int64)
        if a.size and (a.min() < 0 or a.max() >= self._num_events):
            raise self._support_error(v)
        shape = xp.broadcast_shapes(a.shape, tuple(self.batch_shape))
        idx = _make(xp.broadcast_to(a, shape)[..., None].astype(B.int64))
        logits = F.broadcast_to(self.logits, shape + (self._num_events,))
        return F.squeeze(F.gather(logits, -1, idx), -1)

    def _support_error(self, v: Tensor) -> ValueError:
        return ValueError(
            f"Expected value argument (Tensor of shape {tuple(v.shape)}) to be within the "
            f"support (IntegerInterval(lower_bound=0, upper_bound={self._num_events - 1})) of "
            f"the distribution {self!r}, but found invalid values:\n{v}")

    def entropy(self) -> Tensor:
        lo = float(xp.finfo(self.logits.dtype).min)
        return F.neg(F.sum(F.mul(F.clamp(self.logits, min=lo), self.probs), -1))

    def enumerate_support(self, expand: bool = True) -> Tensor:
        k = self._num_events
        vals = xp.arange(k, dtype=B.int64).reshape((k,) + (1,) * len(self.batch_shape))
        if expand:
            vals = xp.ascontiguousarray(xp.broadcast_to(vals, (k,) + tuple(self.batch_shape)))
        return _make(vals)

    def __repr__(self) -> str:
        name = "probs" if self._param is self.probs else "logits"
        return f"Categorical({name}: {Size(self._param.shape)!r})"
