"""A catalogue of bad command lines: each gets exit code 2 and exactly one line on stderr naming
the option or the file, and every file saved before is byte-identical afterwards (nothing
created, nothing replaced, no temporary file left)."""

import errno
import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("sklearn")
pytest.importorskip("safetensors")
pytest.importorskip("rich")
pytest.importorskip("PIL")

import chainrule as cr  # noqa: E402
from chainrule import serialization  # noqa: E402
from chainrule.cli import main  # noqa: E402

TRAIN = ["train", "digits", "--quiet", "--no-plots"]


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """A run interrupted after 2 of its 3 epochs (with its plots), a tutorial-recipe run,
    forged checkpoints and images; the paths by name."""
    root = tmp_path_factory.mktemp("bad")
    run = root / "run"
    assert main(["train", "digits", "--quiet", "--epochs", "3", "--stop-after", "2",
                 "--hidden", "32", "--out", str(run)]) == 0
    assert main(["train", "digits", "--recipe", "tutorial", "--epochs", "5", "--quiet",
                 "--no-plots", "--out", str(root / "tut")]) == 0
    ckpt = run / "checkpoint.safetensors"
    raw = ckpt.read_bytes()
    state = cr.load(ckpt)
    config = json.loads(state["config"])
    f = root / "forged"
    f.mkdir()

    def forge(name, drop=(), **changes):
        # "data" is both a config field (--data DIR) and the checkpoint's normalisation: the
        # latter is what these forgeries change
        in_cfg = {k: v for k, v in changes.items() if k in config and k != "data"}
        s = {k: v for k, v in state.items() if k not in drop}
        s["config"] = json.dumps({**config, **in_cfg})
        s.update({k: v for k, v in changes.items() if k not in in_cfg})
        (f / name).mkdir()
        cr.save(s, f / name / "checkpoint.safetensors")

    flipped = bytearray(raw)
    flipped[-10] ^= 0xFF
    for name, data in (("truncated", raw[: len(raw) // 2]), ("flipped", bytes(flipped)),
                       ("empty", b""), ("text", b"hello, not a checkpoint\n")):
        (f / name).mkdir()
        (f / name / "checkpoint.safetensors").write_bytes(data)
    import safetensors.numpy

    (f / "foreign").mkdir()
    safetensors.numpy.save_file({"w": np.zeros(3)}, str(f / "foreign/checkpoint.safetensors"))
    (f / "noconfig").mkdir()
    cr.save({"model": state["model"]}, f / "noconfig/checkpoint.safetensors")
    forge("config_not_json", config="{not json")
    forge("config_list", config="[1, 2]")
    forge("config_hidden", hidden=-5)
    forge("config_lr", lr=float("nan"))
    forge("config_model", model="rnn")
    forge("nomodel", drop=("model",))
    forge("cnn", model="cnn")
    forge("size", hidden=64)
    forge("nohistory", drop=("history",))
    forge("badhistory", history='[{"epoch": 3}]')
    forge("nodata", drop=("data",))
    forge("zerostd", data={"mean": state["data"]["mean"], "std": 0 * state["data"]["std"]})
    forge("sgd", optimizer="sgd")
    forge("complete", epochs=2)
    forge("longer", epochs=5)
    forge("norng", drop=("rng",))
    (root / "empty_dir").mkdir()
    (root / "metrics_only").mkdir()
    (root / "metrics_only" / "metrics.json").write_text("{}\n")
    (root / "a_file").write_text("not a folder\n")
    img = root / "img"
    img.mkdir()
    (img / "junk.png").write_text("not an image")
    (img / "empty.png").write_bytes(b"")
    from PIL import Image

    Image.new("L", (40, 40), 255).save(img / "blank.png")
    from test_images import png_declaring  # tests/cli/test_images.py

    (img / "bomb.png").write_bytes(png_declaring(60000, 60000))
    return root


def snapshot(*roots):
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest()
            for r in roots for p in sorted(Path(r).rglob("*")) if p.is_file()} | {
        str(p): "dir" for r in roots for p in Path(r).rglob("*") if p.is_dir()}


R, T, F, I = "{run}", "{tut}", "{forged}", "{img}"
CASES = [
    # options: parse time, the message names the option
    ("lr-nan", [*TRAIN, "--lr", "nan"], "--lr"),
    ("lr-inf", [*TRAIN, "--lr", "inf"], "--lr"),
    ("lr-zero", [*TRAIN, "--lr", "0"], "--lr"),
    ("lr-negative", [*TRAIN, "--lr", "-0.1"], "--lr"),
    ("lr-text", [*TRAIN, "--lr", "fast"], "--lr"),
    ("dropout-one", [*TRAIN, "--dropout", "1"], "--dropout"),
    ("dropout-negative", [*TRAIN, "--dropout", "-0.1"], "--dropout"),
    ("dropout-nan", [*TRAIN, "--dropout", "nan"], "--dropout"),
    ("smoothing-big", [*TRAIN, "--label-smoothing", "1.5"], "--label-smoothing"),
    ("smoothing-negative", [*TRAIN, "--label-smoothing", "-0.1"], "--label-smoothing"),
    ("weight-decay-negative", [*TRAIN, "--weight-decay", "-1"], "--weight-decay"),
    ("weight-decay-inf", [*TRAIN, "--weight-decay", "inf"], "--weight-decay"),
    ("seed-negative", [*TRAIN, "--seed", "-1"], "--seed"),
    ("seed-huge", [*TRAIN, "--seed", str(2 ** 32)], "--seed"),
    ("seed-float", [*TRAIN, "--seed", "1.5"], "--seed"),
    ("epochs-zero", [*TRAIN, "--epochs", "0"], "--epochs"),
    ("epochs-negative", [*TRAIN, "--epochs", "-3"], "--epochs"),
    ("batch-zero", [*TRAIN, "--batch-size", "0"], "--batch-size"),
    ("hidden-zero", [*TRAIN, "--hidden", "0"], "--hidden"),
    ("hidden-too-large", [*TRAIN, "--hidden", str(10 ** 11)], "--hidden"),
    ("cnn-too-large", [*TRAIN, "--model", "cnn", "--hidden", str(10 ** 11)], "--hidden"),
    ("test-size-zero", [*TRAIN, "--test-size", "0"], "--test-size"),
    ("test-size-one", [*TRAIN, "--test-size", "1"], "--test-size"),
    ("stop-after-zero", [*TRAIN, "--stop-after", "0"], "--stop-after"),
    ("unknown-option", [*TRAIN, "--bogus"], "--bogus"),
    ("unknown-task", ["train", "letters"], "letters"),
    ("unknown-model", [*TRAIN, "--model", "rnn"], "--model"),
    ("unknown-command", ["nonsense"], "nonsense"),
    ("tutorial-epochs-zero", [*TRAIN, "--recipe", "tutorial", "--epochs", "0"], "--epochs"),
    ("tutorial-fixed-option", [*TRAIN, "--recipe", "tutorial", "--model", "cnn"], "--model"),
    ("tutorial-fixed-lr", [*TRAIN, "--recipe", "tutorial", "--lr", "0.1"], "--lr"),
    ("explain-lr-nan", ["explain", "tutorial", "--lr", "nan"], "--lr"),
    ("explain-lr-zero", ["explain", "tutorial", "--lr", "0"], "--lr"),
    ("graph-depth-zero", ["graph", "digits", "--depth", "0", "--out", "g.svg"], "--depth"),
    ("graph-bad-suffix", ["graph", "digits", "--out", "g.txt"], "--out"),
    ("graph-no-folder", ["graph", "digits", "--out", "no/such/g.svg"], "--out"),
    # output folders
    ("out-existing-run", [*TRAIN, "--epochs", "1", "--out", R], "--overwrite"),
    ("out-existing-tutorial", [*TRAIN, "--recipe", "tutorial", "--out", T], "--overwrite"),
    ("out-is-a-file", [*TRAIN, "--out", "{base}/a_file"], "a_file"),
    ("out-under-a-file", [*TRAIN, "--out", "{base}/a_file/run"], "a_file"),
    # run folders and checkpoints, for evaluate, predict and resume
    ("evaluate-missing", ["evaluate", "{base}/no_such_run"], "no_such_run"),
    ("evaluate-empty-folder", ["evaluate", "{base}/empty_dir"], "empty_dir"),
    ("evaluate-no-checkpoint", ["evaluate", "{base}/metrics_only"], "metrics_only"),
    *[(f"{cmd}-{name}", [cmd, f"{F}/{name}", *extra], f"forged/{name}/")
      for cmd, extra in (("evaluate", []), ("predict", ["{img}/junk.png"]))
      for name in ("truncated", "flipped", "empty", "text", "foreign", "noconfig",
                   "config_not_json", "config_list", "config_hidden", "config_lr",
                   "config_model", "nomodel", "cnn", "size")],
    ("predict-nodata", ["predict", f"{F}/nodata", "{img}/junk.png"], "nodata"),
    ("predict-zerostd", ["predict", f"{F}/zerostd", "{img}/junk.png"], "zerostd"),
    ("evaluate-tutorial", ["evaluate", T], "tutorial"),
    ("predict-tutorial", ["predict", T, "{img}/junk.png"], "tutorial"),
    *[(f"resume-{name}", [*TRAIN, "--resume", f"{F}/{name}"], f"forged/{name}/")
      for name in ("truncated", "flipped", "empty", "text", "foreign", "noconfig",
                   "config_not_json", "config_hidden", "config_model", "nomodel", "cnn", "size",
                   "nohistory", "badhistory", "sgd", "complete", "longer", "norng")],
    ("resume-missing", [*TRAIN, "--resume", "{base}/no_such_run"], "no_such_run"),
    ("resume-empty-folder", [*TRAIN, "--resume", "{base}/empty_dir"], "empty_dir"),
    ("resume-tutorial", [*TRAIN, "--resume", T], "tutorial"),
    ("resume-other-file", [*TRAIN, "--resume", "{run}/metrics.json"], "metrics.json"),
    # options that conflict with the run being resumed
    ("resume-other-lr", [*TRAIN, "--resume", R, "--lr", "0.1"], "--lr"),
    ("resume-other-model", [*TRAIN, "--resume", R, "--model", "cnn"], "--model"),
    ("resume-other-hidden", [*TRAIN, "--resume", R, "--hidden", "64"], "--hidden"),
    ("resume-other-epochs", [*TRAIN, "--resume", R, "--epochs", "10"], "--epochs"),
    ("resume-other-out", [*TRAIN, "--resume", R, "--out", "{base}/elsewhere"], "--out"),
    ("resume-tutorial-recipe", [*TRAIN, "--resume", R, "--recipe", "tutorial"], "--recipe"),
    # images
    ("predict-missing-image", ["predict", R, "{img}/nope.png"], "nope.png"),
    ("predict-junk-image", ["predict", R, "{img}/junk.png"], "junk.png"),
    ("predict-empty-image", ["predict", R, "{img}/empty.png"], "empty.png"),
    ("predict-blank-image", ["predict", R, "{img}/blank.png"], "blank.png"),
    ("predict-folder-image", ["predict", R, I], "img"),
    ("predict-bomb", ["predict", R, "{img}/bomb.png"], "bomb.png"),
]


def check_one_line_and_nothing_lost(argv, fragment, base, cwd, capsys):
    before = snapshot(base, cwd)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.endswith("\n") and err.count("\n") == 1, err
    assert err.startswith("chainrule: error: ") and fragment in err, err
    assert "Traceback" not in err
    assert snapshot(base, cwd) == before


@pytest.mark.parametrize("name,argv,fragment", CASES, ids=[c[0] for c in CASES])
def test_bad_command_line(name, argv, fragment, base, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    paths = {"base": base, "run": base / "run", "tut": base / "tut", "forged": base / "forged",
             "img": base / "img"}
    argv = [a.format(**paths) for a in argv]
    check_one_line_and_nothing_lost(argv, fragment, base, tmp_path, capsys)


def read_only(monkeypatch):
    """Simulate a read-only folder (tests run as root, where chmod does not stop writes)."""
    def refuse(target):
        raise PermissionError(errno.EACCES, "Permission denied", target)

    monkeypatch.setattr(serialization, "_create_temp", refuse)


def full_disk(monkeypatch):
    """Simulate a full disk: every file's data fails to reach it (fsync reports ENOSPC)."""
    def refuse(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(serialization.os, "fsync", refuse)


@pytest.mark.parametrize("trouble", [read_only, full_disk])
@pytest.mark.parametrize("how", ["resume", "overwrite", "new"])
def test_unwritable_output_folder(trouble, how, base, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    trouble(monkeypatch)
    run = base / "run"
    argv = {"resume": [*TRAIN, "--resume", str(run)],
            "overwrite": [*TRAIN, "--epochs", "1", "--hidden", "8", "--out", str(run),
                          "--overwrite"],
            "new": [*TRAIN, "--epochs", "1", "--hidden", "8", "--out", str(base / "new")]}[how]
    fragment = {"resume": "run", "overwrite": "run", "new": "new"}[how]
    check_one_line_and_nothing_lost(argv, fragment, base, tmp_path, capsys)
