"""ImageFolder: a folder per class of PNG/JPEG images, as torchvision's ``ImageFolder``.

    root/cat/001.png
    root/cat/002.jpg
    root/dog/xyz.png

Classes are the sub-folders, sorted by name (``class_to_idx``); images are decoded with
Pillow, which is imported only when this module is used.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from ..backend import ndarray, xp
from ..core.creation import from_numpy
from .dataset import Dataset

__all__ = ["IMG_EXTENSIONS", "ImageFolder", "load_image_folder", "pil_loader", "to_tensor"]

IMG_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")


def _pil() -> Any:
    try:
        from PIL import Image
    except ImportError:
        raise ImportError('ImageFolder decodes images with Pillow: pip install pillow (or '
                          'pip install "chainrule[all]")') from None
    return Image


def pil_loader(path: str | Path) -> Any:
    """The image at ``path`` as an RGB Pillow image (errors name the file)."""
    Image = _pil()
    try:
        with Image.open(path) as im:
            return im.convert("RGB")
    except (OSError, ValueError) as e:
        raise ValueError(f"{path}: cannot decode it as an image ({e.__class__.__name__}: "
                         f"{e})") from None


class ImageFolder(Dataset[tuple]):
    """``(transform(image), class index)`` for every image under ``root/<class>/``.

    Without a transform the image is the Pillow image (as in torchvision); pass
    ``transform=to_tensor(size)`` or use :func:`load_image_folder` for arrays.
    """

    def __init__(self, root: str | Path, transform: Callable[[Any], Any] | None = None,
                 target_transform: Callable[[int], Any] | None = None,
                 loader: Callable[[str], Any] = pil_loader,
                 is_valid_file: Callable[[str], bool] | None = None) -> None:
        self.root = Path(root)
        if not self.root.is_dir():
            raise FileNotFoundError(f"ImageFolder: {self.root}: no such folder")
        self.classes = sorted(d.name for d in self.root.iterdir() if d.is_dir())
        if not self.classes:
            raise FileNotFoundError(f"ImageFolder: {self.root} has no class folders; expected "
                                    "one sub-folder of images per class (root/cat/1.png, ...)")
        self.class_to_idx = {c: i for i, c in enumerate(self.classes)}
        valid = is_valid_file or (lambda p: p.lower().endswith(IMG_EXTENSIONS))
        self.samples: list[tuple[str, int]] = []
        empty = []
        for c in self.classes:
            files = sorted(str(f) for f in (self.root / c).rglob("*")
                           if f.is_file() and valid(str(f)))
            if not files:
                empty.append(c)
            self.samples.extend((f, self.class_to_idx[c]) for f in files)
        if empty:
            raise FileNotFoundError(
                f"ImageFolder: found no valid file for the classes {', '.join(empty)} in "
                f"{self.root}. Supported extensions are: {', '.join(IMG_EXTENSIONS)}")
        self.targets = [t for _, t in self.samples]
        self.imgs = self.samples
        self.transform, self.target_transform, self.loader = transform, target_transform, loader

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> tuple:
        path, target = self.samples[index]
        img = self.loader(path)
        if self.transform is not None:
            img = self.transform(img)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target

    def __repr__(self) -> str:
        return (f"ImageFolder({str(self.root)!r}: {len(self)} images, {len(self.classes)} "
                f"classes)")


def to_tensor(size: tuple[int, int] | None = None, grayscale: bool = False) -> Callable:
    """A transform: Pillow image -> float32 tensor (C, H, W) in [0, 1], resized to ``size``
    (height, width) and converted to one channel when ``grayscale``."""
    def transform(img: Any) -> Any:
        return from_numpy(_as_array(img, size, grayscale))

    return transform


def _as_array(img: Any, size: tuple[int, int] | None, grayscale: bool) -> ndarray:
    if grayscale:
        img = img.convert("L")
    if size is not None and img.size != (size[1], size[0]):
        img = img.resize((size[1], size[0]), _pil().BILINEAR)
    arr = xp.asarray(img, dtype=xp.float32) / xp.float32(255)
    return arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1)


def load_image_folder(root: str | Path, size: tuple[int, int] | None = None,
                      grayscale: bool = False) -> tuple[ndarray, ndarray, list[str]]:
    """All images of an image folder as arrays: ``(X float32 (N, C, H, W) in [0, 1],
    y int64 (N,), classes)``. Without ``size`` every image must have the first one's size."""
    ds = ImageFolder(root)
    arrays: list[ndarray] = []
    for path, _ in ds.samples:
        arr = _as_array(ds.loader(path), size, grayscale)
        if arrays and arr.shape != arrays[0].shape:
            raise ValueError(f"{path}: image of shape {arr.shape[1:]} (channels {arr.shape[0]}) "
                             f"differs from the first image's {arrays[0].shape[1:]}; give a "
                             "size to resize every image to")
        arrays.append(arr)
    return xp.stack(arrays), xp.asarray(ds.targets, dtype=xp.int64), ds.classes
