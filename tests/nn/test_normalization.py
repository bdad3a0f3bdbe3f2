"""nn.LayerNorm, nn.GroupNorm, nn.RMSNorm against PyTorch (float64): parameters, defaults,
outputs and gradients; errors name the layer and the shapes."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import nn

torch = pytest.importorskip("torch")

rng = np.random.default_rng(0)


def compare(cm, tm, x):
    cm.load_state_dict({k: cr.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()})
    with torch.no_grad():  # non-trivial affine parameters
        for p in tm.parameters():
            p.copy_(torch.from_numpy(rng.standard_normal(tuple(p.shape))))
    cm.load_state_dict({k: cr.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()})
    tx, cx = torch.tensor(x, requires_grad=True), cr.tensor(x, requires_grad=True)
    ty, cy = tm(tx), cm(cx)
    np.testing.assert_allclose(cy.detach().numpy(), ty.detach().numpy(), rtol=1e-10, atol=1e-12)
    w = np.sin(np.arange(x.size)).reshape(x.shape)
    (ty * torch.from_numpy(w)).sum().backward()
    (cy * cr.tensor(w)).sum().backward()
    np.testing.assert_allclose(cx.grad.numpy(), tx.grad.numpy(), rtol=1e-10, atol=1e-12)
    cp = dict(cm.named_parameters())
    assert sorted(cp) == sorted(n for n, _ in tm.named_parameters())
    for n, p in tm.named_parameters():
        np.testing.assert_allclose(cp[n].grad.numpy(), p.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("args,kw", [
    ((6,), {}), ((6,), {"eps": 0.1}), ((6,), {"bias": False}),
    ((6,), {"elementwise_affine": False}), (((4, 6),), {}), ([[6]], {}),
])
def test_layer_norm_matches_torch(args, kw):
    compare(nn.LayerNorm(*args, **kw).double(), torch.nn.LayerNorm(*args, **kw).double(),
            rng.standard_normal((2, 3, 4, 6)))


@pytest.mark.parametrize("groups,channels,kw,shape", [
    (2, 4, {}, (3, 4)), (2, 4, {}, (2, 4, 5)), (1, 6, {"eps": 0.01}, (2, 6, 2, 3)),
    (6, 6, {"affine": False}, (2, 6, 3)), (3, 6, {}, (2, 6, 2, 2)),
    (2, 4, {"bias": False}, (2, 4, 3)),
])
def test_group_norm_matches_torch(groups, channels, kw, shape):
    compare(nn.GroupNorm(groups, channels, **kw).double(),
            torch.nn.GroupNorm(groups, channels, **kw).double(), rng.standard_normal(shape))


@pytest.mark.parametrize("args,kw", [
    ((6,), {}), ((6,), {"eps": 1e-3}), (((4, 6),), {}), ((6,), {"elementwise_affine": False}),
])
def test_rms_norm_matches_torch(args, kw):
    compare(nn.RMSNorm(*args, **kw).double(), torch.nn.RMSNorm(*args, **kw).double(),
            rng.standard_normal((2, 3, 4, 6)))


def test_defaults_reprs_and_state_dicts_are_pytorchs():
    for ours, theirs in ((nn.LayerNorm(8), torch.nn.LayerNorm(8)),
                         (nn.GroupNorm(2, 8), torch.nn.GroupNorm(2, 8)),
                         (nn.RMSNorm([2, 8]), torch.nn.RMSNorm([2, 8])),
                         (nn.LayerNorm(8, bias=False), torch.nn.LayerNorm(8, bias=False)),
                         (nn.GroupNorm(2, 8, affine=False), torch.nn.GroupNorm(2, 8, affine=False)),
                         (nn.GroupNorm(2, 8, bias=False), torch.nn.GroupNorm(2, 8, bias=False))):
        assert repr(ours) == repr(theirs)
        assert {k: tuple(v.shape) for k, v in ours.state_dict().items()} == \
            {k: tuple(v.shape) for k, v in theirs.state_dict().items()}
        for k, v in theirs.state_dict().items():
            np.testing.assert_array_equal(ours.state_dict()[k].detach().numpy(), v.detach().numpy())
    assert nn.LayerNorm(8).weight.dtype == cr.float32
    assert nn.LayerNorm([3, 4]).normalized_shape == (3, 4)


def test_rms_norm_default_eps_is_the_dtypes_machine_epsilon():
    x = np.full((1, 4), 1e-5)
    for dt, tdt in ((cr.float32, torch.float32), (cr.float64, torch.float64)):
        ours = F.rms_norm(cr.tensor(x).to(dt), [4]).detach().numpy()
        theirs = torch.nn.functional.rms_norm(torch.tensor(x, dtype=tdt), [4]).detach().numpy()
        np.testing.assert_allclose(ours, theirs, rtol=1e-6)


def test_float32_and_second_order_gradients():
    x = cr.tensor(rng.standard_normal((3, 5)), requires_grad=True)
    y = F.layer_norm(x, (5,))
    (g,) = cr.autograd.grad((y ** 3).sum(), [x], create_graph=True)
    tx = torch.tensor(x.detach().numpy(), requires_grad=True)
    (tg,) = torch.autograd.grad((torch.nn.functional.layer_norm(tx, (5,)) ** 3).sum(), [tx],
                                create_graph=True)
    np.testing.assert_allclose(g.detach().numpy(), tg.detach().numpy(), rtol=1e-10)
    (g * g).sum().backward()
    (tg * tg).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-9)
    y32 = nn.LayerNorm(5)(cr.randn(2, 5))
    assert y32.dtype == cr.float32


def test_bad_input_names_the_layer_and_the_shapes():
    with pytest.raises(ValueError, match=r"LayerNorm\(\(8,\), eps=1e-05, elementwise_affine=True, "
                                         r"bias=True\)"
                                         r": given normalized_shape=\[8\], expected an input "
                                         r"with shape \[\*, 8\], but got input of shape \[2, 6\]"):
        nn.LayerNorm(8)(cr.randn(2, 6))
    with pytest.raises(ValueError, match=r"GroupNorm\(2, 4, eps=1e-05, affine=True, bias=True\):"
                                         r" expected an input \(N, C, \*\) with C = "
                                         r"num_channels = 4 in dim 1, got shape \(2, 6\)"):
        nn.GroupNorm(2, 4)(cr.randn(2, 6))
    with pytest.raises(ValueError, match=r"group_norm: weight must have shape \(6,\) \(one per "
                                         r"channel of the input, dim 1\), got \(4,\)"):
        F.group_norm(cr.randn(2, 6), 2, cr.ones(4))
    with pytest.raises(ValueError, match="num_channels must be divisible by num_groups, got "
                                         "num_channels=5 and num_groups=2"):
        nn.GroupNorm(2, 5)
    with pytest.raises(ValueError, match=r"group_norm: expected the number of channels .* 6 .* "
                                         r"divisible by num_groups=4"):
        F.group_norm(cr.randn(2, 6), 4)
    with pytest.raises(ValueError, match=r"RMSNorm.*expected an input with shape \[\*, 3, 4\]"):
        nn.RMSNorm([3, 4])(cr.randn(4, 3))
    with pytest.raises(TypeError, match="layer_norm: input must be a floating-point tensor"):
        F.layer_norm(cr.tensor([[1, 2]]), (2,))
    with pytest.raises(ValueError, match=r"layer_norm: weight must have shape \(3,\)"):
        F.layer_norm(cr.randn(2, 3), (3,), weight=cr.ones(4))
