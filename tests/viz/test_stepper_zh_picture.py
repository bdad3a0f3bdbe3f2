"""The stepper's picture speaks the page's language: the page holds the picture drawn in
English and in Chinese, shows the one of the language it is in, and swaps them when the
language is switched; in Chromium (skipped when none is installed) every step still
highlights its node and writes its numbers on the Chinese picture."""

import json
import re

import pytest
# (browser: the Chromium fixture of test_stepper, shared by importing it)
from test_stepper import STATE, _shots_dir, browser, tutorial_page  # noqa: F401

PICTURE = """JSON.stringify({
  text: document.querySelector("#picture svg").textContent,
  svgs: document.querySelectorAll("svg").length,
  nodes: document.querySelectorAll('#picture svg g[id^="node-"]').length})"""


def _templates(doc):
    return dict(re.findall(r'<template id="picture-(\w+)">(.*?)</template>', doc, re.S))


def test_the_page_holds_the_picture_in_each_language():
    pytest.importorskip("matplotlib")
    pytest.importorskip("grandalf")
    _, page = tutorial_page(lang="zh")
    doc = page.html()
    pictures = _templates(doc)
    assert set(pictures) == {"en", "zh"} and page.svg == page.svgs["en"]
    assert "exponent 2" in pictures["en"] and "指数 2" not in pictures["en"]
    assert "指数 2" in pictures["zh"] and "系数 0.5" in pictures["zh"]
    assert "exponent" not in pictures["zh"] and "factor" not in pictures["zh"]
    view = page.explanation.view
    for lang, svg in pictures.items():  # the ids the page looks up, and where numbers go
        assert all(f'id="node-{n.id}"' in svg for n in view.nodes), lang
        assert all(f"{e.src}-{e.dst}-{e.index}" in page.overlays[lang] for e in view.edges)
    # the boxes of the Chinese picture are sized for its words: positions of their own
    assert page.overlays["zh"] != page.overlays["en"]
    assert len(doc.encode()) < 250_000  # two pictures, still one small file


def test_in_a_browser_the_chinese_page_shows_the_chinese_picture(browser, tmp_path):  # noqa: F811
    pytest.importorskip("matplotlib")
    pytest.importorskip("grandalf")
    shots = _shots_dir(tmp_path)
    _, page = tutorial_page(lang="zh")
    path = page.save(tmp_path / "tutorial-zh-picture.html")
    browser.errors.clear()
    browser.open(path.as_uri())
    shown = json.loads(browser.eval(PICTURE))
    assert "指数 2" in shown["text"] and "exponent" not in shown["text"]
    assert shown["svgs"] == 1 and shown["nodes"] == len(page.explanation.view.nodes)
    n = len(page.steps)
    for k, step in enumerate(page.steps):  # every step on the Chinese picture
        state = json.loads(browser.eval(STATE))
        assert state["counter"] == f"第 {k + 1} 步,共 {n} 步"
        if step.get("node"):
            assert f"node-{step['node']}" in state["cur"], (k, state["cur"])
        if step["kind"] == "step" and step["contribs"]:
            assert state["hot"] >= 1 and state["labels"], (k, state)
        if step["kind"] == "seed" or step["kind"] == "step" and step["name"] == "t1":
            browser.screenshot(shots / f"tutorial-zh-picture-{k + 1:02d}-{step['kind']}.png")
        browser.key("ArrowRight", 39)
    browser.eval('document.getElementById("lang").click()')  # to English: its picture
    shown = json.loads(browser.eval(PICTURE))
    assert "exponent 2" in shown["text"] and "指数" not in shown["text"]
    assert shown["svgs"] == 1
    state = json.loads(browser.eval(STATE))
    assert state["cur"] and state["counter"] == f"step {n} of {n}"  # the step is kept
    browser.eval('document.getElementById("lang").click()')  # and back
    assert "指数 2" in json.loads(browser.eval(PICTURE))["text"]
    target = page.steps[3]["node"]  # clicking a node of the swapped-in picture jumps
    browser.eval(f'document.getElementById("node-{target}")'
                 '.dispatchEvent(new MouseEvent("click", {bubbles: true}))')
    assert json.loads(browser.eval(STATE))["cur"] == [f"node-{target}"]
    browser.screenshot(shots / "tutorial-zh-picture.png")
    assert browser.errors == []
