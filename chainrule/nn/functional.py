"""Layers and losses as functions: ``import chainrule.nn.functional as F``.

Everything here is a composite of core ops, so gradients (and higher-order gradients) come
for free. The hot path of MLP training (``linear``, ``relu``, ``cross_entropy``) is written to
record as few ops as possible: arguments are validated with cheap checks up front and the
errors name the op, the shapes and the fix.
"""

from __future__ import annotations

import math
import operator
from typing import Any

from .. import backend as B
from ..backend import ndarray, xp
from ..core import creation
from ..core import functional as _F
from ..core.creation import Generator
from ..core.graph import apply
from ..core.primitives import conv as _conv_prims
from ..core.primitives.conv import Conv2d as _Conv2d
from ..core.primitives.elementwise import Add as _Add
from ..core.primitives.structure import Matmul as _Matmul
from ..core.primitives.structure import Permute as _Permute
from ..core.tensor import Tensor, _make, _to_array
from ..core.functional import ndtr, softplus  # noqa: F401  (F.softplus(x, beta, threshold))
from .functional_embedding import embedding, embedding_bag  # noqa: F401

__all__ = [
    "linear", "relu", "leaky_relu", "gelu", "elu", "silu", "sigmoid", "tanh", "softmax",
    "log_softmax", "dropout", "mse_loss", "l1_loss", "cross_entropy", "nll_loss",
    "binary_cross_entropy", "binary_cross_entropy_with_logits", "one_hot", "conv2d",
    "max_pool2d", "avg_pool2d", "batch_norm", "softplus",
]

_REDUCTIONS = ("mean", "sum", "none")


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------


def _tensor(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else _make(_to_array(x))


def _float_input(x: Any, op: str, what: str = "input") -> Tensor:
    x = _tensor(x)
    if x._data.dtype.kind != "f":
        raise TypeError(
            f"{op}: {what} must be a floating-point tensor, got {x.dtype} (shape "
            f"{tuple(x.shape)}); convert it with .float()"
        )
    return x


def _check_reduction(reduction: Any, op: str) -> None:
    if reduction not in _REDUCTIONS:
        raise ValueError(
            f"{op}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}"
        )


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return _F.mean(loss)
    if reduction == "sum":
        return _F.sum(loss)
    return loss


def _same_shape_target(x: Tensor, target: Any, op: str) -> Tensor:
    """The target as a tensor of x's dtype, with exactly x's shape."""
    t = _tensor(target)
    if t._data.shape != x._data.shape:
        xs, ts = tuple(x.shape), tuple(t.shape)
        try:
            b = tuple(xp.broadcast_shapes(xs, ts))
            why = (f"; they would broadcast to {b}, comparing every input with every target, "
                   "which is almost never intended")
        except ValueError:
            why = ""
        fix = (f" Reshape one of them, e.g. target.reshape{xs}." if t._data.size == x._data.size
               else " They must have the same shape.")
        raise ValueError(f"{op}: input shape {xs} and target shape {ts} differ{why}.{fix}")
    if t._data.dtype.kind != "f":
        # NOTE: PyTorch refuses integer targets here ("Found dtype Long but expected Float");
        # 0/1 labels as ints are the common case, so they are converted instead. A float
        # target keeps its dtype: the loss is computed in the wider one, as in PyTorch.
        t = _F.cast(t, x._data.dtype)
    return t


_aranges: dict[int, ndarray] = {}


def _arange(n: int) -> ndarray:
    a = _aranges.get(n)
    if a is None:
        a = xp.arange(n)
        a.flags.writeable = False
        if len(_aranges) < 64:
            _aranges[n] = a
    return a


# ---------------------------------------------------------------------------------------------
# Linear
# ---------------------------------------------------------------------------------------------

_T2 = (1, 0)


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """y = x W^T + b, for x of shape (..., in), W of shape (out, in) and b of shape (out,).

    >>> import chainrule as cr
    >>> import chainrule.nn.functional as F
    >>> F.linear(cr.ones(2, 3), cr.ones(4, 3), cr.zeros(4)).tolist()
    [[3.0, 3.0, 3.0, 3.0], [3.0, 3.0, 3.0, 3.0]]
    """
    return _linear(input, weight, bias, None)


def _linear(x: Any, w: Tensor, b: Tensor | None, layer: str | None) -> Tensor:
    # Fast path: a 2-D input of the weight's dtype. One matmul against the transposed view of
    # the weight (a view: no copy) and one broadcast add, straight through the primitives.
    try:
        xd, wd = x._data, w._data
        if (xd.ndim == 2 and wd.ndim == 2 and xd.shape[1] == wd.shape[1]
                and xd.dtype is wd.dtype and wd.dtype.kind == "f"):
            if b is None:
                return apply(_Matmul(), x, apply(_Permute(_T2), w))
            bd = b._data
            if bd.dtype is wd.dtype and bd.shape == (wd.shape[0],):
                return apply(_Add(), apply(_Matmul(), x, apply(_Permute(_T2), w)), b)
    except AttributeError:
        pass
    return _linear_checked(x, w, b, layer)


def _linear_checked(x: Any, w: Tensor, b: Tensor | None, layer: str | None) -> Tensor:
    w = _tensor(w)
    if w._data.ndim != 2:
        raise ValueError(f"linear: weight must be 2-D (out_features, in_features), got shape "
                         f"{tuple(w.shape)}")
    out_f, in_f = w._data.shape
    name = layer or f"linear (weight of shape {(out_f, in_f)})"
    if not isinstance(x, (Tensor, ndarray)):
        x = _make(_to_array(x, w._data.dtype))  # Python data has no dtype: take the weight's
    x = _tensor(x)
    if x._data.ndim == 0 or x._data.shape[-1] != in_f:
        hint = ""
        if x._data.ndim > 2 and x._data.size == x._data.shape[0] * in_f:
            hint = "; flatten it first (x.flatten(1) or nn.Flatten())"
        elif x._data.ndim == 2 and x._data.shape[0] == in_f:
            hint = "; the features must be in the last dim (transpose the input?)"
        raise ValueError(
            f"{name}: expected input with last dim {in_f}, got shape {tuple(x.shape)}{hint}"
        )
    if x._data.dtype.kind != "f":
        raise TypeError(
            f"{name}: expected a floating-point input, got {x.dtype} (shape {tuple(x.shape)}); "
            "convert it with x.float()"
        )
    if x._data.dtype != w._data.dtype:
        raise TypeError(
            f"{name}: input dtype {x.dtype} does not match the weight dtype {w.dtype}; convert "
            f"the input (x.to({w.dtype.name!r})) or the layer (.to({x.dtype.name!r}))"
        )
    if b is not None:
        b = _tensor(b)
        if b._data.shape != (out_f,):
            raise ValueError(f"{name}: bias must have shape ({out_f},), got {tuple(b.shape)}")
        if b._data.dtype != w._data.dtype:
            raise TypeError(f"{name}: bias dtype {b.dtype} does not match the weight dtype "
                            f"{w.dtype}")
    lead = x._data.shape[:-1]
    x2 = x if x._data.ndim == 2 else _F.reshape(x, (-1, in_f))
    out = apply(_Matmul(), x2, apply(_Permute(_T2), w))
    if b is not None:
        out = apply(_Add(), out, b)
    return out if x._data.ndim == 2 else _F.reshape(out, lead + (out_f,))


# ---------------------------------------------------------------------------------------------
# Activations
# ---------------------------------------------------------------------------------------------


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """max(x, 0); the gradient at 0 is 0.

    NOTE: ``inplace`` is accepted for compatibility; the result is always a new tensor.

    >>> import chainrule as cr
    >>> import chainrule.nn.functional as F
    >>> F.relu(cr.tensor([-1.0, 2.0]))
    tensor([0., 2.])
    """
    return _F.relu(input)


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """x if x > 0 else negative_slope * x.

    >>> import chainrule as cr
    >>> import chainrule.nn.functional as F
    >>> F.leaky_relu(cr.tensor([-2.0, 3.0]), 0.1)
    tensor([-0.2000,  3.0000])
    """
    x = _float_input(input, "leaky_relu")
    return _F.where(x._data > 0, x, _F.mul(x, negative_slope))


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """x if x > 0 else alpha * (e^x - 1).

    >>> import chainrule as cr
    >>> import chainrule.nn.functional as F
    >>> F.elu(cr.tensor([-1.0, 2.0]))
    tensor([-0.6321,  2.0000])
    """
    x = _float_input(input, "elu")
    pos = x._data > 0
    # NOTE: exp sees min(x, 0) only, so a large positive x cannot overflow into the unused
    # branch (whose zero gradient times inf would be nan). e^x - 1 rather than expm1: no
    # expm1 primitive; the absolute error is one ulp of 1.
    neg = _F.mul(_F.sub(_F.exp(_F.where(pos, 0.0, x)), 1.0), alpha)
    return _F.where(pos, x, neg)


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """x * sigmoid(x) (also called swish).

    >>> import chainrule as cr
    >>> import chainrule.nn.functional as F
    >>> F.silu(cr.tensor([0.0, 1.0]))
    tensor([0.0000, 0.7311])
    """
    x = _float_input(input, "silu")
    return _F.mul(x, _F.sigmoid(x))


def sigmoid(input: Tensor) -> Tensor:
    """1 / (1 + e^-x).

    >>> import chainrule as cr
    >>> import chainrule.nn.functional as F
    >>> F.sigmoid(cr.tensor([0.0]))
    tensor([0.5000])
    """
    return _F.sigmoid(input)


def tanh(input: Tensor) -> Tensor:
    """Hyperbolic tangent.

    >>> import chainrule as cr
    >>> import chainrule.nn.functional as F
    >>> F.tanh(cr.tensor([0.0]))
    tensor([0.])
    """
    return _F.tanh(input)


_GELU_TANH_C = math.sqrt(2.0 / math.pi)


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """x * Phi(x), Phi the standard normal CDF; ``approximate='tanh'`` uses
    0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).

    >>> import chainrule as cr
    >>> import chainrule.nn.functional as F
    >>> F.gelu(cr.tensor([-1.0, 0.0, 1.0]))
    tensor([-0.1587,  0.0000,  0.8413])
    """
    x = _float_input(input, "gelu")
    if approximate == "none":
        return _F.mul(x, ndtr(x))  # x Phi(x), Phi from erfc: accurate in both tails
    if approximate == "tanh":
        inner = _F.mul(_F.add(x, _F.mul(_F.mul(_F.mul(x, x), x), 0.044715)), _GELU_TANH_C)
        return _F.mul(_F.mul(x, 0.5), _F.add(_F.tanh(inner), 1.0))
    raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")


def _softmax_args(input: Any, dim: Any, dtype: Any, op: str) -> tuple[Tensor, int]:
    x = _tensor(input)
    if dtype is not None:
        x = _F.cast(x, dtype)
    x = _F._float(x, op)
    if dim is None:
        dim = 0 if x._data.ndim in (0, 1, 3) else 1  # PyTorch's legacy implicit choice
    return x, _F._dim(dim, x._data.ndim, op)


def softmax(input: Tensor, dim: int | None = None, dtype: Any = None) -> Tensor:
    """exp(x_i) / sum_j exp(x_j) along ``dim``, without overflow.

    >>> import chainrule as cr
    >>> import chainrule.nn.functional as F
    >>> F.softmax(cr.tensor([[0.0, 0.0], [0.0, 1e4]]), dim=1)
    tensor([[0.5, 0.5],
            [0. , 1. ]])
    """
    x, d = _softmax_args(input, dim, dtype, "softmax")
    return _F.softmax(x, d)


def log_softmax(input: Tensor, dim: int | None = None, dtype: Any = None) -> Tensor:
    """x_i - log(sum_j exp(x_j)) along ``dim``: log-probabilities, finite for large inputs.

    >>> import chainrule as cr
    >>> import chainrule.nn.functional as F
    >>> F.log_softmax(cr.tensor([[0.0, 0.0]]), dim=1)
    tensor([[-0.6931, -0.6931]])
    """
    x, d = _softmax_args(input, dim, dtype, "log_softmax")
    return _F.log_softmax(x, d)


def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False,
            generator: Generator | None = None) -> Tensor:
    """x * mask / (1 - p) with mask ~ Bernoulli(1 - p) in training; x unchanged otherwise.

    The mask comes from ``generator`` (default: the global one that cr.manual_seed resets).

    >>> import chainrule as cr
    >>> import chainrule.nn.functional as F
    >>> g = cr.Generator().manual_seed(0)
    >>> y = F.dropout(cr.ones(1000), 0.5, generator=g)
    >>> sorted(set(y.tolist()))
    [0.0, 2.0]
    >>> F.dropout(cr.ones(3), 0.5, training=False).tolist()
    [1.0, 1.0, 1.0]
    """
    if not isinstance(p, (int, float)) or not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout: p must be a probability in [0, 1], got {p!r}")
    if not training or p == 0:
        return input
    x = _float_input(input, "dropout")
    dt = x._data.dtype
    if p == 1:
        mask = xp.zeros(x._data.shape, dt)
    else:
        mask = _dropout_mask(x._data.shape, dt, p, generator)
    return _F.mul(x, _make(mask))


def _dropout_mask(shape: tuple[int, ...], dt: Any, p: float, generator: Any) -> ndarray:
    """Bernoulli(1 - p) / (1 - p) from ``generator`` (default: the global one); a function of
    its own so that cr.compile replays it, drawing the same numbers eager mode would."""
    rng = (generator if generator is not None else creation.default_generator).rng
    u = rng.random(shape, dtype=dt if dt in (B.float32, B.float64) else B.float32)
    mask = (u >= p).astype(dt)
    mask *= 1.0 / (1.0 - p)
    return mask


# ---------------------------------------------------------------------------------------------
# Regression losses
# ---------------------------------------------------------------------------------------------


def mse_loss(input: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:
    """mean((x - y)^2) (or the sum, or elementwise with reduction='none').

    Unlike PyTorch, input and target must have the same shape (PyTorch warns and broadcasts).

    >>> import chainrule as cr
    >>> import chainrule.nn.functional as F
    >>> F.mse_loss(cr.tensor([1.0, 2.0]), cr.tensor([1.0, 4.0]))
    tensor(2.)
    """
    _check_reduction(reduction, "mse_loss")
    x = _float_input(input, "mse_loss")
    d = _F.sub(x, _same_shape_target(x, target, "mse_loss"))
    return _reduce(_F.mul(d, d), reduction)


def l1_loss(input: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:
    """mean(|x - y|); the gradient at x == y is 0.

    >>> import chainrule as cr
    >>> import chainrule.nn.functional as F
    >>> F.l1_loss(cr.tensor([1.0, 2.0]), cr.tensor([1.0, 4.0]))
    tensor(1.)
    """
    _check_reduction(reduction, "l1_loss")
    x = _float_input(input, "l1_loss")
    return _reduce(_F.abs(_F.sub(x, _same_shape_target(x, target, "l1_loss"))), reduction)


# ---------------------------------------------------------------------------------------------
# Classification losses
# ---------------------------------------------------------------------------------------------


def _class_layout(x: Tensor, op: str) -> tuple[int, tuple[int, ...]]:
    """Number of classes and the expected shape of a class-index target."""
    s = x._data.shape
    if len(s) == 0:
        raise ValueError(
            f"{op}: input must have a class dim: shape (C,), (N, C) or (N, C, d1, ...); got a "
            "0-d tensor"
        )
    if len(s) == 1:
        return s[0], ()
    return s[1], (s[0],) + s[2:]


def _rows(x: Tensor) -> Tensor:
    """(N, C, d1, ...) -> (N * d1 * ..., C): one row of class scores per prediction."""
    nd = x._data.ndim
    C = x._data.shape[0 if nd == 1 else 1]
    if nd == 2:
        return x
    if nd == 1:
        return _F.reshape(x, (1, C))
    return _F.reshape(_F.permute(x, (0,) + tuple(range(2, nd)) + (1,)), (-1, C))


def _class_weight(weight: Any, C: int, dt: Any, op: str) -> ndarray | None:
    if weight is None:
        return None
    w = weight._data if isinstance(weight, Tensor) else _to_array(weight)
    if w.shape != (C,):
        raise ValueError(
            f"{op}: weight must have one entry per class, shape ({C},), got {tuple(w.shape)}"
        )
    return w.astype(dt, copy=False)


def _index_target(target: Any, x: Tensor, C: int, shape: tuple[int, ...], ignore_index: int,
                  op: str) -> tuple[ndarray, ndarray | None]:
    """The class indices as a flat int array, and the mask of non-ignored entries (or None)."""
    t = target._data if isinstance(target, Tensor) else _to_array(target)
    if t.dtype.kind not in "iu":
        probs = (" or class probabilities (a float tensor of the input's shape "
                 f"{tuple(x.shape)})") if op == "cross_entropy" else ""
        raise TypeError(
            f"{op}: target must hold class indices as an integer tensor of shape {shape}"
            f"{probs}, got {t.dtype} of shape {tuple(t.shape)}; convert labels with "
            "target.long()"
        )
    if t.shape != shape:
        kind = "unbatched input" if x._data.ndim == 1 else "input"
        hint = ""
        if t.size == math.prod(shape) and t.size:
            hint = f"; reshape it with target.reshape{shape}"
        elif t.ndim == x._data.ndim and t.shape[:1] == shape[:1]:
            hint = ("; a one-hot target must be converted to indices with target.argmax(1) "
                    "(or passed as float probabilities)") if op == "cross_entropy" else ""
        raise ValueError(
            f"{op}: for {kind} of shape {tuple(x.shape)} ({C} classes) the target must have "
            f"shape {shape} (one class index per prediction), got {tuple(t.shape)}{hint}"
        )
    t = t.reshape(-1)
    if t.size == 0:
        return t, None
    # NOTE: one reduction for the common case: seen as unsigned, negative indices are huge.
    u = t.view(f"u{t.dtype.itemsize}") if t.dtype.kind == "i" else t
    if u.max() < C and not 0 <= ignore_index < C:
        return t, None  # all in range, nothing ignored
    valid = t != ignore_index
    bad = valid & ((t < 0) | (t >= C))
    if bad.any():
        k = int(xp.argmax(bad))
        pos = tuple(int(i) for i in xp.unravel_index(k, shape)) if shape else ()
        raise IndexError(
            f"{op}: target holds class index {int(t[k])} (at position {pos}) but the input "
            f"has {C} classes, so valid indices are 0..{C - 1} (ignore_index={ignore_index} "
            "marks entries to skip); check the labels and the output size of the last layer"
        )
    return t, (None if valid.all() else valid)


def _nll_rows(logp: Tensor, t: ndarray, valid: ndarray | None, w: ndarray | None,
              reduction: str, smoothing: float, shape: tuple[int, ...]) -> Tensor:
    """The negative log-likelihood of rows of log-probabilities (M, C) at indices t (M,)."""
    M, C = logp._data.shape
    dt = logp._data.dtype
    rows = _arange(M)
    if valid is not None:
        # NOTE: ignored rows pick their largest entry, which is finite whenever the row has a
        # finite entry, so multiplying by their zero weight cannot make nan from -inf.
        t = xp.where(valid, t, logp._data.argmax(axis=1))
    picked = _F.apply_getitem(logp, (rows, t), False)
    if w is None and valid is None and smoothing == 0:  # the hot path: two more ops
        if reduction == "mean":
            return _F.mul(_F.sum(picked), -1.0 / M if M else math.nan)
        if reduction == "sum":
            return _F.neg(_F.sum(picked))
        return _F.reshape(_F.neg(picked), shape)
    wt = xp.ones(M, dt) if w is None else w[t]
    if valid is not None:
        wt = wt * valid
    scale = 1.0
    all_ignored = False
    if reduction == "mean":
        total = float(wt.sum())
        all_ignored = total == 0
        scale = 1.0 / total if not all_ignored else 0.0
    loss = _F.mul(picked, _make((wt * (-(1.0 - smoothing) * scale)).astype(dt)))
    if smoothing > 0:
        smooth = _F.sum(logp if w is None else _F.mul(logp, _make(w)), 1)
        if valid is not None:
            smooth = _F.where(valid, smooth, 0.0)
        loss = _F.add(loss, _F.mul(smooth, -smoothing / C * scale))
    if reduction == "none":
        return _F.reshape(loss, shape)
    if all_ignored:
        # NOTE: as in PyTorch, the mean over no entries is nan but its gradient is 0: the nan
        # is added as a constant, so it does not flow back.
        return _F.add(_F.sum(loss), math.nan)
    return _F.sum(loss)


def _check_smoothing(label_smoothing: Any, op: str) -> float:
    if not isinstance(label_smoothing, (int, float)) or not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"{op}: label_smoothing must be in [0, 1], got {label_smoothing!r}")
    return float(label_smoothing)


def cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None,
                  ignore_index: int = -100, reduction: str = "mean",
                  label_smoothing: float = 0.0) -> Tensor:
    """-log softmax(x)[target], averaged: the loss of a classifier that outputs logits.

    ``input`` is (N, C) (or (C,), or (N, C, d1, ...)); ``target`` holds class indices of
    shape (N,) (or (), or (N, d1, ...)), or class probabilities of the input's shape. With
    ``weight`` the mean is sum(w[t_i] l_i) / sum(w[t_i]); entries equal to ``ignore_index``
    count for nothing; ``label_smoothing`` eps mixes the target with the uniform
    distribution: (1 - eps) onehot + eps / C.

    >>> import chainrule as cr
    >>> import chainrule.nn.functional as F
    >>> logits = cr.tensor([[2.0, 0.0], [0.0, 2.0]], requires_grad=True)
    >>> loss = F.cross_entropy(logits, cr.tensor([0, 1]))
    >>> round(loss.item(), 4)
    0.1269
    >>> loss.backward()                      # d loss / d logits = (softmax - onehot) / N
    >>> logits.grad
    tensor([[-0.0596,  0.0596],
            [ 0.0596, -0.0596]])
    """
    op = "cross_entropy"
    if reduction not in _REDUCTIONS:
        _check_reduction(reduction, op)
    if label_smoothing:
        label_smoothing = _check_smoothing(label_smoothing, op)
    x = input if input.__class__ is Tensor else _tensor(input)
    if x._data.dtype.kind != "f":
        raise TypeError(
            f"{op}: input must be floating-point scores (logits), got {x.dtype} of shape "
            f"{tuple(x.shape)}"
        )
    C, shape = _class_layout(x, op)
    if not isinstance(target, Tensor):
        target = _tensor(target)
    if (target._data.dtype.kind == "f"
            and target._data.shape == x._data.shape and x._data.ndim >= 1):
        return _cross_entropy_probs(x, target, weight, reduction, label_smoothing, C)
    t, valid = _index_target(target, x, C, shape, ignore_index, op)
    x2 = _rows(x)
    if weight is None and valid is None:
        # The hot path: loss_i = logsumexp(x_i) - x_i[t_i], both shifted by the (constant)
        # row max: eight recorded ops, and no broadcast in the backward pass. With label
        # smoothing the picked logit becomes sum_c q_ic x_ic, q = (1 - eps) onehot + eps / C.
        M = len(t)
        z = _F.sub(x2, _make(_F._shift(x2._data, 1)))
        lse = _F.log(_F.sum(_F.exp(z), 1))
        if not label_smoothing:
            picked = _F.apply_getitem(z, (_arange(M), t), False)
        else:
            q = _smoothed_targets(t, M, C, label_smoothing, x2._data.dtype)
            picked = _F.sum(_F.mul(z, _make(q)), 1)
        d = _F.sub(lse, picked)
        if reduction == "mean":
            return _F.mul(_F.sum(d), 1.0 / M if M else math.nan)
        return _F.sum(d) if reduction == "sum" else _F.reshape(d, shape)
    w = _class_weight(weight, C, x._data.dtype, op)
    return _nll_rows(_F.log_softmax(x2, 1), t, valid, w, reduction, label_smoothing, shape)


def _smoothed_targets(t: ndarray, M: int, C: int, eps: float, dt: Any) -> ndarray:
    """(1 - eps) onehot(t) + eps / C, an (M, C) array (cr.compile replays it per call)."""
    q = xp.full((M, C), eps / C, dt)
    q[_arange(M), t] += 1.0 - eps
    return q


def _cross_entropy_probs(x: Tensor, q: Tensor, weight: Any, reduction: str, eps: float,
                         C: int) -> Tensor:
    """-sum_c w_c q_c log softmax(x)_c per prediction; the mean divides by the predictions."""
    if q._data.dtype != x._data.dtype:
        q = _F.cast(q, x._data.dtype)
    if eps > 0:
        q = _F.add(_F.mul(q, 1.0 - eps), eps / C)
    logp = _F.log_softmax(_rows(x), 1)
    prod = _F.mul(logp, _rows(q))
    w = _class_weight(weight, C, x._data.dtype, "cross_entropy")
    if w is not None:
        prod = _F.mul(prod, _make(w))
    loss = _F.neg(_F.sum(prod, 1))
    if reduction == "none":
        return _F.reshape(loss, _class_layout(x, "cross_entropy")[1])
    return _reduce(loss, reduction)


def nll_loss(input: Tensor, target: Tensor, weight: Tensor | None = None,
             ignore_index: int = -100, reduction: str = "mean") -> Tensor:
    """-x[target] averaged, for x holding log-probabilities (the output of log_softmax).

    Shapes, ``weight`` and ``ignore_index`` as in :func:`cross_entropy`.

    >>> import chainrule as cr
    >>> import chainrule.nn.functional as F
    >>> F.nll_loss(cr.tensor([[-0.1, -2.0], [-3.0, -0.5]]), cr.tensor([0, 1]))
    tensor(0.3)
    """
    op = "nll_loss"
    _check_reduction(reduction, op)
    x = _float_input(input, op)
    C, shape = _class_layout(x, op)
    t, valid = _index_target(target, x, C, shape, ignore_index, op)
    w = _class_weight(weight, C, x._data.dtype, op)
    return _nll_rows(_rows(x), t, valid, w, reduction, 0.0, shape)


def _clamped_log(p: Tensor) -> Tensor:
    """max(log p, -100), as PyTorch's binary_cross_entropy; the gradient is 0 where clamped.

    NOTE: p == 0 never reaches log (no -inf, no 0/0 in the backward pass); PyTorch instead
    returns a huge finite gradient there, from a clamped denominator.
    """
    pd = p._data
    pos = pd > 0
    if pos.all():
        out = _F.log(p)
    else:
        out = _F.log(_F.where(pos, p, 1.0))
    keep = pos & (out._data >= -100)
    return out if keep.all() else _F.where(keep, out, -100.0)


def binary_cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None,
                         reduction: str = "mean") -> Tensor:
    """-(y log p + (1 - y) log(1 - p)), each log clamped to >= -100, for probabilities p.

    >>> import chainrule as cr
    >>> import chainrule.nn.functional as F
    >>> F.binary_cross_entropy(cr.tensor([0.9, 0.2]), cr.tensor([1.0, 0.0]))
    tensor(0.1643)
    """
    op = "binary_cross_entropy"
    _check_reduction(reduction, op)
    x = _float_input(input, op)
    t = _same_shape_target(x, target, op)
    xd = x._data
    if xd.size:
        lo, hi = xd.min(), xd.max()
        if not (lo >= 0 and hi <= 1):
            raise ValueError(
                f"{op}: input must hold probabilities in [0, 1], got values from {lo:.4g} to "
                f"{hi:.4g}; apply sigmoid first, or use binary_cross_entropy_with_logits (nn."
                "BCEWithLogitsLoss), which takes raw scores and is more stable"
            )
    lp = _clamped_log(x)
    l1p = _clamped_log(_F.sub(1.0, x))
    loss = _F.neg(_F.add(_F.mul(t, lp), _F.mul(_F.sub(1.0, t), l1p)))
    if weight is not None:
        loss = _F.mul(loss, _broadcast_weight(weight, x, op, "weight"))
    return _reduce(loss, reduction)


def _broadcast_weight(weight: Any, x: Tensor, op: str, what: str) -> Tensor:
    w = _tensor(weight)
    try:
        b = xp.broadcast_shapes(w._data.shape, x._data.shape)
    except ValueError:
        b = None
    if b != x._data.shape:
        raise ValueError(
            f"{op}: {what} of shape {tuple(w.shape)} cannot be broadcast to the input shape "
            f"{tuple(x.shape)}"
        )
    if w._data.dtype != x._data.dtype:
        w = _F.cast(w, x._data.dtype)
    return w


def binary_cross_entropy_with_logits(input: Tensor, target: Tensor,
                                     weight: Tensor | None = None, reduction: str = "mean",
                                     pos_weight: Tensor | None = None) -> Tensor:
    """-(pw y log s(x) + (1 - y) log(1 - s(x))), s the sigmoid, computed stably as
    (1 - y) x + (1 + (pw - 1) y) softplus(-x).

    >>> import chainrule as cr
    >>> import chainrule.nn.functional as F
    >>> F.binary_cross_entropy_with_logits(cr.tensor([1e4, -1e4]), cr.tensor([1.0, 0.0]))
    tensor(0.)
    """
    op = "binary_cross_entropy_with_logits"
    _check_reduction(reduction, op)
    x = _float_input(input, op)
    t = _same_shape_target(x, target, op)
    neg = x._data < 0
    dt = x._data.dtype
    # NOTE: softplus(-x) = log1p(exp(-|x|)) - min(x, 0), with exp's argument <= 0. |x| and
    # min(x, 0) are x times constant masks that both take the x >= 0 branch at x = 0, so the
    # derivative there is -1/2, the true one (abs's and relu's subgradient 0 would give 0).
    neg_abs = _F.mul(x, _make(xp.where(neg, 1, -1).astype(dt)))
    min0 = _F.mul(x, _make(neg.astype(dt)))
    sp = _F.sub(_F.log1p(_F.exp(neg_abs)), min0)
    if pos_weight is not None:
        pw = _broadcast_weight(pos_weight, x, op, "pos_weight")
        sp = _F.mul(sp, _F.add(_F.mul(_F.sub(pw, 1.0), t), 1.0))
    loss = _F.add(_F.mul(_F.sub(1.0, t), x), sp)
    if weight is not None:
        loss = _F.mul(loss, _broadcast_weight(weight, x, op, "weight"))
    return _reduce(loss, reduction)


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """out[..., c] = 1 if tensor[...] == c else 0, an int64 tensor with a new last dim.

    >>> import chainrule as cr
    >>> import chainrule.nn.functional as F
    >>> F.one_hot(cr.tensor([0, 2]), 3)
    tensor([[1, 0, 0],
            [0, 0, 1]])
    """
    t = tensor._data if isinstance(tensor, Tensor) else _to_array(tensor)
    if t.dtype.kind not in "iu":
        raise TypeError(f"one_hot: expects an integer tensor of class indices, got {t.dtype}; "
                        "convert it with .long()")
    if num_classes == -1:
        if t.size == 0:
            raise ValueError("one_hot: cannot infer num_classes from an empty tensor; pass it")
        num_classes = int(t.max()) + 1
    if t.size and (t.min() < 0 or t.max() >= num_classes):
        raise IndexError(
            f"one_hot: class values must be in 0..{num_classes - 1} for num_classes="
            f"{num_classes}, got values from {int(t.min())} to {int(t.max())}"
        )
    return _make((t[..., None] == xp.arange(num_classes)).astype(B.int64))


# ---------------------------------------------------------------------------------------------
# Convolution, pooling and normalisation (NCHW, as PyTorch)
# ---------------------------------------------------------------------------------------------


def _int_pair(v: Any, what: str, op: str, minimum: int) -> tuple[int, int]:
    """An int or a pair of ints (as PyTorch's ``_pair``), each at least ``minimum``."""
    items = list(v) if isinstance(v, (tuple, list)) else [v, v]
    if len(items) == 1:
        items = items * 2
    try:
        if len(items) != 2 or any(isinstance(i, bool) for i in items):
            raise TypeError
        pair = (operator.index(items[0]), operator.index(items[1]))
    except TypeError:
        raise TypeError(f"{op}: {what} must be an int or a pair of ints, got {v!r}") from None
    if min(pair) < minimum:
        raise ValueError(f"{op}: {what} must be at least {minimum}, got {v!r}")
    return pair


def _image_batch(x: Tensor, op: str) -> tuple[Tensor, bool]:
    """(N, C, H, W) as is, an unbatched (C, H, W) with a batch dim of 1 added."""
    shape = tuple(x._data.shape)
    if len(shape) == 4:
        return x, False
    if len(shape) == 3:
        return _F.reshape(x, (1,) + shape), True
    hint = ""
    if len(shape) == 2:
        side = math.isqrt(shape[1])
        hint = ("; for rows of flat pixels reshape them to (N, C, H, W) first"
                + (f", e.g. x.reshape(-1, 1, {side}, {side})" if side * side == shape[1] else ""))
    raise ValueError(
        f"{op}: expected a 4-D input (N, C, H, W) or a 3-D unbatched input (C, H, W), got "
        f"shape {shape}{hint}"
    )


def _same_float_dtype(x: Tensor, w: Tensor, op: str, what: str = "weight") -> None:
    if x._data.dtype.kind != "f":
        raise TypeError(f"{op}: expected a floating-point input, got {x.dtype} (shape "
                        f"{tuple(x.shape)}); convert it with x.float()")
    if x._data.dtype != w._data.dtype:
        raise TypeError(
            f"{op}: input dtype {x.dtype} does not match the {what} dtype {w.dtype}; convert "
            f"the input (x.to({w.dtype.name!r})) or the layer (.to({x.dtype.name!r}))"
        )


def _conv_padding(padding: Any, kernel: tuple[int, int], stride: tuple[int, int],
                  dilation: tuple[int, int], op: str) -> tuple[tuple[int, int], ...]:
    """((top, bottom), (left, right)) from an int, a pair, 'valid' or 'same'."""
    if isinstance(padding, str):
        if padding == "valid":
            return ((0, 0), (0, 0))
        if padding == "same":
            if stride != (1, 1):
                raise ValueError(f"{op}: padding='same' is not supported for strided "
                                 f"convolutions (stride={stride}); give the padding as numbers")
            # NOTE: as PyTorch: an odd total padding puts the extra row/column at the end.
            tot = [d * (k - 1) for k, d in zip(kernel, dilation)]
            return tuple((t // 2, t - t // 2) for t in tot)
        raise ValueError(f"{op}: padding must be 'valid', 'same', an int or a pair of ints, "
                         f"got {padding!r}")
    ph, pw = _int_pair(padding, "padding", op, 0)
    return ((ph, ph), (pw, pw))


def conv2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: Any = 1,
           padding: Any = 0, dilation: Any = 1, groups: int = 1) -> Tensor:
    """2-D convolution (a cross-correlation, as PyTorch): input (N, C, H, W) or (C, H, W),
    weight (O, C / groups, kH, kW), bias (O,); output (N, O, H', W') with
    y[n, o, p, q] = b[o] + sum_{c, i, j} xpad[n, c, p s + i d, q s + j d] w[o, c, i, j].

    ``padding`` is an int, a pair, 'valid' (none) or 'same' (output size = input size,
    stride 1 only). The result's memory is channels-last (NHWC), its shape NCHW.

    >>> import chainrule as cr
    >>> import chainrule.nn.functional as F
    >>> x = cr.arange(16.0).reshape(1, 1, 4, 4)
    >>> F.conv2d(x, cr.ones(1, 1, 2, 2), stride=2)
    tensor([[[[10., 18.],
              [42., 50.]]]])
    >>> F.conv2d(x, cr.ones(2, 1, 3, 3), padding="same").shape
    torch.Size([1, 2, 4, 4])
    """
    return _conv2d(input, weight, bias, stride, padding, dilation, groups, None)


def _conv2d(x: Any, w: Any, b: Any, stride: Any, padding: Any, dilation: Any, groups: Any,
            layer: str | None) -> Tensor:
    w = _tensor(w)
    op = layer or "conv2d"
    if w._data.ndim != 4:
        raise ValueError(f"{op}: weight must be 4-D (out_channels, in_channels / groups, kH, "
                         f"kW), got shape {tuple(w.shape)}")
    if not isinstance(x, (Tensor, ndarray)):
        x = _make(_to_array(x, w._data.dtype))  # Python data has no dtype: take the weight's
    x4, unbatched = _image_batch(_tensor(x), op)
    O, Cg, kh, kw = w._data.shape
    N, C, H, W = x4._data.shape
    if isinstance(groups, bool) or not isinstance(groups, int) or groups < 1:
        raise ValueError(f"{op}: groups must be a positive int, got {groups!r}")
    if O % groups or C % groups:
        what = (f"out_channels ({O}, weight shape {tuple(w.shape)})" if O % groups
                else f"the input's {C} channels (shape {tuple(x.shape)})")
        raise ValueError(f"{op}: {what} must be divisible by groups={groups}")
    if C != Cg * groups:
        g = f" with groups={groups}" if groups > 1 else ""
        hint = ""
        if x4._data.shape[3] == Cg * groups:
            hint = ("; the channels must be dim 1 (N, C, H, W): for channels-last images use "
                    "x.permute(0, 3, 1, 2)")
        raise ValueError(
            f"{op}: expected an input with {Cg * groups} channels (weight of shape "
            f"{tuple(w.shape)}{g}), got {C} channels: input of shape {tuple(x.shape)}{hint}"
        )
    _same_float_dtype(x4, w, op)
    s = _int_pair(stride, "stride", op, 1)
    d = _int_pair(dilation, "dilation", op, 1)
    pads = _conv_padding(padding, (kh, kw), s, d, op)
    padded = (H + sum(pads[0]), W + sum(pads[1]))
    extent = (d[0] * (kh - 1) + 1, d[1] * (kw - 1) + 1)
    if extent[0] > padded[0] or extent[1] > padded[1]:
        dil = f", {extent[0]}x{extent[1]} with dilation {d}" if d != (1, 1) else ""
        raise ValueError(
            f"{op}: the kernel ({kh}x{kw}{dil}) is larger than the padded input "
            f"({padded[0]}x{padded[1]}: the input's {H}x{W} plus padding {pads}); use a "
            "smaller kernel, more padding, or larger images"
        )
    if b is not None:
        b = _tensor(b)
        if b._data.shape != (O,):
            raise ValueError(f"{op}: bias must have shape ({O},), got {tuple(b.shape)}")
        _same_float_dtype(x4, b, op, "bias")
    node = _Conv2d(s, pads, d, groups)
    out = apply(node, x4, w) if b is None else apply(node, x4, w, b)
    return _F.reshape(out, out._data.shape[1:]) if unbatched else out


def _pool_args(op: str, x: Any, kernel_size: Any, stride: Any, padding: Any, dilation: Any,
               ceil_mode: bool) -> tuple[Tensor, bool, tuple, tuple, tuple, tuple]:
    if ceil_mode:
        raise NotImplementedError(f"{op}: ceil_mode=True is not supported; pad the input "
                                  "(padding=...) to cover the last partial window instead")
    x4, unbatched = _image_batch(_float_input(x, op), op)
    k = _int_pair(kernel_size, "kernel_size", op, 1)
    s = k if stride is None or (isinstance(stride, (tuple, list)) and not stride) else \
        _int_pair(stride, "stride", op, 1)
    p = _int_pair(padding, "padding", op, 0)
    d = _int_pair(dilation, "dilation", op, 1)
    for pi, ki, di in zip(p, k, d):
        if 2 * pi > di * (ki - 1) + 1:
            raise ValueError(f"{op}: padding must be at most half of the (dilated) kernel "
                             f"size, got padding={p}, kernel_size={k}, dilation={d}")
    H, W = x4._data.shape[2:]
    out = _conv_prims.out_size(H, k[0], s[0], p[0], p[0], d[0]), \
        _conv_prims.out_size(W, k[1], s[1], p[1], p[1], d[1])
    if min(out) < 1:
        raise ValueError(
            f"{op}: the input of shape {tuple(x4.shape)} is too small for a {k[0]}x{k[1]} "
            f"window (stride {s}, padding {p}, dilation {d}): the output would be "
            f"{out[0]}x{out[1]}; use a smaller kernel or more padding"
        )
    return x4, unbatched, k, s, p, d


def max_pool2d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0,
               dilation: Any = 1, ceil_mode: bool = False, return_indices: bool = False) -> Any:
    """The maximum of each kernel_size window (stride defaults to kernel_size), on
    (N, C, H, W) or (C, H, W); padding counts as -inf. The gradient goes to the first
    maximum of each window, as in PyTorch. With ``return_indices`` also the flat index
    (h * W + w) of each maximum in its input plane.

    >>> import chainrule as cr
    >>> import chainrule.nn.functional as F
    >>> F.max_pool2d(cr.arange(16.0).reshape(1, 1, 4, 4), 2)
    tensor([[[[ 5.,  7.],
              [13., 15.]]]])
    """
    x4, unbatched, k, s, p, d = _pool_args("max_pool2d", input, kernel_size, stride, padding,
                                           dilation, ceil_mode)
    node = _conv_prims.MaxPool2d(k, s, p, d)
    out = apply(node, x4)
    if unbatched:
        out = _F.reshape(out, out._data.shape[1:])
    if not return_indices:
        return out
    tap = node._index.astype(B.int64)
    Ho, Wo = tap.shape[2:]
    rows = (xp.arange(Ho) * s[0] - p[0])[:, None] + (tap // k[1]) * d[0]
    cols = (xp.arange(Wo) * s[1] - p[1]) + (tap % k[1]) * d[1]
    index = rows * x4._data.shape[3] + cols
    return out, _make(index[0] if unbatched else index)


def avg_pool2d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0,
               ceil_mode: bool = False, count_include_pad: bool = True,
               divisor_override: int | None = None) -> Tensor:
    """The mean of each kernel_size window (stride defaults to kernel_size), on (N, C, H, W)
    or (C, H, W); zero padding counts in the mean unless count_include_pad=False.

    >>> import chainrule as cr
    >>> import chainrule.nn.functional as F
    >>> F.avg_pool2d(cr.arange(16.0).reshape(1, 1, 4, 4), 2)
    tensor([[[[ 2.5000,  4.5000],
              [10.5000, 12.5000]]]])
    """
    x4, unbatched, k, s, p, _ = _pool_args("avg_pool2d", input, kernel_size, stride, padding,
                                           1, ceil_mode)
    divisor: Any
    if divisor_override is not None:
        if isinstance(divisor_override, bool) or not isinstance(divisor_override, int) \
                or divisor_override == 0:
            raise ValueError(f"avg_pool2d: divisor_override must be a non-zero int, got "
                             f"{divisor_override!r}")
        divisor = float(divisor_override)
    elif count_include_pad or p == (0, 0):
        divisor = float(k[0] * k[1])
    else:  # the number of real (not padding) elements in each window
        H, W = x4._data.shape[2:]
        Ho, Wo = _conv_prims.out_size(H, k[0], s[0], p[0], p[0], 1), \
            _conv_prims.out_size(W, k[1], s[1], p[1], p[1], 1)
        start_h, start_w = xp.arange(Ho) * s[0] - p[0], xp.arange(Wo) * s[1] - p[1]
        n_h = xp.minimum(start_h + k[0], H) - xp.maximum(start_h, 0)
        n_w = xp.minimum(start_w + k[1], W) - xp.maximum(start_w, 0)
        divisor = (n_h[:, None] * n_w[None, :]).astype(x4._data.dtype)
    out = apply(_conv_prims.AvgPool2d(k, s, p, divisor), x4)
    return _F.reshape(out, out._data.shape[1:]) if unbatched else out


def _update_running(r: Tensor, node: Any, slot: str, momentum: float,
                    factor: float | None) -> None:
    """r = m * stat + (1 - m) * r, in place (as PyTorch) and in float64, for the statistic
    ``slot`` the batch norm ``node`` kept (times ``factor``: the unbiased variance).
    A function of its own so that cr.compile can replay it."""
    stat = getattr(node, slot)
    if factor is not None:
        stat = stat * factor
    rd = r._data
    rd[...] = momentum * stat.astype(B.float64) + (1 - momentum) * rd.astype(B.float64)
    r._vc[0] += 1


def _count_batch(t: Tensor) -> None:
    """``num_batches_tracked += 1`` in place (a function so that cr.compile replays it)."""
    t._data += 1
    t._vc[0] += 1


def batch_norm(input: Tensor, running_mean: Tensor | None, running_var: Tensor | None,
               weight: Tensor | None = None, bias: Tensor | None = None,
               training: bool = False, momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """(x - mean) / sqrt(var + eps) * weight + bias per channel (dim 1) of (N, C, ...).

    In training, mean and var are the batch's (biased var), and the running estimates, when
    given, move towards them in place: r = (1 - momentum) r + momentum * stat, with the
    unbiased variance (as PyTorch). Otherwise the running estimates are used.

    >>> import chainrule as cr
    >>> import chainrule.nn.functional as F
    >>> x = cr.tensor([[1.0], [3.0]])
    >>> rm, rv = cr.zeros(1), cr.ones(1)
    >>> F.batch_norm(x, rm, rv, training=True)
    tensor([[-1.0000],
            [ 1.0000]])
    >>> rm, rv
    (tensor([0.2000]), tensor([1.1000]))
    """
    op = "batch_norm"
    x = _float_input(input, op)
    shape = tuple(x._data.shape)
    if len(shape) < 2:
        raise ValueError(f"{op}: expected an input of shape (N, C) or (N, C, ...), with the "
                         f"channels in dim 1, got shape {shape}")
    C = shape[1]
    for what, t in (("running_mean", running_mean), ("running_var", running_var),
                    ("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != (C,):
            raise ValueError(f"{op}: {what} must have shape ({C},) for an input with {C} "
                             f"channels (shape {shape}), got {tuple(t.shape)}")
    dt = x._data.dtype
    if training:
        M = x._data.size // C if C else 0
        if M <= 1:
            raise ValueError(
                f"{op}: expected more than 1 value per channel when training, got input of "
                f"shape {shape}; use a batch of at least 2, or call model.eval() to use the "
                "running statistics"
            )
        w = _tensor(weight) if weight is not None else _make(xp.ones(C, dt))
        b = _tensor(bias) if bias is not None else _make(xp.zeros(C, dt))
        _same_float_dtype(x, w, op)
        _same_float_dtype(x, b, op, "bias")
        node = _conv_prims.BatchNorm(float(eps))
        out = apply(node, x, w, b)
        for r, slot, factor in ((running_mean, "_mean", None), (running_var, "_var", M / (M - 1))):
            if r is not None:
                _update_running(r, node, slot, momentum, factor)
        return out
    if running_mean is None or running_var is None:
        raise ValueError(f"{op}: running_mean and running_var are needed when training=False "
                         "(they replace the batch statistics); pass them, or training=True")
    rm, rv = _tensor(running_mean), _tensor(running_var)
    bshape = (1, C) + (1,) * (len(shape) - 2)
    if rm._data.dtype != dt:
        rm = _F.cast(rm, dt)
    if rv._data.dtype != dt:
        rv = _F.cast(rv, dt)
    scale = _F.div(1.0, _F.sqrt(_F.add(rv, float(eps))))
    if weight is not None:
        scale = _F.mul(_tensor(weight), scale)
    shift = _F.neg(_F.mul(rm, scale))
    if bias is not None:
        shift = _F.add(_tensor(bias), shift)
    return _F.add(_F.mul(x, _F.reshape(scale, bshape)), _F.reshape(shift, bshape))


from .functional_attention import (  # noqa: E402  (issue 11: normalisation and attention)
    group_norm, layer_norm, multi_head_attention_forward, rms_norm, scaled_dot_product_attention)

__all__ += ["layer_norm", "group_norm", "rms_norm", "scaled_dot_product_attention",
            "multi_head_attention_forward"]

# NOTE: more functions (conv_transpose2d, adaptive pools, dropout2d, smooth_l1/huber) live in
# functional_extra.py; legacy.py rebinds the losses and softmaxes above with PyTorch's exact
# signatures (size_average/reduce in their positional places).
from .functional_extra import *  # noqa: E402,F401,F403
from .functional_extra import __all__ as _extra_all  # noqa: E402
from .legacy import *  # noqa: E402,F401,F403

__all__ += _extra_all

# A PyTorch name this module lacks: NotImplementedError (ImportError for `from ... import`),
# and so does a keyword argument its functions and classes do not take.
from ..core.compat import attribute_hook as _attribute_hook  # noqa: E402
from ..core.keywords import guard_module as _guard_module  # noqa: E402

__getattr__ = _attribute_hook(__name__)
_guard_module(__name__, 'torch.nn.functional')  # unknown keywords: NotImplementedError
