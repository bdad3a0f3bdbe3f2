"""Layers: Linear, Conv2d, pooling, batch norm, the activations as modules, Flatten, Dropout,
Identity."""

from __future__ import annotations

import math
from typing import Any

from ..core import functional as _F
from ..core import graph
from ..core.creation import Generator, empty, ones, tensor, zeros
from ..core.tensor import Tensor
from . import functional as F
from . import init
from .module import Module, Parameter
from .norm_affine import register_affine, reset_affine

__all__ = ["Linear", "Identity", "ReLU", "LeakyReLU", "GELU", "ELU", "SiLU", "Sigmoid", "Tanh",
           "Softmax", "LogSoftmax", "Flatten", "Dropout", "Conv2d", "MaxPool2d", "AvgPool2d",
           "BatchNorm1d", "BatchNorm2d"]


class Linear(Module):
    """y = x W^T + b, with W of shape (out_features, in_features) and b of shape
    (out_features,); both start as U(-1/sqrt(in_features), 1/sqrt(in_features)) as in PyTorch.

    >>> import chainrule as cr
    >>> from chainrule import nn
    >>> fc = nn.Linear(64, 128, generator=cr.Generator().manual_seed(0))
    >>> fc
    Linear(in_features=64, out_features=128, bias=True)
    >>> fc(cr.randn(32, 64)).shape
    torch.Size([32, 128])
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 device: Any = None, dtype: Any = None,
                 generator: Generator | None = None) -> None:
        super().__init__()
        for name, v in (("in_features", in_features), ("out_features", out_features)):
            if not isinstance(v, int) or isinstance(v, bool) or v < 0:
                raise ValueError(f"Linear: {name} must be a non-negative int, got {v!r}")
        self.in_features = in_features
        self.out_features = out_features
        self.weight = Parameter(empty(out_features, in_features, dtype=dtype))
        if bias:
            self.bias = Parameter(empty(out_features, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self._label = f"Linear({in_features} -> {out_features})"
        self.reset_parameters(generator)

    def reset_parameters(self, generator: Generator | None = None) -> None:
        """PyTorch's default: kaiming_uniform_(a=sqrt(5)) for W, U(+-1/sqrt(fan_in)) for b."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5), generator=generator)
        if self.bias is not None:
            bound = 1 / math.sqrt(self.in_features) if self.in_features > 0 else 0
            init.uniform_(self.bias, -bound, bound, generator=generator)

    def forward(self, input: Tensor) -> Tensor:
        p = self._parameters
        return F._linear(input, p["weight"], p["bias"], self._label)  # type: ignore[arg-type]

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


class Identity(Module):
    """y = x (a placeholder that accepts and ignores any constructor arguments).

    >>> import chainrule as cr
    >>> from chainrule import nn
    >>> nn.Identity()(cr.tensor([1.0])).tolist()
    [1.0]
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()

    def forward(self, input: Tensor) -> Tensor:
        return input


class ReLU(Module):
    """y = max(x, 0).

    >>> import chainrule as cr
    >>> from chainrule import nn
    >>> nn.ReLU()(cr.tensor([-1.0, 2.0])).tolist()
    [0.0, 2.0]
    """

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return _F.relu(input)

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class LeakyReLU(Module):
    """y = x if x > 0 else negative_slope * x.

    >>> import chainrule as cr
    >>> from chainrule import nn
    >>> nn.LeakyReLU(0.1)(cr.tensor([-1.0, 2.0])).tolist()
    [-0.10000000149011612, 2.0]
    """

    def __init__(self, negative_slope: float = 0.01, inplace: bool = False) -> None:
        super().__init__()
        self.negative_slope = negative_slope
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.leaky_relu(input, self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}" + (", inplace=True" if self.inplace
                                                          else "")


class GELU(Module):
    """y = x * Phi(x) (Phi the standard normal CDF), or its tanh approximation.

    >>> import chainrule as cr
    >>> from chainrule import nn
    >>> nn.GELU()
    GELU(approximate='none')
    >>> round(nn.GELU(approximate="tanh")(cr.tensor([1.0])).item(), 4)
    0.8412
    """

    def __init__(self, approximate: str = "none") -> None:
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def forward(self, input: Tensor) -> Tensor:
        return F.gelu(input, self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class ELU(Module):
    """y = x if x > 0 else alpha * (e^x - 1).

    >>> import chainrule as cr
    >>> from chainrule import nn
    >>> nn.ELU(alpha=1.0)
    ELU(alpha=1.0)
    """

    def __init__(self, alpha: float = 1.0, inplace: bool = False) -> None:
        super().__init__()
        self.alpha = alpha
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.elu(input, self.alpha)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}" + (", inplace=True" if self.inplace else "")


class SiLU(Module):
    """y = x * sigmoid(x).

    >>> import chainrule as cr
    >>> from chainrule import nn
    >>> nn.SiLU()(cr.tensor([0.0])).tolist()
    [0.0]
    """

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.silu(input)

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class Sigmoid(Module):
    """y = 1 / (1 + e^-x).

    >>> import chainrule as cr
    >>> from chainrule import nn
    >>> nn.Sigmoid()(cr.tensor([0.0])).tolist()
    [0.5]
    """

    def forward(self, input: Tensor) -> Tensor:
        return _F.sigmoid(input)


class Tanh(Module):
    """y = tanh(x).

    >>> import chainrule as cr
    >>> from chainrule import nn
    >>> nn.Tanh()(cr.tensor([0.0])).tolist()
    [0.0]
    """

    def forward(self, input: Tensor) -> Tensor:
        return _F.tanh(input)


class Softmax(Module):
    """y_i = exp(x_i) / sum_j exp(x_j) along ``dim``.

    >>> import chainrule as cr
    >>> from chainrule import nn
    >>> nn.Softmax(dim=1)(cr.zeros(1, 2)).tolist()
    [[0.5, 0.5]]
    """

    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, input: Tensor) -> Tensor:
        return F.softmax(input, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class LogSoftmax(Module):
    """y_i = x_i - log(sum_j exp(x_j)) along ``dim``.

    >>> import chainrule as cr
    >>> from chainrule import nn
    >>> nn.LogSoftmax(dim=1)(cr.zeros(1, 2))
    tensor([[-0.6931, -0.6931]])
    """

    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, input: Tensor) -> Tensor:
        return F.log_softmax(input, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class Flatten(Module):
    """Merge dims start_dim..end_dim: (N, C, H, W) -> (N, C*H*W) by default.

    >>> import chainrule as cr
    >>> from chainrule import nn
    >>> nn.Flatten()(cr.zeros(2, 3, 4)).shape
    torch.Size([2, 12])
    """

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim = start_dim
        self.end_dim = end_dim

    def forward(self, input: Tensor) -> Tensor:
        nd = input.ndim
        s = self.start_dim + nd if self.start_dim < 0 else self.start_dim
        if not 0 <= s < max(nd, 1):
            raise ValueError(
                f"Flatten(start_dim={self.start_dim}): the input of shape {tuple(input.shape)} "
                f"has {nd} dims; Flatten keeps dim 0 as the batch dim, so it needs at least "
                f"{self.start_dim + 1 if self.start_dim >= 0 else -self.start_dim} dims"
            )
        return _F.flatten(input, self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Dropout(Module):
    """In training, zero each element with probability p and scale the rest by 1 / (1 - p);
    in eval mode, the identity.

    >>> import chainrule as cr
    >>> from chainrule import nn
    >>> drop = nn.Dropout(0.5, generator=cr.Generator().manual_seed(0))
    >>> sorted(set(drop(cr.ones(100)).tolist()))
    [0.0, 2.0]
    >>> drop.eval()(cr.ones(2)).tolist()
    [1.0, 1.0]
    """

    def __init__(self, p: float = 0.5, inplace: bool = False,
                 generator: Generator | None = None) -> None:
        super().__init__()
        if not isinstance(p, (int, float)) or not 0.0 <= p <= 1.0:
            raise ValueError(f"Dropout: p must be a probability in [0, 1], got {p!r}")
        self.p = p
        self.inplace = inplace
        self.generator = generator

    def forward(self, input: Tensor) -> Tensor:
        return F.dropout(input, self.p, self.training, generator=self.generator)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


# ---------------------------------------------------------------------------------------------
# Convolution, pooling, batch norm
# ---------------------------------------------------------------------------------------------


def _positive(layer: str, **values: Any) -> None:
    for name, v in values.items():
        if isinstance(v, bool) or not isinstance(v, int) or v <= 0:
            raise ValueError(f"{layer}: {name} must be a positive int, got {v!r}")


class Conv2d(Module):
    """2-D convolution over (N, C_in, H, W) images: weight (C_out, C_in / groups, kH, kW),
    bias (C_out,), both initialised as in PyTorch (U(+-1/sqrt(fan_in)), fan_in =
    C_in / groups * kH * kW). ``padding`` is an int, a pair, 'valid' or 'same'.

    >>> import chainrule as cr
    >>> from chainrule import nn
    >>> conv = nn.Conv2d(1, 16, 3, padding=1)
    >>> conv
    Conv2d(1, 16, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))
    >>> conv(cr.randn(8, 1, 8, 8)).shape
    torch.Size([8, 16, 8, 8])
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1,
                 padding: Any = 0, dilation: Any = 1, groups: int = 1, bias: bool = True,
                 padding_mode: str = "zeros", device: Any = None, dtype: Any = None,
                 generator: Generator | None = None) -> None:
        super().__init__()
        _positive("Conv2d", in_channels=in_channels, out_channels=out_channels, groups=groups)
        if in_channels % groups or out_channels % groups:
            raise ValueError(
                f"Conv2d: in_channels ({in_channels}) and out_channels ({out_channels}) must "
                f"both be divisible by groups ({groups})"
            )
        if padding_mode != "zeros":
            raise NotImplementedError(
                f"Conv2d: padding_mode={padding_mode!r} is not supported, only 'zeros'")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = F._int_pair(kernel_size, "kernel_size", "Conv2d", 1)
        self.stride = F._int_pair(stride, "stride", "Conv2d", 1)
        self.dilation = F._int_pair(dilation, "dilation", "Conv2d", 1)
        if isinstance(padding, str):
            F._conv_padding(padding, self.kernel_size, self.stride, self.dilation, "Conv2d")
            self.padding: Any = padding
        else:
            self.padding = F._int_pair(padding, "padding", "Conv2d", 0)
        self.groups = groups
        self.padding_mode = padding_mode
        self.weight = Parameter(empty(out_channels, in_channels // groups, *self.kernel_size,
                                      dtype=dtype))
        if bias:
            self.bias = Parameter(empty(out_channels, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self._label = (f"Conv2d({in_channels}, {out_channels}, kernel_size="
                       f"{self.kernel_size})")
        self.reset_parameters(generator)

    def reset_parameters(self, generator: Generator | None = None) -> None:
        """PyTorch's default: kaiming_uniform_(a=sqrt(5)) for W, U(+-1/sqrt(fan_in)) for b."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5), generator=generator)
        if self.bias is not None:
            fan_in = self.weight.shape[1] * self.kernel_size[0] * self.kernel_size[1]
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
            init.uniform_(self.bias, -bound, bound, generator=generator)

    def forward(self, input: Tensor) -> Tensor:
        p = self._parameters
        return F._conv2d(input, p["weight"], p["bias"], self.stride, self.padding,
                         self.dilation, self.groups, self._label)

    def extra_repr(self) -> str:
        return conv_extra_repr(self)


def conv_extra_repr(m: Any, output_padding: tuple[int, int] = (0, 0)) -> str:
    """PyTorch's repr of a convolution's arguments: the non-default ones, in its order
    (Conv2d, and ConvTranspose2d with its output_padding)."""
    s = f"{m.in_channels}, {m.out_channels}, kernel_size={m.kernel_size}, stride={m.stride}"
    if m.padding != (0, 0):
        s += f", padding={m.padding}"  # as PyTorch prints it: padding=same, unquoted
    if m.dilation != (1, 1):
        s += f", dilation={m.dilation}"
    if output_padding != (0, 0):
        s += f", output_padding={output_padding}"
    if m.groups != 1:
        s += f", groups={m.groups}"
    if m.bias is None:
        s += ", bias=False"
    return s


class MaxPool2d(Module):
    """The maximum of each kernel_size window (stride defaults to kernel_size).

    >>> import chainrule as cr
    >>> from chainrule import nn
    >>> nn.MaxPool2d(2)(cr.randn(8, 16, 8, 8)).shape
    torch.Size([8, 16, 4, 4])
    """

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0,
                 dilation: Any = 1, return_indices: bool = False,
                 ceil_mode: bool = False) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.dilation = dilation
        self.return_indices = return_indices
        self.ceil_mode = ceil_mode

    def forward(self, input: Tensor) -> Any:
        return F.max_pool2d(input, self.kernel_size, self.stride, self.padding, self.dilation,
                            self.ceil_mode, self.return_indices)

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class AvgPool2d(Module):
    """The mean of each kernel_size window (stride defaults to kernel_size).

    >>> import chainrule as cr
    >>> from chainrule import nn
    >>> nn.AvgPool2d(2)(cr.ones(1, 1, 4, 4)).tolist()
    [[[[1.0, 1.0], [1.0, 1.0]]]]
    """

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0,
                 ceil_mode: bool = False, count_include_pad: bool = True,
                 divisor_override: int | None = None) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad
        self.divisor_override = divisor_override

    def forward(self, input: Tensor) -> Tensor:
        return F.avg_pool2d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad, self.divisor_override)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class _BatchNorm(Module):
    """Shared by BatchNorm1d and BatchNorm2d: PyTorch's _BatchNorm, buffer for buffer."""

    _dims: tuple[int, ...] = ()
    _shapes = ""

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True, device: Any = None,
                 dtype: Any = None, *, bias: bool = True) -> None:
        super().__init__()
        name = type(self).__name__
        _positive(name, num_features=num_features)
        if momentum is not None and not 0.0 <= momentum <= 1.0:
            raise ValueError(f"{name}: momentum must be in [0, 1] (or None for a cumulative "
                             f"average), got {momentum!r}")
        self.num_features = num_features
        self.eps = eps
        self.momentum = momentum
        self.affine = affine
        self.track_running_stats = track_running_stats
        self._has_bias = affine and bias  # bias=False: a learned scale only (as PyTorch)
        register_affine(self, (num_features,), affine, bias, dtype)
        if track_running_stats:
            self.register_buffer("running_mean", zeros(num_features, dtype=dtype))
            self.register_buffer("running_var", ones(num_features, dtype=dtype))
            self.register_buffer("num_batches_tracked", tensor(0))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def reset_running_stats(self) -> None:
        if self.track_running_stats:
            with graph.no_grad():
                self.running_mean.zero_()
                self.running_var.fill_(1.0)
                self.num_batches_tracked.zero_()

    def reset_parameters(self) -> None:
        self.reset_running_stats()
        reset_affine(self)

    def forward(self, input: Tensor) -> Tensor:
        name = type(self).__name__
        nd = len(input.shape)
        if nd not in self._dims:
            raise ValueError(f"{name}: expected a {self._shapes} input, got shape "
                             f"{tuple(input.shape)} ({nd}-D)")
        if input.shape[1] != self.num_features:
            raise ValueError(
                f"{name}({self.num_features}): expected {self.num_features} channels in dim 1 "
                f"of the input, got shape {tuple(input.shape)}"
            )
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            nbt = self.num_batches_tracked
            F._count_batch(nbt)
            if self.momentum is None:  # a cumulative moving average
                factor = 1.0 / float(nbt._data)
        use_batch = self.training or self.running_mean is None
        track = not self.training or self.track_running_stats
        return F.batch_norm(input, self.running_mean if track else None,
                            self.running_var if track else None, self.weight, self.bias,
                            use_batch, factor, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, bias={self._has_bias}, "
                f"track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Batch normalisation of (N, C) or (N, C, L) inputs per channel C: batch statistics in
    training (updating running_mean/running_var with ``momentum``), the running ones in eval.

    >>> import chainrule as cr
    >>> from chainrule import nn
    >>> bn = nn.BatchNorm1d(3)
    >>> y = bn(cr.randn(16, 3))
    >>> [round(v, 4) for v in y.mean(0).abs().tolist()]
    [0.0, 0.0, 0.0]
    >>> int(bn.num_batches_tracked)
    1
    """

    _dims = (2, 3)
    _shapes = "2-D (N, C) or 3-D (N, C, L)"


class BatchNorm2d(_BatchNorm):
    """Batch normalisation of (N, C, H, W) images per channel C: batch statistics in training
    (updating running_mean/running_var with ``momentum``), the running ones in eval.

    >>> import chainrule as cr
    >>> from chainrule import nn
    >>> nn.BatchNorm2d(16)
    BatchNorm2d(16, eps=1e-05, momentum=0.1, affine=True, bias=True, track_running_stats=True)
    """

    _dims = (4,)
    _shapes = "4-D (N, C, H, W)"
