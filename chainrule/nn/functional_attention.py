"""Normalisation and attention as functions, with PyTorch's semantics: ``layer_norm``,
``group_norm``, ``rms_norm``, ``scaled_dot_product_attention`` and
``multi_head_attention_forward`` (what ``nn.MultiheadAttention`` runs).

Imported into :mod:`chainrule.nn.functional`, so ``F.layer_norm`` etc. are the names to use.
"""

from __future__ import annotations

import math
from typing import Any

from .. import backend as B
from ..backend import xp
from ..core import functional as _F
from ..core.graph import apply
from ..core.primitives.norm import LayerNorm as _LayerNorm
from ..core.primitives.norm import Softmax as _Softmax
from ..core.tensor import Tensor, _make
from .functional import _float_input, _same_float_dtype, _tensor, dropout, linear

__all__ = ["layer_norm", "group_norm", "rms_norm", "scaled_dot_product_attention",
           "multi_head_attention_forward"]


# ---------------------------------------------------------------------------------------------
# Normalisation
# ---------------------------------------------------------------------------------------------


def normalized_shape_arg(normalized_shape: Any, op: str) -> tuple[int, ...]:
    """``normalized_shape`` (an int or a sequence of ints) as a tuple."""
    if isinstance(normalized_shape, int) and not isinstance(normalized_shape, bool):
        return (normalized_shape,)
    try:
        shape = tuple(int(s) for s in normalized_shape)
    except (TypeError, ValueError):
        raise TypeError(f"{op}: normalized_shape must be an int or a sequence of ints, got "
                        f"{normalized_shape!r}") from None
    if not shape or any(s < 0 for s in shape):
        raise ValueError(f"{op}: normalized_shape must be non-empty and non-negative, got "
                         f"{shape}")
    return shape


def _trailing(x: Tensor, shape: tuple[int, ...], op: str) -> tuple[int, ...]:
    """The axes normalised over; the input's trailing dims must be ``shape``."""
    xs = tuple(x._data.shape)
    k = len(shape)
    if len(xs) < k or xs[len(xs) - k:] != shape:
        star = ", ".join(map(str, shape))
        raise ValueError(
            f"{op}: given normalized_shape={list(shape)}, expected an input with shape "
            f"[*, {star}], but got input of shape {list(xs)}; the normalised dims must be the "
            "last ones (permute the input, or build the layer with its trailing shape)")
    return tuple(range(len(xs) - k, len(xs)))


def _affine_param(t: Any, shape: tuple[int, ...], x: Tensor, what: str, op: str,
                  why: str = "the normalized shape") -> Tensor:
    t = _tensor(t)
    if tuple(t._data.shape) != shape:
        raise ValueError(f"{op}: {what} must have shape {shape} ({why}), got "
                         f"{tuple(t._data.shape)} for an input of shape {tuple(x._data.shape)}")
    _same_float_dtype(x, t, op, what)
    return t


def layer_norm(input: Tensor, normalized_shape: Any, weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    """(x - mean) / sqrt(var + eps) * weight + bias over the last ``len(normalized_shape)``
    dims (biased variance), as ``torch.nn.functional.layer_norm``.

    >>> import chainrule as cr
    >>> import chainrule.nn.functional as F
    >>> F.layer_norm(cr.tensor([[1.0, 3.0], [2.0, 2.0]]), (2,))
    tensor([[-1.0000,  1.0000],
            [ 0.0000,  0.0000]])
    """
    op = "layer_norm"
    x = _float_input(input, op)
    shape = normalized_shape_arg(normalized_shape, op)
    axes = _trailing(x, shape, op)
    w = _affine_param(weight, shape, x, "weight", op) if weight is not None else None
    b = _affine_param(bias, shape, x, "bias", op) if bias is not None else None
    if x._data.size == 0:
        return _F.mul(x, 1.0)
    y = apply(_LayerNorm(len(axes), float(eps)), x)
    # NOTE: the affine part stays two broadcasting primitives (mul, add): their gradients for
    # weight and bias are the engine's sums over the leading dims, nothing to fuse.
    if w is not None:
        y = _F.mul(y, w)
    if b is not None:
        y = _F.add(y, b)
    return y


def group_norm(input: Tensor, num_groups: int, weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    """Normalise (N, C, *) over each group of C / num_groups channels and the spatial dims,
    then scale and shift per channel, as ``torch.nn.functional.group_norm``.

    >>> import chainrule as cr
    >>> import chainrule.nn.functional as F
    >>> F.group_norm(cr.tensor([[1.0, 3.0, 4.0, 6.0]]), 2, eps=0.0)
    tensor([[-1.,  1., -1.,  1.]])
    """
    op = "group_norm"
    x = _float_input(input, op)
    xs = tuple(x._data.shape)
    if len(xs) < 2:
        raise ValueError(f"{op}: expected an input of shape (N, C, *) with at least 2 dims, "
                         f"got shape {xs}")
    if not isinstance(num_groups, int) or isinstance(num_groups, bool) or num_groups <= 0:
        raise ValueError(f"{op}: num_groups must be a positive int, got {num_groups!r}")
    N, C = xs[0], xs[1]
    if C % num_groups:
        raise ValueError(f"{op}: expected the number of channels of the input (dim 1, {C} in "
                         f"shape {xs}) to be divisible by num_groups={num_groups}")
    why = "one per channel of the input, dim 1"
    w = _affine_param(weight, (C,), x, "weight", op, why) if weight is not None else None
    b = _affine_param(bias, (C,), x, "bias", op, why) if bias is not None else None
    if x._data.size == 0:
        return _F.mul(x, 1.0)
    grouped = _F.reshape(x, (N, num_groups, -1))
    y = _F.reshape(apply(_LayerNorm(1, float(eps)), grouped), xs)
    per_channel = (C,) + (1,) * (len(xs) - 2)
    if w is not None:
        y = _F.mul(y, _F.reshape(w, per_channel))
    if b is not None:
        y = _F.add(y, _F.reshape(b, per_channel))
    return y


def rms_norm(input: Tensor, normalized_shape: Any, weight: Tensor | None = None,
             eps: float | None = None) -> Tensor:
    """x / sqrt(mean(x^2) + eps) * weight over the last ``len(normalized_shape)`` dims, as
    ``torch.nn.functional.rms_norm``; ``eps=None`` is the machine epsilon of x's dtype.

    >>> import chainrule as cr
    >>> import chainrule.nn.functional as F
    >>> F.rms_norm(cr.tensor([[3.0, 4.0]]), [2], eps=0.0)
    tensor([[0.8485, 1.1314]])
    """
    op = "rms_norm"
    x = _float_input(input, op)
    shape = normalized_shape_arg(normalized_shape, op)
    axes = _trailing(x, shape, op)
    w = _affine_param(weight, shape, x, "weight", op) if weight is not None else None
    if eps is None:
        eps = float(xp.finfo(x._data.dtype).eps)
    # NOTE: a composite (square, mean, add, sqrt, div, mul): RMSNorm is rare in the programs
    # this library runs, and its six recorded ops are elementwise and cheap.
    ms = _F.mean(_F.mul(x, x), axes, keepdim=True)
    y = _F.div(x, _F.sqrt(_F.add(ms, float(eps))))
    return _F.mul(y, w) if w is not None else y


# ---------------------------------------------------------------------------------------------
# Attention
# ---------------------------------------------------------------------------------------------


def _mask_bias(mask: Any, x: Tensor, op: str, what: str, keep_when: bool) -> Tensor:
    """A bool or float mask as an additive float bias: 0 where attention is allowed, -inf
    where not (``keep_when`` is the bool value that allows); a float mask is added as is."""
    m = _tensor(mask)
    dt = m._data.dtype
    if dt == B.bool_:
        allow = m._data if keep_when else ~m._data
        return _make(xp.where(allow, 0.0, -math.inf).astype(x._data.dtype))
    if dt.kind != "f":
        raise TypeError(f"{op}: {what} must be a bool or floating-point tensor, got {m.dtype} "
                        f"(shape {tuple(m._data.shape)}); use a bool mask (True = "
                        f"{'take part' if keep_when else 'masked out'})")
    if dt != x._data.dtype:
        raise TypeError(f"{op}: a float {what} must have the query's dtype {x.dtype}, got "
                        f"{m.dtype}; convert it (mask.to({x.dtype.name!r})) or use a bool mask")
    return m


def _softmax_rows(s: Tensor) -> Tensor:
    """softmax over the last dim as one primitive; rows that are all -inf give zeros."""
    return apply(_Softmax(), s)


def attention(q: Tensor, k: Tensor, v: Tensor, bias: Tensor | None, dropout_p: float,
              scale: float, training: bool = True) -> tuple[Tensor, Tensor]:
    """softmax(q k^T * scale + bias) v, and the attention weights (after dropout)."""
    # NOTE: q is scaled before the product (L*E multiplications instead of L*S).
    s = _F.matmul(_F.mul(q, scale), _F.transpose(k, -2, -1))
    if bias is not None:
        s = _F.add(s, bias)
    p = _softmax_rows(s)
    if dropout_p > 0.0 and training:
        p = dropout(p, dropout_p)
    return _F.matmul(p, v), p


def _check_qkv(q: Tensor, k: Tensor, v: Tensor, enable_gqa: bool, op: str) -> tuple[Tensor, Tensor]:
    qs, ks, vs = (tuple(t._data.shape) for t in (q, k, v))
    if len(qs) < 2 or len(ks) < 2 or len(vs) < 2:
        raise ValueError(f"{op}: query, key and value need at least 2 dims (..., L or S, E), "
                         f"got shapes {qs}, {ks}, {vs}")
    if ks[-1] != qs[-1]:
        raise ValueError(f"{op}: key's last dim must equal query's (the embedding size E), got "
                         f"query {qs} and key {ks}")
    if ks[-2] != vs[-2] or ks[:-2] != vs[:-2]:
        raise ValueError(f"{op}: key and value must have the same batch dims and sequence "
                         f"length S, got key {ks} and value {vs}")
    for t in (k, v):
        if t._data.dtype != q._data.dtype:
            raise TypeError(f"{op}: query, key and value must have the same dtype, got "
                            f"{q.dtype}, {k.dtype}, {v.dtype}")
    if enable_gqa and len(qs) >= 3 and ks[-3] != qs[-3]:
        if qs[-3] % ks[-3]:
            raise ValueError(f"{op}: with enable_gqa the query's heads (dim -3, {qs[-3]}) must "
                             f"be a multiple of the key's ({ks[-3]})")
        r = qs[-3] // ks[-3]
        idx = xp.repeat(xp.arange(ks[-3]), r)
        k = _F.getitem(k, (Ellipsis, _make(idx), slice(None), slice(None)))
        v = _F.getitem(v, (Ellipsis, _make(idx), slice(None), slice(None)))
    try:
        xp.broadcast_shapes(qs[:-2], tuple(k._data.shape[:-2]))
    except ValueError:
        raise ValueError(f"{op}: the batch dims of query {qs} and key {ks} do not broadcast"
                         + ("; for fewer key/value heads than query heads pass enable_gqa=True"
                            if len(qs) >= 3 and len(ks) >= 3 and not enable_gqa else "")
                         ) from None
    return k, v


def scaled_dot_product_attention(query: Tensor, key: Tensor, value: Tensor,
                                 attn_mask: Tensor | None = None, dropout_p: float = 0.0,
                                 is_causal: bool = False, scale: float | None = None,
                                 enable_gqa: bool = False) -> Tensor:
    """softmax(Q K^T * scale + mask) V over (..., L, E), (..., S, E), (..., S, Ev) inputs.

    ``attn_mask``: bool (True = takes part) or float (added to the scores), broadcastable to
    (..., L, S). ``is_causal``: query i sees keys j <= i (not with ``attn_mask``: PyTorch's
    reference raises, its fused CPU kernel combines the two). ``scale`` defaults to
    1 / sqrt(E). A query that sees no key gets zeros (PyTorch's CPU kernel does the same).
    ``dropout_p`` drops attention weights (always: this function has no training flag, as in
    PyTorch).

    >>> import chainrule as cr
    >>> import chainrule.nn.functional as F
    >>> q = cr.tensor([[[1.0, 0.0], [0.0, 1.0]]])
    >>> F.scaled_dot_product_attention(q, q, q, is_causal=True)
    tensor([[[1.0000, 0.0000],
             [0.3302, 0.6698]]])
    """
    op = "scaled_dot_product_attention"
    q = _float_input(query, op, "query")
    k, v = _check_qkv(q, _tensor(key), _tensor(value), enable_gqa, op)
    if not isinstance(dropout_p, (int, float)) or not 0.0 <= dropout_p <= 1.0:
        raise ValueError(f"{op}: dropout_p must be a probability in [0, 1], got {dropout_p!r}")
    L, S = q._data.shape[-2], k._data.shape[-2]
    bias = None
    if attn_mask is not None and is_causal:
        raise ValueError(f"{op}: an explicit attn_mask should not be set when is_causal=True; "
                         "fold the causal pattern into the mask, or drop the mask")
    if attn_mask is not None:
        bias = _mask_bias(attn_mask, q, op, "attn_mask", keep_when=True)
        bs = tuple(bias._data.shape)
        try:
            xp.broadcast_shapes(bs, q._data.shape[:-2] + (L, S))
        except ValueError:
            raise ValueError(f"{op}: attn_mask of shape {bs} does not broadcast to the scores' "
                             f"shape {q._data.shape[:-2] + (L, S)} (..., L, S) for query "
                             f"{tuple(q._data.shape)} and key {tuple(k._data.shape)}") from None
    if is_causal:
        bias = _make(xp.where(xp.tri(L, S, dtype=bool), 0.0, -math.inf).astype(q._data.dtype))
    sc = 1.0 / math.sqrt(q._data.shape[-1]) if scale is None else float(scale)
    return attention(q, k, v, bias, float(dropout_p), sc)[0]


# ---------------------------------------------------------------------------------------------
# Multi-head attention
# ---------------------------------------------------------------------------------------------


def _shape_check(q: Tensor, k: Tensor, v: Tensor, kpm: Any, attn_mask: Any, H: int,
                 op: str) -> bool:
    """PyTorch's _mha_shape_check: whether the inputs are batched (3-D) or not (2-D)."""
    qd, kd, vd = q._data.ndim, k._data.ndim, v._data.ndim
    if qd not in (2, 3):
        raise ValueError(f"{op}: query should be an unbatched 2-D (L, E) or batched 3-D tensor, "
                         f"got shape {tuple(q._data.shape)}")
    if kd != qd or vd != qd:
        raise ValueError(f"{op}: for a {qd}-D query, key and value must be {qd}-D too, got "
                         f"key {tuple(k._data.shape)} and value {tuple(v._data.shape)}")
    if kpm is not None and _tensor(kpm)._data.ndim != qd - 1:
        raise ValueError(f"{op}: for a {qd}-D query, key_padding_mask must be {qd - 1}-D "
                         f"({'(N, S)' if qd == 3 else '(S,)'}), got shape "
                         f"{tuple(_tensor(kpm)._data.shape)}")
    if attn_mask is not None:
        md = _tensor(attn_mask)._data.ndim
        if md not in (2, 3):
            raise ValueError(f"{op}: attn_mask must be 2-D (L, S) or 3-D (N * num_heads, L, S),"
                             f" got shape {tuple(_tensor(attn_mask)._data.shape)}")
        if qd == 2 and md == 3 and _tensor(attn_mask)._data.shape[0] != H:
            raise ValueError(f"{op}: for an unbatched query a 3-D attn_mask must be "
                             f"(num_heads={H}, L, S), got shape "
                             f"{tuple(_tensor(attn_mask)._data.shape)}")
    return qd == 3


def _in_projection(q: Tensor, k: Tensor, v: Tensor, weights: tuple[Any, Any, Any],
                   bias: Any, E: int, op: str) -> tuple[Tensor, Tensor, Tensor]:
    """q W_q^T + b_q, k W_k^T + b_k, v W_v^T + b_v (bias: the packed (3E,) vector)."""
    bs = (None, None, None) if bias is None else (
        _F.getitem(bias, slice(0, E)), _F.getitem(bias, slice(E, 2 * E)),
        _F.getitem(bias, slice(2 * E, 3 * E)))
    out = []
    for x, w, b, what in zip((q, k, v), weights, bs, ("query", "key", "value")):
        wd = tuple(_tensor(w)._data.shape)
        if x._data.shape[-1] != wd[1]:
            raise ValueError(f"{op}: expected {what} with {wd[1]} features in its last dim, got "
                             f"shape {tuple(x._data.shape)}")
        out.append(linear(x, w, b))
    return out[0], out[1], out[2]


def _pad_last(t: Tensor | None) -> Tensor | None:
    """An additive mask with one more (zero: allowed) column for an appended key."""
    if t is None:
        return None
    return _F.cat([t, _make(xp.zeros(t._data.shape[:-1] + (1,), t._data.dtype))], -1)


def _heads(x: Tensor, N: int, H: int) -> Tensor:
    """(N, L, E) -> (N, H, L, E / H)."""
    return _F.permute(_F.reshape(x, (N, x._data.shape[1], H, -1)), (0, 2, 1, 3))


def _mask_for(attn_mask: Any, kpm: Any, q: Tensor, N: int, H: int, L: int, S: int,
              op: str) -> tuple[Tensor | None, Tensor | None]:
    """The attention mask as an additive (N or 1, H or 1, L, S) bias, and the key padding mask
    as an additive (N, 1, 1, S) bias; shapes checked as PyTorch does."""
    am = None
    if attn_mask is not None:
        am = _mask_bias(attn_mask, q, op, "attn_mask", keep_when=False)
        ms = tuple(am._data.shape)
        if len(ms) == 2 and ms != (L, S):
            raise ValueError(f"{op}: the shape of the 2-D attn_mask is {ms}, but should be "
                             f"(L, S) = {(L, S)} for a query of length {L} and a key of "
                             f"length {S}")
        if len(ms) == 3 and ms != (N * H, L, S):
            raise ValueError(f"{op}: the shape of the 3-D attn_mask is {ms}, but should be "
                             f"(N * num_heads, L, S) = {(N * H, L, S)}")
        am = _F.reshape(am, (1, 1, L, S) if len(ms) == 2 else (N, H, L, S))
    pm = None
    if kpm is not None:
        pm = _mask_bias(kpm, q, op, "key_padding_mask", keep_when=False)
        if tuple(pm._data.shape) != (N, S):
            raise ValueError(f"{op}: expected key_padding_mask of shape (N, S) = {(N, S)}, but "
                             f"got {tuple(pm._data.shape)}")
        pm = _F.reshape(pm, (N, 1, 1, S))
    return am, pm


def multi_head_attention_forward(
        query: Tensor, key: Tensor, value: Tensor, embed_dim_to_check: int, num_heads: int,
        in_proj_weight: Tensor | None, in_proj_bias: Tensor | None, bias_k: Tensor | None,
        bias_v: Tensor | None, add_zero_attn: bool, dropout_p: float, out_proj_weight: Tensor,
        out_proj_bias: Tensor | None, training: bool = True, key_padding_mask: Any = None,
        need_weights: bool = True, attn_mask: Any = None, use_separate_proj_weight: bool = False,
        q_proj_weight: Tensor | None = None, k_proj_weight: Tensor | None = None,
        v_proj_weight: Tensor | None = None, static_k: Tensor | None = None,
        static_v: Tensor | None = None, average_attn_weights: bool = True,
        is_causal: bool = False, *, batch_first: bool = False,
        layer: str = "multi_head_attention_forward") -> tuple[Tensor, Tensor | None]:
    """PyTorch's multi-head attention on (L, N, E) inputs ((N, L, E) with the keyword-only
    ``batch_first=True``, (L, E) unbatched); returns (output, weights or None).

    Masks: ``attn_mask`` (L, S) or (N * num_heads, L, S), ``key_padding_mask`` (N, S); a
    bool mask is True where attention is NOT allowed, a float mask is added to the scores.
    ``is_causal`` is only a hint in PyTorch (it needs ``attn_mask``, which is what is used).
    NOTE: a query that sees no key gets zeros (PyTorch: zeros with need_weights=False, nan
    with need_weights=True).
    """
    op = layer
    q, k, v = _float_input(query, op, "query"), _tensor(key), _tensor(value)
    batched = _shape_check(q, k, v, key_padding_mask, attn_mask, num_heads, op)
    if is_causal and attn_mask is None:
        raise ValueError(f"{op}: is_causal=True is a hint that needs attn_mask (the causal "
                         "mask itself); make one with "
                         "nn.Transformer.generate_square_subsequent_mask(L)")
    if not batched:
        q, k, v = (_F.unsqueeze(t, 0) for t in (q, k, v))
        if key_padding_mask is not None:
            key_padding_mask = _F.unsqueeze(_tensor(key_padding_mask), 0)
    elif not batch_first:
        q, k, v = (_F.transpose(t, 0, 1) for t in (q, k, v))
    N, L, E = q._data.shape
    if E != embed_dim_to_check:
        raise ValueError(f"{op}: expected query with embedding size (last dim) "
                         f"{embed_dim_to_check}, got shape {tuple(query.shape)}")
    H = num_heads
    if E % H:
        raise ValueError(f"{op}: embed_dim {E} is not divisible by num_heads {H}")
    if k._data.shape[0] != N or v._data.shape[:2] != k._data.shape[:2]:
        raise ValueError(f"{op}: key and value must have the query's batch size {N} and the "
                         f"same length, got key {tuple(key.shape)} and value "
                         f"{tuple(value.shape)} for query {tuple(query.shape)}")
    if use_separate_proj_weight:
        ws = (q_proj_weight, k_proj_weight, v_proj_weight)
    else:
        if in_proj_weight is None:
            raise ValueError(f"{op}: in_proj_weight is needed unless use_separate_proj_weight")
        ws = (_F.getitem(in_proj_weight, slice(0, E)),
              _F.getitem(in_proj_weight, slice(E, 2 * E)),
              _F.getitem(in_proj_weight, slice(2 * E, 3 * E)))
    q, k, v = _in_projection(q, k, v, ws, in_proj_bias, E, op)
    S = k._data.shape[1]
    am, pm = _mask_for(attn_mask, key_padding_mask, q, N, H, L,
                       static_k.shape[1] if static_k is not None else S, op)
    if bias_k is not None and bias_v is not None:
        if static_k is not None or static_v is not None:
            raise ValueError(f"{op}: bias_k/bias_v cannot be combined with static_k/static_v")
        k = _F.cat([k, _F.expand(_F.reshape(bias_k, (1, 1, E)), N, 1, E)], 1)
        v = _F.cat([v, _F.expand(_F.reshape(bias_v, (1, 1, E)), N, 1, E)], 1)
        am, pm = _pad_last(am), _pad_last(pm)
    qh, kh, vh = _heads(q, N, H), _heads(k, N, H), _heads(v, N, H)
    hd = E // H
    for what, st in (("static_k", static_k), ("static_v", static_v)):
        if st is not None:
            if tuple(st.shape)[0] != N * H or tuple(st.shape)[2] != hd:
                raise ValueError(f"{op}: expected {what} of shape (N * num_heads, S, head_dim) "
                                 f"= ({N * H}, S, {hd}), got {tuple(st.shape)}")
            t = _F.reshape(_tensor(st), (N, H, -1, hd))
            kh, vh = (t, vh) if what == "static_k" else (kh, t)
    if add_zero_attn:
        zeros = _make(xp.zeros((N, H, 1, hd), q._data.dtype))
        kh, vh = _F.cat([kh, zeros], 2), _F.cat([vh, zeros], 2)
        am, pm = _pad_last(am), _pad_last(pm)
    bias = am if pm is None else (pm if am is None else _F.add(am, pm))
    out, weights = attention(qh, kh, vh, bias, float(dropout_p), 1.0 / math.sqrt(hd), training)
    out = linear(_F.reshape(_F.permute(out, (0, 2, 1, 3)), (N, L, E)), out_proj_weight,
                 out_proj_bias)
    if not batched:
        out = _F.squeeze(out, 0)
    elif not batch_first:
        out = _F.transpose(out, 0, 1)
    if not need_weights:
        return out, None
    if average_attn_weights:
        weights = _F.mean(weights, 1)
    return out, (_F.squeeze(weights, 0) if not batched else weights)
