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


def test_warnings_in_chinese_use_the_tutorials_terms():
    from chainrule.viz import i18n_diag

    assert set(i18n_diag.MESSAGES["en"]) == set(i18n_diag.MESSAGES["zh"])
    W = cr.full((3, 2), 2.0, requires_grad=True)
    en, zh = Diagnostics({"W": W}), Diagnostics({"W": W}, lang="zh")
    for _ in range(3):
        loss = cr.sigmoid(cr.ones(5, 3) @ W).sum()
        for d in (en, zh):
            d.observe_forward(loss)
        loss.backward()
        for d in (en, zh):
            d.observe_backward()
        W.grad = None
    assert en.warnings()[0].startswith("sigmoid 1: 100% of units are saturated")
    assert "饱和" in zh.warnings()[0] and "链式法则" in zh.warnings()[0]
    assert "警告:" in str(zh)
    with pytest.raises(ValueError, match="lang"):
        Diagnostics(lang="fr")
