import pytest

pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

from onnx_check import roundtrip  # noqa: E402


@pytest.fixture
def check():
    """Export a model, run it in onnxruntime, compare with chainrule (onnx_check.roundtrip)."""
    return roundtrip
