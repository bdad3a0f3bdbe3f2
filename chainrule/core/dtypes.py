"""dtypes: chainrule uses the backend's dtype objects, under PyTorch's names."""

from __future__ import annotations

import builtins as _builtins
from typing import Any

from .. import backend as B


class dtype:
    """A tensor's element type: PyTorch's ``torch.dtype``, backed by a NumPy dtype.

    ``print(x.dtype)`` shows ``torch.float32`` as PyTorch does, ``x.dtype == cr.float32`` and
    ``x.dtype is cr.float32`` hold, and it has PyTorch's attributes (``is_floating_point``,
    ``is_signed``, ``is_complex``, ``itemsize``). It is also a NumPy dtype everywhere NumPy
    takes one (``np.zeros(3, x.dtype)``, ``a.astype(x.dtype)``): NumPy reads the ``dtype``
    attribute, which costs about 30 ns more than a bare NumPy dtype. It compares and hashes
    equal to its NumPy dtype, so either can look up the other in a dict; NumPy's own dtype
    attributes ``kind``, ``char``, ``name``, ``type``, ``str`` are there too.

    >>> import chainrule as cr
    >>> x = cr.zeros(2)
    >>> print(x.dtype), x.dtype == cr.float32, x.dtype.is_floating_point, x.dtype.itemsize
    torch.float32
    (None, True, True, 4)
    """

    # NOTE: no __getattr__ forwarding to the NumPy dtype: NumPy probes protocol attributes
    # before it reads ``dtype``, and each miss through a __getattr__ raised an exception,
    # which made np.zeros(3, x.dtype) 1.5 us instead of 0.2 us. The NumPy attributes the
    # engine reads are copied into slots instead.
    __slots__ = ("dtype", "kind", "itemsize", "char", "name", "type", "str",
                 "is_floating_point", "is_signed", "is_complex")
    dtype: B.dtype[Any]  # what NumPy reads when it is given this object
    kind: str
    itemsize: _builtins.int
    char: str
    name: str
    type: Any
    str: str
    is_floating_point: _builtins.bool
    is_signed: _builtins.bool
    is_complex: _builtins.bool

    def __init__(self, np_dtype: Any) -> None:
        raise TypeError("cr.dtype cannot be constructed: use cr.float32, cr.float64, cr.int64, "
                        "cr.bool, ... (or cr.tensor(...).dtype)")

    def __repr__(self) -> _builtins.str:
        return "torch." + self.name

    def __eq__(self, other: Any) -> Any:
        if other.__class__ is dtype:
            return self.dtype == other.dtype
        try:
            return self.dtype == other
        except TypeError:
            return NotImplemented

    def __hash__(self) -> _builtins.int:
        return hash(self.dtype)

    def __reduce__(self) -> Any:
        return (_by_name, (self.dtype.name,))

    def to_real(self) -> _DType:
        return self

    def to_complex(self) -> _DType:
        raise TypeError(f"{self!r}: chainrule has no complex dtypes")


_WRAPPED: dict[Any, dtype] = {}


def wrap_dtype(np_dtype: Any) -> dtype:
    """The :class:`dtype` of a NumPy dtype (one object per dtype, so ``is`` works)."""
    w = _WRAPPED.get(np_dtype)
    if w is None:
        np_dtype = B.dtype(np_dtype)
        w = object.__new__(dtype)
        w.dtype = np_dtype
        w.kind = np_dtype.kind
        w.itemsize = np_dtype.itemsize
        w.char, w.name, w.type, w.str = np_dtype.char, np_dtype.name, np_dtype.type, np_dtype.str
        w.is_floating_point = np_dtype.kind == "f"
        w.is_complex = np_dtype.kind == "c"
        w.is_signed = np_dtype.kind in "fic"
        _WRAPPED[np_dtype] = w
    return w


def _by_name(name: str) -> dtype:
    return wrap_dtype(B.dtype(name))


float16 = half = wrap_dtype(B.float16)
float32 = float = wrap_dtype(B.float32)
float64 = double = wrap_dtype(B.float64)
int8 = wrap_dtype(B.int8)
int16 = short = wrap_dtype(B.int16)
int32 = int = wrap_dtype(B.int32)
int64 = long = wrap_dtype(B.int64)
uint8 = wrap_dtype(B.uint8)
bool = wrap_dtype(B.bool_)

_default = [B.float32]

_NAMES = {
    "float16": B.float16, "half": B.float16, "float32": B.float32, "float": B.float32,
    "float64": B.float64, "double": B.float64, "int8": B.int8, "int16": B.int16,
    "short": B.int16, "int32": B.int32, "int": B.int32, "int64": B.int64, "long": B.int64,
    "uint8": B.uint8, "bool": B.bool_,
}


def normalize_dtype(dtype: Any) -> Any:
    """The NumPy dtype of a dtype object, a name (``"float32"``, ``"torch.float32"``) or a
    Python type."""
    if dtype.__class__ is _DType:
        return dtype.dtype
    if dtype is _builtins.float:
        return _default[0]
    if dtype is _builtins.int:
        return B.int64
    if dtype is _builtins.bool:
        return B.bool_
    if isinstance(dtype, str):
        name = dtype.rsplit(".", 1)[-1]
        if name in _NAMES:
            return _NAMES[name]
    try:
        dt = B.dtype(dtype)
    except TypeError:
        raise TypeError(
            f"unknown dtype {dtype!r}; use cr.float32, cr.float64, cr.int64, cr.bool, ..."
        ) from None
    if dt.kind not in "fiub":
        raise TypeError(f"unsupported dtype {dt}; use a float, int or bool dtype")
    return dt


def dtype_name(dt: Any) -> str:
    """A tensor's dtype as error messages name it: PyTorch's ``torch.float32``, from a NumPy
    dtype or a :class:`dtype`. A NumPy dtype PyTorch has no name for (object, complex, a
    string) keeps NumPy's name.

    >>> import numpy as np
    >>> from chainrule.core.dtypes import dtype_name
    >>> dtype_name(np.dtype("int64")), dtype_name(np.dtype("U3"))
    ('torch.int64', '<U3')
    """
    np_dt = dt.dtype if dt.__class__ is _DType else B.dtype(dt)
    return "torch." + np_dt.name if np_dt.name in _NAMES else str(np_dt)


def set_default_dtype(dtype: Any) -> None:
    """Set the dtype that Python floats become (float32 unless changed).

    >>> import chainrule as cr
    >>> cr.set_default_dtype(cr.float64); cr.tensor([1.5]).dtype
    torch.float64
    >>> cr.set_default_dtype(cr.float32)
    """
    dt = normalize_dtype(dtype)
    if dt.kind != "f":
        raise TypeError(f"set_default_dtype: the default must be a float dtype, got "
                        f"{dtype_name(dt)}")
    _default[0] = dt


def get_default_dtype() -> dtype:
    return wrap_dtype(_default[0])


_DType = dtype


class finfo:
    """Machine limits of a float dtype, as ``torch.finfo`` (Python floats; default: the
    default dtype).

    >>> import chainrule as cr
    >>> cr.finfo(cr.float32).eps
    1.1920928955078125e-07
    """

    def __init__(self, type: Any = None) -> None:
        dt = _default[0] if type is None else normalize_dtype(type)
        if dt.kind != "f":
            raise TypeError(f"cr.finfo: {wrap_dtype(dt)!r} is not a floating point dtype; use "
                            "cr.iinfo for integer dtypes")
        info = B.finfo(dt)
        self.bits = _builtins.int(info.bits)
        self.eps, self.max, self.min = (_builtins.float(info.eps), _builtins.float(info.max),
                                        _builtins.float(info.min))
        self.tiny = self.smallest_normal = _builtins.float(info.smallest_normal)
        self.resolution = 10.0 ** -_builtins.int(info.precision)  # as PyTorch: exact power of 10
        self.dtype = dt.name

    def __repr__(self) -> str:
        return (f"finfo(resolution={self.resolution:g}, min={self.min:g}, max={self.max:g}, "
                f"eps={self.eps:g}, smallest_normal={self.smallest_normal:g}, "
                f"tiny={self.tiny:g}, dtype={self.dtype})")


class iinfo:
    """Machine limits of an integer dtype, as ``torch.iinfo`` (Python ints).

    >>> import chainrule as cr
    >>> cr.iinfo(cr.uint8).max
    255
    """

    def __init__(self, type: Any) -> None:
        dt = normalize_dtype(type)
        if dt.kind not in "iu":
            raise TypeError(f"cr.iinfo: {wrap_dtype(dt)!r} is not an integer dtype; use "
                            "cr.finfo for floating point dtypes")
        info = B.iinfo(dt)
        self.bits = _builtins.int(info.bits)
        self.min, self.max = _builtins.int(info.min), _builtins.int(info.max)
        self.dtype = dt.name

    def __repr__(self) -> str:
        return f"iinfo(min={self.min:g}, max={self.max:g}, dtype={self.dtype})"
