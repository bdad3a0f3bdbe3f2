"""chainrule in Chinese: explain(lang="zh") with the tutorial's terms, the message table, and
Chinese labels in the Python drawing engine (a CJK font found, or a clear note)."""

import importlib
import re

import pytest

import chainrule as cr
from chainrule.viz.explain import tutorial_network
from chainrule.viz.i18n import MESSAGES, message

layout = importlib.import_module("chainrule.viz.layout")


def test_every_message_exists_in_both_languages():
    assert set(MESSAGES["en"]) == set(MESSAGES["zh"])
    for key, text in MESSAGES["en"].items():
        fields = set(re.findall(r"\{(\w+)\}", text))
        assert fields == set(re.findall(r"\{(\w+)\}", MESSAGES["zh"][key])), key
    assert message("ex_used", "zh", name="h", n=3) == "    h 被用了 3 次:3 条路径的梯度相加"


def test_explain_in_chinese_uses_the_tutorials_terms_and_the_same_numbers():
    t = tutorial_network()
    en = cr.viz.format_explain(t["loss"], t)
    zh = cr.viz.format_explain(t["loss"], t, lang="zh")
    for term in ("前向传播", "反向传播", "链式法则", "局部导数", "叶子节点"):
        assert term in zh, term
    assert "FORWARD PASS" in en and "FORWARD PASS" not in zh
    numbers = re.compile(r"-?\d+\.\d+(?:e-?\d+)?")
    assert numbers.findall(en) == numbers.findall(zh)
    with pytest.raises(ValueError, match="lang must be one of en, zh"):
        cr.viz.format_explain(t["loss"], t, lang="de")


def test_stepper_opens_in_the_language_asked():
    t = tutorial_network()
    page = cr.viz.stepper(t["loss"], names=t, lang="zh")
    assert '"lang": "zh"' in page.html()


def chinese_graph():
    pytest.importorskip("matplotlib")
    pytest.importorskip("grandalf")
    w = cr.tensor([[0.5], [0.25]], requires_grad=True)
    x = cr.tensor([[1.0, 2.0]])
    y = (x @ w).sigmoid().sum()
    return y, {"权重": w, "输入": x, "损失": y}


def test_python_engine_draws_chinese_labels_with_a_cjk_font(recwarn):
    y, names = chinese_graph()
    if layout._cjk_font() is None:
        pytest.skip("no CJK font on this machine (apt install fonts-noto-cjk)")
    d = cr.viz.draw(y, names=names, engine="python")
    svg = d.svg().decode()
    assert "权重" in svg and layout._cjk_font() in svg  # the fallback font is named
    assert d.png()[:4] == b"\x89PNG"
    assert not [w for w in recwarn if "CJK" in str(w.message)]


@pytest.mark.filterwarnings("ignore:Glyph")  # matplotlib's per-glyph warnings: expected here
def test_without_a_cjk_font_the_picture_says_so(monkeypatch):
    y, names = chinese_graph()
    monkeypatch.setattr(layout, "_CJK", [None])
    with pytest.warns(UserWarning, match="no CJK font found"):
        svg = cr.viz.draw(y, names=names, engine="python").svg().decode()
    assert "no CJK font found" in svg and "fonts-noto-cjk" in svg
