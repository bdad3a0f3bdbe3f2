"""IDX files (MNIST format, raw and gzip) and image folders: reading them, and bad files."""

import gzip
import struct

import numpy as np
import pytest

import chainrule as cr
from chainrule.data import (MNIST, DataLoader, FashionMNIST, IDXError, ImageFolder,
                            load_image_folder, load_mnist, read_idx, write_idx)


def write_mnist(root, n_train=20, n_test=10, gz=False, size=28):
    rng = np.random.default_rng(0)
    suffix = ".gz" if gz else ""
    for stem, n in (("train", n_train), ("t10k", n_test)):
        write_idx(root / f"{stem}-images-idx3-ubyte{suffix}",
                  rng.integers(0, 256, (n, size, size), dtype=np.uint8))
        write_idx(root / f"{stem}-labels-idx1-ubyte{suffix}",
                  rng.integers(0, 10, n).astype(np.uint8))


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
@pytest.mark.parametrize("gz", [False, True])
def test_round_trip(tmp_path, dtype, gz):
    a = (np.arange(24) - 5).reshape(2, 3, 4).astype(dtype)
    p = tmp_path / ("a.gz" if gz else "a")
    write_idx(p, a)
    assert (p.read_bytes()[:2] == b"\x1f\x8b") == gz
    b = read_idx(p)
    assert b.dtype == a.dtype and b.dtype.isnative and np.array_equal(a, b)


def test_header_is_big_endian_mnist_layout(tmp_path):
    write_idx(tmp_path / "x", np.zeros((3, 28, 28), np.uint8))
    raw = (tmp_path / "x").read_bytes()
    assert raw[:16] == struct.pack(">HBBIII", 0, 8, 3, 3, 28, 28)
    assert len(raw) == 16 + 3 * 28 * 28


@pytest.mark.parametrize("content, message", [
    (b"\x00\x00", "too short"),
    (b"PK\x03\x04" + b"\x00" * 20, "not an IDX file: magic number 0x504b0304"),
    (b"\x00\x00\x07\x01" + b"\x00" * 8, "not an IDX file"),
    (b"\x00\x00\x08\x00", "0 dimensions"),
    (b"\x00\x00\x08\x03\x00\x00\x00\x02", "truncated header"),
    (struct.pack(">HBBII", 0, 8, 2, 2, 3) + b"\x01" * 5, "truncated"),
    (struct.pack(">HBBII", 0, 8, 2, 2, 3) + b"\x01" * 7, "trailing bytes"),
])
def test_bad_files_are_named_and_explained(tmp_path, content, message):
    p = tmp_path / "bad-idx3-ubyte"
    p.write_bytes(content)
    with pytest.raises(IDXError, match=message) as e:
        read_idx(p)
    assert str(p) in str(e.value)


def test_truncated_gzip(tmp_path):
    p = tmp_path / "x.gz"
    write_idx(p, np.arange(1000, dtype=np.int32))
    p.write_bytes(p.read_bytes()[:-30])
    with pytest.raises(IDXError, match="gzip file that cannot be decompressed"):
        read_idx(p)
    good = tmp_path / "y.gz"
    good.write_bytes(gzip.compress(struct.pack(">HBBI", 0, 8, 1, 4) + b"\x01\x02"))
    with pytest.raises(IDXError, match="truncated"):
        read_idx(good)


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such IDX file"):
        read_idx(tmp_path / "nope")
    with pytest.raises(TypeError, match="uint8, int8"):
        write_idx(tmp_path / "c", np.zeros(3, np.complex64))


@pytest.mark.parametrize("gz", [False, True])
def test_load_mnist_and_dataset(tmp_path, gz):
    write_mnist(tmp_path, gz=gz)
    X, y = load_mnist(tmp_path)
    assert X.shape == (20, 28, 28) and X.dtype == np.uint8 and y.dtype == np.int64
    assert load_mnist(tmp_path, train=False)[0].shape == (10, 28, 28)
    ds = MNIST(tmp_path, train=False)
    x0, t0 = ds[0]
    assert x0.shape == (1, 28, 28) and x0.dtype == cr.float32 and isinstance(t0, int)
    assert np.allclose(x0.numpy()[0], ds.data[0] / 255)
    xb, yb = next(iter(DataLoader(ds, batch_size=4)))
    assert xb.shape == (4, 1, 28, 28) and np.array_equal(yb.numpy(), ds.targets[:4])
    assert np.array_equal(xb.numpy()[0], x0.numpy())
    assert FashionMNIST(tmp_path).classes[9] == "Ankle boot"


def test_mnist_folder_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such folder"):
        load_mnist(tmp_path / "none")
    with pytest.raises(FileNotFoundError, match="train-images-idx3-ubyte"):
        load_mnist(tmp_path)
    write_mnist(tmp_path)
    write_idx(tmp_path / "train-labels-idx1-ubyte", np.zeros(19, np.uint8))
    with pytest.raises(IDXError, match="20 images but .* 19 labels"):
        load_mnist(tmp_path)
    write_idx(tmp_path / "train-images-idx3-ubyte", np.zeros((19, 4), np.uint8))
    with pytest.raises(IDXError, match=r"expected uint8 images of shape \(N, rows, cols\)"):
        load_mnist(tmp_path)
    with pytest.raises(ValueError, match="download=True is not supported"):
        MNIST(tmp_path, download=True)


def make_folder(root, sizes=((8, 6), (8, 6))):
    Image = pytest.importorskip("PIL.Image")
    rng = np.random.default_rng(1)
    for c, n in (("cat", 3), ("dog", 2)):
        (root / c).mkdir(parents=True)
        for i in range(n):
            h, w = sizes[i % len(sizes)]
            arr = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
            Image.fromarray(arr).save(root / c / f"{i}.{'png' if i % 2 else 'jpg'}")
    (root / "dog" / "notes.txt").write_text("not an image")


def test_image_folder(tmp_path):
    make_folder(tmp_path)
    ds = ImageFolder(tmp_path)
    assert ds.classes == ["cat", "dog"] and ds.class_to_idx == {"cat": 0, "dog": 1}
    assert len(ds) == 5 and ds.targets == [0, 0, 0, 1, 1]
    img, t = ds[4]
    assert img.size == (6, 8) and t == 1
    X, y, classes = load_image_folder(tmp_path, grayscale=True)
    assert X.shape == (5, 1, 8, 6) and X.dtype == np.float32 and 0 <= X.min() <= X.max() <= 1
    assert y.tolist() == [0, 0, 0, 1, 1] and classes == ["cat", "dog"]
    assert load_image_folder(tmp_path, size=(4, 4))[0].shape == (5, 3, 4, 4)


def test_image_folder_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such folder"):
        ImageFolder(tmp_path / "x")
    with pytest.raises(FileNotFoundError, match="no class folders"):
        ImageFolder(tmp_path)
    make_folder(tmp_path / "a", sizes=((8, 6), (5, 5)))
    with pytest.raises(ValueError, match="differs from the first image's"):
        load_image_folder(tmp_path / "a")
    (tmp_path / "a" / "cat" / "broken.png").write_bytes(b"\x89PNG not really")
    with pytest.raises(ValueError, match="broken.png: cannot decode it as an image"):
        load_image_folder(tmp_path / "a", size=(4, 4))
    (tmp_path / "a" / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="found no valid file for the classes empty"):
        ImageFolder(tmp_path / "a")
