"""Random sampling with PyTorch's signatures: ``normal`` (all four overloads), ``multinomial``
and ``randint(high, size)`` / ``randint(low, high, size)``.

Every draw comes from the global generator (``cr.manual_seed``) or ``generator=``.

>>> import chainrule as cr
>>> _ = cr.manual_seed(0)
>>> cr.randint(10, (3,)).shape, cr.randint(3, 5, (2,)).dtype
(torch.Size([3]), torch.int64)
>>> cr.normal(0.0, 1.0, size=(2, 2)).shape
torch.Size([2, 2])
>>> cr.multinomial(cr.tensor([0.0, 1.0, 1.0]), 2).sort().values
tensor([1, 2])
"""

from __future__ import annotations

import builtins
from typing import Any

from .. import backend as B
from ..backend import xp
from .creation import _finish, _gen
from .dtypes import get_default_dtype, normalize_dtype
from .functional import _as_tensor, _shape_arg
from .tensor import Tensor, _make

__all__ = ["normal", "multinomial", "randint"]

_NORMAL_FORMS = ("normal(mean: Tensor, std: Tensor), normal(mean: Tensor, std: float = 1.0), "
                 "normal(mean: float, std: Tensor) or normal(mean: float, std: float, size)")


def normal(mean: Any, std: Any = 1.0, size: Any = None, *, generator: Any = None,
           out: Tensor | None = None, dtype: Any = None, requires_grad: bool = False,
           device: Any = None) -> Tensor:
    """Samples of N(mean, std^2): elementwise for tensor ``mean``/``std`` (broadcast), or of
    shape ``size`` for two numbers. As in PyTorch the result requires grad where ``mean`` or
    ``std`` does, with gradient 0 (use ``mean + std * cr.randn(...)`` to differentiate)."""
    tm, ts = isinstance(mean, Tensor), isinstance(std, Tensor)
    rng = _gen(generator)
    if not tm and not ts:
        if size is None:
            raise TypeError(f"normal: with a number mean and std, give a size; the forms are "
                            f"{_NORMAL_FORMS}")
        dt = get_default_dtype() if dtype is None else normalize_dtype(dtype)
        arr = rng.normal(builtins.float(mean), builtins.float(std),
                         _shape_arg((size,) if isinstance(size, int) else size, "normal"))
        res = _finish(arr.astype(dt), requires_grad, "normal")
    else:
        if size is not None:
            raise TypeError(f"normal: size is only for a number mean and std; the forms are "
                            f"{_NORMAL_FORMS}")
        m = _as_tensor(mean) if tm else None
        s = _as_tensor(std) if ts else None
        like = m if m is not None else s
        assert like is not None  # tm or ts: one of them is a tensor
        dt = like._data.dtype if like._data.dtype.kind == "f" else get_default_dtype()
        md = m._data if m is not None else builtins.float(mean)
        sd = s._data if s is not None else builtins.float(std)
        if xp.any(xp.asarray(sd) < 0):
            raise ValueError("normal: std must be >= 0")
        shape = xp.broadcast_shapes(xp.shape(md), xp.shape(sd))
        res = _make(xp.asarray(rng.normal(md, sd, shape), dtype=dt))
        grads = [t for t in (m, s) if t is not None and t.requires_grad]
        if grads:  # PyTorch's NormalBackward: requires grad, gradient 0
            zero: Any = builtins.sum(t.sum() * 0.0 for t in grads)
            res = res + zero.to(dt)
    if out is not None:
        from .out_arg import write_out

        return write_out(out, res, "normal")
    return res


def multinomial(input: Any, num_samples: int, replacement: bool = False, *,
                generator: Any = None, out: Tensor | None = None) -> Tensor:
    """Indices drawn from the categories weighted by each row of ``input`` (1-D or 2-D,
    non-negative, not necessarily normalised), with or without replacement."""
    x = _as_tensor(input)
    a = x._data
    if a.ndim not in (1, 2):
        raise ValueError(f"multinomial: input must be 1-D or 2-D, got shape {tuple(x.shape)}")
    if a.dtype.kind != "f":
        raise TypeError(f"multinomial: input must be a float tensor of weights, got {x.dtype}")
    rows = a.reshape(-1, a.shape[-1]).astype(B.float64)
    n = rows.shape[1]
    if not xp.all(xp.isfinite(rows)) or xp.any(rows < 0):
        raise ValueError("multinomial: probabilities must be finite and >= 0")
    if xp.any(rows.sum(1) <= 0):
        raise ValueError("multinomial: each row of probabilities must have a positive sum")
    if not isinstance(num_samples, builtins.int) or num_samples <= 0:
        raise ValueError(f"multinomial: num_samples must be a positive int, got {num_samples!r}")
    if not replacement and num_samples > n:
        raise ValueError(
            f"multinomial: cannot draw {num_samples} samples without replacement from {n} "
            "categories; pass replacement=True or draw at most as many as there are categories")
    rng = _gen(generator)
    p = rows / rows.sum(1, keepdims=True)
    if replacement:
        cdf = xp.cumsum(p, 1)
        cdf[:, -1] = 1.0
        u = rng.random((rows.shape[0], num_samples))
        idx = xp.stack([xp.searchsorted(c, r, side="right") for c, r in zip(cdf, u)])
        idx = xp.minimum(idx, n - 1)
    else:
        # Exponential races (Efraimidis-Spirakis): the num_samples smallest E/p, in order.
        with xp.errstate(divide="ignore"):
            keys = rng.exponential(size=rows.shape) / p
        idx = xp.argsort(keys, axis=1, kind="stable")[:, :num_samples]
    res = _make(idx.reshape(a.shape[:-1] + (num_samples,)).astype(B.int64))
    if out is not None:
        from .out_arg import write_out

        return write_out(out, res, "multinomial")
    return res


def randint(*args: Any, size: Any = None, low: Any = None, high: Any = None,
            generator: Any = None, dtype: Any = None, requires_grad: bool = False,
            device: Any = None, out: Tensor | None = None) -> Tensor:
    """Integers uniform in [low, high): ``randint(high, size)`` or ``randint(low, high, size)``
    (int64 unless ``dtype`` says otherwise)."""
    pos = list(args)
    if pos and isinstance(pos[-1], (tuple, list)) or (pos and type(pos[-1]).__name__ == "Size"):
        if size is not None:
            raise TypeError("randint: size given twice")
        size = pos.pop()
    if len(pos) == 2:
        low, high = pos
    elif len(pos) == 1:
        if high is None:
            high = pos[0]
        else:
            low = pos[0]
    elif len(pos) > 2:
        raise TypeError(f"randint: expected randint(high, size) or randint(low, high, size), "
                        f"got {len(args)} positional arguments")
    if high is None or size is None:
        raise TypeError("randint: expected randint(high, size) or randint(low, high, size), "
                        f"got args {args!r}, size={size!r}, high={high!r} (size is required)")
    lo, hi = builtins.int(0 if low is None else low), builtins.int(high)
    if hi <= lo:
        raise RuntimeError(f"randint: expects low < high (samples are drawn from [low, high)), "
                           f"got low={lo}, high={hi}")
    shape = _shape_arg((size,) if isinstance(size, int) else size, "randint")
    arr = _gen(generator).integers(lo, hi, size=shape)
    res = _make(arr.astype(normalize_dtype(dtype) if dtype is not None else B.int64))
    if requires_grad:
        res.requires_grad_(True)
    if out is not None:
        from .out_arg import write_out

        return write_out(out, res, "randint")
    return res
