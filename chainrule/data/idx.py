"""The IDX files of MNIST, Fashion-MNIST and EMNIST (raw or gzip), read and checked.

An IDX file is: two zero bytes, a type code (0x08 unsigned byte, 0x09 signed byte, 0x0B
int16, 0x0C int32, 0x0D float32, 0x0E float64), the number of dimensions, each dimension as a
big-endian uint32, then the values, big-endian, row-major. Everything is checked against the
file's size, so a truncated download or a foreign file is reported by name, never read as
garbage.

>>> import numpy as np, tempfile, os
>>> path = os.path.join(tempfile.mkdtemp(), "x-idx2-ubyte")
>>> write_idx(path, np.arange(6, dtype=np.uint8).reshape(2, 3))
>>> read_idx(path)
array([[0, 1, 2],
       [3, 4, 5]], dtype=uint8)
"""

from __future__ import annotations

import gzip
import struct
import zlib
from pathlib import Path
from typing import Any

from ..backend import ndarray, xp
from ..core.creation import from_numpy
from .dataset import Dataset

__all__ = ["FashionMNIST", "IDXError", "MNIST", "load_mnist", "read_idx", "write_idx"]

_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_CODES = {xp.dtype(v).newbyteorder("="): k for k, v in _TYPES.items()}

# The standard file names (as distributed by the MNIST, Fashion-MNIST and EMNIST sites).
MNIST_FILES = {
    True: ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    False: ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


class IDXError(ValueError):
    """A file is not a valid IDX file (or not the one expected)."""


def _read_bytes(path: Path) -> bytes:
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such IDX file")
    raw = path.read_bytes()
    if raw[:2] != b"\x1f\x8b":
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as e:
        raise IDXError(f"{path}: a gzip file that cannot be decompressed ({e}); the download "
                       "is probably truncated") from None


def read_idx(path: str | Path) -> ndarray:
    """The array stored in an IDX file (gzip-compressed or raw), in native byte order."""
    p = Path(path)
    data = _read_bytes(p)
    if len(data) < 4:
        raise IDXError(f"{p}: {len(data)} bytes is too short for an IDX file (the header alone "
                       "is at least 4 bytes)")
    zero, code, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or code not in _TYPES:
        raise IDXError(f"{p}: not an IDX file: magic number 0x{data[:4].hex()}, expected "
                       "0x0000 then a type code (0x08, 0x09, 0x0B-0x0E) and the number of "
                       "dimensions")
    if ndim == 0:
        raise IDXError(f"{p}: the header declares 0 dimensions")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise IDXError(f"{p}: truncated header: {ndim} dimensions need {header} bytes, the "
                       f"file has {len(data)}")
    shape = struct.unpack(f">{ndim}I", data[4:header])
    dtype = xp.dtype(_TYPES[code])
    want = header + int(xp.prod(shape, dtype=xp.int64)) * dtype.itemsize
    if len(data) != want:
        what = "truncated" if len(data) < want else "has trailing bytes"
        raise IDXError(f"{p}: {what}: the header declares {dtype.newbyteorder('=')} values of "
                       f"shape {shape} ({want} bytes with the header), the file holds "
                       f"{len(data)} bytes")
    arr = xp.frombuffer(data, dtype=dtype, offset=header).reshape(shape)
    return arr.astype(dtype.newbyteorder("="))


def write_idx(path: str | Path, array: Any, compress: bool | None = None) -> None:
    """Write ``array`` as an IDX file (gzip when ``compress``, or when the name ends .gz)."""
    arr = xp.asarray(array)
    code = _CODES.get(arr.dtype.newbyteorder("="))
    if code is None:
        raise TypeError(f"write_idx: IDX stores uint8, int8, int16, int32, float32 or float64, "
                        f"got {arr.dtype}")
    if arr.ndim == 0 or arr.ndim > 255:
        raise ValueError(f"write_idx: need 1 to 255 dimensions, got {arr.ndim}")
    body = struct.pack(f">HBB{arr.ndim}I", 0, code, arr.ndim, *arr.shape)
    body += arr.astype(_TYPES[code]).tobytes()
    p = Path(path)
    if compress is None:
        compress = p.suffix == ".gz"
    p.write_bytes(gzip.compress(body, compresslevel=6) if compress else body)


def _find(root: Path, stem: str) -> Path:
    """``stem`` in ``root``, raw or .gz, also with the '.' some mirrors use before 'idx'."""
    names = [stem, stem.replace("-idx", ".idx")]
    for name in names:
        for cand in (root / name, root / f"{name}.gz"):
            if cand.is_file():
                return cand
    raise FileNotFoundError(f"{root}: no {stem} (or {stem}.gz) in this folder; expected the "
                            "standard MNIST file names: "
                            + ", ".join(n for pair in MNIST_FILES.values() for n in pair))


def load_mnist(root: str | Path, train: bool = True) -> tuple[ndarray, ndarray]:
    """``(images, labels)`` of the MNIST-format files in ``root``: uint8 (N, H, W), int64 (N,).

    Works for MNIST, Fashion-MNIST, KMNIST and EMNIST (same format and file names).
    """
    r = Path(root)
    if not r.is_dir():
        raise FileNotFoundError(f"{r}: no such folder (give the folder holding the IDX files)")
    img_path, lab_path = (_find(r, n) for n in MNIST_FILES[bool(train)])
    images, labels = read_idx(img_path), read_idx(lab_path)
    if images.ndim != 3 or images.dtype != xp.uint8:
        raise IDXError(f"{img_path}: expected uint8 images of shape (N, rows, cols), got "
                       f"{images.dtype} of shape {images.shape}")
    if labels.ndim != 1 or labels.dtype.kind not in "iu":
        raise IDXError(f"{lab_path}: expected integer labels of shape (N,), got "
                       f"{labels.dtype} of shape {labels.shape}")
    if len(images) != len(labels):
        raise IDXError(f"{img_path} holds {len(images)} images but {lab_path} holds "
                       f"{len(labels)} labels")
    return images, labels.astype(xp.int64)


class MNIST(Dataset[tuple]):
    """The MNIST-format files in ``root`` as a dataset, as torchvision's ``MNIST`` (no download).

    A sample is ``(image, label)``: the image a float32 tensor (1, H, W) in [0, 1] (what
    torchvision's ``ToTensor`` gives), or ``transform(uint8 array (H, W))`` when a transform
    is given; the label an int, or ``target_transform(label)``.
    """

    classes = ["0 - zero", "1 - one", "2 - two", "3 - three", "4 - four", "5 - five", "6 - six",
               "7 - seven", "8 - eight", "9 - nine"]

    def __init__(self, root: str | Path, train: bool = True, transform: Any = None,
                 target_transform: Any = None, download: bool = False) -> None:
        if download:
            raise ValueError(f"{type(self).__name__}: download=True is not supported; put the "
                             f"IDX files in {root} yourself")
        self.root, self.train = root, train
        self.transform, self.target_transform = transform, target_transform
        self.data, self.targets = load_mnist(root, train)

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, index: int) -> tuple:
        img, target = self.data[index], int(self.targets[index])
        x = self.transform(img) if self.transform is not None else from_numpy(
            (img[None] / xp.float32(255)).astype(xp.float32))
        return x, (self.target_transform(target) if self.target_transform else target)

    @property
    def get_batch(self) -> Any:  # type: ignore[override]
        """Whole batches at once when no transform is set (what the DataLoader uses)."""
        if self.transform is not None or self.target_transform is not None:
            return None

        def batch(index: Any) -> tuple:
            imgs = (self.data[index][:, None] / xp.float32(255)).astype(xp.float32)
            return from_numpy(imgs), from_numpy(self.targets[index])

        return batch


class FashionMNIST(MNIST):
    """Fashion-MNIST: the same files and format as MNIST, clothing instead of digits."""

    classes = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
               "Sneaker", "Bag", "Ankle boot"]
