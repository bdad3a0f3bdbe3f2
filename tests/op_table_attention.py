"""The op-table rows' helpers for normalisation and attention (issue 11): the chainrule
functions (tests/op_table.py) and their PyTorch counterparts (tests/test_torch_oracle.py),
side by side, with the fixed masks both use."""

from __future__ import annotations

from math import prod
from typing import Any

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import chainrule as cr
from chainrule.core.graph import apply
from chainrule.core.primitives.norm import Softmax
from chainrule.nn import functional as NF

Shape = tuple[int, ...]

# ---------------------------------------------------------------------------------------------
# Fixed masks
# ---------------------------------------------------------------------------------------------


def allowed(shape: Shape) -> np.ndarray:
    """A bool (..., L, S) pattern: True = may attend; every row but the very last has at least
    one True, the last row of the last matrix has none (a query that sees no key)."""
    a = np.asarray(np.arange(prod(shape)).reshape(shape) % 3 != 1)
    a[..., 0] |= ~a.any(-1)
    if shape[-2] > 1 or len(shape) > 2:
        a.reshape(-1, shape[-1])[-1] = False
    return a


def neg_inf_bias(shape: Shape) -> np.ndarray:
    return np.where(allowed(shape), 0.0, -np.inf)


def padding(n: int, s: int) -> np.ndarray:
    """A (N, S) key padding mask (True = padding): the last key of every other sequence, never
    all keys of a sequence."""
    m = np.zeros((n, s), bool)
    if s > 1:
        m[::2, -1] = True
    return m


# ---------------------------------------------------------------------------------------------
# chainrule
# ---------------------------------------------------------------------------------------------


def softmax_prim(x: Any) -> Any:
    return apply(Softmax(), x)


def softmax_masked(x: Any) -> Any:
    return apply(Softmax(), x + cr.tensor(neg_inf_bias(tuple(x.shape)).astype(x.dtype)))


def sdpa_bool(q: Any, k: Any, v: Any) -> Any:
    m = cr.tensor(allowed((q.shape[-2], k.shape[-2])))
    return NF.scaled_dot_product_attention(q, k, v, attn_mask=m)


def mha_self(x: Any, w_in: Any, b_in: Any, w_out: Any, b_out: Any) -> Any:
    L, N, E = x.shape
    return NF.multi_head_attention_forward(
        x, x, x, E, 2, w_in, b_in, None, None, False, 0.0, w_out, b_out,
        key_padding_mask=cr.tensor(padding(N, L)))


def _cross_mask(N: int, L: int, S: int) -> np.ndarray:
    return np.linspace(-1.0, 1.0, N * 2 * L * S).reshape(N * 2, L, S)


def mha_cross(q: Any, k: Any, v: Any, wq: Any, wk: Any, wv: Any, b_in: Any, w_out: Any,
              bias_k: Any, bias_v: Any) -> Any:
    L, N, E = q.shape
    mask = cr.tensor(_cross_mask(N, L, k.shape[0]).astype(q.dtype))
    return NF.multi_head_attention_forward(
        q, k, v, E, 2, None, b_in, bias_k, bias_v, True, 0.0, w_out, None, attn_mask=mask,
        use_separate_proj_weight=True, q_proj_weight=wq, k_proj_weight=wk, v_proj_weight=wv,
        average_attn_weights=False)


# ---------------------------------------------------------------------------------------------
# PyTorch
# ---------------------------------------------------------------------------------------------


def torch_counterparts() -> dict[str, Any]:
    import torch

    tF = torch.nn.functional

    def softmax_masked_t(x: Any) -> Any:
        # torch.softmax gives nan for an all -inf row: mask that row's bias, zero its output
        bias = neg_inf_bias(tuple(x.shape))
        seen = allowed(tuple(x.shape)).any(-1, keepdims=True)
        bias = torch.from_numpy(np.where(seen, bias, 0.0)).to(x.dtype)
        return torch.softmax(x + bias, -1) * torch.from_numpy(seen).to(x.dtype)

    def sdpa_bool_t(q: Any, k: Any, v: Any) -> Any:
        m = torch.from_numpy(allowed((q.shape[-2], k.shape[-2])))
        return tF.scaled_dot_product_attention(q, k, v, attn_mask=m)

    def mha_self_t(x: Any, w_in: Any, b_in: Any, w_out: Any, b_out: Any) -> Any:
        L, N, E = x.shape
        return tF.multi_head_attention_forward(
            x, x, x, E, 2, w_in, b_in, None, None, False, 0.0, w_out, b_out,
            key_padding_mask=torch.from_numpy(padding(N, L)))

    def mha_cross_t(q: Any, k: Any, v: Any, wq: Any, wk: Any, wv: Any, b_in: Any, w_out: Any,
                    bias_k: Any, bias_v: Any) -> Any:
        L, N, E = q.shape
        mask = torch.from_numpy(_cross_mask(N, L, k.shape[0])).to(q.dtype)
        return tF.multi_head_attention_forward(
            q, k, v, E, 2, None, b_in, bias_k, bias_v, True, 0.0, w_out, None,
            attn_mask=mask, use_separate_proj_weight=True, q_proj_weight=wq,
            k_proj_weight=wk, v_proj_weight=wv, average_attn_weights=False)

    return {
        "softmax_primitive": lambda x: torch.softmax(x, -1),
        "softmax_masked_rows": softmax_masked_t,
        "layer_norm": lambda x, w, b: tF.layer_norm(x, tuple(w.shape), w, b),
        "layer_norm_2d_no_affine": lambda x: tF.layer_norm(x, tuple(x.shape[-2:]), eps=0.1),
        "group_norm": lambda x, w, b: tF.group_norm(x, 2, w, b),
        "rms_norm": lambda x, w: tF.rms_norm(x, tuple(w.shape), w),
        "sdpa": tF.scaled_dot_product_attention,
        "sdpa_causal_scale": lambda q, k, v: tF.scaled_dot_product_attention(
            q, k, v, is_causal=True, scale=0.7),
        "sdpa_float_mask": lambda q, k, v, m: tF.scaled_dot_product_attention(
            q, k, v, attn_mask=m),
        "sdpa_bool_mask": sdpa_bool_t,
        "mha_self_padding": mha_self_t,
        "mha_cross_kdim_bias_kv": mha_cross_t,
    }


# ---------------------------------------------------------------------------------------------
# Shapes
# ---------------------------------------------------------------------------------------------


def trailing_affine(n_params: int) -> st.SearchStrategy[tuple[Shape, ...]]:
    """(x, w[, b]): w and b of x's last dim (>= 2)."""
    def build(s: Shape) -> tuple[Shape, ...]:
        s = s[:-1] + (max(s[-1], 2),)
        return (s,) + ((s[-1],),) * n_params

    return hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=3).map(build)
