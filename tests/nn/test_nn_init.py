"""nn.init: statistics, fan and gain rules, seeding, in-place semantics."""

from __future__ import annotations

import math

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.nn import init
from chainrule.nn.init import _calculate_fan_in_and_fan_out


def test_calculate_gain() -> None:
    for name in ("linear", "conv2d", "sigmoid", "conv_transpose1d"):
        assert init.calculate_gain(name) == 1.0
    assert init.calculate_gain("tanh") == pytest.approx(5 / 3)
    assert init.calculate_gain("relu") == pytest.approx(math.sqrt(2))
    assert init.calculate_gain("leaky_relu") == pytest.approx(math.sqrt(2 / (1 + 0.01 ** 2)))
    assert init.calculate_gain("leaky_relu", 0.2) == pytest.approx(math.sqrt(2 / 1.04))
    assert init.calculate_gain("leaky_relu", 0) == pytest.approx(math.sqrt(2))
    assert init.calculate_gain("selu") == 0.75
    with pytest.raises(ValueError, match="unsupported nonlinearity 'swish'"):
        init.calculate_gain("swish")


def test_fans() -> None:
    assert _calculate_fan_in_and_fan_out(cr.empty(5, 3)) == (3, 5)
    assert _calculate_fan_in_and_fan_out(cr.empty(8, 4, 3, 3)) == (36, 72)
    with pytest.raises(ValueError, match="at least 2 dims"):
        _calculate_fan_in_and_fan_out(cr.empty(5))
    with pytest.raises(ValueError, match="at least 2 dims"):
        init.xavier_uniform_(cr.empty(5))


def _stats(t: cr.Tensor) -> tuple[float, float]:
    a = t.numpy().astype(np.float64)
    return float(a.mean()), float(a.std())


@pytest.mark.parametrize("shape", [(400, 300), (64, 32, 3, 3)])
def test_distribution_statistics(shape: tuple[int, ...]) -> None:
    g = cr.Generator().manual_seed(0)
    fan_in, fan_out = _calculate_fan_in_and_fan_out(cr.empty(*shape))
    cases = {
        "uniform": (lambda t: init.uniform_(t, -0.5, 1.5, generator=g), 0.5, 2 / math.sqrt(12)),
        "normal": (lambda t: init.normal_(t, 0.3, 2.0, generator=g), 0.3, 2.0),
        "xavier_uniform": (lambda t: init.xavier_uniform_(t, gain=2.0, generator=g), 0.0,
                           2.0 * math.sqrt(2 / (fan_in + fan_out))),
        "xavier_normal": (lambda t: init.xavier_normal_(t, generator=g), 0.0,
                          math.sqrt(2 / (fan_in + fan_out))),
        "kaiming_uniform": (lambda t: init.kaiming_uniform_(t, nonlinearity="relu",
                                                            generator=g),
                            0.0, math.sqrt(2 / fan_in)),
        "kaiming_normal": (lambda t: init.kaiming_normal_(t, mode="fan_out", generator=g),
                           0.0, math.sqrt(2 / fan_out)),
        "kaiming_uniform_a5": (lambda t: init.kaiming_uniform_(t, a=math.sqrt(5), generator=g),
                               0.0, 1 / math.sqrt(3 * fan_in)),
    }
    for name, (fn, mean, std) in cases.items():
        t = cr.empty(*shape)
        out = fn(t)
        assert out is t, name
        m, s = _stats(t)
        n = t.numel()
        assert abs(m - mean) < 5 * std / math.sqrt(n) + 1e-12, name
        assert abs(s - std) < 0.02 * std, name


def test_uniform_bounds() -> None:
    t = init.kaiming_uniform_(cr.empty(50, 40), a=math.sqrt(5))
    assert float(t.abs().max()) <= 1 / math.sqrt(40)
    t = init.xavier_uniform_(cr.empty(50, 40))
    assert float(t.abs().max()) <= math.sqrt(6 / 90)


def test_constant_fills() -> None:
    t = cr.empty(3, 2)
    assert init.ones_(t) is t and t.tolist() == [[1.0] * 2] * 3
    init.zeros_(t)
    assert float(t.abs().sum()) == 0.0
    init.constant_(t, -2.5)
    assert set(t.numpy().ravel()) == {-2.5}


def test_init_is_in_place_and_outside_the_graph() -> None:
    fc = nn.Linear(3, 2)
    w = fc.weight
    before = w._version
    out = init.normal_(fc.weight)
    assert out is w and fc.weight is w
    assert w.requires_grad and w.is_leaf and w.grad_fn is None
    assert w._version > before
    fc(cr.ones(1, 3)).sum().backward()  # still a working leaf
    assert w.grad is not None
    d = cr.empty(3, 3, dtype=cr.float64)
    init.normal_(d)
    assert d.dtype == cr.float64
    with pytest.raises(TypeError, match="floating-point"):
        init.normal_(cr.zeros(2, dtype=cr.int64))
    with pytest.raises(ValueError, match="mode"):
        init.kaiming_normal_(cr.empty(2, 2), mode="fan_avg")


def test_same_seed_same_weights() -> None:
    for fn in (init.uniform_, init.normal_, init.xavier_uniform_, init.xavier_normal_,
               init.kaiming_uniform_, init.kaiming_normal_):
        cr.manual_seed(11)
        a = fn(cr.empty(6, 5))
        cr.manual_seed(11)
        b = fn(cr.empty(6, 5))
        np.testing.assert_array_equal(a.numpy(), b.numpy())
        c = fn(cr.empty(6, 5))
        assert not np.array_equal(a.numpy(), c.numpy())
        ga, gb = cr.Generator().manual_seed(5), cr.Generator().manual_seed(5)
        np.testing.assert_array_equal(fn(cr.empty(6, 5), generator=ga).numpy(),
                                      fn(cr.empty(6, 5), generator=gb).numpy())


def test_model_weights_reproducible_with_manual_seed() -> None:
    def build() -> nn.Module:
        return nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 4))

    cr.manual_seed(0)
    a = build()
    cr.manual_seed(0)
    b = build()
    for (n, p), (_, q) in zip(a.named_parameters(), b.named_parameters()):
        np.testing.assert_array_equal(p.detach().numpy(), q.detach().numpy(), err_msg=n)
