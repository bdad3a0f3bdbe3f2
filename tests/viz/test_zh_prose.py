"""Chinese explain and stepper output keeps no English sentence: every rule of DERIVATIVES,
every walkthrough of the tutorial, and the stepper page's Chinese text (the formulas stay
formulas)."""

import pytest
from prose import english_runs

import chainrule as cr
from chainrule.viz.derivatives import DERIVATIVES, GENERIC_GRAD, rule_for
from chainrule.viz.explain import TUTORIAL_NOTES, format_tutorial, tutorial_network
from chainrule.viz.i18n import MESSAGES, TRANSLATIONS, translate


def assert_chinese(text, where):
    assert not english_runs(text), f"{where}: English left in {text!r}: {english_runs(text)}"


def test_the_checker_finds_english_prose_and_leaves_formulas():
    assert english_runs("G is copied back over the summed axes") == [
        "G is copied back over the summed axes"]
    assert english_runs("d sum(x)/dx_i = 1:G 沿求和的轴复制回去") == []
    assert english_runs("y = (x - mean)/sqrt(var + eps): dL/dx = y (G - sum(G y))") == []


@pytest.mark.parametrize("op", sorted(DERIVATIVES))
def test_every_derivative_rule_reads_in_chinese(op):
    rule = DERIVATIVES[op]
    n = len(rule.local) if isinstance(rule.local, tuple) else max(len(rule.grads), 1)
    masks = [None] + [tuple(k == i for k in range(n)) for i in range(n)]
    for needed in masks:
        assert_chinese(rule.text(needed, "zh"), f"{op} local {needed}")
    for template in rule.grads:
        assert_chinese(translate(template, "zh"), f"{op} grad template")
    # the English is unchanged by the table
    assert rule.text(None, "en") == rule.text(None)


def test_an_op_without_a_rule_reads_in_chinese():
    rule = rule_for("my_op")
    assert rule.local == "vjp of my_op" and rule.text() == "vjp of my_op"
    assert "my_op" in rule.text(lang="zh")
    assert_chinese(rule.text(lang="zh"), "generic rule")
    assert_chinese(translate(GENERIC_GRAD, "zh"), "generic grad")


def test_every_translation_keeps_its_fields():
    import re

    for en, zh in TRANSLATIONS["zh"].items():
        fields = re.compile(r"\{(\w+)\}")
        assert set(fields.findall(en)) == set(fields.findall(zh)), en
        assert_chinese(zh, en)


def test_the_tutorials_walkthroughs_in_chinese():
    t = tutorial_network()
    text = cr.viz.format_explain(t["loss"], t, notes=TUTORIAL_NOTES, lang="zh")
    assert_chinese(text, "format_explain(tutorial)")
    assert "原教程:d_z1 = d_a1 * a1 * (1 - a1)" in text
    full = format_tutorial(lang="zh")
    assert_chinese(full, "format_tutorial")
    assert "一步梯度下降" in full and "核对" in full
    en = format_tutorial()
    assert "CHECKS" in en and "tutorial: d_W1 = np.dot(X.T, d_z1)" in en


def reshape_sum_and_broadcast():
    """Edges that carry prose templates back (sum, reshape, broadcast), a tensor used
    three times."""
    x = cr.tensor([[1.0, 2.0], [3.0, -1.0]], dtype=cr.float64, requires_grad=True)
    b = cr.tensor([0.5, -0.3], dtype=cr.float64, requires_grad=True)
    with cr.viz.record():
        h = (x + b).reshape(4).tanh()
        loss = (h * h + h).sum()
    return loss, {"x": x, "b": b, "h": h, "loss": loss}


def test_reuse_broadcast_and_reshape_in_chinese():
    loss, names = reshape_sum_and_broadcast()
    text = cr.viz.format_explain(loss, names, lang="zh")
    assert_chinese(text, "format_explain(reshape, sum, broadcast)")
    assert "复制回形状" in text and "被用了 3 次" in text and "广播" in text


def test_the_stepper_pages_chinese_text():
    for key, text in MESSAGES["zh"].items():
        assert_chinese(text, f"message {key}")
    t = tutorial_network()
    loss, names = reshape_sum_and_broadcast()
    tutorial = cr.viz.stepper(t["loss"], names=t, notes=TUTORIAL_NOTES, lang="zh")
    for page in (tutorial, cr.viz.stepper(loss, names=names, lang="zh")):
        for s in page.steps:
            texts = [s.get("local", {}).get("zh", ""), (s.get("note") or {}).get("zh", "")]
            texts += [c["expr"]["zh"] for c in s.get("contribs", [])]
            texts += [c["note"]["zh"] for c in s.get("contribs", [])]
            for text in texts:
                assert_chinese(text, f"stepper step {s['kind']} {s.get('name')}")
    notes = [c["note"] for s in tutorial.steps for c in s.get("contribs", []) if c["note"]["en"]]
    assert len(notes) == len(TUTORIAL_NOTES)
    assert all(n["zh"].startswith("原教程:") and n["en"].startswith("tutorial:") for n in notes)


def test_diagnostics_text_in_chinese():
    from chainrule.viz.diagnostics import Diagnostics

    W = cr.ones(3, 2, requires_grad=True)
    diag = Diagnostics({"W": W}, lang="zh")
    assert_chinese(str(diag), "empty Diagnostics")
    for _ in range(3):
        loss = cr.sigmoid(cr.ones(4, 3) @ W * 3).sum()
        diag.observe_forward(loss)
        loss.backward()
        diag.observe_backward()
        with diag.step(), cr.no_grad():
            W -= 0.1 * W.grad
        W.grad = None
    text = str(diag)
    assert "饱和" in text and "梯度范数" in text and "警告" in text
    assert_chinese(text, "str(Diagnostics)")
