"""``chainrule explain tutorial --html FILE`` writes the stepper page of the tutorial."""

import pytest

pytest.importorskip("rich")

from chainrule.cli import main  # noqa: E402


def test_explain_tutorial_html_writes_the_stepper(tmp_path, capsys):
    out = tmp_path / "step.html"
    assert main(["explain", "tutorial", "--html", str(out), "--lr", "0.5"]) == 0
    assert f"wrote {out}" in capsys.readouterr().out
    doc = out.read_text(encoding="utf-8")
    assert doc.startswith("<!DOCTYPE html>") and '"lr": "0.5"' in doc
    assert '"name": "W1"' in doc and "tutorial: d_z1" in doc
