"""nn.MultiheadAttention and F.scaled_dot_product_attention against PyTorch (float64): a
PyTorch state dict loads and gives the same outputs, attention weights and gradients for every
option and every kind of mask; bad input gets errors that name the layer and the shapes."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import nn

torch = pytest.importorskip("torch")

TOL = dict(rtol=1e-10, atol=1e-12)


def load(ours, theirs):
    """Copy a torch module's state dict into ours (strict: the names must match)."""
    ours.load_state_dict({k: cr.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()})
    return ours


def close(a, b, what=""):
    a = a.detach().numpy() if hasattr(a, "detach") and not isinstance(a, cr.Tensor) else a
    b = b.detach().numpy() if isinstance(b, cr.Tensor) else b
    a = a.detach().numpy() if isinstance(a, cr.Tensor) else a
    np.testing.assert_allclose(b, a, err_msg=what, **TOL)


def run_both(tm, cm, inputs, **kw):
    """Run torch and chainrule on the same float64 inputs; backprop sum(out^2) (+ weights);
    compare outputs, weights, input gradients and parameter gradients."""
    tx = [torch.tensor(a, requires_grad=True) for a in inputs]
    cx = [cr.tensor(a, requires_grad=True) for a in inputs]
    tkw = {k: (torch.from_numpy(v) if isinstance(v, np.ndarray) else v) for k, v in kw.items()}
    ckw = {k: (cr.tensor(v) if isinstance(v, np.ndarray) else v) for k, v in kw.items()}
    tout, cout = tm(*tx, **tkw), cm(*cx, **ckw)
    touts = tout if isinstance(tout, tuple) else (tout,)
    couts = cout if isinstance(cout, tuple) else (cout,)
    tl, cl = 0, 0
    for i, (t, c) in enumerate(zip(touts, couts)):
        assert (t is None) == (c is None), f"output {i}"
        if t is None:
            continue
        assert tuple(t.shape) == tuple(c.shape), f"output {i}: {tuple(t.shape)} {c.shape}"
        close(t, c, f"output {i}")
        w = np.linspace(-1, 1, c.detach().numpy().size).reshape(c.shape)
        tl = tl + (t * torch.from_numpy(w)).sum()
        cl = cl + (c * cr.tensor(w)).sum()
    tl.backward()
    cl.backward()
    for i, (t, c) in enumerate(zip(tx, cx)):
        close(t.grad, c.grad, f"gradient of input {i}")
    cparams = dict(cm.named_parameters())
    for name, p in tm.named_parameters():
        if p.grad is not None:
            close(p.grad, cparams[name].grad, f"gradient of {name}")
    return couts


def mha_pair(*args, **kwargs):
    torch.manual_seed(0)
    tm = torch.nn.MultiheadAttention(*args, **kwargs).double()
    cm = nn.MultiheadAttention(*args, **kwargs).double()
    return tm, load(cm, tm)


rng = np.random.default_rng(0)


def randn(*shape):
    return rng.standard_normal(shape)


# ---------------------------------------------------------------------------------------------
# MultiheadAttention
# ---------------------------------------------------------------------------------------------


def test_parameters_have_pytorchs_names_shapes_and_init():
    cm = nn.MultiheadAttention(8, 2)
    tm = torch.nn.MultiheadAttention(8, 2)
    assert [(k, tuple(v.shape)) for k, v in cm.state_dict().items()] == \
        [(k, tuple(v.shape)) for k, v in tm.state_dict().items()]
    assert (cm.in_proj_bias.detach().numpy() == 0).all()
    assert (cm.out_proj.bias.detach().numpy() == 0).all()
    bound = np.sqrt(6 / (8 + 24))  # xavier_uniform_ on (3E, E)
    assert np.abs(cm.in_proj_weight.detach().numpy()).max() <= bound
    assert np.abs(cm.in_proj_weight.detach().numpy()).max() > 0.8 * bound
    sep = nn.MultiheadAttention(8, 2, kdim=3, vdim=5, add_bias_kv=True, bias=False)
    tsep = torch.nn.MultiheadAttention(8, 2, kdim=3, vdim=5, add_bias_kv=True, bias=False)
    assert [(k, tuple(v.shape)) for k, v in sep.state_dict().items()] == \
        [(k, tuple(v.shape)) for k, v in tsep.state_dict().items()]
    assert sep.in_proj_weight is None and sep.in_proj_bias is None and sep.out_proj.bias is None
    assert cm.head_dim == 4 and cm._qkv_same_embed_dim and not sep._qkv_same_embed_dim


@pytest.mark.parametrize("batch_first,need_weights,average,bias", list(itertools.product(
    [False, True], [True, False], [True, False], [True, False])))
def test_self_attention_matches_torch(batch_first, need_weights, average, bias):
    tm, cm = mha_pair(8, 2, bias=bias, batch_first=batch_first)
    x = randn(3, 5, 8)
    run_both(tm, cm, [x, x, x], need_weights=need_weights, average_attn_weights=average)


@pytest.mark.filterwarnings("ignore:Support for mismatched")  # torch's deprecation warning
def test_cross_attention_with_kdim_vdim_bias_kv_and_zero_attn_matches_torch():
    tm, cm = mha_pair(6, 3, kdim=4, vdim=5, add_bias_kv=True, add_zero_attn=True)
    q, k, v = randn(2, 3, 6), randn(4, 3, 4), randn(4, 3, 5)
    kpm = np.array([[False, False, True, True], [False] * 4, [True, False, False, False]])
    run_both(tm, cm, [q, k, v], key_padding_mask=kpm, attn_mask=randn(2, 4),
             average_attn_weights=False)


def test_unbatched_inputs_match_torch():
    tm, cm = mha_pair(4, 2)
    x = randn(5, 4)
    out, w = run_both(tm, cm, [x, x, x], key_padding_mask=np.array([False] * 4 + [True]))
    assert out.shape == (5, 4) and w.shape == (5, 5)
    run_both(tm, cm, [x, x, x], attn_mask=randn(2, 5, 5))  # 3-D mask: (num_heads, L, S)


MASKS = {
    "bool_2d": lambda L, S, N, H: np.triu(np.ones((L, S), bool), 1),
    "float_2d": lambda L, S, N, H: randn(L, S),
    "neg_inf_2d": lambda L, S, N, H: np.triu(np.full((L, S), -np.inf), 1),
    "bool_3d": lambda L, S, N, H: rng.random((N * H, L, S)) < 0.3,
    "float_3d": lambda L, S, N, H: randn(N * H, L, S),
}


@pytest.mark.parametrize("mask", list(MASKS))
@pytest.mark.parametrize("kpm", [None, "bool", "float"])
def test_every_kind_of_mask_matches_torch(mask, kpm):
    tm, cm = mha_pair(8, 2, batch_first=True)
    N, L = 3, 4
    x = randn(N, L, 8)
    am = MASKS[mask](L, L, N, 2)
    if mask.startswith("bool"):
        am[..., 0] = False  # every query sees key 0 (PyTorch gives nan for a query that sees none)
    pm = None
    if kpm is not None:
        pm = np.zeros((N, L), bool)
        pm[0, -1] = pm[2, 1:3] = True
        if kpm == "float":
            pm = np.where(pm, -np.inf, 0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # torch: mismatched mask types deprecated
        run_both(tm, cm, [x, x, x], attn_mask=am, key_padding_mask=pm)


def test_is_causal_hint_with_its_mask_matches_torch_and_needs_the_mask():
    tm, cm = mha_pair(8, 2, batch_first=True)
    x = randn(2, 4, 8)
    mask = np.triu(np.full((4, 4), -np.inf), 1)
    run_both(tm, cm, [x, x, x], attn_mask=mask, is_causal=True, need_weights=False)
    with pytest.raises(ValueError, match="is_causal=True is a hint that needs attn_mask"):
        cm(cr.tensor(x), cr.tensor(x), cr.tensor(x), is_causal=True)


def test_a_query_that_sees_no_key_gets_zeros_not_nan():
    _, cm = mha_pair(4, 2, batch_first=True)
    x = cr.tensor(randn(2, 3, 4), requires_grad=True)
    kpm = cr.tensor(np.array([[True] * 3, [False] * 3]))
    out, _ = cm(x, x, x, key_padding_mask=kpm, need_weights=False)
    np.testing.assert_allclose(out.detach().numpy()[0], 0.0)  # out_proj.bias is 0
    (out ** 2).sum().backward()
    assert np.isfinite(x.grad.numpy()).all()


def test_dropout_drops_attention_weights_in_training_only_and_is_seeded():
    cm = nn.MultiheadAttention(8, 2, dropout=0.5, batch_first=True).double()
    x = cr.tensor(randn(2, 4, 8))
    cr.manual_seed(1)
    a = cm(x, x, x)[1]
    cr.manual_seed(1)
    b = cm(x, x, x)[1]
    np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
    dropped = cm(x, x, x, average_attn_weights=False)[1].detach().numpy()
    cm.eval()
    w = cm(x, x, x, average_attn_weights=False)[1].detach().numpy()
    np.testing.assert_allclose(w.sum(-1), 1.0)
    kept = dropped != 0
    assert 0.2 < kept.mean() < 0.8  # p = 0.5
    np.testing.assert_allclose(dropped[kept], 2 * w[kept], rtol=1e-12)  # scaled by 1/(1-p)


# ---------------------------------------------------------------------------------------------
# scaled_dot_product_attention
# ---------------------------------------------------------------------------------------------


def sdpa_both(q, k, v, **kw):
    tq = [torch.tensor(a, requires_grad=True) for a in (q, k, v)]
    cq = [cr.tensor(a, requires_grad=True) for a in (q, k, v)]
    tkw = {k_: (torch.from_numpy(v_) if isinstance(v_, np.ndarray) else v_)
           for k_, v_ in kw.items()}
    ckw = {k_: (cr.tensor(v_) if isinstance(v_, np.ndarray) else v_) for k_, v_ in kw.items()}
    t = torch.nn.functional.scaled_dot_product_attention(*tq, **tkw)
    c = F.scaled_dot_product_attention(*cq, **ckw)
    close(t, c, "output")
    w = np.cos(np.arange(c.detach().numpy().size)).reshape(c.shape)
    (t * torch.from_numpy(w)).sum().backward()
    (c * cr.tensor(w)).sum().backward()
    for i, (a, b) in enumerate(zip(tq, cq)):
        close(a.grad, b.grad, f"gradient {i}")


@pytest.mark.parametrize("kw", [
    {}, {"is_causal": True}, {"scale": 0.3}, {"attn_mask": "bool"}, {"attn_mask": "float"},
    {"attn_mask": "broadcast"},
])
def test_sdpa_matches_torch(kw):
    q, k, v = randn(2, 3, 4, 5), randn(2, 3, 6, 5), randn(2, 3, 6, 7)
    kw = dict(kw)
    if kw.get("attn_mask") == "bool":
        m = rng.random((4, 6)) < 0.5
        m[1] = False  # a query that sees no key: zeros in both
        kw["attn_mask"] = m
    elif kw.get("attn_mask") == "float":
        kw["attn_mask"] = randn(2, 3, 4, 6)
    elif kw.get("attn_mask") == "broadcast":
        kw["attn_mask"] = randn(3, 1, 6)
    sdpa_both(q, k, v, **kw)


def test_sdpa_grouped_query_attention_matches_torch():
    sdpa_both(randn(1, 4, 3, 2), randn(1, 2, 5, 2), randn(1, 2, 5, 3), enable_gqa=True)


def test_sdpa_dropout_is_seeded_and_keeps_the_expectation():
    q = cr.tensor(np.zeros((1, 200, 4)))  # uniform attention: the output is the mean of v
    v = cr.tensor(np.ones((1, 50, 3)))
    k = cr.tensor(np.zeros((1, 50, 4)))
    cr.manual_seed(3)
    a = F.scaled_dot_product_attention(q, k, v, dropout_p=0.5)
    cr.manual_seed(3)
    b = F.scaled_dot_product_attention(q, k, v, dropout_p=0.5)
    np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
    assert abs(a.detach().numpy().mean() - 1.0) < 0.05 and a.detach().numpy().std() > 0.05


# ---------------------------------------------------------------------------------------------
# Bad input
# ---------------------------------------------------------------------------------------------


def test_embed_dim_not_divisible_by_heads():
    with pytest.raises(ValueError, match=r"embed_dim must be divisible by num_heads, got "
                                         r"embed_dim=10 and num_heads=3"):
        nn.MultiheadAttention(10, 3)
    with pytest.raises(ValueError, match="greater than 0"):
        nn.MultiheadAttention(0, 1)


def test_wrong_feature_size_names_the_layer_and_shapes():
    m = nn.MultiheadAttention(8, 2, batch_first=True)
    with pytest.raises(ValueError, match=r"MultiheadAttention\(embed_dim=8, num_heads=2\): "
                                         r"expected query with embedding size.*8.*\(2, 3, 5\)"):
        m(cr.randn(2, 3, 5), cr.randn(2, 3, 5), cr.randn(2, 3, 5))
    sep = nn.MultiheadAttention(8, 2, kdim=4, vdim=4, batch_first=True)
    with pytest.raises(ValueError, match=r"expected key with 4 features.*\(2, 3, 6\)"):
        sep(cr.randn(2, 3, 8), cr.randn(2, 3, 6), cr.randn(2, 3, 4))
    with pytest.raises(ValueError, match="query should be an unbatched 2-D"):
        m(cr.randn(8), cr.randn(8), cr.randn(8))
    with pytest.raises(ValueError, match="batch size 2"):
        m(cr.randn(2, 3, 8), cr.randn(3, 3, 8), cr.randn(3, 3, 8))


def test_masks_of_the_wrong_shape_or_dtype():
    m = nn.MultiheadAttention(8, 2, batch_first=True)
    x = cr.randn(2, 3, 8)
    with pytest.raises(ValueError, match=r"2-D attn_mask is \(3, 4\), but should be \(L, S\) = "
                                         r"\(3, 3\)"):
        m(x, x, x, attn_mask=cr.zeros(3, 4))
    with pytest.raises(ValueError, match=r"3-D attn_mask is \(2, 3, 3\), but should be "
                                         r"\(N \* num_heads, L, S\) = \(4, 3, 3\)"):
        m(x, x, x, attn_mask=cr.zeros(2, 3, 3))
    with pytest.raises(ValueError, match=r"attn_mask must be 2-D \(L, S\) or 3-D"):
        m(x, x, x, attn_mask=cr.zeros(3))
    with pytest.raises(ValueError, match=r"key_padding_mask of shape \(N, S\) = \(2, 3\), but "
                                         r"got \(3, 2\)"):
        m(x, x, x, key_padding_mask=cr.zeros(3, 2, dtype=cr.bool))
    with pytest.raises(TypeError, match="attn_mask must be a bool or floating-point tensor, got "
                                        "torch.int64"):
        m(x, x, x, attn_mask=cr.zeros(3, 3, dtype=cr.int64))
    with pytest.raises(TypeError, match="must have the query's dtype torch.float32, got "
                                        "torch.float64"):
        m(x, x, x, attn_mask=cr.zeros(3, 3, dtype=cr.float64))
    with pytest.raises(ValueError, match=r"attn_mask of shape \(2, 3\) does not broadcast"):
        F.scaled_dot_product_attention(x, x, x, attn_mask=cr.zeros(2, 3, dtype=cr.bool))
    with pytest.raises(ValueError, match="attn_mask should not be set when is_causal=True"):
        F.scaled_dot_product_attention(x, x, x, attn_mask=cr.zeros(3, 3), is_causal=True)
    with pytest.raises(ValueError, match=r"batch dims of query \(1, 4, 3, 2\) and key "
                                         r"\(1, 2, 5, 2\) do not broadcast; .* enable_gqa=True"):
        F.scaled_dot_product_attention(cr.randn(1, 4, 3, 2), cr.randn(1, 2, 5, 2),
                                       cr.randn(1, 2, 5, 2))
    with pytest.raises(ValueError, match="key's last dim must equal query's"):
        F.scaled_dot_product_attention(x, cr.randn(2, 3, 4), cr.randn(2, 3, 4))


def test_functional_form_with_static_keys_and_values_matches_torch():
    E, H, L, S, N = 4, 2, 3, 5, 2
    args = [randn(L, N, E), randn(L, N, E), randn(L, N, E), randn(3 * E, E), randn(3 * E),
            randn(E, E), randn(N * H, S, E // H), randn(N * H, S, E // H)]
    t_args = [torch.tensor(a, requires_grad=True) for a in args]
    c_args = [cr.tensor(a, requires_grad=True) for a in args]

    def call(fn, a, lib):
        kpm = lib.tensor(np.array([[False] * 4 + [True], [False] * 5]))
        return fn(a[0], a[1], a[2], E, H, a[3], a[4], None, None, False, 0.0, a[5], None,
                  key_padding_mask=kpm, static_k=a[6], static_v=a[7])

    t_out, t_w = call(torch.nn.functional.multi_head_attention_forward, t_args, torch)
    c_out, c_w = call(F.multi_head_attention_forward, c_args, cr)
    close(t_out, c_out, "output")
    close(t_w, c_w, "weights")
    (t_out.sum() + (t_w ** 2).sum()).backward()
    (c_out.sum() + (c_w ** 2).sum()).backward()
    for i, (a, b) in enumerate(zip(t_args, c_args)):
        if a.grad is not None:
            close(a.grad, b.grad, f"gradient {i}")
