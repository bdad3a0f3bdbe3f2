"""`--resume` continues any run it accepts (also one interrupted mid-epoch) exactly where an
uninterrupted run would be; `--overwrite` replaces a run; an unexpected error is one line."""

import json

import numpy as np
import pytest

pytest.importorskip("sklearn")
pytest.importorskip("safetensors")
pytest.importorskip("rich")

import chainrule as cr  # noqa: E402
import chainrule.cli as cli  # noqa: E402
from chainrule.cli import main  # noqa: E402

SMALL = ["--quiet", "--no-plots", "--hidden", "16", "--seed", "1"]


def run(*args):
    return main(["train", "digits", *[str(a) for a in args]])


def weights(folder):
    return {k: v.numpy() for k, v in cr.load(folder / "checkpoint.safetensors")["model"].items()}


def same_run(a, b):
    wa, wb = weights(a), weights(b)
    assert wa.keys() == wb.keys() and all(np.array_equal(wa[k], wb[k]) for k in wa)
    strip = [r.rsplit(",", 1)[0] for r in (a / "history.csv").read_text().splitlines()]
    assert strip == [r.rsplit(",", 1)[0] for r in (b / "history.csv").read_text().splitlines()]


@pytest.mark.parametrize("schedule", ["onecycle", "cosine"])
def test_interrupted_mid_epoch_resumes_exactly(schedule, tmp_path, monkeypatch, capsys):
    full, part = tmp_path / "full", tmp_path / "part"
    common = [*SMALL, "--epochs", "3", "--schedule", schedule]
    assert run("--out", full, *common) == 0
    calls = []

    def ctrl_c(self, loss, acc):  # Ctrl-C in the middle of the second epoch
        calls.append(1)
        if len(calls) == 40 + 17:
            raise KeyboardInterrupt

    monkeypatch.setattr(cli.RichReporter, "step", ctrl_c)
    assert run("--out", part, *common) == 130
    assert "--resume" in capsys.readouterr().out
    assert len(json.loads(cr.load(part / "checkpoint.safetensors")["history"])) == 1
    monkeypatch.undo()
    assert run("--resume", part, "--quiet", "--no-plots") == 0
    same_run(full, part)
    sched = cr.load(part / "checkpoint.safetensors")["scheduler"]
    assert sched["last_epoch"] == 3 * 40  # stepped exactly to the end of its plan


def test_interrupted_before_the_first_epoch_leaves_nothing(tmp_path, monkeypatch, capsys):
    def ctrl_c(self, loss, acc):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli.RichReporter, "step", ctrl_c)
    assert run("--out", tmp_path / "r", *SMALL, "--epochs", "2") == 130
    assert "nothing saved" in capsys.readouterr().out and not (tmp_path / "r").exists()


def test_resume_with_options_that_agree_and_a_longer_unscheduled_run(tmp_path):
    full, part = tmp_path / "full", tmp_path / "part"
    assert run("--out", full, *SMALL, "--epochs", "3", "--schedule", "none") == 0
    assert run("--out", part, *SMALL, "--epochs", "2", "--schedule", "none") == 0
    # the run's own values repeated are accepted; more epochs without a schedule extend it
    assert run("--resume", part, "--epochs", "3", "--hidden", "16", "--schedule", "none",
               "--quiet", "--no-plots") == 0
    same_run(full, part)


def test_overwrite_replaces_the_run_and_its_stale_files(tmp_path, capsys):
    out = tmp_path / "r"
    assert run("--out", out, "--quiet", "--hidden", "8", "--epochs", "1") == 0
    assert (out / "curves.png").exists()
    assert run("--out", out, *SMALL, "--epochs", "2") == 2
    assert "--overwrite" in capsys.readouterr().err
    assert run("--out", out, *SMALL, "--epochs", "2", "--overwrite") == 0
    assert json.loads((out / "metrics.json").read_text())["epochs"] == 2
    assert sorted(p.name for p in out.iterdir()) == ["checkpoint.safetensors", "history.csv",
                                                    "metrics.json"]


def test_an_unexpected_error_is_one_line_with_a_hint(monkeypatch, capsys):
    def broken(args):
        raise RuntimeError("something\ninside broke")

    monkeypatch.setattr(cli, "cmd_evaluate", broken)
    monkeypatch.delenv("CHAINRULE_DEBUG", raising=False)
    assert main(["evaluate", "somewhere"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "RuntimeError: something; inside broke" in err
    assert "--debug" in err and "CHAINRULE_DEBUG=1" in err
    with pytest.raises(RuntimeError):  # the traceback, when asked for
        main(["evaluate", "somewhere", "--debug"])
    monkeypatch.setenv("CHAINRULE_DEBUG", "1")
    with pytest.raises(RuntimeError):
        main(["evaluate", "somewhere"])
