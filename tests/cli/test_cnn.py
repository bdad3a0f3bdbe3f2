"""`chainrule train digits --model cnn`: the run folder, evaluate, predict, resume, defaults."""

import json

import numpy as np
import pytest

pytest.importorskip("sklearn")
pytest.importorskip("safetensors")
pytest.importorskip("rich")

import chainrule as cr  # noqa: E402
from chainrule import nn  # noqa: E402
from chainrule.cli import main  # noqa: E402
from chainrule.cli.recipes import Config, build_model, load_data, train_default  # noqa: E402


def run(*args):
    return main([str(a) for a in args])


def weights(run_dir):
    return {k: v.numpy() for k, v in cr.load(run_dir / "checkpoint.safetensors")["model"].items()}


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "cnn"
    assert run("train", "digits", "--model", "cnn", "--epochs", "2", "--out", out,
               "--quiet") == 0
    return out


def test_model_defaults_leave_the_mlp_alone():
    mlp, cnn = Config(), Config(model="cnn")
    assert (mlp.hidden, mlp.epochs, mlp.dropout) == (256, 30, 0.0)
    assert (cnn.hidden, cnn.epochs, cnn.dropout) == (128, 20, 0.25)
    assert Config(model="cnn", epochs=3, dropout=0.0).epochs == 3
    assert Config.from_dict({"model": "cnn", "hidden": 64}).hidden == 64
    for cfg in (mlp, cnn):  # everything else is shared
        assert (cfg.lr, cfg.batch_size, cfg.optimizer, cfg.label_smoothing) == (5e-3, 32, "adam",
                                                                               0.1)


def test_cnn_takes_images_and_the_data_comes_as_images():
    cfg = Config(model="cnn")
    data = load_data(cfg)
    assert data.X_train.shape == (1257, 1, 8, 8) and data.X_test.shape == (540, 1, 8, 8)
    assert load_data(Config()).X_train.shape == (1257, 64)
    model = build_model(cfg)
    assert [type(m).__name__ for m in model][:7] == [
        "Conv2d", "BatchNorm2d", "ReLU", "Conv2d", "BatchNorm2d", "ReLU", "MaxPool2d"]
    assert model(cr.tensor(data.X_test[:5])).shape == (5, 10)


def test_train_cnn_writes_the_run_folder(trained):
    for name in ["metrics.json", "history.csv", "curves.png", "confusion.png",
                 "misclassified.png", "checkpoint.safetensors"]:
        assert (trained / name).stat().st_size > 0, name
    m = json.loads((trained / "metrics.json").read_text())
    assert m["config"]["model"] == "cnn" and m["config"]["hidden"] == 128
    assert m["epochs"] == 2 and 0.9 < m["test_accuracy"] <= 1
    assert np.array(m["confusion_matrix"]).sum() == 540
    w = weights(trained)
    assert w["0.weight"].shape == (16, 1, 3, 3) and w["1.running_var"].shape == (16,)
    assert int(w["1.num_batches_tracked"]) == 2 * 36  # 2 epochs of 36 batches (1131 digits)


def test_evaluate_cnn(trained, capsys):
    assert run("evaluate", trained) == 0
    out = capsys.readouterr().out
    m = json.loads((trained / "metrics.json").read_text())
    # evaluate rebuilds the CNN from the checkpoint (eval mode: running statistics) and gets
    # the accuracy that training reported
    assert f"test accuracy {100 * m['last_epoch']['test_acc']:.2f}%" in out


def test_predict_cnn(trained, tmp_path, capsys):
    from PIL import Image
    from sklearn.datasets import load_digits

    digits = load_digits()
    paths = []
    for i in (0, 1):
        img = digits.images[i] / 16.0
        p = tmp_path / f"d{i}.png"
        Image.fromarray((255 - img * 255).astype(np.uint8)).resize((40, 40)).save(p)
        paths.append(p)
    assert run("predict", trained, *paths) == 0
    lines = [ln for ln in capsys.readouterr().out.splitlines() if "(p=" in ln]
    assert [int(ln.split(": ")[1].split()[0]) for ln in lines] == [0, 1]


def test_cnn_resume_continues_exactly(tmp_path):
    """Batch norm's running statistics and dropout's generator are part of the checkpoint."""
    full, part = tmp_path / "full", tmp_path / "part"
    common = ["--model", "cnn", "--epochs", "2", "--quiet", "--no-plots", "--seed", "1"]
    assert run("train", "digits", "--out", full, *common) == 0
    assert run("train", "digits", "--out", part, "--stop-after", "1", *common) == 0
    assert run("train", "digits", "--resume", part, "--quiet", "--no-plots") == 0
    a, b = weights(full), weights(part)
    assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


def test_train_default_cnn_in_python():
    res = train_default(Config(model="cnn", epochs=1, seed=2))
    assert res.history[0].test_acc > 0.8
    bn = res.model[1]
    assert isinstance(bn, nn.BatchNorm2d) and int(bn.num_batches_tracked) == 36
