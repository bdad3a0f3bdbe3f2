"""The Tensor class and its fast constructor ``_make``: the bottom of the engine.

A tensor holds its values (``_data``, an array of the backend), ``_node`` (None for a
constant, an :class:`~chainrule.core.graph.AccumulateGrad` for a leaf that requires grad,
the op's node otherwise), a version counter ``_vc`` shared with its views and bumped by
every in-place change, and ``grad``.

This module depends only on the backend, dtypes and compat, so that ``graph`` (the ``apply``
funnel and the backward engine) can import it normally. The class here carries the methods
that need nothing above it (attributes, conversions, construction); the methods written
with the graph or the tensor functions (autograd, in-place ops, operators, ``x.sum()``...)
are attached to it in one place, :mod:`chainrule.core.tensor`, which every import of
``chainrule`` runs.
"""

from __future__ import annotations

import builtins

from typing import TYPE_CHECKING, Any, Iterator

from .. import backend as B
from ..backend import ndarray, xp
from .compat import Size as _Size
from .compat import device as _device
from .dtypes import dtype_name, get_default_dtype, normalize_dtype, wrap_dtype

if TYPE_CHECKING:  # pragma: no cover
    from .graph import Node
    from .tensor import _TensorMethods as _Attached  # what tensor.py attaches, for type checkers
else:
    _Attached = object

_object_new = object.__new__
_refresh: Any = None  # views.refresh(view): regenerate a stale view's node (set by views.py)


def _make(data: ndarray, node: Node | None = None) -> Tensor:
    """Wrap an array without copying or checking (the hot path of every op)."""
    t = _object_new(Tensor)
    t._data = data
    t._node = node
    t._vc = [0]
    t._base = None
    t.grad = None
    return t


def _rebuild(cls: type, data: ndarray, requires_grad: bool) -> Tensor:
    """A fresh leaf of class ``cls`` (Tensor or a subclass) holding ``data``."""
    t: Tensor = _object_new(cls)
    t._data = data
    t._node = None
    t._vc = [0]
    t._base = None
    t.grad = None
    if requires_grad:
        t.requires_grad_(True)
    return t


def _check_grad_dtype(dt: Any, where: str) -> None:
    if dt.kind != "f":
        raise TypeError(
            f"{where}: only floating-point tensors can require gradients, got dtype "
            f"{dtype_name(dt)}. "
            "Create it with a float dtype (dtype=cr.float32) or convert it with .float()."
        )


def _to_array(data: Any, dtype: Any = None) -> ndarray:
    """Convert user data: NumPy arrays keep their dtype, Python floats get the default."""
    dt = normalize_dtype(dtype) if dtype is not None else None
    if isinstance(data, Tensor):
        arr = data._data
        return arr.astype(dt) if dt is not None else arr.copy()
    if isinstance(data, (ndarray, B.generic)):
        arr = xp.array(data, dtype=dt, copy=True)
    else:
        if isinstance(data, (list, tuple)):
            data = _unwrap_nested(data)
        try:
            arr = xp.asarray(data)
        except ValueError:
            raise ValueError(_ragged(data)) from None
        if arr.dtype == object:
            raise TypeError(
                f"tensor: cannot make a tensor from {type(data).__name__} data: {data!r:.80}")
        if dt is not None:
            arr = arr.astype(dt)
        elif arr.dtype.kind == "f":
            arr = arr.astype(get_default_dtype())
        elif arr.dtype.kind in "iu":
            arr = arr.astype(B.int64)
        else:
            arr = arr.copy() if arr.base is not None else arr
    if arr.dtype.kind not in "fiub":
        kind = _KINDS.get(arr.dtype.kind, "this")
        raise TypeError(f"tensor: cannot make a tensor of {kind} data (NumPy dtype {arr.dtype}): "
                        f"{data!r:.60}; use float, int or bool data")
    return arr


def _ragged(data: Any) -> str:
    """The message for nested sequences that do not form a grid, as PyTorch words it."""

    def walk(x: Any, dim: int, path: str) -> str | None:
        if not isinstance(x, (list, tuple)) or not x:
            return None
        seq = [isinstance(e, (list, tuple, ndarray)) for e in x]
        if any(seq) and not all(seq):
            k = seq.index(not seq[0])
            return (f"{path}[0] is {'a sequence' if seq[0] else 'a number'} but {path}[{k}] "
                    f"is {x[k]!r:.40}")
        if not seq[0]:
            return None
        n = len(x[0])
        for k, e in enumerate(x):
            if len(e) != n:
                return (f"expected sequence of length {n} at dim {dim + 1} (got {len(e)}) at "
                        f"{path}[{k}]")
        for k, e in enumerate(x):
            found = walk(list(e), dim + 1, f"{path}[{k}]")
            if found:
                return found
        return None

    why = walk(list(data), 0, "data") or "the nested sequences do not form a grid"
    return (f"tensor: {why}; every row must have the same length (pad shorter rows, e.g. "
            "with nn.utils.rnn.pad_sequence, or make one tensor per row)")


_KINDS = {"U": "str", "S": "bytes", "c": "complex", "M": "datetime", "m": "timedelta"}


def _unwrap_nested(data: Any) -> Any:
    if isinstance(data, Tensor):
        return data._data
    if isinstance(data, (list, tuple)):
        return [_unwrap_nested(d) for d in data]
    return data



class Tensor(_Attached):
    """An n-dimensional array that records the operations applied to it.

    >>> import chainrule as cr
    >>> x = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    >>> y = (x * x).sum()        # forward: y = sum(x^2)
    >>> y.backward()             # backward: dy/dx = 2x
    >>> x.grad
    tensor([2., 4., 6.])
    """

    # _vstep, _vver: for views (_base is not None) only, see core/views.py
    __slots__ = ("_data", "_node", "_vc", "_base", "_vstep", "_vver", "grad", "__weakref__")
    __array_priority__ = 1000  # NumPy defers to our reflected operators

    _data: ndarray
    _node: Node | None
    _vc: list[int]
    _base: Tensor | None
    _vstep: Any  # the view's node (core/views.py)
    _vver: int | None  # the base's version when the view's node was made
    grad: Tensor | None

    def __init__(self, *args: Any, dtype: Any = None, requires_grad: bool = False,
                 device: Any = None) -> None:
        """``Tensor(data)`` or, as PyTorch's legacy constructor, ``Tensor(*sizes)`` (zeros).

        As in PyTorch, the result has the default float dtype unless ``dtype`` says otherwise
        (``cr.tensor`` is the factory that keeps the data's dtype).
        """
        if len(args) == 1 and isinstance(args[0], _Size):
            args = tuple(args[0])
        if args and all(isinstance(a, int) and not isinstance(a, bool) for a in args):
            self._data = xp.zeros(args, get_default_dtype() if dtype is None
                                  else normalize_dtype(dtype))
        else:
            if len(args) > 1:
                raise TypeError(
                    f"Tensor(*args): expected data or integer sizes, got {len(args)} arguments; "
                    "use cr.tensor(data) to make a tensor from data")
            data = args[0] if args else ()
            arr = _to_array(data, dtype)
            if dtype is None and arr.dtype.kind != "f":
                arr = arr.astype(get_default_dtype())
            self._data = arr
        self._node = None
        self._vc = [0]
        self._base = None
        self.grad = None
        if requires_grad:
            self.requires_grad_(True)

    # -- attributes -------------------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        return _Size(self._data.shape)  # a tuple that prints as torch.Size([2, 3])

    @property
    def ndim(self) -> int:
        return self._data.ndim

    @property
    def dtype(self) -> Any:
        return wrap_dtype(self._data.dtype)

    @property
    def device(self) -> Any:
        """Always the CPU: ``device(type='cpu')`` (equal to the string ``"cpu"``)."""
        return _CPU

    is_cuda = False
    is_sparse = False
    is_quantized = False
    is_meta = False

    @property
    def requires_grad(self) -> bool:
        if self._base is not None and self._vver != self._vc[0]:
            _refresh(self)  # a view whose base changed in place (see core/views.py)
        return self._node is not None

    @requires_grad.setter
    def requires_grad(self, flag: bool) -> None:
        self.requires_grad_(flag)

    @property
    def _version(self) -> int:
        return self._vc[0]

    def dim(self) -> int:
        return self._data.ndim

    def numel(self) -> int:
        return int(self._data.size)

    nelement = numel

    def ndimension(self) -> int:
        return self._data.ndim

    def get_device(self) -> int:
        return -1  # PyTorch's answer for a CPU tensor

    def element_size(self) -> int:
        return int(self._data.itemsize)

    def __len__(self) -> int:
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    # -- conversion -------------------------------------------------------------------------
    def numpy(self, *, force: bool = False) -> ndarray:
        """The values as an array (shares memory with the tensor).

        As in PyTorch, a tensor that requires grad must be detached first (``force=True``
        returns a copy instead).
        """
        if self._node is not None:
            if force:
                return self._data.copy()
            raise RuntimeError(
                "Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() "
                f"instead. (shape {tuple(self._data.shape)})")
        return self._data

    def __array__(self, dtype: Any = None, copy: Any = None) -> ndarray:
        return self._data if dtype is None else self._data.astype(dtype)

    def item(self) -> Any:
        if self._data.size != 1:
            raise ValueError(
                f"item: only a tensor with one element can be converted to a Python number, "
                f"this one has shape {self._data.shape}"
            )
        return self._data.item()

    def tolist(self) -> Any:
        return self._data.tolist()

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        if self._data.dtype.kind not in "iu":
            raise TypeError(f"only integer tensors can be used as an index, got {self.dtype}")
        return int(self.item())

    def __bool__(self) -> bool:
        if self._data.size != 1:
            raise RuntimeError(
                f"the truth value of a tensor with {self._data.size} elements is ambiguous; "
                "use .any() or .all()"
            )
        return bool(self._data.item())

    def __iter__(self) -> Iterator[Tensor]:
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self._data.shape[0]))

    # identity hashing (tensors key optimizer state), in C: no Python frame per dict lookup
    __hash__ = object.__hash__

    def __reduce_ex__(self, protocol: Any) -> Any:
        # NOTE: values and requires_grad only: a graph (and its weak references) is not data.
        return (_rebuild, (type(self), self._data, self.is_leaf and self._node is not None))

    def __repr__(self) -> str:
        body = xp.array2string(self._data, separator=", ", precision=4, prefix="tensor(",
                               threshold=1000, floatmode=_floatmode(self._data),  # type: ignore[arg-type]
                               max_line_width=81)  # = PyTorch wrapping at 80
        extra = []
        if self._data.dtype not in (get_default_dtype(), B.int64, B.bool_):
            extra.append(f"dtype=torch.{self._data.dtype}")  # as PyTorch prints it
        if self.grad_fn is not None:
            extra.append(f"grad_fn={self.grad_fn!r}")
        elif self.requires_grad:
            extra.append("requires_grad=True")
        return "tensor(" + body + "".join(", " + e for e in extra) + ")"

    def float(self) -> Tensor:
        return self.to(B.float32)

    def double(self) -> Tensor:
        return self.to(B.float64)

    def half(self) -> Tensor:
        return self.to(B.float16)

    def long(self) -> Tensor:
        return self.to(B.int64)

    def int(self) -> Tensor:
        return self.to(B.int32)

    def bool(self) -> Tensor:
        return self.to(B.bool_)

    def cpu(self) -> Tensor:
        return self

    def is_floating_point(self) -> builtins.bool:
        return self._data.dtype.kind == "f"

    # -- new tensors like this one ------------------------------------------------------------
    def _new(self, arr: ndarray, requires_grad: builtins.bool) -> Tensor:
        t = _make(arr)
        if requires_grad:
            t.requires_grad_(True)
        return t

    def new_tensor(self, data: Any, dtype: Any = None, requires_grad: builtins.bool = False,
                   device: Any = None) -> Tensor:
        """A new tensor from ``data``, with this tensor's dtype unless ``dtype`` is given."""
        return self._new(_to_array(data, self.dtype if dtype is None else dtype), requires_grad)

    def new_full(self, size: Any, fill_value: Any, dtype: Any = None,
                 requires_grad: builtins.bool = False, device: Any = None) -> Tensor:
        dt = self.dtype if dtype is None else normalize_dtype(dtype)
        shape = (size,) if isinstance(size, int) else tuple(size)
        return self._new(xp.full(shape, fill_value, dt), requires_grad)

    def detach(self) -> Tensor:
        """The same values, cut from the graph (shares memory and version counter)."""
        t = _make(self._data)
        t._vc = self._vc
        return t

    def detach_(self) -> Tensor:
        self._node = None
        return self

    def zero_(self) -> Tensor:
        return self.fill_(0)

    def __pos__(self) -> Tensor:
        return self


_CPU = _device("cpu")


def _floatmode(a: ndarray) -> str:
    """PyTorch's printing: 4 decimals for floats ('0.5000'), none for whole numbers ('2.')."""
    if a.dtype.kind != "f" or a.size == 0:
        return "maxprec_equal"
    finite = a[xp.isfinite(a)]
    return "maxprec_equal" if bool((finite == xp.round(finite)).all()) else "fixed"
