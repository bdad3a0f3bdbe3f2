"""Training diagnostics: the tutorial is flagged, the default recipes are not, and each
warning fires on a small program built to trigger it."""

import csv
import json
import math

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import nn
from chainrule.viz.diagnostics import Diagnostics

PNG = b"\x89PNG\r\n\x1a\n"


def train(model, x, y, steps, lr=0.1, diag=None, loss_fn=None):
    opt = cr.optim.SGD(model.parameters(), lr=lr)
    loss_fn = loss_fn or (lambda out, y: ((out - y) ** 2).mean())
    for _ in range(steps):
        loss = loss_fn(model(x), y)
        diag.observe_forward(loss)
        opt.zero_grad()
        loss.backward()
        diag.observe_backward()
        with diag.step():
            opt.step()
    return diag


# -- the recipes ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tutorial():
    pytest.importorskip("sklearn")
    from chainrule.cli.recipes import train_tutorial

    diag = Diagnostics()
    res = train_tutorial(seed=0, epochs=200, diagnostics=diag)
    return diag, res


def test_tutorial_recipe_is_flagged_for_saturation(tutorial):
    diag, _ = tutorial
    warns = diag.warnings()
    assert len(warns) == 1 and warns[0].startswith("sigmoid 1 and sigmoid 2: ")
    assert "saturated (|z| > 4, where the derivative is < 0.018)" in warns[0]
    s = diag.summary()
    assert set(diag.layers) == {"W1", "W2"} and s["steps"] == s["recorded"] == 200
    # measured 38% hidden and 97% output (1000 epochs: 36% and 94%); warned above 20%
    assert s["saturation"]["sigmoid 1"] > 0.3 and s["saturation"]["sigmoid 2"] > 0.8


def test_diagnostics_do_not_change_the_tutorials_numbers(tutorial):
    from chainrule.cli.recipes import train_tutorial

    _, res = tutorial
    plain = train_tutorial(seed=0, epochs=200)
    assert plain.losses == res.losses and np.array_equal(plain.W1, res.W1)


@pytest.mark.parametrize("model,epochs", [("mlp", 30), ("cnn", 5)])
def test_default_recipes_get_no_warning(model, epochs):
    pytest.importorskip("sklearn")
    from chainrule.cli.recipes import Config, train_default

    diag = Diagnostics()
    res = train_default(Config(model=model, epochs=epochs), diagnostics=diag)
    assert diag.warnings() == [], diag.warnings()
    assert res.test_acc > 0.95
    s = diag.summary()
    assert s["steps"] == 36 * epochs and s["nonfinite_steps"] == 0
    assert all(1e-5 < v < 1e-1 for v in s["update_ratio"].values())
    assert all(v < 0.5 for v in s["dead"].values())
    assert diag.types["0"] == ("Linear" if model == "mlp" else "Conv2d")


def test_cli_diagnose_writes_the_files_and_prints_the_verdict(tmp_path, capsys):
    pytest.importorskip("sklearn")
    pytest.importorskip("rich")
    pytest.importorskip("matplotlib")
    pytest.importorskip("safetensors")
    from chainrule.cli import main

    out = tmp_path / "tut"
    assert main(["train", "digits", "--recipe", "tutorial", "--epochs", "100", "--out",
                 str(out), "--quiet", "--no-plots", "--diagnose"]) == 0
    text = capsys.readouterr().out
    assert "diagnostics: 1 warning" in text and "saturated" in text
    assert (out / "diagnostics.csv").exists() and not (out / "diagnostics.png").exists()
    rows = list(csv.DictReader(open(out / "diagnostics.csv")))
    assert len(rows) == 100 and float(rows[-1]["saturation:sigmoid 1"]) > 0.2

    out = tmp_path / "mlp"
    assert main(["train", "digits", "--epochs", "2", "--out", str(out), "--quiet",
                 "--diagnose"]) == 0
    text = capsys.readouterr().out
    assert "diagnostics: no problems found" in text and "update/weight" in text
    assert (out / "diagnostics.png").read_bytes()[:8] == PNG
    header = (out / "diagnostics.csv").read_text().splitlines()[0].split(",")
    assert header[:3] == ["step", "loss", "dead:relu 1"] and "update_ratio:2" in header


# -- plain tensors, like the tutorial's own code -----------------------------------------------


def test_plain_tensors_save_and_plot(tmp_path):
    pytest.importorskip("matplotlib")
    g = cr.Generator().manual_seed(0)
    X = cr.rand(50, 8, generator=g, dtype=cr.float64)
    Y = cr.rand(50, 3, generator=g, dtype=cr.float64)
    W1 = (cr.randn(8, 16, generator=g, dtype=cr.float64) * 4).requires_grad_()
    W2 = (cr.randn(16, 3, generator=g, dtype=cr.float64) * 4).requires_grad_()
    diag = Diagnostics({"W1": W1, "W2": W2}, every=3)
    for _ in range(10):
        out = cr.sigmoid(cr.tanh(X @ W1) @ W2)
        loss = ((out - Y) ** 2).sum()
        diag.observe_forward(loss)
        loss.backward()
        diag.observe_backward()
        diag.before_step()
        with cr.no_grad():
            W1 -= 0.01 * W1.grad
            W2 -= 0.01 * W2.grad
        diag.after_step()
        W1.grad = W2.grad = None
    assert diag.steps == 10 and [r["step"] for r in diag.history] == [0, 3, 6, 9]
    rec = diag.history[-1]
    assert set(rec["saturation"]) == {"tanh 1", "sigmoid 1"}
    assert set(rec["grad_norm"]) == set(rec["update_ratio"]) == {"W1", "W2"}
    assert any(w.startswith("tanh 1: ") and "|z| > 2.65" in w for w in diag.warnings())
    obj = json.loads(diag.save(tmp_path / "d.json").read_text())
    assert len(obj["history"]) == 4 and obj["warnings"] == diag.warnings()
    lines = diag.save(tmp_path / "d.csv").read_text().splitlines()
    assert len(lines) == 5 and lines[0].startswith("step,loss,saturation:tanh 1")
    png = diag.plot(tmp_path / "d.png", title="plain tensors")
    assert png.read_bytes()[:8] == PNG and png.stat().st_size > 10_000
    assert "Diagnostics over 10 steps (4 recorded" in str(diag)


def test_grad_norm_and_update_ratio_values():
    W = cr.tensor([[3.0, 4.0]], requires_grad=True)
    diag = Diagnostics([W])
    loss = (W * cr.tensor([[1.0, 2.0]])).sum()
    diag.observe_forward(loss)
    loss.backward()
    diag.observe_backward()
    with diag.step(), cr.no_grad():
        W -= 0.5 * W.grad  # dW = (-0.5, -1), ||dW|| / ||W|| = sqrt(1.25) / 5
    r = diag.history[0]
    assert r["loss"] == 11.0 and r["grad_norm"]["0"] == pytest.approx(math.sqrt(5))
    assert r["update_ratio"]["0"] == pytest.approx(math.sqrt(1.25) / 5)


def test_nan_gradients_are_reported():
    W = cr.ones(2, 2, requires_grad=True)
    diag = Diagnostics({"W": W})
    for k in range(4):
        loss = (W * (float("nan") if k == 2 else 1.0)).sum()
        diag.observe_forward(loss)
        loss.backward()
        diag.observe_backward()
        W.grad = None
    warns = diag.warnings()
    assert len(warns) == 1 and warns[0].startswith("NaN/inf: gradients of W at step 2 (1 of 4")
    assert diag.summary()["first_nonfinite"] == 2


def test_vanishing_gradients_and_stalled_updates_in_a_deep_sigmoid_net():
    cr.manual_seed(0)
    layers = []
    for _ in range(8):
        layers += [nn.Linear(32, 32), nn.Sigmoid()]
    model = nn.Sequential(*layers, nn.Linear(32, 1))
    diag = train(model, cr.randn(64, 32), cr.randn(64, 1), 6, diag=Diagnostics(model))
    warns = diag.warnings()
    assert any(w.startswith("vanishing gradients: the first layer (0)") for w in warns)
    assert any(w.startswith("layers 0, 2") and "learning has stalled" in w for w in warns)
    assert not any("saturated" in w for w in warns)  # small weights: sigmoids near 0.5


def test_dead_relus_and_unstable_updates():
    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 1))
    with cr.no_grad():
        model[0].bias.fill_(-100.0)  # every unit off for every input
    diag = train(model, cr.rand(32, 8), cr.rand(32, 1), 4, lr=50.0, diag=Diagnostics(model))
    warns = diag.warnings()
    assert any(w.startswith("relu 1: 100% of units output 0") for w in warns)
    assert any(w.startswith("layer 2: updates are") and "unstable" in w for w in warns)


def test_harmless_sigmoids_are_left_out():
    x = (cr.randn(64, 4, generator=cr.Generator().manual_seed(0)) * 20).requires_grad_()
    for loss in (F.silu(x).sum(), F.binary_cross_entropy(cr.sigmoid(x), (x > 0).float())):
        diag = Diagnostics({"x": x})
        diag.observe_forward(loss)
        assert diag.history[0]["saturation"] == {}
    diag = Diagnostics({"x": x})
    diag.observe_forward(((cr.sigmoid(x) - 1) ** 2).sum())
    assert diag.history[0]["saturation"]["sigmoid 1"] > 0.8


def test_verdicts_use_the_later_half():
    W = cr.ones(1, requires_grad=True)
    diag = Diagnostics({"W": W})
    for k in range(10):  # saturated only during a "warm-up" of 4 steps
        scale = 10.0 if k < 4 else 0.0
        diag.observe_forward(cr.sigmoid(W * scale).sum())
    assert diag.summary()["saturation"]["sigmoid 1"] == 0.0 and diag.warnings() == []


def test_bad_arguments():
    with pytest.raises(TypeError, match="Diagnostics: expected a model"):
        Diagnostics(3)
    with pytest.raises(ValueError, match="every"):
        Diagnostics(every=0)
    assert str(Diagnostics()) == "Diagnostics: nothing recorded yet"


def test_viz_imports_neither_nn_nor_matplotlib():
    import subprocess
    import sys

    code = ("import sys, chainrule.viz.diagnostics, chainrule.viz.summary; "
            "print('chainrule.nn' in sys.modules, 'matplotlib' in sys.modules)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.stdout.split() == ["False", "False"], r.stderr


def test_an_empty_batch_is_not_a_dead_relu():
    W = cr.ones(3, 4, requires_grad=True)
    diag = Diagnostics({"W": W})
    diag.observe_forward(cr.relu(cr.ones(0, 3) @ W).sum())
    assert diag.history[-1]["dead"] == {}


def test_plot_leaves_the_matplotlib_backend_alone(tmp_path):
    matplotlib = pytest.importorskip("matplotlib")
    before = matplotlib.get_backend()
    W = cr.ones(3, 2, requires_grad=True)
    diag = Diagnostics({"W": W})
    for _ in range(3):
        loss = cr.sigmoid(cr.ones(4, 3) @ W).sum()
        diag.observe_forward(loss)
        loss.backward()
        diag.observe_backward()
        with diag.step(), cr.no_grad():
            W -= 0.1 * W.grad
        W.grad = None
    diag.plot(tmp_path / "d.png")
    assert matplotlib.get_backend() == before
    assert (tmp_path / "d.png").read_bytes()[:4] == b"\x89PNG"


def test_backward_is_observe_forward_backward_observe_backward():
    W = cr.full((3, 2), 2.0, requires_grad=True)
    diag = Diagnostics({"W": W})
    diag.backward(cr.sigmoid(cr.ones(5, 3) @ W).sum())
    rec = diag.history[-1]
    assert rec["saturation"] == {"sigmoid 1": 1.0} and rec["grad_norm"]["W"] > 0
    assert W.grad is not None and len(diag.history) == 1
