"""The plots in Chinese (Diagnostics.plot, and the CLI's curves.png), with a CJK font or,
without one, in English with a warning; curves.png shows the validation split and the epoch
chosen on it."""

import importlib
import re

import pytest

import chainrule as cr
from chainrule.viz.diagnostics import Diagnostics

matplotlib = pytest.importorskip("matplotlib")
from matplotlib.figure import Figure  # noqa: E402

layout = importlib.import_module("chainrule.viz.layout")
CJK = re.compile("[\u4e00-\u9fff]")
PNG = b"\x89PNG"


def texts(fig):
    """Every title, axis label and legend entry of ``fig``."""
    out = [fig._suptitle.get_text()] if fig._suptitle else []
    for ax in fig.axes:
        out += [ax.get_title(), ax.get_xlabel(), ax.get_ylabel()]
        legend = ax.get_legend()
        out += [t.get_text() for t in legend.get_texts()] if legend else []
        out += [t.get_text() for t in ax.texts]
    return [t for t in out if t]


@pytest.fixture
def saved(monkeypatch):
    """The figures saved, as they were when saved (pyplot's or a bare Figure)."""
    figs = []
    real = Figure.savefig

    def keep(self, *args, **kw):
        figs.append(self)
        return real(self, *args, **kw)

    monkeypatch.setattr(Figure, "savefig", keep)
    return figs


def sigmoid_diagnostics(lang):
    W = cr.ones(3, 2, requires_grad=True)
    diag = Diagnostics({"W": W}, lang=lang)
    for _ in range(3):
        loss = cr.sigmoid(cr.ones(4, 3) @ W).sum()
        diag.observe_forward(loss)
        loss.backward()
        diag.observe_backward()
        with diag.step(), cr.no_grad():
            W -= 0.1 * W.grad
        W.grad = None
    return diag


def needs_cjk_font():
    if layout._cjk_font() is None:
        pytest.skip("no CJK font on this machine (apt install fonts-noto-cjk)")


def test_diagnostics_plot_in_chinese(saved, tmp_path, recwarn):
    needs_cjk_font()
    path = sigmoid_diagnostics("zh").plot(tmp_path / "d.png")
    assert path.read_bytes()[:4] == PNG
    shown = texts(saved[-1])
    assert "损失" in shown and "训练步数" in shown and "训练诊断" in shown[0]
    for t in shown:  # every label is Chinese, or a name or formula
        assert CJK.search(t) or not re.search(r"[a-z]{4,} [a-z]{3,}", t), t
    assert not [w for w in recwarn if "Glyph" in str(w.message) or "CJK" in str(w.message)]
    sigmoid_diagnostics("en").plot(tmp_path / "e.png")
    assert "Training diagnostics" in texts(saved[-1])[0]


@pytest.mark.filterwarnings("ignore:Glyph")
def test_without_a_cjk_font_the_plot_is_in_english_and_says_why(monkeypatch, saved, tmp_path):
    monkeypatch.setattr(layout, "_CJK", [None])
    with pytest.warns(UserWarning, match="no CJK font found, so its labels are in English"):
        sigmoid_diagnostics("zh").plot(tmp_path / "d.png")
    assert not any(CJK.search(t) for t in texts(saved[-1]))


def history(val=True):
    from chainrule.cli.recipes import EpochStats

    nan = float("nan")
    rows = [(1, 0.9, 0.8, 0.85, 0.5), (2, 0.95, 0.9, 0.88, 0.4), (3, 0.97, 0.85, 0.9, 0.3)]
    return [EpochStats(e, loss, tr, loss + 0.1 if val else nan, va if val else nan, loss + 0.05,
                       te, 0.01, 1.0) for e, tr, va, te, loss in rows]


def lines(fig):
    return [[ln.get_label() for ln in ax.get_lines()] for ax in fig.axes]


def test_curves_show_validation_and_mark_the_chosen_epoch(saved, tmp_path):
    from chainrule.cli import recipes, report

    h = history()
    chosen = recipes.choose_epoch(h)
    assert chosen.epoch == 2
    report.plot_curves(tmp_path / "curves.png", h, "digits", chosen)
    assert (tmp_path / "curves.png").read_bytes()[:4] == PNG
    fig = saved[-1]
    for labels in lines(fig):
        assert labels == ["train", "validation", "test", "epoch 2: chosen on validation"]
    loss_ax, acc_ax = fig.axes[:2]
    assert list(acc_ax.get_lines()[1].get_ydata()) == pytest.approx([80, 90, 85])
    assert list(loss_ax.get_lines()[1].get_ydata()) == pytest.approx([0.6, 0.5, 0.4])
    assert list(acc_ax.get_lines()[3].get_xdata()) == [2, 2]
    assert acc_ax.get_title() == "Accuracy (epoch 2: test 88.00%)"
    # no validation split: no validation line, the last epoch marked
    report.plot_curves(tmp_path / "c2.png", history(val=False), "digits")
    for labels in lines(saved[-1]):
        assert labels == ["train", "test", "epoch 3: the last (no validation split)"]


def test_curves_in_chinese(saved, tmp_path):
    needs_cjk_font()
    from chainrule.cli import report

    report.plot_curves(tmp_path / "curves.png", history(), "digits", lang="zh")
    fig = saved[-1]
    assert lines(fig)[1] == ["训练集", "验证集", "测试集", "第 2 轮:按验证集选出"]
    assert fig.axes[1].get_title() == "准确率(第 2 轮:测试集 88.00%)"
    assert fig.axes[0].get_xlabel() == "轮次(epoch)"
