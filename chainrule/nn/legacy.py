"""The losses and softmaxes of ``nn.functional`` with PyTorch's exact signatures: the
deprecated ``size_average=`` / ``reduce=`` arguments (mapped to ``reduction`` as PyTorch maps
them) in their positional places, so that ``F.binary_cross_entropy(p, y, w, False)`` means
what it means in PyTorch (``size_average=False``: the sum).

Re-exported by :mod:`chainrule.nn.functional` in place of the plain versions.

>>> import chainrule as cr
>>> import chainrule.nn.functional as F
>>> F.mse_loss(cr.tensor([1.0, 2.0]), cr.tensor([0.0, 0.0]), size_average=False)
tensor(5.)
>>> F.mse_loss(cr.tensor([1.0, 2.0]), cr.tensor([0.0, 0.0]), reduce=False)
tensor([1., 4.])
"""

from __future__ import annotations

import warnings
from typing import Any

from ..backend import xp
from ..core import functional as _F
from ..core.tensor import Tensor
from . import functional as NF
from . import functional_activations as _FA
from . import functional_losses as _FL

__all__ = ["legacy_reduction", "mse_loss", "l1_loss", "cross_entropy", "nll_loss",
           "binary_cross_entropy", "binary_cross_entropy_with_logits", "softmax",
           "log_softmax"]

# The plain versions, from the modules that define them (nn.functional exports these instead).
_plain = {name: getattr(_FL, name, None) or getattr(_FA, name) for name in __all__[1:]}


def legacy_reduction(size_average: Any, reduce: Any, reduction: str = "mean") -> str:
    """PyTorch's mapping: reduce=False gives 'none'; otherwise size_average=False gives 'sum'
    and anything else 'mean'. Without either, ``reduction`` as given."""
    if size_average is None and reduce is None:
        return reduction
    warnings.warn("size_average and reduce args will be deprecated, please use "
                  "reduction='{}' instead.".format(
                      "none" if reduce is False else "sum" if size_average is False
                      else "mean"), UserWarning, stacklevel=3)
    if reduce is None:
        reduce = True
    if size_average is None:
        size_average = True
    return "none" if not reduce else "mean" if size_average else "sum"


def _weighted(loss: Tensor, weight: Any, reduction: str, op: str) -> Tensor:
    w = NF._tensor(weight)
    try:
        xp.broadcast_shapes(w.shape, loss.shape)
    except ValueError:
        raise ValueError(f"{op}: weight of shape {tuple(w.shape)} does not broadcast to the "
                         f"loss of shape {tuple(loss.shape)}") from None
    weighted = _F.mul(loss, w)
    if reduction == "mean":  # PyTorch's weighted mean: sum(w l) / sum(w)
        return _F.div(_F.sum(weighted), _F.sum(_F.broadcast_to(w, weighted.shape)))
    return NF._reduce(weighted, reduction)


def _elementwise_loss(op: str, input: Tensor, target: Tensor, reduction: str,
                      weight: Tensor | None) -> Tensor:
    """mse_loss or l1_loss with PyTorch's optional ``weight`` (one per element)."""
    plain = _plain[op]
    if weight is None:
        return plain(input, target, reduction)
    NF._check_reduction(reduction, op)
    return _weighted(plain(input, target, "none"), weight, reduction, op)


def mse_loss(input: Tensor, target: Tensor, size_average: Any = None, reduce: Any = None,
             reduction: str = "mean", weight: Tensor | None = None) -> Tensor:
    """mean((x - y)^2) (or the sum, or elementwise); ``weight`` multiplies each element."""
    return _elementwise_loss("mse_loss", input, target,
                             legacy_reduction(size_average, reduce, reduction), weight)


def l1_loss(input: Tensor, target: Tensor, size_average: Any = None, reduce: Any = None,
            reduction: str = "mean", weight: Tensor | None = None) -> Tensor:
    """mean(|x - y|); ``weight`` multiplies each element."""
    return _elementwise_loss("l1_loss", input, target,
                             legacy_reduction(size_average, reduce, reduction), weight)


def cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None,
                  size_average: Any = None, ignore_index: int = -100, reduce: Any = None,
                  reduction: str = "mean", label_smoothing: float = 0.0) -> Tensor:
    return _plain["cross_entropy"](input, target, weight, ignore_index,
                                   legacy_reduction(size_average, reduce, reduction),
                                   label_smoothing)


def nll_loss(input: Tensor, target: Tensor, weight: Tensor | None = None,
             size_average: Any = None, ignore_index: int = -100, reduce: Any = None,
             reduction: str = "mean") -> Tensor:
    return _plain["nll_loss"](input, target, weight, ignore_index,
                              legacy_reduction(size_average, reduce, reduction))


def binary_cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None,
                         size_average: Any = None, reduce: Any = None,
                         reduction: str = "mean") -> Tensor:
    return _plain["binary_cross_entropy"](input, target, weight,
                                          legacy_reduction(size_average, reduce, reduction))


def binary_cross_entropy_with_logits(input: Tensor, target: Tensor,
                                     weight: Tensor | None = None, size_average: Any = None,
                                     reduce: Any = None, reduction: str = "mean",
                                     pos_weight: Tensor | None = None) -> Tensor:
    return _plain["binary_cross_entropy_with_logits"](
        input, target, weight, legacy_reduction(size_average, reduce, reduction), pos_weight)


def softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3,
            dtype: Any = None) -> Tensor:
    return _plain["softmax"](input, dim, dtype)


def log_softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3,
                dtype: Any = None) -> Tensor:
    return _plain["log_softmax"](input, dim, dtype)


for _name in __all__[1:]:  # the plain versions' docs (and doctests) stay where they are
    globals()[_name].__doc__ = (globals()[_name].__doc__ or _plain[_name].__doc__ or "").split(
        ">>>")[0]
