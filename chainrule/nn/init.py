"""Weight initialisation, in place and outside the graph, with PyTorch's names and rules.

Random initialisers draw from ``generator`` when given, otherwise from the global generator
(``cr.manual_seed`` resets it): the same seed gives the same weights.
"""

from __future__ import annotations

import math
from typing import Any

from ..core import creation, graph
from ..core.creation import Generator
from ..core.tensor import Tensor

__all__ = ["calculate_gain", "uniform_", "normal_", "constant_", "zeros_", "ones_",
           "xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_"]

_LINEAR = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
           "conv_transpose3d", "sigmoid")


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The recommended scale of the weights for a nonlinearity: 1 (linear, sigmoid), 5/3
    (tanh), sqrt(2) (relu), sqrt(2 / (1 + slope^2)) (leaky_relu, slope default 0.01), 3/4
    (selu).

    >>> from chainrule.nn import init
    >>> init.calculate_gain("relu")
    1.4142135623730951
    """
    if nonlinearity in _LINEAR:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, (int, float)) and not isinstance(param, bool):
            slope = float(param)
        else:
            raise ValueError(f"calculate_gain: negative_slope {param!r} is not a number")
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(
        f"calculate_gain: unsupported nonlinearity {nonlinearity!r}; use one of "
        f"{', '.join(_LINEAR + ('tanh', 'relu', 'leaky_relu', 'selu'))}"
    )


def _calculate_fan_in_and_fan_out(tensor: Tensor) -> tuple[int, int]:
    """fan_in = shape[1] * receptive field, fan_out = shape[0] * receptive field, where the
    receptive field is the product of shape[2:] (1 for a Linear weight)."""
    shape = tuple(tensor.shape)
    if len(shape) < 2:
        raise ValueError(
            f"fan in and fan out cannot be computed for a tensor of shape {shape}: it needs at "
            "least 2 dims (out_features, in_features, ...); use uniform_/normal_ for biases"
        )
    receptive = math.prod(shape[2:])
    return shape[1] * receptive, shape[0] * receptive


def _fan(tensor: Tensor, mode: str) -> int:
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def _rng(generator: Generator | None) -> Any:
    return (generator if generator is not None else creation.default_generator).rng


def _write(tensor: Tensor, values: Any, op: str) -> Tensor:
    if not isinstance(tensor, Tensor):
        raise TypeError(f"{op}: expects a Tensor (or Parameter), got {type(tensor).__name__}")
    with graph.no_grad():
        # NOTE: written into the existing memory (cast to the tensor's dtype) so that the
        # Parameter object, and anything holding it, stays the same.
        tensor._data[...] = values
        tensor._vc[0] += 1
    return tensor


def _check_float(tensor: Tensor, op: str) -> None:
    if not isinstance(tensor, Tensor):
        raise TypeError(f"{op}: expects a Tensor (or Parameter), got {type(tensor).__name__}")
    if tensor._data.dtype.kind != "f":
        raise TypeError(f"{op}: expects a floating-point tensor, got {tensor.dtype}")


def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0,
             generator: Generator | None = None) -> Tensor:
    """Fill with samples of U(a, b).

    >>> import chainrule as cr
    >>> from chainrule.nn import init
    >>> w = init.uniform_(cr.empty(1000), -2.0, 2.0)
    >>> bool(w.min() >= -2.0) and bool(w.max() < 2.0)
    True
    """
    _check_float(tensor, "uniform_")
    if not a <= b:
        raise ValueError(f"uniform_: needs a <= b, got a={a}, b={b}")
    return _write(tensor, _rng(generator).uniform(a, b, size=tensor.shape), "uniform_")


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0,
            generator: Generator | None = None) -> Tensor:
    """Fill with samples of N(mean, std^2).

    >>> import chainrule as cr
    >>> from chainrule.nn import init
    >>> w = init.normal_(cr.empty(10000), 1.0, 0.5, generator=cr.Generator().manual_seed(0))
    >>> round(w.mean().item(), 1), round(w.std().item(), 1)
    (1.0, 0.5)
    """
    _check_float(tensor, "normal_")
    if std < 0:
        raise ValueError(f"normal_: std must be >= 0, got {std}")
    return _write(tensor, _rng(generator).normal(mean, std, size=tensor.shape), "normal_")


def constant_(tensor: Tensor, val: float) -> Tensor:
    """Fill with ``val``.

    >>> import chainrule as cr
    >>> from chainrule.nn import init
    >>> init.constant_(cr.empty(2), 0.5)
    tensor([0.5000, 0.5000])
    """
    return _write(tensor, val, "constant_")


def zeros_(tensor: Tensor) -> Tensor:
    """Fill with 0.

    >>> import chainrule as cr
    >>> from chainrule.nn import init
    >>> init.zeros_(cr.ones(2))
    tensor([0., 0.])
    """
    return _write(tensor, 0, "zeros_")


def ones_(tensor: Tensor) -> Tensor:
    """Fill with 1.

    >>> import chainrule as cr
    >>> from chainrule.nn import init
    >>> init.ones_(cr.zeros(2))
    tensor([1., 1.])
    """
    return _write(tensor, 1, "ones_")


def xavier_uniform_(tensor: Tensor, gain: float = 1.0,
                    generator: Generator | None = None) -> Tensor:
    """Fill with U(-a, a), a = gain * sqrt(6 / (fan_in + fan_out)) (Glorot & Bengio, 2010).

    >>> import chainrule as cr
    >>> from chainrule.nn import init
    >>> w = init.xavier_uniform_(cr.empty(30, 20))
    >>> bool(w.abs().max() <= (6 / 50) ** 0.5)
    True
    """
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    a = gain * math.sqrt(6.0 / (fan_in + fan_out)) if fan_in + fan_out else 0.0
    return uniform_(tensor, -a, a, generator)


def xavier_normal_(tensor: Tensor, gain: float = 1.0,
                   generator: Generator | None = None) -> Tensor:
    """Fill with N(0, std^2), std = gain * sqrt(2 / (fan_in + fan_out)).

    >>> import chainrule as cr
    >>> from chainrule.nn import init
    >>> init.xavier_normal_(cr.empty(3, 2)).shape
    torch.Size([3, 2])
    """
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / (fan_in + fan_out)) if fan_in + fan_out else 0.0
    return normal_(tensor, 0.0, std, generator)


def _kaiming_std(tensor: Tensor, a: float, mode: str, nonlinearity: str, op: str) -> float:
    fan = _fan(tensor, mode)
    if fan == 0:
        raise ValueError(f"{op}: cannot initialise a tensor of shape {tuple(tensor.shape)} "
                         f"with {mode} = 0")
    return calculate_gain(nonlinearity, a) / math.sqrt(fan)


def kaiming_uniform_(tensor: Tensor, a: float = 0.0, mode: str = "fan_in",
                     nonlinearity: str = "leaky_relu",
                     generator: Generator | None = None) -> Tensor:
    """Fill with U(-bound, bound), bound = gain * sqrt(3 / fan) (He et al., 2015); ``a`` is
    the negative slope of leaky_relu. Linear's default is ``a=sqrt(5)``: bound 1/sqrt(fan_in).

    >>> import math
    >>> import chainrule as cr
    >>> from chainrule.nn import init
    >>> w = init.kaiming_uniform_(cr.empty(64, 16), a=math.sqrt(5))
    >>> bool(w.abs().max() <= 1 / 4)
    True
    """
    std = _kaiming_std(tensor, a, mode, nonlinearity, "kaiming_uniform_")
    bound = math.sqrt(3.0) * std
    return uniform_(tensor, -bound, bound, generator)


def kaiming_normal_(tensor: Tensor, a: float = 0.0, mode: str = "fan_in",
                    nonlinearity: str = "leaky_relu",
                    generator: Generator | None = None) -> Tensor:
    """Fill with N(0, std^2), std = gain / sqrt(fan) (He et al., 2015).

    >>> import chainrule as cr
    >>> from chainrule.nn import init
    >>> w = init.kaiming_normal_(cr.empty(200, 100), nonlinearity="relu")
    >>> round(w.std().item(), 2)   # sqrt(2 / 100)
    0.14
    """
    std = _kaiming_std(tensor, a, mode, nonlinearity, "kaiming_normal_")
    return normal_(tensor, 0.0, std, generator)


# A PyTorch name this module lacks: NotImplementedError (ImportError for `from ... import`),
# and so does a keyword argument its functions and classes do not take.
from ..core.compat import attribute_hook as _attribute_hook  # noqa: E402
from ..core.keywords import guard_module as _guard_module  # noqa: E402

__getattr__ = _attribute_hook(__name__)
_guard_module(__name__, 'torch.nn.init')  # unknown keywords: NotImplementedError

from .deprecated import install as _install_deprecated  # noqa: E402

_install_deprecated(globals(), "nn.init", "uniform normal constant xavier_uniform xavier_normal "
                    "kaiming_uniform kaiming_normal")  # PyTorch's old spellings (they warn)
