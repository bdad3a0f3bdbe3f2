"""Losses as modules: configure once, call as ``loss_fn(input, target)``."""

from __future__ import annotations

from typing import Any

from ..core.tensor import Tensor
from . import functional as F
from .legacy import legacy_reduction
from .module import Module

__all__ = ["MSELoss", "L1Loss", "CrossEntropyLoss", "NLLLoss", "BCELoss", "BCEWithLogitsLoss"]


class _Loss(Module):
    def __init__(self, size_average: Any = None, reduce: Any = None,
                 reduction: str = "mean") -> None:
        super().__init__()
        reduction = legacy_reduction(size_average, reduce, reduction)  # PyTorch's old args
        F._check_reduction(reduction, type(self).__name__)
        self.reduction = reduction

    def extra_repr(self) -> str:
        return "" if self.reduction == "mean" else f"reduction={self.reduction!r}"


class _WeightedLoss(_Loss):
    def __init__(self, weight: Any = None, size_average: Any = None, reduce: Any = None,
                 reduction: str = "mean") -> None:
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", None if weight is None else F._tensor(weight))


class MSELoss(_Loss):
    """mean((x - y)^2) over all elements (or 'sum', or 'none' for elementwise).

    >>> import chainrule as cr
    >>> from chainrule import nn
    >>> nn.MSELoss()(cr.tensor([0.0, 2.0]), cr.tensor([1.0, 1.0]))
    tensor(1.)
    """

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.mse_loss(input, target, reduction=self.reduction)


class L1Loss(_Loss):
    """mean(|x - y|) over all elements.

    >>> import chainrule as cr
    >>> from chainrule import nn
    >>> nn.L1Loss(reduction="sum")(cr.tensor([0.0, 2.0]), cr.tensor([1.0, 1.0]))
    tensor(2.)
    """

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.l1_loss(input, target, reduction=self.reduction)


class CrossEntropyLoss(_WeightedLoss):
    """-log softmax(x)[target], averaged, for logits x (N, C) and class indices (N,); see
    :func:`chainrule.nn.functional.cross_entropy` for weights, ignore_index, label_smoothing.

    >>> import chainrule as cr
    >>> from chainrule import nn
    >>> loss_fn = nn.CrossEntropyLoss(label_smoothing=0.1)
    >>> loss_fn
    CrossEntropyLoss(label_smoothing=0.1)
    >>> round(loss_fn(cr.zeros(4, 10), cr.tensor([1, 2, 3, 4])).item(), 4)   # log(10)
    2.3026
    """

    def __init__(self, weight: Tensor | None = None, size_average: Any = None,
                 ignore_index: int = -100, reduce: Any = None, reduction: str = "mean",
                 label_smoothing: float = 0.0) -> None:
        super().__init__(weight, size_average, reduce, reduction)
        self.ignore_index = ignore_index
        self.label_smoothing = F._check_smoothing(label_smoothing, "CrossEntropyLoss")

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.cross_entropy(input, target, self._buffers["weight"],
                               ignore_index=self.ignore_index, reduction=self.reduction,
                               label_smoothing=self.label_smoothing)

    def extra_repr(self) -> str:
        parts = [super().extra_repr()]
        if self.ignore_index != -100:
            parts.append(f"ignore_index={self.ignore_index}")
        if self.label_smoothing:
            parts.append(f"label_smoothing={self.label_smoothing}")
        return ", ".join(p for p in parts if p)


class NLLLoss(_WeightedLoss):
    """-x[target] averaged, for log-probabilities x (N, C) and class indices (N,).

    >>> import chainrule as cr
    >>> from chainrule import nn
    >>> nn.NLLLoss()(cr.tensor([[-1.0, -2.0]]), cr.tensor([1]))
    tensor(2.)
    """

    def __init__(self, weight: Tensor | None = None, size_average: Any = None,
                 ignore_index: int = -100, reduce: Any = None, reduction: str = "mean") -> None:
        super().__init__(weight, size_average, reduce, reduction)
        self.ignore_index = ignore_index

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.nll_loss(input, target, self._buffers["weight"],
                          ignore_index=self.ignore_index, reduction=self.reduction)


class BCELoss(_WeightedLoss):
    """-(y log p + (1 - y) log(1 - p)) averaged, for probabilities p (after a sigmoid).

    >>> import chainrule as cr
    >>> from chainrule import nn
    >>> nn.BCELoss()(cr.tensor([0.5]), cr.tensor([1.0]))
    tensor(0.6931)
    """

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.binary_cross_entropy(input, target, self._buffers["weight"],
                                      reduction=self.reduction)


class BCEWithLogitsLoss(_Loss):
    """Sigmoid and binary cross-entropy in one stable step, for raw scores x; ``pos_weight``
    (one per class) multiplies the loss of the positive targets.

    >>> import chainrule as cr
    >>> from chainrule import nn
    >>> nn.BCEWithLogitsLoss()(cr.tensor([0.0]), cr.tensor([1.0]))
    tensor(0.6931)
    """

    def __init__(self, weight: Tensor | None = None, size_average: Any = None,
                 reduce: Any = None, reduction: str = "mean",
                 pos_weight: Tensor | None = None) -> None:
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", None if weight is None else F._tensor(weight))
        self.register_buffer("pos_weight",
                             None if pos_weight is None else F._tensor(pos_weight))

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        b = self._buffers
        return F.binary_cross_entropy_with_logits(input, target, b["weight"],
                                                  reduction=self.reduction,
                                                  pos_weight=b["pos_weight"])
