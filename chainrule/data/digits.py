"""scikit-learn's handwritten digits (1797 images of 8x8 pixels), split and standardized.

scikit-learn is optional: it is imported only when :func:`load_digits` is called.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..backend import ndarray, xp

__all__ = ["Digits", "load_digits"]

_INSTALL_HINT = 'pip install "chainrule[all]" (or: pip install scikit-learn)'


@dataclass(frozen=True, eq=False)
class Digits:
    """A train/test split of the digits: 64 pixel features per row, labels 0-9.

    ``mean`` and ``std`` (float64, one per pixel) are the statistics fitted on the training
    split; :meth:`standardize` applies to new raw images the transform ``X_train`` received.
    """

    X_train: ndarray
    X_test: ndarray
    y_train: ndarray
    y_test: ndarray
    images: ndarray
    mean: ndarray
    std: ndarray
    dtype: Any

    @property
    def n_features(self) -> int:
        return int(self.X_train.shape[1])

    @property
    def n_classes(self) -> int:
        return 10

    def standardize(self, X: Any) -> ndarray:
        """``(X - mean) / std`` for raw pixel values (0-16), of shape (..., 64) or (..., 8, 8).

        Gives exactly the numbers ``X_train`` and ``X_test`` hold for the same raw images.
        """
        arr = xp.asarray(X, dtype=xp.float64)
        if arr.ndim >= 2 and arr.shape[-2:] == (8, 8):
            arr = arr.reshape(arr.shape[:-2] + (64,))
        if arr.ndim == 0 or arr.shape[-1] != self.mean.shape[0]:
            raise ValueError(f"standardize: expected raw images of shape (..., 64) or "
                             f"(..., 8, 8), got {arr.shape}")
        return _apply(arr, self.mean, self.std, self.dtype)

    def __repr__(self) -> str:
        return (f"Digits(X_train={self.X_train.shape}, X_test={self.X_test.shape}, "
                f"dtype={self.dtype}, standardized={bool((self.mean != 0).any())})")


def load_digits(test_size: float = 0.3, seed: int = 0, standardize: bool = True,
                dtype: Any = "float32") -> Digits:
    """The 8x8 digits, split stratified by label and (by default) standardized per pixel.

    The statistics come from the training split only; pixels that are constant there get
    std 1. With ``standardize=False`` the features are the raw 0-16 values, ``mean`` is 0 and
    ``std`` 1. ``images`` holds the test split's raw 8x8 images, for plotting.

    >>> d = load_digits()
    >>> d.X_train.shape, d.X_test.shape, d.y_train.dtype, d.images.shape
    ((1257, 64), (540, 64), dtype('int64'), (540, 8, 8))
    >>> bool(abs(d.X_train.mean()) < 1e-6)
    True
    """
    try:
        from sklearn.datasets import load_digits as _sk_load_digits
        from sklearn.model_selection import train_test_split
    except ImportError as e:
        raise ImportError(f"load_digits needs scikit-learn: {_INSTALL_HINT}") from e
    dt = xp.dtype(dtype)
    if dt.kind != "f":
        raise TypeError(f"load_digits: dtype must be a floating-point dtype, got {dt}")
    raw = _sk_load_digits()
    X = xp.asarray(raw.data, dtype=xp.float64)
    y = xp.asarray(raw.target, dtype=xp.int64)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=test_size, random_state=seed,
                                              stratify=y)
    if standardize:
        mean = X_tr.mean(axis=0)
        std = X_tr.std(axis=0)
        std[std == 0] = 1.0  # NOTE: a pixel constant in training carries no signal: keep it 0
    else:
        mean, std = xp.zeros(X.shape[1]), xp.ones(X.shape[1])
    return Digits(X_train=_apply(X_tr, mean, std, dt), X_test=_apply(X_te, mean, std, dt),
                  y_train=y_tr, y_test=y_te, images=X_te.reshape(-1, 8, 8).astype(dt),
                  mean=mean, std=std, dtype=dt)


def _apply(X: ndarray, mean: ndarray, std: ndarray, dtype: Any) -> ndarray:
    """Standardize in float64, then cast: the same numbers whichever entry point is used."""
    return ((X - mean) / std).astype(dtype)
