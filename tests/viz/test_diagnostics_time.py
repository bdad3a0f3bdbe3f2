"""Diagnostics of gradients through time: the norm per time step of every recurrent layer,
vanishing and exploding named with their arithmetic, clipping suggested."""

import math

import chainrule as cr
from chainrule import nn
from chainrule.core.primitives import recurrent
from chainrule.viz import Diagnostics


def _steps(model, x, n=4, scale=None):
    cr.manual_seed(0)
    if scale is not None:
        with cr.no_grad():
            model.weight_hh_l0.mul_(scale)
    diag = Diagnostics(model)
    for _ in range(n):
        out, _ = model(x)
        diag.backward(out[:, -1].sum())
        for p in model.parameters():
            p.grad = None
    return diag


def test_norms_per_time_step_equal_the_gradient_of_each_step():
    cr.manual_seed(0)
    rnn = nn.RNN(3, 4, batch_first=True).double()
    x = cr.randn(2, 5, 3, dtype=cr.float64)
    diag = Diagnostics(rnn)
    out, _ = rnn(x)
    diag.backward(out[:, -1].sum())
    norms = diag.history[-1]["time_grad"]["rnn tanh 1"]
    # the reference: the gradient of the same loss at each step's pre-activation, by autograd
    # through the composite recurrence (create_graph makes the layer differentiable twice)
    W, U = rnn.weight_ih_l0, rnn.weight_hh_l0
    b = rnn.bias_ih_l0 + rnn.bias_hh_l0
    h, pre = cr.zeros(2, 4, dtype=cr.float64), []
    for t in range(5):
        z = x[:, t] @ W.T + h @ U.T + b
        z.retain_grad()
        pre.append(z)
        h = cr.tanh(z)
    h.sum().backward()
    ref = [math.sqrt(float((z.grad * z.grad).sum())) for z in pre]
    assert len(norms) == 5 and all(abs(a - r) < 1e-12 for a, r in zip(norms, ref))
    assert recurrent.STEP_GRAD_OBSERVERS == []  # nothing left listening after the step


def test_vanishing_through_time_is_named_with_its_arithmetic():
    x = cr.randn(8, 40, 2)
    diag = _steps(nn.RNN(2, 8, batch_first=True), x, scale=0.2)
    (w,) = [w for w in diag.warnings() if "through time" in w]
    assert w.startswith("rnn tanh 1: vanishing gradients through time") and "^39 =" in w
    assert diag.summary()["time_steps"] == {"rnn tanh 1": 40}


def test_exploding_through_time_suggests_clipping():
    x = cr.randn(8, 30, 2)
    diag = _steps(nn.RNN(2, 8, batch_first=True, nonlinearity="relu"), x, scale=8.0)
    (w,) = [w for w in diag.warnings() if "through time" in w]
    assert "exploding gradients through time" in w and "clip_grad_norm_" in w


def test_lstm_layers_and_directions_are_labelled():
    lstm = nn.LSTM(3, 5, num_layers=2, bidirectional=True, batch_first=True)
    diag = _steps(lstm, cr.randn(4, 6, 3), n=2)
    assert set(diag.summary()["time_ratio"]) == {"lstm 1", "lstm 2", "lstm 3 (reverse)",
                                                 "lstm 4 (reverse)"} or \
        len(diag.summary()["time_ratio"]) == 4
    assert "first time step / last" in str(diag)
