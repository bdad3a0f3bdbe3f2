"""The base of ``cr.distributions``: shapes, sampling and argument checks, as PyTorch's."""

from __future__ import annotations

from typing import Any

from ..backend import xp
from ..core import functional as F
from ..core.creation import tensor
from ..core.compat import Size
from ..core.dtypes import get_default_dtype
from ..core.tensor import Tensor

__all__ = ["Distribution", "broadcast_all", "logits_to_probs", "probs_to_logits"]


def broadcast_all(*values: Any) -> tuple[Tensor, ...]:
    """The parameters as tensors of one dtype and one broadcast shape (numbers become the
    dtype of the tensor arguments, or the default float dtype)."""
    like = next((v for v in values if isinstance(v, Tensor)), None)
    dt = like.dtype if like is not None and like.is_floating_point() else get_default_dtype()
    ts = [(F.cast(v, dt) if v.dtype != dt else v) if isinstance(v, Tensor)
          else tensor(float(v), dtype=dt) for v in values]
    shape = xp.broadcast_shapes(*(t.shape for t in ts))
    return tuple(t if t.shape == shape else F.broadcast_to(t, shape) for t in ts)


def probs_to_logits(probs: Tensor, is_binary: bool = False) -> Tensor:
    """log(p) (or log(p / (1 - p)) for binary), with p clamped away from 0 and 1 by the dtype's
    eps, as PyTorch does."""
    eps = float(xp.finfo(probs.dtype).eps)
    p = F.clamp(probs, eps, 1 - eps)
    return F.sub(F.log(p), F.log1p(F.neg(p))) if is_binary else F.log(p)


def logits_to_probs(logits: Tensor, is_binary: bool = False) -> Tensor:
    return F.sigmoid(logits) if is_binary else F.softmax(logits, -1)


class Distribution:
    """A batch of distributions of shape ``batch_shape``, each over values of
    ``event_shape``."""

    has_rsample = False
    has_enumerate_support = False

    def __init__(self, batch_shape: Any = (), event_shape: Any = (),
                 validate_args: bool | None = None) -> None:
        self._batch_shape = Size(batch_shape)
        self._event_shape = Size(event_shape)

    @property
    def batch_shape(self) -> Size:
        return self._batch_shape

    @property
    def event_shape(self) -> Size:
        return self._event_shape

    @property
    def stddev(self) -> Tensor:
        return F.sqrt(self.variance)

    @property
    def mean(self) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} has no mean")

    @property
    def variance(self) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} has no variance")

    def _extended_shape(self, sample_shape: Any = ()) -> tuple[int, ...]:
        if isinstance(sample_shape, int):
            sample_shape = (sample_shape,)
        return tuple(sample_shape) + tuple(self._batch_shape) + tuple(self._event_shape)

    def sample(self, sample_shape: Any = ()) -> Tensor:
        """Samples of shape ``sample_shape + batch_shape + event_shape``, without gradient."""
        from ..core.graph import no_grad

        with no_grad():
            return self.rsample(sample_shape)

    def rsample(self, sample_shape: Any = ()) -> Tensor:
        raise NotImplementedError(
            f"{type(self).__name__}.rsample: this distribution has no reparameterized sampler "
            "(has_rsample is False): its samples carry no gradient. Use sample() and a "
            "score-function estimator (log_prob(sample) * reward), as REINFORCE does.")

    def sample_n(self, n: int) -> Tensor:
        return self.sample((n,))

    def log_prob(self, value: Tensor) -> Tensor:
        raise NotImplementedError

    def entropy(self) -> Tensor:
        raise NotImplementedError

    def perplexity(self) -> Tensor:
        return F.exp(self.entropy())

    def _check_value(self, value: Any, op: str = "log_prob") -> Tensor:
        if not isinstance(value, Tensor):
            raise ValueError(f"{type(self).__name__}.{op}: the value argument must be a "
                             f"Tensor, got {type(value).__name__}; wrap it with cr.tensor(...)")
        return value

    def _invalid(self, what: str, constraint: str, values: Any) -> ValueError:
        return ValueError(f"Expected {what} of distribution {self!r} to satisfy the constraint "
                          f"{constraint}, but found invalid values:\n{values}")

    def __repr__(self) -> str:
        params = ", ".join(f"{k}: {self._param_repr(v)}" for k, v in self._repr_params())
        return f"{type(self).__name__}({params})"

    def _repr_params(self) -> list[tuple[str, Tensor]]:
        return []

    @staticmethod
    def _param_repr(v: Tensor) -> str:
        return str(v.item()) if v.numel() == 1 and v.ndim == 0 else repr(v.detach()) \
            if v.numel() <= 4 else repr(Size(v.shape))
