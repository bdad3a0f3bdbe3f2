"""Gradient checking: compare backpropagation with central finite differences in float64.

``gradcheck(fn, inputs)`` computes d fn / d inputs twice, once by the chain rule through the
graph and once numerically, ``(f(x + eps) - f(x - eps)) / (2 eps)``, and says exactly where
they disagree. Small problems get the full Jacobian, element by element; large ones are
checked along random directions (``v^T J u``), one input at a time.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

from . import backend as B
from .backend import xp
from .core.autograd import grad
from .core.tensor import Tensor, _make

__all__ = ["gradcheck", "gradgradcheck", "GradcheckError"]

FULL_JACOBIAN_LIMIT = 256  # elements of inputs (and of outputs) up to which J is built whole


class GradcheckError(AssertionError):
    """The gradient computed by backpropagation disagrees with finite differences."""


def _outputs(res: Any) -> list[Tensor]:
    if isinstance(res, Tensor):
        return [res]
    if isinstance(res, (tuple, list)):
        return [r for r in res if isinstance(r, Tensor) and r._data.dtype.kind == "f"]
    raise TypeError(
        f"gradcheck: fn must return a tensor or a tuple of tensors, got {type(res).__name__}")


def _prepare(inputs: Any) -> tuple[list[Any], list[int]]:
    if isinstance(inputs, Tensor):
        inputs = (inputs,)
    xs: list[Any] = []
    diff: list[int] = []
    for i, t in enumerate(inputs):
        if isinstance(t, Tensor) and t.requires_grad:
            x = _make(t._data.astype(B.float64))
            x.requires_grad_(True)
            xs.append(x)
            diff.append(i)
        else:
            xs.append(t)
    if not diff:
        raise ValueError("gradcheck: none of the inputs requires grad; pass tensors created "
                         "with requires_grad=True")
    return xs, diff


def _evaluate(fn: Callable, xs: list[Any]) -> list[Any]:
    # NOTE: grad mode stays on: gradgradcheck's fn differentiates inside.
    return [o._data.astype(B.float64) for o in _outputs(fn(*xs))]


def _analytic_vjp(outs: list[Tensor], xs: list[Tensor], vs: list[Any]) -> list[Any]:
    """sum_o v_o^T d out_o / d x for each x (zeros where an x or an output is unused)."""
    live = [(o, v) for o, v in zip(outs, vs) if o.requires_grad]
    if not live:
        return [xp.zeros(x.shape) for x in xs]
    cot = [_make(v.astype(o._data.dtype)) for o, v in live]
    gs = grad([o for o, _ in live], xs, grad_outputs=cot, retain_graph=True, allow_unused=True)
    res = []
    for x, g in zip(xs, gs):
        if g is None:
            res.append(xp.zeros(x.shape))
            continue
        if g.shape != x.shape:
            raise GradcheckError(
                f"gradcheck: the gradient for an input of shape {tuple(x.shape)} has shape "
                f"{tuple(g.shape)}"
            )
        res.append(g._data.astype(B.float64))
    return res


def _fail(msg: str, raise_exception: bool) -> bool:
    if raise_exception:
        raise GradcheckError(msg)
    return False


def gradcheck(fn: Callable, inputs: Any, eps: float = 1e-6, atol: float = 1e-5,
              rtol: float = 1e-3, raise_exception: bool = True, n_directions: int = 3,
              seed: int = 0) -> bool:
    """Check the gradients of ``fn`` at ``inputs`` against central finite differences.

    Inputs that require grad are checked (in float64 copies); the others are passed through.
    Returns True, or raises :class:`GradcheckError` naming the input and element that
    disagree (returns False instead when ``raise_exception=False``).

    >>> import chainrule as cr
    >>> x = cr.randn(3, 2, dtype=cr.float64, requires_grad=True)
    >>> cr.autograd.gradcheck(lambda x: (x.tanh() * x).sum(dim=1), (x,))
    True
    """
    xs, diff = _prepare(inputs)
    dxs = [xs[i] for i in diff]
    outs = _outputs(fn(*xs))
    if not outs:
        raise ValueError("gradcheck: fn returned no floating-point tensor")
    n_in = sum(x._data.size for x in dxs)
    n_out = sum(o._data.size for o in outs)
    if n_in <= FULL_JACOBIAN_LIMIT and n_out <= FULL_JACOBIAN_LIMIT:
        return _check_full(fn, xs, diff, outs, eps, atol, rtol, raise_exception)
    rng = B.new_generator(seed)
    for i in diff:
        for _ in range(n_directions):
            u = rng.standard_normal(xs[i].shape)
            vs = [rng.standard_normal(o.shape) for o in outs]
            num = _directional(fn, xs, i, u, vs, eps)
            ana = float(xp.sum(_analytic_vjp(outs, [xs[i]], vs)[0] * u))
            if not abs(ana - num) <= atol + rtol * abs(num):
                if xs[i]._data.size <= 4 * FULL_JACOBIAN_LIMIT:
                    _check_full(fn, xs, [i], outs, eps, atol, rtol, raise_exception=True)
                return _fail(
                    f"gradcheck: gradient mismatch for input {i} (shape {tuple(xs[i].shape)}) "
                    f"along a random direction: numerical {num:.6g}, analytical {ana:.6g}",
                    raise_exception)
    return True


def _directional(fn: Callable, xs: list[Any], i: int, u: Any, vs: list[Any], eps: float) -> float:
    x = xs[i]
    orig = x._data
    try:
        x._data = orig + eps * u
        plus = _evaluate(fn, xs)
        x._data = orig - eps * u
        minus = _evaluate(fn, xs)
    finally:
        x._data = orig
    return float(sum(xp.sum(v * (p - m)) for v, p, m in zip(vs, plus, minus)) / (2 * eps))


def _check_full(fn: Callable, xs: list[Any], diff: list[int], outs: list[Tensor], eps: float,
                atol: float, rtol: float, raise_exception: bool) -> bool:
    for i in diff:
        x = xs[i]
        flat = x._data.reshape(-1)
        # numerical Jacobian columns: d outs / d x_k
        num_cols = []
        for k in range(flat.size):
            orig = flat[k]
            try:
                flat[k] = orig + eps
                plus = _evaluate(fn, xs)
                flat[k] = orig - eps
                minus = _evaluate(fn, xs)
            finally:
                flat[k] = orig
            num_cols.append([((p - m) / (2 * eps)).reshape(-1) for p, m in zip(plus, minus)])
        for oi, o in enumerate(outs):
            num = xp.stack([c[oi] for c in num_cols], axis=1) if num_cols else \
                xp.zeros((o._data.size, 0))
            ana = xp.zeros_like(num)
            for m in range(o._data.size):
                vs = [xp.zeros(oo.shape) for oo in outs]
                vs[oi].reshape(-1)[m] = 1.0
                ana[m] = _analytic_vjp(outs, [x], vs)[0].reshape(-1)
            bad = xp.abs(ana - num) - (atol + rtol * xp.abs(num))
            if not (bad <= 0).all():
                m, k = xp.unravel_index(  # type: ignore[assignment]  # numpy ints, used as ints
int(xp.nanargmax(xp.where(xp.isnan(bad), xp.inf, bad))),
                                        bad.shape)
                in_el = tuple(int(v) for v in xp.unravel_index(k, x.shape)) if x.ndim else ()
                out_el = tuple(int(v) for v in xp.unravel_index(m, o.shape)) if o.ndim else ()
                return _fail(
                    f"gradcheck: Jacobian mismatch for output {oi} with respect to input {i} "
                    f"(shape {tuple(x.shape)}) at input element {in_el}, output element "
                    f"{out_el}: numerical {num[m, k]:.6g}, analytical {ana[m, k]:.6g}",
                    raise_exception)
    return True


def gradgradcheck(fn: Callable, inputs: Any, grad_outputs: Sequence[Tensor] | None = None,
                  eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
                  raise_exception: bool = True, seed: int = 0) -> bool:
    """Check second-order gradients: gradcheck of ``v -> d(v . fn)/d inputs``.

    >>> import chainrule as cr
    >>> x = cr.randn(4, dtype=cr.float64, requires_grad=True)
    >>> cr.autograd.gradgradcheck(lambda x: x.sigmoid() * x.sin(), (x,))
    True
    """
    xs, diff = _prepare(inputs)
    outs = _outputs(fn(*xs))
    rng = B.new_generator(seed)
    if grad_outputs is None:
        vs = [_make(rng.standard_normal(o.shape)) for o in outs]
    else:
        vs = [_make(v._data.astype(B.float64)) for v in grad_outputs]
    for v in vs:
        v.requires_grad_(True)
    n = len(xs)

    def first_grad(*args: Any) -> tuple[Tensor, ...]:
        ins, cot = list(args[:n]), list(args[n:])
        os_ = _outputs(fn(*ins))
        live = [(o, v) for o, v in zip(os_, cot) if o.requires_grad]
        targets = [ins[i] for i in diff]
        if not live:
            return tuple(_make(xp.zeros(t.shape)) for t in targets)
        gs = grad([o for o, _ in live], targets, grad_outputs=[v for _, v in live],
                  create_graph=True, allow_unused=True, materialize_grads=True)
        return tuple(gs)  # type: ignore[arg-type]

    return gradcheck(first_grad, tuple(xs) + tuple(vs), eps=eps, atol=atol, rtol=rtol,
                     raise_exception=raise_exception, seed=seed)
