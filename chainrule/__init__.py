"""chainrule: a deep-learning library built on an explicit computational graph.

Forward propagation records every operation on tensors as a node of a graph; ``backward()``
walks the graph in reverse and applies the chain rule.

>>> import chainrule as cr
>>> w = cr.tensor([[0.5, -1.0]], requires_grad=True)
>>> x = cr.tensor([[2.0], [1.0]])
>>> loss = (w @ x).sigmoid().sum()
>>> loss.backward()
>>> w.grad.shape
torch.Size([1, 2])
"""

from . import core  # first: the engine, with every Tensor method attached (core/tensor.py)
from . import autograd, graph, special, testing
from .alias import as_torch
from .core import functional as _F
from .core.creation import (Generator, arange, as_tensor, default_generator, empty, empty_like,
                            eye, from_numpy, full, full_like, linspace, manual_seed, ones,
                            ones_like, rand, rand_like, randn, randn_like, randperm,
                            seed, tensor, zeros, zeros_like)
from .core.dtypes import (bool, double, dtype, finfo, float, float16, float32, float64,
                          get_default_dtype, half, iinfo, int, int8, int16, int32, int64, long,
                          set_default_dtype, short, uint8)
from .core.functional import (abs, add, allclose, amax, amin, argmax, argmin, broadcast_to, cast,
                              cat, chunk, clamp, clip, clone, concat, concatenate, cos, div, dot,
                              eq, equal, exp, expand, flatten, flip, gather, ge, gt, isfinite,
                              isinf, isnan, le, log, log1p, log_softmax, logical_and,
                              logical_not, logical_or, logsumexp, lt, masked_fill, matmul, max,
                              maximum, mean, min, minimum, mm, mul, ne, neg, permute, pow, prod,
                              relu, reshape, sigmoid, sign, sin, softmax, softplus, split, sqrt,
                              square, squeeze, stack, std, sub, sum, sum_to, tanh,
                              transpose, unsqueeze, var, view, where)
from .core.compat import (Size, accelerator, are_deterministic_algorithms_enabled, backends, cuda,
                          device, get_default_device, is_floating_point, is_tensor, mps, numel,
                          set_default_device, use_deterministic_algorithms)
from .core.graph import (GraphError, enable_grad, inference_mode, is_grad_enabled, no_grad,
                         set_grad_enabled)
from .core.tensor import Tensor
from .core.functional import (diagonal, erf, erfc, erfinv, exp2, expm1, logit, select,
                              swapaxes, unbind, xlogy)

# NOTE: the training layers load on first use (cr.nn, cr.optim, cr.data, cr.save): `import
# chainrule` then costs the engine alone, and `from chainrule import nn` works as usual.
_SUBMODULES = ("nn", "optim", "data", "serialization", "cli", "utils", "viz", "distributed",
               "linalg", "distributions", "onnx", "compile")
_FROM_SERIALIZATION = ("save", "load", "CheckpointError")


def __getattr__(name: str):  # type: ignore[no-untyped-def]
    import importlib

    if name in _SUBMODULES:
        return importlib.import_module(f"chainrule.{name}")
    if name in _FROM_SERIALIZATION:
        return getattr(importlib.import_module("chainrule.serialization"), name)
    # A PyTorch name chainrule lacks: a stand-in (cr.jit, cr.linalg: namespaces whose members
    # raise) or a NotImplementedError saying what to use instead (see core/compat.py).
    from .core.compat import module_missing

    res = module_missing(name, __dir__())
    if isinstance(res, BaseException):
        raise res
    return res


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_SUBMODULES) | set(_FROM_SERIALIZATION))


from .core.keywords import guard_module as _guard_module  # noqa: E402

# A keyword argument a factory does not take: NotImplementedError naming it (core/keywords.py).
_guard_module(__name__, "torch", "arange empty empty_like eye full full_like linspace ones "
              "ones_like rand rand_like randint randn randn_like randperm tensor as_tensor "
              "zeros zeros_like".split())

multiply, divide, subtract, negative = mul, div, sub, neg
t = _F.t

from .core.exports import torch_surface as _torch_surface  # noqa: E402

globals().update(_torch_surface(globals()))  # FloatTensor, sort, norm, normal, out=, ...

__version__ = "0.1.0"
