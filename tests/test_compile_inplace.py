"""cr.compile captures in-place ops on graph tensors (compile/inplace.py): the replayed steps
are bit-equal to eager mode; in-place ops on views and on tensors from outside still run
eagerly, saying why."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn as nn
import chainrule.nn.functional as F


class _Net(nn.Module):
    def __init__(self, how):
        super().__init__()
        self.a, self.b = nn.Linear(12, 20), nn.Linear(20, 5)
        self.how = how
        self.fill = cr.linspace(-1.0, 1.0, 20)

    def forward(self, x):
        h = self.a(x)
        if self.how == "add_":
            h.add_(self.b.bias.sum())
        elif self.how == "mul_":
            h.mul_(0.5)
            h += 1.0
        elif self.how == "masked_fill_":
            h.masked_fill_(h < 0, 0.0)
        elif self.how == "copy_":
            h.copy_(cr.tanh(h) * 2)
        elif self.how == "relu_":
            h = h.relu_()
        elif self.how == "copy_outside":  # a source from outside, then more in-place ops
            h.copy_(self.fill)
            h.mul_(self.a.bias.sum())
        return self.b(h)


def _train(how, compiled, dtype, steps=5):
    cr.manual_seed(0)
    model = _Net(how)
    if dtype == np.float64:
        model = model.double()
        model.fill = model.fill.double()
    opt = cr.optim.Adam(model.parameters(), lr=1e-2)

    def step(x, y):
        opt.zero_grad()
        out = model(x)
        loss = F.cross_entropy(out, y)
        loss.backward()
        opt.step()
        return loss, out

    fn = cr.compile(step) if compiled else step
    rng = np.random.default_rng(2)
    got = []
    for _ in range(steps):
        x = cr.tensor(rng.standard_normal((16, 12)).astype(dtype))
        y = cr.tensor(rng.integers(0, 5, 16))
        loss, out = fn(x, y)
        got.append((loss.detach().numpy().tobytes(), out.detach().numpy().tobytes()))
    got.append([p.detach().numpy().tobytes() for p in model.parameters()])
    got.append([p.grad.numpy().tobytes() for p in model.parameters()])
    return got, fn


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("how", ["add_", "mul_", "masked_fill_", "copy_", "relu_",
                                 "copy_outside"])
def test_inplace_on_graph_tensors_is_captured(how, dtype):
    eager, _ = _train(how, False, dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # captured: no fallback warning
        comp, fn = _train(how, True, dtype)
    assert len(fn.programs()) == 1
    assert comp == eager


def test_inplace_on_a_view_still_runs_eagerly_saying_why():
    model = nn.Linear(4, 6)
    opt = cr.optim.SGD(model.parameters(), lr=0.1)

    @cr.compile
    def step(x):
        opt.zero_grad()
        h = model(x)
        h[:, :2].mul_(2.0)
        h.sum().backward()
        opt.step()
        return h.sum()

    x = cr.randn(3, 4)
    with pytest.warns(UserWarning, match="in-place op mul_ on a view"):
        step(x)
    step(x)
    assert not step.programs()


def test_inplace_on_an_argument_that_requires_grad_is_not_captured():
    w = cr.randn(5, requires_grad=True)

    @cr.compile
    def f(x):
        y = x * 1.0
        z = y.detach()  # a tensor from outside the graph, changed in place with a graph one
        z.add_(w)
        return z.sum()

    with pytest.warns(UserWarning, match="runs eagerly"):
        for _ in range(3):
            f(cr.randn(5))
