"""The Tensor: an array, plus the node of the graph that produced it.

A tensor holds its values (``_data``, an array of the backend), ``_node`` (None for a
constant, an :class:`~chainrule.core.graph.AccumulateGrad` for a leaf that requires grad,
the op's node otherwise), a version counter ``_vc`` shared with its views and bumped by
every in-place change, and ``grad``.
"""

from __future__ import annotations

from typing import Any, Iterator, Sequence

from .. import backend as B
from ..backend import ndarray, xp
from . import graph
from .dtypes import get_default_dtype, normalize_dtype
from .graph import AccumulateGrad, GraphError, Node

_object_new = object.__new__


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
    t = _object_new(cls)
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
            f"{where}: only floating-point tensors can require gradients, got dtype {dt}. "
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
        arr = xp.asarray(data)
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
        raise TypeError(f"tensor: unsupported dtype {arr.dtype}; use a float, int or bool dtype")
    return arr


def _unwrap_nested(data: Any) -> Any:
    if isinstance(data, Tensor):
        return data._data
    if isinstance(data, (list, tuple)):
        return [_unwrap_nested(d) for d in data]
    return data


class Tensor:
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
        return self._data.shape

    @property
    def ndim(self) -> int:
        return self._data.ndim

    @property
    def dtype(self) -> Any:
        return self._data.dtype

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
            _views.refresh(self)
        return self._node is not None

    @requires_grad.setter
    def requires_grad(self, flag: bool) -> None:
        self.requires_grad_(flag)

    @property
    def is_leaf(self) -> bool:
        return self._node is None or self._node.__class__ is AccumulateGrad

    @property
    def grad_fn(self) -> Node | None:
        if self._base is not None and self._vver != self._vc[0]:
            _views.refresh(self)
        n = self._node
        return None if n is None or n.__class__ is AccumulateGrad else n

    @property
    def data(self) -> Tensor:
        """The values without the graph; shares memory *and* the version counter.

        NOTE: unlike PyTorch's ``.data``, an in-place change through it is still seen by the
        version check, so it cannot silently corrupt a gradient.
        """
        t = _make(self._data)
        t._vc = self._vc
        return t

    @data.setter
    def data(self, value: Any) -> None:
        arr = value._data if isinstance(value, Tensor) else _to_array(value)
        self._data = arr
        self._vc[0] += 1
        if self._node.__class__ is AccumulateGrad:
            self._node.shape = arr.shape  # type: ignore[union-attr]
            self._node.dtype = arr.dtype  # type: ignore[union-attr]

    @property
    def _version(self) -> int:
        return self._vc[0]

    @property
    def T(self) -> Tensor:
        return _F.permute(self, tuple(range(self.ndim - 1, -1, -1)))

    @property
    def mT(self) -> Tensor:
        return _F.transpose(self, -2, -1)

    @property
    def retains_grad(self) -> bool:
        n = self._node
        return n is not None and n.__class__ is not AccumulateGrad and any(
            h.__class__ is graph.RetainGrad for h in (n.hooks or ()))

    def size(self, dim: int | None = None) -> Any:
        if dim is None:
            return self._data.shape
        return self._data.shape[_F._dim(dim, self.ndim, "size")]

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
                f"this one has shape {self.shape}"
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

    def __hash__(self) -> int:
        return id(self)

    def __deepcopy__(self, memo: dict) -> Tensor:
        if not self.is_leaf:
            raise GraphError(
                "deepcopy: only leaf tensors can be deep-copied; this one was computed by an op "
                "and carries a graph. Use x.detach().clone() for its values."
            )
        new = _rebuild(type(self), self._data.copy(), self._node is not None)
        memo[id(self)] = new
        if self.grad is not None:
            new.grad = self.grad.__deepcopy__(memo)
        return new

    def __reduce_ex__(self, protocol: Any) -> Any:
        # NOTE: values and requires_grad only: a graph (and its weak references) is not data.
        return (_rebuild, (type(self), self._data, self.is_leaf and self._node is not None))

    def __repr__(self) -> str:
        body = xp.array2string(self._data, separator=", ", precision=4,
                               prefix="tensor(", threshold=1000)
        extra = []
        if self._data.dtype not in (get_default_dtype(), B.int64, B.bool_):
            extra.append(f"dtype={self._data.dtype}")
        if self.grad_fn is not None:
            extra.append(f"grad_fn={self.grad_fn!r}")
        elif self.requires_grad:
            extra.append("requires_grad=True")
        return "tensor(" + body + "".join(", " + e for e in extra) + ")"

    def to(self, *args: Any, **kwargs: Any) -> Tensor:
        """``to(dtype)``, ``to("cpu")``, ``to(other_tensor)``; the device is always the CPU."""
        dtype = kwargs.pop("dtype", None)
        for a in list(args) + [kwargs.pop("device", None)]:
            if a is None:
                continue
            if isinstance(a, Tensor):
                dtype = a.dtype
            elif isinstance(a, str) and a.split(":")[0] in ("cpu",):
                continue
            elif isinstance(a, str) and a.split(":")[0] in ("cuda", "mps"):
                from .compat import CPU_ONLY, UnsupportedError

                raise UnsupportedError(f"to({a!r}) is not supported: {CPU_ONLY}")
            else:
                dtype = a
        if dtype is None:
            return self
        dtype = normalize_dtype(dtype)
        if dtype == self._data.dtype:
            return self
        return _F.cast(self, dtype)

    def type(self, dtype: Any = None) -> Any:
        if dtype is None:
            return str(self.dtype)
        return self.to(dtype)

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

    def is_floating_point(self) -> bool:
        return self._data.dtype.kind == "f"

    # -- new tensors like this one ------------------------------------------------------------
    def _new(self, arr: ndarray, requires_grad: bool) -> Tensor:
        t = _make(arr)
        if requires_grad:
            t.requires_grad_(True)
        return t

    def new_tensor(self, data: Any, dtype: Any = None, requires_grad: bool = False,
                   device: Any = None) -> Tensor:
        """A new tensor from ``data``, with this tensor's dtype unless ``dtype`` is given."""
        return self._new(_to_array(data, self.dtype if dtype is None else dtype), requires_grad)

    def new_zeros(self, *size: Any, dtype: Any = None, requires_grad: bool = False,
                  device: Any = None) -> Tensor:
        return self.new_full(_F._shape_arg(size, "new_zeros"), 0, dtype=dtype,
                             requires_grad=requires_grad)

    def new_ones(self, *size: Any, dtype: Any = None, requires_grad: bool = False,
                 device: Any = None) -> Tensor:
        return self.new_full(_F._shape_arg(size, "new_ones"), 1, dtype=dtype,
                             requires_grad=requires_grad)

    def new_empty(self, *size: Any, dtype: Any = None, requires_grad: bool = False,
                  device: Any = None) -> Tensor:
        return self.new_full(_F._shape_arg(size, "new_empty"), 0, dtype=dtype,
                             requires_grad=requires_grad)

    def new_full(self, size: Any, fill_value: Any, dtype: Any = None,
                 requires_grad: bool = False, device: Any = None) -> Tensor:
        dt = self.dtype if dtype is None else normalize_dtype(dtype)
        shape = (size,) if isinstance(size, int) else tuple(size)
        return self._new(xp.full(shape, fill_value, dt), requires_grad)

    # -- random fills (initialisers: w.data.normal_(0, 0.02)) ------------------------------
    def normal_(self, mean: float = 0.0, std: float = 1.0, generator: Any = None) -> Tensor:
        """Fill with samples of N(mean, std^2), in place, from the global (or given) generator."""
        rng = _rng(generator)
        return self._fill_random(
            "normal_", lambda shape: rng.normal(mean, std, shape))

    def uniform_(self, a: float = 0.0, b: float = 1.0, generator: Any = None) -> Tensor:
        """Fill with samples of U(a, b), in place."""
        rng = _rng(generator)
        return self._fill_random("uniform_", lambda shape: rng.uniform(a, b, shape))

    def _fill_random(self, op: str, draw: Any) -> Tensor:
        if self._data.dtype.kind != "f":
            raise TypeError(f"{op}: needs a floating-point tensor, got {self.dtype}")
        if graph._grad_enabled and self._node is not None:
            raise GraphError(
                f"{op}: a tensor that requires grad (shape {self.shape}) is being filled in "
                "place; do it under `with cr.no_grad():` (or on .data)"
            )
        self._data[...] = draw(self._data.shape)
        self._vc[0] += 1
        return self

    # -- autograd ---------------------------------------------------------------------------
    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        if not self.is_leaf:
            if not requires_grad:
                raise GraphError(
                    "requires_grad_: this tensor is the result of an op (non-leaf); you can only "
                    "change requires_grad of leaves. Use .detach() to get a tensor without history."
                )
            return self
        if requires_grad:
            _check_grad_dtype(self._data.dtype, "requires_grad_")
            if self._node is None:
                self._node = AccumulateGrad(self)
        else:
            self._node = None
        return self

    def retain_grad(self) -> None:
        """Keep ``.grad`` for this non-leaf tensor after backward (a no-op on leaves)."""
        n = self._node
        if n is None:
            raise GraphError(
                "retain_grad: can't retain_grad on a tensor that has requires_grad=False")
        if n.__class__ is not AccumulateGrad and not self.retains_grad:
            if n.hooks is None:
                n.hooks = []
            n.hooks.insert(0, graph.RetainGrad(self))

    def detach(self) -> Tensor:
        """The same values, cut from the graph (shares memory and version counter)."""
        t = _make(self._data)
        t._vc = self._vc
        return t

    def detach_(self) -> Tensor:
        self._node = None
        return self

    def register_hook(self, hook: Any) -> graph.RemovableHandle:
        """Call ``hook(grad)`` when this tensor's gradient is computed; it may return a new one.

        On a leaf the hook runs before the gradient is added to ``.grad`` (which then gets
        the hook's result); hooks run in registration order, ``retain_grad()`` after them.
        Returns a handle whose ``.remove()`` unregisters the hook.

        >>> import chainrule as cr
        >>> x = cr.tensor([1.0, 2.0], requires_grad=True)
        >>> h = x.register_hook(lambda g: g * 10)
        >>> (x * x).sum().backward(); x.grad
        tensor([20., 40.])
        >>> h.remove()
        """
        n = self._node
        if n is None:
            raise GraphError(
                "register_hook: cannot register a hook on a tensor that doesn't require grad; "
                "create it with requires_grad=True (or register after an op that does)")
        if not callable(hook):
            raise TypeError(f"register_hook: the hook must be callable, got {type(hook).__name__}")
        if n.hooks is None:
            n.hooks = []
        hooks = n.hooks
        hooks.append(hook)

        def remove() -> None:
            for i, h in enumerate(hooks):
                if h is hook:
                    del hooks[i]
                    return

        return graph.RemovableHandle(remove)

    def backward(self, gradient: Any = None, retain_graph: bool | None = None,
                 create_graph: bool = False, inputs: Sequence[Tensor] | None = None) -> None:
        """Backpropagate from this tensor, accumulating into the ``.grad`` of leaves.

        ``gradient`` is the cotangent of this tensor (needed unless it is a scalar).
        """
        from .autograd import backward

        backward(self, gradient, retain_graph, create_graph, inputs)

    # -- in-place -----------------------------------------------------------------------------
    def _inplace(self, op: str, fn: Any, *others: Any, ufunc: Any = None) -> Tensor:
        """Apply ``fn(self, *others)`` and write the result into this tensor's memory
        (recorded as PyTorch records it, views included: see core/views.py)."""
        return _views.inplace(self, op, fn, others, ufunc)

    def __iadd__(self, other: Any) -> Tensor:
        return self._inplace("add_", _F.add, other, ufunc=xp.add)

    def __isub__(self, other: Any) -> Tensor:
        return self._inplace("sub_", _F.sub, other, ufunc=xp.subtract)

    def __imul__(self, other: Any) -> Tensor:
        return self._inplace("mul_", _F.mul, other, ufunc=xp.multiply)

    def __itruediv__(self, other: Any) -> Tensor:
        return self._inplace("div_", _F.div, other, ufunc=xp.divide)

    def __ipow__(self, other: Any) -> Tensor:
        return self._inplace("pow_", _F.pow, other)

    def add_(self, other: Any, alpha: Any = 1) -> Tensor:
        if alpha != 1:
            return self._inplace("add_", lambda a, b: _F.add(a, _F.mul(b, alpha)), other)
        return self._inplace("add_", _F.add, other, ufunc=xp.add)

    def sub_(self, other: Any, alpha: Any = 1) -> Tensor:
        if alpha != 1:
            return self._inplace("sub_", lambda a, b: _F.sub(a, _F.mul(b, alpha)), other)
        return self._inplace("sub_", _F.sub, other, ufunc=xp.subtract)

    def mul_(self, other: Any) -> Tensor:
        return self._inplace("mul_", _F.mul, other, ufunc=xp.multiply)

    def div_(self, other: Any) -> Tensor:
        return self._inplace("div_", _F.div, other, ufunc=xp.divide)

    def pow_(self, other: Any) -> Tensor:
        return self._inplace("pow_", _F.pow, other)

    def clamp_(self, min: Any = None, max: Any = None) -> Tensor:
        return self._inplace("clamp_", lambda a: _F.clamp(a, min, max))

    def neg_(self) -> Tensor:
        return self._inplace("neg_", _F.neg)

    def exp_(self) -> Tensor:
        return self._inplace("exp_", _F.exp)

    def sqrt_(self) -> Tensor:
        return self._inplace("sqrt_", _F.sqrt)

    def relu_(self) -> Tensor:
        return self._inplace("relu_", _F.relu)

    def zero_(self) -> Tensor:
        return self.fill_(0)

    def fill_(self, value: Any) -> Tensor:
        return self._inplace("fill_", _filled, value)

    def copy_(self, src: Any) -> Tensor:
        return self._inplace("copy_", _filled, src)

    def __setitem__(self, index: Any, value: Any) -> None:
        self._inplace("setitem", lambda a, v: _F.index_put(a, index, v), value)

    # -- operators ------------------------------------------------------------------------------
    def __add__(self, o: Any) -> Tensor:
        return _F.add(self, o)

    def __radd__(self, o: Any) -> Tensor:
        return _F.add(o, self)

    def __sub__(self, o: Any) -> Tensor:
        return _F.sub(self, o)

    def __rsub__(self, o: Any) -> Tensor:
        return _F.sub(o, self)

    def __mul__(self, o: Any) -> Tensor:
        return _F.mul(self, o)

    def __rmul__(self, o: Any) -> Tensor:
        return _F.mul(o, self)

    def __truediv__(self, o: Any) -> Tensor:
        return _F.div(self, o)

    def __rtruediv__(self, o: Any) -> Tensor:
        return _F.div(o, self)

    def __pow__(self, o: Any) -> Tensor:
        return _F.pow(self, o)

    def __rpow__(self, o: Any) -> Tensor:
        return _F.pow(o, self)

    def __matmul__(self, o: Any) -> Tensor:
        return _F.matmul(self, o)

    def __rmatmul__(self, o: Any) -> Tensor:
        return _F.matmul(o, self)

    def __mod__(self, o: Any) -> Tensor:
        return _remainder(self, o)

    def __rmod__(self, o: Any) -> Tensor:
        return _remainder(o, self)

    def __floordiv__(self, o: Any) -> Tensor:
        return _floor_divide(self, o)

    def __rfloordiv__(self, o: Any) -> Tensor:
        return _floor_divide(o, self)

    def remainder(self, o: Any) -> Tensor:
        return _remainder(self, o)

    def fmod(self, o: Any) -> Tensor:
        a, b = _F._pair(self, o)
        if a._data.dtype.kind == "f" and graph._grad_enabled and (a._node or b._node):
            q = _make(xp.trunc(a._data / b._data))  # piecewise constant: no gradient
            return a - q * b
        return _make(xp.asarray(xp.fmod(a._data, b._data)))

    def floor_divide(self, o: Any) -> Tensor:
        return _floor_divide(self, o)

    def __neg__(self) -> Tensor:
        return _F.neg(self)

    def __pos__(self) -> Tensor:
        return self

    def __abs__(self) -> Tensor:
        return _F.abs(self)

    def __eq__(self, o: Any) -> Tensor:  # type: ignore[override]
        return _F.eq(self, o)

    def __ne__(self, o: Any) -> Tensor:  # type: ignore[override]
        return _F.ne(self, o)

    def __lt__(self, o: Any) -> Tensor:
        return _F.lt(self, o)

    def __le__(self, o: Any) -> Tensor:
        return _F.le(self, o)

    def __gt__(self, o: Any) -> Tensor:
        return _F.gt(self, o)

    def __ge__(self, o: Any) -> Tensor:
        return _F.ge(self, o)

    def __invert__(self) -> Tensor:
        return _F.logical_not(self)

    def __and__(self, o: Any) -> Tensor:
        return _F.logical_and(self, o)

    def __or__(self, o: Any) -> Tensor:
        return _F.logical_or(self, o)

    def __getitem__(self, index: Any) -> Tensor:
        return _F.getitem(self, index)


def _remainder(a: Any, b: Any) -> Tensor:
    """a % b with the sign of b (Python's and PyTorch's rule); d/da = 1, d/db = -floor(a/b)."""
    a, b = _F._pair(a, b)
    if a._data.dtype.kind == "f" and graph._grad_enabled and (a._node or b._node):
        q = _make(xp.floor_divide(a._data, b._data))  # piecewise constant: no gradient
        return a - q * b
    return _make(xp.asarray(xp.remainder(a._data, b._data)))


def _floor_divide(a: Any, b: Any) -> Tensor:
    """floor(a / b); piecewise constant, so it carries no gradient (as in PyTorch)."""
    a, b = _F._pair(a, b)
    return _make(xp.asarray(xp.floor_divide(a._data, b._data)))


def _torch_name(dt: Any) -> str:
    """PyTorch's name of a dtype in its messages (Float, Long, ...)."""
    return {"float32": "Float", "float64": "Double", "float16": "Half", "int64": "Long",
            "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte",
            "bool": "Bool"}.get(str(dt), str(dt))


def _rng(generator: Any) -> Any:
    from .creation import default_generator

    return (generator or default_generator).rng


def _filled(a: Tensor, value: Any) -> Tensor:
    """``value`` broadcast to ``a``'s shape and dtype (gradient flows to value, not to a)."""
    return _F.where(True, _F.cast(_F._as_tensor(value, a), a.dtype), a)


graph.Tensor = Tensor
graph._make = _make

from .compat import Size as _Size  # noqa: E402
from .compat import device as _device  # noqa: E402

_CPU = _device("cpu")

from . import functional as _F  # noqa: E402  (functional needs Tensor defined)
from . import views as _views  # noqa: E402

_F._install_methods(Tensor)

from .compat import install_tensor_stubs  # noqa: E402

# NOTE: PyTorch methods chainrule lacks (x.cuda(), x.sort(), x.sin_()) are class attributes
# that raise a clear NotImplementedError, not a Tensor.__getattr__: in CPython 3.11 a class
# with __getattr__ loses the specialised attribute access of every `t._data` (4x slower).
install_tensor_stubs(Tensor)
