"""The op table: one row per differentiable op, the data that drives tests/test_ops.py and
tests/test_torch_oracle.py.

Every primitive in ``chainrule.core.primitives.PRIMITIVES`` and every public differentiable
function of ``chainrule.core.functional`` is named in the ``covers`` of at least one row
(``test_ops.py::test_every_op_has_a_row`` fails otherwise). A row says

- ``name``: a unique id (used in test ids and by the torch oracle's mapping);
- ``fn``: the op applied to chainrule tensors, one positional argument per differentiable input;
- ``arity``: how many tensor arguments ``fn`` takes;
- ``covers``: the primitive classes ("Add") and functional functions ("add") it exercises
  (checked: the primitives must appear in the recorded graph, the functions must be called);
- ``domains``: one input domain per argument (where the op is smooth and well conditioned:
  positive for log/sqrt, away from kinks for abs/relu/clamp, no ties for maximum/amax, ...);
- ``samples``: explicit shape tuples, one shape per argument, that must be tested (scalars
  ``()``, size-1 dims, broadcastable pairs for binary ops);
- ``generated``: a hypothesis strategy for more shape tuples (or None where the samples are
  all that makes sense);
- ``twice_differentiable``: whether gradgradcheck applies (the backward is itself
  differentiable at points of the domain);
- ``joint``: optionally, a strategy for all inputs at once where they must be related (ties).

Values are drawn by hypothesis inside ``domain``; shapes come from ``samples`` and
``generated``. Sizes stay small (sides <= 4) so that full Jacobians are cheap.

``KNOWN_BUGS`` at the end lists the cases where chainrule is currently wrong; the tests run
them as strict xfails.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import prod
from typing import Any, Callable

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import chainrule as cr
from chainrule.core import functional as F
from chainrule.core.graph import apply
from chainrule.core.primitives import PRIMITIVES, DiagEmbed, SigmoidGrad, TanhGrad
from chainrule.core.primitives import conv as C
from chainrule.core.primitives.recurrent import GATES, RecurrentLayer
from chainrule.nn import functional as NF

import op_table_attention as OA

Shape = tuple[int, ...]
Shapes = tuple[Shape, ...]

PRIMITIVE_NAMES = {p.__name__: p for p in PRIMITIVES}

# ---------------------------------------------------------------------------------------------
# Input domains
# ---------------------------------------------------------------------------------------------


def _floats(lo: float, hi: float) -> st.SearchStrategy[float]:
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False, allow_subnormal=False)


@dataclass(frozen=True)
class Domain:
    """Where an argument's values come from: ``domain(shape)`` is a strategy of float64 arrays."""

    name: str
    elements: st.SearchStrategy[float] | None = None
    make: Callable[[Shape], st.SearchStrategy[np.ndarray]] | None = None

    def __call__(self, shape: Shape) -> st.SearchStrategy[np.ndarray]:
        if self.make is not None:
            return self.make(shape)
        return hnp.arrays(np.float64, shape, elements=self.elements)

    def __repr__(self) -> str:
        return self.name

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        p.text(self.name)


def _away(lo: float, hi: float, points: tuple[float, ...], margin: float = 0.1) -> Domain:
    """Uniform on [lo, hi] but at least ``margin`` from each of ``points`` (kinks, jumps)."""
    el = _floats(lo, hi).filter(lambda v: all(abs(v - p) >= margin for p in points))
    return Domain(f"[{lo}, {hi}] away from {points}", el)


def _distinct(shape: Shape) -> st.SearchStrategy[np.ndarray]:
    # A shuffled lattice with spacing 0.4, jittered by at most 0.1: every two elements differ by
    # at least 0.2, far more than gradcheck's eps, so no max/min is ever tied.
    n = prod(shape)
    return st.tuples(
        st.permutations(range(n)),
        hnp.arrays(np.float64, shape, elements=_floats(-0.1, 0.1)),
    ).map(lambda pj: (np.asarray(pj[0], dtype=np.float64).reshape(shape) - (n - 1) / 2) * 0.4
          + pj[1])


def _lattice(lo_int: int, hi_int: int, lo: float, hi: float) -> st.SearchStrategy[float]:
    return st.builds(lambda k, u: k + u, st.integers(lo_int, hi_int), _floats(lo, hi))


REAL = Domain("real [-2, 2]", _floats(-2.0, 2.0))
POSITIVE = Domain("positive [0.25, 3]", _floats(0.25, 3.0))
ABOVE_MINUS_ONE = Domain("[-0.75, 2] (log1p)", _floats(-0.75, 2.0))
NONZERO = Domain("|x| in [0.25, 2]", st.one_of(_floats(-2.0, -0.25), _floats(0.25, 2.0)))
DISTINCT = Domain("distinct (gaps >= 0.2)", make=_distinct)
# Two interleaved lattices: any a from LATTICE_A and b from LATTICE_B differ by at least 0.2,
# so maximum/minimum/where(a > b) never see a tie, whatever the broadcasting pairs up.
LATTICE_A = Domain("k + [0.2, 0.4]", _lattice(-2, 1, 0.2, 0.4))
LATTICE_B = Domain("k + [0.6, 0.8]", _lattice(-2, 1, 0.6, 0.8))
LOW_BOUND = Domain("k + [0.6, 0.8], k in {-3, -2}", _lattice(-3, -2, 0.6, 0.8))
HIGH_BOUND = Domain("k + [0.6, 0.8], k in {0, 1}", _lattice(0, 1, 0.6, 0.8))
WITH_ZEROS = Domain("values with exact zeros",
                    st.sampled_from([0.0, 0.0, 0.5, -1.5, 1.25, -0.75, 2.0]))
SHIFTED = Domain("large [497, 503]", _floats(497.0, 503.0))
ZERO = Domain("exactly 0", st.just(0.0))
CONSTANT = Domain("all elements 0.75", st.just(0.75))
# softplus is smooth everywhere, but chainrule's gradient at exactly 0 is wrong (see the
# softplus_at_zero row), so the general rows stay a little away from 0.
REAL_BUT_ZERO = _away(-2.0, 2.0, (0.0,), margin=0.01)
WIDE = _away(-40.0, 40.0, (0.0, 20.0), margin=0.01)

CLAMP_LO, CLAMP_HI = -0.5, 0.7
AWAY_FROM_CLAMP = _away(-2.0, 2.0, (CLAMP_LO, CLAMP_HI))
AWAY_FROM_SOFTPLUS_THRESHOLD = _away(-2.0, 2.0, (0.0, 0.5))  # softplus(beta=2, threshold=1) jumps
WIDE_ERF = Domain("[-7, 7] (erf's tails)", _floats(-7.0, 7.0))
ERFC_TAIL = Domain("[2, 25] (erfc's far tail)", _floats(2.0, 25.0))
INSIDE_UNIT = Domain("(-0.95, 0.95) (erfinv)", _floats(-0.95, 0.95))
PROBABILITY = Domain("(0.05, 0.95)", _floats(0.05, 0.95))
AWAY_FROM_LOGIT_EPS = _away(0.01, 0.99, (0.2, 0.8), margin=0.02)


def tied(shapes: Shapes) -> st.SearchStrategy[tuple[np.ndarray, ...]]:
    """Two equal arrays (for rows that check how ties share the gradient)."""
    return REAL(shapes[0]).map(lambda a: (a, a.copy()))


# ---------------------------------------------------------------------------------------------
# Shapes
# ---------------------------------------------------------------------------------------------

MAX_SIDE = 3


def _shape(min_dims: int = 0, max_dims: int = 3, min_side: int = 1) -> st.SearchStrategy[Shape]:
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side,
                            max_side=MAX_SIDE)


def one_shape(min_dims: int = 0, max_dims: int = 3, min_side: int = 1,
              fix: Callable[[Shape], Shape] | None = None) -> st.SearchStrategy[Shapes]:
    s = _shape(min_dims, max_dims, min_side)
    return (s.map(fix) if fix else s).map(lambda t: (t,))


def same_shapes(n: int, min_dims: int = 0) -> st.SearchStrategy[Shapes]:
    return _shape(min_dims).map(lambda s: (s,) * n)


def broadcastable(n: int) -> st.SearchStrategy[Shapes]:
    return hnp.mutually_broadcastable_shapes(
        num_shapes=n, min_dims=0, max_dims=3, min_side=1, max_side=MAX_SIDE
    ).map(lambda r: tuple(r.input_shapes))


def cat_shapes(n: int, dim: int) -> st.SearchStrategy[Shapes]:
    def build(args: tuple[Shape, list[int]]) -> Shapes:
        base, sizes = args
        d = dim % len(base)
        return tuple(base[:d] + (k,) + base[d + 1:] for k in sizes)

    return st.tuples(_shape(min_dims=1), st.lists(st.integers(1, 3), min_size=n, max_size=n)).map(
        build)


def inplace_pairs() -> st.SearchStrategy[Shapes]:
    """(s, b): b broadcasts to s itself (an in-place op cannot change its tensor's shape)."""
    return _shape().flatmap(lambda s: hnp.broadcastable_shapes(
        s, min_dims=0, max_dims=len(s), max_side=MAX_SIDE
    ).filter(lambda b: np.broadcast_shapes(s, b) == s).map(lambda b: (s, b)))


def matmul_shapes(signature: str, max_batch_dims: int = 2) -> st.SearchStrategy[Shapes]:
    return hnp.mutually_broadcastable_shapes(
        signature=signature, min_dims=0, max_dims=max_batch_dims, min_side=1, max_side=MAX_SIDE
    ).map(lambda r: tuple(r.input_shapes))


def _last_at_least(k: int) -> Callable[[Shape], Shape]:
    return lambda s: s[:-1] + (max(s[-1], k),)


def _first_at_least(k: int) -> Callable[[Shape], Shape]:
    return lambda s: (max(s[0], k),) + s[1:]


UNARY_SAMPLES: tuple[Shapes, ...] = (((),), ((1,),), ((4,),), ((3, 1),), ((2, 1, 3),))
ND1_SAMPLES: tuple[Shapes, ...] = (((1,),), ((4,),), ((3, 1),), ((2, 1, 3),))
ND2_SAMPLES: tuple[Shapes, ...] = (((1, 1),), ((2, 3),), ((3, 1),), ((2, 1, 3),))
BINARY_SAMPLES: tuple[Shapes, ...] = (
    ((), ()), ((), (2, 3)), ((3, 1), ()), ((1,), (1,)), ((2, 3), (2, 3)), ((2, 1), (1, 3)),
    ((3,), (2, 1, 3)),
)
INPLACE_SAMPLES: tuple[Shapes, ...] = (
    ((), ()), ((2, 3), ()), ((2, 3), (3,)), ((3, 1), (1,)), ((2, 3), (2, 3)), ((2, 1, 3), (1, 3)),
)
TERNARY_SAMPLES: tuple[Shapes, ...] = (
    ((), (), ()), ((2, 3), (3,), (1,)), ((2, 1), (1, 3), ()), ((3,), (2, 1), (1, 1, 3)),
)

# ---------------------------------------------------------------------------------------------
# Deterministic non-differentiable arguments (masks, indices), shared with the torch oracle
# ---------------------------------------------------------------------------------------------


def checker(*shapes: Shape) -> np.ndarray:
    """A fixed boolean pattern of the broadcast shape (True, False, True, True, False, ...)."""
    shape = np.broadcast_shapes(*shapes)
    return np.asarray(np.arange(prod(shape)).reshape(shape) % 3 != 1)


def gather_index(shape: Shape, dim: int) -> np.ndarray:
    """An index for gather along ``dim``: one more entry than the dim has, so some repeat."""
    d = dim % len(shape)
    n = shape[d]
    ishape = shape[:d] + (n + 1,) + shape[d + 1:]
    return (np.arange(prod(ishape)) * 2 + 1).reshape(ishape) % n


def expanded(shape: Shape) -> Shape:
    """The target of broadcast_to/expand rows: a new leading dim, size-1 dims grown to 3."""
    return (2,) + tuple(3 if s == 1 else s for s in shape)


def summed_to(shape: Shape) -> Shape:
    """The target of the sum_to row: the leading dim dropped, every other remaining dim 1."""
    return tuple(1 if i % 2 == 0 else s for i, s in enumerate(shape[1:]))


ADV_INDEX = [0, 2, 0]  # integer-array index with a repeat (gradients must add up)
NEG_INDEX = [-1, 0, -1]


def setitem_row0(x: Any, v: Any) -> Any:
    """y = x.clone(); y[0] = v (method-only code: runs on chainrule and torch tensors alike)."""
    y = x.clone()
    y[0] = v
    return y


def setitem_adv(x: Any, v: Any) -> Any:
    y = x * 1.0
    y[[2, 0]] = v
    return y


def inplace(op: Callable[..., Any], arity: int) -> Callable[..., Any]:
    """y = x * 1.0; op(y[, b]); y: an in-place op on a non-leaf (method-only code)."""
    def fn1(x: Any) -> Any:
        y = x * 1.0
        op(y)
        return y

    def fn2(x: Any, b: Any) -> Any:
        y = x * 1.0
        op(y, b)
        return y

    return fn1 if arity == 1 else fn2


def _iadd(y: Any, b: Any) -> None:
    y += b


def _idiv(y: Any, b: Any) -> None:
    y /= b


# ---------------------------------------------------------------------------------------------
# Convolution, pooling and batch norm: geometry shared with the torch oracle
# ---------------------------------------------------------------------------------------------
# A geometry is (stride, ((top, bottom), (left, right)) padding, dilation, groups), the
# parameters of the Conv2d primitives. Shapes stay tiny (sides <= 5, a few channels), so that
# full Jacobians stay cheap.

Geom = tuple[tuple[int, int], tuple[tuple[int, int], tuple[int, int]], tuple[int, int], int]

CONV_PLAIN: Geom = ((1, 1), ((1, 1), (1, 1)), (1, 1), 1)  # padding 1, the CNN's convolution
CONV_STRIDED: Geom = ((2, 1), ((1, 1), (0, 0)), (1, 2), 1)  # stride, dilation, no bias
CONV_INPUT_GRAD: Geom = ((2, 1), ((1, 1), (1, 1)), (1, 2), 2)  # grouped transposed conv
CONV_WEIGHT_GRAD: Geom = ((1, 2), ((0, 0), (1, 1)), (2, 1), 2)
WEIGHT_GRAD_KERNEL = (2, 2)


def conv_out_hw(x_hw: tuple[int, int], kernel: tuple[int, int], geom: Geom) -> tuple[int, int]:
    stride, pad, dil, _ = geom
    return tuple(C.out_size(n, k, s, p[0], p[1], d)  # type: ignore[return-value]
                 for n, k, s, p, d in zip(x_hw, kernel, stride, pad, dil))


def conv_in_hw(g_hw: tuple[int, int], kernel: tuple[int, int], geom: Geom) -> tuple[int, int]:
    """The largest input size whose convolution has output size g_hw (stride leaves rows
    that no window reaches: their gradient is 0)."""
    stride, pad, dil, _ = geom
    return tuple((o - 1) * s + s - 1 + d * (k - 1) + 1 - p[0] - p[1]  # type: ignore[return-value]
                 for o, k, s, p, d in zip(g_hw, kernel, stride, pad, dil))


def same_padding(kernel: tuple[int, int], dil: tuple[int, int] = (1, 1)) -> tuple:
    return tuple((d * (k - 1) // 2, d * (k - 1) - d * (k - 1) // 2) for k, d in zip(kernel, dil))


def conv_x_w(n: int, cg: int, og: int, groups: int, kernel: tuple[int, int],
             hw: tuple[int, int]) -> tuple[Shape, Shape]:
    return (n, cg * groups) + hw, (og * groups, cg) + kernel


def conv_shapes(geom: Geom, bias: bool, same: bool = False) -> st.SearchStrategy[Shapes]:
    """(x, w[, b]) shapes: a kernel of sides 1-3 that fits the padded input (sides <= 4)."""
    stride, pad, dil, groups = geom

    @st.composite
    def build(draw: Any) -> Shapes:
        n, cg, og = (draw(st.integers(1, 2)) for _ in range(3))
        kernel = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
        pads = same_padding(kernel, dil) if same else pad
        hw = tuple(draw(st.integers(max(1, d * (k - 1) + 1 - p[0] - p[1]),
                                    max(1, d * (k - 1) + 1 - p[0] - p[1], 4)))
                   for k, p, d in zip(kernel, pads, dil))
        x, w = conv_x_w(n, cg, og, groups, kernel, hw)  # type: ignore[arg-type]
        return (x, w, (w[0],)) if bias else (x, w)

    return build()


def input_grad_sample(n: int, cg: int, og: int, kernel: tuple[int, int],
                      g_hw: tuple[int, int], geom: Geom = CONV_INPUT_GRAD,
                      check: bool = True) -> Shapes:
    """(g, w) for the transposed convolution of geometry ``geom``."""
    groups = geom[3]
    assert not check or min(conv_in_hw(g_hw, kernel, geom)) >= 1, "no input size gives this"
    return (n, og * groups) + g_hw, (og * groups, cg) + kernel


def conv_input_grad_shapes(geom: Geom) -> st.SearchStrategy[Shapes]:
    """(g, w) shapes for the transposed convolution (the input it goes back to non-empty)."""
    return st.tuples(*(st.integers(1, 2) for _ in range(3)),
                     st.tuples(st.integers(1, 3), st.integers(1, 3)),
                     st.tuples(st.integers(1, 3), st.integers(1, 3))).map(
        lambda t: input_grad_sample(*t, geom=geom, check=False)).filter(  # type: ignore[misc]
        lambda gw: min(conv_in_hw(gw[0][2:], gw[1][2:], geom)) >= 1)


def weight_grad_sample(n: int, cg: int, og: int, x_hw: tuple[int, int],
                       geom: Geom = CONV_WEIGHT_GRAD,
                       kernel: tuple[int, int] = WEIGHT_GRAD_KERNEL) -> Shapes:
    """(x, g) for the correlation of geometry ``geom`` giving a weight of ``kernel`` size."""
    groups = geom[3]
    g_hw = conv_out_hw(x_hw, kernel, geom)
    assert min(g_hw) >= 1, "the kernel does not fit the padded input"
    return (n, cg * groups) + x_hw, (n, og * groups) + g_hw


def conv_weight_grad_shapes(geom: Geom, kernel: tuple[int, int]) -> st.SearchStrategy[Shapes]:
    """(x, g) shapes for the correlation that gives the weight gradient."""
    lo = [max(1, d * (k - 1) + 1 - p[0] - p[1]) for k, p, d in zip(kernel, geom[1], geom[2])]
    return st.tuples(*(st.integers(1, 2) for _ in range(3)),
                     st.tuples(st.integers(lo[0], lo[0] + 3),
                               st.integers(lo[1], lo[1] + 3))).map(
        lambda t: weight_grad_sample(*t, geom=geom, kernel=kernel))  # type: ignore[misc]


def conv_input_grad(g: Any, w: Any) -> Any:
    """The transposed convolution (conv2d's input gradient), straight from the primitive."""
    geom = CONV_INPUT_GRAD
    in_hw = conv_in_hw(tuple(g.shape[2:]), tuple(w.shape[2:]), geom)
    return apply(C.Conv2dInputGrad(*geom, in_hw), g, w)


def conv_weight_grad(x: Any, g: Any) -> Any:
    """The correlation of x with g (conv2d's weight gradient), straight from the primitive."""
    return apply(C.Conv2dWeightGrad(*CONV_WEIGHT_GRAD, WEIGHT_GRAD_KERNEL), x, g)


# Pooling geometries: (kernel, stride, padding, dilation)
POOL_OVERLAP = ((3, 3), (2, 2), (1, 1), (1, 1))
POOL_DILATED = ((2, 2), (1, 2), (1, 0), (2, 1))


def pool_shapes(kernel: tuple[int, int], stride: tuple[int, int], pad: tuple[int, int],
                dil: tuple[int, int]) -> st.SearchStrategy[Shapes]:
    # NOTE: at least pad + 1 rows and columns, so that no window lies entirely in the padding
    lo = [max(1, d * (k - 1) + 1 - 2 * p, p + 1) for k, p, d in zip(kernel, pad, dil)]
    return st.tuples(st.integers(1, 2), st.integers(1, 2), st.integers(lo[0], lo[0] + 3),
                     st.integers(lo[1], lo[1] + 3)).map(lambda t: (t,))


def pool_ref(shape: Shape) -> np.ndarray:
    """A fixed input without ties (a shuffled lattice): the max-pool rows' argmax pattern."""
    n = prod(shape)
    return ((np.arange(n) * 7919) % max(n, 1) * 0.25).reshape(shape).astype(np.float64)


def pool_in_shape(g_shape: Shape, geom: tuple) -> Shape:
    kernel, stride, pad, dil = geom
    return g_shape[:2] + conv_in_hw(g_shape[2:], kernel, (stride, (pad[0:1] * 2, pad[1:] * 2),
                                                          dil, 1))  # type: ignore[arg-type]


def max_pool_grad(g: Any) -> Any:
    """max_pool2d's input gradient at the fixed input pool_ref: g scattered to the argmaxes."""
    geom = POOL_OVERLAP
    kernel, stride, pad, dil = geom
    ref = pool_ref(pool_in_shape(tuple(g.shape), geom)).astype(g.dtype)
    node = C.MaxPool2d(kernel, stride, pad, dil)
    node.forward(ref)
    return apply(C.MaxPool2dGrad(kernel, stride, pad, dil, ref.shape[2:], node._index), g)


def avg_pool_grad(g: Any) -> Any:
    geom = POOL_OVERLAP
    kernel, stride, pad, _ = geom
    in_hw = pool_in_shape(tuple(g.shape), geom)[2:]
    return apply(C.AvgPool2dGrad(kernel, stride, pad, float(kernel[0] * kernel[1]), in_hw), g)


def bn_shapes(affine: bool) -> st.SearchStrategy[Shapes]:
    """(x[, w, b]) shapes: (N, C), (N, C, L) or (N, C, H, W) with N * L * ... >= 2."""
    def build(shape: Shape) -> Shapes:
        if prod(shape) // shape[1] < 2:
            shape = (shape[0] + 1,) + shape[1:]
        return (shape, (shape[1],), (shape[1],)) if affine else (shape,)

    return hnp.array_shapes(min_dims=2, max_dims=4, min_side=1, max_side=3).map(build)


def running_stats(c: int) -> tuple[np.ndarray, np.ndarray]:
    """Fixed running mean and variance for the eval-mode batch-norm row."""
    return np.linspace(-0.5, 0.5, c), np.linspace(0.5, 2.0, c)


def bn_eval(x: Any, w: Any, b: Any) -> Any:
    rm, rv = running_stats(x.shape[1])
    return NF.batch_norm(x, cr.tensor(rm), cr.tensor(rv), w, b, training=False, eps=1e-3)


def _recurrent(mode: str, reverse: bool, sizes: tuple[int, ...] | None) -> Callable:
    def fn(xi: Any, whh: Any, bhh: Any, s0: Any) -> Any:
        return apply(RecurrentLayer(mode, reverse, sizes), xi, whh, bhh, s0)

    return fn


def _recurrent_samples(mode: str, sizes: tuple[int, ...] | None) -> tuple[Shapes, ...]:
    """(T, B, H) triples -> the four input shapes; with ``sizes`` (packed) T = len(sizes) and
    B = sizes[0]."""
    G, k = GATES[mode], 2 if mode == "lstm" else 1
    tbh = [(len(sizes), sizes[0], 1), (len(sizes), sizes[0], 2)] if sizes else [
        (1, 1, 1), (3, 2, 2), (2, 1, 3)]
    return tuple(((T, B, G * H), (G * H, H), (G * H,), (B, k * H)) for T, B, H in tbh)


# (mode, reverse, batch_sizes, name suffix) of the RecurrentLayer rows
RECURRENT_ROWS = (("lstm", False, None, ""), ("gru", False, None, ""),
                  ("rnn_tanh", False, None, ""), ("rnn_relu", False, None, ""),
                  ("lstm", True, (3, 2, 1), "_packed_reverse"),
                  ("gru", True, (3, 3, 1), "_packed_reverse"),
                  ("rnn_tanh", False, (3, 1, 1), "_packed"))

# ---------------------------------------------------------------------------------------------
# Rows
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    name: str
    fn: Callable[..., Any]
    arity: int
    covers: tuple[str, ...]
    domains: tuple[Domain, ...]
    samples: tuple[Shapes, ...]
    generated: st.SearchStrategy[Shapes] | None
    twice_differentiable: bool = True
    # unary | binary | ternary | reduction | shape | index | linalg | ties: the sample checks of
    # test_row_is_well_formed depend on it (scalars for unary, broadcasting pairs for binary)
    kind: str = "other"
    joint: Callable[[Shapes], st.SearchStrategy[tuple[np.ndarray, ...]]] | None = None

    def __repr__(self) -> str:
        return f"Row({self.name})"

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:  # hypothesis' failure reports
        p.text(repr(self))

    def shapes(self) -> st.SearchStrategy[Shapes]:
        """Shape tuples: the samples and, where given, generated ones."""
        s = st.sampled_from(self.samples)
        return st.one_of(s, self.generated) if self.generated is not None else s

    def values(self, shapes: Shapes) -> st.SearchStrategy[tuple[np.ndarray, ...]]:
        if self.joint is not None:
            return self.joint(shapes)
        return st.tuples(*(d(s) for d, s in zip(self.domains, shapes)))


DEFAULT: Any = object()  # "the usual generated shapes for this arity" (None means: none)


def unary(name: str, fn: Callable, covers: tuple[str, ...], domain: Domain = REAL,
          samples: tuple[Shapes, ...] = UNARY_SAMPLES, generated: Any = DEFAULT,
          kind: str = "unary", twice: bool = True) -> Row:
    gen = one_shape() if generated is DEFAULT else generated
    return Row(name, fn, 1, covers, (domain,), samples, gen, twice, kind)


def binary(name: str, fn: Callable, covers: tuple[str, ...], domains: tuple[Domain, Domain] = (
        REAL, REAL), samples: tuple[Shapes, ...] = BINARY_SAMPLES, generated: Any = DEFAULT,
           kind: str = "binary", twice: bool = True, joint: Any = None) -> Row:
    gen = broadcastable(2) if generated is DEFAULT else generated
    return Row(name, fn, 2, covers, domains, samples, gen, twice, kind, joint)


def _reverse(x: Any) -> tuple[int, ...]:
    return tuple(range(x.ndim - 1, -1, -1))


def _cycle(x: Any) -> tuple[int, ...]:
    return tuple(range(1, x.ndim)) + (0,)


def _expand_sizes(x: Any) -> list[int]:
    return [3 if s == 1 else -1 for s in x.shape]


def _t(a: np.ndarray) -> Any:
    return cr.tensor(a)


def take_index(shape: Shape) -> np.ndarray:
    """An index for take_along_dim along the last dim that broadcasts over the others (shape
    (1, ..., 1, n + 1)): one more entry than the dim has, so some repeat."""
    n = shape[-1]
    return (np.arange(n + 1)[::-1] % n).reshape((1,) * (len(shape) - 1) + (n + 1,))


def masked_fill_inplace(x: Any) -> Any:
    """y = x * 1.0; y.masked_fill_(checker mask, 0.5)."""
    y = x * 1.0
    mask = checker(tuple(x.shape))
    y.masked_fill_(_t(mask), 0.5)
    return y


ROWS: tuple[Row, ...] = (
    # -- binary elementwise (broadcasting) ----------------------------------------------------
    binary("add", lambda a, b: a + b, ("Add", "add")),
    binary("add_alpha", lambda a, b: cr.add(a, b, alpha=-2.5), ("Add", "add", "Mul")),
    binary("sub", lambda a, b: a - b, ("Sub", "sub")),
    binary("sub_alpha", lambda a, b: cr.sub(a, b, alpha=0.5), ("Sub", "sub", "Mul")),
    binary("mul", lambda a, b: a * b, ("Mul", "mul")),
    binary("div", lambda a, b: a / b, ("Div", "div"), (REAL, NONZERO)),
    # sigmoid's backward as one op (g s (1 - s)); reached through sigmoid's vjp, called here
    # directly so that its own vjp (second order of sigmoid) is checked on its own.
    binary("sigmoid_grad", lambda g, s: apply(SigmoidGrad(), g, s), ("SigmoidGrad",),
           (REAL, _away(0.05, 0.95, ()))),
    binary("tanh_grad", lambda g, t: apply(TanhGrad(), g, t), ("TanhGrad",),
           (REAL, _away(-0.95, 0.95, ()))),
    binary("pow", lambda a, b: a ** b, ("Pow", "pow"), (POSITIVE, REAL)),
    binary("maximum", lambda a, b: cr.maximum(a, b), ("Maximum", "maximum"),
           (LATTICE_A, LATTICE_B)),
    binary("minimum", lambda a, b: cr.minimum(a, b), ("Minimum", "minimum"),
           (LATTICE_B, LATTICE_A)),
    binary("max_binary", lambda a, b: cr.max(a, b), ("max", "Maximum"), (LATTICE_A, LATTICE_B)),
    binary("min_binary", lambda a, b: a.min(b), ("min", "Minimum"), (LATTICE_A, LATTICE_B)),
    # Ties split the gradient evenly; central differences agree (1/2 each) for two-way ties,
    # but the first derivative jumps there, so no second-order check.
    binary("maximum_ties", lambda a, b: cr.maximum(a, b), ("Maximum", "maximum"),
           samples=(((),) * 2, ((3,),) * 2, ((2, 1),) * 2), generated=same_shapes(2),
           kind="ties", twice=False, joint=tied),
    binary("where", lambda a, b: cr.where(_t(checker(a.shape, b.shape)), a, b),
           ("Where", "where")),
    binary("where_compare", lambda a, b: cr.where(a > b, a - b, b * b), ("Where", "where"),
           (LATTICE_A, LATTICE_B)),
    binary("clamp_tensor_min", lambda x, lo: cr.clamp(x, min=lo), ("clamp", "Where"),
           (LATTICE_A, LATTICE_B)),
    Row("clamp_tensor_bounds", lambda x, lo, hi: cr.clamp(x, lo, hi), 3, ("clamp", "Where"),
        (LATTICE_A, LOW_BOUND, HIGH_BOUND), TERNARY_SAMPLES, broadcastable(3), True, "ternary"),
    Row("where_3_broadcast", lambda c, a, b: cr.where(c > 0.5, a, b) * c, 3, ("where", "Where"),
        (LATTICE_A, REAL, REAL), TERNARY_SAMPLES, broadcastable(3), True, "ternary"),
    # -- Python scalars next to tensors ---------------------------------------------------------
    unary("rsub_scalar", lambda x: 2.0 - x, ("Sub", "sub")),
    unary("rdiv_scalar", lambda x: 1.5 / x, ("Div", "div"), NONZERO),
    unary("mul_scalar", lambda x: x * 2.5, ("Mul", "mul")),
    unary("pow_int", lambda x: x ** 3, ("Pow", "pow")),
    unary("pow_half", lambda x: x ** 0.5, ("Pow", "pow"), POSITIVE),
    unary("pow_scalar_base", lambda x: 2.0 ** x, ("Pow", "pow")),
    unary("pow_zero_base", lambda b: cr.pow(cr.zeros(b.shape, dtype=b.dtype), b),
          ("Pow", "pow"), POSITIVE),
    unary("pow_zero_exponent", lambda x: x ** 0, ("Pow", "pow"), NONZERO),
    unary("pow_zero_exponent_at_zero", lambda x: x ** 0, ("Pow", "pow"), ZERO, generated=None),
    unary("pow_one_at_zero", lambda x: x ** 1, ("Pow", "pow"), ZERO, generated=None),
    # -- unary elementwise -----------------------------------------------------------------------
    unary("neg", lambda x: cr.neg(x), ("Neg", "neg")),
    unary("neg_operator", lambda x: -x, ("Neg", "neg")),
    unary("exp", lambda x: x.exp(), ("Exp", "exp")),
    unary("log", lambda x: cr.log(x), ("Log", "log"), POSITIVE),
    unary("log1p", lambda x: cr.log1p(x), ("Log1p", "log1p"), ABOVE_MINUS_ONE),
    unary("sqrt", lambda x: x.sqrt(), ("Sqrt", "sqrt"), POSITIVE),
    unary("sin", lambda x: cr.sin(x), ("Sin", "sin")),
    unary("cos", lambda x: x.cos(), ("Cos", "cos")),
    unary("tanh", lambda x: cr.tanh(x), ("Tanh", "tanh")),
    unary("sigmoid", lambda x: x.sigmoid(), ("Sigmoid", "sigmoid")),
    unary("sigmoid_wide", lambda x: cr.sigmoid(x), ("Sigmoid", "sigmoid"), WIDE),
    unary("relu", lambda x: cr.relu(x), ("Relu", "relu"), NONZERO),
    unary("abs", lambda x: x.abs(), ("Abs", "abs"), NONZERO),
    unary("abs_builtin", lambda x: abs(x), ("Abs", "abs"), NONZERO),
    unary("cast", lambda x: cr.cast(x, cr.float64), ("Cast", "cast")),
    unary("clone", lambda x: x.clone(), ("Cast", "clone")),
    unary("square", lambda x: cr.square(x), ("square", "Mul")),
    unary("softplus", lambda x: cr.softplus(x), ("Softplus", "softplus"), REAL_BUT_ZERO),
    unary("softplus_at_zero", lambda x: cr.softplus(x), ("Softplus", "softplus"), ZERO,
          generated=None),
    unary("softplus_beta_threshold", lambda x: cr.softplus(x, beta=2.0, threshold=1.0),
          ("Softplus", "softplus"), AWAY_FROM_SOFTPLUS_THRESHOLD),
    unary("softplus_wide", lambda x: x.softplus(), ("Softplus", "softplus"), WIDE),
    unary("clamp", lambda x: cr.clamp(x, CLAMP_LO, CLAMP_HI), ("clamp", "Where"),
          AWAY_FROM_CLAMP),
    unary("clamp_min", lambda x: x.clamp(min=CLAMP_LO), ("clamp",), AWAY_FROM_CLAMP),
    unary("clip_max", lambda x: cr.clip(x, max=CLAMP_HI), ("clamp",), AWAY_FROM_CLAMP),
    unary("where_scalar", lambda x: cr.where(x > 0, x, 0.0), ("where", "Where"), NONZERO),
    unary("masked_fill", lambda x: x.masked_fill(_t(checker(x.shape)), -0.5),
          ("masked_fill", "Where")),
    # -- reductions ----------------------------------------------------------------------------
    unary("sum_all", lambda x: x.sum(), ("Sum", "sum"), kind="reduction"),
    unary("sum_all_keepdim", lambda x: cr.sum(x, dim=None, keepdim=True), ("Sum", "sum"),
          kind="reduction"),
    unary("sum_dim", lambda x: cr.sum(x, dim=-1), ("Sum", "sum"), kind="reduction"),
    unary("sum_dim_keepdim", lambda x: x.sum(dim=0, keepdim=True), ("Sum", "sum"),
          kind="reduction"),
    unary("sum_dims", lambda x: x.sum(dim=(0, -1)), ("Sum", "sum"), samples=ND2_SAMPLES,
          generated=one_shape(min_dims=2), kind="reduction"),
    unary("sum_dtype", lambda x: cr.sum(x, dim=0, dtype=cr.float64), ("Sum", "sum", "Cast"),
          kind="reduction"),
    unary("mean_all", lambda x: x.mean(), ("mean",), kind="reduction"),
    unary("mean_dim", lambda x: cr.mean(x, dim=-1), ("mean",), kind="reduction"),
    unary("mean_dims_keepdim", lambda x: x.mean(dim=(0, -1), keepdim=True), ("mean",),
          samples=ND2_SAMPLES, generated=one_shape(min_dims=2), kind="reduction"),
    unary("var_all", lambda x: x.var(), ("var",),
          samples=(((4,),), ((2, 1, 3),), ((1, 2),)),
          generated=one_shape(min_dims=1, min_side=2), kind="reduction"),
    unary("var_dim", lambda x: cr.var(x, dim=-1), ("var",),
          samples=(((2,),), ((4,),), ((2, 1, 3),), ((1, 2),)),
          generated=one_shape(min_dims=1, fix=_last_at_least(2)), kind="reduction"),
    unary("var_biased", lambda x: x.var(dim=0, unbiased=False), ("var",), kind="reduction"),
    unary("var_correction", lambda x: cr.var(x, dim=(0, -1), correction=2, keepdim=True),
          ("var",), samples=(((2, 3),), ((3, 1, 2),), ((1, 3),)),
          generated=one_shape(min_dims=2, fix=_last_at_least(3)), kind="reduction"),
    unary("std_all", lambda x: x.std(), ("std",), DISTINCT,
          samples=(((4,),), ((2, 1, 3),), ((1, 2),)),
          generated=one_shape(min_dims=1, min_side=2), kind="reduction"),
    unary("std_dim_keepdim", lambda x: cr.std(x, dim=-1, keepdim=True), ("std",), DISTINCT,
          samples=(((2,),), ((2, 1, 3),), ((1, 2),)),
          generated=one_shape(min_dims=1, fix=_last_at_least(2)), kind="reduction"),
    unary("std_biased", lambda x: x.std(dim=0, unbiased=False), ("std",), DISTINCT,
          samples=(((2,),), ((3, 1),), ((2, 1, 3),)),
          generated=one_shape(min_dims=1, fix=_first_at_least(2)), kind="reduction"),
    # std is not differentiable where it is 0 (like a norm at the origin); central differences
    # and torch give 0 there.
    # std is not twice differentiable at a constant input (like |x| at 0): first order only.
    unary("std_constant", lambda x: x.std(), ("std",), CONSTANT,
          samples=(((2,),), ((3, 1),)), generated=None, kind="reduction", twice=False),
    unary("amax_all", lambda x: x.amax(), ("Amax", "amax"), DISTINCT, kind="reduction"),
    unary("amax_dim", lambda x: cr.amax(x, dim=-1), ("Amax", "amax"), DISTINCT,
          kind="reduction"),
    unary("amax_dims_keepdim", lambda x: x.amax(dim=(0, -1), keepdim=True), ("Amax", "amax"),
          DISTINCT, samples=ND2_SAMPLES, generated=one_shape(min_dims=2), kind="reduction"),
    binary("amax_ties", lambda a, b: cr.amax(cr.stack([a, b]), dim=0), ("Amax", "amax"),
           samples=(((),) * 2, ((3,),) * 2, ((2, 1),) * 2), generated=same_shapes(2),
           kind="ties", twice=False, joint=tied),
    unary("amin_all", lambda x: cr.amin(x), ("amin",), DISTINCT, kind="reduction"),
    unary("amin_dim_keepdim", lambda x: x.amin(dim=0, keepdim=True), ("amin",), DISTINCT,
          kind="reduction"),
    unary("max_all", lambda x: x.max(), ("max", "Amax"), DISTINCT, kind="reduction"),
    unary("max_dim", lambda x: cr.max(x, dim=-1), ("max", "GetItem"), DISTINCT,
          kind="reduction"),
    unary("max_dim_keepdim", lambda x: x.max(dim=0, keepdim=True), ("max", "GetItem"), DISTINCT,
          kind="reduction"),
    unary("min_all", lambda x: cr.min(x), ("min",), DISTINCT, kind="reduction"),
    unary("min_dim", lambda x: x.min(dim=-1), ("min", "GetItem"), DISTINCT, kind="reduction"),
    # NOTE: NONZERO, not REAL: prod's vjp is prod / x_i (as PyTorch's), whose derivative
    # cancels huge terms when |x_i| is tiny (1e-50), so second order needs moderate values.
    unary("prod_all", lambda x: x.prod(), ("Prod", "prod"), NONZERO, kind="reduction"),
    unary("prod_dim", lambda x: cr.prod(x, dim=-1), ("Prod", "prod"), NONZERO,
          kind="reduction"),
    unary("prod_dim_keepdim", lambda x: x.prod(dim=0, keepdim=True), ("Prod", "prod"), NONZERO,
          kind="reduction"),
    unary("prod_zeros_all", lambda x: x.prod(), ("Prod", "prod"), WITH_ZEROS, kind="reduction"),
    unary("prod_zeros_dim", lambda x: cr.prod(x, dim=-1), ("Prod", "prod"), WITH_ZEROS,
          kind="reduction"),
    unary("logsumexp_dim", lambda x: cr.logsumexp(x, dim=-1), ("logsumexp",), kind="reduction"),
    unary("logsumexp_keepdim", lambda x: x.logsumexp(dim=0, keepdim=True), ("logsumexp",),
          kind="reduction"),
    unary("logsumexp_dims", lambda x: cr.logsumexp(x, dim=(0, -1)), ("logsumexp",),
          samples=ND2_SAMPLES, generated=one_shape(min_dims=2), kind="reduction"),
    unary("logsumexp_large", lambda x: cr.logsumexp(x, dim=-1), ("logsumexp",), SHIFTED,
          kind="reduction"),
    unary("softmax_last", lambda x: cr.softmax(x, dim=-1), ("softmax",), kind="reduction"),
    unary("softmax_first", lambda x: x.softmax(dim=0), ("softmax",), kind="reduction"),
    unary("softmax_implicit_dim", lambda x: cr.softmax(x), ("softmax",), kind="reduction"),
    unary("softmax_large", lambda x: cr.softmax(x, dim=-1), ("softmax",), SHIFTED,
          kind="reduction"),
    unary("log_softmax_last", lambda x: cr.log_softmax(x, dim=-1), ("log_softmax",),
          kind="reduction"),
    unary("log_softmax_first", lambda x: x.log_softmax(dim=0), ("log_softmax",),
          kind="reduction"),
    unary("log_softmax_large", lambda x: cr.log_softmax(x, dim=-1), ("log_softmax",), SHIFTED,
          kind="reduction"),
    # -- shape ---------------------------------------------------------------------------------
    unary("reshape_flat", lambda x: x.reshape(-1), ("Reshape", "reshape"), kind="shape"),
    unary("reshape_reversed", lambda x: cr.reshape(x, tuple(reversed(x.shape)) + (1,)),
          ("Reshape", "reshape"), kind="shape"),
    unary("view", lambda x: x.view(1, *x.shape), ("Reshape", "view"), kind="shape"),
    unary("flatten", lambda x: cr.flatten(x), ("flatten", "Reshape"), kind="shape"),
    unary("flatten_start1", lambda x: x.flatten(1), ("flatten", "Reshape"), samples=ND2_SAMPLES,
          generated=one_shape(min_dims=2), kind="shape"),
    unary("permute_reverse", lambda x: x.permute(_reverse(x)), ("Permute", "permute"),
          kind="shape"),
    unary("permute_cycle", lambda x: cr.permute(x, _cycle(x)), ("Permute", "permute"),
          samples=(((2, 3, 1),), ((1, 2, 3),), ((2, 2, 3),)),
          generated=one_shape(min_dims=3), kind="shape"),
    unary("transpose", lambda x: cr.transpose(x, 0, -1), ("transpose", "Permute"),
          kind="shape"),
    unary("t", lambda x: x.t(), ("t",), samples=(((),), ((3,),), ((2, 3),), ((1, 3),)),
          generated=one_shape(max_dims=2), kind="shape"),
    unary("T", lambda x: x.T, ("permute", "Permute"), kind="shape"),
    unary("mT", lambda x: x.mT, ("transpose", "Permute"), samples=ND2_SAMPLES,
          generated=one_shape(min_dims=2), kind="shape"),
    unary("squeeze_all", lambda x: x.squeeze(), ("squeeze", "Reshape"), kind="shape"),
    unary("squeeze_dim", lambda x: cr.squeeze(x, -1), ("squeeze", "Reshape"), kind="shape"),
    unary("unsqueeze_first", lambda x: x.unsqueeze(0), ("unsqueeze", "Reshape"), kind="shape"),
    unary("unsqueeze_last", lambda x: cr.unsqueeze(x, -1), ("unsqueeze", "Reshape"),
          kind="shape"),
    unary("expand", lambda x: x.expand(2, *_expand_sizes(x)), ("expand", "BroadcastTo"),
          kind="shape"),
    unary("expand_as", lambda x: x.expand_as(cr.zeros(expanded(x.shape))),
          ("expand_as", "broadcast_to", "BroadcastTo"), kind="shape"),
    unary("broadcast_to", lambda x: cr.broadcast_to(x, expanded(x.shape)),
          ("broadcast_to", "BroadcastTo"), kind="shape"),
    unary("sum_to", lambda x: cr.sum_to(x, summed_to(x.shape)), ("sum_to", "Sum"),
          samples=ND1_SAMPLES + (((2, 3, 2),),), generated=one_shape(min_dims=1), kind="shape"),
    binary("cat_dim0", lambda a, b: cr.cat([a, b]), ("Cat", "cat"),
           samples=(((1,), (3,)), ((2, 3), (1, 3)), ((1, 1, 2), (2, 1, 2))),
           generated=cat_shapes(2, 0), kind="shape"),
    Row("cat_last3", lambda a, b, c: cr.cat([a, b, c], dim=-1), 3, ("Cat", "cat"),
        (REAL, REAL, REAL), (((2,), (1,), (3,)), ((2, 1), (2, 2), (2, 1))), cat_shapes(3, -1),
        True, "shape"),
    unary("cat_with_constant", lambda a: cr.concat([cr.ones((1,) + a.shape[1:]), a, a], 0),
          ("Cat", "cat"), samples=ND1_SAMPLES, generated=one_shape(min_dims=1), kind="shape"),
    binary("stack0", lambda a, b: cr.stack([a, b]), ("stack", "Cat"),
           samples=(((),) * 2, ((1,),) * 2, ((2, 3),) * 2), generated=same_shapes(2),
           kind="shape"),
    binary("stack_last", lambda a, b: cr.stack((a, b), dim=-1), ("stack", "Cat"),
           samples=(((),) * 2, ((3,),) * 2, ((2, 1),) * 2), generated=same_shapes(2),
           kind="shape"),
    unary("split_size", lambda x: x.split(2), ("split", "GetItem"),
          samples=ND1_SAMPLES + (((3, 2),),), generated=one_shape(min_dims=1), kind="shape"),
    unary("split_sections", lambda x: cr.split(x, [1, x.shape[-1] - 1], dim=-1),
          ("split", "GetItem"), samples=(((2,),), ((3, 3),), ((1, 1, 2),)),
          generated=one_shape(min_dims=1, fix=_last_at_least(2)), kind="shape"),
    unary("chunk", lambda x: x.chunk(2, dim=-1), ("chunk", "split", "GetItem"),
          samples=ND1_SAMPLES, generated=one_shape(min_dims=1), kind="shape"),
    unary("flip", lambda x: cr.flip(x, 0), ("flip", "GetItem"), kind="shape"),
    unary("flip_dims", lambda x: x.flip((0, -1)), ("flip", "GetItem"), samples=ND2_SAMPLES,
          generated=one_shape(min_dims=2), kind="shape"),
    unary("gather_last", lambda x: x.gather(-1, _t(gather_index(x.shape, -1))),
          ("gather", "GetItem"), samples=ND1_SAMPLES, generated=one_shape(min_dims=1),
          kind="index"),
    unary("gather_first", lambda x: cr.gather(x, 0, _t(gather_index(x.shape, 0))),
          ("gather", "GetItem"), samples=ND1_SAMPLES, generated=one_shape(min_dims=1),
          kind="index"),
    # -- indexing ------------------------------------------------------------------------------
    unary("getitem_int", lambda x: x[0], ("getitem", "apply_getitem", "GetItem"),
          samples=ND1_SAMPLES, generated=one_shape(min_dims=1), kind="index"),
    unary("getitem_negint", lambda x: x[-1], ("getitem", "GetItem"), samples=ND1_SAMPLES,
          generated=one_shape(min_dims=1), kind="index"),
    unary("getitem_slice", lambda x: x[1:], ("getitem", "GetItem"), samples=ND1_SAMPLES,
          generated=one_shape(min_dims=1), kind="index"),
    unary("getitem_step", lambda x: x[::2], ("getitem", "GetItem"), samples=ND1_SAMPLES,
          generated=one_shape(min_dims=1), kind="index"),
    unary("getitem_negstep", lambda x: x[::-1], ("getitem", "GetItem"), samples=ND1_SAMPLES,
          generated=one_shape(min_dims=1), kind="index"),
    unary("getitem_2d_slice", lambda x: x[:, 1:], ("getitem", "GetItem"), samples=ND2_SAMPLES,
          generated=one_shape(min_dims=2), kind="index"),
    unary("getitem_none_ellipsis", lambda x: x[None, ..., None], ("getitem", "GetItem"),
          kind="index"),
    unary("getitem_ellipsis_int", lambda x: x[..., 0], ("getitem", "GetItem"),
          samples=ND1_SAMPLES, generated=one_shape(min_dims=1), kind="index"),
    unary("getitem_empty_tuple", lambda x: x[()], ("getitem", "GetItem"), kind="index"),
    unary("getitem_list", lambda x: x[ADV_INDEX], ("getitem", "GetItem"),
          samples=(((3,),), ((3, 1),), ((4, 2, 1),)), generated=one_shape(
              min_dims=1, fix=_first_at_least(3)), kind="index"),
    unary("getitem_tensor_index", lambda x: x[cr.tensor(NEG_INDEX)], ("getitem", "GetItem"),
          samples=(((1,),), ((3, 1),), ((2, 2, 1),)), generated=one_shape(min_dims=1),
          kind="index"),
    unary("getitem_0d_tensor", lambda x: x[cr.tensor(0)], ("getitem", "GetItem"),
          samples=ND1_SAMPLES, generated=one_shape(min_dims=1), kind="index"),
    unary("getitem_two_arrays", lambda x: x[[0, 1, 1], [1, 0, 1]], ("getitem", "GetItem"),
          samples=(((2, 2),), ((2, 3, 1),)), generated=one_shape(
              min_dims=2, fix=lambda s: (2, 2) + s[2:]), kind="index"),
    unary("getitem_mixed", lambda x: x[:, [1, 0, 1]], ("getitem", "GetItem"),
          samples=(((1, 2),), ((3, 2, 1),)), generated=one_shape(
              min_dims=2, fix=lambda s: s[:1] + (2,) + s[2:]), kind="index"),
    unary("getitem_separated_arrays", lambda x: x[[0, 1], :, [1, 0]], ("getitem", "GetItem"),
          samples=(((2, 1, 2),), ((2, 3, 2),)), generated=one_shape(
              min_dims=3, fix=lambda s: (2, s[1], 2) + s[3:]), kind="index"),
    unary("getitem_bool_mask", lambda x: x[_t(checker(x.shape))], ("getitem", "GetItem"),
          samples=UNARY_SAMPLES, kind="index"),
    unary("getitem_0d_bool", lambda x: x[cr.tensor(True)], ("getitem", "GetItem"),
          samples=ND1_SAMPLES, generated=None, kind="index"),
    unary("getitem_bool_rows", lambda x: x[[True, False, True]], ("getitem", "GetItem"),
          samples=(((3,),), ((3, 1),), ((3, 2),)), generated=one_shape(
              min_dims=1, fix=lambda s: (3,) + s[1:]), kind="index"),
    unary("index_add_zeros_adv",
          lambda g: F.index_add_zeros(g, (np.array(ADV_INDEX),), False, (3,) + g.shape[1:]),
          ("IndexAddZeros", "index_add_zeros"), samples=(((3,),), ((3, 1),), ((3, 2, 2),)),
          generated=one_shape(min_dims=1, fix=lambda s: (3,) + s[1:]), kind="index"),
    unary("index_add_zeros_basic",
          lambda g: F.index_add_zeros(g, (slice(1, None),), True, (g.shape[0] + 1,) + g.shape[1:]),
          ("IndexAddZeros", "index_add_zeros"), samples=ND1_SAMPLES,
          generated=one_shape(min_dims=1), kind="index"),
    binary("index_put_slice", lambda x, v: F.index_put(x, slice(1, None), v),
           ("IndexPut", "index_put"),
           samples=(((3, 2), ()), ((3, 2), (2,)), ((3, 2), (2, 2)), ((3,), (1,)), ((1,), (1,))),
           generated=None, kind="index"),
    binary("index_put_adv", lambda x, v: F.index_put(x, [2, 0], v), ("IndexPut", "index_put"),
           samples=(((3,), (2,)), ((4, 2), ()), ((3, 2), (2, 1)), ((3, 1, 2), (2,))),
           generated=None, kind="index"),
    # Duplicate indices: only the last write survives, but every duplicate value gets the
    # gradient (as in torch, where the result is documented as undefined).
    binary("index_put_repeated", lambda x, v: F.index_put(x, [0, 0], v),
           ("IndexPut", "index_put"), samples=(((2,), (2,)), ((3, 1), (2, 1))), generated=None,
           kind="index"),
    binary("setitem_row", setitem_row0, ("IndexPut", "index_put", "clone"),
           samples=(((3,), ()), ((2, 3), (3,)), ((2, 3), (1,)), ((1, 1), ())), generated=None,
           kind="index"),
    binary("setitem_adv", setitem_adv, ("IndexPut", "index_put"),
           samples=(((3,), (2,)), ((3, 2), ()), ((4, 2), (2, 2)), ((3, 1), (2, 1))),
           generated=None,
           kind="index"),
    unary("setitem_mask_constant", lambda x: _setitem_mask(x), ("IndexPut", "index_put"),
          kind="index"),
    unary("setitem_into_constant", lambda x: _setitem_into_zeros(x), ("IndexPut", "index_put"),
          samples=ND1_SAMPLES, generated=one_shape(min_dims=1), kind="index"),
    # -- in place (on a non-leaf: y = x * 1.0, then y.op_(...)) ---------------------------------
    binary("inplace_iadd", inplace(_iadd, 2), ("add", "Add"), samples=INPLACE_SAMPLES,
           generated=inplace_pairs(), kind="inplace"),
    binary("inplace_idiv", inplace(_idiv, 2), ("div", "Div"), (REAL, NONZERO),
           samples=INPLACE_SAMPLES, generated=inplace_pairs(), kind="inplace"),
    binary("inplace_mul_", inplace(lambda y, b: y.mul_(b), 2), ("mul", "Mul"),
           samples=INPLACE_SAMPLES, generated=inplace_pairs(), kind="inplace"),
    binary("inplace_sub_alpha", inplace(lambda y, b: y.sub_(b, alpha=2.0), 2), ("sub", "Sub"),
           samples=INPLACE_SAMPLES, generated=inplace_pairs(), kind="inplace"),
    binary("inplace_copy_", inplace(lambda y, b: y.copy_(b), 2), ("where", "Where"),
           samples=INPLACE_SAMPLES, generated=inplace_pairs(), kind="inplace"),
    unary("inplace_clamp_", inplace(lambda y: y.clamp_(CLAMP_LO, CLAMP_HI), 1), ("clamp",),
          AWAY_FROM_CLAMP, kind="inplace"),
    unary("inplace_exp_", inplace(lambda y: y.exp_(), 1), ("exp", "Exp"), kind="inplace"),
    unary("inplace_pow_", inplace(lambda y: y.pow_(3), 1), ("pow", "Pow"), kind="inplace"),
    # -- linear algebra ------------------------------------------------------------------------
    binary("matmul_2d", lambda a, b: a @ b, ("Matmul", "matmul"),
           samples=(((1, 1), (1, 1)), ((2, 3), (3, 2)), ((3, 1), (1, 2))),
           generated=matmul_shapes("(n,k),(k,m)->(n,m)", 0), kind="linalg"),
    binary("matmul_batched", lambda a, b: cr.matmul(a, b), ("Matmul", "matmul"),
           samples=(((2, 2, 3), (2, 3, 2)), ((1, 2, 3), (3, 3, 1)), ((2, 3), (2, 3, 2)),
                    ((2, 1, 1, 2), (3, 2, 2))),
           generated=matmul_shapes("(n,k),(k,m)->(n,m)"), kind="linalg"),
    binary("matmul_vec_vec", lambda a, b: cr.matmul(a, b), ("matmul", "Mul", "Sum"),
           samples=(((1,), (1,)), ((3,), (3,))), generated=matmul_shapes("(k),(k)->()", 0),
           kind="linalg"),
    binary("matmul_vec_mat", lambda a, b: a @ b, ("matmul", "Matmul"),
           samples=(((3,), (3, 2)), ((1,), (1, 1)), ((2,), (3, 2, 2))),
           generated=matmul_shapes("(n,k),(k,m)->(n,m)").map(lambda s: ((s[1][-2],), s[1])),
           kind="linalg"),
    binary("matmul_mat_vec", lambda a, b: cr.matmul(a, b), ("matmul", "Matmul"),
           samples=(((2, 3), (3,)), ((1, 1), (1,)), ((2, 2, 3), (3,))),
           generated=matmul_shapes("(n,k),(k,m)->(n,m)").map(lambda s: (s[0], (s[0][-1],))),
           kind="linalg"),
    binary("mm", lambda a, b: a.mm(b), ("mm", "Matmul"),
           samples=(((2, 3), (3, 2)), ((1, 1), (1, 3))),
           generated=matmul_shapes("(n,k),(k,m)->(n,m)", 0), kind="linalg"),
    binary("dot", lambda a, b: cr.dot(a, b), ("dot", "matmul"),
           samples=(((1,), (1,)), ((3,), (3,))), generated=matmul_shapes("(k),(k)->()", 0),
           kind="linalg"),
    # -- convolution, pooling, batch norm (NCHW) --------------------------------------------------
    Row("conv2d", lambda x, w, b: NF.conv2d(x, w, b, padding=1), 3, ("Conv2d",),
        (REAL, REAL, REAL),
        (((1, 1, 1, 1), (1, 1, 1, 1), (1,)), ((2, 2, 3, 3), (3, 2, 3, 3), (3,)),
         ((1, 3, 2, 4), (2, 3, 1, 3), (2,))), conv_shapes(CONV_PLAIN, True), True, "conv"),
    Row("conv2d_strided_dilated",
        lambda x, w: NF.conv2d(x, w, stride=(2, 1), padding=(1, 0), dilation=(1, 2)), 2,
        ("Conv2d",), (REAL, REAL),
        (((1, 1, 3, 3), (1, 1, 2, 2)), ((2, 2, 4, 5), (3, 2, 3, 2))),
        conv_shapes(CONV_STRIDED, False), True, "conv"),
    Row("conv2d_groups_same",
        lambda x, w, b: NF.conv2d(x, w, b, padding="same", groups=2), 3, ("Conv2d",),
        (REAL, REAL, REAL),
        (((1, 2, 3, 3), (2, 1, 2, 2), (2,)), ((2, 4, 3, 4), (4, 2, 3, 2), (4,))),
        conv_shapes(((1, 1), ((0, 0), (0, 0)), (1, 1), 2), True, same=True), True, "conv"),
    # conv2d's two backward ops, called directly so that their own vjps (conv2d's second
    # order) are checked on their own: a transposed convolution and a correlation.
    Row("conv2d_input_grad", conv_input_grad, 2, ("Conv2dInputGrad",), (REAL, REAL),
        (input_grad_sample(1, 1, 1, (3, 3), (1, 1)), input_grad_sample(2, 2, 2, (2, 3), (2, 3)),
         input_grad_sample(1, 1, 2, (3, 2), (3, 2))),
        conv_input_grad_shapes(CONV_INPUT_GRAD), True, "conv"),
    Row("conv2d_weight_grad", conv_weight_grad, 2, ("Conv2dWeightGrad",), (REAL, REAL),
        (weight_grad_sample(1, 1, 1, (3, 1)), weight_grad_sample(2, 2, 1, (4, 3)),
         weight_grad_sample(1, 1, 2, (3, 4))),
        conv_weight_grad_shapes(CONV_WEIGHT_GRAD, WEIGHT_GRAD_KERNEL), True, "conv"),
    # max pooling away from ties (DISTINCT): the gradient is a fixed scatter there, so the
    # second order is checked too (it is 0 for x, and MaxPool2dGrad's vjp for the cotangent)
    Row("max_pool2d", lambda x: NF.max_pool2d(x, 2), 1, ("MaxPool2d",), (DISTINCT,),
        (((1, 1, 2, 2),), ((2, 3, 4, 4),), ((1, 2, 5, 3),)),
        pool_shapes((2, 2), (2, 2), (0, 0), (1, 1)), True, "pool"),
    Row("max_pool2d_overlap_pad", lambda x: NF.max_pool2d(x, 3, 2, 1), 1, ("MaxPool2d",),
        (DISTINCT,), (((1, 1, 1, 2),), ((2, 2, 4, 5),)), pool_shapes(*POOL_OVERLAP), True,
        "pool"),
    Row("max_pool2d_dilated", lambda x: NF.max_pool2d(x, 2, (1, 2), (1, 0), (2, 1)), 1,
        ("MaxPool2d",), (DISTINCT,), (((1, 1, 3, 2),), ((2, 2, 4, 5),)),
        pool_shapes(*POOL_DILATED), True, "pool"),
    Row("max_pool2d_grad", max_pool_grad, 1, ("MaxPool2dGrad",), (REAL,),
        (((1, 1, 1, 1),), ((2, 2, 2, 3),)), None, True, "pool"),
    Row("avg_pool2d", lambda x: NF.avg_pool2d(x, 2), 1, ("AvgPool2d",), (REAL,),
        (((1, 1, 2, 2),), ((2, 3, 4, 5),)), pool_shapes((2, 2), (2, 2), (0, 0), (1, 1)), True,
        "pool"),
    Row("avg_pool2d_pad_exclude", lambda x: NF.avg_pool2d(x, 3, 2, 1, count_include_pad=False),
        1, ("AvgPool2d",), (REAL,), (((1, 1, 1, 2),), ((2, 2, 4, 5),)),
        pool_shapes(*POOL_OVERLAP), True, "pool"),
    Row("avg_pool2d_grad", avg_pool_grad, 1, ("AvgPool2dGrad",), (REAL,),
        (((1, 1, 1, 1),), ((2, 2, 2, 3),)), None, True, "pool"),
    # batch norm with batch statistics; DISTINCT keeps every channel's variance away from 0
    Row("batch_norm_train",
        lambda x, w, b: NF.batch_norm(x, None, None, w, b, training=True), 3, ("BatchNorm",),
        (DISTINCT, REAL, REAL),
        (((2, 1), (1,), (1,)), ((3, 2, 2), (2,), (2,)), ((2, 3, 2, 1), (3,), (3,))),
        bn_shapes(True), True, "norm"),
    Row("batch_norm_train_no_affine",
        lambda x: NF.batch_norm(x, None, None, training=True, eps=0.1), 1, ("BatchNorm",),
        (DISTINCT,), (((2, 1),), ((4, 3),), ((2, 2, 1, 3),)), bn_shapes(False), True, "norm"),
    Row("batch_norm_eval", bn_eval, 3, ("Mul", "Add"), (REAL, REAL, REAL),
        (((2, 1), (1,), (1,)), ((1, 2, 3, 2), (2,), (2,))), bn_shapes(True), True, "norm"),
    # -- recurrent layers (issue 11, branch rnn11) ------------------------------------------------
    # The fused RecurrentLayer: inputs xi (T, B, G*H), whh (G*H, H), bhh (G*H,), s0 (B, S).
    # gradgradcheck goes through its composite vjp (recurrent_composite).
    *(Row(f"recurrent_{mode}{tag}", _recurrent(mode, rev, sizes), 4, ("RecurrentLayer",),
          (POSITIVE,) * 4 if mode == "rnn_relu" else (REAL,) * 4,
          _recurrent_samples(mode, sizes), None, True, "recurrent")
      for mode, rev, sizes, tag in RECURRENT_ROWS),
    # -- end of recurrent layers ------------------------------------------------------------------
    # -- issue 11: normalisation and attention (helpers in op_table_attention.py) -----------
    Row("softmax_primitive", OA.softmax_prim, 1, ("Softmax",), (REAL,),
        (((1,),), ((4,),), ((2, 3),), ((2, 1, 3),)), one_shape(min_dims=1), True, "norm"),
    # -inf entries (masked keys) and a row that is all -inf: zeros and zero gradients there
    Row("softmax_masked_rows", OA.softmax_masked, 1, ("Softmax", "Add"), (REAL,),
        (((3, 4),), ((1, 2, 3),)), None, True, "norm"),
    # DISTINCT keeps every normalised group's variance away from 0
    Row("layer_norm", lambda x, w, b: NF.layer_norm(x, tuple(w.shape), w, b), 3,
        ("LayerNorm", "Mul", "Add"), (DISTINCT, REAL, REAL),
        (((1, 3), (3,), (3,)), ((2, 4), (4,), (4,)), ((2, 1, 2), (2,), (2,))),
        OA.trailing_affine(2), True, "norm"),
    Row("layer_norm_2d_no_affine", lambda x: NF.layer_norm(x, tuple(x.shape[-2:]), eps=0.1),
        1, ("LayerNorm",), (DISTINCT,), (((1, 2, 3),), ((2, 2),)), None, True, "norm"),
    Row("group_norm", lambda x, w, b: NF.group_norm(x, 2, w, b), 3,
        ("LayerNorm", "Reshape", "Mul", "Add"), (DISTINCT, REAL, REAL),
        (((1, 4), (4,), (4,)), ((2, 2, 3), (2,), (2,)), ((2, 4, 1, 2), (4,), (4,))), None,
        True, "norm"),
    Row("rms_norm", lambda x, w: NF.rms_norm(x, tuple(w.shape), w), 2, ("Sqrt", "Div", "Mul"),
        (NONZERO, REAL), (((1, 3), (3,)), ((2, 1, 2), (2,))), OA.trailing_affine(1), True,
        "norm"),
    Row("sdpa", lambda q, k, v: NF.scaled_dot_product_attention(q, k, v), 3,
        ("Softmax", "Matmul"), (REAL, REAL, REAL),
        (((1, 2, 3), (1, 4, 3), (1, 4, 2)), ((2, 2, 1, 2), (2, 2, 3, 2), (2, 2, 3, 1))), None,
        True, "attention"),
    Row("sdpa_causal_scale",
        lambda q, k, v: NF.scaled_dot_product_attention(q, k, v, is_causal=True, scale=0.7), 3,
        ("Softmax", "Matmul"), (REAL, REAL, REAL),
        (((3, 2), (4, 2), (4, 3)), ((2, 1, 3, 2), (2, 1, 3, 2), (2, 1, 3, 1))), None, True,
        "attention"),
    Row("sdpa_float_mask",
        lambda q, k, v, m: NF.scaled_dot_product_attention(q, k, v, attn_mask=m), 4,
        ("Softmax", "Matmul", "Add"), (REAL, REAL, REAL, REAL),
        (((2, 3, 2), (2, 4, 2), (2, 4, 2), (3, 4)), ((1, 2, 2), (1, 1, 2), (1, 1, 1), (1, 2, 1))),
        None, True, "attention"),
    Row("sdpa_bool_mask", OA.sdpa_bool, 3, ("Softmax", "Matmul"), (REAL, REAL, REAL),
        (((3, 2), (4, 2), (4, 2)), ((2, 1, 2, 2), (2, 1, 3, 2), (2, 1, 3, 1))), None, True,
        "attention"),
    Row("mha_self_padding", OA.mha_self, 5, ("Softmax", "Matmul"), (REAL,) * 5,
        (((3, 2, 4), (12, 4), (12,), (4, 4), (4,)), ((1, 1, 2), (6, 2), (6,), (2, 2), (2,))),
        None, True, "attention"),
    Row("mha_cross_kdim_bias_kv", OA.mha_cross, 10, ("Softmax", "Matmul", "Cat"), (REAL,) * 10,
        (((2, 1, 4), (3, 1, 3), (3, 1, 5), (4, 4), (4, 3), (4, 5), (12,), (4, 4), (1, 1, 4),
          (1, 1, 4)),), None, True, "attention"),
    # -- surface10: the PyTorch surface (sort, norms, triangles, take_along_dim, transposed
    # convolution, adaptive pools, smooth L1 / Huber, in-place view and fill methods) ----------
    unary("sort_descending", lambda x: cr.sort(x, -1, descending=True).values,
          ("gather", "GetItem"), DISTINCT, ND1_SAMPLES, one_shape(min_dims=1), "index"),
    unary("topk_first_dim", lambda x: x.topk(1, 0).values, ("gather", "GetItem"), DISTINCT,
          ND1_SAMPLES, one_shape(min_dims=1), "index"),
    unary("norm_fro", lambda x: x.norm(), ("sum", "Sqrt", "Where"), NONZERO),
    unary("norm_p1", lambda x: cr.norm(x, 1), ("sum", "Abs"), NONZERO),
    unary("norm_p3_dim_keepdim", lambda x: cr.norm(x, 3, -1, True), ("sum", "Abs", "Pow"),
          NONZERO, ND1_SAMPLES, one_shape(min_dims=1), "reduction"),
    unary("narrow_last", lambda x: x.narrow(-1, x.shape[-1] - 1, 1), ("GetItem",),
          samples=ND1_SAMPLES, generated=one_shape(min_dims=1), kind="shape"),
    unary("tril", lambda x: cr.tril(x), ("Where",), samples=ND2_SAMPLES,
          generated=one_shape(min_dims=2), kind="shape"),
    unary("triu_above", lambda x: x.triu(1), ("Where",), samples=ND2_SAMPLES,
          generated=one_shape(min_dims=2), kind="shape"),
    unary("take_along_dim_broadcast",
          lambda x: cr.take_along_dim(x, _t(take_index(x.shape)), -1), ("gather", "GetItem"),
          samples=ND1_SAMPLES, generated=one_shape(min_dims=1), kind="index"),
    unary("take_along_dim_flat", lambda x: cr.take_along_dim(x, _t(np.array([0, 0]))),
          ("gather", "GetItem"), kind="index"),
    unary("unsqueeze_inplace", inplace(lambda y: y.unsqueeze_(0), 1), ("Reshape",),
          kind="shape"),
    unary("masked_fill_inplace", masked_fill_inplace, ("Where",)),
    Row("conv_transpose2d",
        lambda x, w, b: NF.conv_transpose2d(x, w, b, stride=2, padding=1, output_padding=1),
        3, ("Conv2dInputGrad",), (REAL, REAL, REAL),
        (((1, 1, 2, 2), (1, 1, 3, 3), (1,)), ((2, 2, 3, 2), (2, 3, 3, 2), (3,))), None, True,
        "conv"),
    Row("conv_transpose2d_groups_dilated",
        lambda x, w: NF.conv_transpose2d(x, w, None, 1, 0, 0, 2, 2), 2,
        ("Conv2dInputGrad",), (REAL, REAL),
        (((1, 2, 2, 2), (2, 1, 2, 2)), ((2, 4, 1, 3), (4, 2, 2, 1))), None, True, "conv"),
    Row("adaptive_avg_pool2d", lambda x: NF.adaptive_avg_pool2d(x, (2, 3)), 1, ("Matmul",),
        (REAL,), (((1, 1, 3, 5),), ((2, 2, 4, 4),), ((1, 1, 1, 1),)), None, True, "pool"),
    Row("adaptive_max_pool2d", lambda x: NF.adaptive_max_pool2d(x, (3, 2)), 1,
        ("gather", "GetItem"), (DISTINCT,), (((1, 1, 5, 4),), ((2, 1, 4, 3),)), None, True,
        "pool"),
    Row("smooth_l1_loss", lambda a, b: NF.smooth_l1_loss(a, b, reduction="none", beta=0.5), 2,
        ("Where",), (REAL, REAL), (((1,), (1,)), ((2, 3), (2, 3))), same_shapes(2), True,
        "loss"),
    Row("huber_loss", lambda a, b: NF.huber_loss(a, b, delta=0.7), 2, ("Where",),
        (REAL, REAL), (((1,), (1,)), ((2, 3), (2, 3))), same_shapes(2), True, "loss"),
    # -- end surface10 -------------------------------------------------------------------------
    # -- special functions (issue 15: erf family accurate to float64 rounding) ------------------
    unary("erf", lambda x: cr.erf(x), ("Erf", "erf")),
    unary("erf_wide", lambda x: x.erf(), ("Erf",), WIDE_ERF),
    unary("erfc", lambda x: cr.erfc(x), ("Erfc", "erfc")),
    unary("erfc_tail", lambda x: cr.special.erfc(x), ("Erfc",), ERFC_TAIL),
    unary("erfinv", lambda x: x.erfinv(), ("Erfinv", "erfinv"), INSIDE_UNIT),
    unary("expm1", lambda x: cr.expm1(x), ("Expm1", "expm1")),
    unary("exp2", lambda x: cr.special.exp2(x), ("Pow", "exp2")),
    unary("ndtr", lambda x: cr.special.ndtr(x), ("Erfc", "ndtr")),
    unary("expit", lambda x: cr.special.expit(x), ("Sigmoid", "expit")),
    unary("logit", lambda x: x.logit(), ("Log", "Log1p", "logit"), PROBABILITY),
    unary("logit_eps", lambda x: cr.logit(x, eps=0.2), ("Log", "Log1p", "clamp"),
          AWAY_FROM_LOGIT_EPS),
    binary("xlogy", lambda a, b: cr.xlogy(a, b), ("Mul", "Log", "xlogy"), (NONZERO, POSITIVE)),
    binary("xlog1py", lambda a, b: cr.special.xlog1py(a, b), ("Mul", "Log1p", "xlog1py"),
           (NONZERO, ABOVE_MINUS_ONE)),
    # at x == 0 the gradient in x is log(y) and in y x / y = 0 (PyTorch's formulas)
    binary("xlogy_zero_x", lambda a, b: cr.xlogy(a * 0.0, b) + a, ("Mul", "Log"),
           (REAL, POSITIVE), samples=(((), ()), ((3,), ()), ((2, 1), (1, 3))), generated=None),
    # -- views (issue 15: the diagonal view, and CopySlices: an in-place change of a view) -----
    unary("diagonal", lambda x: x.diagonal(), ("Diagonal", "diagonal"), samples=ND2_SAMPLES,
          generated=one_shape(min_dims=2), kind="shape"),
    unary("diagonal_offset", lambda x: cr.diagonal(x, 1, -1, 0), ("Diagonal",),
          samples=ND2_SAMPLES, generated=one_shape(min_dims=2), kind="shape"),
    unary("diag_embed", lambda g: apply(DiagEmbed(0, 0, 1, g.shape * 2), g), ("DiagEmbed",),
          samples=(((1,),), ((3,),)), generated=None, kind="shape"),
    binary("copy_slices", lambda x, v: write_view(x, v), ("CopySlices",),
           samples=(((3, 2), (2,)), ((2, 1), (1,)), ((3, 2), ())), generated=None, kind="index"),
    binary("copy_slices_diagonal", lambda x, v: write_diagonal(x, v), ("CopySlices", "Diagonal"),
           samples=(((2, 2), (2,)), ((3, 2), (1,)), ((2, 3), ())), generated=None, kind="index"),
    # the view functions built on basic indexing and permute (core/ops/views.py)
    unary("select", lambda x: cr.select(x, 0, -1), ("GetItem", "select"), samples=ND1_SAMPLES,
          generated=one_shape(min_dims=1), kind="shape"),
    unary("unbind", lambda x: cr.stack(x.unbind(-1)[::-1], 0), ("GetItem", "unbind"),
          samples=ND1_SAMPLES, generated=one_shape(min_dims=1), kind="shape"),
    unary("swapaxes", lambda x: cr.swapaxes(x, 0, -1), ("Permute", "swapaxes"),
          samples=ND1_SAMPLES, generated=one_shape(min_dims=1), kind="shape"),
    unary("contiguous", lambda x: x.transpose(0, -1).contiguous() * 1.5, ("contiguous",),
          samples=ND1_SAMPLES, generated=one_shape(min_dims=1), kind="shape"),
)


def write_view(x: Any, v: Any) -> Any:
    """An in-place change of a view of a non-leaf: its base gets a CopySlices node."""
    y = x * 1.0
    y[1:, 0].copy_(v * v)
    return y.t()


def write_diagonal(x: Any, v: Any) -> Any:
    y = x * 1.0
    y.diagonal().mul_(v)
    return y


def _setitem_mask(x: Any) -> Any:
    y = x * 1.0
    y[_t(checker(x.shape))] = 0.25
    return y


def _setitem_into_zeros(x: Any) -> Any:
    y = cr.zeros((x.shape[0] + 1,) + x.shape[1:], dtype=x.dtype)
    y[1:] = x * 2.0
    return y


ROW_BY_NAME: dict[str, Row] = {r.name: r for r in ROWS}
assert len(ROW_BY_NAME) == len(ROWS), "row names must be unique"


def covered(row: Row) -> list[Any]:
    """The primitive classes and functional functions a row claims to exercise."""
    out = []
    for name in row.covers:
        if name in PRIMITIVE_NAMES:
            out.append(PRIMITIVE_NAMES[name])
        else:
            out.append(getattr(F, name))  # AttributeError: a typo in the table
    return out


def sample_id(shapes: Shapes) -> str:
    return "-".join("x".join(map(str, s)) or "scalar" for s in shapes)

# ---------------------------------------------------------------------------------------------
# Known chainrule bugs
# ---------------------------------------------------------------------------------------------
# (row name, sample id or "*" for all samples, check) -> reason. A check is "gradcheck",
# "gradgradcheck", "torch" (tests/test_torch_oracle.py) or "*": the op itself fails on those
# shapes. Each case runs once, on the simplest input of the row's domain, as a test marked
# xfail(strict=True): a fix shows up as an XPASS failure, and then its entry goes. The
# hypothesis-driven tests leave these cases out.

ZERO_SOFTPLUS = ("softplus'(0) is 0, not 0.5: in relu(x) + log1p(exp(-|x|)) the subgradients 0 "
                 "of relu and abs at 0 lose the 1/2 that the kinks' halves should add up to")
POW_ZERO = ("d(x**b)/dx = b * x**(b-1) is 0 * inf = nan at x = 0 when b = 0 (and so is the "
            "second derivative of x**1); torch gives 0")
STD_ZERO = "std's gradient is nan where the std is 0 (constant input); torch gives 0"
SCALAR_PROD_DIM = ("prod(x, dim) on a 0-d tensor raises 'prod: dim must be a single int' "
                   "(sum, amax and torch.prod accept dim 0/-1 there)")
BOOL_0D_INDEX = ("a 0-d bool index (x[cr.tensor(True)]) raises NumPy's 'Calling nonzero on 0d "
                 "arrays is not allowed' (NumPy and torch add a dim of size 1)")
REPEATED_INDEX_PUT = ("index_put with a repeated index: only the last write survives but every "
                      "duplicate value gets the gradient (torch does the same and calls it "
                      "undefined)")

KNOWN_BUGS: dict[tuple[str, str, str], str] = {
    # Fixed: softplus'(0), pow at a zero base with exponent 0, std of a constant, prod(dim)
    # of a 0-d tensor, 0-d boolean indices, repeated indices in index_put. Add an entry here
    # (row, sample id or "*", check or "*") when a new case fails, with the reason.
}


def known_bug(row: str, shapes: Shapes | None, check: str) -> str | None:
    """Why ``check`` fails for the row on these shapes (None: all shapes), or None.

    With check "*", only the entries where the op itself fails count.
    """
    sids = ["*"] if shapes is None else [sample_id(shapes), "*"]
    checks = ["*"] if check == "*" else [check, "*"]
    for sid in sids:
        for c in checks:
            if (row, sid, c) in KNOWN_BUGS:
                return KNOWN_BUGS[(row, sid, c)]
    return None


def runnable(row: Row) -> bool:
    """Whether the op runs at all on some of its shapes."""
    return known_bug(row.name, None, "*") is None
