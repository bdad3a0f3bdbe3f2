"""The error function and its relatives: erf, erfc, erfinv; and expm1.

NumPy has no erf, so the arrays are computed here, in float64 (float32 and float16 inputs are
computed in float64 and rounded once, which is exact to their precision):

- erf and erfc: W. J. Cody's rational approximations as tabulated in the Cephes library
  (S. L. Moshier, ``ndtr.c``): erf(x) = x T(x^2) / U(x^2) for |x| <= 1, erfc(x) =
  exp(-x^2) P(x) / Q(x) for 1 <= x < 8 and exp(-x^2) R(x) / S(x) beyond, and erfc(x) =
  1 - erf(x) for |x| < 1 (which costs erfc a few ulps for x in (0.5, 1)). Measured against
  glibc: erf within 3 ulps, erfc within 10. exp(-x^2) is computed as exp(-h^2)
  exp(-(2 h l + l^2)) with x = h + l and h holding 16 fractional bits (h^2 is exact), so that
  erfc keeps its relative accuracy deep in the tail, where exp(-x^2) would otherwise amplify
  the rounding of x^2.
- erfinv: M. Giles' single-precision approximation ("Approximating the erfinv function",
  2010), or beyond its range (1 - |y| < 1e-7) the asymptote of erfc, refined by three
  Halley steps on erf (on erfc for |y| > 1/2, where 1 - |y| is exact): float64 rounding
  (within 16 ulps of SciPy's erfinv, measured).

The vjps are written with chainrule ops, so every one of them differentiates again.
"""

from __future__ import annotations

import math

from ...backend import errstate, ndarray, xp
from .. import functional as F
from ..graph import Node, apply

_T = (9.60497373987051638749e0, 9.00260197203842689217e1, 2.23200534594684319226e3,
      7.00332514112805075473e3, 5.55923013010394962768e4)
_U = (1.0, 3.35617141647503099647e1, 5.21357949780152679795e2, 4.59432382970980127987e3,
      2.26290000613890934246e4, 4.92673942608635921086e4)
_P = (2.46196981473530512524e-10, 5.64189564831068821977e-1, 7.46321056442269912687e0,
      4.86371970985681366614e1, 1.96520832956077098242e2, 5.26445194995477358631e2,
      9.34528527171957607540e2, 1.02755188689515710272e3, 5.57535335369399327526e2)
_Q = (1.0, 1.32281951154744992508e1, 8.67072140885989742329e1, 3.54937778887819891062e2,
      9.75708501743205489753e2, 1.82390916687909736289e3, 2.24633760818710981792e3,
      1.65666309194161350182e3, 5.57535340817727675546e2)
_R = (5.64189583547755073984e-1, 1.27536670759978104416e0, 5.01905042251180477414e0,
      6.16021097993053585195e0, 7.40974269950448939160e0, 2.97886665372100240670e0)
_S = (1.0, 2.26052863220117276590e0, 9.39603524938001434673e0, 1.20489539808096656605e1,
      1.70814450747565897222e1, 9.60896809063285878198e0, 3.36907645100081516050e0)
# Giles' erfinv: w = -log((1 - y)(1 + y)); central piece in w - 2.5, tail in sqrt(w) - 3
_GILES_CENTRAL = (2.81022636e-08, 3.43273939e-07, -3.5233877e-06, -4.39150654e-06,
                  0.00021858087, -0.00125372503, -0.00417768164, 0.246640727, 1.50140941)
_GILES_TAIL = (-0.000200214257, 0.000100950558, 0.00134934322, -0.00367342844,
               0.00573950773, -0.0076224613, 0.00943887047, 1.00167406, 2.83297682)
TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)
SQRT_PI_OVER_2 = math.sqrt(math.pi) / 2.0


def _poly(x: ndarray, coeffs: tuple[float, ...]) -> ndarray:
    """Horner's rule, highest power first (Cephes' polevl)."""
    acc = xp.full_like(x, coeffs[0])
    for c in coeffs[1:]:
        acc = acc * x + c
    return acc


def _exp_neg_square(x: ndarray) -> ndarray:
    """exp(-x^2) to a few ulps relative, for x >= 0 (see the module docstring)."""
    h = xp.floor(x * 65536.0) / 65536.0
    lo = x - h
    return xp.exp(-h * h) * xp.exp(-(2.0 * h * lo + lo * lo))


def _erf_small(x: ndarray) -> ndarray:  # |x| <= 1
    z = x * x
    return x * _poly(z, _T) / _poly(z, _U)


def _erfc_large(a: ndarray) -> ndarray:  # a >= 1
    a = xp.minimum(a, 30.0)  # erfc(30) underflows to 0; keeps the polynomials finite
    near = a < 8.0
    ratio = xp.where(near, _poly(a, _P) / _poly(a, _Q), _poly(a, _R) / _poly(a, _S))
    return _exp_neg_square(a) * ratio


def _as64(x: ndarray) -> ndarray:
    return x.astype(xp.float64, copy=False)


def erf_array(x: ndarray) -> ndarray:
    d = _as64(x)
    with errstate(all="ignore"):
        a = xp.abs(d)
        small = a <= 1.0
        out = xp.where(small, _erf_small(xp.where(small, d, 0.0)),
                       xp.copysign(1.0 - _erfc_large(xp.where(small, 1.0, a)), d))
    return out.astype(x.dtype, copy=False)


def erfc_array(x: ndarray) -> ndarray:
    d = _as64(x)
    with errstate(all="ignore"):
        a = xp.abs(d)
        small = a < 1.0
        tail = _erfc_large(xp.where(small, 1.0, a))
        out = xp.where(small, 1.0 - _erf_small(xp.where(small, d, 0.0)),
                       xp.where(d < 0, 2.0 - tail, tail))
    return out.astype(x.dtype, copy=False)


def erfinv_array(y: ndarray) -> ndarray:
    d = _as64(y)
    with errstate(all="ignore"):
        w = -xp.log((1.0 - d) * (1.0 + d))
        central = w < 5.0
        p = xp.where(central, _poly(w - 2.5, _GILES_CENTRAL),
                     _poly(xp.sqrt(xp.where(central, 5.0, w)) - 3.0, _GILES_TAIL))
        x = p * d
        a = xp.abs(d)
        tail = a > 0.5
        rest = 1.0 - a  # exact for |y| >= 1/2 (Sterbenz)
        # beyond Giles' range (1 - |y| < 1e-7): the asymptote erfc(x) ~ exp(-x^2) / (x sqrt(pi))
        far = rest < 1e-7
        if far.any():
            r = xp.where(far, rest, 1e-7)
            x0 = xp.sqrt(-xp.log(r))
            for _ in range(2):
                x0 = xp.sqrt(-xp.log(r * math.sqrt(math.pi) * x0))
            x = xp.where(far, xp.where(d < 0, -x0, x0), x)
        for _ in range(3):  # Halley on f(x) = erf(x) - y (erfc in the tails)
            ax = xp.abs(x)
            tail_f = rest - erfc_array(ax)  # erf(|x|) - |y|
            f = xp.where(tail, xp.where(d < 0, -tail_f, tail_f), erf_array(x) - d)
            fp = TWO_OVER_SQRT_PI * _exp_neg_square(ax)
            step = f / fp
            x = x - step / (1.0 + x * step)
        x = xp.where(a == 1.0, xp.copysign(xp.inf, d), x)
        x = xp.where(a > 1.0, xp.nan, x)
    return x.astype(y.dtype, copy=False)


class Erf(Node):
    __slots__ = ()
    name = "erf"
    saves = (0,)

    def forward(self, x):
        return erf_array(x)

    def vjp(self, g):  # d erf(x)/dx = 2/sqrt(pi) exp(-x^2)
        x = self.inputs[0]
        return (F.mul(g, F.mul(F.exp(F.neg(F.mul(x, x))), TWO_OVER_SQRT_PI)),)


class Erfc(Node):
    __slots__ = ()
    name = "erfc"
    saves = (0,)

    def forward(self, x):
        return erfc_array(x)

    def vjp(self, g):  # d erfc(x)/dx = -2/sqrt(pi) exp(-x^2)
        x = self.inputs[0]
        return (F.mul(g, F.mul(F.exp(F.neg(F.mul(x, x))), -TWO_OVER_SQRT_PI)),)


class Erfinv(Node):
    # NOTE: saves its input and recomputes erfinv in the vjp, as PyTorch does: an in-place
    # change of the output (erfinv(y).zero_()) then leaves the backward valid, in both.
    __slots__ = ()
    name = "erfinv"
    saves = (0,)

    def forward(self, y):
        return erfinv_array(y)

    def vjp(self, g):  # d erfinv(y)/dy = sqrt(pi)/2 exp(erfinv(y)^2)
        x = apply(Erfinv(), self.inputs[0])
        return (F.mul(g, F.mul(F.exp(F.mul(x, x)), SQRT_PI_OVER_2)),)


class Expm1(Node):
    # NOTE: a primitive, not exp(x) - 1, which loses every digit for tiny x.
    __slots__ = ()
    name = "expm1"
    saves_output = True

    def forward(self, x):
        return xp.expm1(x)

    def vjp(self, g):  # d(e^x - 1)/dx = e^x = expm1(x) + 1
        return (F.mul(g, F.add(self.saved_output(), 1.0)),)
