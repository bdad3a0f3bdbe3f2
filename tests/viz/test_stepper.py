"""The stepper: its steps are explain's, its page is self-contained, and in a real browser
(headless Chromium, skipped when none is installed) every step shows explain's numbers with
no console error."""

import json
import os
import re
import time
from pathlib import Path

import numpy as np
import pytest
from browser import Browser, find_browser

import chainrule as cr
from chainrule.viz.explain import TUTORIAL_NOTES, build_explanation, tutorial_network
from chainrule.viz.explain_text import _Formatter

LR = 0.1


def tutorial_page(**kw):
    t = tutorial_network()
    return t, cr.viz.stepper(t["loss"], names=t, notes=TUTORIAL_NOTES, lr=LR, **kw)


def reuse_and_broadcast():
    """h is used three times, w is broadcast over the batch: sums on both counts."""
    x = cr.tensor([[1.0, 2.0], [3.0, -1.0]], dtype=cr.float64)
    w = cr.tensor([0.5, -0.3], dtype=cr.float64, requires_grad=True)

    def f(x, w):
        h = (x * w).tanh()
        return (h * h + h).mean()

    return f, x, w


def expected_numbers(ex, lr):
    """For each step of the page, the numbers it must show, formatted as explain prints
    them, computed from an explanation built separately (and the engine's .grad)."""
    fmt = _Formatter(ex.digits, ex.max_elements)
    out = [[fmt(o.value) for o in ex.inputs]]
    out += [[fmt(o.value)] for o in ex.ops]
    out.append([fmt(ex.seed)])
    for s in ex.steps:
        out.append(([fmt(s.grad)] if s.grad is not None else [])
                   + [fmt(c.value) for c in s.contributions] + [fmt(c.value) for c in s.parts])
    out += [[fmt(leaf.grad)] + [fmt(c.value) for c in leaf.parts] for leaf in ex.leaves]
    by_name = {o.name: o for o in ex.inputs}
    out.append([fmt(by_name[leaf.name].value - lr * leaf.grad) for leaf in ex.leaves])
    return out


def test_steps_play_explain_forward_then_backward_then_descent():
    t, page = tutorial_page()
    ex = page.explanation
    phases = [s["phase"] for s in page.steps]
    assert phases == (["forward"] * (1 + len(ex.ops)) + ["backward"] * (1 + len(ex.steps))
                      + ["leaves"] * len(ex.leaves) + ["descent"])
    assert [s["name"] for s in page.steps if s["kind"] == "op"] == [o.name for o in ex.ops]
    # the numbers are explain's: the same formatter on the same explanation
    text = cr.viz.format_explain(t["loss"], t, notes=TUTORIAL_NOTES)
    for step, numbers in zip(page.steps, expected_numbers(ex, LR)):
        shown = json.dumps(step, ensure_ascii=False)
        for n in numbers:
            assert json.dumps(n)[1:-1] in shown, (step["kind"], n)
    for leaf in ex.leaves:
        assert _Formatter(4, 16)(leaf.grad) in text
    # the gradient-descent step moves W1 and W2 as the tutorial does
    w1, w2 = t["W1"]._data.copy(), t["W2"]._data.copy()
    t["loss"].backward()
    descent = page.steps[-1]["updates"]
    assert [u["name"] for u in descent] == ["W1", "W2"]
    assert descent[0]["new"]["t"] == _Formatter(4, 16)(w1 - LR * t["W1"].grad.numpy())
    assert descent[1]["new"]["t"] == _Formatter(4, 16)(w2 - LR * t["W2"].grad.numpy())


def test_page_is_one_self_contained_file(tmp_path):
    _, page = tutorial_page()
    path = page.save(tmp_path / "step.html")
    doc = path.read_text(encoding="utf-8")
    assert doc.startswith("<!DOCTYPE html>") and "<svg" in doc and "<script>" in doc
    assert not re.search(r"(src|href)=\"(https?:)?//", doc), "the page must fetch nothing"
    assert "http://www.w3.org/2000/svg" in doc  # (namespaces are names, not fetches)
    for term in ("前向传播", "反向传播", "计算图", "链式法则", "偏置", "均方误差", "梯度消失"):
        assert term in doc, term
    html = page._repr_html_()
    assert html.startswith("<iframe srcdoc=") and "&lt;svg" in html


def test_stepper_of_a_function_names_its_arguments_and_shows_sums():
    f, x, w = reuse_and_broadcast()
    page = cr.viz.stepper(f, x, w, lang="zh")
    assert page.lang == "zh"
    first = page.steps[0]
    assert {i["name"] for i in first["items"]} == {"x", "w"}
    used = [s for s in page.steps if s["kind"] == "step" and s["parts"]]
    assert used and len(used[0]["parts"]) == 3  # h * h + h: three paths into h
    summed = [c for s in page.steps if s["kind"] == "step" for c in s["contribs"]
              if c["axes"] is not None]
    assert summed and summed[0]["input"] == "w" and summed[0]["axes"] == "0"
    g = page.explanation.gradient("w")
    loss = f(x, w)
    loss.backward()
    np.testing.assert_allclose(g, w.grad.numpy())


def test_stepper_errors_are_clear():
    w = cr.tensor([1.0], requires_grad=True)
    with pytest.raises(TypeError, match="expected a Tensor"):
        cr.viz.stepper(3.0)
    with pytest.raises(TypeError, match="extra arguments"):
        cr.viz.stepper(w * 2, w)
    with pytest.raises(TypeError, match="not a Tensor"):
        cr.viz.stepper(lambda w: 1.0, w)
    with pytest.raises(ValueError, match="lang must be one of en, zh"):
        cr.viz.stepper(w * 2, lang="fr")


# ---------------------------------------------------------------------------------------------
# In a real browser
# ---------------------------------------------------------------------------------------------

STATE = """JSON.stringify({
  counter: document.getElementById("counter").textContent,
  phase: document.getElementById("phase").textContent,
  shown: [...document.querySelectorAll("#panel [data-v]")].map(e => e.dataset.v),
  text: document.getElementById("panel").innerText,
  cur: [...document.querySelectorAll("svg .cur")].map(g => g.id),
  hot: document.querySelectorAll("svg .hot").length,
  labels: [...document.querySelectorAll("#overlay text")].map(e => e.textContent),
  future: document.querySelectorAll("svg .future").length})"""


@pytest.fixture(scope="module")
def browser():
    exe = find_browser()
    if exe is None:
        pytest.skip("no Chromium or Chrome found (apt-get install chromium, or set $CHROME): "
                    "the stepper's browser test is skipped")
    try:
        b = Browser(exe)
    except (RuntimeError, OSError) as e:
        pytest.skip(f"the browser {exe} did not start: {e}")
    yield b
    b.close()


def _shots_dir(tmp_path):
    d = os.environ.get("CHAINRULE_SCREENSHOTS")
    if d:
        Path(d).mkdir(parents=True, exist_ok=True)
    return Path(d) if d else tmp_path


def _walk(browser, page, ex, path, lr, shots, tag):
    """Open the page, step through every step with the keyboard, and check that each shows
    the numbers of ``ex`` (an explanation built apart from the page)."""
    page.save(path)
    browser.open(path.as_uri())
    expected = expected_numbers(ex, lr)
    n = len(page.steps)
    for k, step in enumerate(page.steps):
        state = json.loads(browser.eval(STATE))
        assert state["counter"] == f"step {k + 1} of {n}", state["counter"]
        for number in expected[k]:
            assert number in state["shown"], (k, step["kind"], number, state["shown"])
        if step.get("node"):
            assert f"node-{step['node']}" in state["cur"], (k, state["cur"])
        if step["kind"] == "step" and step["contribs"]:
            assert state["hot"] >= 1 and state["labels"], (k, state)
        if step["kind"] == "op":
            assert state["future"] == sum(1 for s in page.steps[k + 1:] if s["kind"] == "op")
        if step["kind"] in ("op", "step", "descent") and k % 3 == 0 or k in (1, n - 1):
            browser.screenshot(shots / f"{tag}-{k + 1:02d}-{step['kind']}.png")
        browser.key("ArrowRight", 39)
    assert json.loads(browser.eval(STATE))["counter"] == f"step {n} of {n}"  # stays at the end
    return expected


def test_in_a_browser_every_step_shows_explains_numbers(browser, tmp_path):
    shots = _shots_dir(tmp_path)
    t, page = tutorial_page()
    ex = build_explanation(t["loss"], t, notes=TUTORIAL_NOTES)
    _walk(browser, page, ex, tmp_path / "tutorial.html", LR, shots, "tutorial")
    # the buttons, the jump list, the language switch and the step in the address
    browser.eval('document.getElementById("first").click()')
    assert json.loads(browser.eval(STATE))["counter"].startswith("step 1 of")
    browser.eval('document.getElementById("next").click()')
    browser.eval('document.getElementById("next").click()')
    browser.eval('document.getElementById("back").click()')
    assert json.loads(browser.eval(STATE))["counter"].startswith("step 2 of")
    k = next(i for i, s in enumerate(page.steps) if s["kind"] == "step" and s["name"] == "z1")
    browser.eval(f'(e => {{ e.value = "{k}"; e.dispatchEvent(new Event("change")); }})'
                 '(document.getElementById("jump"))')
    state = json.loads(browser.eval(STATE))
    assert state["counter"].startswith(f"step {k + 1} of") and "G = dL/dz1" in state["text"]
    assert browser.eval("location.hash") == f"#step={k + 1}&lang=en"
    browser.eval('document.getElementById("lang").click()')
    state = json.loads(browser.eval(STATE))
    assert state["phase"] == "反向传播" and "局部导数" in state["text"]
    assert state["counter"] == f"第 {k + 1} 步,共 {len(page.steps)} 步"
    browser.screenshot(shots / "tutorial-zh.png")
    browser.eval('document.querySelector("#panel details").open = true')
    browser.screenshot(shots / "tutorial-zh-elements.png")
    # clicking a node jumps to its step
    browser.eval(f'document.getElementById("node-{page.steps[3]["node"]}")'
                 '.dispatchEvent(new MouseEvent("click", {bubbles: true}))')
    assert json.loads(browser.eval(STATE))["cur"] == [f"node-{page.steps[3]['node']}"]
    assert browser.errors == []


def test_in_a_browser_reuse_and_broadcast_sums(browser, tmp_path):
    f, x, w = reuse_and_broadcast()
    page = cr.viz.stepper(f, x, w, lr=0.5)
    with cr.viz.record():
        loss = f(x, w)
    ex = build_explanation(loss, {"x": x, "w": w})
    _walk(browser, page, ex, tmp_path / "reuse.html", 0.5, _shots_dir(tmp_path), "reuse")
    assert browser.errors == []



def test_in_a_browser_the_notebook_frame_runs_without_errors(browser, tmp_path):
    _, page = tutorial_page()
    host = tmp_path / "notebook.html"
    host.write_text(f"<!DOCTYPE html><html><body>{page._repr_html_()}</body></html>",
                    encoding="utf-8")
    browser.errors.clear()
    browser.open(host.as_uri())
    time.sleep(1.0)  # the frame's own document loads after the host's load event
    shot = browser.screenshot(_shots_dir(tmp_path) / "notebook-frame.png")
    assert shot.stat().st_size > 10_000  # the page drew (a blank frame is a few KB)
    assert browser.errors == []


def test_in_a_browser_the_chinese_page_has_no_english_sentence(browser, tmp_path):
    from prose import english_runs

    shots = _shots_dir(tmp_path)
    _, page = tutorial_page(lang="zh")
    path = page.save(tmp_path / "tutorial-zh.html")
    browser.errors.clear()
    browser.open(path.as_uri())
    visible = ('[...document.querySelectorAll("header, #panel, footer > div")]'
               '.map(e => e.innerText).join("\\n")')  # (the glossary pairs the two on purpose)
    for k, step in enumerate(page.steps):
        text = browser.eval(visible)
        assert f"第 {k + 1} 步" in text, text
        assert not english_runs(text), (k, step["kind"], english_runs(text))
        if step["kind"] == "step" and step["name"] in ("output", "t1"):
            browser.screenshot(shots / f"tutorial-zh-{k + 1:02d}.png")
        browser.key("ArrowRight", 39)
    assert browser.errors == []
