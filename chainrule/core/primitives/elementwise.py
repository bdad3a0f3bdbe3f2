"""Elementwise primitives: forward on arrays, vjp on tensors, side by side.

Each vjp is written with chainrule's own ops, so running it with grad mode on records the
backward pass itself and gives higher-order gradients. The comment on each vjp is the
derivative it implements.
"""

from __future__ import annotations

from ...backend import errstate, ndarray, xp
from .. import functional as F  # read when a vjp runs: see primitives/__init__.py
from ..graph import Node, apply

# ---------------------------------------------------------------------------------------------
# Binary (NumPy broadcasting; the engine sums each cotangent back to its input's shape)
# ---------------------------------------------------------------------------------------------


class Add(Node):
    __slots__ = ()
    name = "add"
    broadcasts = True

    def forward(self, a, b):
        return a + b

    def vjp(self, g):  # d(a+b)/da = 1, d(a+b)/db = 1
        return g, g


class Sub(Node):
    __slots__ = ()
    name = "sub"
    broadcasts = True

    def forward(self, a, b):
        return a - b

    def vjp(self, g):  # d(a-b)/da = 1, d(a-b)/db = -1
        return g, (F.neg(g) if self.next[1] is not None else None)


class Mul(Node):
    __slots__ = ()
    name = "mul"
    broadcasts = True
    saves = (0, 1)
    saved_for = {0: (1,), 1: (0,)}

    def forward(self, a, b):
        return a * b

    def vjp(self, g):  # d(ab)/da = b, d(ab)/db = a
        a, b = self.inputs
        n = self.next
        return (F.mul(g, b) if n[0] is not None else None,
                F.mul(g, a) if n[1] is not None else None)


class Div(Node):
    __slots__ = ()
    name = "div"
    broadcasts = True
    saves = (0, 1)
    saved_for = {0: (1,), 1: (0, 1)}

    def forward(self, a, b):
        return a / b

    def vjp(self, g):  # d(a/b)/da = 1/b, d(a/b)/db = -a/b^2
        a, b = self.inputs
        n = self.next
        ga = F.div(g, b) if n[0] is not None else None
        # NOTE: -(g (a / b)) / b, not -g a / b^2: b^2 overflows or underflows long before a / b.
        gb = F.neg(F.div(F.mul(g, F.div(a, b)), b)) if n[1] is not None else None
        return ga, gb


class Pow(Node):
    __slots__ = ()
    name = "pow"
    broadcasts = True
    saves = (0, 1)

    def forward(self, a, b):
        return a ** b

    def vjp(self, g):  # d(a^b)/da = b a^(b-1), d(a^b)/db = a^b log(a)
        a, b = self.inputs
        n = self.next
        ga = None
        if n[0] is not None:
            if n[1] is None and b._data.ndim == 0 and b._data == 2:
                ga = F.mul(g, F.mul(a, 2.0))  # NOTE: x ** 2, the common case: skip a ** 1
            else:
                e = b
                if ((b._data == 0) & (a._data == 0)).any():
                    # NOTE: d a^0/da = 0, also at a = 0: use a^0 there instead of a^-1 = inf,
                    # so the product is 0 * 1, not 0 * inf (only there: elsewhere the mixed
                    # second derivative needs the true a^(b-1)).
                    e = F.where(F.logical_and(F.eq(b, 0), F.eq(a, 0)), 1.0, b)
                ga = F.mul(g, F.mul(b, F.pow(a, F.sub(e, 1))))
        gb = None
        if n[1] is not None:
            # NOTE: where a == 0 (and b >= 0) the limit of a^b log(a) is 0, as in PyTorch.
            safe_log = F.where(F.eq(a, 0), 0.0, F.log(F.where(F.eq(a, 0), 1.0, a)))
            gb = F.mul(g, F.mul(F.pow(a, b), safe_log))
        return ga, gb


class Maximum(Node):
    __slots__ = ()
    name = "maximum"
    broadcasts = True
    saves = (0, 1)

    def forward(self, a, b):
        return xp.maximum(a, b)

    def vjp(self, g):  # d max(a,b)/da = [a > b] + 1/2 [a == b]
        # NOTE: at ties the gradient is split evenly between a and b, as in PyTorch.
        a, b = self.inputs
        tie = F.mul(F.eq(a, b), 0.5)
        n = self.next
        ga = F.mul(g, F.add(F.gt(a, b), tie)) if n[0] is not None else None
        gb = F.mul(g, F.add(F.lt(a, b), tie)) if n[1] is not None else None
        return ga, gb


class Minimum(Node):
    __slots__ = ()
    name = "minimum"
    broadcasts = True
    saves = (0, 1)

    def forward(self, a, b):
        return xp.minimum(a, b)

    def vjp(self, g):  # d min(a,b)/da = [a < b] + 1/2 [a == b]
        a, b = self.inputs
        tie = F.mul(F.eq(a, b), 0.5)
        n = self.next
        ga = F.mul(g, F.add(F.lt(a, b), tie)) if n[0] is not None else None
        gb = F.mul(g, F.add(F.gt(a, b), tie)) if n[1] is not None else None
        return ga, gb


class Where(Node):
    """``where(cond, x, y)``; input 0 is the (boolean, non-differentiable) condition."""

    __slots__ = ()
    name = "where"
    broadcasts = True
    saves = (0,)

    def forward(self, c, x, y):
        return xp.where(c, x, y)

    def vjp(self, g):  # d/dx = [cond], d/dy = [not cond]
        c = self.inputs[0]
        n = self.next
        gx = F.where(c, g, 0.0) if n[1] is not None else None
        gy = F.where(c, 0.0, g) if n[2] is not None else None
        return None, gx, gy


# ---------------------------------------------------------------------------------------------
# Unary
# ---------------------------------------------------------------------------------------------


class Neg(Node):
    __slots__ = ()
    name = "neg"

    def forward(self, x):
        return -x

    def vjp(self, g):  # d(-x)/dx = -1
        return (F.neg(g),)


class Exp(Node):
    __slots__ = ()
    name = "exp"
    saves_output = True

    def forward(self, x):
        return xp.exp(x)

    def vjp(self, g):  # d exp(x)/dx = exp(x)
        return (F.mul(g, self.saved_output()),)


class Log(Node):
    __slots__ = ()
    name = "log"
    saves = (0,)

    def forward(self, x):
        return xp.log(x)

    def vjp(self, g):  # d log(x)/dx = 1/x
        return (F.div(g, self.inputs[0]),)


class Log1p(Node):
    __slots__ = ()
    name = "log1p"
    saves = (0,)

    def forward(self, x):
        return xp.log1p(x)

    def vjp(self, g):  # d log(1+x)/dx = 1/(1+x)
        return (F.div(g, F.add(self.inputs[0], 1.0)),)


class Sqrt(Node):
    __slots__ = ()
    name = "sqrt"
    saves_output = True

    def forward(self, x):
        return xp.sqrt(x)

    def vjp(self, g):  # d sqrt(x)/dx = 1/(2 sqrt(x))
        return (F.div(g, F.mul(self.saved_output(), 2.0)),)


class Sin(Node):
    __slots__ = ()
    name = "sin"
    saves = (0,)

    def forward(self, x):
        return xp.sin(x)

    def vjp(self, g):  # d sin(x)/dx = cos(x)
        return (F.mul(g, F.cos(self.inputs[0])),)


class Cos(Node):
    __slots__ = ()
    name = "cos"
    saves = (0,)

    def forward(self, x):
        return xp.cos(x)

    def vjp(self, g):  # d cos(x)/dx = -sin(x)
        return (F.neg(F.mul(g, F.sin(self.inputs[0]))),)


class Tanh(Node):
    __slots__ = ()
    name = "tanh"
    saves_output = True

    def forward(self, x):
        return xp.tanh(x)

    def vjp(self, g):  # d tanh(x)/dx = 1 - tanh(x)^2
        return (apply(TanhGrad(), g, self.saved_output()),)


class TanhGrad(Node):
    """``g (1 - t^2)``: tanh's backward as one op (differentiable, for higher order).

    NOTE: a primitive for speed, like SigmoidGrad: one node and one pass instead of three.
    """

    __slots__ = ()
    name = "tanh_grad"
    saves = (0, 1)
    broadcasts = True

    def forward(self, g, t):
        u = t * t
        if u.__class__ is ndarray:  # one temporary fewer (0-d inputs give NumPy scalars)
            xp.subtract(1.0, u, out=u)
            return g * u
        return g * (1.0 - u)

    def vjp(self, h):  # d/dg = 1 - t^2, d/dt = -2 g t
        g, t = self.inputs
        n = self.next
        gg = apply(TanhGrad(), h, t) if n[0] is not None else None
        gt = F.mul(F.mul(h, g), F.mul(t, -2.0)) if n[1] is not None else None
        return gg, gt


class Sigmoid(Node):
    # NOTE: a primitive rather than 1/(1+exp(-x)) composed, for a vjp that reuses the output
    # and for stability: exp(-x) overflowing to inf gives exactly 0, the right limit.
    __slots__ = ()
    name = "sigmoid"
    saves_output = True

    def forward(self, x):
        # Same arithmetic as the tutorial's 1 / (1 + exp(-z)), so its numbers reproduce exactly.
        with errstate(over="ignore"):
            return 1.0 / (1.0 + xp.exp(-x))

    def vjp(self, g):  # d s(x)/dx = s(x) (1 - s(x))
        return (apply(SigmoidGrad(), g, self.saved_output()),)


class SigmoidGrad(Node):
    """``g s (1 - s)``: sigmoid's backward as one op (itself differentiable, for higher order).

    NOTE: a primitive for speed: one node and one pass instead of three in every backward
    through a sigmoid (measured on the tutorial's digits loop). Computed as (g s)(1 - s), the
    tutorial's order, so its programs reproduce bit for bit.
    """

    __slots__ = ()
    name = "sigmoid_grad"
    saves = (0, 1)
    broadcasts = True

    def forward(self, g, s):
        out = g * s
        if out.__class__ is ndarray:  # one temporary fewer (0-d inputs give NumPy scalars)
            out *= 1.0 - s
            return out
        return out * (1.0 - s)

    def vjp(self, h):  # d/dg = s (1 - s), d/ds = g (1 - 2 s)
        g, s = self.inputs
        n = self.next
        gg = apply(SigmoidGrad(), h, s) if n[0] is not None else None
        gs = F.mul(F.mul(h, g), F.sub(1.0, F.mul(s, 2.0))) if n[1] is not None else None
        return gg, gs


class Softplus(Node):
    # NOTE: a primitive for exactness at every point: the composite max(x, 0) +
    # log1p(exp(-|x|)) is stable but its kinks at 0 cancel only to first order, so its second
    # derivative at 0 came out 0 instead of 1/4. logaddexp never overflows.
    __slots__ = ()
    name = "softplus"
    saves = (0,)

    def forward(self, x):
        return xp.logaddexp(0, x).astype(x.dtype, copy=False)

    def vjp(self, g):  # d log(1 + e^x)/dx = sigmoid(x)
        return (F.mul(g, F.sigmoid(self.inputs[0])),)


class Relu(Node):
    # NOTE: a primitive (not where(x > 0, x, 0)) because it is the hot op of MLP training:
    # one ufunc forward, one mask multiply backward.
    __slots__ = ()
    name = "relu"
    saves_output = True

    def forward(self, x):
        return xp.maximum(x, 0)

    def vjp(self, g):  # d relu(x)/dx = [x > 0]   (0 at x = 0, as in PyTorch)
        return (F.where(F.gt(self.saved_output(), 0), g, 0.0),)


class Abs(Node):
    __slots__ = ()
    name = "abs"
    saves = (0,)

    def forward(self, x):
        return xp.abs(x)

    def vjp(self, g):  # d|x|/dx = sign(x)   (0 at x = 0, as in PyTorch)
        return (F.mul(g, F.sign(self.inputs[0])),)


class Cast(Node):
    """Conversion to another dtype (and ``clone``, when the dtype is unchanged)."""

    __slots__ = ("dtype_to",)
    name = "cast"

    def __init__(self, dtype_to):
        self.dtype_to = dtype_to

    def forward(self, x):
        return x.astype(self.dtype_to)  # always a copy

    def vjp(self, g):  # d cast(x)/dx = 1, in x's dtype
        return (F.cast(g, self.next[0].dtype),)
