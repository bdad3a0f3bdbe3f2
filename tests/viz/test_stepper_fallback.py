"""The stepper's picture and its fallbacks: Graphviz's dot draws it when installed, else the
Python engine (matplotlib + grandalf), else the page has no picture and says how to get one.
Each way the page is complete and self-contained; in Chromium (skipped when none is
installed) it plays every step with no console error."""

import importlib
import json
import re
import shutil
import sys

import pytest
# (browser: the Chromium fixture of test_stepper, shared by importing it)
from test_stepper import STATE, _shots_dir, _walk, browser, expected_numbers  # noqa: F401

import chainrule as cr
from chainrule.viz.dot import _dot
from chainrule.viz.explain import TUTORIAL_NOTES, build_explanation, tutorial_network
from chainrule.viz.i18n import MESSAGES

draw_mod = importlib.import_module("chainrule.viz.draw")
HAS_DOT = shutil.which("dot") is not None


def no_graphviz(monkeypatch):
    real = shutil.which
    monkeypatch.setattr(draw_mod.shutil, "which", lambda name: None if name == "dot"
                        else real(name))


def no_matplotlib(monkeypatch):
    for name in ("matplotlib", "grandalf"):  # (None in sys.modules: the import fails)
        monkeypatch.setitem(sys.modules, name, None)
    with pytest.raises(ImportError):
        import matplotlib  # noqa: F401


def tutorial_page(**kw):
    t = tutorial_network()
    return t, cr.viz.stepper(t["loss"], names=t, notes=TUTORIAL_NOTES, **kw)


def assert_complete(page, tmp_path, picture):
    """The page: one file, fetching nothing, with its data, script and (or not) picture."""
    doc = page.save(tmp_path / "page.html").read_text(encoding="utf-8")
    assert doc.startswith("<!DOCTYPE html>") and doc.rstrip().endswith("</html>")
    assert not re.search(r"(src|href)=\"(https?:)?//", doc), "the page must fetch nothing"
    assert not re.search(r"<(link|img|iframe)\b|<script [^>]*src=", doc)
    data = re.search(r'<script type="application/json" id="data">(.*?)</script>', doc, re.S)
    steps = json.loads(data.group(1).replace("<\\/", "</"))["steps"]
    assert steps == json.loads(json.dumps(page.steps))  # the whole walkthrough is there
    assert ("<svg" in doc) == picture
    assert ('<p data-t="no_picture">' in doc) == (not picture)
    return doc


def test_without_graphviz_the_python_engine_draws_the_picture(monkeypatch, tmp_path):
    pytest.importorskip("matplotlib")
    pytest.importorskip("grandalf")
    no_graphviz(monkeypatch)
    _, page = tutorial_page()
    doc = assert_complete(page, tmp_path, picture=True)
    for s in page.steps:
        if s.get("node"):
            assert f'id="node-{s["node"]}"' in doc, s["node"]
    edges = page.explanation.view.edges
    assert all(f"{e.src}-{e.dst}-{e.index}" in page.overlay for e in edges)


def test_without_matplotlib_or_graphviz_the_page_has_no_picture_and_says_why(monkeypatch,
                                                                              tmp_path):
    _, full = tutorial_page()
    no_graphviz(monkeypatch)
    no_matplotlib(monkeypatch)
    _, page = tutorial_page(lang="zh")
    assert page.svg is None and page.overlay == {}
    assert page.steps == full.steps  # the walkthrough does not depend on the picture
    doc = assert_complete(page, tmp_path, picture=False)
    for lang in ("en", "zh"):
        assert json.dumps(MESSAGES[lang]["no_picture"], ensure_ascii=False)[1:-1] in doc


def test_the_graphviz_picture_carries_the_ids_the_page_looks_up():
    """dot writes an edge it draws right to left as dst -> src (dir=back): the page finds
    it by the id chainrule gives it, not by its title."""
    t = tutorial_network()
    ex = build_explanation(t["loss"], t)
    dot = _dot(ex.view, legend=False, svg_ids=True)
    for n in ex.view.nodes:
        assert f'id="node-{n.id}"' in dot
    for e in ex.view.edges:
        assert f'id="edge-{e.src}-{e.dst}-{e.index}"' in dot
    assert "id=" not in _dot(ex.view, legend=False)  # to_dot's text is unchanged


@pytest.mark.skipif(not HAS_DOT, reason="Graphviz's dot is not installed")
def test_without_matplotlib_graphviz_draws_the_picture(monkeypatch, tmp_path):
    no_matplotlib(monkeypatch)
    _, page = tutorial_page()
    doc = assert_complete(page, tmp_path, picture=True)
    assert page.overlay == {}  # the page places the numbers itself
    for e in page.explanation.view.edges:
        assert f'id="edge-{e.src}-{e.dst}-{e.index}"' in doc


def test_in_a_browser_numbers_are_placed_without_positions_from_python(
        browser, tmp_path):  # noqa: F811
    """A Graphviz picture comes without the Python engine's positions: the page puts each
    gradient at the middle of its edge and each value right of its box (here on the Python
    engine's picture with its positions taken away, which needs no Graphviz)."""
    pytest.importorskip("matplotlib")
    pytest.importorskip("grandalf")
    t, page = tutorial_page(lr=0.1)
    page.overlay = {}
    ex = build_explanation(t["loss"], t, notes=TUTORIAL_NOTES)
    browser.errors.clear()
    _walk(browser, page, ex, tmp_path / "no-overlay.html", 0.1, _shots_dir(tmp_path),
          "no-overlay")
    assert browser.errors == []


def test_in_a_browser_the_page_without_a_picture_plays_every_step(
        browser, monkeypatch, tmp_path):  # noqa: F811
    no_graphviz(monkeypatch)
    no_matplotlib(monkeypatch)
    t, page = tutorial_page()
    ex = build_explanation(t["loss"], t, notes=TUTORIAL_NOTES)
    path = page.save(tmp_path / "no-picture.html")
    browser.errors.clear()
    browser.open(path.as_uri())
    expected = expected_numbers(ex, 0.1)
    n = len(page.steps)
    assert MESSAGES["en"]["no_picture"] in browser.eval('document.body.innerText')
    for k in range(n):
        state = json.loads(browser.eval(STATE))
        assert state["counter"] == f"step {k + 1} of {n}"
        assert all(x in state["shown"] for x in expected[k]), (k, state["shown"])
        browser.key("ArrowRight", 39)
    browser.screenshot(_shots_dir(tmp_path) / "no-picture.png")
    assert browser.errors == []
