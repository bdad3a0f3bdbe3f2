"""``chainrule graph`` draws in ``--lang`` (or the locale's language): the picture's words
and the line saying what it wrote."""

import pytest

pytest.importorskip("rich")
pytest.importorskip("sklearn")
pytest.importorskip("matplotlib")
pytest.importorskip("grandalf")

from chainrule.cli import main  # noqa: E402


def test_graph_in_chinese(tmp_path, capsys, locale):
    locale("en_US.UTF-8")
    out = tmp_path / "step.svg"
    assert main(["graph", "digits", "--out", str(out), "--grads", "--engine", "python",
                 "--lang", "zh"]) == 0
    said = capsys.readouterr().out
    assert said.startswith(f"已写入 {out}:24 个节点,24 条边(mlp 64-256-10 + 交叉熵损失"), said
    svg = out.read_text(encoding="utf-8")
    for words in ("图例", "参数(需要梯度)", "输入 t2", "目标 t9", "梯度 min", "0 (Linear)",
                  "t3 = matmul", "箭头:数据流向(前向传播)"):
        assert words in svg, words
    for english in ("legend", "parameter", "input t2", "grad min", "data flow"):
        assert english not in svg, english


def test_graph_follows_the_locale(tmp_path, capsys, locale):
    locale("zh_CN.UTF-8")
    out = tmp_path / "zh.svg"
    assert main(["graph", "digits", "--out", str(out), "--depth", "1",
                 "--engine", "python"]) == 0
    assert "已写入" in capsys.readouterr().out
    assert "个参数" in out.read_text(encoding="utf-8")
    locale("C.UTF-8")
    out = tmp_path / "en.svg"
    assert main(["graph", "digits", "--out", str(out), "--depth", "1",
                 "--engine", "python"]) == 0
    assert capsys.readouterr().out.startswith(f"wrote {out}: 5 nodes, 4 edges (mlp")
    svg = out.read_text(encoding="utf-8")
    assert "parameters" in svg and "个参数" not in svg
