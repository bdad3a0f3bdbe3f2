"""Every tensor function: argument checking, dtype promotion, and composites of primitives.

The functions here are what users call (``cr.exp``, ``x.sum(dim=1)``, ``x @ w``). Each
validates its arguments and raises an error that names the op and the shapes involved, then
either applies one primitive or composes several; composites get their gradients for free.

They live in :mod:`chainrule.core.ops`, one module per kind (conversion, elementwise,
indexing, shape, reductions, linear algebra); this module exports them all, so
``from chainrule.core import functional as F; F.exp`` names any of them. The vjps of the
primitives are written with these functions (``F.mul(g, ...)``), so that backward runs through
the graph and gives higher orders: see :mod:`chainrule.core.primitives`.
"""

from __future__ import annotations

from .ops.convert import (  # noqa: F401
    _as_tensor, _constants, _dim, _dims, _float, _pair, _prod_int, _scalar_dtype, _shape_arg, cast)
from .ops.elementwise import (  # noqa: F401
    _compare, abs, add, allclose, clamp, clip, clone, cos, div, eq, equal, exp, eye, ge, gt,
    isfinite, isinf, isnan, le, log, log1p, logical_and, logical_not, logical_or, lt, maximum,
    minimum, mul, ne, neg, pow, relu, sigmoid, sign, sin, softplus, sqrt, square, sub, tanh,
    where)
from .ops.indexing import (  # noqa: F401
    _normalize_index, apply_getitem, getitem, index_add_zeros, index_put, masked_fill)
from .ops.shape import (  # noqa: F401
    _check_broadcast, broadcast_to, cat, chunk, concat, concatenate, expand, expand_as, flatten,
    flip, gather, permute, reshape, split, squeeze, stack, sum_to, summed_axes, t,
    transpose, unsqueeze)
from .ops.reductions import (  # noqa: F401
    _arg, _check_nonempty, _keepdim_shape, _max_dim, _shift, _softmax_dim, amax, amin, argmax,
    argmin, log_softmax, logsumexp, max, MaxResult, mean, min, prod, softmax, std, sum, var)
from .ops.linalg import (  # noqa: F401
    dot, matmul, mm)
from .ops.views import (  # noqa: F401
    contiguous, diagonal, is_contiguous, select, swapaxes, swapdims, unbind, view)
from .ops.special import (  # noqa: F401
    erf, erfc, erfinv, exp2, expit, expm1, logit, ndtr, xlog1py, xlogy)
