"""Each primitive as a NumPy call that writes into a preallocated buffer (``out=``).

A kernel must compute exactly what the primitive's ``forward`` computes, bit for bit: the
same NumPy function on the same operands, only with ``out=``. Where a forward is several
NumPy steps (sigmoid, its backward), the kernel does the same steps in the same order. Any
primitive not listed here (conv2d, pooling, index ops, whatever a later branch adds) runs its
own ``forward`` and the result is copied into its buffer: correct for every op, one
allocation slower. View ops (reshape, permute, broadcast_to, basic indexing) cost nothing at
replay: their output is a fixed view of their input's fixed buffer, made once.
"""

from __future__ import annotations

from functools import partial
from typing import Any, Callable

from ..backend import ndarray, xp
from ..core import primitives as P
from .fast import fast_kernel, shift_kernel, viewing

_UFUNCS: dict[type, Any] = {
    P.Add: xp.add, P.Sub: xp.subtract, P.Mul: xp.multiply, P.Div: xp.divide,
    P.Maximum: xp.maximum, P.Minimum: xp.minimum, P.Neg: xp.negative, P.Exp: xp.exp,
    P.Log: xp.log, P.Log1p: xp.log1p, P.Sqrt: xp.sqrt, P.Sin: xp.sin, P.Cos: xp.cos,
    P.Tanh: xp.tanh, P.Abs: xp.abs, P.Matmul: xp.matmul,
}


def ufunc_call(uf: Any, ins: tuple, out: ndarray) -> Callable[[], None]:
    """``uf(*ins, out=out)`` as a no-argument call; ``out`` positional where NumPy allows it
    (a keyword costs a dict merge and NumPy's keyword parsing at every call; maximum and
    minimum deprecate a third positional argument)."""
    if len(ins) == uf.nin and uf not in (xp.maximum, xp.minimum):
        return partial(uf, *ins, out)
    return partial(uf, *ins, out=out)


def _generic(forward: Callable, ins: tuple, out: ndarray) -> None:
    xp.copyto(out, forward(*ins))


def _sigmoid(x: ndarray, out: ndarray) -> None:
    # forward: 1.0 / (1.0 + exp(-x)), one step at a time into out
    xp.negative(x, out)
    xp.exp(out, out)
    xp.add(1.0, out, out)
    xp.divide(1.0, out, out)


def _sigmoid_grad(g: ndarray, s: ndarray, out: ndarray, tmp: ndarray) -> None:
    # forward: out = g * s; out *= 1.0 - s
    xp.multiply(g, s, out)
    xp.subtract(1.0, s, out=tmp)
    xp.multiply(out, tmp, out)


def _tanh_grad(g: ndarray, t: ndarray, out: ndarray, tmp: ndarray) -> None:
    # forward: u = t * t; u = 1.0 - u; g * u
    xp.multiply(t, t, out=tmp)
    xp.subtract(1.0, tmp, out=tmp)
    xp.multiply(g, tmp, out)


def _index_add(out: ndarray, index: Any, g: ndarray, basic: bool) -> None:
    # forward: scatter_add(shape, index, g, basic): zeros, then g put (or added) at index
    out.fill(0)
    if basic:
        out[index] = g
    else:
        xp.add.at(out, index, g)


def helper_kernel(fn: Callable, ins: tuple, out: ndarray) -> Callable[[], None] | None:
    """An out= kernel for an array helper recorded by the tracer, if it has one."""
    from ..core.ops import reductions

    if getattr(fn, "base", None) is reductions._shift and len(ins) == 1 and ins[0].size:
        return partial(shift_kernel, ins[0], fn.fixed[1], out,  # type: ignore[attr-defined]
                       xp.empty(out.shape, bool))
    return None


def kernel(node: Any, ins: tuple[ndarray, ...], out: ndarray) -> tuple[Callable[[], None], str]:
    """A call with no arguments that computes ``node`` from ``ins`` into ``out``, and the
    name of what it runs (for the program listing)."""
    fast = fast_kernel(node, ins, out)
    if fast is not None:
        return fast
    cls = type(node)
    uf = _UFUNCS.get(cls)
    arrays = all(x.ndim > 0 for x in ins) and out.ndim > 0
    if uf is not None:
        return ufunc_call(uf, ins, out), f"np.{uf.__name__}"
    if cls is P.Relu:
        return partial(xp.maximum, ins[0], 0, out=out), "np.maximum(x, 0)"
    if cls is P.Sum:
        return partial(xp.sum, ins[0], axis=node.axis, keepdims=node.keepdim, out=out), "np.sum"
    if cls is P.Amax:
        return partial(xp.amax, ins[0], axis=node.axis, keepdims=node.keepdim, out=out), \
            "np.amax"
    if cls is P.Cast:
        return partial(xp.copyto, out, ins[0], casting="unsafe"), "np.copyto"
    if cls is P.Sigmoid and arrays:
        return partial(_sigmoid, ins[0], out), "1/(1+np.exp(-x))"
    if cls is P.SigmoidGrad and arrays:
        return partial(_sigmoid_grad, ins[0], ins[1], out, xp.empty_like(out)), "g*s*(1-s)"
    if cls is P.TanhGrad and arrays:
        return partial(_tanh_grad, ins[0], ins[1], out, xp.empty_like(out)), "g*(1-t*t)"
    if cls is P.IndexAddZeros and out.ndim > 0 and ins[0].dtype == out.dtype:
        return partial(_index_add, out, node.index, ins[0], node.basic), "np.add.at"
    return partial(_generic, node.forward, ins, out), f"{node.name}.forward"


def static_view(node: Any, ins: tuple[ndarray, ...]) -> ndarray | None:
    """The output as a fixed view of the input's buffer, if the op makes a view."""
    if len(ins) != 1 or not viewing(node):
        return None
    out = node.forward(*ins)
    if isinstance(out, ndarray) and out.base is not None and xp.may_share_memory(out, ins[0]):
        return out
    return None
