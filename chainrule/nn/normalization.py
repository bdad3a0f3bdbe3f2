"""LayerNorm, GroupNorm, RMSNorm: PyTorch's modules, parameter for parameter."""

from __future__ import annotations

from typing import Any

from ..core.creation import ones
from ..core.tensor import Tensor
from . import functional as F
from .functional_attention import normalized_shape_arg
from .module import Module, Parameter
from .norm_affine import register_affine, reset_affine

__all__ = ["LayerNorm", "GroupNorm", "RMSNorm"]


class LayerNorm(Module):
    """Normalise over the trailing ``normalized_shape`` dims, then ``* weight + bias``
    (ones and zeros at start, of shape ``normalized_shape``).

    >>> import chainrule as cr
    >>> from chainrule import nn
    >>> ln = nn.LayerNorm(4)
    >>> ln
    LayerNorm((4,), eps=1e-05, elementwise_affine=True, bias=True)
    >>> [round(v, 4) for v in ln(cr.tensor([[1.0, 2.0, 3.0, 4.0]]))[0].tolist()]
    [-1.3416, -0.4472, 0.4472, 1.3416]
    """

    def __init__(self, normalized_shape: Any, eps: float = 1e-5,
                 elementwise_affine: bool = True, bias: bool = True, device: Any = None,
                 dtype: Any = None) -> None:
        super().__init__()
        self.normalized_shape = normalized_shape_arg(normalized_shape, "LayerNorm")
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        register_affine(self, self.normalized_shape, elementwise_affine, bias, dtype)

    def reset_parameters(self) -> None:
        reset_affine(self)

    def forward(self, input: Tensor) -> Tensor:
        return _named(self, F.layer_norm, input, self.normalized_shape, self.weight, self.bias,
                      self.eps)

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}, bias={self.bias is not None}")


class GroupNorm(Module):
    """Normalise (N, C, *) inputs over groups of C / num_groups channels (and the spatial
    dims), then ``* weight + bias`` per channel (ones and zeros at start).

    >>> import chainrule as cr
    >>> from chainrule import nn
    >>> nn.GroupNorm(2, 4)
    GroupNorm(2, 4, eps=1e-05, affine=True, bias=True)
    >>> [round(v, 4) for v in nn.GroupNorm(2, 4)(cr.tensor([[1.0, 3.0, 5.0, 5.0]]))[0].tolist()]
    [-1.0, 1.0, 0.0, 0.0]
    """

    def __init__(self, num_groups: int, num_channels: int, eps: float = 1e-5,
                 affine: bool = True, device: Any = None, dtype: Any = None, *,
                 bias: bool = True) -> None:
        super().__init__()
        if not isinstance(num_groups, int) or num_groups <= 0:
            raise ValueError(f"GroupNorm: num_groups must be a positive int, got {num_groups!r}")
        if num_channels % num_groups:
            raise ValueError(f"GroupNorm: num_channels must be divisible by num_groups, got "
                             f"num_channels={num_channels} and num_groups={num_groups}")
        self.num_groups = num_groups
        self.num_channels = num_channels
        self.eps = eps
        self.affine = affine
        register_affine(self, (num_channels,), affine, bias, dtype)

    def reset_parameters(self) -> None:
        reset_affine(self)

    def forward(self, input: Tensor) -> Tensor:
        shape = tuple(input.shape)
        if len(shape) < 2 or shape[1] != self.num_channels:
            raise ValueError(f"GroupNorm({self.extra_repr()}): expected an input (N, C, *) with "
                             f"C = num_channels = {self.num_channels} in dim 1, got shape {shape}")
        return _named(self, F.group_norm, input, self.num_groups, self.weight, self.bias,
                      self.eps)

    def extra_repr(self) -> str:
        return (f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}, "
                f"bias={self.bias is not None}")


class RMSNorm(Module):
    """x / sqrt(mean(x^2) + eps) * weight over the trailing ``normalized_shape`` dims;
    ``eps=None`` means the machine epsilon of the input's dtype (as PyTorch).

    >>> import chainrule as cr
    >>> from chainrule import nn
    >>> nn.RMSNorm([2])
    RMSNorm((2,), eps=None, elementwise_affine=True)
    >>> [round(v, 4) for v in nn.RMSNorm(2, eps=0.0)(cr.tensor([[3.0, 4.0]]))[0].tolist()]
    [0.8485, 1.1314]
    """

    def __init__(self, normalized_shape: Any, eps: float | None = None,
                 elementwise_affine: bool = True, device: Any = None, dtype: Any = None) -> None:
        super().__init__()
        self.normalized_shape = normalized_shape_arg(normalized_shape, "RMSNorm")
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        if elementwise_affine:
            self.weight = Parameter(ones(*self.normalized_shape, dtype=dtype))
        else:
            self.register_parameter("weight", None)

    def reset_parameters(self) -> None:
        reset_affine(self)

    def forward(self, input: Tensor) -> Tensor:
        return _named(self, F.rms_norm, input, self.normalized_shape, self.weight, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}")


def _named(layer: Module, fn: Any, *args: Any) -> Tensor:
    """Run a functional norm; its errors name the layer (``LayerNorm((4,), ...)``)."""
    try:
        return fn(*args)
    except (ValueError, TypeError) as e:
        msg = str(e)
        op = fn.__name__
        if msg.startswith(op + ":"):
            msg = f"{type(layer).__name__}({layer.extra_repr()}):" + msg[len(op) + 1:]
        raise type(e)(msg) from None
