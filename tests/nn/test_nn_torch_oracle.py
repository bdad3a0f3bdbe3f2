"""PyTorch as the oracle: every forward value and gradient of chainrule.nn against torch.nn.

Skipped when torch is not installed.
"""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import nn
from chainrule.nn import init
from chainrule.nn.utils import clip_grad_norm_

torch = pytest.importorskip("torch")
TF = torch.nn.functional

TOL = {np.float64: dict(rtol=1e-10, atol=1e-12), np.float32: dict(rtol=2e-5, atol=2e-6)}


def _both(fn_cr: Callable, fn_t: Callable, arrays: list[np.ndarray], grad: list[bool],
          tol: dict[str, float] | None = None, consts: tuple = ()) -> None:
    """Compare fn(*tensors) and the gradients of sum(out * v) for a random cotangent v."""
    dt = arrays[0].dtype.type
    tol = tol or TOL[dt]
    xs = [cr.tensor(a, requires_grad=g) for a, g in zip(arrays, grad)]
    ts = [torch.tensor(a, requires_grad=g) for a, g in zip(arrays, grad)]
    out_c = fn_cr(*xs)
    out_t = fn_t(*ts)
    assert out_c.shape == tuple(out_t.shape)
    assert out_c.dtype == np.dtype(str(out_t.dtype).replace("torch.", ""))
    np.testing.assert_allclose(out_c.detach().numpy(), out_t.detach().numpy(), **tol)
    if not any(grad):
        return
    v = np.random.default_rng(1).standard_normal(out_c.shape).astype(arrays[0].dtype)
    (out_c * cr.tensor(v)).sum().backward()
    (out_t * torch.tensor(v)).sum().backward()
    for i, (x, t, g) in enumerate(zip(xs, ts, grad)):
        if g:
            np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), err_msg=f"input {i}",
                                       **tol)


def _x(shape: tuple[int, ...], dtype: Any = np.float64, seed: int = 0,
       scale: float = 2.0) -> np.ndarray:
    return (np.random.default_rng(seed).standard_normal(shape) * scale).astype(dtype)


DTYPES = [np.float64, np.float32]

ACTIVATIONS: dict[str, tuple[Callable, Callable]] = {
    "relu": (F.relu, TF.relu),
    "leaky_relu": (lambda x: F.leaky_relu(x, 0.1), lambda x: TF.leaky_relu(x, 0.1)),
    "gelu": (F.gelu, TF.gelu),
    "gelu_tanh": (lambda x: F.gelu(x, approximate="tanh"),
                  lambda x: TF.gelu(x, approximate="tanh")),
    "elu": (lambda x: F.elu(x, 0.7), lambda x: TF.elu(x, 0.7)),
    "silu": (F.silu, TF.silu),
    "sigmoid": (F.sigmoid, torch.sigmoid),
    "tanh": (F.tanh, torch.tanh),
    "softmax0": (lambda x: F.softmax(x, 0), lambda x: TF.softmax(x, 0)),
    "softmax1": (lambda x: F.softmax(x, 1), lambda x: TF.softmax(x, 1)),
    "log_softmax": (lambda x: F.log_softmax(x, -1), lambda x: TF.log_softmax(x, -1)),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activations(name: str, dtype: Any) -> None:
    fc, ft = ACTIVATIONS[name]
    tol = None
    if name == "gelu":  # NOTE: erf is a fit with relative error < 1.2e-7 (no erf primitive)
        tol = dict(rtol=3e-7, atol=3e-7) if dtype is np.float64 else dict(rtol=3e-5, atol=3e-6)
    x = _x((6, 7), dtype)
    x[0, :3] = 0.0  # the kinks: conventions at 0 must match
    _both(fc, ft, [x], [True], tol)


@pytest.mark.parametrize("dtype", DTYPES)
def test_activations_extreme_inputs(dtype: Any) -> None:
    x = np.array([[-1e4, -80.0, -1.0, 0.0, 1.0, 80.0, 1e4]], dtype=dtype)
    for name, (fc, ft) in ACTIVATIONS.items():
        if name == "softmax0":
            continue
        tol = dict(rtol=3e-7, atol=3e-7) if name == "gelu" else None
        if dtype is np.float32:
            tol = dict(rtol=3e-5, atol=3e-6)
        _both(fc, ft, [x], [True], tol)


def test_activation_modules_match_torch_modules() -> None:
    pairs = [(nn.ReLU(), torch.nn.ReLU()), (nn.LeakyReLU(0.2), torch.nn.LeakyReLU(0.2)),
             (nn.ELU(), torch.nn.ELU()), (nn.SiLU(), torch.nn.SiLU()),
             (nn.GELU("tanh"), torch.nn.GELU("tanh")), (nn.Sigmoid(), torch.nn.Sigmoid()),
             (nn.Tanh(), torch.nn.Tanh()), (nn.Softmax(1), torch.nn.Softmax(1)),
             (nn.LogSoftmax(1), torch.nn.LogSoftmax(1)), (nn.Flatten(), torch.nn.Flatten()),
             (nn.Identity(), torch.nn.Identity()), (nn.GELU(), torch.nn.GELU())]
    x = _x((3, 4))
    for mc, mt in pairs:
        assert repr(mc) == repr(mt)
        tol = dict(rtol=3e-7, atol=3e-7) if isinstance(mc, nn.GELU) else None
        _both(mc, mt, [x], [True], tol)
    x4 = _x((2, 3, 4, 5))
    for args in [(), (0,), (1, 2), (-2, -1)]:
        _both(nn.Flatten(*args), torch.nn.Flatten(*args), [x4], [True])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(5, 4), (4,), (2, 3, 4)])
@pytest.mark.parametrize("bias", [True, False])
def test_linear(dtype: Any, shape: tuple[int, ...], bias: bool) -> None:
    w, b = _x((3, 4), dtype, 1), _x((3,), dtype, 2)
    x = _x(shape, dtype)
    if bias:
        _both(F.linear, TF.linear, [x, w, b], [True, True, True])
    else:
        _both(F.linear, TF.linear, [x, w], [True, True])
    mc = nn.Linear(4, 3, bias=bias, dtype=dtype)
    mt = torch.nn.Linear(4, 3, bias=bias, dtype=getattr(torch, np.dtype(dtype).name))
    assert repr(mc) == repr(mt)
    mc.load_state_dict({k: v.detach().numpy() for k, v in mt.state_dict().items()})
    _both(mc, mt, [x], [True])


def test_linear_default_init_matches_torch_rule() -> None:
    # Same distribution: U(-1/sqrt(in), 1/sqrt(in)) for weight and bias
    for fan_in, fan_out in [(64, 128), (10, 300), (300, 10)]:
        mc = nn.Linear(fan_in, fan_out, generator=cr.Generator().manual_seed(0))
        torch.manual_seed(0)
        mt = torch.nn.Linear(fan_in, fan_out)
        for name in ("weight", "bias"):
            a, b = getattr(mc, name).detach().numpy(), getattr(mt, name).detach().numpy()
            bound = 1 / math.sqrt(fan_in)
            assert np.abs(a).max() <= bound and np.abs(b).max() <= bound
            if a.size > 1000:
                assert abs(a.std() - b.std()) < 0.05 * bound


def test_init_gain_and_fans_match_torch() -> None:
    for name in ["linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d",
                 "conv_transpose2d", "conv_transpose3d", "sigmoid", "tanh", "relu",
                 "leaky_relu", "selu"]:
        assert init.calculate_gain(name) == pytest.approx(torch.nn.init.calculate_gain(name))
    for slope in (0, 0.2, 3):
        assert init.calculate_gain("leaky_relu", slope) == pytest.approx(
            torch.nn.init.calculate_gain("leaky_relu", slope))
    for shape in [(5, 3), (8, 4, 3, 3), (2, 7, 5), (1, 1)]:
        ours = init._calculate_fan_in_and_fan_out(cr.empty(*shape))
        theirs = torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(*shape))
        assert ours == theirs


@pytest.mark.parametrize("fn", ["xavier_uniform_", "xavier_normal_", "kaiming_uniform_",
                                "kaiming_normal_"])
def test_init_std_matches_torch(fn: str) -> None:
    kwargs = {} if fn.startswith("xavier") else dict(a=0.3, mode="fan_out")
    if fn.startswith("xavier"):
        kwargs = dict(gain=1.7)
    ours = getattr(init, fn)(cr.empty(300, 200, dtype=cr.float64),
                             generator=cr.Generator().manual_seed(0), **kwargs)
    torch.manual_seed(0)
    theirs = getattr(torch.nn.init, fn)(torch.empty(300, 200, dtype=torch.float64), **kwargs)
    assert abs(ours.numpy().std() / theirs.numpy().std() - 1) < 0.02
    if fn.endswith("uniform_"):
        assert abs(np.abs(ours.numpy()).max() / np.abs(theirs.numpy()).max() - 1) < 0.01


# -- losses ------------------------------------------------------------------------------------

REDUCTIONS = ["mean", "sum", "none"]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_regression_losses(dtype: Any, reduction: str) -> None:
    x, y = _x((4, 5), dtype), _x((4, 5), dtype, 1)
    _both(lambda a, b: F.mse_loss(a, b, reduction=reduction),
          lambda a, b: TF.mse_loss(a, b, reduction=reduction), [x, y], [True, True])
    _both(lambda a, b: F.l1_loss(a, b, reduction=reduction),
          lambda a, b: TF.l1_loss(a, b, reduction=reduction), [x, y], [True, True])
    _both(nn.MSELoss(reduction=reduction), torch.nn.MSELoss(reduction=reduction), [x, y],
          [True, False])


CE_CASES = [
    dict(),
    dict(weight=True),
    dict(ignore_index=-100, ignore=True),
    dict(ignore_index=2, ignore=True),
    dict(label_smoothing=0.1),
    dict(weight=True, label_smoothing=0.25, ignore=True),
    dict(weight=True, ignore=True),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("case", range(len(CE_CASES)))
@pytest.mark.parametrize("shape", [(6, 4), (3, 4, 2, 2), (4,)])
def test_cross_entropy(dtype: Any, reduction: str, case: int, shape: tuple[int, ...]) -> None:
    opts = dict(CE_CASES[case])
    ignore = opts.pop("ignore", False)
    ignore_index = opts.get("ignore_index", -100)
    x = _x(shape, dtype, scale=3.0)
    C = shape[0] if len(shape) == 1 else shape[1]
    tshape = () if len(shape) == 1 else (shape[0],) + shape[2:]
    t = np.random.default_rng(5).integers(0, C, tshape)
    if ignore and t.ndim:
        t.reshape(-1)[1] = ignore_index
    kw_c: dict[str, Any] = dict(reduction=reduction, **opts)
    kw_t: dict[str, Any] = dict(reduction=reduction, **opts)
    if opts.get("weight"):
        w = np.random.default_rng(3).uniform(0.5, 2, C).astype(dtype)
        kw_c["weight"], kw_t["weight"] = cr.tensor(w), torch.tensor(w)
    _both(lambda a: F.cross_entropy(a, cr.tensor(t), **kw_c),
          lambda a: TF.cross_entropy(a, torch.tensor(t), **kw_t), [x], [True])
    _both(lambda a: nn.CrossEntropyLoss(**kw_c)(a, cr.tensor(t)),
          lambda a: torch.nn.CrossEntropyLoss(**kw_t)(a, torch.tensor(t)), [x], [True])
    if not opts.get("label_smoothing"):
        kw_c.pop("label_smoothing", None)
        kw_t.pop("label_smoothing", None)
        _both(lambda a: F.nll_loss(F.log_softmax(a, 0 if len(shape) == 1 else 1),
                                   cr.tensor(t), **kw_c),
              lambda a: TF.nll_loss(TF.log_softmax(a, 0 if len(shape) == 1 else 1),
                                    torch.tensor(t), **kw_t), [x], [True])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("eps", [0.0, 0.3])
def test_cross_entropy_probabilities(dtype: Any, reduction: str, eps: float) -> None:
    x = _x((5, 4), dtype)
    q = np.random.default_rng(2).dirichlet(np.ones(4), 5).astype(dtype)
    w = np.random.default_rng(3).uniform(0.5, 2, 4).astype(dtype)
    _both(lambda a, b: F.cross_entropy(a, b, cr.tensor(w), reduction=reduction,
                                       label_smoothing=eps),
          lambda a, b: TF.cross_entropy(a, b, torch.tensor(w), reduction=reduction,
                                        label_smoothing=eps), [x, q], [True, True])


@pytest.mark.parametrize("dtype", DTYPES)
def test_cross_entropy_extreme_logits(dtype: Any) -> None:
    x = np.array([[1e4, -1e4, 0.0], [0.0, 0.0, 1e4], [-1e4, -1e4, -1e4]], dtype=dtype)
    t = np.array([1, 2, 0])
    _both(lambda a: F.cross_entropy(a, cr.tensor(t)),
          lambda a: TF.cross_entropy(a, torch.tensor(t)), [x], [True])
    xm = np.array([[0.0, -np.inf, 1.0], [2.0, 0.0, -np.inf]], dtype=dtype)
    tm = np.array([0, 1])
    _both(lambda a: F.cross_entropy(a, cr.tensor(tm), reduction="none"),
          lambda a: TF.cross_entropy(a, torch.tensor(tm), reduction="none"), [xm], [True])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_binary_cross_entropy(dtype: Any, reduction: str) -> None:
    rng = np.random.default_rng(0)
    p = rng.uniform(0.02, 0.98, (4, 3)).astype(dtype)
    y = rng.uniform(0, 1, (4, 3)).astype(dtype)
    w = rng.uniform(0.5, 2, (3,)).astype(dtype)
    _both(lambda a, b: F.binary_cross_entropy(a, b, reduction=reduction),
          lambda a, b: TF.binary_cross_entropy(a, b, reduction=reduction), [p, y],
          [True, False])
    _both(lambda a: nn.BCELoss(weight=cr.tensor(w), reduction=reduction)(a, cr.tensor(y)),
          lambda a: torch.nn.BCELoss(weight=torch.tensor(w), reduction=reduction)(
              a, torch.tensor(y)), [p], [True])
    # saturated probabilities: the clamp at -100 (values only; PyTorch's gradient at exactly
    # 0 or 1 is a 1e12-sized artefact of its clamped denominator)
    ps = np.array([0.0, 1.0, 1e-30, 1 - 1e-7], dtype=dtype)
    ys = np.array([1.0, 0.0, 1.0, 0.0], dtype=dtype)
    _both(lambda a: F.binary_cross_entropy(a, cr.tensor(ys), reduction=reduction),
          lambda a: TF.binary_cross_entropy(a, torch.tensor(ys), reduction=reduction),
          [ps], [False])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_binary_cross_entropy_with_logits(dtype: Any, reduction: str) -> None:
    rng = np.random.default_rng(0)
    x = _x((4, 3), dtype, scale=4.0)
    x[0] = [0.0, 1e4, -1e4]
    y = rng.uniform(0, 1, (4, 3)).astype(dtype)
    w = rng.uniform(0.5, 2, (4, 1)).astype(dtype)
    pw = rng.uniform(0.5, 3, (3,)).astype(dtype)
    _both(lambda a, b: F.binary_cross_entropy_with_logits(a, b, reduction=reduction),
          lambda a, b: TF.binary_cross_entropy_with_logits(a, b, reduction=reduction),
          [x, y], [True, True])
    _both(lambda a, b: nn.BCEWithLogitsLoss(cr.tensor(w), reduction=reduction,
                                            pos_weight=cr.tensor(pw))(a, b),
          lambda a, b: torch.nn.BCEWithLogitsLoss(torch.tensor(w), reduction=reduction,
                                                  pos_weight=torch.tensor(pw))(a, b),
          [x, y], [True, True])


def test_one_hot_matches_torch() -> None:
    t = np.array([[0, 3], [2, 1]])
    np.testing.assert_array_equal(F.one_hot(cr.tensor(t)).numpy(),
                                  TF.one_hot(torch.tensor(t)).numpy())
    np.testing.assert_array_equal(F.one_hot(cr.tensor(t), 6).numpy(),
                                  TF.one_hot(torch.tensor(t), 6).numpy())


# -- modules as a whole ------------------------------------------------------------------------


class _Cr(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("scale", cr.ones(1))
        self.body = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Dropout(0.1),
                                  nn.Linear(8, 3, bias=False))
        self.head = nn.ModuleList([nn.Linear(3, 3), nn.Linear(3, 3), nn.Tanh()])


class _Torch(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("scale", torch.ones(1))
        self.body = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(),
                                        torch.nn.Dropout(0.1), torch.nn.Linear(8, 3, bias=False))
        self.head = torch.nn.ModuleList([torch.nn.Linear(3, 3), torch.nn.Linear(3, 3),
                                         torch.nn.Tanh()])


def test_module_tree_matches_torch() -> None:
    a, b = _Cr(), _Torch()
    assert repr(a).replace("_Cr", "X") == repr(b).replace("_Torch", "X")
    assert list(a.state_dict()) == list(b.state_dict())
    assert [n for n, _ in a.named_parameters()] == [n for n, _ in b.named_parameters()]
    assert [n for n, _ in a.named_modules()] == [n for n, _ in b.named_modules()]
    assert [n for n, _ in a.named_children()] == [n for n, _ in b.named_children()]
    assert [tuple(p.shape) for p in a.parameters()] == [tuple(p.shape) for p in b.parameters()]
    # a torch checkpoint (as arrays) loads into the chainrule model
    a.load_state_dict({k: v.numpy() for k, v in b.state_dict().items()})
    x = _x((5, 4), np.float32)
    a.eval(), b.eval()
    out_a = a.head[2](a.head[0](a.body(cr.tensor(x))))
    out_b = b.head[2](b.head[0](b.body(torch.tensor(x))))
    np.testing.assert_allclose(out_a.detach().numpy(), out_b.detach().numpy(), rtol=1e-5, atol=1e-6)


def test_mlp_training_step_matches_torch() -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((32, 64)).astype(np.float32)
    y = rng.integers(0, 10, 32)
    mc = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10))
    mt = torch.nn.Sequential(torch.nn.Linear(64, 128), torch.nn.ReLU(), torch.nn.Linear(128, 10))
    mc.load_state_dict({k: v.detach().numpy() for k, v in mt.state_dict().items()})
    lc = F.cross_entropy(mc(cr.tensor(x)), cr.tensor(y))
    lt = TF.cross_entropy(mt(torch.tensor(x)), torch.tensor(y))
    lc.backward()
    lt.backward()
    np.testing.assert_allclose(lc.item(), lt.item(), rtol=1e-6)
    for (n, p), q in zip(mc.named_parameters(), mt.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-4, atol=1e-6,
                                   err_msg=n)
    total_c = clip_grad_norm_(mc.parameters(), 0.1)
    total_t = torch.nn.utils.clip_grad_norm_(mt.parameters(), 0.1)
    np.testing.assert_allclose(total_c.item(), total_t.item(), rtol=1e-5)
    for p, q in zip(mc.parameters(), mt.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-4, atol=1e-7)
