"""docs/onnx.md: every code block runs and prints what the page shows."""

import contextlib
import io
import os

import pytest

pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

from test_docs import blocks, expected_lines  # noqa: E402


def test_onnx_page_runs_and_prints_what_it_shows(tmp_path):
    namespace = {"__name__": "__onnx_doc__"}
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        code_blocks = blocks("onnx.md")
        assert len(code_blocks) == 2
        for k, (code, expected) in enumerate(code_blocks):
            buf = io.StringIO()
            with contextlib.redirect_stdout(buf):
                exec(compile(code, f"onnx.md[block {k}]", "exec"), namespace)
            printed = [p.rstrip() for p in buf.getvalue().splitlines()]
            for line in expected_lines(expected or ""):
                assert line in printed, f"block {k}: expected {line!r} in {printed}"
    finally:
        os.chdir(cwd)
    assert sorted(os.listdir(tmp_path)) == ["digits.onnx"]  # the failed export wrote nothing
