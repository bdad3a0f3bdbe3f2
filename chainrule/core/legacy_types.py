"""PyTorch's legacy tensor types: ``cr.FloatTensor(data)``, ``cr.LongTensor(n)``, ``x.type()``.

Old programs (and many tutorials) build tensors with ``torch.FloatTensor([1, 2])`` or
``torch.LongTensor(batch_size)`` (the shape form: uninitialised in PyTorch, zeros here), check
``isinstance(x, torch.FloatTensor)`` and convert with ``x.type(torch.DoubleTensor)``. As in
PyTorch, these are not subclasses of Tensor: every tensor is a ``Tensor``, and a legacy type
is an ``isinstance`` test on its dtype and a constructor with that dtype.

>>> import chainrule as cr
>>> x = cr.FloatTensor([1, 2]); x, x.type()
(tensor([1., 2.]), 'torch.FloatTensor')
>>> cr.LongTensor(3).shape
torch.Size([3])
>>> isinstance(x, cr.FloatTensor), isinstance(x, cr.DoubleTensor)
(True, False)
>>> x.type(cr.DoubleTensor).dtype
torch.float64
"""

from __future__ import annotations

from typing import Any

from .. import backend as B
from .dtypes import normalize_dtype, wrap_dtype
from .tensor import Tensor

__all__ = ["LEGACY_TYPES", "type_method", "type_name"]


class _LegacyTensorType(type):
    """The metaclass of the legacy types: construction and ``isinstance`` by dtype."""

    dtype: Any

    def __instancecheck__(cls, obj: Any) -> bool:
        return isinstance(obj, Tensor) and obj.dtype == cls.dtype

    def __subclasscheck__(cls, sub: Any) -> bool:
        return sub is cls

    def __call__(cls, *args: Any, **kwargs: Any) -> Tensor:  # type: ignore[override]
        """``T(data)``, ``T(*sizes)`` / ``T(Size)`` (zeros), ``T()`` (empty), ``T(tensor)``."""
        bad = sorted(set(kwargs) - {"device"})
        if bad:
            raise TypeError(
                f"torch.{cls.__name__}() got unexpected keyword argument(s) {bad}: the legacy "
                f"constructor takes data or sizes only; use cr.tensor(data, dtype={cls.dtype_name}"
                ", requires_grad=True) for a tensor that requires grad")
        if not args:
            return Tensor(0, dtype=cls.dtype)
        if len(args) == 1 and isinstance(args[0], Tensor):
            return args[0] if args[0].dtype == cls.dtype else args[0].to(cls.dtype)
        return Tensor(*args, dtype=cls.dtype)

    def __repr__(cls) -> str:
        return f"<class 'torch.{cls.__name__}'>"

    @property
    def dtype_name(cls) -> str:
        return "cr." + cls.dtype.name


def _legacy(name: str, dtype: Any) -> Any:
    return _LegacyTensorType(name, (), {"dtype": wrap_dtype(dtype), "__module__": "torch",
                                         "__doc__": f"Legacy constructor of {dtype} tensors."})


LEGACY_TYPES: dict[str, Any] = {
    name: _legacy(name, dt) for name, dt in (
        ("FloatTensor", B.float32), ("DoubleTensor", B.float64), ("HalfTensor", B.float16),
        ("LongTensor", B.int64), ("IntTensor", B.int32), ("ShortTensor", B.int16),
        ("CharTensor", B.int8), ("ByteTensor", B.uint8), ("BoolTensor", B.bool_))
}
_BY_DTYPE = {t.dtype: t for t in LEGACY_TYPES.values()}


def type_name(dtype: Any) -> str:
    """``'torch.FloatTensor'`` for float32, and so on."""
    return "torch." + _BY_DTYPE[normalize_dtype(dtype)].__name__


def type_method(self: Tensor, dtype: Any = None, non_blocking: bool = False,
                **kwargs: Any) -> Any:
    """``x.type()``: the type's name; ``x.type(T)``: x converted (``T`` a legacy type, its name
    as a string, or a dtype); x itself when it already has that type."""
    if dtype is None:
        return type_name(self.dtype)
    if isinstance(dtype, _LegacyTensorType):
        dtype = dtype.dtype
    elif isinstance(dtype, str) and dtype.startswith("torch.cuda."):
        from .compat import CPU_ONLY, UnsupportedError

        raise UnsupportedError(f"x.type({dtype!r}) is not supported: {CPU_ONLY}")
    elif isinstance(dtype, str) and dtype.rsplit(".", 1)[-1] in LEGACY_TYPES:
        dtype = LEGACY_TYPES[dtype.rsplit(".", 1)[-1]].dtype
    return self.to(dtype)
