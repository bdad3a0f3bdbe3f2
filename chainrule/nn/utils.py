"""Gradient clipping and flat views of parameters."""

from __future__ import annotations

import math
import sys
from typing import Any, Iterable

from ..core import functional as _F
from ..core import graph
from ..core.tensor import Tensor, _make, _to_array
from . import rnn_utils as rnn

sys.modules[__name__ + ".rnn"] = rnn  # `from chainrule.nn.utils.rnn import ...` as in PyTorch

__all__ = ["clip_grad_norm_", "clip_grad_value_", "parameters_to_vector",
           "vector_to_parameters"]


def _params(parameters: Any) -> list[Tensor]:
    if isinstance(parameters, Tensor):
        return [parameters]
    return list(parameters)


def clip_grad_norm_(parameters: Iterable[Tensor] | Tensor, max_norm: float,
                    norm_type: float = 2.0, error_if_nonfinite: bool = False,
                    foreach: bool | None = None) -> Tensor:
    """Scale all gradients by min(1, max_norm / (total_norm + 1e-6)), in place, where
    total_norm is the norm of all gradients joined into one vector. Returns total_norm.
    ``foreach`` (PyTorch's choice of kernel) is accepted and ignored.

    >>> import chainrule as cr
    >>> from chainrule.nn.utils import clip_grad_norm_
    >>> w = cr.zeros(2, requires_grad=True)
    >>> (w * cr.tensor([3.0, 4.0])).sum().backward()
    >>> clip_grad_norm_([w], max_norm=1.0)
    tensor(5.)
    >>> w.grad
    tensor([0.6000, 0.8000])
    """
    grads = [p.grad for p in _params(parameters) if p.grad is not None]
    norm_type = float(norm_type)
    if not grads:
        return _make(_to_array(0.0))
    dt = grads[0]._data.dtype
    if norm_type == math.inf:
        total = max(float(abs(g._data).max()) if g._data.size else 0.0 for g in grads)
    elif norm_type == 2.0:
        total = math.sqrt(sum(float((g._data * g._data).sum()) for g in grads))
    elif norm_type > 0:
        s = sum(float((abs(g._data) ** norm_type).sum()) for g in grads)
        total = s ** (1.0 / norm_type)
    else:
        raise ValueError(f"clip_grad_norm_: norm_type must be positive (or inf), got {norm_type}")
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(
            f"clip_grad_norm_: the total norm of the gradients is {total}, so they cannot be "
            "clipped; check the loss for inf/nan, or pass error_if_nonfinite=False"
        )
    coef = max_norm / (total + 1e-6)
    if coef < 1.0:
        with graph.no_grad():
            for g in grads:
                g._data *= coef
                g._vc[0] += 1
    return _make(_to_array(total, dt))


def clip_grad_value_(parameters: Iterable[Tensor] | Tensor, clip_value: float,
                     foreach: bool | None = None) -> None:
    """Clamp every gradient element to [-clip_value, clip_value], in place (``foreach`` is
    accepted and ignored).

    >>> import chainrule as cr
    >>> from chainrule.nn.utils import clip_grad_value_
    >>> w = cr.zeros(2, requires_grad=True)
    >>> (w * cr.tensor([3.0, -0.5])).sum().backward()
    >>> clip_grad_value_([w], 1.0); w.grad
    tensor([ 1.0000, -0.5000])
    """
    v = float(clip_value)
    if v < 0:
        raise ValueError(f"clip_grad_value_: clip_value must be >= 0, got {clip_value}")
    for p in _params(parameters):
        g = p.grad
        if g is not None:
            g._data.clip(-v, v, out=g._data)
            g._vc[0] += 1


def parameters_to_vector(parameters: Iterable[Tensor]) -> Tensor:
    """All parameters flattened and joined into one vector (differentiable).

    >>> from chainrule import nn
    >>> from chainrule.nn.utils import parameters_to_vector
    >>> parameters_to_vector(nn.Linear(3, 2).parameters()).shape
    torch.Size([8])
    """
    ps = _params(parameters)
    if not ps:
        raise ValueError("parameters_to_vector: got no parameters")
    return _F.cat([_F.reshape(p, (-1,)) for p in ps])


def vector_to_parameters(vec: Tensor, parameters: Iterable[Tensor]) -> None:
    """Copy consecutive slices of ``vec`` into the parameters, in place."""
    ps = _params(parameters)
    n = sum(p.numel() for p in ps)
    if vec.ndim != 1 or vec.numel() != n:
        raise ValueError(f"vector_to_parameters: expected a vector of {n} elements, got shape "
                         f"{tuple(vec.shape)}")
    start = 0
    with graph.no_grad():
        for p in ps:
            k = p.numel()
            p._data[...] = vec._data[start:start + k].reshape(p.shape)
            p._vc[0] += 1
            start += k


# A PyTorch name this module lacks: NotImplementedError (ImportError for `from ... import`).
from ..core.compat import attribute_hook as _attribute_hook  # noqa: E402

__getattr__ = _attribute_hook(__name__)
