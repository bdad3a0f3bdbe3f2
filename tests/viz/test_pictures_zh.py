"""The pictures in Chinese: ``to_dot``, ``draw`` and ``print_graph`` with ``lang="zh"`` say
every word of their own in Chinese (the tutorial's terms), and keep names, op names and
formulas as they are; English pictures are unchanged."""

import html
import re

import pytest
from prose import _CJK, _PUNCT, _WORD, english_runs

import chainrule as cr
from chainrule import nn
from chainrule.viz.explain import tutorial_network
from chainrule.viz.i18n import TRANSLATIONS, Text, translate
from chainrule.viz.style import _columns, _wrap
from chainrule.viz.view import build_view

# words that are formulas or code, the same in both languages: the summary of a big array
# (min .. mean .. max, as explain writes it in Chinese too), a cell's formula, Python's
# constants in an op's parameters, dtypes
FORMULA_WORDS = {"min", "mean", "max", "tanh", "relu", "True", "False", "None", "true", "bool"}


def dot_labels(dot):
    """The text of every label of a DOT source: HTML-like ones without their tags."""
    out = []
    for m in re.finditer(r"label=<(.*?)>(?=[,\]])", dot, re.S):
        out.append(html.unescape(re.sub(r"<[^>]*>", " ", m.group(1))))
    out += [m.group(1) for m in re.finditer(r'label="((?:[^"\\]|\\.)*)"', dot)]
    return out


def english_words(texts, view):
    """The English words of ``texts`` that are not a name, an op, a module's class or a
    formula of ``view``."""
    known = set(FORMULA_WORDS)
    for n in view.nodes:
        for s in (n.op, n.name or "", n.ref):
            if not isinstance(s, Text):  # (chainrule's own words are what is checked)
                known.update(re.findall(r"[A-Za-z]+", s))
    for g in view.groups.values():
        known.add(g.type_name)
        known.update(re.findall(r"[A-Za-z]+", g.path))
    words = set()
    for text in texts:
        for token in _CJK.sub(r" \1 ", text).split():
            word = token.strip(_PUNCT)
            if _WORD.fullmatch(word) and word not in known:
                words.add(word)
    return words


def _masked():
    """A mask, a target, a divisor and an exponent: constants by their roles."""
    w = cr.tensor([0.5, -1.0, 2.0], requires_grad=True)
    m = cr.tensor([True, False, True])
    target = cr.tensor([1.0, 0.0, 1.0])
    with cr.viz.record():
        loss = ((cr.where(m, w * 2.0, 0.0) - target) ** 2).sum() / 3.0
    return loss, {"w": w}


def _mlp():
    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    loss_fn = nn.CrossEntropyLoss()
    with cr.viz.record(model, loss_fn):
        loss = loss_fn(model(cr.randn(5, 4)), cr.tensor([0, 2, 1, 1, 0]))
    return loss


def _rnn(T=5):
    cr.manual_seed(0)
    rnn, fc = nn.RNN(2, 3, batch_first=True), nn.Linear(3, 1)
    with cr.viz.record(rnn, fc):
        loss = fc(rnn(cr.randn(2, T, 2))[0][:, -1]).pow(2).mean()
    return loss


def _second_order():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    (g,) = cr.autograd.grad((x ** 3).sum(), x, create_graph=True)
    return g.sum()


def _tutorial():
    t = tutorial_network()
    return t["loss"], {"names": t}


CASES = {
    "tutorial": _tutorial,
    "masked": lambda: (lambda got: (got[0], {"names": got[1]}))(_masked()),
    "mlp": lambda: (_mlp(), {}),
    "mlp-depth1": lambda: (_mlp(), {"depth": 1}),
    "rnn": lambda: (_rnn(), {"unroll": True}),
    "rnn-elided": lambda: (_rnn(T=6), {"unroll": 1}),
    "second-order": lambda: (_second_order(), {}),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_chinese_dot_labels_have_no_english_word_of_chainrules_own(case):
    t, kw = CASES[case]()
    view = build_view(t, values=True, grads=True, **kw)
    zh = dot_labels(cr.viz.to_dot(t, values=True, grads=True, lang="zh", **kw))
    en = dot_labels(cr.viz.to_dot(t, values=True, grads=True, **kw))
    assert english_words(en, view)  # (the check sees the English words of a picture)
    assert not english_words(zh, view), english_words(zh, view)
    runs = english_runs("\n".join(zh))  # (a run of formula words: [True, False, True])
    assert not [r for r in runs if set(r.split()) - FORMULA_WORDS], runs
    assert any(_CJK.search(s) for s in zh)


def test_the_tutorials_terms():
    t = tutorial_network()
    dot = cr.viz.to_dot(t["loss"], names=t, values=True, grads=True, lang="zh")
    for words in ["<B>指数 2</B>", "<B>系数 0.5</B>", "值 [[0.5, 1.2]]", "↑ 梯度 [[-0.2154]]",
                  'label="图例"', "参数(需要梯度)", "输入 / 常数", "箭头:数据流向(前向传播)",
                  "(反向传播逆着黑色箭头进行)", "<B>t1 = matmul</B>", "(1, 2) float64"]:
        assert words in dot, words
    loss, names = _masked()
    titles = {translate(v.title(), "zh") for v in build_view(loss, names=names).nodes}
    assert {"掩码 t2", "目标 t4", "除数 3", "指数 2", "系数 2", "常数 0"} <= titles, titles
    rnn = cr.viz.to_dot(_rnn(T=6), grads=True, unroll=1, lang="zh")
    for words in ["RNN 时间步 t=1", "RNN 时间步 t=2..5", "省略了 4 个时间步", "对 t=1..6 求和",
                  "第 0 层:沿 6 个时间步展开", "t7 = 堆叠", "第 1..6 步的状态,按时间顺序排列",
                  "4 个状态", "各时间步的贡献(范数):"]:
        assert words in rnn, words
    mlp = cr.viz.to_dot(_mlp(), depth=1, lang="zh")
    assert "40 个参数" in mlp and "模块调用(折叠成一个框)" in mlp and "0 (Linear)" in mlp
    assert "由反向传播生成(二阶导数)" in cr.viz.to_dot(_second_order(), lang="zh")


def test_names_op_names_and_english_pictures_stay_as_they_are():
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    target = cr.tensor([0.5, 0.5])
    with cr.viz.record():
        loss = ((w - target) ** 2).sum()
    zh = cr.viz.to_dot(loss, names={"w": w, "target": target}, lang="zh")
    assert "<B>target</B>" in zh and "<B>t1 = sub</B>" in zh  # the user's name, the op
    t = tutorial_network()
    assert cr.viz.to_dot(t["loss"], names=t) == cr.viz.to_dot(t["loss"], names=t, lang="en")
    assert "parameter (requires grad)" in cr.viz.to_dot(t["loss"], names=t)
    with pytest.raises(ValueError, match="to_dot: lang must be one of en, zh, got 'fr'"):
        cr.viz.to_dot(t["loss"], lang="fr")
    with pytest.raises(ValueError, match="draw: lang must be one of en, zh"):
        cr.viz.draw(t["loss"], lang="de")


def test_notes_when_values_or_gradients_were_not_kept_and_no_graph():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    loss = (x.sigmoid() * 3.0).sum()
    zh = cr.viz.to_dot(loss, values=True, lang="zh")
    assert "部分数值未显示" in zh and "with cr.viz.record():" in zh
    loss.backward()
    assert "未显示梯度:backward() 已经释放了这个计算图" in cr.viz.to_dot(loss, grads=True,
                                                                       lang="zh")
    none = cr.viz.to_dot(cr.ones(2, 3), lang="zh")
    assert "张量(没有计算图:没有张量需要梯度)" in none


def test_print_graph_in_chinese():
    t = tutorial_network()
    text = cr.viz.format_graph(t["loss"], lang="zh")
    assert text.splitlines()[0] == "%0 = 叶子节点 (2, 2) float64"
    assert "matmul(常数(1, 2), %0)" in text and "pow(%8, 2)" in text
    assert cr.viz.format_graph(t["loss"]).splitlines()[0] == "%0 = leaf (2, 2) float64"
    rnn = cr.viz.format_graph(_rnn(T=3), unroll=True, lang="zh")
    assert "RNN 时间步 t=2(" in rnn and "= 堆叠(" in rnn and "第 1..3 步的状态" in rnn
    assert cr.viz.format_graph(cr.ones(2), lang="zh") == \
        "常数 (2,) torch.float32(没有计算图:没有张量需要梯度)"


def test_every_word_of_the_pictures_has_its_chinese():
    """Each Text the pictures make finds its entry (a missing one would stay English)."""
    zh = TRANSLATIONS["zh"]
    for t in (_rnn(T=6),):
        view = build_view(t, grads=True, unroll=1)
        texts = [s for n in view.nodes for s in (n.op, n.params, n.title(), *n.lines(
            values=True, grads=True)) if isinstance(s, Text)]
        texts += [g.label for g in view.groups.values() if isinstance(g.label, Text)]
        texts += [e.label for e in view.edges if isinstance(e.label, Text)]
        assert len(texts) > 10
        for s in texts:
            assert s.template in zh or not _WORD.search(re.sub(r"\{\w+\}", "", s.template)), s


def test_wrapping_counts_a_chinese_character_as_two_columns():
    text = "各时间步的贡献(范数):t=1 0.00325, t=2 0.00778, t=3 0.029, t=4 0.0565"
    lines = _wrap(text, 46)
    assert len(lines) == 2 and all(_columns(s) <= 46 for s in lines)
    assert "".join(lines).replace(" ", "") == text.replace(" ", "")
    long = "未显示梯度:backward() 已经释放了这个计算图。请在 backward() 之前画图,或调用"
    assert all(_columns(s) <= 30 for s in _wrap(long, 30))
    assert _wrap("the steps' shares (norms): t=1 0.00325, t=2 0.00778", 30) == [
        "the steps' shares (norms): t=1", "0.00325, t=2 0.00778"]  # English as before


def test_the_python_engine_draws_chinese(tmp_path):
    pytest.importorskip("matplotlib")
    pytest.importorskip("grandalf")
    from chainrule.viz.layout import _cjk_font

    if _cjk_font() is None:
        pytest.skip("no font with Chinese glyphs installed (apt install fonts-noto-cjk)")
    t = tutorial_network()
    d = cr.viz.draw(t["loss"], tmp_path / "zh.svg", names=t, values=True, grads=True,
                    engine="python", lang="zh")
    svg = d.svg().decode("utf-8")
    for words in ["指数 2", "系数 0.5", "图例", "参数", "箭头:数据流向(前向传播)"]:
        assert words in svg, words
    assert "exponent" not in svg and "legend" not in svg
    en = cr.viz.draw(t["loss"], names=t, engine="python").svg().decode("utf-8")
    assert "exponent 2" in en and "指数" not in en
    assert d._render is not None and "Noto" in " ".join(
        __import__("chainrule.viz.layout", fromlist=["_Layout"])._Layout(
            build_view(t["loss"], names=t), "zh").family or [])
    png = cr.viz.draw(_rnn(), tmp_path / "rnn.png", grads=True, unroll=True,
                      engine="python", lang="zh").png()
    assert png[:4] == b"\x89PNG" and len(png) > 10_000



@pytest.mark.parametrize("lang", ["en", "zh"])
def test_gradient_labels_keep_clear_of_the_boxes_and_of_each_other(lang):
    """Where the middle of an edge is taken (edges converging on one op, an unrolled layer's
    crossing edges), the gradient goes to a free spot along its edge."""
    pytest.importorskip("matplotlib")
    pytest.importorskip("grandalf")
    from chainrule.viz.labels import _overlap, _rect
    from chainrule.viz.layout import _font_context, _Layout, _text_width

    for view in (build_view(_mlp(), grads=True), build_view(_rnn(), grads=True, unroll=True),
                 build_view(_rnn(T=10), grads=True, unroll=2)):
        lay = _Layout(view, lang)
        boxes = [(it.x - it.w / 2, it.y - it.h / 2, it.x + it.w / 2, it.y + it.h / 2)
                 for it in lay.items if it.node is not None]
        with _font_context(lay.family):
            labels = [_rect(x, y, ha, _text_width(text, 8.5))
                      for x, y, text, ha in lay.grad_labels]
        assert len(labels) == sum(e.grad is not None for e in view.edges) > 10
        assert not [r for r in labels if any(_overlap(r, b) for b in boxes)]
        assert not [(a, b) for i, a in enumerate(labels) for b in labels[i + 1:]
                    if _overlap(a, b)]
        assert min(r[0] for r in labels) >= 0 and max(r[2] for r in labels) <= lay.width


def test_a_compiled_step_in_chinese():
    """cr.compile's program drawn in Chinese: its phases, the gradients accumulated and the
    optimizer's update; the listing print_program writes stays as it was."""
    cr.manual_seed(0)
    model = nn.Linear(3, 2)
    opt = cr.optim.Adam(model.parameters(), lr=0.1)

    @cr.compile
    def step(x):
        loss = model(x).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss

    for _ in range(2):
        step(cr.randn(4, 3))
    zh = cr.viz.to_dot(step, lang="zh")
    for words in ('label="前向传播"', 'label="反向传播"', 'label="参数更新"', "累加到 weight.grad"):
        assert words in zh, words
    assert re.search(r"Adam 更新第 0 组参数\(展平,共 \d+ 个元素\)", zh)
    en = cr.viz.to_dot(step)
    assert re.search(r"Adam update of group 0 \(flat, \d+ elements\)", en)
    assert 'label="forward"' in en and "accumulate weight.grad" in en
    assert not english_runs("\n".join(dot_labels(zh)))
