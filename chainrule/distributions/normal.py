"""``Normal(loc, scale)``: the Gaussian, with a reparameterized sampler."""

from __future__ import annotations

import math
from typing import Any

from ..core import functional as F
from ..core.creation import _gen
from ..core.tensor import Tensor, _make
from .distribution import Distribution, broadcast_all

__all__ = ["Normal"]

_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


class Normal(Distribution):
    """N(loc, scale^2), elementwise over the broadcast shape of ``loc`` and ``scale``.

    >>> import chainrule as cr
    >>> d = cr.distributions.Normal(0.0, 1.0)
    >>> d.log_prob(cr.tensor(0.5)), d.entropy()
    (tensor(-1.0439), tensor(1.4189))
    """

    has_rsample = True

    def __init__(self, loc: Any, scale: Any, validate_args: bool | None = None) -> None:
        self.loc, self.scale = broadcast_all(loc, scale)
        if validate_args is not False and bool((self.scale._data <= 0).any()):
            raise self._invalid(f"parameter scale (Tensor of shape {tuple(self.scale.shape)})",
                                "GreaterThan(lower_bound=0.0)", self.scale.detach())
        super().__init__(self.loc.shape)

    @property
    def mean(self) -> Tensor:
        return self.loc

    @property
    def mode(self) -> Tensor:
        return self.loc

    @property
    def stddev(self) -> Tensor:
        return self.scale

    @property
    def variance(self) -> Tensor:
        return F.mul(self.scale, self.scale)

    def rsample(self, sample_shape: Any = (), generator: Any = None) -> Tensor:
        """loc + scale * eps with eps ~ N(0, 1): differentiable in loc and scale."""
        shape = self._extended_shape(sample_shape)
        eps = _make(_gen(generator).standard_normal(shape).astype(self.loc.dtype))
        return F.add(self.loc, F.mul(eps, self.scale))

    def log_prob(self, value: Tensor) -> Tensor:
        v = self._check_value(value)
        var = F.mul(self.scale, self.scale)
        d = F.sub(v, self.loc)
        return F.sub(F.sub(F.div(F.neg(F.mul(d, d)), F.mul(var, 2.0)), F.log(self.scale)),
                     _HALF_LOG_2PI)

    def entropy(self) -> Tensor:
        return F.add(F.log(self.scale), 0.5 + _HALF_LOG_2PI)

    def _repr_params(self) -> list[tuple[str, Tensor]]:
        return [("loc", self.loc), ("scale", self.scale)]
