"""The array namespace seam: the only place in chainrule that imports NumPy.

Everything above this layer calls ``xp`` (NumPy today, CuPy later) and the few helpers
below, so a second backend means one more module here, not edits across the package.
"""

from __future__ import annotations

import numpy as np

xp = np
ndarray = np.ndarray
generic = np.generic
asarray = np.asarray
dtype = np.dtype
errstate = np.errstate

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


def scatter_add(shape: tuple[int, ...], index: tuple, values: np.ndarray, basic: bool) -> np.ndarray:
    """zeros(shape) with ``values`` added at ``index`` (repeated indices accumulate)."""
    out = np.zeros(shape, dtype=values.dtype)
    if basic:
        out[index] = values
    else:
        np.add.at(out, index, values)
    return out
