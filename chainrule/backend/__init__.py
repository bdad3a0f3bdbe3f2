"""The array namespace seam: the only place in chainrule that imports NumPy.

Everything above this layer calls ``xp`` (NumPy today, CuPy later) and the few helpers
below, so a second backend means one more module here, not edits across the package.
"""

from __future__ import annotations

import os
import sys

import numpy as np

xp = np
ndarray = np.ndarray
generic = np.generic
asarray = np.asarray
dtype = np.dtype
errstate = np.errstate
finfo = np.finfo
iinfo = np.iinfo

float16 = np.dtype("float16")
float32 = np.dtype("float32")
float64 = np.dtype("float64")
int8 = np.dtype("int8")
int16 = np.dtype("int16")
int32 = np.dtype("int32")
int64 = np.dtype("int64")
uint8 = np.dtype("uint8")
bool_ = np.dtype("bool")


def is_floating(dt: np.dtype) -> bool:
    return dt.kind == "f"


def new_generator(seed: int | None = None) -> np.random.Generator:
    return np.random.default_rng(seed)


def scatter_add(shape: tuple[int, ...], index: tuple, values: np.ndarray,
                basic: bool) -> np.ndarray:
    """zeros(shape) with ``values`` added at ``index`` (repeated indices accumulate)."""
    out = np.zeros(shape, dtype=values.dtype)
    if basic:
        out[index] = values
    else:
        np.add.at(out, index, values)
    return out


def tune_malloc(mmap_threshold: int = 32 << 20, trim_threshold: int = 256 << 20) -> bool:
    """Ask glibc to keep freed array memory for reuse instead of returning it to the kernel.

    NOTE: measured on these machines, re-faulting freshly mapped pages costs about 2 us per
    4 KB: a 1257x64 float64 temporary costs 0.3 ms to touch again, more than computing with it.
    By default glibc serves arrays above 128 KB with mmap and trims the heap eagerly, so every
    training step pays those faults again (537 page faults per epoch of the tutorial's digits
    loop, 2.3x slower than it needs to be). Raising the mmap and trim thresholds keeps up to
    ``trim_threshold`` bytes of freed memory in the process. Called once at import on glibc;
    set CHAINRULE_MALLOC_TUNING=0 to opt out. Returns whether the tuning was applied.
    """
    if not sys.platform.startswith("linux") or os.environ.get("CHAINRULE_MALLOC_TUNING") == "0":
        return False
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        m_trim_threshold, m_mmap_threshold = -1, -3
        ok = libc.mallopt(m_mmap_threshold, int(mmap_threshold)) == 1
        ok = libc.mallopt(m_trim_threshold, int(trim_threshold)) == 1 and ok
        return bool(ok)
    except (OSError, AttributeError):  # not glibc (musl, ...): nothing to tune
        return False


MALLOC_TUNED = tune_malloc()
