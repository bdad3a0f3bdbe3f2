"""Every tensor function: argument checking, dtype promotion, and composites of primitives.

The functions here are what users call (``cr.exp``, ``x.sum(dim=1)``, ``x @ w``). Each
validates its arguments and raises an error that names the op and the shapes involved, then
either applies one primitive or composes several; composites get their gradients for free.
"""

from __future__ import annotations

import builtins
import operator
from collections import namedtuple
from typing import Any, Sequence

from .. import backend as B
from ..backend import ndarray, xp
from . import graph
from .dtypes import get_default_dtype
from .graph import apply
from .indexing import split_ints
from .promotion import result_type
from .primitives import elementwise as E
from .primitives import structure as S
from .tensor import Tensor, _make, _to_array

_py_abs, _py_max, _py_min, _py_sum = builtins.abs, builtins.max, builtins.min, builtins.sum

# ---------------------------------------------------------------------------------------------
# Conversion and promotion
# ---------------------------------------------------------------------------------------------


def _scalar_dtype(x: Any, like: Any) -> Any:
    """PyTorch's rule for a Python number next to a tensor of dtype ``like``."""
    if like.kind == "f":
        return like
    if isinstance(x, builtins.bool):
        return like
    if isinstance(x, builtins.float):
        return get_default_dtype()
    return like if like.kind in "iu" else B.int64


_constants: dict[tuple, Tensor] = {}


def _as_tensor(x: Any, like: Tensor | None = None) -> Tensor:
    if isinstance(x, Tensor):
        return x
    if like is not None and isinstance(x, (builtins.int, builtins.float, builtins.bool)):
        dt = _scalar_dtype(x, like._data.dtype)
        key = (x.__class__, x, dt)
        c = _constants.get(key)
        if c is None:
            # NOTE: Python numbers become cached read-only 0-d constants: building a fresh
            # array for every `1 - s` in a vjp costs more than the arithmetic on small tensors.
            arr = xp.asarray(x, dtype=dt)
            arr.flags.writeable = False
            c = _make(arr)
            if len(_constants) < 1024:
                _constants[key] = c
        return c
    return _make(_to_array(x))


def _pair(a: Any, b: Any) -> tuple[Tensor, Tensor]:
    """Two operands as tensors, promoted the way PyTorch promotes them."""
    # Fast path: a float tensor next to a Python float seen before (the constants of vjps).
    if a.__class__ is Tensor and b.__class__ is builtins.float:
        c = _constants.get((builtins.float, b, a._data.dtype))
        if c is not None and a._data.dtype.kind == "f":
            return a, c
    elif b.__class__ is Tensor and a.__class__ is builtins.float:
        c = _constants.get((builtins.float, a, b._data.dtype))
        if c is not None and b._data.dtype.kind == "f":
            return c, b
    if isinstance(a, Tensor):
        if not isinstance(b, Tensor):
            b = _as_tensor(b, a)
    elif isinstance(b, Tensor):
        a = _as_tensor(a, b)
    else:
        a = _as_tensor(a)
        b = _as_tensor(b, a)
    da, db = a._data.dtype, b._data.dtype
    if da is not db and da != db:
        ka, kb = da.kind, db.kind
        if ka == "f" and kb != "f":
            b = cast(b, da)
        elif kb == "f" and ka != "f":
            a = cast(a, db)
        elif ka == kb == "f" and (a._data.ndim == 0) != (b._data.ndim == 0):
            # NOTE: as in PyTorch, a 0-d tensor does not promote a dimensioned one.
            if a._data.ndim == 0:
                a = cast(a, db)
            else:
                b = cast(b, da)
    return a, b


def _float(x: Any, op: str) -> Tensor:
    """Input of a floating-point function: ints and bools become the default float dtype."""
    if x.__class__ is not Tensor and not isinstance(x, Tensor):
        x = _as_tensor(x)
    if x._data.dtype.kind != "f":
        return cast(x, get_default_dtype())
    return x


def _dim(d: Any, ndim: int, op: str) -> int:
    if not isinstance(d, (builtins.int, B.xp.integer)) or isinstance(d, builtins.bool):
        raise TypeError(f"{op}: dim must be an int, got {d!r}")
    n = _py_max(ndim, 1)
    if not -n <= d < n:
        raise IndexError(
            f"{op}: dim {d} is out of range for a tensor with {ndim} dims "
            f"(valid: {-n} to {n - 1})"
        )
    return d % n


def _dims(dim: Any, ndim: int, op: str) -> tuple[int, ...] | None:
    """Normalise ``dim`` (None, an int, or a sequence of ints) to sorted positive axes."""
    if dim is None:
        return None
    if isinstance(dim, (list, tuple)):
        axes = tuple(sorted(_dim(d, ndim, op) for d in dim))
        if len(set(axes)) != len(axes):
            raise ValueError(f"{op}: dim {tuple(dim)} names the same dimension twice")
        return axes if ndim > 0 else ()
    return (_dim(dim, ndim, op),) if ndim > 0 else ()


def _shape_arg(shape: Sequence[Any], op: str) -> tuple[int, ...]:
    if len(shape) == 1 and isinstance(shape[0], (list, tuple)):
        shape = shape[0]
    try:
        # NOTE: operator.index, not int(): a size of 3.5 is an error (as in PyTorch), not 3
        return tuple(operator.index(s) for s in shape)
    except TypeError:
        bad = next(s for s in shape if not hasattr(s, "__index__") or isinstance(s, Tensor))
        raise TypeError(f"{op}: the size must be a tuple of ints, got {tuple(shape)!r} (an "
                        f"element is a {type(bad).__name__}); use int(...)") from None


# ---------------------------------------------------------------------------------------------
# Elementwise
# ---------------------------------------------------------------------------------------------


def add(a: Any, b: Any, alpha: Any = 1) -> Tensor:
    """a + b, broadcasting.

    >>> import chainrule as cr
    >>> cr.add(cr.tensor([1.0, 2.0]), 1.5)
    tensor([2.5, 3.5])
    """
    if alpha != 1:
        b = mul(b, alpha)
    if a.__class__ is not Tensor or b.__class__ is not Tensor or a._data.dtype is not b._data.dtype:
        a, b = _pair(a, b)
    return apply(E.Add(), a, b)


def sub(a: Any, b: Any, alpha: Any = 1) -> Tensor:
    """a - b, broadcasting."""
    if alpha != 1:
        b = mul(b, alpha)
    if a.__class__ is not Tensor or b.__class__ is not Tensor or a._data.dtype is not b._data.dtype:
        a, b = _pair(a, b)
    return apply(E.Sub(), a, b)


def mul(a: Any, b: Any) -> Tensor:
    """a * b, broadcasting.

    >>> import chainrule as cr
    >>> cr.mul(cr.tensor([[1.0], [2.0]]), cr.tensor([3.0, 4.0]))
    tensor([[3., 4.],
            [6., 8.]])
    """
    if a.__class__ is not Tensor or b.__class__ is not Tensor or a._data.dtype is not b._data.dtype:
        a, b = _pair(a, b)
    return apply(E.Mul(), a, b)


def div(a: Any, b: Any) -> Tensor:
    """a / b (true division: integer inputs give floats)."""
    if a.__class__ is not Tensor or b.__class__ is not Tensor or a._data.dtype is not b._data.dtype:
        a, b = _pair(a, b)
    if a._data.dtype.kind != "f":
        a, b = cast(a, get_default_dtype()), cast(b, get_default_dtype())
    return apply(E.Div(), a, b)


def pow(a: Any, b: Any) -> Tensor:
    """a ** b, broadcasting."""
    a, b = _pair(a, b)
    return apply(E.Pow(), a, b)


def maximum(a: Any, b: Any) -> Tensor:
    """Elementwise max(a, b); at ties the gradient is split evenly."""
    a, b = _pair(a, b)
    return apply(E.Maximum(), a, b)


def minimum(a: Any, b: Any) -> Tensor:
    """Elementwise min(a, b); at ties the gradient is split evenly."""
    a, b = _pair(a, b)
    return apply(E.Minimum(), a, b)


def where(condition: Any, x: Any, y: Any) -> Tensor:
    """x where condition is true, else y (all three broadcast).

    >>> import chainrule as cr
    >>> x = cr.tensor([-1.0, 2.0])
    >>> cr.where(x > 0, x, 0.0)
    tensor([0., 2.])
    """
    c = condition if isinstance(condition, Tensor) else _make(xp.asarray(condition))
    if c._data.dtype != B.bool_:
        c = _make(c._data.astype(B.bool_))
    x, y = _pair(x, y)
    return apply(E.Where(), c, x, y)


def neg(x: Any) -> Tensor:
    """-x."""
    return apply(E.Neg(), _as_tensor(x))


def exp(x: Any) -> Tensor:
    """e^x."""
    return apply(E.Exp(), _float(x, "exp"))


def log(x: Any) -> Tensor:
    """Natural logarithm."""
    return apply(E.Log(), _float(x, "log"))


def log1p(x: Any) -> Tensor:
    """log(1 + x), accurate for small x."""
    return apply(E.Log1p(), _float(x, "log1p"))


def sqrt(x: Any) -> Tensor:
    """Square root."""
    return apply(E.Sqrt(), _float(x, "sqrt"))


def sin(x: Any) -> Tensor:
    """Sine."""
    return apply(E.Sin(), _float(x, "sin"))


def cos(x: Any) -> Tensor:
    """Cosine."""
    return apply(E.Cos(), _float(x, "cos"))


def tanh(x: Any) -> Tensor:
    """Hyperbolic tangent."""
    return apply(E.Tanh(), _float(x, "tanh"))


def sigmoid(x: Any) -> Tensor:
    """1 / (1 + e^-x), finite for any input (e^-x overflowing gives exactly 0).

    >>> import chainrule as cr
    >>> cr.sigmoid(cr.tensor([-1e4, 0.0, 1e4]))
    tensor([0. , 0.5, 1. ])
    """
    return apply(E.Sigmoid(), _float(x, "sigmoid"))


def relu(x: Any) -> Tensor:
    """max(x, 0); its gradient at 0 is 0."""
    return apply(E.Relu(), _as_tensor(x))


def abs(x: Any) -> Tensor:
    """|x|; its gradient at 0 is 0."""
    return apply(E.Abs(), _as_tensor(x))


def cast(x: Any, dtype: Any) -> Tensor:
    """x converted to ``dtype`` (always a copy); the gradient flows back in x's dtype."""
    from .dtypes import normalize_dtype

    return apply(E.Cast(normalize_dtype(dtype)), _as_tensor(x))


def clone(x: Tensor) -> Tensor:
    """A copy of x that stays in the graph."""
    return apply(E.Cast(x._data.dtype), x)


def eye(n: int, dtype: Any = None) -> Tensor:
    from .creation import eye as _eye

    return _eye(n, dtype=dtype)


def square(x: Any) -> Tensor:
    """x * x."""
    x = _as_tensor(x)
    return mul(x, x)


def softplus(x: Any, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """log(1 + e^(beta x)) / beta, finite for any input.

    >>> import chainrule as cr
    >>> cr.softplus(cr.tensor([-1e4, 0.0, 1e4]))
    tensor([0.0000e+00, 6.9315e-01, 1.0000e+04])
    """
    x = _float(x, "softplus")
    bx = mul(x, beta) if beta != 1 else x
    out = apply(E.Softplus(), bx)
    out = div(out, beta) if beta != 1 else out
    return where(gt(bx, threshold), x, out)


def clamp(x: Any, min: Any = None, max: Any = None) -> Tensor:
    """x limited to [min, max]; the gradient is 1 inside (bounds included), 0 outside.

    >>> import chainrule as cr
    >>> cr.clamp(cr.tensor([-2.0, 0.5, 3.0]), min=0.0, max=1.0)
    tensor([0. , 0.5, 1. ])
    """
    x = _as_tensor(x)
    if min is None and max is None:
        raise ValueError("clamp: at least one of min and max must be given")
    if min is not None:
        x = where(lt(x, min), min, x)
    if max is not None:
        x = where(gt(x, max), max, x)
    return x


clip = clamp


# -- non-differentiable elementwise ops: their results are constants ------------------------


def _compare(a: Any, b: Any, fn: Any) -> Tensor:
    a, b = _pair(a, b)
    try:
        return _make(xp.asarray(fn(a._data, b._data)))
    except ValueError:
        raise ValueError(
            f"comparison: cannot broadcast shapes {tuple(a.shape)} and {tuple(b.shape)}"
        ) from None


def eq(a: Any, b: Any) -> Tensor:
    """a == b, elementwise (a bool tensor, no gradient)."""
    return _compare(a, b, xp.equal)


def ne(a: Any, b: Any) -> Tensor:
    """a != b, elementwise."""
    return _compare(a, b, xp.not_equal)


def lt(a: Any, b: Any) -> Tensor:
    """a < b, elementwise."""
    return _compare(a, b, xp.less)


def le(a: Any, b: Any) -> Tensor:
    """a <= b, elementwise."""
    return _compare(a, b, xp.less_equal)


def gt(a: Any, b: Any) -> Tensor:
    """a > b, elementwise."""
    return _compare(a, b, xp.greater)


def ge(a: Any, b: Any) -> Tensor:
    """a >= b, elementwise."""
    return _compare(a, b, xp.greater_equal)


def logical_not(x: Any) -> Tensor:
    return _make(xp.logical_not(_as_tensor(x)._data))


def logical_and(a: Any, b: Any) -> Tensor:
    return _compare(a, b, xp.logical_and)


def logical_or(a: Any, b: Any) -> Tensor:
    return _compare(a, b, xp.logical_or)


def sign(x: Any) -> Tensor:
    """-1, 0 or 1 (a constant: its gradient is zero everywhere it exists)."""
    return _make(xp.sign(_as_tensor(x)._data))


def isnan(x: Any) -> Tensor:
    return _make(xp.isnan(_as_tensor(x)._data))


def isinf(x: Any) -> Tensor:
    return _make(xp.isinf(_as_tensor(x)._data))


def isfinite(x: Any) -> Tensor:
    return _make(xp.isfinite(_as_tensor(x)._data))


def allclose(a: Any, b: Any, rtol: float = 1e-5, atol: float = 1e-8) -> bool:
    a, b = _pair(a, b)
    return builtins.bool(xp.allclose(a._data, b._data, rtol=rtol, atol=atol))


def equal(a: Tensor, b: Tensor) -> bool:
    return a.shape == b.shape and builtins.bool((a._data == b._data).all())


# ---------------------------------------------------------------------------------------------
# Reductions
# ---------------------------------------------------------------------------------------------


def sum(x: Any, dim: Any = None, keepdim: bool = False, dtype: Any = None) -> Tensor:
    """Sum over ``dim`` (all dims by default).

    >>> import chainrule as cr
    >>> cr.tensor([[1.0, 2.0], [3.0, 4.0]]).sum(dim=0)
    tensor([4., 6.])
    """
    x = _as_tensor(x)
    if dtype is not None:
        x = cast(x, dtype)
    elif x._data.dtype.kind in "bi" and x._data.dtype != B.int64:
        x = cast(x, B.int64)  # PyTorch sums bools and small ints as int64
    return apply(S.Sum(_dims(dim, x._data.ndim, "sum"), keepdim), x)


def mean(x: Any, dim: Any = None, keepdim: bool = False) -> Tensor:
    """Mean over ``dim`` (all dims by default)."""
    x = _as_tensor(x)
    if x._data.dtype.kind != "f":
        raise TypeError(
            f"mean: input dtype must be floating point, got {x.dtype}; use x.float().mean()"
        )
    axes = _dims(dim, x._data.ndim, "mean")
    n = x._data.size if axes is None else _prod_int(x._data.shape[a] for a in axes)
    return div(sum(x, axes, keepdim), n)


def _prod_int(it: Any) -> int:
    p = 1
    for v in it:
        p *= v
    return p


def var(x: Any, dim: Any = None, unbiased: bool | None = None, keepdim: bool = False,
        correction: Any = None) -> Tensor:
    """Variance over ``dim`` with Bessel's correction (``correction=1``) by default."""
    x = _float(x, "var")
    if correction is None:
        correction = 0 if unbiased is False else 1
    axes = _dims(dim, x._data.ndim, "var")
    n = x._data.size if axes is None else _prod_int(x._data.shape[a] for a in axes)
    d = sub(x, mean(x, axes, keepdim=True))
    return div(sum(mul(d, d), axes, keepdim), _py_max(n - correction, 0))


def std(x: Any, dim: Any = None, unbiased: bool | None = None, keepdim: bool = False,
        correction: Any = None) -> Tensor:
    """Standard deviation: sqrt(var); its gradient is 0 where the variance is 0 (as PyTorch)."""
    v = var(x, dim, unbiased, keepdim, correction)
    if not (v._data == 0).any():
        return sqrt(v)
    # NOTE: sqrt'(0) is infinite and (x - mean) is 0 there: 0 * inf. Route the zero-variance
    # entries around sqrt so their gradient is 0 and everything stays finite.
    pos = gt(v, 0)
    return where(pos, sqrt(where(pos, v, 1.0)), 0.0)


def amax(x: Any, dim: Any = None, keepdim: bool = False) -> Tensor:
    """Maximum over ``dim``; ties share the gradient evenly."""
    x = _as_tensor(x)
    _check_nonempty(x, dim, "amax")
    return apply(S.Amax(_dims(dim, x._data.ndim, "amax"), keepdim), x)


def amin(x: Any, dim: Any = None, keepdim: bool = False) -> Tensor:
    """Minimum over ``dim``; ties share the gradient evenly."""
    return neg(amax(neg(x), dim, keepdim))


def _check_nonempty(x: Tensor, dim: Any, op: str) -> None:
    if x._data.size == 0:
        raise ValueError(f"{op}: the input (shape {tuple(x.shape)}) is empty; it has no maximum")


MaxResult = namedtuple("MaxResult", ["values", "indices"])


def max(x: Any, dim: Any = None, keepdim: bool = False) -> Any:
    """``max(x)``: the largest value; ``max(x, dim)``: (values, indices); ``max(x, y)``: maximum.

    >>> import chainrule as cr
    >>> cr.tensor([[1.0, 5.0], [7.0, 2.0]]).max(dim=1)
    MaxResult(values=tensor([5., 7.]), indices=tensor([1, 0]))
    """
    if isinstance(dim, Tensor):
        return maximum(x, dim)
    if dim is None:
        return amax(x)
    return _max_dim(_as_tensor(x), dim, keepdim, xp.argmax, "max")


def min(x: Any, dim: Any = None, keepdim: bool = False) -> Any:
    """``min(x)``: the smallest value; ``min(x, dim)``: (values, indices); ``min(x, y)``."""
    if isinstance(dim, Tensor):
        return minimum(x, dim)
    if dim is None:
        return amin(x)
    return _max_dim(_as_tensor(x), dim, keepdim, xp.argmin, "min")


def _max_dim(x: Tensor, dim: int, keepdim: bool, argfn: Any, op: str) -> Any:
    _check_nonempty(x, dim, op)
    d = _dim(dim, x._data.ndim, op)
    idx = argfn(x._data, axis=d, keepdims=True) if x._data.ndim else xp.zeros((), B.int64)
    # NOTE: the gradient goes to the one selected index (as in PyTorch's max(dim)).
    values = gather(x, d, _make(idx)) if x._data.ndim else x
    if not keepdim and x._data.ndim:
        values = squeeze(values, d)
        idx = idx.squeeze(d)
    return MaxResult(values, _make(xp.asarray(idx, dtype=B.int64)))


def argmax(x: Any, dim: Any = None, keepdim: bool = False) -> Tensor:
    """Index of the maximum (of the flattened tensor when ``dim`` is None)."""
    return _arg(x, dim, keepdim, xp.argmax, "argmax")


def argmin(x: Any, dim: Any = None, keepdim: bool = False) -> Tensor:
    """Index of the minimum (of the flattened tensor when ``dim`` is None)."""
    return _arg(x, dim, keepdim, xp.argmin, "argmin")


def _arg(x: Any, dim: Any, keepdim: bool, fn: Any, op: str) -> Tensor:
    x = _as_tensor(x)
    _check_nonempty(x, dim, op)
    if dim is None:
        r = fn(x._data)
        if keepdim:
            r = xp.reshape(r, (1,) * x._data.ndim)
    else:
        r = fn(x._data, axis=_dim(dim, x._data.ndim, op), keepdims=keepdim)
    return _make(xp.asarray(r, dtype=B.int64))


def prod(x: Any, dim: Any = None, keepdim: bool = False) -> Tensor:
    """Product over one ``dim`` (all elements by default); exact gradients with zeros."""
    x = _as_tensor(x)
    axis = None if dim is None else _dims(dim, x._data.ndim, "prod")
    if axis == ():  # a 0-d tensor: dim 0 / -1 is the tensor itself
        axis = None
    if axis is not None and len(axis) != 1:
        raise ValueError(f"prod: dim must be a single int, got {dim!r}")
    return apply(S.Prod(None if axis is None or not axis else axis[0], keepdim), x)


def _shift(xd: ndarray, axis: Any) -> ndarray:
    """The max of ``xd`` over ``axis`` (kept as size-1 dims), non-finite maxima replaced by 0.

    NOTE: softmax, log_softmax and logsumexp subtract it as a *constant* (it is not recorded):
    they are shift invariant, so neither value nor gradient changes, exp's argument stays
    <= 0, and the graph is four or five ops shorter than with a detached amax.
    """
    if xd.size == 0:
        return xp.zeros(_keepdim_shape(xd.shape, axis), xd.dtype)
    m = xd.max(axis=axis, keepdims=True)
    if not xp.isfinite(m).all():
        m = xp.where(xp.isfinite(m), m, 0).astype(xd.dtype)
    return m


def _keepdim_shape(shape: tuple[int, ...], axis: Any) -> tuple[int, ...]:
    axes = range(len(shape)) if axis is None else \
        ((axis,) if isinstance(axis, builtins.int) else axis)
    return tuple(1 if i in axes else s for i, s in enumerate(shape))


def logsumexp(x: Any, dim: Any, keepdim: bool = False) -> Tensor:
    """log(sum(exp(x), dim)), finite for large inputs.

    >>> import chainrule as cr
    >>> cr.logsumexp(cr.tensor([1e4, 1e4]), dim=0).item()
    10000.693...
    """
    x = _float(x, "logsumexp")
    axes = _dims(dim, x._data.ndim, "logsumexp")
    m = _make(_shift(x._data, axes))
    out = add(log(sum(exp(sub(x, m)), axes, keepdim=True)), m)
    return out if keepdim else squeeze(out, axes)


def _softmax_dim(x: Tensor, dim: Any, op: str) -> int:
    if dim is None:  # PyTorch's legacy implicit choice
        dim = 0 if x._data.ndim in (0, 1, 3) else 1
    return _dim(dim, x._data.ndim, op)


def softmax(x: Any, dim: Any = None) -> Tensor:
    """exp(x) / sum(exp(x), dim), computed without overflow.

    >>> import chainrule as cr
    >>> cr.softmax(cr.tensor([0.0, 1e4]), dim=0)
    tensor([0., 1.])
    """
    x = _float(x, "softmax")
    d = _softmax_dim(x, dim, "softmax")
    e = exp(sub(x, _make(_shift(x._data, d if x._data.ndim else None))))
    return div(e, sum(e, d, keepdim=True))


def log_softmax(x: Any, dim: Any = None) -> Tensor:
    """x - logsumexp(x, dim): log-probabilities, finite for large inputs.

    >>> import chainrule as cr
    >>> cr.log_softmax(cr.tensor([[0.0, 0.0]]), dim=1)
    tensor([[-0.6931, -0.6931]])
    """
    x = _float(x, "log_softmax")
    d = _softmax_dim(x, dim, "log_softmax")
    z = sub(x, _make(_shift(x._data, d if x._data.ndim else None)))
    return sub(z, log(sum(exp(z), d, keepdim=True)))


# ---------------------------------------------------------------------------------------------
# Shape
# ---------------------------------------------------------------------------------------------


def reshape(x: Tensor, *shape: Any) -> Tensor:
    """The same elements in a new shape (one dim may be -1).

    >>> import chainrule as cr
    >>> cr.arange(6).reshape(2, -1).shape
    (2, 3)
    """
    x = _as_tensor(x)
    shp = _shape_arg(shape, "reshape")
    size = x._data.size
    if shp.count(-1) > 1:
        raise ValueError(f"reshape: only one dim can be -1, got {shp}")
    known = _prod_int(s for s in shp if s != -1)
    if -1 in shp:
        if known == 0 or size % known:
            raise ValueError(
                f"reshape: cannot reshape a tensor of shape {tuple(x.shape)} ({size} elements) "
                f"into {shp}"
            )
        shp = tuple(size // known if s == -1 else s for s in shp)
    elif known != size:
        raise ValueError(
            f"reshape: cannot reshape a tensor of shape {tuple(x.shape)} ({size} elements) into "
            f"{shp} ({known} elements)"
        )
    if shp == x._data.shape:
        return x
    return apply(S.Reshape(shp), x)


view = reshape


def flatten(x: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Merge dims ``start_dim`` .. ``end_dim`` into one."""
    x = _as_tensor(x)
    if x._data.ndim == 0:
        return reshape(x, 1)
    s = _dim(start_dim, x._data.ndim, "flatten")
    e = _dim(end_dim, x._data.ndim, "flatten")
    if s > e:
        raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim}")
    shp = x._data.shape
    return reshape(x, shp[:s] + (_prod_int(shp[s:e + 1]),) + shp[e + 1:])


def permute(x: Tensor, *dims: Any) -> Tensor:
    """Reorder the dims."""
    x = _as_tensor(x)
    d = _shape_arg(dims, "permute")
    nd = x._data.ndim
    if len(d) != nd:
        raise ValueError(f"permute: got {len(d)} dims {d} for a tensor with {nd} dims")
    d = tuple(_dim(i, nd, "permute") for i in d)
    if sorted(d) != list(range(nd)):
        raise ValueError(f"permute: {d} is not a permutation of the dims 0..{nd - 1}")
    if d == tuple(range(nd)):
        return x
    return apply(S.Permute(d), x)


def transpose(x: Tensor, dim0: int, dim1: int) -> Tensor:
    """Swap two dims."""
    x = _as_tensor(x)
    nd = x._data.ndim
    if nd == 0:
        return x
    a, b = _dim(dim0, nd, "transpose"), _dim(dim1, nd, "transpose")
    d = list(range(nd))
    d[a], d[b] = d[b], d[a]
    return permute(x, tuple(d))


def t(x: Tensor) -> Tensor:
    """Transpose of a tensor with at most 2 dims."""
    x = _as_tensor(x)
    if x._data.ndim > 2:
        raise ValueError(
            f"t: expects a tensor with <= 2 dims, got shape {tuple(x.shape)}; use transpose")
    return transpose(x, 0, -1) if x._data.ndim == 2 else x


def squeeze(x: Tensor, dim: Any = None) -> Tensor:
    """Remove size-1 dims (all of them, or those in ``dim``)."""
    x = _as_tensor(x)
    shp = x._data.shape
    if dim is None:
        return reshape(x, tuple(s for s in shp if s != 1))
    axes = _dims(dim, x._data.ndim, "squeeze") or ()
    return reshape(x, tuple(s for i, s in enumerate(shp) if not (i in axes and s == 1)))


def unsqueeze(x: Tensor, dim: int) -> Tensor:
    """Insert a size-1 dim at ``dim``."""
    x = _as_tensor(x)
    d = _dim(dim, x._data.ndim + 1, "unsqueeze")
    shp = x._data.shape
    return reshape(x, shp[:d] + (1,) + shp[d:])


def broadcast_to(x: Tensor, *shape: Any) -> Tensor:
    """A read-only view of x repeated to ``shape`` (NumPy broadcasting rules)."""
    x = _as_tensor(x)
    shp = _shape_arg(shape, "broadcast_to")
    if shp == x._data.shape:
        return x
    _check_broadcast(x._data.shape, shp, "broadcast_to")
    return apply(S.BroadcastTo(shp), x)


def expand(x: Tensor, *sizes: Any) -> Tensor:
    """Like broadcast_to; -1 keeps a dim's size."""
    x = _as_tensor(x)
    shp = list(_shape_arg(sizes, "expand"))
    lead = len(shp) - x._data.ndim
    if lead < 0:
        raise ValueError(
            f"expand: the number of sizes ({len(shp)}) must be at least the tensor's dims "
            f"({x._data.ndim}); shape {tuple(x.shape)}"
        )
    for i, s in enumerate(shp):
        if s == -1:
            if i < lead:
                raise ValueError(f"expand: -1 is not allowed for a new leading dim ({tuple(shp)})")
            shp[i] = x._data.shape[i - lead]
    return broadcast_to(x, tuple(shp))


def expand_as(x: Tensor, other: Tensor) -> Tensor:
    return broadcast_to(x, other.shape)


def _check_broadcast(src: tuple, dst: tuple, op: str) -> None:
    ok = len(src) <= len(dst) and all(
        s == d or s == 1 for s, d in zip(src[::-1], dst[::-1]))
    if not ok:
        raise ValueError(
            f"{op}: cannot broadcast a tensor of shape {src} to {dst}: each dim must match or "
            "be 1, counting from the right"
        )


def summed_axes(from_shape: tuple[int, ...], to_shape: tuple[int, ...]) -> tuple[int, ...]:
    """The axes of ``from_shape`` that :func:`sum_to` sums to reach ``to_shape``: the leading
    ones broadcasting added, then those where ``to_shape`` has a 1.

    >>> summed_axes((4, 3, 2), (3, 1))
    (0, 2)
    """
    lead = len(from_shape) - len(to_shape)
    return tuple(range(lead)) + tuple(
        i + lead for i, s in enumerate(to_shape) if s == 1 and from_shape[i + lead] != 1)


def sum_to(x: Tensor, shape: tuple[int, ...]) -> Tensor:
    """Sum x down to ``shape``: the transpose of broadcasting x's shape to ... x's shape."""
    shape = tuple(shape)
    xs = x._data.shape
    if xs == shape:
        return x
    _check_broadcast(shape, xs, "sum_to")
    lead = len(xs) - len(shape)
    inner = summed_axes(xs, shape)[lead:]
    if not inner:  # only leading dims to remove: one sum, no reshape
        return apply(S.Sum(tuple(range(lead)), False), x)
    out = apply(S.Sum(tuple(range(lead)) + inner, True), x)
    return reshape(out, shape)


def cat(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Concatenate along an existing dim.

    >>> import chainrule as cr
    >>> cr.cat([cr.zeros(1, 2), cr.ones(2, 2)]).shape
    (3, 2)
    """
    ts = [_as_tensor(t) for t in tensors]
    if not ts:
        raise ValueError("cat: expects a non-empty list of tensors")
    nd = ts[0]._data.ndim
    if nd == 0:
        raise ValueError("cat: zero-dimensional tensors cannot be concatenated; use stack")
    d = _dim(dim, nd, "cat")
    ref = ts[0]._data.shape
    for i, t in enumerate(ts[1:], 1):
        s = t._data.shape
        if len(s) != nd or any(a != b for j, (a, b) in enumerate(zip(s, ref)) if j != d):
            raise ValueError(
                f"cat: tensors must have the same shape except in dim {d}; tensor 0 has shape "
                f"{ref} and tensor {i} has shape {s}"
            )
    dts = {t._data.dtype for t in ts}
    if len(dts) > 1:
        dt = result_type(*dts)  # PyTorch's promotion: cat([float32, int64]) is float32
        ts = [cast(t, dt) if t._data.dtype != dt else t for t in ts]
    return apply(S.Cat(d, tuple(t._data.shape[d] for t in ts)), *ts)


concat = concatenate = cat


def stack(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Join tensors of equal shape along a new dim."""
    ts = [_as_tensor(t) for t in tensors]
    if not ts:
        raise ValueError("stack: expects a non-empty list of tensors")
    for i, t_ in enumerate(ts[1:], 1):
        if t_._data.shape != ts[0]._data.shape:
            raise ValueError(
                f"stack: all tensors must have the same shape; tensor 0 has shape "
                f"{tuple(ts[0].shape)} and tensor {i} has shape {tuple(t_.shape)}"
            )
    d = _dim(dim, ts[0]._data.ndim + 1, "stack")
    return cat([unsqueeze(t_, d) for t_ in ts], d)


def split(x: Tensor, split_size_or_sections: Any, dim: int = 0) -> tuple[Tensor, ...]:
    """Split into chunks of a given size (the last may be smaller) or of the given sizes."""
    x = _as_tensor(x)
    d = _dim(dim, x._data.ndim, "split")
    n = x._data.shape[d]
    if isinstance(split_size_or_sections, (list, tuple)):
        sizes = list(split_size_or_sections)
        if _py_sum(sizes) != n:
            raise ValueError(
                f"split: sizes {tuple(sizes)} sum to {_py_sum(sizes)} but dim {d} has size {n}"
            )
    else:
        s = builtins.int(split_size_or_sections)
        if s <= 0:
            raise ValueError(f"split: split_size must be positive, got {s}")
        sizes = [s] * (n // s) + ([n % s] if n % s else [])
    out = []
    start = 0
    lead = (slice(None),) * d
    for s in sizes:
        out.append(getitem(x, lead + (slice(start, start + s),)))
        start += s
    return tuple(out)


def chunk(x: Tensor, chunks: int, dim: int = 0) -> tuple[Tensor, ...]:
    """Split into ``chunks`` nearly equal pieces (as PyTorch: size ceil(n / chunks))."""
    x = _as_tensor(x)
    if chunks <= 0:
        raise ValueError(f"chunk: chunks must be positive, got {chunks}")
    n = x._data.shape[_dim(dim, x._data.ndim, "chunk")]
    return split(x, _py_max(1, -(-n // chunks)), dim)


def flip(x: Tensor, dims: Any) -> Tensor:
    """Reverse the order of elements along ``dims``."""
    x = _as_tensor(x)
    axes = _dims(dims, x._data.ndim, "flip") or ()
    idx = tuple(slice(None, None, -1) if i in axes else slice(None) for i in range(x._data.ndim))
    return clone(getitem(x, idx))  # NOTE: a copy, as PyTorch's flip (a reversed slice is a view)


def gather(x: Tensor, dim: int, index: Any) -> Tensor:
    """out[i][j] = x[i][index[i][j]] for dim=1 (and likewise for any dim).

    >>> import chainrule as cr
    >>> cr.gather(cr.tensor([[1.0, 2.0], [3.0, 4.0]]), 1, cr.tensor([[1], [0]]))
    tensor([[2.],
            [3.]])
    """
    x = _as_tensor(x)
    idx = _as_tensor(index)._data
    nd = x._data.ndim
    d = _dim(dim, nd, "gather")
    if idx.dtype.kind not in "iu":
        raise TypeError(f"gather: index must be an integer tensor, got {idx.dtype}")
    if idx.ndim != nd:
        raise ValueError(
            f"gather: index has {idx.ndim} dims but the input has {nd} (shapes "
            f"{tuple(idx.shape)} and {tuple(x.shape)}); they must have the same number of dims"
        )
    for i in range(nd):
        if i != d and idx.shape[i] > x._data.shape[i]:
            raise ValueError(
                f"gather: index shape {tuple(idx.shape)} is larger than the input shape "
                f"{tuple(x.shape)} in dim {i}"
            )
    size = x._data.shape[d]
    if idx.size and (idx.min() < -size or idx.max() >= size):
        raise IndexError(
            f"gather: index values must be in [{-size}, {size - 1}] for dim {d} of size {size}, "
            f"got values from {idx.min()} to {idx.max()}"
        )
    grids = xp.ogrid[tuple(slice(0, s) for s in idx.shape)] if nd > 1 else [None]
    full = tuple(idx if i == d else grids[i] for i in range(nd))
    return apply_getitem(x, full, False)


take_along_dim = gather


# ---------------------------------------------------------------------------------------------
# Indexing
# ---------------------------------------------------------------------------------------------


def _normalize_index(index: Any, op: str) -> tuple[tuple, bool]:
    if not isinstance(index, tuple):
        index = (index,)
    out: list[Any] = []
    basic = True
    for i in index:
        if isinstance(i, Tensor):
            i = i._data
            if i.ndim == 0 and i.dtype.kind in "iu":
                out.append(builtins.int(i))
                continue
        if isinstance(i, (list, range)):
            i = xp.asarray(i)
            if i.size == 0:
                i = i.astype(B.int64)
        if isinstance(i, ndarray):
            basic = False
            if i.dtype == B.bool_ and i.ndim == 0:
                out.append(i)  # x[True] adds an axis of length 1, x[False] one of length 0
            elif i.dtype == B.bool_:
                out.extend(xp.nonzero(i))
            elif i.dtype.kind in "iu":
                out.append(i)
            else:
                raise IndexError(
                    f"{op}: tensors used as indices must be integer or bool, got {i.dtype}"
                )
        elif i is None or i is Ellipsis or isinstance(i, slice):
            out.append(i)
        elif isinstance(i, (builtins.int, xp.integer)) and not isinstance(i, builtins.bool):
            out.append(builtins.int(i))
        else:
            raise IndexError(
                f"{op}: unsupported index {i!r}; use ints, slices, None, ..., integer or bool "
                "tensors/lists"
            )
    return tuple(out), basic


def getitem(x: Tensor, index: Any) -> Tensor:
    """``x[index]``: basic and integer-array indexing (repeated indices add their gradients)."""
    idx, basic = _normalize_index(index, "getitem")
    split = None if basic else split_ints(idx)
    if split is not None:  # PyTorch applies the integers first (see core/indexing.py)
        return apply_getitem(apply_getitem(x, split[0], True), split[1], False)
    return apply_getitem(x, idx, basic)


def apply_getitem(x: Tensor, idx: tuple, basic: bool) -> Tensor:
    return apply(S.GetItem(idx, basic), x)


def index_add_zeros(g: Tensor, idx: tuple, basic: bool, shape: tuple[int, ...]) -> Tensor:
    return apply(S.IndexAddZeros(idx, basic, shape), g)


def index_put(x: Tensor, index: Any, value: Any) -> Tensor:
    """A copy of x with ``x[index] = value`` (value broadcasts); differentiable in both."""
    idx, basic = _normalize_index(index, "index_put")
    v = _as_tensor(value, x)
    if v._data.dtype != x._data.dtype:
        v = cast(v, x._data.dtype)
    split = None if basic else split_ints(idx)
    if split is not None:  # PyTorch applies the integers first (see core/indexing.py)
        inner = apply(S.IndexPut(split[1], False), apply_getitem(x, split[0], True), v)
        return apply(S.IndexPut(split[0], True), x, inner)
    return apply(S.IndexPut(idx, basic), x, v)


def masked_fill(x: Tensor, mask: Any, value: Any) -> Tensor:
    """x with ``value`` where mask is true."""
    return where(mask, value, x)


# ---------------------------------------------------------------------------------------------
# Linear algebra
# ---------------------------------------------------------------------------------------------


def matmul(a: Any, b: Any) -> Tensor:
    """Matrix product with NumPy/PyTorch semantics (1-D operands, broadcast batch dims).

    >>> import chainrule as cr
    >>> (cr.ones(2, 3) @ cr.ones(3)).tolist()
    [3.0, 3.0]
    """
    a, b = _pair(a, b)
    sa, sb = a._data.shape, b._data.shape
    if not sa or not sb:
        raise ValueError(
            f"matmul: both operands must have at least 1 dim, got shapes {sa} and {sb}; use * "
            "to multiply by a scalar"
        )
    ka = sa[-1]
    kb = sb[-2] if len(sb) >= 2 else sb[0]
    if ka != kb:
        raise ValueError(
            f"matmul: shapes {sa} and {sb} are not aligned: the last dim of the first ({ka}) "
            f"must equal the {'second-to-last' if len(sb) >= 2 else 'only'} dim of the second "
            f"({kb})"
        )
    if len(sa) > 2 and len(sb) > 2:
        try:
            xp.broadcast_shapes(sa[:-2], sb[:-2])
        except ValueError:
            raise ValueError(
                f"matmul: batch dims {sa[:-2]} and {sb[:-2]} of shapes {sa} and {sb} cannot be "
                "broadcast"
            ) from None
    if len(sa) == 1 and len(sb) == 1:
        return sum(mul(a, b))
    if len(sa) == 1:
        return squeeze(apply(S.Matmul(), unsqueeze(a, 0), b), -2)
    if len(sb) == 1:
        return squeeze(apply(S.Matmul(), a, unsqueeze(b, -1)), -1)
    return apply(S.Matmul(), a, b)


def mm(a: Tensor, b: Tensor) -> Tensor:
    if a.ndim != 2 or b.ndim != 2:
        raise ValueError(
            f"mm: expects 2-D tensors, got shapes {tuple(a.shape)} and {tuple(b.shape)}")
    return matmul(a, b)


def dot(a: Tensor, b: Tensor) -> Tensor:
    if a.ndim != 1 or b.ndim != 1:
        raise ValueError(
            f"dot: expects 1-D tensors, got shapes {tuple(a.shape)} and {tuple(b.shape)}")
    return matmul(a, b)


# ---------------------------------------------------------------------------------------------
# Tensor methods
# ---------------------------------------------------------------------------------------------

_METHODS = (
    "add sub mul div pow exp log log1p sqrt abs sin cos tanh sigmoid relu clamp clip maximum "
    "minimum sum mean var std max min amax amin argmax argmin prod logsumexp softmax "
    "log_softmax matmul reshape view flatten transpose permute squeeze unsqueeze expand "
    "expand_as broadcast_to split chunk gather flip neg square sign eq ne lt le gt ge isnan "
    "isinf isfinite clone masked_fill logical_not logical_and logical_or t mm dot softplus "
    "allclose equal"
).split()


def _install_methods(cls: type) -> None:
    g = globals()
    for name in _METHODS:
        setattr(cls, name, g[name])
    # The operators whose first operand is the tensor call the functions directly (one frame
    # less on the hottest path).
    cls.__add__ = add  # type: ignore[attr-defined]
    cls.__sub__ = sub  # type: ignore[attr-defined]
    cls.__mul__ = mul  # type: ignore[attr-defined]
    cls.__truediv__ = div  # type: ignore[attr-defined]
    cls.__matmul__ = matmul  # type: ignore[attr-defined]
    cls.__pow__ = pow  # type: ignore[attr-defined]
    cls.__neg__ = neg  # type: ignore[attr-defined]
    cls.__getitem__ = getitem  # type: ignore[attr-defined]
    cls.negative = g["neg"]  # type: ignore[attr-defined]
    cls.multiply = g["mul"]  # type: ignore[attr-defined]
    cls.divide = g["div"]  # type: ignore[attr-defined]
    cls.subtract = g["sub"]  # type: ignore[attr-defined]

    def where_method(self: Tensor, condition: Any, other: Any) -> Tensor:
        return where(condition, self, other)

    def reshape_as(self: Tensor, other: Tensor) -> Tensor:
        return reshape(self, other.shape)

    def type_as(self: Tensor, other: Tensor) -> Tensor:
        return self.to(other.dtype)

    def any_(self: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:
        return _make(xp.asarray(xp.any(self._data, axis=dim, keepdims=keepdim)))

    def all_(self: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:
        return _make(xp.asarray(xp.all(self._data, axis=dim, keepdims=keepdim)))

    cls.where = where_method  # type: ignore[attr-defined]
    cls.reshape_as = reshape_as  # type: ignore[attr-defined]
    cls.view_as = reshape_as  # type: ignore[attr-defined]
    cls.type_as = type_as  # type: ignore[attr-defined]
    cls.any = any_  # type: ignore[attr-defined]
    cls.all = all_  # type: ignore[attr-defined]


_ = graph  # grad mode lives in graph; re-exported by the package
