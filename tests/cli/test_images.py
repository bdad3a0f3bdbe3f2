"""`chainrule predict` reads every kind of PNG and JPEG a user may have, the same digit from
each, and refuses decompression bombs with one line."""

import struct
import zlib

import numpy as np
import pytest

PIL = pytest.importorskip("PIL")
pytest.importorskip("sklearn")

from PIL import Image  # noqa: E402

from chainrule.cli.images import ImageError, digit_from_image  # noqa: E402


@pytest.fixture(scope="module")
def ink():
    """A digit of the dataset, drawn large: ink in 0..1, shape (64, 64)."""
    from sklearn.datasets import load_digits

    img = load_digits().images[7] / 16.0
    return np.kron(img, np.ones((8, 8)))


def reference(ink, tmp_path):
    p = tmp_path / "ref.png"
    Image.fromarray(np.round(255 * (1 - ink)).astype(np.uint8)).save(p)  # 8-bit, dark on light
    return digit_from_image(p)


def sixteen_bit(ink):
    return Image.fromarray(np.round(65535 * (1 - ink)).astype(np.uint16))


def palette(ink):
    return Image.fromarray(np.round(255 * (1 - ink)).astype(np.uint8)).convert("P")


def rgba(ink):  # black ink whose opacity is the ink, on a transparent sheet
    a = np.zeros(ink.shape + (4,), np.uint8)
    a[..., 3] = np.round(255 * ink)
    return Image.fromarray(a, "RGBA")


def gray_alpha(ink):
    return rgba(ink).convert("LA")


def palette_transparent(ink):
    im = Image.fromarray(np.round(255 * (1 - ink)).astype(np.uint8)).convert("P")
    im.info["transparency"] = int(np.asarray(im)[0, 0])  # the paper's colour is transparent
    return im


@pytest.mark.parametrize("make", [sixteen_bit, palette, rgba, gray_alpha, palette_transparent])
def test_png_modes_give_the_same_digit(make, ink, tmp_path):
    p = tmp_path / f"{make.__name__}.png"
    im = make(ink)
    im.save(p, transparency=im.info["transparency"]) if "transparency" in im.info else im.save(p)
    with Image.open(p) as back:
        expected_mode = {"sixteen_bit": "I", "palette": "P", "rgba": "RGBA", "gray_alpha": "LA",
                         "palette_transparent": "P"}[make.__name__]
        assert back.mode.startswith(expected_mode)
    got, ref = digit_from_image(p), reference(ink, tmp_path)
    assert np.abs(got - ref).max() <= 1  # alpha compositing rounds a level here and there


@pytest.mark.parametrize("mode", ["L", "RGB", "CMYK"])
def test_jpegs_give_the_same_digit(mode, ink, tmp_path):
    p = tmp_path / f"d_{mode}.jpg"
    Image.fromarray(np.round(255 * (1 - ink)).astype(np.uint8)).convert(mode).save(p, quality=95)
    got, ref = digit_from_image(p), reference(ink, tmp_path)
    assert np.abs(got - ref).max() <= 2 and np.abs(got - ref).mean() < 0.3


def test_exif_rotated_jpeg_is_turned_upright(ink, tmp_path):
    p = tmp_path / "rotated.jpg"
    im = Image.fromarray(np.round(255 * (1 - ink)).astype(np.uint8)).rotate(90, expand=True)
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: stored turned left, shown turned right 90 degrees
    im.save(p, quality=95, exif=exif)
    got, ref = digit_from_image(p), reference(ink, tmp_path)
    assert np.abs(got - ref).mean() < 0.3


def png_declaring(width, height):
    """A tiny valid PNG file whose header declares width x height 1-bit pixels."""
    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
            + chunk(b"IDAT", zlib.compress(b"\x00")) + chunk(b"IEND", b""))


@pytest.mark.parametrize("side", [7000, 60000])  # above ours; above Pillow's own limit too
def test_decompression_bomb_is_refused_before_decoding(side, tmp_path):
    p = tmp_path / "bomb.png"
    p.write_bytes(png_declaring(side, side))
    with pytest.raises(ImageError, match=r"bomb\.png: .*decompression bomb") as e:
        digit_from_image(p)
    assert "\n" not in str(e.value)
