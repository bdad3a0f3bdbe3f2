"""The Tensor's methods written with the graph and the tensor functions, attached in one place.

:mod:`chainrule.core.tensor_class` defines the class with what needs nothing above it; this
module, which sits above ``graph``, ``functional``, ``compat`` and ``autograd``, adds the rest
to it with :func:`_attach` (the only place methods are added to ``Tensor``):

- the methods of :class:`_TensorMethods` below (autograd, in-place ops, operators);
- the tensor functions that are also methods (``x.sum()``, ``x + y``), from ``functional``;
- the PyTorch methods chainrule lacks, as stubs that raise a clear error (``compat``).

``from chainrule.core.tensor import Tensor`` is the usual way to name the class.
"""

from __future__ import annotations

from typing import Any, Sequence

from ..backend import xp
from . import functional as _F
from . import graph
from . import views as _views
from .autograd import backward as _backward
from .compat import install_tensor_stubs
from .compat import Size as _Size
from .creation import default_generator
from .dtypes import normalize_dtype
from .graph import AccumulateGrad, GraphError, Node
from .handles import appended
from .to_args import to_dtype
from .tensor_class import (Tensor, _check_grad_dtype, _make, _rebuild, _to_array,  # noqa: F401
                           _unwrap_nested)


class _TensorMethods:
    """Methods of :class:`Tensor` (copied onto it by :func:`_attach`; never instantiated).

    ``self`` is a Tensor; it is typed ``Any`` because type checkers see this class as a base
    of Tensor (see tensor_class.py), not the other way round.
    """

    @property
    def is_leaf(self: Any) -> bool:
        return self._node is None or self._node.__class__ is AccumulateGrad

    @property
    def grad_fn(self: Any) -> Node | None:
        if self._base is not None and self._vver != self._vc[0]:
            _views.refresh(self)
        n = self._node
        return None if n is None or n.__class__ is AccumulateGrad else n

    @property
    def data(self: Any) -> Tensor:
        """The values without the graph; shares memory *and* the version counter.

        NOTE: unlike PyTorch's ``.data``, an in-place change through it is still seen by the
        version check, so it cannot silently corrupt a gradient.
        """
        t = _make(self._data)
        t._vc = self._vc
        return t

    @data.setter
    def data(self: Any, value: Any) -> None:
        arr = value._data if isinstance(value, Tensor) else _to_array(value)
        self._data = arr
        self._vc[0] += 1
        if self._node.__class__ is AccumulateGrad:
            self._node.shape = arr.shape  # type: ignore[union-attr]
            self._node.dtype = arr.dtype  # type: ignore[union-attr]

    @property
    def T(self: Any) -> Tensor:
        return _F.permute(self, tuple(range(self.ndim - 1, -1, -1)))

    @property
    def mT(self: Any) -> Tensor:
        return _F.transpose(self, -2, -1)

    @property
    def retains_grad(self: Any) -> bool:
        n = self._node
        return n is not None and n.__class__ is not AccumulateGrad and any(
            h.__class__ is graph.RetainGrad for h in (n.hooks or ()))

    def size(self: Any, dim: int | None = None) -> Any:
        if dim is None:
            return _Size(self._data.shape)
        return self._data.shape[_F._dim(dim, self.ndim, "size")]

    def __deepcopy__(self: Any, memo: dict) -> Tensor:
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

    def to(self: Any, *args: Any, **kwargs: Any) -> Tensor:
        """``to(dtype)``, ``to("cpu")``, ``to(other_tensor)``; the device is always the CPU."""
        dtype = to_dtype(args, kwargs, "to")
        if dtype is None:
            return self
        dtype = normalize_dtype(dtype)
        if dtype == self._data.dtype:
            return self
        return _F.cast(self, dtype)

    def new_zeros(self: Any, *size: Any, dtype: Any = None, requires_grad: bool = False,
                  device: Any = None) -> Tensor:
        return self.new_full(_F._shape_arg(size, "new_zeros"), 0, dtype=dtype,
                             requires_grad=requires_grad)

    def new_ones(self: Any, *size: Any, dtype: Any = None, requires_grad: bool = False,
                 device: Any = None) -> Tensor:
        return self.new_full(_F._shape_arg(size, "new_ones"), 1, dtype=dtype,
                             requires_grad=requires_grad)

    def new_empty(self: Any, *size: Any, dtype: Any = None, requires_grad: bool = False,
                  device: Any = None) -> Tensor:
        return self.new_full(_F._shape_arg(size, "new_empty"), 0, dtype=dtype,
                             requires_grad=requires_grad)

    # -- random fills (initialisers: w.data.normal_(0, 0.02)) ------------------------------
    def normal_(self: Any, mean: float = 0.0, std: float = 1.0, generator: Any = None) -> Tensor:
        """Fill with samples of N(mean, std^2), in place, from the global (or given) generator."""
        rng = _rng(generator)
        return self._fill_random(
            "normal_", lambda shape: rng.normal(mean, std, shape))

    def uniform_(self: Any, a: float = 0.0, b: float = 1.0, generator: Any = None) -> Tensor:
        """Fill with samples of U(a, b), in place."""
        rng = _rng(generator)
        return self._fill_random("uniform_", lambda shape: rng.uniform(a, b, shape))

    def _fill_random(self: Any, op: str, draw: Any) -> Tensor:
        if self._data.dtype.kind != "f":
            raise TypeError(f"{op}: needs a floating-point tensor, got {self.dtype}")
        if graph._grad_enabled and self._node is not None:
            raise GraphError(
                f"{op}: a tensor that requires grad (shape {self._data.shape}) is being filled in "
                "place; do it under `with cr.no_grad():` (or on .data)"
            )
        self._data[...] = draw(self._data.shape)
        self._vc[0] += 1
        return self

    # -- autograd ---------------------------------------------------------------------------
    def requires_grad_(self: Any, requires_grad: bool = True) -> Tensor:
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

    def retain_grad(self: Any) -> None:
        """Keep ``.grad`` for this non-leaf tensor after backward (a no-op on leaves)."""
        n = self._node
        if n is None:
            raise GraphError(
                "retain_grad: can't retain_grad on a tensor that has requires_grad=False")
        if n.__class__ is not AccumulateGrad and not self.retains_grad:
            if n.hooks is None:
                n.hooks = []
            n.hooks.insert(0, graph.RetainGrad(self))

    def register_hook(self: Any, hook: Any) -> graph.RemovableHandle:
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
        return appended(n.hooks, hook)

    def register_post_accumulate_grad_hook(self: Any, hook: Any) -> graph.RemovableHandle:
        """Call ``hook(tensor)`` after a backward pass has added this leaf's gradient to its
        ``.grad`` (PyTorch's; an optimizer step per parameter, DistributedDataParallel's
        gradient buckets). The hook returns None. Returns a handle whose ``.remove()``
        unregisters it.

        >>> import chainrule as cr
        >>> w = cr.tensor([1.0, 2.0], requires_grad=True)
        >>> h = w.register_post_accumulate_grad_hook(lambda p: print(p.grad))
        >>> (w * w).sum().backward()
        tensor([2., 4.])
        >>> h.remove()
        """
        n = self._node
        if n is None:
            raise GraphError(
                "register_post_accumulate_grad_hook: cannot register a hook on a tensor that "
                "doesn't require grad; create it with requires_grad=True")
        if n.__class__ is not graph.AccumulateGrad:
            raise GraphError(
                "register_post_accumulate_grad_hook: post accumulate grad hooks cannot be "
                f"registered on non-leaf tensors (this one is the output of {n.name}); use "
                "register_hook, or register on the leaf whose .grad you want")
        if not callable(hook):
            raise TypeError(f"register_post_accumulate_grad_hook: the hook must be callable, "
                            f"got {type(hook).__name__}")
        if n.post_hooks is None:
            n.post_hooks = []
        return appended(n.post_hooks, hook)

    def backward(self: Any, gradient: Any = None, retain_graph: bool | None = None,
                 create_graph: bool = False, inputs: Sequence[Tensor] | None = None) -> None:
        """Backpropagate from this tensor, accumulating into the ``.grad`` of leaves.

        ``gradient`` is the cotangent of this tensor (needed unless it is a scalar).
        """
        _backward(self, gradient, retain_graph, create_graph, inputs)

    # -- in-place -----------------------------------------------------------------------------
    def _inplace(self: Any, op: str, fn: Any, *others: Any, ufunc: Any = None) -> Tensor:
        """Apply ``fn(self, *others)`` and write the result into this tensor's memory
        (recorded as PyTorch records it, views included: see core/views.py)."""
        return _views.inplace(self, op, fn, others, ufunc)

    # The ignores below: mypy compares these with the binary operators of the class
    # body (attached from core/ops), whose signatures it sees only as Callable[..., Any].
    def __iadd__(self: Any, other: Any) -> Tensor:  # type: ignore[misc]
        return self._inplace("add_", _F.add, other, ufunc=xp.add)

    def __isub__(self: Any, other: Any) -> Tensor:  # type: ignore[misc]  # see above
        return self._inplace("sub_", _F.sub, other, ufunc=xp.subtract)

    def __imul__(self: Any, other: Any) -> Tensor:  # type: ignore[misc]  # see above
        return self._inplace("mul_", _F.mul, other, ufunc=xp.multiply)

    def __itruediv__(self: Any, other: Any) -> Tensor:  # type: ignore[misc]  # see above
        return self._inplace("div_", _F.div, other, ufunc=xp.divide)

    def __ipow__(self: Any, other: Any) -> Tensor:  # type: ignore[misc]  # see above
        return self._inplace("pow_", _F.pow, other)

    def add_(self: Any, other: Any, alpha: Any = 1) -> Tensor:
        if alpha != 1:
            return self._inplace("add_", lambda a, b: _F.add(a, _F.mul(b, alpha)), other)
        return self._inplace("add_", _F.add, other, ufunc=xp.add)

    def sub_(self: Any, other: Any, alpha: Any = 1) -> Tensor:
        if alpha != 1:
            return self._inplace("sub_", lambda a, b: _F.sub(a, _F.mul(b, alpha)), other)
        return self._inplace("sub_", _F.sub, other, ufunc=xp.subtract)

    def mul_(self: Any, other: Any) -> Tensor:
        return self._inplace("mul_", _F.mul, other, ufunc=xp.multiply)

    def div_(self: Any, other: Any) -> Tensor:
        return self._inplace("div_", _F.div, other, ufunc=xp.divide)

    def pow_(self: Any, other: Any) -> Tensor:
        return self._inplace("pow_", _F.pow, other)

    def clamp_(self: Any, min: Any = None, max: Any = None) -> Tensor:
        return self._inplace("clamp_", lambda a: _F.clamp(a, min, max))

    def neg_(self: Any) -> Tensor:
        return self._inplace("neg_", _F.neg)

    def exp_(self: Any) -> Tensor:
        return self._inplace("exp_", _F.exp)

    def sqrt_(self: Any) -> Tensor:
        return self._inplace("sqrt_", _F.sqrt)

    def relu_(self: Any) -> Tensor:
        return self._inplace("relu_", _F.relu)

    def fill_(self: Any, value: Any) -> Tensor:
        return self._inplace("fill_", _filled, value)

    def copy_(self: Any, src: Any) -> Tensor:
        return self._inplace("copy_", _filled, src)

    def __setitem__(self: Any, index: Any, value: Any) -> None:
        self._inplace("setitem", lambda a, v: _F.index_put(a, index, v), value)

    # -- operators (x + y, x * y, x[i] ... are the functions: see below) --
    def __radd__(self: Any, o: Any) -> Tensor:
        return _F.add(o, self)

    def __rsub__(self: Any, o: Any) -> Tensor:
        return _F.sub(o, self)

    def __rmul__(self: Any, o: Any) -> Tensor:
        return _F.mul(o, self)

    def __rtruediv__(self: Any, o: Any) -> Tensor:
        return _F.div(o, self)

    def __rpow__(self: Any, o: Any) -> Tensor:
        return _F.pow(o, self)

    def __rmatmul__(self: Any, o: Any) -> Tensor:
        return _F.matmul(o, self)

    def __mod__(self: Any, o: Any) -> Tensor:
        return _remainder(self, o)

    def __rmod__(self: Any, o: Any) -> Tensor:
        return _remainder(o, self)

    def __floordiv__(self: Any, o: Any) -> Tensor:
        return _floor_divide(self, o)

    def __rfloordiv__(self: Any, o: Any) -> Tensor:
        return _floor_divide(o, self)

    def remainder(self: Any, o: Any) -> Tensor:
        return _remainder(self, o)

    def fmod(self: Any, o: Any) -> Tensor:
        a, b = _F._pair(self, o)
        if a._data.dtype.kind == "f" and graph._grad_enabled and (a._node or b._node):
            q = _make(xp.trunc(a._data / b._data))  # piecewise constant: no gradient
            return a - q * b
        return _make(xp.asarray(xp.fmod(a._data, b._data)))

    def floor_divide(self: Any, o: Any) -> Tensor:
        return _floor_divide(self, o)

    def __abs__(self: Any) -> Tensor:
        return _F.abs(self)

    def __eq__(self: Any, o: Any) -> Tensor:  # type: ignore[override]
        return _F.eq(self, o)

    def __ne__(self: Any, o: Any) -> Tensor:  # type: ignore[override]
        return _F.ne(self, o)

    def __lt__(self: Any, o: Any) -> Tensor:
        return _F.lt(self, o)

    def __le__(self: Any, o: Any) -> Tensor:
        return _F.le(self, o)

    def __gt__(self: Any, o: Any) -> Tensor:
        return _F.gt(self, o)

    def __ge__(self: Any, o: Any) -> Tensor:
        return _F.ge(self, o)

    def __invert__(self: Any) -> Tensor:
        return _F.logical_not(self)

    def __and__(self: Any, o: Any) -> Tensor:
        return _F.logical_and(self, o)

    def __or__(self: Any, o: Any) -> Tensor:
        return _F.logical_or(self, o)


    # -- the tensor functions that are also methods (x.sum(dim=1) is F.sum(x, dim=1)); the
    # operators whose first operand is the tensor are the functions themselves (one frame
    # less on the hottest path)
    add = _F.add
    sub = _F.sub
    mul = _F.mul
    div = _F.div
    pow = _F.pow
    exp = _F.exp
    log = _F.log
    log1p = _F.log1p
    sqrt = _F.sqrt
    abs = _F.abs
    sin = _F.sin
    cos = _F.cos
    tanh = _F.tanh
    sigmoid = _F.sigmoid
    relu = _F.relu
    clamp = _F.clamp
    clip = _F.clip
    maximum = _F.maximum
    minimum = _F.minimum
    sum = _F.sum
    mean = _F.mean
    var = _F.var
    std = _F.std
    max = _F.max
    min = _F.min
    amax = _F.amax
    amin = _F.amin
    argmax = _F.argmax
    argmin = _F.argmin
    prod = _F.prod
    logsumexp = _F.logsumexp
    softmax = _F.softmax
    log_softmax = _F.log_softmax
    matmul = _F.matmul
    reshape = _F.reshape
    view = _F.view
    flatten = _F.flatten
    transpose = _F.transpose
    permute = _F.permute
    squeeze = _F.squeeze
    unsqueeze = _F.unsqueeze
    expand = _F.expand
    expand_as = _F.expand_as
    broadcast_to = _F.broadcast_to
    split = _F.split
    chunk = _F.chunk
    gather = _F.gather
    flip = _F.flip
    neg = _F.neg
    square = _F.square
    sign = _F.sign
    eq = _F.eq
    ne = _F.ne
    lt = _F.lt
    le = _F.le
    gt = _F.gt
    ge = _F.ge
    isnan = _F.isnan
    isinf = _F.isinf
    isfinite = _F.isfinite
    clone = _F.clone
    masked_fill = _F.masked_fill
    logical_not = _F.logical_not
    logical_and = _F.logical_and
    logical_or = _F.logical_or
    t = _F.t
    mm = _F.mm
    dot = _F.dot
    softplus = _F.softplus
    allclose = _F.allclose
    # views (core/ops/views.py) and the special functions PyTorch has as methods
    diagonal = _F.diagonal
    select = _F.select
    unbind = _F.unbind
    swapaxes = _F.swapaxes
    swapdims = _F.swapdims
    contiguous = _F.contiguous
    is_contiguous = _F.is_contiguous
    erf = _F.erf
    erfc = _F.erfc
    erfinv = _F.erfinv
    expm1 = _F.expm1
    exp2 = _F.exp2
    logit = _F.logit
    xlogy = _F.xlogy
    equal = _F.equal
    __add__ = _F.add
    __sub__ = _F.sub
    __mul__ = _F.mul
    __truediv__ = _F.div
    __matmul__ = _F.matmul
    __pow__ = _F.pow
    __neg__ = _F.neg
    __getitem__ = _F.getitem
    negative = _F.neg
    multiply = _F.mul
    divide = _F.div
    subtract = _F.sub

    def where(self: Any, condition: Any, other: Any) -> Tensor:
        return _F.where(condition, self, other)

    def reshape_as(self: Any, other: Tensor) -> Tensor:
        return _F.reshape(self, other.shape)

    view_as = reshape_as

    def type_as(self: Any, other: Tensor) -> Tensor:
        return self.to(other.dtype)

    def any(self: Any, dim: Any = None, keepdim: bool = False) -> Tensor:
        return _make(xp.asarray(xp.any(self._data, axis=dim, keepdims=keepdim)))

    def all(self: Any, dim: Any = None, keepdim: bool = False) -> Tensor:
        return _make(xp.asarray(xp.all(self._data, axis=dim, keepdims=keepdim)))


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
            "bool": "Bool"}.get(dt.name, str(dt))  # a NumPy dtype or a cr.dtype


def _rng(generator: Any) -> Any:
    return (generator or default_generator).rng


def _filled(a: Tensor, value: Any) -> Tensor:
    """``value`` broadcast to ``a``'s shape and dtype (gradient flows to value, not to a)."""
    return _F.where(True, _F.cast(_F._as_tensor(value, a), a._data.dtype), a)


def _attach(cls: type) -> None:
    """Add every method of ``Tensor`` not defined in its class body (see the module docstring)."""
    for name, value in vars(_TensorMethods).items():
        if isinstance(value, (property, type(_attach))):
            setattr(cls, name, value)
    # NOTE: PyTorch methods chainrule lacks (x.cuda(), x.sort(), x.sin_()) are class attributes
    # that raise a clear NotImplementedError, not a Tensor.__getattr__: in CPython 3.11 a class
    # with __getattr__ loses the specialised attribute access of every `t._data` (4x slower).
    install_tensor_stubs(cls)


_attach(Tensor)

from .tensor_extra import install as _install_extra  # noqa: E402

_install_extra(Tensor)  # sort, norm, type(), unsqueeze_, __format__, ... (core/tensor_extra.py)
