"""nn.utils: gradient clipping and parameter vectors."""

from __future__ import annotations

import math

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.nn.utils import (
    clip_grad_norm_,
    clip_grad_value_,
    parameters_to_vector,
    vector_to_parameters,
)


def _params_with_grads(grads: list[np.ndarray]) -> list[nn.Parameter]:
    ps = []
    for g in grads:
        p = nn.Parameter(cr.zeros(*g.shape, dtype=cr.float64))
        p.grad = cr.tensor(g)
        ps.append(p)
    return ps


def test_clip_grad_norm_scales_and_returns_total() -> None:
    rng = np.random.default_rng(0)
    gs = [rng.standard_normal((3, 4)), rng.standard_normal(5)]
    total = math.sqrt(sum((g ** 2).sum() for g in gs))
    ps = _params_with_grads(gs)
    out = clip_grad_norm_(ps, max_norm=1.0)
    assert out.item() == pytest.approx(total)
    clipped = math.sqrt(sum(float((p.grad.numpy() ** 2).sum()) for p in ps))
    assert clipped == pytest.approx(1.0, rel=1e-5)
    for p, g in zip(ps, gs):
        np.testing.assert_allclose(p.grad.numpy(), g / (total + 1e-6))
    # under the limit: unchanged
    ps = _params_with_grads(gs)
    clip_grad_norm_(ps, max_norm=100.0)
    for p, g in zip(ps, gs):
        np.testing.assert_array_equal(p.grad.numpy(), g)


def test_clip_grad_norm_other_norms() -> None:
    gs = [np.array([3.0, -4.0]), np.array([[1.0, -7.0]])]
    assert clip_grad_norm_(_params_with_grads(gs), 1e9, norm_type=math.inf).item() == 7.0
    l1 = clip_grad_norm_(_params_with_grads(gs), 1e9, norm_type=1).item()
    assert l1 == 15.0
    ps = _params_with_grads(gs)
    ps.append(nn.Parameter(cr.zeros(2)))  # no grad: skipped
    assert clip_grad_norm_(ps, 1e9).item() == pytest.approx(math.sqrt(75))
    assert clip_grad_norm_([], 1.0).item() == 0.0
    bad = _params_with_grads([np.array([np.inf, 1.0])])
    with pytest.raises(RuntimeError, match="inf"):
        clip_grad_norm_(bad, 1.0, error_if_nonfinite=True)


def test_clip_grad_norm_accepts_a_single_tensor_and_generators() -> None:
    fc = nn.Linear(3, 3)
    (fc(cr.ones(2, 3)) * 100).sum().backward()
    total = clip_grad_norm_(fc.parameters(), 0.5)
    assert total.item() > 0.5
    now = math.sqrt(sum(float((p.grad.numpy().astype(np.float64) ** 2).sum())
                        for p in fc.parameters()))
    assert now == pytest.approx(0.5, rel=1e-4)
    w = fc.weight
    clip_grad_norm_(w, 0.1)
    assert float((w.grad * w.grad).sum()) ** 0.5 == pytest.approx(0.1, rel=1e-4)


def test_clip_grad_value() -> None:
    ps = _params_with_grads([np.array([-3.0, 0.5, 2.0])])
    clip_grad_value_(ps, 1.0)
    np.testing.assert_array_equal(ps[0].grad.numpy(), [-1.0, 0.5, 1.0])
    with pytest.raises(ValueError):
        clip_grad_value_(ps, -1.0)


def test_parameters_vector_round_trip() -> None:
    fc = nn.Linear(3, 2)
    v = parameters_to_vector(fc.parameters())
    assert v.shape == (8,)
    np.testing.assert_array_equal(v.detach().numpy()[:6], fc.weight.detach().numpy().ravel())
    v.sum().backward()  # differentiable
    assert fc.weight.grad is not None
    vector_to_parameters(cr.arange(8, dtype=cr.float32), fc.parameters())
    assert fc.bias.tolist() == [6.0, 7.0]
    with pytest.raises(ValueError, match="8 elements"):
        vector_to_parameters(cr.zeros(7), fc.parameters())
