"""`chainrule export RUN model.onnx` on a real (tiny) training run."""

import json

import numpy as np
import pytest

pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")
pytest.importorskip("sklearn")
pytest.importorskip("safetensors")
pytest.importorskip("rich")

import chainrule as cr  # noqa: E402
from chainrule.cli import main, recipes  # noqa: E402

from onnx_check import TOL, run_onnx  # noqa: E402


def run(*args):
    return main([str(a) for a in args])


@pytest.mark.parametrize("model", ["mlp", "cnn"])
def test_export_a_trained_run(tmp_path, capsys, model):
    out = tmp_path / "run"
    assert run("train", "digits", "--model", model, "--epochs", "1", "--hidden", "16",
               "--out", out, "--quiet", "--no-plots") == 0
    capsys.readouterr()
    onnx_file = tmp_path / "model.onnx"
    assert run("export", out, onnx_file) == 0
    assert "model.onnx" in capsys.readouterr().out
    # the run's model on raw pixels (0-16), as `chainrule predict` computes it
    state = cr.load(out / recipes.CHECKPOINT)
    cfg = recipes.Config.from_dict(json.loads(state["config"]))
    net = recipes.build_model(cfg)
    net.load_state_dict(state["model"])
    net.eval()
    data = recipes.load_data(cfg)
    mean, std = (v.numpy() if hasattr(v, "numpy") else np.asarray(v)
                 for v in (state["data"]["mean"], state["data"]["std"]))
    rows = data.X_test[:7].reshape(7, 64)  # standardised pixels
    pixels = (rows * std + mean).astype(np.float32)  # back to raw pixel values
    with cr.no_grad():
        want = net(cr.tensor(recipes.model_input(cfg, rows))).numpy()
    got = run_onnx(onnx_file.read_bytes(), {"pixels": pixels})[0]
    np.testing.assert_allclose(got, want, rtol=TOL, atol=10 * TOL)
    assert (got.argmax(1) == want.argmax(1)).all()


@pytest.mark.parametrize("argv, says", [
    (["{missing}", "{tmp}/m.onnx"], "no such run folder"),
    (["{run}", "{tmp}/nofolder/m.onnx"], "does not exist"),
    (["{run}", "{tmp}"], "is a folder"),
    (["{run}", "{tmp}/m.onnx", "--opset", "13"], "--opset must be from 17"),
])
def test_export_errors(tmp_path, capsys, argv, says):
    out = tmp_path / "run"
    if "{run}" in argv:
        assert run("train", "digits", "--epochs", "1", "--hidden", "8", "--out", out,
                   "--quiet", "--no-plots") == 0
    capsys.readouterr()
    argv = [a.format(missing=tmp_path / "missing", tmp=tmp_path, run=out) for a in argv]
    assert run("export", *argv) == 2
    err = capsys.readouterr().err
    assert says in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "m.onnx").exists()
