"""``chainrule explain tutorial`` speaks ``--lang`` (or the locale's language): the text, its
notes and checks, and the stepper page it writes with ``--html``."""

import pytest

pytest.importorskip("rich")

from chainrule.cli import main  # noqa: E402


def test_explain_tutorial_in_chinese(capsys, locale):
    locale("en_US.UTF-8")
    assert main(["explain", "tutorial", "--lang", "zh"]) == 0
    out = capsys.readouterr().out
    for text in ("前向传播", "反向传播:链式法则", "局部导数:对 C = A @ B,dL/dB = A^T @ G",
                 "原教程:d_z1 = d_a1 * a1 * (1 - a1)", "核对", "一步梯度下降",
                 "= [[0.40025412, 0.3002605], [0.20060988, 0.70062519]]"):
        assert text in out, text
    for english in ("BACKWARD PASS", "local derivative", "tutorial:", "CHECKS",
                    "GRADIENT DESCENT", "the same numbers"):
        assert english not in out, english


def test_explain_follows_the_locale(capsys, locale):
    locale("zh_CN.UTF-8")
    assert main(["explain", "tutorial"]) == 0
    assert "反向传播" in capsys.readouterr().out
    locale("C.UTF-8")
    assert main(["explain", "tutorial"]) == 0
    out = capsys.readouterr().out
    assert "BACKWARD PASS" in out and "tutorial: d_W1" in out and "反向传播" not in out


def test_explain_html_opens_in_the_language_asked(tmp_path, capsys, locale):
    locale("en_US.UTF-8")
    out = tmp_path / "step.html"
    assert main(["explain", "tutorial", "--html", str(out), "--lang", "zh"]) == 0
    doc = out.read_text(encoding="utf-8")
    assert '"lang": "zh"' in doc and "原教程:d_z1" in doc and "tutorial: d_z1" in doc
