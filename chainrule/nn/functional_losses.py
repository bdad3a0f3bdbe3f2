"""Regression and classification losses of ``nn.functional`` (and ``one_hot``)."""

from __future__ import annotations

import math
from typing import Any

from .. import backend as B
from ..backend import ndarray, xp
from ..core import functional as _F
from ..core.dtypes import dtype_name
from ..core.tensor import Tensor, _make, _to_array
from .functional_base import (_REDUCTIONS, _arange, _check_reduction, _float_input, _reduce,
                              _same_shape_target, _tensor)


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
            f"{probs}, got {dtype_name(t.dtype)} of shape {tuple(t.shape)}; convert labels with "
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
    tensor(0.3000)
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
        raise TypeError(f"one_hot: expects an integer tensor of class indices, got "
                        f"{dtype_name(t.dtype)}; "
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
