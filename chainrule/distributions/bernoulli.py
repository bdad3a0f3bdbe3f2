"""``Bernoulli(probs=..., logits=...)``: one coin per element."""

from __future__ import annotations

from typing import Any

from ..backend import xp
from ..core import functional as F
from ..core.creation import _gen
from ..core.tensor import Tensor, _make
from ..nn import functional as NF
from .distribution import Distribution, broadcast_all, logits_to_probs, probs_to_logits

__all__ = ["Bernoulli"]


def _one_of(probs: Any, logits: Any, name: str) -> None:
    if (probs is None) == (logits is None):
        raise ValueError(f"{name}: give either probs or logits, not both and not neither "
                         f"(got probs={probs!r}, logits={logits!r})")


class Bernoulli(Distribution):
    """1 with probability ``probs`` (or ``sigmoid(logits)``), 0 otherwise.

    >>> import chainrule as cr
    >>> d = cr.distributions.Bernoulli(probs=cr.tensor([0.3]))
    >>> d.log_prob(cr.tensor([1.0])).item(), d.entropy().item()  # log(0.3), H(0.3)
    (-1.2039728..., 0.6108643...)
    """

    def __init__(self, probs: Any = None, logits: Any = None,
                 validate_args: bool | None = None) -> None:
        _one_of(probs, logits, "Bernoulli")
        if probs is not None:
            (self.probs,) = broadcast_all(probs)
            p = self.probs._data
            if validate_args is not False and bool(((p < 0) | (p > 1)).any()):
                raise self._invalid(f"parameter probs (Tensor of shape {p.shape})",
                                    "Interval(lower_bound=0.0, upper_bound=1.0)",
                                    self.probs.detach())
            self.logits = probs_to_logits(self.probs, is_binary=True)
        else:
            (self.logits,) = broadcast_all(logits)
            self.probs = logits_to_probs(self.logits, is_binary=True)
        self._param = self.probs if probs is not None else self.logits
        super().__init__(self._param.shape)

    @property
    def mean(self) -> Tensor:
        return self.probs

    @property
    def mode(self) -> Tensor:
        return F.cast(F.ge(self.probs, 0.5), self.probs.dtype)

    @property
    def variance(self) -> Tensor:
        return F.mul(self.probs, F.sub(1.0, self.probs))

    def sample(self, sample_shape: Any = (), generator: Any = None) -> Tensor:
        shape = self._extended_shape(sample_shape)
        p = xp.broadcast_to(self.probs._data, shape)
        return _make((_gen(generator).random(shape) < p).astype(self.probs.dtype))

    def log_prob(self, value: Tensor) -> Tensor:
        v = self._check_value(value)
        logits, v = broadcast_all(self.logits, v)
        return F.neg(NF.binary_cross_entropy_with_logits(logits, v, reduction="none"))

    def entropy(self) -> Tensor:
        return NF.binary_cross_entropy_with_logits(self.logits, self.probs, reduction="none")

    def _repr_params(self) -> list[tuple[str, Tensor]]:
        return [("probs", self.probs), ("logits", self.logits)]
