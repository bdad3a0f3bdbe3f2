"""Honest training reports: the epoch is chosen on a validation split held out of the training
data, the summary and metrics.json report that epoch's test accuracy, losses are labelled,
options the tutorial recipe ignores are refused, predict --show draws what the model saw, and
the messages come in Chinese with --lang zh or a Chinese locale."""

import json

import numpy as np
import pytest

pytest.importorskip("sklearn")
pytest.importorskip("rich")

from chainrule.cli import i18n, main  # noqa: E402
from chainrule.cli.recipes import EpochStats, choose_epoch, validation_split  # noqa: E402

SMALL = ["--quiet", "--no-plots", "--hidden", "16", "--epochs", "3"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "r"
    assert main(["train", "digits", "--out", str(out), *SMALL]) == 0
    return out


def test_validation_split_is_stratified_disjoint_and_seeded():
    y = np.repeat(np.arange(10), 50)
    tr, va = validation_split(y, 0.1, 0)
    assert len(set(tr) & set(va)) == 0 and len(tr) + len(va) == len(y)
    assert np.bincount(y[va]).tolist() == [5] * 10
    assert np.array_equal(va, validation_split(y, 0.1, 0)[1])
    assert not np.array_equal(va, validation_split(y, 0.1, 1)[1])
    assert len(validation_split(y, 0.0, 0)[1]) == 0


def test_the_epoch_is_chosen_on_validation_never_on_test():
    rows = [(1, 0.99, 0.90, 0.5), (2, 0.95, 0.97, 0.3), (3, 0.98, 0.96, 0.2)]
    h = [EpochStats(e, 0.1, 1.0, vl, va, 0.1, te, 0.0, 0.0) for e, te, va, vl in rows]
    assert choose_epoch(h).epoch == 2  # epoch 1 has the best test accuracy: not chosen
    nan = float("nan")
    assert choose_epoch([EpochStats(e, 0, 0, nan, nan, 0, t, 0, 0)
                         for e, t in [(1, 0.9), (2, 0.8)]]).epoch == 2  # none: the last


def test_metrics_and_summary_report_the_chosen_epoch(trained, capsys):
    m = json.loads((trained / "metrics.json").read_text())
    hist = json.loads((trained / "metrics.json").read_text())["last_epoch"]
    assert m["chosen_by"] == "validation accuracy" and 1 <= m["chosen_epoch"] <= 3
    assert 0 < m["validation_accuracy"] <= 1 and hist["epoch"] == 3
    assert "label smoothing 0.1" in m["loss"] and "best" not in json.dumps(m)
    lines = (trained / "history.csv").read_text().splitlines()
    assert lines[0].split(",")[:5] == ["epoch", "train_loss", "train_acc", "val_loss",
                                       "val_acc"]
    row = lines[m["chosen_epoch"]].split(",")
    assert float(row[6]) == m["test_accuracy"]  # the chosen epoch's test accuracy


def test_summary_wording(tmp_path, capsys):
    assert main(["train", "digits", "--out", str(tmp_path / "r"), *SMALL, "--lang", "en"]) == 0
    out = capsys.readouterr().out
    assert "chosen on the validation split" in out and "best test" not in out
    assert "validation" in out and "label smoothing 0.1" in out
    assert "126 examples held out of the 1257" in out


def test_no_validation_split_reports_the_last_epoch(tmp_path, capsys):
    assert main(["train", "digits", "--out", str(tmp_path / "r"), *SMALL, "--val-size", "0"]) == 0
    m = json.loads((tmp_path / "r" / "metrics.json").read_text())
    assert m["chosen_epoch"] == 3 and m["validation_accuracy"] is None
    assert "no validation split" in capsys.readouterr().out


def test_evaluate_labels_its_loss(trained, capsys):
    assert main(["evaluate", str(trained), "--lang", "en"]) == 0
    assert "without label smoothing; training reported it with smoothing 0.1" in \
        capsys.readouterr().out


@pytest.mark.parametrize("args,named", [
    (["--model", "cnn"], "--model"), (["--val-size", "0.2"], "--val-size"),
    (["--data", "x"], "--data"), (["--image-size", "16"], "--image-size")])
def test_tutorial_refuses_options_it_ignores(args, named, capsys):
    assert main(["train", "digits", "--recipe", "tutorial", *args]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and named in err and "tutorial" in err


def test_tutorial_refuses_other_tasks(capsys):
    assert main(["train", "mnist", "--recipe", "tutorial"]) == 2
    assert "digits only" in capsys.readouterr().err


def test_predict_show_draws_what_the_model_saw(trained, tmp_path, capsys):
    from PIL import Image
    from sklearn.datasets import load_digits

    img = load_digits().images[3]
    path = tmp_path / "three.png"
    Image.fromarray((255 - img * 255 / 16).astype(np.uint8)).resize((64, 64)).save(path)
    png = tmp_path / "seen.png"
    assert main(["predict", str(trained), str(path), "--show", "--out", str(png),
                 "--lang", "en"]) == 0
    out = capsys.readouterr().out
    assert "what the model saw (8x8" in out and "probability of each digit" in out
    frame = [ln for ln in out.splitlines() if ln.startswith("│")]
    assert len(frame) == 8 and any("█" in ln for ln in frame)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert main(["predict", str(trained), str(path), "--out", str(tmp_path / "x.svg")]) == 2


def test_messages_in_chinese(trained, capsys, monkeypatch):
    assert set(i18n.MESSAGES["en"]) == set(i18n.MESSAGES["zh"])
    assert main(["evaluate", str(trained), "--lang", "zh"]) == 0
    assert "测试集准确率" in capsys.readouterr().out
    monkeypatch.setenv("LC_ALL", "")
    monkeypatch.setenv("LC_MESSAGES", "")
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")
    assert main(["evaluate", str(trained)]) == 0
    assert "混淆矩阵" in capsys.readouterr().out
    assert i18n.lang_from_env({"LC_ALL": "C", "LANG": "zh_CN"}) == "en"
    assert i18n.lang_from_env({"LANG": "zh_TW.UTF-8"}) == "zh"
