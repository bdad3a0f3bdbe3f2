"""Layers: Linear, the activations as modules, Flatten, Dropout, Identity."""

from __future__ import annotations

import math
from typing import Any

from ..core import functional as _F
from ..core.creation import Generator, empty
from ..core.tensor import Tensor
from . import functional as F
from . import init
from .module import Module, Parameter

__all__ = ["Linear", "Identity", "ReLU", "LeakyReLU", "GELU", "ELU", "SiLU", "Sigmoid", "Tanh",
           "Softmax", "LogSoftmax", "Flatten", "Dropout"]


class Linear(Module):
    """y = x W^T + b, with W of shape (out_features, in_features) and b of shape
    (out_features,); both start as U(-1/sqrt(in_features), 1/sqrt(in_features)) as in PyTorch.

    >>> import chainrule as cr
    >>> from chainrule import nn
    >>> fc = nn.Linear(64, 128, generator=cr.Generator().manual_seed(0))
    >>> fc
    Linear(in_features=64, out_features=128, bias=True)
    >>> fc(cr.randn(32, 64)).shape
    (32, 128)
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 dtype: Any = None, generator: Generator | None = None,
                 device: Any = None) -> None:
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
    (2, 12)
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
