"""More layers with PyTorch's names, parameters and default inits: ConvTranspose2d, adaptive
pools, channel dropout, SmoothL1Loss / HuberLoss, Unflatten.

>>> import chainrule as cr
>>> from chainrule import nn
>>> up = nn.ConvTranspose2d(16, 8, 4, stride=2, padding=1)
>>> up
ConvTranspose2d(16, 8, kernel_size=(4, 4), stride=(2, 2), padding=(1, 1))
>>> up(cr.randn(2, 16, 7, 7)).shape
torch.Size([2, 8, 14, 14])
>>> nn.AdaptiveAvgPool2d((1, 1))(cr.randn(2, 8, 5, 5)).shape
torch.Size([2, 8, 1, 1])
"""

from __future__ import annotations

import math
from typing import Any

from ..core import functional as _F
from ..core.creation import Generator, empty
from ..core.tensor import Tensor
from . import functional as F
from . import functional_extra as FX
from . import init
from .layers import _positive, conv_extra_repr
from .loss import _Loss
from .module import Module, Parameter

__all__ = ["ConvTranspose2d", "AdaptiveAvgPool2d", "AdaptiveMaxPool2d", "Dropout1d",
           "Dropout2d", "AlphaDropout", "SmoothL1Loss", "HuberLoss", "Unflatten"]


class ConvTranspose2d(Module):
    """The transposed 2-D convolution: weight (C_in, C_out / groups, kH, kW), bias (C_out,),
    initialised as PyTorch does (kaiming_uniform_(a=sqrt(5)); bias U(+-1/sqrt(fan_in)) with
    fan_in = C_out / groups * kH * kW). ``forward(input, output_size=None)``: ``output_size``
    picks the output_padding that gives that size, as in PyTorch."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1,
                 padding: Any = 0, output_padding: Any = 0, groups: int = 1, bias: bool = True,
                 dilation: Any = 1, padding_mode: str = "zeros", device: Any = None,
                 dtype: Any = None, generator: Generator | None = None) -> None:
        super().__init__()
        layer = "ConvTranspose2d"
        _positive(layer, in_channels=in_channels, out_channels=out_channels, groups=groups)
        if in_channels % groups or out_channels % groups:
            raise ValueError(f"{layer}: in_channels ({in_channels}) and out_channels "
                             f"({out_channels}) must both be divisible by groups ({groups})")
        if padding_mode != "zeros":
            raise ValueError(f"{layer}: only padding_mode='zeros' is supported for "
                             f"ConvTranspose2d (as in PyTorch), got {padding_mode!r}")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = F._int_pair(kernel_size, "kernel_size", layer, 1)
        self.stride = F._int_pair(stride, "stride", layer, 1)
        self.padding = F._int_pair(padding, "padding", layer, 0)
        self.output_padding = F._int_pair(output_padding, "output_padding", layer, 0)
        self.dilation = F._int_pair(dilation, "dilation", layer, 1)
        self.groups = groups
        self.padding_mode = padding_mode
        self.weight = Parameter(empty(in_channels, out_channels // groups, *self.kernel_size,
                                      dtype=dtype))
        if bias:
            self.bias = Parameter(empty(out_channels, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters(generator)

    def reset_parameters(self, generator: Generator | None = None) -> None:
        init.kaiming_uniform_(self.weight, a=math.sqrt(5), generator=generator)
        if self.bias is not None:
            fan_in = self.weight.shape[1] * self.kernel_size[0] * self.kernel_size[1]
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
            init.uniform_(self.bias, -bound, bound, generator=generator)

    def _output_padding(self, input: Tensor, output_size: Any) -> tuple[int, int]:
        if output_size is None:
            return self.output_padding
        size = list(output_size)[-2:]
        out = []
        for i, want in enumerate(size):
            n = input.shape[-2 + i]
            lo = ((n - 1) * self.stride[i] - 2 * self.padding[i]
                  + self.dilation[i] * (self.kernel_size[i] - 1) + 1)
            if not lo <= want < lo + self.stride[i]:
                raise ValueError(
                    f"ConvTranspose2d: requested output size {tuple(size)} is not reachable "
                    f"from input {tuple(input.shape)}: dim {i} must be in [{lo}, "
                    f"{lo + self.stride[i] - 1}]")
            out.append(want - lo)
        return (out[0], out[1])

    def forward(self, input: Tensor, output_size: Any = None) -> Tensor:
        p = self._parameters
        return FX._conv_transpose2d(input, p["weight"], p["bias"], self.stride, self.padding,
                                    self._output_padding(input, output_size), self.groups,
                                    self.dilation, "ConvTranspose2d")

    def extra_repr(self) -> str:
        return conv_extra_repr(self, self.output_padding)


class AdaptiveAvgPool2d(Module):
    """Average pooling to a fixed ``output_size`` (an int, a pair, None keeps a side)."""

    def __init__(self, output_size: Any) -> None:
        super().__init__()
        self.output_size = output_size

    def forward(self, input: Tensor) -> Tensor:
        return FX.adaptive_avg_pool2d(input, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveMaxPool2d(Module):
    """Max pooling to a fixed ``output_size``; ``return_indices`` also gives the argmaxes."""

    def __init__(self, output_size: Any, return_indices: bool = False) -> None:
        super().__init__()
        self.output_size = output_size
        self.return_indices = return_indices

    def forward(self, input: Tensor) -> Any:
        return FX.adaptive_max_pool2d(input, self.output_size, self.return_indices)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class _DropoutNd(Module):
    _fn: Any = None

    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        FX._check_p(p, type(self).__name__)
        self.p = p
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return type(self)._fn(input, self.p, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class Dropout1d(_DropoutNd):
    """In training, zero whole channels of (N, C, L) with probability p (scale 1 / (1 - p))."""

    _fn = staticmethod(FX.dropout1d)


class Dropout2d(_DropoutNd):
    """In training, zero whole channels of (N, C, H, W) with probability p."""

    _fn = staticmethod(FX.dropout2d)


class AlphaDropout(_DropoutNd):
    """Dropout for SELU networks (keeps mean 0 and variance 1)."""

    _fn = staticmethod(FX.alpha_dropout)


class SmoothL1Loss(_Loss):
    """0.5 d^2 / beta where |d| < beta, |d| - 0.5 beta elsewhere, averaged."""

    def __init__(self, size_average: Any = None, reduce: Any = None, reduction: str = "mean",
                 beta: float = 1.0) -> None:
        super().__init__(size_average, reduce, reduction)
        self.beta = beta

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return FX.smooth_l1_loss(input, target, reduction=self.reduction, beta=self.beta)


class HuberLoss(_Loss):
    """0.5 d^2 where |d| < delta, delta (|d| - 0.5 delta) elsewhere, averaged."""

    def __init__(self, reduction: str = "mean", delta: float = 1.0) -> None:
        super().__init__(reduction=reduction)
        self.delta = delta

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return FX.huber_loss(input, target, reduction=self.reduction, delta=self.delta)


class Unflatten(Module):
    """Split dim ``dim`` into ``unflattened_size`` (the inverse of Flatten)."""

    def __init__(self, dim: int, unflattened_size: Any) -> None:
        super().__init__()
        self.dim = dim
        self.unflattened_size = tuple(unflattened_size)

    def forward(self, input: Tensor) -> Tensor:
        shp = tuple(input.shape)
        d = _F._dim(self.dim, len(shp), "Unflatten")
        return _F.reshape(input, shp[:d] + self.unflattened_size + shp[d + 1:])

    def extra_repr(self) -> str:
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"
