"""The data of ``chainrule train mnist|fashion-mnist|images --data DIR``, split and scaled.

Both come back in the form the digits have (:class:`chainrule.data.Digits`): flattened,
standardized rows ``X_train``/``X_test`` (the model's layout is made by
``recipes.model_input``), integer labels, the test images for the plots (0-16, as the digits),
and the training statistics ``mean``/``std`` (one value for all pixels).
"""

from __future__ import annotations

from typing import Any

from chainrule.backend import xp

__all__ = ["FILE_TASKS", "TASKS", "load_task_data"]

FILE_TASKS = ("mnist", "fashion-mnist", "images")
TASKS = ("digits",) + FILE_TASKS
IMAGE_SIZES = {"digits": 8, "mnist": 28, "fashion-mnist": 28, "images": 32}


def _split(n: int, test_size: float, seed: int) -> tuple[Any, Any]:
    order = xp.random.default_rng(seed).permutation(n)
    n_test = max(1, int(round(n * test_size)))
    if n_test >= n:
        raise ValueError(f"--test-size {test_size} leaves no training images out of {n}")
    return order[n_test:], order[:n_test]


def load_task_data(cfg: Any) -> Any:
    """The train/test data of ``cfg.task`` from ``cfg.data``; sets ``cfg.classes`` and
    ``cfg.channels`` for an image folder."""
    from chainrule.data import Digits, load_image_folder, load_mnist

    if not cfg.data:
        raise ValueError(f"chainrule train {cfg.task} needs --data DIR (the folder of the "
                         + ("IDX files)" if cfg.task != "images" else "class folders)"))
    if cfg.task == "images":
        size = cfg.image_size
        X, y, names = load_image_folder(cfg.data, size=(size, size))
        tr, te = _split(len(X), cfg.test_size, cfg.seed)
        cfg.classes, cfg.channels = len(names), X.shape[1]
        X_tr, X_te, y_tr, y_te = X[tr], X[te], y[tr], y[te]
        images = X_te.mean(axis=1) * 16
    else:
        X_tr, y_tr = load_mnist(cfg.data, train=True)
        X_te, y_te = load_mnist(cfg.data, train=False)
        if X_tr.shape[1:] != (cfg.image_size, cfg.image_size):
            raise ValueError(f"{cfg.data}: images of {X_tr.shape[1]}x{X_tr.shape[2]} pixels; "
                             f"{cfg.task} images are {cfg.image_size}x{cfg.image_size}")
        X_tr, X_te = X_tr[:, None] / 255.0, X_te[:, None] / 255.0
        images = X_te[:, 0] * 16
    classes = int(max(y_tr.max(), y_te.max())) + 1
    if cfg.task != "images" and classes > cfg.classes:
        raise ValueError(f"{cfg.data}: labels go up to {classes - 1}; {cfg.task} has "
                         f"{cfg.classes} classes")
    mean, std = float(X_tr.mean()), float(X_tr.std()) or 1.0
    dt = xp.dtype(cfg.dtype)

    def prep(X: Any) -> Any:
        return ((X.reshape(len(X), -1) - mean) / std).astype(dt)

    return Digits(X_train=prep(X_tr), X_test=prep(X_te), y_train=y_tr, y_test=y_te,
                  images=images.astype(dt), mean=xp.array([mean]), std=xp.array([std]),
                  dtype=dt)
