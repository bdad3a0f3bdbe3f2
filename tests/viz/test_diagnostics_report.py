"""Diagnostics tell the arithmetic behind each warning, plot the loss the text reports, and
keep lines distinct past 10 layers."""

import pytest

import chainrule as cr
from chainrule import nn
from chainrule.viz import Diagnostics
from chainrule.viz.diagnostics import _colour


def test_recorded_loss_is_the_value_given():
    W = cr.ones(3, 2, requires_grad=True)
    diag = Diagnostics({"W": W})
    loss = (cr.ones(4, 3) @ W).sum()
    diag.backward(loss, value=loss.item() / 8)
    assert diag.history[0]["loss"] == loss.item() / 8


def test_sigmoid_warnings_state_the_chain_rule_arithmetic():
    cr.manual_seed(0)
    layers = []
    for _ in range(10):
        layers += [nn.Linear(8, 8), nn.Sigmoid()]
    model = nn.Sequential(*layers)
    with cr.no_grad():
        for p in model.parameters():
            p.mul_(6.0)
    diag = Diagnostics(model)
    for _ in range(2):
        diag.backward(model(cr.randn(16, 8)).sum())
        model.zero_grad()
    text = " ".join(diag.warnings())
    assert "0.25^10 = 9.5e-07" in text and "at most 0.25" in text


def test_colours_stay_distinct_past_ten_layers():
    pytest.importorskip("matplotlib")
    assert len({_colour(i) for i in range(20)}) == 20
