"""Export a model, run it in onnxruntime, compare with chainrule (float32, to 1e-5)."""

import io

import numpy as np
import pytest

import chainrule as cr

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

TOL = 1e-5


def run_onnx(data, feeds):
    """The outputs of the ONNX model ``data`` (bytes) on ``feeds`` (name -> array)."""
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    sess = ort.InferenceSession(data, opts, providers=["CPUExecutionProvider"])
    return sess.run(None, feeds)


def _flat(out):
    if isinstance(out, cr.Tensor):
        return [out]
    if isinstance(out, (tuple, list)):
        return [t for o in out for t in _flat(o)]
    return []


def roundtrip(model, args, *, others=(), tol=TOL, **kwargs):
    """Export ``model`` on ``args``, then check onnxruntime against chainrule on ``args`` and
    on each tuple of ``others`` (other inputs, e.g. another batch size). The ModelProto."""
    args = args if isinstance(args, tuple) else (args,)
    buf = io.BytesIO()
    proto = cr.onnx.export(model, args, buf, **kwargs)
    names = [i.name for i in proto.graph.input]
    for inputs in (args,) + tuple(others):
        inputs = inputs if isinstance(inputs, tuple) else (inputs,)
        if hasattr(model, "eval"):
            model.eval()
        with cr.no_grad():
            want = [t.numpy() for t in _flat(model(*inputs))]
        got = run_onnx(buf.getvalue(), {n: t.numpy() for n, t in zip(names, _flat(inputs))})
        assert len(got) == len(want)
        for g, w in zip(got, want):
            assert g.shape == w.shape
            np.testing.assert_allclose(g, w, rtol=tol, atol=tol)
    return proto
