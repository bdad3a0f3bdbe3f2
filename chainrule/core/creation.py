"""Tensor factories and seeded randomness.

Random factories draw from ``generator`` when given, otherwise from the global generator
that :func:`manual_seed` resets: the same seed gives the same numbers.
"""

from __future__ import annotations

from typing import Any

from .. import backend as B
from ..backend import xp
from .dtypes import dtype_name, get_default_dtype, normalize_dtype
from .ops.convert import _new_size
from .tensor_class import Tensor, _check_grad_dtype, _make, _to_array


class Generator:
    """A source of random numbers with its own state (PCG64 underneath).

    >>> import chainrule as cr
    >>> g = cr.Generator().manual_seed(0)
    >>> cr.randn(2, generator=g).shape
    torch.Size([2])
    """

    def __init__(self, seed: int | None = None) -> None:
        self._rng: Any = None  # NOTE: created on first use: numpy.random costs 12 ms to import
        self._seed = seed

    @property
    def rng(self) -> Any:
        if self._rng is None:
            self._rng = B.new_generator(self._seed)
        return self._rng

    @rng.setter
    def rng(self, value: Any) -> None:
        self._rng = value

    def manual_seed(self, seed: int) -> Generator:
        self._rng = B.new_generator(int(seed))
        self._seed = int(seed)
        return self

    def initial_seed(self) -> int | None:
        return self._seed

    def get_state(self) -> dict:
        return self.rng.bit_generator.state

    def set_state(self, state: dict) -> None:
        self.rng.bit_generator.state = state


default_generator = Generator(0)


def manual_seed(seed: int) -> Generator:
    """Reseed the global generator (used by every random factory without ``generator=``)."""
    return default_generator.manual_seed(seed)


def seed() -> int:
    entropy: Any = xp.random.SeedSequence().entropy  # an int when no entropy was given
    s = int(entropy % (2 ** 63))
    default_generator.manual_seed(s)
    return s


def _finish(arr: Any, requires_grad: bool, op: str) -> Tensor:
    t = _make(arr)
    if requires_grad:
        _check_grad_dtype(arr.dtype, op)
        t.requires_grad_(True)
    return t


def _dt(dtype: Any) -> Any:
    return get_default_dtype() if dtype is None else normalize_dtype(dtype)


def tensor(data: Any, dtype: Any = None, requires_grad: bool = False, device: Any = None) -> Tensor:
    """A new tensor holding a copy of ``data``.

    Python floats become the default dtype (float32); NumPy arrays keep their dtype.

    >>> import chainrule as cr
    >>> cr.tensor([1.0, 2.0]).dtype, cr.tensor([1, 2]).dtype
    (torch.float32, torch.int64)
    """
    return _finish(_to_array(data, dtype), requires_grad, "tensor")


def as_tensor(data: Any, dtype: Any = None) -> Tensor:
    if isinstance(data, Tensor) and (dtype is None or normalize_dtype(dtype) == data._data.dtype):
        return data
    return tensor(data, dtype)


def from_numpy(arr: Any) -> Tensor:
    """A tensor sharing memory with a NumPy array."""
    return _make(xp.asarray(arr))


def zeros(*size: Any, dtype: Any = None, requires_grad: bool = False, device: Any = None) -> Tensor:
    return _finish(xp.zeros(_new_size(size, "zeros"), _dt(dtype)), requires_grad, "zeros")


def ones(*size: Any, dtype: Any = None, requires_grad: bool = False, device: Any = None) -> Tensor:
    return _finish(xp.ones(_new_size(size, "ones"), _dt(dtype)), requires_grad, "ones")


def empty(*size: Any, dtype: Any = None, requires_grad: bool = False, device: Any = None) -> Tensor:
    return zeros(*size, dtype=dtype, requires_grad=requires_grad)


def full(size: Any, fill_value: Any, dtype: Any = None, requires_grad: bool = False,
         device: Any = None) -> Tensor:
    if dtype is None:
        dtype = _to_array(fill_value).dtype
    shp = _new_size((size,) if not isinstance(size, (list, tuple)) else (tuple(size),), "full")
    return _finish(xp.full(shp, fill_value, normalize_dtype(dtype)), requires_grad, "full")


def eye(n: int, m: int | None = None, dtype: Any = None, requires_grad: bool = False,
        device: Any = None) -> Tensor:
    return _finish(xp.eye(n, m, dtype=_dt(dtype)), requires_grad, "eye")


def arange(start: Any, end: Any = None, step: Any = 1, dtype: Any = None,
           requires_grad: bool = False, device: Any = None) -> Tensor:
    """Values from start (default 0) up to, not including, end.

    >>> import chainrule as cr
    >>> cr.arange(3), cr.arange(0, 1, 0.25)
    (tensor([0, 1, 2]), tensor([0.0000, 0.2500, 0.5000, 0.7500]))
    """
    if end is None:
        start, end = 0, start
    if step == 0:
        raise RuntimeError(f"arange: step must be nonzero, got {step!r}")
    if (end - start) * step < 0:
        raise RuntimeError(f"arange: the step {step!r} has the wrong sign to go from {start!r} "
                           f"to {end!r} (upper bound and lower bound inconsistent with step sign)")
    arr = xp.arange(start, end, step)
    if dtype is not None:
        arr = arr.astype(normalize_dtype(dtype))
    elif arr.dtype.kind == "f":
        arr = arr.astype(get_default_dtype())
    else:
        arr = arr.astype(B.int64)
    return _finish(arr, requires_grad, "arange")


def linspace(start: float, end: float, steps: int, dtype: Any = None,
             requires_grad: bool = False, device: Any = None) -> Tensor:
    return _finish(xp.linspace(start, end, steps, dtype=_dt(dtype)), requires_grad, "linspace")


def _gen(generator: Generator | None) -> Any:
    return (generator or default_generator).rng


def _float_dt(dtype: Any, op: str) -> Any:
    """The dtype of a continuous random factory: a floating-point one (PyTorch raises for
    an integer dtype; NumPy would silently truncate the samples to zeros)."""
    dt = _dt(dtype)
    if dt.kind != "f":
        raise RuntimeError(f"{op}: samples a continuous distribution, so it needs a "
                           f"floating-point dtype, got {dtype_name(dt)} (use cr.randint for "
                           "integers)")
    return dt


def rand(*size: Any, generator: Generator | None = None, dtype: Any = None,
         requires_grad: bool = False, device: Any = None) -> Tensor:
    """Uniform samples in [0, 1)."""
    arr = _gen(generator).random(_new_size(size, "rand")).astype(_float_dt(dtype, "rand"))
    return _finish(arr, requires_grad, "rand")


def randn(*size: Any, generator: Generator | None = None, dtype: Any = None,
          requires_grad: bool = False, device: Any = None) -> Tensor:
    """Standard normal samples.

    >>> import chainrule as cr
    >>> _ = cr.manual_seed(0); a = cr.randn(3)
    >>> _ = cr.manual_seed(0); bool((a == cr.randn(3)).all())
    True
    """
    dt = _float_dt(dtype, "randn")
    arr = _gen(generator).standard_normal(_new_size(size, "randn")).astype(dt)
    return _finish(arr, requires_grad, "randn")


def randperm(n: int, generator: Generator | None = None, dtype: Any = None,
             device: Any = None) -> Tensor:
    return _make(_gen(generator).permutation(n).astype(B.int64))


def _like(x: Tensor, dtype: Any) -> Any:
    return x._data.dtype if dtype is None else normalize_dtype(dtype)


def zeros_like(x: Tensor, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return _finish(xp.zeros(x.shape, _like(x, dtype)), requires_grad, "zeros_like")


def ones_like(x: Tensor, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return _finish(xp.ones(x.shape, _like(x, dtype)), requires_grad, "ones_like")


def full_like(x: Tensor, fill_value: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return _finish(xp.full(x.shape, fill_value, _like(x, dtype)), requires_grad, "full_like")


def empty_like(x: Tensor, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return zeros_like(x, dtype, requires_grad)


def rand_like(x: Tensor, dtype: Any = None, requires_grad: bool = False,
              generator: Generator | None = None) -> Tensor:
    return rand(*x.shape, generator=generator, dtype=_like(x, dtype), requires_grad=requires_grad)


def randn_like(x: Tensor, dtype: Any = None, requires_grad: bool = False,
               generator: Generator | None = None) -> Tensor:
    return randn(*x.shape, generator=generator, dtype=_like(x, dtype), requires_grad=requires_grad)
