"""The `chainrule` command: training runs, their files, resume, evaluate, predict, bad input."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("sklearn")
pytest.importorskip("safetensors")
pytest.importorskip("rich")

import chainrule as cr  # noqa: E402
from chainrule.cli import main  # noqa: E402
from chainrule.cli.recipes import train_tutorial  # noqa: E402

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def run(*args):
    return main([str(a) for a in args])


def weights(run_dir):
    return {k: v.numpy() for k, v in cr.load(run_dir / "checkpoint.safetensors")["model"].items()}


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "r"
    assert run("train", "digits", "--epochs", "3", "--out", out, "--quiet") == 0
    return out


def test_train_writes_the_run_folder(trained):
    for name in ["metrics.json", "history.csv", "curves.png", "confusion.png",
                 "misclassified.png", "checkpoint.safetensors"]:
        assert (trained / name).stat().st_size > 0, name
    m = json.loads((trained / "metrics.json").read_text())
    assert m["epochs"] == 3 and 0.9 < m["test_accuracy"] <= 1
    assert len(m["per_class"]) == 10 and np.array(m["confusion_matrix"]).sum() == 540
    lines = (trained / "history.csv").read_text().splitlines()
    assert lines[0].startswith("epoch,train_loss") and len(lines) == 4
    png = (trained / "curves.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"


def test_same_seed_same_numbers(trained, tmp_path):
    out = tmp_path / "again"
    assert run("train", "digits", "--epochs", "3", "--out", out, "--quiet", "--no-plots") == 0
    a, b = weights(trained), weights(out)
    assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)
    ma = json.loads((trained / "metrics.json").read_text())
    mb = json.loads((out / "metrics.json").read_text())
    assert ma["test_accuracy"] == mb["test_accuracy"] and ma["test_loss"] == mb["test_loss"]


def test_resume_continues_exactly(tmp_path):
    full, part = tmp_path / "full", tmp_path / "part"
    common = ["--epochs", "4", "--quiet", "--no-plots", "--dropout", "0.1", "--seed", "3"]
    assert run("train", "digits", "--out", full, *common) == 0
    assert run("train", "digits", "--out", part, "--stop-after", "2", *common) == 0
    assert len(json.loads(cr.load(part / "checkpoint.safetensors")["history"])) == 2
    assert run("train", "digits", "--resume", part, "--quiet", "--no-plots") == 0
    a, b = weights(full), weights(part)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    ha = (full / "history.csv").read_text().splitlines()
    hb = (part / "history.csv").read_text().splitlines()
    strip = [lambda r: r.rsplit(",", 1)[0]]  # drop the seconds column
    assert [strip[0](r) for r in ha] == [strip[0](r) for r in hb]


def test_evaluate(trained, capsys):
    assert run("evaluate", trained) == 0
    out = capsys.readouterr().out
    assert "test accuracy" in out and "precision" in out and "confusion matrix" in out


def test_predict_reads_images_of_any_polarity_and_size(trained, tmp_path, capsys):
    from PIL import Image
    from sklearn.datasets import load_digits

    digits = load_digits()
    paths = []
    for i in (0, 1, 2):  # a 0, a 1 and a 2 from the dataset, drawn large
        img = digits.images[i] / 16.0
        dark_on_light = Image.fromarray((255 - img * 255).astype(np.uint8)).resize((80, 80))
        p = tmp_path / f"d{i}.png"
        dark_on_light.save(p)
        paths.append(p)
    light_on_dark = Image.fromarray((digits.images[1] / 16 * 255).astype(np.uint8))
    light_on_dark.resize((48, 48)).convert("RGB").save(tmp_path / "inv.jpg")
    paths.append(tmp_path / "inv.jpg")
    assert run("predict", trained, *paths) == 0
    lines = [ln for ln in capsys.readouterr().out.splitlines() if "(p=" in ln]
    assert len(lines) == 4
    predicted = [int(ln.split(": ")[1].split()[0]) for ln in lines]
    assert predicted[:2] == [0, 1]


def test_image_conversion_matches_the_dataset_form():
    import tempfile

    from PIL import Image
    from sklearn.datasets import load_digits

    from chainrule.cli.images import digit_from_image

    img = load_digits().images[5]
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "x.png"
        Image.fromarray((255 - img / 16 * 255).astype(np.uint8)).resize((64, 64),
                                                                         Image.NEAREST).save(p)
        got = digit_from_image(p)
    assert got.shape == (8, 8) and got.min() >= 0 and got.max() <= 16
    assert np.abs(got - img).mean() < 3.0


@pytest.mark.parametrize("argv,fragment", [
    (["train", "digits", "--bogus"], "unrecognized arguments: --bogus"),
    (["train", "letters"], "invalid choice"),
    (["train", "digits", "--epochs", "0"], "--epochs must be a positive integer"),
    (["evaluate", "no/such/run"], "no such run folder"),
    (["nonsense"], "invalid choice"),
])
def test_bad_input_gets_one_line_and_exit_code_2(argv, fragment, capsys):
    assert run(*argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("chainrule: error:") and fragment in err and "\n" not in err


def test_corrupt_checkpoint_and_unreadable_image(trained, tmp_path, capsys):
    bad = tmp_path / "bad.safetensors"
    data = bytearray((trained / "checkpoint.safetensors").read_bytes())
    data[-10] ^= 0xFF
    bad.write_bytes(bytes(data))
    assert run("evaluate", bad) == 2
    err = capsys.readouterr().err.strip()
    assert "bad.safetensors" in err and "\n" not in err
    junk = tmp_path / "junk.png"
    junk.write_text("not an image")
    assert run("predict", trained, junk) == 2
    err = capsys.readouterr().err.strip()
    assert "junk.png" in err and "\n" not in err


def test_console_script_runs_without_traceback(tmp_path):
    r = subprocess.run([sys.executable, "-m", "chainrule", "predict", str(tmp_path / "x")],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "Traceback" not in r.stderr


# -- the tutorial recipe reproduces the tutorial's NumPy program -----------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_tutorial_recipe_matches_the_tutorial_numpy_code(seed):
    sys.path.insert(0, str(EXAMPLES.parent / "tests"))
    from test_examples import tutorial_numpy

    res = train_tutorial(seed=seed, epochs=1000)
    ref_losses, ref_acc, rW1, rW2 = tutorial_numpy(seed, 1000)
    np.testing.assert_allclose(res.losses, ref_losses, rtol=0, atol=1e-9)
    np.testing.assert_allclose(res.W1, rW1, rtol=0, atol=1e-9)
    assert res.test_acc == ref_acc
    if seed == 0:
        assert res.test_acc == pytest.approx(0.4926, abs=1e-4)
    assert res.final["out"] > 0.5  # most outputs saturated: the explanation's point


def test_tutorial_command(tmp_path, capsys):
    out = tmp_path / "tut"
    assert run("train", "digits", "--recipe", "tutorial", "--epochs", "200", "--out", out,
               "--quiet") == 0
    text = capsys.readouterr().out
    assert "Why the tutorial's recipe stalls" in text and "What the default recipe changes" in text
    assert (out / "loss.png").exists() and (out / "metrics.json").exists()
