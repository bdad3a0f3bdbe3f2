"""Every code block of the tutorials runs, in order, and prints what the text says it prints.

A ```python block is executed in one namespace per document, in a scratch folder with an
``images/`` subfolder (the pictures the blocks draw land there). When a block is directly
followed by a ```text block, that block is the output the reader is shown: the test checks
that each of its lines appears in what the code printed (lines ending in "..." are prefixes).
"""

import contextlib
import io
import os
import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parent.parent / "docs"
TUTORIALS = ["tutorial.md", "tutorial.zh.md"]
BLOCK = re.compile(r"```(python|text)\n(.*?)```", re.S)


def blocks(name):
    """[(code, expected output or None)] of a document, in order."""
    found = BLOCK.findall((DOCS / name).read_text(encoding="utf-8"))
    out = []
    for i, (lang, body) in enumerate(found):
        if lang == "python":
            nxt = found[i + 1] if i + 1 < len(found) else None
            out.append((body, nxt[1] if nxt and nxt[0] == "text" else None))
    return out


def expected_lines(text):
    return [ln.rstrip() for ln in text.splitlines() if ln.strip()]


@pytest.mark.parametrize("name", TUTORIALS)
def test_every_code_block_runs_and_prints_what_the_text_shows(name, tmp_path):
    pytest.importorskip("sklearn")
    pytest.importorskip("matplotlib")
    (tmp_path / "images").mkdir()
    code_blocks = blocks(name)
    assert len(code_blocks) >= 8, f"{name}: expected a tutorial, found {len(code_blocks)} blocks"
    namespace = {"__name__": "__tutorial__"}
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        for k, (code, expected) in enumerate(code_blocks):
            buf = io.StringIO()
            with contextlib.redirect_stdout(buf):
                exec(compile(code, f"{name}[block {k}]", "exec"), namespace)
            printed = buf.getvalue()
            for line in expected_lines(expected or ""):
                if line.endswith("..."):
                    ok = any(p.rstrip().startswith(line[:-3]) for p in printed.splitlines())
                else:
                    ok = line in [p.rstrip() for p in printed.splitlines()]
                assert ok, f"{name} block {k}: expected line {line!r} in output:\n{printed}"
    finally:
        os.chdir(cwd)
    pictures = list((tmp_path / "images").iterdir())
    assert pictures and all(p.stat().st_size > 1000 for p in pictures)


@pytest.mark.parametrize("name", TUTORIALS)
def test_the_pictures_the_tutorial_shows_are_in_the_repository(name):
    text = (DOCS / name).read_text(encoding="utf-8")
    for target in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text):
        assert (DOCS / target).is_file(), f"{name} shows {target}, which is missing"


def test_the_two_tutorials_run_the_same_code():
    en = [code for code, _ in blocks("tutorial.md")]
    zh = [code for code, _ in blocks("tutorial.zh.md")]
    strip = re.compile(r"#.*$", re.M)  # comments may be translated
    # and so may a plot's title; the Chinese version asks for Chinese output (lang="zh")
    # and writes its own pictures (name.zh.png)
    title = re.compile(r'title="[^"]*"')

    def words(c):
        c = title.sub('title=""', strip.sub("", c))
        return c.replace(', lang="zh"', "").replace(".zh.png", ".png").split()

    assert [words(c) for c in en] == [words(c) for c in zh]
