"""PyTorch as an oracle: every op-table row against the same op in torch, in float64.

For each row, on the same inputs: forward values, first-order gradients (for random output
cotangents) and, where the row is twice differentiable, second-order gradients (the gradient
of <first-order gradients, random weights> with respect to the inputs) must agree to ~1e-10
relative. A second group pins behaviour at kinks and special values (ties, 0, +-inf), where
finite differences say nothing and PyTorch's conventions are the reference.
"""

from __future__ import annotations

import warnings
from typing import Any, Callable

import numpy as np
import pytest
from hypothesis import find, given, note, settings
from hypothesis import strategies as st
from op_table import (
    ADV_INDEX,
    CLAMP_HI,
    CLAMP_LO,
    CONV_INPUT_GRAD,
    CONV_WEIGHT_GRAD,
    POOL_OVERLAP,
    RECURRENT_ROWS,
    WEIGHT_GRAD_KERNEL,
    NEG_INDEX,
    NONZERO,
    ROWS,
    Row,
    checker,
    conv_in_hw,
    expanded,
    gather_index,
    known_bug,
    pool_in_shape,
    pool_ref,
    running_stats,
    runnable,
    sample_id,
    setitem_adv,
    setitem_row0,
    summed_to,
    write_diagonal,
    write_view,
)

import op_table

import chainrule as cr

torch = pytest.importorskip("torch")
from op_table_attention import torch_counterparts  # noqa: E402
tF = torch.nn.functional

RTOL = 1e-10
ATOL = 1e-12  # times the largest magnitude in the reference: for values that cancel to ~0


def _b(mask: np.ndarray) -> Any:
    return torch.from_numpy(mask)


def _i(index: Any) -> Any:
    return torch.as_tensor(np.asarray(index), dtype=torch.int64)


def _reverse(x: Any) -> tuple[int, ...]:
    return tuple(range(x.ndim - 1, -1, -1))


def _t_setitem_mask(x: Any) -> Any:
    y = x * 1.0
    y[_b(checker(tuple(x.shape)))] = 0.25
    return y


def _t_setitem_into_zeros(x: Any) -> Any:
    y = torch.zeros((x.shape[0] + 1,) + tuple(x.shape[1:]), dtype=x.dtype)
    y[1:] = x * 2.0
    return y


def _t_index_put_slice(x: Any, v: Any) -> Any:
    y = x.clone()
    y[1:] = v
    return y


def _t_index_add_zeros(g: Any, index: Any, shape: tuple[int, ...]) -> Any:
    return torch.zeros(shape, dtype=g.dtype).index_put((index,), g, accumulate=True)


def _shape(x: Any) -> tuple[int, ...]:
    return tuple(x.shape)


def _torch_pads(geom: Any) -> tuple[int, int]:
    (pt, pb), (pl, pr) = geom[1]
    assert pt == pb and pl == pr, "torch's conv2d pads symmetrically"
    return pt, pl


def _t_conv_input_grad(g: Any, w: Any) -> Any:
    """The gradient of conv2d with respect to its input (linear in it: any input will do),
    kept differentiable in g and w."""
    stride, _, dil, groups = CONV_INPUT_GRAD
    in_hw = conv_in_hw(_shape(g)[2:], _shape(w)[2:], CONV_INPUT_GRAD)
    z = torch.zeros((g.shape[0], w.shape[1] * groups) + in_hw, dtype=g.dtype,
                    requires_grad=True)
    y = tF.conv2d(z, w, None, stride, _torch_pads(CONV_INPUT_GRAD), dil, groups)
    return torch.autograd.grad(y, z, g, create_graph=True)[0]


def _t_conv_weight_grad(x: Any, g: Any) -> Any:
    stride, _, dil, groups = CONV_WEIGHT_GRAD
    w = torch.zeros((g.shape[1], x.shape[1] // groups) + WEIGHT_GRAD_KERNEL, dtype=x.dtype,
                    requires_grad=True)
    y = tF.conv2d(x, w, None, stride, _torch_pads(CONV_WEIGHT_GRAD), dil, groups)
    return torch.autograd.grad(y, w, g, create_graph=True)[0]


def _t_pool_grad(g: Any, pool: str) -> Any:
    """max/avg_pool2d's input gradient at op_table.pool_ref, differentiable in g."""
    kernel, stride, pad, dil = POOL_OVERLAP
    ref = torch.tensor(pool_ref(pool_in_shape(_shape(g), POOL_OVERLAP)), dtype=g.dtype,
                       requires_grad=True)
    y = tF.max_pool2d(ref, kernel, stride, pad, dil) if pool == "max" else \
        tF.avg_pool2d(ref, kernel, stride, pad)
    return torch.autograd.grad(y, ref, g, create_graph=True)[0]


def _t_bn_eval(x: Any, w: Any, b: Any) -> Any:
    rm, rv = running_stats(x.shape[1])
    return tF.batch_norm(x, torch.tensor(rm), torch.tensor(rv), w, b, training=False, eps=1e-3)


def _t_recurrent(mode: str, reverse: bool, sizes: Any, xi: Any, whh: Any, bhh: Any,
                 s0: Any) -> Any:
    T, B, GH = xi.shape
    H = whh.shape[1]
    eye = torch.eye(GH, dtype=xi.dtype)
    cell = {"lstm": torch.lstm_cell, "gru": torch.gru_cell, "rnn_tanh": torch.rnn_tanh_cell,
            "rnn_relu": torch.rnn_relu_cell}[mode]
    h, c = s0[:, :H], s0[:, H:]
    outs: list[Any] = [None] * T
    steps = list(zip(range(T), sizes or (B,) * T))
    for t, n in (reversed(steps) if reverse else steps):
        if mode == "lstm":
            hn, cn = cell(xi[t, :n], (h[:n], c[:n]), eye, whh, None, bhh)
            h, c = torch.cat([hn, h[n:]]), torch.cat([cn, c[n:]])
            outs[t] = torch.cat([h, c], 1)
        else:
            h = torch.cat([cell(xi[t, :n], h[:n], eye, whh, None, bhh), h[n:]])
            outs[t] = h
    return torch.stack(outs)


# The torch equivalent of each row (same inputs, same outputs).
TORCH: dict[str, Callable[..., Any]] = {
    "add": lambda a, b: a + b,
    "add_alpha": lambda a, b: torch.add(a, b, alpha=-2.5),
    "sub": lambda a, b: a - b,
    "sub_alpha": lambda a, b: torch.sub(a, b, alpha=0.5),
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b,
    "sigmoid_grad": lambda g, s: torch.ops.aten.sigmoid_backward(g, s),
    "tanh_grad": lambda g, t: torch.ops.aten.tanh_backward(g, t),
    # NOTE: torch.pow's second derivative in (a, b) is wrong at b == 0 (its d/da formula is
    # masked to 0 there, which loses d2/da db = 1/a); exp(b log a) is the same function for a > 0
    "pow": lambda a, b: torch.exp(b * torch.log(a)),
    "maximum": torch.maximum,
    "minimum": torch.minimum,
    "max_binary": torch.max,
    "min_binary": lambda a, b: a.min(b),
    "maximum_ties": torch.maximum,
    "where": lambda a, b: torch.where(_b(checker(_shape(a), _shape(b))), a, b),
    "where_compare": lambda a, b: torch.where(a > b, a - b, b * b),
    "clamp_tensor_min": lambda x, lo: torch.clamp(x, min=lo),
    # torch.clamp does not broadcast x up to the bounds' shape: expand it first
    "clamp_tensor_bounds": lambda x, lo, hi: torch.clamp(
        x.expand(torch.broadcast_shapes(x.shape, lo.shape, hi.shape)), lo, hi),
    "where_3_broadcast": lambda c, a, b: torch.where(c > 0.5, a, b) * c,
    "rsub_scalar": lambda x: 2.0 - x,
    "rdiv_scalar": lambda x: 1.5 / x,
    "mul_scalar": lambda x: x * 2.5,
    "pow_int": lambda x: x ** 3,
    "pow_half": lambda x: x ** 0.5,
    "pow_scalar_base": lambda x: 2.0 ** x,
    "pow_zero_base": lambda b: torch.pow(torch.zeros_like(b), b),
    "pow_zero_exponent": lambda x: x ** 0,
    "pow_zero_exponent_at_zero": lambda x: x ** 0,
    "pow_one_at_zero": lambda x: x ** 1,
    "neg": torch.neg,
    "neg_operator": lambda x: -x,
    "exp": torch.exp,
    "log": torch.log,
    "log1p": torch.log1p,
    "sqrt": torch.sqrt,
    "sin": torch.sin,
    "cos": torch.cos,
    "tanh": torch.tanh,
    "sigmoid": torch.sigmoid,
    "sigmoid_wide": torch.sigmoid,
    "relu": torch.relu,
    "abs": torch.abs,
    "abs_builtin": abs,
    "cast": lambda x: x.to(torch.float64),
    "clone": torch.clone,
    "square": torch.square,
    "softplus": tF.softplus,
    "softplus_at_zero": tF.softplus,
    "softplus_beta_threshold": lambda x: tF.softplus(x, beta=2.0, threshold=1.0),
    "softplus_wide": tF.softplus,
    "clamp": lambda x: torch.clamp(x, CLAMP_LO, CLAMP_HI),
    "clamp_min": lambda x: x.clamp(min=CLAMP_LO),
    "clip_max": lambda x: torch.clip(x, max=CLAMP_HI),
    "where_scalar": lambda x: torch.where(x > 0, x, 0.0),
    "masked_fill": lambda x: x.masked_fill(_b(checker(_shape(x))), -0.5),
    "sum_all": lambda x: x.sum(),
    "sum_all_keepdim": lambda x: torch.sum(x, dim=None, keepdim=True),
    "sum_dim": lambda x: torch.sum(x, dim=-1),
    "sum_dim_keepdim": lambda x: x.sum(dim=0, keepdim=True),
    "sum_dims": lambda x: x.sum(dim=(0, -1)),
    "sum_dtype": lambda x: torch.sum(x, dim=0, dtype=torch.float64),
    "mean_all": lambda x: x.mean(),
    "mean_dim": lambda x: torch.mean(x, dim=-1),
    "mean_dims_keepdim": lambda x: x.mean(dim=(0, -1), keepdim=True),
    "var_all": lambda x: x.var(),
    "var_dim": lambda x: torch.var(x, dim=-1),
    "var_biased": lambda x: x.var(dim=0, unbiased=False),
    "var_correction": lambda x: torch.var(x, dim=(0, -1), correction=2, keepdim=True),
    "std_all": lambda x: x.std(),
    "std_dim_keepdim": lambda x: torch.std(x, dim=-1, keepdim=True),
    "std_biased": lambda x: x.std(dim=0, unbiased=False),
    "std_constant": lambda x: x.std(),
    "amax_all": lambda x: x.amax(),
    "amax_dim": lambda x: torch.amax(x, dim=-1),
    "amax_dims_keepdim": lambda x: x.amax(dim=(0, -1), keepdim=True),
    "amax_ties": lambda a, b: torch.amax(torch.stack([a, b]), dim=0),
    "amin_all": torch.amin,
    "amin_dim_keepdim": lambda x: x.amin(dim=0, keepdim=True),
    "max_all": lambda x: x.max(),
    "max_dim": lambda x: torch.max(x, dim=-1),
    "max_dim_keepdim": lambda x: x.max(dim=0, keepdim=True),
    "min_all": torch.min,
    "min_dim": lambda x: x.min(dim=-1),
    "prod_all": lambda x: x.prod(),
    "prod_dim": lambda x: torch.prod(x, dim=-1),
    "prod_dim_keepdim": lambda x: x.prod(dim=0, keepdim=True),
    "prod_zeros_all": lambda x: x.prod(),
    "prod_zeros_dim": lambda x: torch.prod(x, dim=-1),
    "logsumexp_dim": lambda x: torch.logsumexp(x, dim=-1),
    "logsumexp_keepdim": lambda x: x.logsumexp(dim=0, keepdim=True),
    "logsumexp_dims": lambda x: torch.logsumexp(x, dim=(0, -1)),
    "logsumexp_large": lambda x: torch.logsumexp(x, dim=-1),
    "softmax_last": lambda x: torch.softmax(x, dim=-1),
    "softmax_first": lambda x: x.softmax(dim=0),
    "softmax_implicit_dim": lambda x: tF.softmax(x, dim=None),  # legacy implicit dim
    "softmax_large": lambda x: torch.softmax(x, dim=-1),
    "log_softmax_last": lambda x: torch.log_softmax(x, dim=-1),
    "log_softmax_first": lambda x: x.log_softmax(dim=0),
    "log_softmax_large": lambda x: torch.log_softmax(x, dim=-1),
    "reshape_flat": lambda x: x.reshape(-1),
    "reshape_reversed": lambda x: torch.reshape(x, tuple(reversed(x.shape)) + (1,)),
    "view": lambda x: x.view(1, *x.shape),
    "flatten": torch.flatten,
    "flatten_start1": lambda x: x.flatten(1),
    "permute_reverse": lambda x: x.permute(_reverse(x)),
    "permute_cycle": lambda x: torch.permute(x, tuple(range(1, x.ndim)) + (0,)),
    "transpose": lambda x: torch.transpose(x, 0, -1),
    "t": lambda x: x.t(),
    "T": lambda x: x.permute(_reverse(x)),  # torch's x.T is deprecated for ndim != 2
    "mT": lambda x: x.mT,
    "squeeze_all": lambda x: x.squeeze(),
    "squeeze_dim": lambda x: torch.squeeze(x, -1),
    "unsqueeze_first": lambda x: x.unsqueeze(0),
    "unsqueeze_last": lambda x: torch.unsqueeze(x, -1),
    "expand": lambda x: x.expand(2, *[3 if s == 1 else -1 for s in x.shape]),
    "expand_as": lambda x: x.expand_as(torch.zeros(expanded(_shape(x)))),
    "broadcast_to": lambda x: torch.broadcast_to(x, expanded(_shape(x))),
    "sum_to": lambda x: x.sum_to_size(summed_to(_shape(x))).reshape(summed_to(_shape(x))),
    "cat_dim0": lambda a, b: torch.cat([a, b]),
    "cat_last3": lambda a, b, c: torch.cat([a, b, c], dim=-1),
    "cat_with_constant": lambda a: torch.cat(
        [torch.ones((1,) + _shape(a)[1:], dtype=a.dtype), a, a], 0),
    "stack0": lambda a, b: torch.stack([a, b]),
    "stack_last": lambda a, b: torch.stack((a, b), dim=-1),
    "split_size": lambda x: x.split(2),
    "split_sections": lambda x: torch.split(x, [1, x.shape[-1] - 1], dim=-1),
    "chunk": lambda x: x.chunk(2, dim=-1),
    "flip": lambda x: torch.flip(x, (0,)),
    "flip_dims": lambda x: x.flip((0, -1)),
    "gather_last": lambda x: x.gather(-1, _i(gather_index(_shape(x), -1))),
    "gather_first": lambda x: torch.take_along_dim(x, _i(gather_index(_shape(x), 0)), 0),
    "getitem_int": lambda x: x[0],
    "getitem_negint": lambda x: x[-1],
    "getitem_slice": lambda x: x[1:],
    "getitem_step": lambda x: x[::2],
    "getitem_negstep": lambda x: x.flip(0),  # torch has no negative steps
    "getitem_2d_slice": lambda x: x[:, 1:],
    "getitem_none_ellipsis": lambda x: x[None, ..., None],
    "getitem_ellipsis_int": lambda x: x[..., 0],
    "getitem_empty_tuple": lambda x: x[()],
    "getitem_list": lambda x: x[ADV_INDEX],
    "getitem_tensor_index": lambda x: x[_i(NEG_INDEX)],
    "getitem_0d_tensor": lambda x: x[_i(0)],
    "getitem_two_arrays": lambda x: x[[0, 1, 1], [1, 0, 1]],
    "getitem_mixed": lambda x: x[:, [1, 0, 1]],
    "getitem_separated_arrays": lambda x: x[[0, 1], :, [1, 0]],
    "getitem_bool_mask": lambda x: x[_b(checker(_shape(x)))],
    "getitem_0d_bool": lambda x: x[torch.tensor(True)],
    "getitem_bool_rows": lambda x: x[_b(np.array([True, False, True]))],
    "index_add_zeros_adv": lambda g: _t_index_add_zeros(g, _i(ADV_INDEX), (3,) + _shape(g)[1:]),
    "index_add_zeros_basic": lambda g: torch.cat([torch.zeros_like(g[:1]), g]),
    "index_put_slice": _t_index_put_slice,
    "index_put_adv": lambda x, v: x.index_put((_i([2, 0]),), v),
    "index_put_repeated": lambda x, v: x.index_put((_i([0, 0]),), v),
    "setitem_row": setitem_row0,
    "setitem_adv": setitem_adv,
    "setitem_mask_constant": _t_setitem_mask,
    "setitem_into_constant": _t_setitem_into_zeros,
    # the in-place rows are method-only code: the same callables run on torch tensors
    **{r.name: r.fn for r in ROWS if r.kind == "inplace"},
    "matmul_2d": lambda a, b: a @ b,
    "matmul_batched": torch.matmul,
    "matmul_vec_vec": torch.matmul,
    "matmul_vec_mat": lambda a, b: a @ b,
    "matmul_mat_vec": torch.matmul,
    "mm": lambda a, b: a.mm(b),
    "dot": torch.dot,
    "conv2d": lambda x, w, b: tF.conv2d(x, w, b, padding=1),
    "conv2d_strided_dilated": lambda x, w: tF.conv2d(x, w, stride=(2, 1), padding=(1, 0),
                                                     dilation=(1, 2)),
    "conv2d_groups_same": lambda x, w, b: tF.conv2d(x, w, b, padding="same", groups=2),
    "conv2d_input_grad": _t_conv_input_grad,
    "conv2d_weight_grad": _t_conv_weight_grad,
    "max_pool2d": lambda x: tF.max_pool2d(x, 2),
    "max_pool2d_overlap_pad": lambda x: tF.max_pool2d(x, 3, 2, 1),
    "max_pool2d_dilated": lambda x: tF.max_pool2d(x, 2, (1, 2), (1, 0), (2, 1)),
    "max_pool2d_grad": lambda g: _t_pool_grad(g, "max"),
    "avg_pool2d": lambda x: tF.avg_pool2d(x, 2),
    "avg_pool2d_pad_exclude": lambda x: tF.avg_pool2d(x, 3, 2, 1, count_include_pad=False),
    "avg_pool2d_grad": lambda g: _t_pool_grad(g, "avg"),
    "batch_norm_train": lambda x, w, b: tF.batch_norm(x, None, None, w, b, training=True),
    "batch_norm_train_no_affine": lambda x: tF.batch_norm(x, None, None, training=True,
                                                          eps=0.1),
    "batch_norm_eval": _t_bn_eval,
    # -- recurrent layers (issue 11, branch rnn11): torch's own cells, fed xi through an
    # identity input weight (exact), so the gate order and formulas are PyTorch's
    **{f"recurrent_{mode}{tag}": (lambda m, r, s: lambda *a: _t_recurrent(m, r, s, *a))(
        mode, rev, sizes) for mode, rev, sizes, tag in RECURRENT_ROWS},
    # -- special functions (issue 15) --
    "erf": torch.erf,
    "erf_wide": torch.erf,
    "erfc": torch.erfc,
    "erfc_tail": torch.special.erfc,
    "erfinv": torch.erfinv,
    "expm1": torch.expm1,
    "exp2": torch.special.exp2,
    "ndtr": torch.special.ndtr,
    "expit": torch.special.expit,
    "logit": torch.logit,
    "logit_eps": lambda x: torch.logit(x, eps=0.2),
    "xlogy": torch.xlogy,
    "xlog1py": torch.special.xlog1py,
    "xlogy_zero_x": lambda a, b: torch.xlogy(a * 0.0, b) + a,
    # -- views (issue 15) --
    "diagonal": lambda x: x.diagonal(),
    "diagonal_offset": lambda x: torch.diagonal(x, 1, -1, 0),
    "diag_embed": torch.diag_embed,
    "copy_slices": write_view,
    "copy_slices_diagonal": write_diagonal,
    "select": lambda x: torch.select(x, 0, -1),
    "unbind": lambda x: torch.stack(x.unbind(-1)[::-1], 0),
    "swapaxes": lambda x: torch.swapaxes(x, 0, -1),
    "contiguous": lambda x: x.transpose(0, -1).contiguous() * 1.5,
}
# issue 11: normalisation and attention (their torch functions live beside the rows' helpers)
TORCH.update(torch_counterparts())

# -- surface10: the PyTorch-surface rows (tests/op_table.py, the block at the end of ROWS) ------


def _t_masked_fill_inplace(x: Any) -> Any:
    y = x * 1.0
    y.masked_fill_(_b(checker(_shape(x))), 0.5)
    return y


TORCH.update({
    "sort_descending": lambda x: torch.sort(x, -1, descending=True).values,
    "topk_first_dim": lambda x: x.topk(1, 0).values,
    "norm_fro": lambda x: x.norm(),
    "norm_p1": lambda x: torch.norm(x, 1),
    "norm_p3_dim_keepdim": lambda x: torch.norm(x, 3, -1, True),
    "narrow_last": lambda x: x.narrow(-1, x.shape[-1] - 1, 1),
    "tril": torch.tril,
    "triu_above": lambda x: x.triu(1),
    "take_along_dim_broadcast":
        lambda x: torch.take_along_dim(x, _i(op_table.take_index(_shape(x))), -1),
    "take_along_dim_flat": lambda x: torch.take_along_dim(x, _i([0, 0])),
    "unsqueeze_inplace": op_table.inplace(lambda y: y.unsqueeze_(0), 1),
    "masked_fill_inplace": _t_masked_fill_inplace,
    "conv_transpose2d": lambda x, w, b: tF.conv_transpose2d(x, w, b, stride=2, padding=1,
                                                            output_padding=1),
    "conv_transpose2d_groups_dilated": lambda x, w: tF.conv_transpose2d(x, w, None, 1, 0, 0, 2,
                                                                        2),
    "adaptive_avg_pool2d": lambda x: tF.adaptive_avg_pool2d(x, (2, 3)),
    "adaptive_max_pool2d": lambda x: tF.adaptive_max_pool2d(x, (3, 2)),
    "smooth_l1_loss": lambda a, b: tF.smooth_l1_loss(a, b, reduction="none", beta=0.5),
    "huber_loss": lambda a, b: tF.huber_loss(a, b, delta=0.7),
})
# -- end surface10 ------------------------------------------------------------------------------

# Rows with no torch counterpart, and why.
SKIPPED: dict[str, str] = {}

# Rows whose second-order gradients are not compared, and why.
FIRST_ORDER_ONLY: dict[str, str] = {
    "pow_zero_base": ("torch's second derivative of 0**b in b is nan (0 * inf); chainrule gives "
                      "0, the limit of 0**b log(0)**2 for b > 0"),
}

TORCH_ROWS = [r for r in ROWS if r.name in TORCH and runnable(r)]
SAMPLE_EXAMPLES = 2

# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------


def _tensors(res: Any) -> list[Any]:
    """The tensors of a result (a tensor or a tuple of them, e.g. split or max(dim))."""
    return [res] if not isinstance(res, (tuple, list)) else list(res)


def _floating(ts: list[Any]) -> list[Any]:
    return [t for t in ts if t.is_floating_point()]


def _np(t: Any) -> np.ndarray:
    if isinstance(t, cr.Tensor):
        return t.detach().numpy()
    return t.detach().numpy(force=True)  # force: torch may hand back a lazy ZeroTensor


def assert_close(actual: Any, expected: Any, what: str) -> None:
    a, e = _np(actual), _np(expected)
    assert a.shape == e.shape, f"{what}: shape {a.shape}, torch {e.shape}"
    finite = e[np.isfinite(e)]
    scale = max(1.0, float(np.abs(finite).max())) if finite.size else 1.0
    np.testing.assert_allclose(a, e, rtol=RTOL, atol=ATOL * scale, err_msg=what)


def _cr_grad(outs: list[Any], xs: list[Any], vs: list[Any], create_graph: bool) -> list[Any]:
    live = [(o, v) for o, v in zip(outs, vs) if o.requires_grad]
    if not live:
        return [cr.zeros(x.shape, dtype=x.dtype) for x in xs]
    gs = cr.autograd.grad([o for o, _ in live], xs, grad_outputs=[v for _, v in live],
                          create_graph=create_graph, allow_unused=True,
                          materialize_grads=True)
    return list(gs)


def _torch_grad(outs: list[Any], xs: list[Any], vs: list[Any], create_graph: bool) -> list[Any]:
    live = [(o, v) for o, v in zip(outs, vs) if o.requires_grad]
    if not live:
        return [torch.zeros_like(x) for x in xs]
    gs = torch.autograd.grad([o for o, _ in live], xs, grad_outputs=[v for _, v in live],
                             create_graph=create_graph, allow_unused=True,
                             materialize_grads=True)
    return list(gs)


def compare_with_torch(row: Row, arrays: tuple[np.ndarray, ...],
                       draw: Callable[[tuple[int, ...]], np.ndarray]) -> None:
    """Values, gradients and (where twice differentiable) second-order gradients; ``draw``
    gives the random cotangents and weights, an array of the shape asked."""
    cx = [cr.tensor(a, requires_grad=True) for a in arrays]
    tx = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays]
    c_res = _tensors(row.fn(*cx))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # implicit softmax dim, x.T, ...
        t_res = _tensors(TORCH[row.name](*tx))
    assert len(c_res) == len(t_res), f"{len(c_res)} outputs, torch {len(t_res)}"
    for i, (c, t) in enumerate(zip(c_res, t_res)):
        assert c.is_floating_point() == t.is_floating_point(), f"output {i}: dtype kind"
        assert_close(c, t, f"output {i}")
    c_outs, t_outs = _floating(c_res), _floating(t_res)
    vs = [draw(tuple(o.shape)) for o in c_outs]
    twice = row.twice_differentiable and row.name not in FIRST_ORDER_ONLY
    cg = _cr_grad(c_outs, cx, [cr.tensor(v) for v in vs], twice)
    tg = _torch_grad(t_outs, tx, [torch.tensor(v) for v in vs], twice)
    for i, (c, t) in enumerate(zip(cg, tg)):
        assert_close(c, t, f"gradient of input {i}")
    if not twice:
        return
    ws = [draw(tuple(x.shape)) for x in cx]
    c2 = _cr_grad(cg, cx, [cr.tensor(w) for w in ws], False)
    t2 = _torch_grad(tg, tx, [torch.tensor(w) for w in ws], False)
    for i, (c, t) in enumerate(zip(c2, t2)):
        assert_close(c, t, f"second-order gradient of input {i}")


def _draw(data: st.DataObject) -> Callable[[tuple[int, ...]], np.ndarray]:
    # NONZERO: all-zero cotangents (hypothesis' favourite) would make every gradient 0
    return lambda shape: data.draw(NONZERO(shape), label="cotangent")


# ---------------------------------------------------------------------------------------------
# Tests over the table
# ---------------------------------------------------------------------------------------------


def test_every_row_has_a_torch_counterpart_or_a_reason() -> None:
    names = {r.name for r in ROWS}
    assert not set(TORCH) & set(SKIPPED), "a row is both mapped and skipped"
    assert names == set(TORCH) | set(SKIPPED), (
        f"rows without a torch mapping: {sorted(names - set(TORCH) - set(SKIPPED))}; "
        f"mappings without a row: {sorted(set(TORCH) | set(SKIPPED) - names)}"
    )


# Rows where PyTorch's answer is not the reference: chainrule's is checked by finite
# differences in tests/test_ops.py instead.
TORCH_DIFFERS = {
    "index_put_repeated": "PyTorch gives every write to a repeated index a gradient (its docs "
                          "call the case undefined); only the write that lands affects the "
                          "output, and chainrule's gradient says so",
}


def _sample_params() -> list[Any]:
    return [
        pytest.param(r, shapes, id=f"{r.name}-{sample_id(shapes)}")
        for r in TORCH_ROWS for shapes in r.samples
        if not known_bug(r.name, shapes, "torch") and r.name not in TORCH_DIFFERS
    ]


@pytest.mark.parametrize(("row", "shapes"), _sample_params())
@settings(max_examples=SAMPLE_EXAMPLES)
@given(data=st.data())
def test_matches_torch_on_samples(row: Row, shapes: Any, data: st.DataObject) -> None:
    compare_with_torch(row, data.draw(row.values(shapes), label="values"), _draw(data))


@pytest.mark.parametrize(
    "row", [pytest.param(r, id=r.name) for r in TORCH_ROWS
            if r.generated is not None and not known_bug(r.name, None, "torch")])
@settings(max_examples=5)
@given(data=st.data())
def test_matches_torch_on_generated_shapes(row: Row, data: st.DataObject) -> None:
    assert row.generated is not None
    shapes = data.draw(row.generated.filter(lambda s: not known_bug(row.name, s, "*")),
                       label="shapes")
    note(f"shapes={shapes}")
    compare_with_torch(row, data.draw(row.values(shapes), label="values"), _draw(data))


def _bug_params() -> list[Any]:
    return [
        pytest.param(r, shapes, id=f"{r.name}-{sample_id(shapes)}",
                     marks=pytest.mark.xfail(strict=True, reason=reason))
        for r in ROWS if r.name in TORCH for shapes in r.samples
        if (reason := known_bug(r.name, shapes, "torch"))
    ]


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize(("row", "shapes"), _bug_params())
def test_known_bug_against_torch(row: Row, shapes: Any) -> None:
    """A known bug (op_table.KNOWN_BUGS), on the simplest input of the row's domain."""
    arrays = find(row.values(shapes), lambda _: True)
    rng = np.random.default_rng(0)
    try:
        compare_with_torch(row, arrays, lambda shape: rng.uniform(-2.0, 2.0, shape))
    except Exception as e:  # a short report: the full traceback costs more than the test
        raise AssertionError(f"{type(e).__name__}: {e}") from None


# ---------------------------------------------------------------------------------------------
# Kinks and special values: PyTorch's conventions are the reference
# ---------------------------------------------------------------------------------------------

INF = float("inf")

# name -> (chainrule fn, torch fn, inputs); the loss is the plain sum of the output
SPECIAL: dict[str, tuple[Callable, Callable, list[list[float]]]] = {
    "relu_at_0": (cr.relu, torch.relu, [[0.0, -1.0, 2.0]]),
    "abs_at_0": (cr.abs, torch.abs, [[0.0, -1.0, 2.0]]),
    "clamp_at_bounds": (lambda x: x.clamp(-0.5, 0.7), lambda x: x.clamp(-0.5, 0.7),
                        [[-0.5, 0.7, 0.0]]),
    "clamp_min_above_max": (lambda x: x.clamp(1.0, -1.0), lambda x: x.clamp(1.0, -1.0),
                            [[0.0, 2.0, -2.0]]),
    "maximum_ties": (cr.maximum, torch.maximum, [[1.0, 2.0, 3.0], [1.0, 2.0, 0.0]]),
    "minimum_ties": (cr.minimum, torch.minimum, [[1.0, 2.0, 3.0], [1.0, 2.0, 0.0]]),
    "amax_three_way_tie": (lambda x: x.amax(dim=-1), lambda x: x.amax(dim=-1),
                           [[[1.0, 1.0, 1.0, 0.0], [2.0, 0.0, 2.0, 1.0]]]),
    "max_all_three_way_tie": (lambda x: x.max(), lambda x: x.max(), [[1.0, 1.0, 1.0, 0.0]]),
    "max_dim_tie_picks_first": (lambda x: x.max(dim=0), lambda x: x.max(dim=0),
                                [[1.0, 1.0, 0.0]]),
    "sqrt_at_0": (cr.sqrt, torch.sqrt, [[0.0, 4.0]]),
    "log_at_0": (cr.log, torch.log, [[0.0, 1.0]]),
    "pow_2_at_0": (lambda x: x ** 2, lambda x: x ** 2, [[0.0, -1.5]]),
    "pow_0_at_0": (lambda x: x ** 0, lambda x: x ** 0, [[0.0, 2.0]]),
    "pow_exponent_grad_at_0_base": (lambda a, b: a ** b, lambda a, b: a ** b,
                                    [[0.0, 0.0, 2.0], [0.5, 2.0, 0.5]]),
    "sigmoid_saturated": (cr.sigmoid, torch.sigmoid, [[-1e4, 1e4, -800.0, 40.0]]),
    "tanh_saturated": (cr.tanh, torch.tanh, [[-1e4, 1e4]]),
    "softplus_at_0": (cr.softplus, tF.softplus, [[0.0, 1.0]]),
    "softplus_saturated": (cr.softplus, tF.softplus, [[-1e4, 1e4, 25.0]]),
    "softplus_at_threshold": (lambda x: cr.softplus(x, beta=2.0, threshold=1.0),
                              lambda x: tF.softplus(x, beta=2.0, threshold=1.0),
                              [[0.5, 0.5 + 1e-9, 0.5 - 1e-9]]),
    "softmax_with_minus_inf": (lambda x: cr.softmax(x, dim=-1), lambda x: torch.softmax(x, -1),
                               [[0.0, -INF, 1.0]]),
    "log_softmax_with_minus_inf": (lambda x: cr.log_softmax(x, dim=-1)[..., [0, 2]],
                                   lambda x: torch.log_softmax(x, -1)[..., [0, 2]],
                                   [[0.0, -INF, 1.0]]),
    "logsumexp_with_minus_inf": (lambda x: cr.logsumexp(x, dim=-1),
                                 lambda x: torch.logsumexp(x, -1), [[0.0, -INF, 1.0]]),
    "logsumexp_large": (lambda x: cr.logsumexp(x, dim=-1), lambda x: torch.logsumexp(x, -1),
                        [[1000.0, 1000.0, 0.0]]),
    "std_of_constant": (lambda x: x.std(), lambda x: x.std(), [[0.75, 0.75, 0.75]]),
    "div_tiny_denominator": (lambda a, b: a / b, lambda a, b: a / b, [[1e-300], [1e-300]]),
    "div_huge_denominator": (lambda a, b: a / b, lambda a, b: a / b, [[1e200], [1e200]]),
    "prod_two_zeros": (lambda x: x.prod(), lambda x: x.prod(), [[0.0, 0.0, 2.0]]),
    "empty_sum": (lambda x: x.sum(), lambda x: x.sum(), [[]]),
    "empty_matmul": (lambda a, b: a @ b, lambda a, b: a @ b,
                     [np.zeros((2, 0)).tolist(), np.zeros((0, 3)).tolist()]),
    "empty_index": (lambda x: x[[]], lambda x: x[[]], [[1.0, 2.0]]),
}
SPECIAL_BUGS: dict[str, str] = {}  # name -> reason, for special values chainrule gets wrong


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("name", [
    pytest.param(n, marks=[pytest.mark.xfail(strict=True, reason=SPECIAL_BUGS[n])]
                 if n in SPECIAL_BUGS else []) for n in SPECIAL])
def test_special_values_match_torch(name: str) -> None:
    fc, ft, inputs = SPECIAL[name]
    arrays = [np.asarray(a, dtype=np.float64) for a in inputs]
    cx = [cr.tensor(a, requires_grad=True) for a in arrays]
    tx = [torch.tensor(a, requires_grad=True) for a in arrays]
    c_res, t_res = _tensors(fc(*cx)), _tensors(ft(*tx))
    try:
        assert len(c_res) == len(t_res)
        for i, (c, t) in enumerate(zip(c_res, t_res)):
            np.testing.assert_allclose(_np(c), _np(t), rtol=RTOL, atol=0,
                                       err_msg=f"{name}: output {i}")
        c_loss = sum(o.sum() for o in _floating(c_res))
        t_loss = sum(o.sum() for o in _floating(t_res))
        cg = cr.autograd.grad(c_loss, cx, allow_unused=True, materialize_grads=True)
        tg = torch.autograd.grad(t_loss, tx, allow_unused=True, materialize_grads=True)
        for i, (c, t) in enumerate(zip(cg, tg)):
            np.testing.assert_allclose(_np(c), _np(t), rtol=RTOL, atol=0,
                                       err_msg=f"{name}: gradient of input {i}")
    except AssertionError as e:  # a short report
        raise AssertionError(str(e)) from None
