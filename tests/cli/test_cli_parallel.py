"""`chainrule train` on MNIST-format files and image folders, and on several ranks (--workers)."""

import json

import numpy as np
import pytest

pytest.importorskip("safetensors")
pytest.importorskip("rich")

import chainrule as cr  # noqa: E402
import chainrule.distributed as dist  # noqa: E402
from chainrule.cli import main  # noqa: E402
from chainrule.data import write_idx  # noqa: E402

needs_mpi = pytest.mark.skipif(
    dist.find_mpiexec() is None or not dist.is_available(),
    reason='needs mpi4py and an mpiexec: pip install "chainrule[mpi]"')


def run(*args):
    return main([str(a) for a in args])


def weights(run_dir):
    return {k: v.numpy() for k, v in cr.load(run_dir / "checkpoint.safetensors")["model"].items()}


@pytest.fixture(scope="module")
def mnist_dir(tmp_path_factory):
    """A small MNIST-format set whose classes a model can learn: a bright block per class."""
    root = tmp_path_factory.mktemp("mnist")
    rng = np.random.default_rng(0)
    for stem, n in (("train", 300), ("t10k", 60)):
        y = rng.integers(0, 10, n)
        X = rng.integers(0, 60, (n, 28, 28))
        for i, k in enumerate(y):
            X[i, 2 * k:2 * k + 8, 4:24] = 255
        write_idx(root / f"{stem}-images-idx3-ubyte.gz", X.astype(np.uint8))
        write_idx(root / f"{stem}-labels-idx1-ubyte.gz", y.astype(np.uint8))
    return root


@pytest.mark.parametrize("model, arch", [("mlp", "mlp 784-32-10"),
                                         ("cnn", "cnn conv16-pool-conv32-pool-32-10")])
def test_train_mnist(tmp_path, mnist_dir, capsys, model, arch):
    out = tmp_path / "r"
    assert run("train", "fashion-mnist", "--data", mnist_dir, "--model", model, "--hidden", 32,
               "--epochs", 3, "--out", out, "--quiet", "--no-plots") == 0
    m = json.loads((out / "metrics.json").read_text())
    assert m["task"] == "fashion-mnist" and m["config"]["image_size"] == 28
    assert m["test_accuracy"] > 0.5  # learnable: 10% is chance
    assert "fashion-mnist: default recipe" in capsys.readouterr().out
    assert run("evaluate", out) == 0
    assert run("predict", out, tmp_path / "x.png") == 2
    assert "predict reads pictures of single digits" in capsys.readouterr().err


def test_train_images(tmp_path, capsys):
    Image = pytest.importorskip("PIL.Image")
    rng = np.random.default_rng(0)
    for c, color in (("red", (255, 0, 0)), ("blue", (0, 0, 255))):
        (tmp_path / "pics" / c).mkdir(parents=True)
        for i in range(12):
            arr = rng.integers(0, 80, (20, 30, 3)).astype(np.uint8)
            arr[5:15, 5:25] = color
            Image.fromarray(arr).save(tmp_path / "pics" / c / f"{i}.png")
    out = tmp_path / "r"
    assert run("train", "images", "--data", tmp_path / "pics", "--image-size", 12, "--epochs", 3,
               "--batch-size", 8, "--out", out, "--quiet") == 0
    m = json.loads((out / "metrics.json").read_text())
    assert m["config"]["classes"] == 2 and m["config"]["channels"] == 3
    assert m["test_accuracy"] == 1.0 and (out / "misclassified.png").exists()
    assert m["parameters"] == (12 * 12 * 3) * 256 + 256 + 256 * 2 + 2  # mlp 432-256-2


def test_data_errors(tmp_path, capsys):
    assert run("train", "digits", "--workers", 0) == 2
    assert "--workers must be a positive integer, got '0'" in capsys.readouterr().err
    assert run("train", "digits", "--recipe", "tutorial", "--workers", 1) == 2
    assert "the tutorial recipe trains in one process" in capsys.readouterr().err
    assert run("train", "mnist", "--quiet") == 2
    assert "chainrule train mnist needs --data DIR" in capsys.readouterr().err
    assert run("train", "mnist", "--data", tmp_path, "--quiet") == 2
    assert "train-images-idx3-ubyte" in capsys.readouterr().err
    (tmp_path / "train-images-idx3-ubyte").write_bytes(b"\x00\x00\x08\x03" + b"\x00" * 5)
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(b"\x00\x00\x08\x01" + b"\x00" * 4)
    assert run("train", "mnist", "--data", tmp_path, "--quiet") == 2
    err = capsys.readouterr().err
    assert "train-images-idx3-ubyte: truncated header" in err


def test_resuming_a_data_parallel_run_alone_continues_it_exactly(tmp_path):
    """--workers 1 (one rank, no MPI) trains on the global batches every N would; resumed
    without --workers it keeps them: the same weights as without the interruption."""
    a, b = tmp_path / "a", tmp_path / "b"
    common = ("--epochs", 2, "--dtype", "float64", "--quiet", "--no-plots")
    assert run("train", "digits", "--workers", 1, "--out", a, *common) == 0
    assert run("train", "digits", "--workers", 1, "--out", b, "--stop-after", 1, *common) == 0
    assert "ranks" in cr.load(b / "checkpoint.safetensors")
    assert run("train", "digits", "--resume", b, "--quiet", "--no-plots") == 0
    wa, wb = weights(a), weights(b)
    assert all(np.array_equal(wa[k], wb[k]) for k in wa)


@needs_mpi
def test_workers_two_ranks(tmp_path, capfd):
    """Two ranks: rank 0 alone prints and writes; the run resumes in one process, matching
    an uninterrupted one-rank run to 1e-10 (float64)."""
    one, two = tmp_path / "one", tmp_path / "two"
    common = ("--epochs", 2, "--dtype", "float64", "--no-plots")
    assert run("train", "digits", "--workers", 2, "--out", two, "--stop-after", 1, *common) == 0
    out = capfd.readouterr().out
    assert out.count("digits: default recipe") == 1 and "stopped early" in out
    assert json.loads(cr.load(two / "checkpoint.safetensors")["ranks"]) == {"world_size": 2}
    assert run("train", "digits", "--resume", two, "--quiet", "--no-plots") == 0
    assert run("train", "digits", "--workers", 1, "--out", one, "--quiet", *common) == 0
    w1, w2 = weights(one), weights(two)
    assert max(np.abs(w1[k] - w2[k]).max() for k in w1) < 1e-10
    assert run("train", "digits", "--workers", 2, "--batch-size", 33, "--quiet",
               "--out", tmp_path / "x") != 0
    assert "--batch-size 33 (the global batch) must be a multiple of the number of ranks, 2" in (
        capfd.readouterr().err)
