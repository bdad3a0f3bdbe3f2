"""Convolution, pooling and batch norm: layers, functions, errors, and PyTorch as the oracle.

The op table (tests/op_table.py) gradchecks the primitives one by one; here they are checked
as people use them: modules against torch.nn (values, gradients, running statistics, state
dicts in both directions), a small CNN end to end, and the error messages.
"""

import inspect
import itertools
import math

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import nn
from chainrule.autograd import gradcheck, gradgradcheck
from chainrule.cli.recipes import Config, build_model

RNG = np.random.default_rng(0)


def randn(*shape, dtype=np.float64):
    return RNG.standard_normal(shape).astype(dtype)


def close(a, b, tol=1e-10):
    a = a.detach().numpy() if hasattr(a, "numpy") and not isinstance(a, np.ndarray) else a
    b = b.detach().numpy() if hasattr(b, "detach") else np.asarray(b)
    assert a.shape == b.shape
    np.testing.assert_allclose(a, b, rtol=tol, atol=tol * max(1.0, float(np.abs(b).max(
        initial=0))))


# ---------------------------------------------------------------------------------------------
# Shapes, defaults, repr
# ---------------------------------------------------------------------------------------------


def test_conv2d_module_shapes_and_pytorch_default_init():
    cr.manual_seed(0)
    conv = nn.Conv2d(6, 8, (3, 2), stride=2, padding=1, groups=2)
    assert conv.weight.shape == (8, 3, 3, 2) and conv.bias.shape == (8,)
    bound = 1 / math.sqrt(3 * 3 * 2)  # fan_in = in_channels / groups * kH * kW
    for p in (conv.weight, conv.bias):
        assert p.requires_grad and float(p.abs().max()) <= bound
    assert float(conv.weight.abs().max()) > 0.8 * bound  # uniform over the whole range
    assert conv(cr.randn(2, 6, 7, 5)).shape == (2, 8, 4, 3)
    assert repr(conv) == ("Conv2d(6, 8, kernel_size=(3, 2), stride=(2, 2), padding=(1, 1), "
                          "groups=2)")
    # torch 2.13 prints the string padding unquoted
    assert repr(nn.Conv2d(1, 2, 3, padding="same", bias=False)) == (
        "Conv2d(1, 2, kernel_size=(3, 3), stride=(1, 1), padding=same, bias=False)")
    assert nn.Conv2d(1, 2, 3, bias=False).bias is None
    assert [n for n, _ in nn.Conv2d(1, 2, 3).named_parameters()] == ["weight", "bias"]


def test_layer_reprs_match_pytorch():
    torch = pytest.importorskip("torch")
    pairs = [
        (nn.Conv2d(1, 16, 3, padding=1), torch.nn.Conv2d(1, 16, 3, padding=1)),
        (nn.Conv2d(4, 4, 2, stride=(2, 1), dilation=2, groups=4, bias=False),
         torch.nn.Conv2d(4, 4, 2, stride=(2, 1), dilation=2, groups=4, bias=False)),
        (nn.MaxPool2d(2), torch.nn.MaxPool2d(2)),
        (nn.BatchNorm2d(16), torch.nn.BatchNorm2d(16)),
        (nn.BatchNorm1d(3, momentum=None, affine=False),
         torch.nn.BatchNorm1d(3, momentum=None, affine=False)),
    ]
    if "bias" in inspect.signature(torch.nn.BatchNorm2d).parameters:  # torch >= 2.9 or so
        pairs.append((nn.BatchNorm2d(2, bias=False), torch.nn.BatchNorm2d(2, bias=False)))
    for ours, theirs in pairs:
        if "bias=" not in repr(theirs) and isinstance(ours, nn.BatchNorm2d | nn.BatchNorm1d):
            assert repr(ours).replace(f", bias={ours.bias is not None}", "") == repr(theirs)
            continue
        assert repr(ours) == repr(theirs)


def test_conv_output_is_channels_last_memory_but_behaves_as_nchw():
    x = cr.tensor(randn(2, 3, 5, 5))
    w = cr.tensor(randn(4, 3, 3, 3))
    y = F.conv2d(x, w, padding=1)
    ref = np.einsum("nchwij,ocij->nohw", np.lib.stride_tricks.sliding_window_view(
        np.pad(x.numpy(), ((0, 0), (0, 0), (1, 1), (1, 1))), (3, 3), axis=(2, 3)), w.numpy())
    np.testing.assert_allclose(y.numpy(), ref, rtol=1e-12)
    assert y.shape == (2, 4, 5, 5)
    np.testing.assert_array_equal(y.reshape(2, -1).numpy(), y.numpy().reshape(2, -1))
    np.testing.assert_array_equal(y.view(2, 4, 25).numpy(), y.numpy().reshape(2, 4, 25))
    np.testing.assert_array_equal(y[1, 2].numpy(), y.numpy()[1, 2])
    np.testing.assert_array_equal(y.flatten(1).numpy(), np.ascontiguousarray(y.numpy()).reshape(
        2, -1))


def test_unbatched_inputs_and_empty_batches():
    x = randn(3, 5, 4)
    w = randn(2, 3, 2, 2)
    y = F.conv2d(cr.tensor(x), cr.tensor(w), stride=2)
    np.testing.assert_allclose(y.numpy(), F.conv2d(cr.tensor(x[None]), cr.tensor(w),
                                                   stride=2).numpy()[0])
    assert y.shape == (2, 2, 2)
    assert F.max_pool2d(cr.tensor(x), 2).shape == (3, 2, 2)
    assert F.avg_pool2d(cr.tensor(x), 2).shape == (3, 2, 2)
    assert F.conv2d(cr.zeros(0, 3, 5, 4, dtype=cr.float64), cr.tensor(w)).shape == (0, 2, 4, 3)
    assert F.max_pool2d(cr.zeros(0, 3, 4, 4), 2).shape == (0, 3, 2, 2)


# ---------------------------------------------------------------------------------------------
# Against PyTorch
# ---------------------------------------------------------------------------------------------

CONV_CASES = [
    # (C, O, kernel, stride, padding, dilation, groups, bias)
    (1, 16, 3, 1, 1, 1, 1, True),
    (16, 32, 3, 1, 0, 1, 1, True),
    (4, 6, (2, 3), (2, 1), (1, 0), (1, 2), 2, False),
    (6, 3, 1, 2, 0, 1, 3, True),
    (2, 4, 4, 1, "same", 1, 1, True),
    (3, 2, (2, 3), 1, "same", (2, 1), 1, False),
    (2, 2, 3, 3, 2, 2, 2, True),
]


@pytest.mark.filterwarnings("ignore:Using padding='same'")  # torch's note on even kernels
@pytest.mark.parametrize("case", CONV_CASES, ids=lambda c: "-".join(map(str, c)))
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_conv2d_forward_and_backward_match_torch(case, dtype):
    torch = pytest.importorskip("torch")
    C, O, k, s, p, d, g, bias = case
    kh, kw = (k, k) if isinstance(k, int) else k
    x, w, b = randn(3, C, 7, 6, dtype=dtype), randn(O, C // g, kh, kw, dtype=dtype), \
        randn(O, dtype=dtype)
    cx, cw, cb = (cr.tensor(a, requires_grad=True) for a in (x, w, b))
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    cy = F.conv2d(cx, cw, cb if bias else None, s, p, d, g)
    ty = torch.nn.functional.conv2d(tx, tw, tb if bias else None, s, p, d, g)
    tol = 1e-10 if dtype == np.float64 else 2e-5
    close(cy, ty, tol)
    gy = randn(*ty.shape, dtype=dtype)
    cy.backward(cr.tensor(gy))
    ty.backward(torch.tensor(gy))
    close(cx.grad, tx.grad, tol)
    close(cw.grad, tw.grad, tol)
    if bias:
        close(cb.grad, tb.grad, tol)
    assert cx.grad.dtype == cw.grad.dtype == dtype


def test_conv2d_second_order_matches_torch():
    """A gradient penalty: d/dw |dL/dx|^2 through the transposed convolution."""
    torch = pytest.importorskip("torch")
    x, w, b = randn(2, 4, 6, 5), randn(6, 2, 3, 2), randn(6)

    def penalty(lib, fn, x, w, b):
        y = fn(x, w, b, 2, 1, (2, 1), 2)
        (gx,) = lib.autograd.grad((y * y).sum(), [x], create_graph=True)
        return (gx * gx).sum()

    cx, cw, cb = (cr.tensor(a, requires_grad=True) for a in (x, w, b))
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    penalty(cr, F.conv2d, cx, cw, cb).backward()
    penalty(torch, torch.nn.functional.conv2d, tx, tw, tb).backward()
    for c, t in ((cx, tx), (cw, tw), (cb, tb)):
        close(c.grad, t.grad, 1e-9)


POOL_CASES = [
    # (kernel, stride, padding, dilation)
    (2, None, 0, 1), (3, 2, 1, 1), ((2, 3), (1, 2), (1, 0), 1), (2, 1, 1, 2), (3, 3, 0, 1),
]


@pytest.mark.parametrize("case", POOL_CASES, ids=lambda c: "-".join(map(str, c)))
def test_max_pool2d_matches_torch_ties_included(case):
    torch = pytest.importorskip("torch")
    k, s, p, d = case
    # rounded values: many ties, which must send the gradient to the first maximum
    x = np.round(randn(2, 3, 7, 6), 0)
    cx, tx = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    cy, ci = F.max_pool2d(cx, k, s, p, d, return_indices=True)
    ty, ti = torch.nn.functional.max_pool2d(tx, k, s, p, d, return_indices=True)
    close(cy, ty, 0)
    np.testing.assert_array_equal(ci.numpy(), ti.numpy())
    assert ci.dtype == np.int64
    gy = randn(*ty.shape)
    cy.backward(cr.tensor(gy))
    ty.backward(torch.tensor(gy))
    close(cx.grad, tx.grad, 1e-12)


def test_max_pool2d_on_channels_last_input_and_nan():
    torch = pytest.importorskip("torch")
    x = randn(2, 8, 8, 3).transpose(0, 3, 1, 2)  # channels-last memory, like a conv output
    x[0, 1, 2, 3] = np.nan
    x[1, 2, 0, 0] = np.inf
    cx, tx = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    cy, ty = F.max_pool2d(cx, 2), torch.nn.functional.max_pool2d(tx, 2)
    np.testing.assert_array_equal(cy.detach().numpy(), ty.detach().numpy())  # nan: torch's nan
    gy = randn(*ty.shape)
    cy.backward(cr.tensor(gy))
    ty.backward(torch.tensor(gy))
    np.testing.assert_array_equal(cx.grad.numpy(), tx.grad.numpy())


@pytest.mark.parametrize("case", [c for c in POOL_CASES if c[3] == 1],
                         ids=lambda c: "-".join(map(str, c)))
@pytest.mark.parametrize("count_include_pad", [True, False])
@pytest.mark.parametrize("divisor_override", [None, 5])
def test_avg_pool2d_matches_torch(case, count_include_pad, divisor_override):
    torch = pytest.importorskip("torch")
    k, s, p, _ = case
    x = randn(2, 3, 7, 6)
    cx, tx = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    cy = F.avg_pool2d(cx, k, s, p, count_include_pad=count_include_pad,
                      divisor_override=divisor_override)
    ty = torch.nn.functional.avg_pool2d(tx, k, s, p, count_include_pad=count_include_pad,
                                        divisor_override=divisor_override)
    close(cy, ty)
    gy = randn(*ty.shape)
    cy.backward(cr.tensor(gy))
    ty.backward(torch.tensor(gy))
    close(cx.grad, tx.grad)


def _bn_pair(torch, cls, tcls, C, **kw):
    if "bias" in kw and "bias" not in inspect.signature(tcls).parameters:
        pytest.skip("this torch's batch norm has no bias argument")
    ours, theirs = cls(C, **kw).double(), tcls(C, **kw).double()
    for name in ("weight", "bias"):
        p = getattr(ours, name)
        if p is not None:
            with cr.no_grad():
                p.copy_(cr.tensor(randn(C)))
            getattr(theirs, name).data = torch.tensor(p.detach().numpy().copy())
    return ours, theirs


@pytest.mark.parametrize("kw", [{}, {"momentum": None}, {"momentum": 0.5, "eps": 1e-3},
                                {"affine": False}, {"track_running_stats": False},
                                {"bias": False}],
                         ids=lambda kw: ",".join(f"{k}={v}" for k, v in kw.items()) or "default")
@pytest.mark.parametrize("shape", [(6, 3), (5, 3, 4), (4, 3, 3, 2)], ids=str)
def test_batch_norm_modules_match_torch_over_steps(kw, shape):
    """Training steps (batch statistics, running estimates with the unbiased variance,
    num_batches_tracked), then eval mode (running estimates), values and gradients."""
    torch = pytest.importorskip("torch")
    cls, tcls = (nn.BatchNorm2d, torch.nn.BatchNorm2d) if len(shape) == 4 else \
        (nn.BatchNorm1d, torch.nn.BatchNorm1d)
    ours, theirs = _bn_pair(torch, cls, tcls, shape[1], **kw)
    for training in (True, True, True, False):
        ours.train(training)
        theirs.train(training)
        x = randn(*shape) * 3 + 1
        cx, tx = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        cy, ty = ours(cx), theirs(tx)
        close(cy, ty)
        gy = randn(*shape)
        cy.backward(cr.tensor(gy))
        ty.backward(torch.tensor(gy))
        close(cx.grad, tx.grad)
        for name, p in ours.named_parameters():
            close(p.grad, getattr(theirs, name).grad)
        ours.zero_grad()
        theirs.zero_grad()
        theirs_state = theirs.state_dict()
        ours_state = ours.state_dict()
        assert list(ours_state) == list(theirs_state)
        for k, v in theirs_state.items():
            close(ours_state[k], v)


def test_batch_norm_functional_without_running_stats_in_eval_is_an_error():
    with pytest.raises(ValueError, match="running_mean and running_var are needed"):
        F.batch_norm(cr.randn(4, 3), None, None, training=False)


def test_batch_norm_gradgradcheck_in_both_modes():
    x = cr.tensor(randn(4, 3, 2, 2), requires_grad=True)
    w = cr.tensor(randn(3), requires_grad=True)
    b = cr.tensor(randn(3), requires_grad=True)
    rm, rv = cr.tensor(randn(3)), cr.tensor(np.abs(randn(3)) + 0.5)
    for training in (True, False):
        def fn(x, w, b, training=training):
            return F.batch_norm(x, rm.clone(), rv.clone(), w, b, training=training)

        assert gradcheck(fn, (x, w, b))
        assert gradgradcheck(fn, (x, w, b))


# ---------------------------------------------------------------------------------------------
# A CNN end to end; PyTorch state dicts in both directions
# ---------------------------------------------------------------------------------------------


def torch_cnn(torch, hidden=128, dropout=0.25):
    t = torch.nn
    return t.Sequential(t.Conv2d(1, 16, 3, padding=1), t.BatchNorm2d(16), t.ReLU(),
                        t.Conv2d(16, 32, 3, padding=1), t.BatchNorm2d(32), t.ReLU(),
                        t.MaxPool2d(2), t.Flatten(), t.Linear(512, hidden), t.ReLU(),
                        t.Dropout(dropout), t.Linear(hidden, 10))


def test_a_pytorch_state_dict_loads_and_gives_the_same_outputs():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    theirs = torch_cnn(torch)
    opt = torch.optim.SGD(theirs.parameters(), lr=0.1)
    for _ in range(3):  # a few steps so that running statistics and weights are not defaults
        loss = theirs(torch.randn(16, 1, 8, 8)).square().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    ours = build_model(Config(model="cnn"))
    result = ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    assert not result.missing_keys and not result.unexpected_keys
    x = randn(10, 1, 8, 8, dtype=np.float32)
    theirs.eval()
    ours.eval()
    with torch.no_grad():
        expected = theirs(torch.tensor(x)).numpy()
    with cr.no_grad():
        np.testing.assert_allclose(ours(cr.tensor(x)).numpy(), expected, rtol=1e-4, atol=1e-5)
    # training mode (batch statistics; dropout off for the comparison)
    ours.train()
    theirs.train()
    theirs.zero_grad()
    ours[10].p = theirs[10].p = 0.0
    cx, tx = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    cy, ty = ours(cx), theirs(tx)
    np.testing.assert_allclose(cy.detach().numpy(), ty.detach().numpy(), rtol=1e-4, atol=1e-5)
    # (not a plain sum: batch norm makes its gradient 0 up to rounding)
    r = randn(10, 10, dtype=np.float32)
    (cy * cr.tensor(r)).sum().backward()
    (ty * torch.tensor(r)).sum().backward()
    np.testing.assert_allclose(cx.grad.numpy(), tx.grad.numpy(), rtol=1e-3, atol=1e-4)
    for i in (0, 1, 3, 4, 8, 11):
        np.testing.assert_allclose(ours[i].weight.grad.numpy(), theirs[i].weight.grad.numpy(),
                                   rtol=1e-3, atol=1e-4)
    for k, v in theirs.state_dict().items():  # both updated their running statistics alike
        np.testing.assert_allclose(ours.state_dict()[k].numpy(), v.numpy(), rtol=1e-5,
                                   atol=1e-6)


def test_our_state_dict_loads_into_pytorch():
    torch = pytest.importorskip("torch")
    cr.manual_seed(3)
    ours = build_model(Config(model="cnn"))
    x = cr.randn(4, 1, 8, 8)
    ours(x)  # one training step's running statistics
    theirs = torch_cnn(torch)
    theirs.load_state_dict({k: torch.from_numpy(v.numpy().copy())
                            for k, v in ours.state_dict().items()})
    ours.eval()
    theirs.eval()
    with torch.no_grad():
        expected = theirs(torch.from_numpy(x.numpy())).numpy()
    np.testing.assert_allclose(ours(x).detach().numpy(), expected, rtol=1e-4, atol=1e-5)


def test_small_cnn_gradcheck_and_gradgradcheck():
    """conv -> batch norm -> tanh -> max pool -> conv -> avg pool, weights as inputs."""
    def loss(x, w0, w4):
        y = F.conv2d(x, w0, padding=1)
        y = F.batch_norm(y, None, None, training=True)
        y = F.max_pool2d(cr.tanh(y), 2)
        return F.avg_pool2d(F.conv2d(y, w4, padding=1), 2).sum(dim=(1, 2, 3))

    x = cr.tensor(randn(3, 2, 4, 4), requires_grad=True)
    w0 = cr.tensor(randn(3, 2, 3, 3), requires_grad=True)
    w4 = cr.tensor(randn(2, 3, 2, 2), requires_grad=True)
    assert gradcheck(loss, (x, w0, w4))
    assert gradgradcheck(loss, (x, w0, w4))


def test_backward_twice_with_retain_graph_gives_the_same_gradients():
    """The forward's im2col columns are lent to the first backward; a second one rebuilds."""
    x = cr.tensor(randn(2, 3, 5, 5), requires_grad=True)
    w = cr.tensor(randn(4, 3, 3, 3), requires_grad=True)
    y = F.conv2d(x, w, padding=1).square().sum()
    y.backward(retain_graph=True)
    g1 = w.grad.numpy().copy()
    w.grad = None
    y.backward()
    np.testing.assert_array_equal(w.grad.numpy(), g1)


def test_training_a_cnn_reduces_the_loss():
    cr.manual_seed(0)
    model = build_model(Config(model="cnn", dropout=0.0))
    opt = cr.optim.Adam(model.parameters(), lr=1e-2)
    x = cr.randn(32, 1, 8, 8)
    y = cr.tensor(RNG.integers(0, 10, 32))
    losses = []
    for _ in range(20):
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.1 * losses[0]


# ---------------------------------------------------------------------------------------------
# Errors name the op or layer, the shapes, and the fix
# ---------------------------------------------------------------------------------------------


def test_conv_errors():
    conv = nn.Conv2d(3, 8, 3)
    with pytest.raises(ValueError, match=r"Conv2d\(3, 8, kernel_size=\(3, 3\)\): expected a 4-D "
                                         r"input .* got shape \(5, 64\).*x.reshape\(-1, 1, 8, 8\)"):
        conv(cr.randn(5, 64))
    with pytest.raises(ValueError, match=r"expected an input with 3 channels .* got 1 channels: "
                                         r"input of shape \(2, 1, 8, 8\)"):
        conv(cr.randn(2, 1, 8, 8))
    with pytest.raises(ValueError, match=r"channels must be dim 1 .*permute\(0, 3, 1, 2\)"):
        conv(cr.randn(2, 8, 8, 3))
    with pytest.raises(ValueError, match=r"kernel \(3x3\) is larger than the padded input "
                                         r"\(2x2: the input's 2x2 plus padding"):
        conv(cr.randn(2, 3, 2, 2))
    with pytest.raises(ValueError, match=r"in_channels \(6\) and out_channels \(8\) must both "
                                         r"be divisible by groups \(4\)"):
        nn.Conv2d(6, 8, 3, groups=4)
    with pytest.raises(ValueError, match=r"conv2d: the input's 5 channels .* must be divisible "
                                         r"by groups=2"):
        F.conv2d(cr.randn(1, 5, 4, 4), cr.randn(4, 2, 3, 3), groups=2)
    with pytest.raises(ValueError, match=r"conv2d: out_channels \(3, .*divisible by groups=2"):
        F.conv2d(cr.randn(1, 4, 4, 4), cr.randn(3, 2, 3, 3), groups=2)
    with pytest.raises(ValueError, match="padding='same' is not supported for strided"):
        F.conv2d(cr.randn(1, 1, 4, 4), cr.randn(1, 1, 3, 3), stride=2, padding="same")
    with pytest.raises(ValueError, match=r"weight must be 4-D"):
        F.conv2d(cr.randn(1, 1, 4, 4), cr.randn(1, 3, 3))
    with pytest.raises(TypeError, match=r"input dtype torch.float64 does not match the weight "
                                        r"dtype torch.float32"):
        conv(cr.randn(1, 3, 4, 4, dtype=cr.float64))
    with pytest.raises(ValueError, match=r"bias must have shape \(8,\)"):
        F.conv2d(cr.randn(1, 3, 4, 4), conv.weight, cr.zeros(3))
    with pytest.raises(ValueError, match="stride must be at least 1"):
        F.conv2d(cr.randn(1, 3, 4, 4), conv.weight, stride=0)
    with pytest.raises(TypeError, match="padding must be an int or a pair of ints"):
        F.conv2d(cr.randn(1, 3, 4, 4), conv.weight, padding=(1, 2, 3))


def test_pool_errors():
    with pytest.raises(ValueError, match=r"max_pool2d: expected a 4-D input"):
        F.max_pool2d(cr.randn(4, 4), 2)
    with pytest.raises(ValueError, match=r"padding must be at most half"):
        nn.MaxPool2d(2, padding=2)(cr.randn(1, 1, 4, 4))
    with pytest.raises(ValueError, match=r"avg_pool2d: the input of shape \(1, 1, 2, 2\) is too "
                                         r"small for a 3x3 window"):
        nn.AvgPool2d(3)(cr.randn(1, 1, 2, 2))
    with pytest.raises(NotImplementedError, match="ceil_mode=True is not supported"):
        F.max_pool2d(cr.randn(1, 1, 5, 5), 2, ceil_mode=True)
    with pytest.raises(TypeError, match="max_pool2d: input must be a floating-point tensor"):
        F.max_pool2d(cr.tensor(np.zeros((1, 1, 2, 2), np.int64)), 2)


def test_batch_norm_errors():
    with pytest.raises(ValueError, match=r"BatchNorm2d: expected a 4-D \(N, C, H, W\) input, got "
                                         r"shape \(8, 16\) \(2-D\)"):
        nn.BatchNorm2d(16)(cr.randn(8, 16))
    with pytest.raises(ValueError, match=r"BatchNorm1d: expected a 2-D \(N, C\) or 3-D"):
        nn.BatchNorm1d(16)(cr.randn(2, 16, 1, 1))
    with pytest.raises(ValueError, match=r"BatchNorm2d\(16\): expected 16 channels in dim 1 of "
                                         r"the input, got shape \(2, 8, 4, 4\)"):
        nn.BatchNorm2d(16)(cr.randn(2, 8, 4, 4))
    with pytest.raises(ValueError, match=r"more than 1 value per channel when training.*"
                                         r"model.eval\(\)"):
        nn.BatchNorm1d(4)(cr.randn(1, 4))
    bn = nn.BatchNorm1d(4).eval()
    assert bn(cr.randn(1, 4)).shape == (1, 4)  # eval mode: one sample is fine
    with pytest.raises(ValueError, match="momentum must be in"):
        nn.BatchNorm2d(3, momentum=2.0)


# ---------------------------------------------------------------------------------------------
# Module behaviour
# ---------------------------------------------------------------------------------------------


def test_batch_norm_buffers_follow_train_and_eval_and_dtype():
    bn = nn.BatchNorm2d(3)
    assert [n for n, _ in bn.named_buffers()] == ["running_mean", "running_var",
                                                  "num_batches_tracked"]
    x = cr.randn(4, 3, 2, 2) * 2 + 5
    bn(x)
    assert int(bn.num_batches_tracked) == 1
    mean = x.numpy().mean(axis=(0, 2, 3))
    var = x.numpy().var(axis=(0, 2, 3), ddof=1)  # unbiased for the running estimate
    np.testing.assert_allclose(bn.running_mean.numpy(), 0.1 * mean, rtol=1e-5)
    np.testing.assert_allclose(bn.running_var.numpy(), 0.9 + 0.1 * var, rtol=1e-5)
    before = bn.state_dict()
    before = {k: v.numpy().copy() for k, v in before.items()}
    bn.eval()
    y = bn(x)
    assert int(bn.num_batches_tracked) == 1  # eval mode changes nothing
    for k, v in bn.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), before[k])
    expected = (x.numpy() - before["running_mean"][:, None, None]) / np.sqrt(
        before["running_var"][:, None, None] + 1e-5)
    np.testing.assert_allclose(y.detach().numpy(), expected, rtol=1e-5, atol=1e-6)
    bn.double()
    assert bn.running_mean.dtype == np.float64 and bn.num_batches_tracked.dtype == np.int64
    bn.reset_running_stats()
    assert int(bn.num_batches_tracked) == 0 and float(bn.running_var.sum()) == 3


def test_no_grad_forward_records_nothing_and_keeps_running_stats_updating():
    model = build_model(Config(model="cnn"))
    with cr.no_grad():
        y = model(cr.randn(4, 1, 8, 8))
    assert y.grad_fn is None and not y.requires_grad
    assert int(model[1].num_batches_tracked) == 1  # as in PyTorch: training mode still tracks


@pytest.mark.parametrize("layer", ["conv", "maxpool", "avgpool", "bn"])
def test_layers_run_in_float32_and_float64(layer):
    make = {"conv": lambda: nn.Conv2d(2, 3, 3, padding=1), "maxpool": lambda: nn.MaxPool2d(2),
            "avgpool": lambda: nn.AvgPool2d(2), "bn": lambda: nn.BatchNorm2d(2)}[layer]
    for dt in (cr.float32, cr.float64):
        m = make().to(dt)
        x = cr.randn(2, 2, 4, 4, dtype=dt, requires_grad=True)
        y = m(x)
        y.sum().backward()
        assert y.dtype == dt and x.grad.dtype == dt
        for p in m.parameters():
            assert p.grad.dtype == dt


def test_every_argument_combination_runs():
    """A sweep of small geometries: shapes as PyTorch's formula says, finite gradients."""
    for (k, s, p, d, g) in itertools.product([1, 2, 3], [1, 2], [0, 1], [1, 2], [1, 2]):
        x = cr.randn(2, 2, 6, 5, requires_grad=True)
        w = cr.randn(4, 2 // g, k, k, requires_grad=True)
        y = F.conv2d(x, w, stride=s, padding=p, dilation=d, groups=g)
        Ho = (6 + 2 * p - d * (k - 1) - 1) // s + 1
        Wo = (5 + 2 * p - d * (k - 1) - 1) // s + 1
        assert y.shape == (2, 4, Ho, Wo)
        y.square().sum().backward()
        assert np.isfinite(x.grad.numpy()).all() and np.isfinite(w.grad.numpy()).all()
