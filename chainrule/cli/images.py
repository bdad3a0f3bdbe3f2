"""Turn a picture of a digit into the 8x8, 0-16 form of scikit-learn's digits."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from chainrule.backend import xp


class ImageError(ValueError):
    """The file could not be read as a digit image."""


# Larger pictures are refused before they are decoded: a small file can declare billions of
# pixels (a decompression bomb). A photo of a digit needs far fewer.
MAX_PIXELS = 40_000_000


def digit_from_image(path: str | Path) -> Any:
    """An 8x8 float array in 0..16 (ink high), from a PNG/JPEG of any size and polarity.

    Any mode Pillow reads: 8- or 16-bit grayscale, palette, RGB, CMYK, with or without
    alpha (transparent parts count as white paper); JPEGs are turned upright by their EXIF
    orientation. The digit is found (ink against the background colour read off the border),
    cropped to its bounding box, centred in a square with a small margin, and averaged down to
    8x8, the way the dataset's 32x32 bitmaps were reduced to 8x8 counts.
    """
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover - pillow comes with matplotlib
        raise ImageError('reading images needs Pillow: pip install "chainrule[all]"') from None
    p = Path(path)
    if not p.exists():
        raise ImageError(f"{p}: no such file")
    if p.is_dir():
        raise ImageError(f"{p}: is a folder, not an image file")
    gray = _gray(p, Image)
    if gray.ndim != 2 or min(gray.shape) < 2:
        raise ImageError(f"{p}: image of size {gray.shape} is too small")
    border = xp.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    background = float(xp.median(border))
    ink = gray - background if background < 128 else background - gray
    ink = xp.clip(ink, 0, None)
    if ink.max() <= 0.1 * 255 * 0.25:
        raise ImageError(f"{p}: no digit found (the image is almost uniform)")
    ink = ink / ink.max()
    rows = xp.nonzero((ink > 0.2).any(axis=1))[0]
    cols = xp.nonzero((ink > 0.2).any(axis=0))[0]
    ink = ink[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    # NOTE: the dataset's digits were 32x32 binary bitmaps, size-normalised so that every digit
    # spans the full height (all 1797 images fill rows 0-7) and centred across, then counted in
    # 4x4 blocks. Do the same: scale to 32 pixels high (or wide, for a wide digit), threshold,
    # centre, count.
    h, w = ink.shape
    scale = 32.0 / max(h, w) if w > h else 32.0 / h
    nh, nw = max(1, round(h * scale)), max(1, min(32, round(w * scale)))
    img = Image.fromarray((ink * 255).astype(xp.uint8)).resize((nw, nh), Image.LANCZOS)
    bitmap = xp.zeros((32, 32))
    top, left = (32 - nh) // 2, (32 - nw) // 2
    bitmap[top:top + nh, left:left + nw] = xp.asarray(img, dtype=xp.float64) > 127
    return bitmap.reshape(8, 4, 8, 4).sum(axis=(1, 3))


def _gray(p: Path, Image: Any) -> Any:
    """The image as a float array of gray levels 0..255 (alpha composited onto white)."""
    import warnings

    from PIL import ImageOps, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(p) as im:
                w, h = im.size
                if w * h > MAX_PIXELS:
                    raise ImageError(f"{p}: {w}x{h} pixels is more than the {MAX_PIXELS:,} this "
                                     "reads (a decompression bomb?); scale the picture down")
                im.load()
                return _to_gray(ImageOps.exif_transpose(im), Image)
    except ImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise ImageError(f"{p}: refused, too many pixels (a decompression bomb?): "
                         f"{str(e).split('.')[0]}") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:
        raise ImageError(f"{p}: cannot read it as an image ({e.__class__.__name__})") from None


def _to_gray(im: Any, Image: Any) -> Any:
    if im.mode.startswith("I") or im.mode == "F":
        # 16-bit grayscale (PNG's I;16, or I): Pillow's convert("L") would clip it at 255.
        # NOTE: 32-bit integer and float images are read as 16-bit levels too.
        a = xp.asarray(im, dtype=xp.float64)
        full = 1.0 if im.mode == "F" and a.max() <= 1.0 else 65535.0
        return xp.clip(a / full, 0, 1) * 255
    if "A" in im.mode or "transparency" in im.info:
        rgba = im.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        im = Image.alpha_composite(white, rgba)
    return xp.asarray(im.convert("L"), dtype=xp.float64)
