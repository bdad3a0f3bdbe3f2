"""The erf family and expm1 (issue 15's primitives) export and run in onnxruntime."""

import numpy as np
import pytest

pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

import chainrule as cr  # noqa: E402


class Special(cr.nn.Module):
    def forward(self, x):
        return cr.erf(x) + 2 * cr.erfc(x) + cr.expm1(x) + cr.nn.functional.gelu(x)


def test_erf_erfc_expm1_gelu_match_onnxruntime(tmp_path):
    x = cr.tensor(np.linspace(-3, 3, 24, dtype=np.float32).reshape(4, 6))
    path = tmp_path / "special.onnx"
    cr.onnx.export(Special(), (x,), str(path), input_names=["x"])
    (got,) = ort.InferenceSession(str(path)).run(None, {"x": x.numpy()})
    assert np.abs(got - Special()(x).numpy()).max() < 1e-5
