"""ConvTranspose2d, adaptive pools, channel dropout, SmoothL1/Huber, containers and the
legacy loss arguments, against torch in float64 (same weights through state dicts)."""

from __future__ import annotations

import inspect
import warnings

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import nn

torch = pytest.importorskip("torch")
tnn, tF = torch.nn, torch.nn.functional


def same(a, b, tol=1e-10):
    a = a.detach().numpy() if hasattr(a, "detach") else np.asarray(a)
    b = b.detach().numpy() if hasattr(b, "detach") else np.asarray(b)
    assert a.shape == b.shape, (a.shape, b.shape)
    np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


def rand(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def load_torch_weights(cm, tm):
    """Copy torch's state dict into the chainrule module (float64 both)."""
    cm.load_state_dict({k: cr.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()})


@pytest.mark.parametrize("kw", [
    dict(stride=1), dict(stride=2, padding=1), dict(stride=2, padding=1, output_padding=1),
    dict(stride=(2, 3), padding=(0, 1), dilation=(2, 1), output_padding=(1, 0)),
    dict(stride=2, groups=2), dict(stride=1, bias=False)])
def test_conv_transpose2d_matches_torch(kw):
    torch.manual_seed(0)
    tm = tnn.ConvTranspose2d(4, 6, 3, **kw).double()
    cm = nn.ConvTranspose2d(4, 6, 3, **kw).to(cr.float64)
    assert [k for k, _ in cm.named_parameters()] == [k for k, _ in tm.named_parameters()]
    assert all(tuple(p.shape) == tuple(q.shape) for p, q in zip(cm.parameters(),
                                                                 tm.parameters()))
    load_torch_weights(cm, tm)
    x = rand(2, 4, 5, 4)
    cx = cr.tensor(x, requires_grad=True)
    tx = torch.tensor(x, requires_grad=True)
    y, ty = cm(cx), tm(tx)
    same(y, ty)
    g = rand(*ty.shape, seed=1)
    y.backward(cr.tensor(g))
    ty.backward(torch.tensor(g))
    same(cx.grad, tx.grad)
    for p, q in zip(cm.parameters(), tm.parameters()):
        same(p.grad, q.grad)
    assert repr(cm) == repr(tm)


def test_conv_transpose2d_output_size_and_errors():
    tm = tnn.ConvTranspose2d(2, 2, 3, stride=2, padding=1).double()
    cm = nn.ConvTranspose2d(2, 2, 3, stride=2, padding=1).to(cr.float64)
    load_torch_weights(cm, tm)
    x = rand(1, 2, 4, 4)
    same(cm(cr.tensor(x), output_size=(8, 8)), tm(torch.tensor(x), output_size=(8, 8)))
    with pytest.raises(ValueError, match="output size"):
        cm(cr.tensor(x), output_size=(10, 10))
    with pytest.raises(ValueError, match="expected an input with 2 channels"):
        cm(cr.zeros(1, 3, 4, 4, dtype=cr.float64))
    with pytest.raises(ValueError, match="output_padding"):
        F.conv_transpose2d(cr.zeros(1, 1, 2, 2), cr.zeros(1, 1, 2, 2), stride=1,
                           output_padding=1)


def test_conv_transpose2d_default_init_statistics_like_torch():
    cr.manual_seed(0)
    w = nn.ConvTranspose2d(64, 32, 4).weight.detach().numpy()
    bound = 1 / np.sqrt(32 * 16)  # kaiming_uniform(a=sqrt(5)): 1/sqrt(fan_in), fan_in = 32*16
    assert w.shape == (64, 32, 4, 4) and abs(w).max() <= bound and abs(w).max() > 0.95 * bound


@pytest.mark.parametrize("size", [1, (2, 3), (3, None), (5, 7), (4, 4)])
def test_adaptive_pools_match_torch(size):
    x = rand(2, 3, 5, 7)
    cx = cr.tensor(x, requires_grad=True)
    tx = torch.tensor(x, requires_grad=True)
    for cmod, tmod in ((nn.AdaptiveAvgPool2d(size), tnn.AdaptiveAvgPool2d(size)),
                       (nn.AdaptiveMaxPool2d(size), tnn.AdaptiveMaxPool2d(size))):
        cx.grad, tx.grad = None, None
        y, ty = cmod(cx), tmod(tx)
        same(y, ty)
        g = rand(*ty.shape, seed=2)
        y.backward(cr.tensor(g))
        ty.backward(torch.tensor(g))
        same(cx.grad, tx.grad)
    v, i = F.adaptive_max_pool2d(cr.tensor(x[0]), size, return_indices=True)
    tv, ti = tF.adaptive_max_pool2d(torch.tensor(x[0]), size, return_indices=True)
    same(v, tv)
    assert i.tolist() == ti.tolist()


@pytest.mark.parametrize("cls,shape", [("Dropout2d", (8, 50, 3, 3)), ("Dropout1d", (8, 50, 4)),
                                       ("Dropout2d", (50, 3, 3))])
@pytest.mark.filterwarnings("ignore:dropout2d")
def test_channel_dropout_zeroes_whole_channels(cls, shape):
    cr.manual_seed(0)
    m = getattr(nn, cls)(0.4)
    y = m(cr.ones(*shape)).numpy()
    per_channel = y.reshape(y.shape[:2] + (-1,))  # PyTorch reads (50, 3, 3) as (N, C, L)
    assert set(np.unique(per_channel)) == {0.0, np.float32(1 / 0.6)}
    assert (per_channel.min(-1) == per_channel.max(-1)).all()  # a channel is all kept or not
    assert abs((per_channel[..., 0] == 0).mean() - 0.4) < 0.1
    assert m.eval()(cr.ones(*shape)).numpy().min() == 1.0
    assert repr(m) == repr(getattr(tnn, cls)(0.4))


def test_alpha_dropout_keeps_selu_moments():
    cr.manual_seed(0)
    x = cr.tensor(np.random.default_rng(0).standard_normal(200000))
    y = nn.AlphaDropout(0.3).train()(x).numpy()
    assert abs(y.mean()) < 0.02 and abs(y.std() - 1) < 0.02
    assert nn.AlphaDropout(0.3).eval()(x) is x


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_smooth_l1_and_huber_match_torch(reduction):
    a, b = rand(4, 5) * 2, rand(4, 5, seed=3)
    for beta in (1.0, 0.5, 0.0):
        cx = cr.tensor(a, requires_grad=True)
        tx = torch.tensor(a, requires_grad=True)
        y = nn.SmoothL1Loss(reduction=reduction, beta=beta)(cx, cr.tensor(b))
        ty = tnn.SmoothL1Loss(reduction=reduction, beta=beta)(tx, torch.tensor(b))
        same(y, ty)
        y.sum().backward()
        ty.sum().backward()
        same(cx.grad, tx.grad)
        if beta:
            same(nn.HuberLoss(reduction, beta)(cr.tensor(a), cr.tensor(b)),
                 tnn.HuberLoss(reduction, beta)(torch.tensor(a), torch.tensor(b)))


def test_legacy_reduction_arguments_like_torch():
    p = np.array([[0.2, 0.9], [0.6, 0.3]])
    y = np.array([[0.0, 1.0], [1.0, 0.0]])
    logits, target = rand(3, 4), np.array([1, 0, 3])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for sa, red in ((None, None), (False, None), (True, None), (None, False), (False, False)):
            same(F.binary_cross_entropy(cr.tensor(p), cr.tensor(y), None, sa, red),
                 tF.binary_cross_entropy(torch.tensor(p), torch.tensor(y), None, sa, red))
            same(F.mse_loss(cr.tensor(p), cr.tensor(y), sa, red),
                 tF.mse_loss(torch.tensor(p), torch.tensor(y), sa, red))
            same(F.cross_entropy(cr.tensor(logits), cr.tensor(target), None, sa, -100, red),
                 tF.cross_entropy(torch.tensor(logits), torch.tensor(target), None, sa, -100,
                                  red))
            same(nn.NLLLoss(None, sa, -100, red)(cr.tensor(logits), cr.tensor(target)),
                 tnn.NLLLoss(None, sa, -100, red)(torch.tensor(logits), torch.tensor(target)))
            same(nn.L1Loss(sa, red)(cr.tensor(p), cr.tensor(y)),
                 tnn.L1Loss(sa, red)(torch.tensor(p), torch.tensor(y)))
    with pytest.warns(UserWarning, match="reduction='sum'"):
        nn.MSELoss(size_average=False)
    w = rand(2, 2, seed=5)
    same(F.mse_loss(cr.tensor(p), cr.tensor(y), weight=cr.tensor(w)),
         tF.mse_loss(torch.tensor(p), torch.tensor(y), weight=torch.tensor(w)))


FUNCTIONAL = ["binary_cross_entropy", "binary_cross_entropy_with_logits", "cross_entropy",
              "nll_loss", "mse_loss", "l1_loss", "softmax", "log_softmax", "smooth_l1_loss",
              "huber_loss", "dropout1d", "dropout2d", "alpha_dropout", "conv_transpose2d",
              "adaptive_avg_pool2d"]
MODULES = ["MSELoss", "L1Loss", "CrossEntropyLoss", "NLLLoss", "BCELoss", "BCEWithLogitsLoss",
           "SmoothL1Loss", "HuberLoss", "Dropout1d", "Dropout2d", "AlphaDropout",
           "AdaptiveAvgPool2d", "AdaptiveMaxPool2d", "ModuleDict", "ParameterList",
           "ParameterDict", "Unflatten"]


def _params(fn):
    return list(inspect.signature(fn).parameters)


@pytest.mark.parametrize("name", FUNCTIONAL)
def test_functional_positional_parameters_are_torchs(name):
    try:
        theirs = _params(getattr(tF, name))
    except ValueError:  # a torch builtin without a signature: its documented one
        theirs = getattr(tF, name).__doc__.split("(", 1)[1].split(")")[0]
        theirs = [p.split("=")[0].strip() for p in theirs.split(",")]
    assert _params(getattr(F, name)) == theirs


@pytest.mark.parametrize("name", MODULES)
def test_module_parameters_are_torchs(name):
    assert _params(getattr(nn, name).__init__) == _params(getattr(tnn, name).__init__)


def test_conv_transpose2d_parameters_are_torchs_plus_generator():
    assert _params(nn.ConvTranspose2d.__init__)[:-1] == _params(tnn.ConvTranspose2d.__init__)


def test_containers_register_like_torch():
    torch.manual_seed(0)
    t = tnn.ModuleDict({"a": tnn.Linear(2, 3), "b": tnn.Linear(3, 1)}).double()
    c = nn.ModuleDict({"a": nn.Linear(2, 3), "b": nn.Linear(3, 1)}).to(cr.float64)
    load_torch_weights(c, t)
    assert list(c.state_dict()) == list(t.state_dict())
    x = rand(4, 2)
    same(c["b"](c["a"](cr.tensor(x))), t["b"](t["a"](torch.tensor(x))))
    assert list(c.keys()) == ["a", "b"] and "a" in c and len(c) == 2
    c["z"] = nn.ReLU()
    assert list(c) == ["a", "b", "z"]
    with pytest.raises(TypeError, match="not a Module"):
        c["bad"] = 3

    tl = tnn.ParameterList([tnn.Parameter(torch.zeros(2)), torch.ones(3)])
    cl = nn.ParameterList([nn.Parameter(cr.zeros(2)), cr.ones(3)])
    assert list(cl.state_dict()) == list(tl.state_dict())
    assert all(isinstance(p, nn.Parameter) and p.requires_grad for p in cl)
    cl.append(cr.ones(1))
    assert len(cl) == 3 and len(list(cl.parameters())) == 3 and cl[-1].shape == (1,)
    assert "(0): Parameter containing: [torch.float32 of size 2x3]" in repr(
        nn.ParameterList([cr.zeros(2, 3)]))

    td = tnn.ParameterDict({"w": torch.zeros(2)})
    cd = nn.ParameterDict({"w": cr.zeros(2)})
    cd["v"] = cr.ones(1)
    td["v"] = torch.ones(1)
    assert list(cd.state_dict()) == list(td.state_dict()) == ["w", "v"]
    assert isinstance(cd["v"], nn.Parameter)


def test_unflatten_and_identity():
    x = cr.arange(24.0).reshape(2, 12)
    assert nn.Unflatten(1, (3, 4))(x).shape == (2, 3, 4)
    assert nn.Unflatten(-1, (2, 2, 3))(x).shape == (2, 2, 2, 3)
    assert nn.Identity(54, unused="x")(x) is x


@pytest.mark.parametrize("name", ["Linear", "Conv2d", "Dropout", "BatchNorm1d", "BatchNorm2d",
                                  "MaxPool2d", "Flatten", "LeakyReLU", "Softmax", "Embedding"])
def test_existing_layers_take_torchs_positional_parameters_first(name):
    """chainrule's extras (generator=) come after all of PyTorch's parameters."""
    if not hasattr(nn, name):
        pytest.skip(f"nn.{name} is another issue's")
    theirs = _params(getattr(tnn, name).__init__)
    assert _params(getattr(nn, name).__init__)[:len(theirs)] == theirs
