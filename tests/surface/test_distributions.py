"""cr.distributions against torch.distributions in float64: log_prob, entropy, mean,
variance, shapes, gradients; sampling statistics; PyTorch's argument errors."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.distributions import Bernoulli, Categorical, Normal

torch = pytest.importorskip("torch")
TD = torch.distributions


def same(a, b, tol=1e-10):
    a = a.detach().numpy() if hasattr(a, "detach") else np.asarray(a)
    b = b.detach().numpy() if hasattr(b, "detach") else np.asarray(b)
    assert a.shape == b.shape, (a.shape, b.shape)
    np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


def pair(arr):
    return (cr.tensor(arr, requires_grad=True), torch.tensor(arr, requires_grad=True))


def check_grads(c_out, t_out, c_in, t_in):
    # retain_graph: the distribution's parameters (probs -> logits) are computed once and
    # shared by log_prob and entropy, in torch as here
    c_out.sum().backward(retain_graph=True)
    t_out.sum().backward(retain_graph=True)
    for a, b in zip(c_in, t_in):
        same(a.grad, b.grad)
        a.grad, b.grad = None, None


@pytest.mark.parametrize("use", ["probs", "logits"])
def test_categorical_matches_torch(use):
    rng = np.random.default_rng(0)
    arr = rng.uniform(0.1, 1.0, (3, 4)) if use == "probs" else rng.standard_normal((3, 4))
    cp, tp = pair(arr)
    c, t = Categorical(**{use: cp}), TD.Categorical(**{use: tp})
    assert c.batch_shape == tuple(t.batch_shape) and c.event_shape == tuple(t.event_shape)
    assert c.param_shape == tuple(t.param_shape)
    same(c.probs, t.probs)
    same(c.logits, t.logits)
    v = np.array([0, 3, 1])
    check_grads(c.log_prob(cr.tensor(v)), t.log_prob(torch.tensor(v)), [cp], [tp])
    check_grads(c.entropy(), t.entropy(), [cp], [tp])
    vb = np.array([[0], [2]])  # broadcast against the batch, as torch does
    same(c.log_prob(cr.tensor(vb)), t.log_prob(torch.tensor(vb)))
    same(c.mode, t.mode)
    assert np.isnan(c.mean.numpy()).all() and c.mean.shape == tuple(t.mean.shape)
    same(c.enumerate_support(), t.enumerate_support())
    assert c.sample().shape == (3,) and c.sample((5, 2)).shape == (5, 2, 3)
    assert c.sample().dtype == cr.int64
    assert repr(Categorical(**{use: cp})) == repr(TD.Categorical(**{use: tp}))


def test_categorical_sampling_frequencies():
    cr.manual_seed(0)
    c = Categorical(probs=cr.tensor([0.1, 0.6, 0.3], dtype=cr.float64))
    s = c.sample((20000,)).numpy()
    np.testing.assert_allclose(np.bincount(s, minlength=3) / 20000, [0.1, 0.6, 0.3], atol=0.02)


def test_normal_matches_torch():
    rng = np.random.default_rng(1)
    loc, scale = rng.standard_normal((2, 3)), rng.uniform(0.5, 2.0, (3,))
    cl, tl = pair(loc)
    cs, ts = pair(scale)
    c, t = Normal(cl, cs), TD.Normal(tl, ts)
    assert c.batch_shape == tuple(t.batch_shape) == (2, 3) and c.has_rsample
    v = rng.standard_normal((2, 3))
    check_grads(c.log_prob(cr.tensor(v)), t.log_prob(torch.tensor(v)), [cl, cs], [tl, ts])
    check_grads(c.entropy(), t.entropy(), [cs], [ts])
    same(c.mean, t.mean)
    same(c.variance, t.variance)
    same(c.stddev, t.stddev)
    cr.manual_seed(0)
    r = c.rsample((4,))
    assert r.shape == (4, 2, 3) and r.requires_grad
    r.sum().backward()
    np.testing.assert_allclose(cl.grad.numpy(), np.full((2, 3), 4.0))  # d(loc + eps s)/dloc
    assert not c.sample().requires_grad
    n = Normal(0.0, 1.0)
    same(n.log_prob(cr.tensor(0.5)), TD.Normal(0.0, 1.0).log_prob(torch.tensor(0.5)), 1e-6)
    assert n.loc.dtype == cr.float32 and n.batch_shape == ()
    assert repr(n) == repr(TD.Normal(0.0, 1.0))


def test_normal_sampling_statistics():
    cr.manual_seed(0)
    s = Normal(cr.tensor(2.0, dtype=cr.float64), cr.tensor(0.5, dtype=cr.float64)).sample(
        (40000,)).numpy()
    assert abs(s.mean() - 2.0) < 0.01 and abs(s.std() - 0.5) < 0.01


@pytest.mark.parametrize("use", ["probs", "logits"])
def test_bernoulli_matches_torch(use):
    rng = np.random.default_rng(2)
    arr = rng.uniform(0.05, 0.95, (4,)) if use == "probs" else rng.standard_normal((4,))
    cp, tp = pair(arr)
    c, t = Bernoulli(**{use: cp}), TD.Bernoulli(**{use: tp})
    v = np.array([1.0, 0.0, 0.0, 1.0])
    check_grads(c.log_prob(cr.tensor(v)), t.log_prob(torch.tensor(v)), [cp], [tp])
    check_grads(c.entropy(), t.entropy(), [cp], [tp])
    same(c.mean, t.mean)
    same(c.variance, t.variance)
    same(c.probs, t.probs)
    same(c.logits, t.logits)
    assert not c.has_rsample
    with pytest.raises(NotImplementedError, match="score-function"):
        c.rsample()
    cr.manual_seed(0)
    s = Bernoulli(probs=cr.full((20000,), 0.3, dtype=cr.float64)).sample().numpy()
    assert set(np.unique(s)) == {0.0, 1.0} and abs(s.mean() - 0.3) < 0.02


def test_reinforce_style_policy_gradient_matches_torch():
    rng = np.random.default_rng(3)
    logits = rng.standard_normal((5, 3))
    actions, rewards = np.array([0, 2, 1, 1, 0]), rng.standard_normal(5)
    cl, tl = pair(logits)
    lc = -(Categorical(logits=cl.softmax(-1) * 2).log_prob(cr.tensor(actions))
           * cr.tensor(rewards)).sum()
    lt = -(TD.Categorical(logits=tl.softmax(-1) * 2).log_prob(torch.tensor(actions))
           * torch.tensor(rewards)).sum()
    same(lc, lt)
    lc.backward()
    lt.backward()
    same(cl.grad, tl.grad)


def test_errors_like_torch():
    with pytest.raises(ValueError, match="GreaterThan"):
        Normal(0.0, -1.0)
    with pytest.raises(ValueError, match="either probs or logits"):
        Categorical(probs=cr.ones(2), logits=cr.ones(2))
    with pytest.raises(ValueError, match="within the support"):
        Categorical(probs=cr.ones(3)).log_prob(cr.tensor([5]))
    with pytest.raises(ValueError, match="must be a Tensor"):
        Normal(0.0, 1.0).log_prob(0.5)
    with pytest.raises(NotImplementedError, match="torch.distributions.Gamma"):
        cr.distributions.Gamma  # noqa: B018
