"""What a finished run writes and shows: metrics, history, plots, tables.

Every file is written atomically (serialization.atomic_path): a full disk or a crash leaves
the previous file, never half of a new one."""

from __future__ import annotations

import csv
import dataclasses
import json
from pathlib import Path
from typing import Any, Sequence

from chainrule.backend import xp
from chainrule.serialization import atomic_path


def confusion_matrix(y_true: Any, y_pred: Any, n_classes: int = 10) -> Any:
    cm = xp.zeros((n_classes, n_classes), dtype=xp.int64)
    xp.add.at(cm, (xp.asarray(y_true), xp.asarray(y_pred)), 1)
    return cm


def per_class(cm: Any) -> list[dict[str, float]]:
    """Precision, recall, F1 and support for each class of a confusion matrix."""
    rows = []
    for k in range(cm.shape[0]):
        tp = cm[k, k]
        predicted = cm[:, k].sum()
        actual = cm[k, :].sum()
        p = tp / predicted if predicted else 0.0
        r = tp / actual if actual else 0.0
        f1 = 2 * p * r / (p + r) if p + r else 0.0
        rows.append({"class": k, "precision": float(p), "recall": float(r), "f1": float(f1),
                     "support": int(actual)})
    return rows


def write_history(path: Path, history: Sequence[Any]) -> None:
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as f:
        w = csv.writer(f)
        fields = [fl.name for fl in dataclasses.fields(history[0])] if history else []
        w.writerow(fields)
        for h in history:
            w.writerow([getattr(h, k) for k in fields])


def write_text(path: Path, text: str) -> None:
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as f:
        f.write(text)


def write_json(path: Path, obj: Any) -> None:
    write_text(path, json.dumps(obj, indent=2) + "\n")


def _savefig(fig: Any, path: Path, dpi: int = 110) -> None:
    plt = _plt()
    try:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=dpi, format=Path(path).suffix.lstrip(".") or "png")
    finally:
        plt.close(fig)


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _labels(lang: str, what: str) -> tuple[Any, Any]:
    """(the messages to label plot ``what`` with, the matplotlib settings to draw them):
    Chinese needs a CJK font (without one: English, and a warning)."""
    from chainrule.cli.i18n import tr
    from chainrule.viz.plot_lang import plot_lang

    lang, fonts = plot_lang(lang, what)
    return (lambda key, **kw: tr(lang, key, **kw)), fonts


def plot_curves(path: Path, history: Sequence[Any], title: str, chosen: Any = None,
                lang: str = "en") -> None:
    """Loss and accuracy per epoch on the train, validation (when held out) and test splits,
    with ``chosen`` (default: the epoch :func:`~chainrule.cli.recipes.choose_epoch` picks, on
    validation) marked."""
    from chainrule.cli.recipes import choose_epoch

    t, fonts = _labels(lang, "curves.png")
    chosen = chosen or choose_epoch(list(history))
    has_val = chosen.val_acc == chosen.val_acc
    ep = [h.epoch for h in history]
    with fonts:
        plt = _plt()
        fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4.2))
        for ax, key, scale in ((a, "loss", 1), (b, "acc", 100)):
            for split, col in (("train", "col_train"), ("val", "col_val"),
                               ("test", "col_test")):
                ys = [scale * getattr(h, f"{split}_{key}") for h in history]
                if split != "val" or any(y == y for y in ys):
                    ax.plot(ep, ys, label=t(col), ls="--" if split == "val" else "-")
            ax.axvline(chosen.epoch, color="gray", lw=0.9, ls=":",
                       label=t("plot_chosen" if has_val else "plot_last", epoch=chosen.epoch))
            ax.set_xlabel(t("plot_epoch"))
            ax.legend(fontsize=8)
            ax.grid(alpha=0.3)
        a.set_ylabel(t("plot_loss_y"))
        a.set_title(t("plot_loss"))
        b.set_ylabel(t("plot_acc_y"))
        b.set_title(t("plot_acc", acc=100 * chosen.test_acc, epoch=chosen.epoch))
        fig.suptitle(title)
        fig.tight_layout()
        _savefig(fig, path)


def plot_loss(path: Path, losses: Sequence[float], title: str, lang: str = "en") -> None:
    t, fonts = _labels(lang, "loss.png")
    with fonts:
        plt = _plt()
        fig, a = plt.subplots(figsize=(6, 4))
        a.plot(range(len(losses)), losses)
        a.set_xlabel(t("plot_epoch"))
        a.set_ylabel(t("plot_mse"))
        a.set_title(title)
        a.grid(alpha=0.3)
        fig.tight_layout()
        _savefig(fig, path)


def plot_confusion(path: Path, cm: Any, lang: str = "en") -> None:
    t, fonts = _labels(lang, "confusion.png")
    with fonts:
        plt = _plt()
        fig, a = plt.subplots(figsize=(6, 5.4))
        im = a.imshow(cm, cmap="Blues")
        n = cm.shape[0]
        a.set_xticks(range(n))
        a.set_yticks(range(n))
        a.set_xlabel(t("plot_predicted"))
        a.set_ylabel(t("plot_true"))
        thresh = cm.max() / 2 if cm.max() else 1
        for i in range(n):
            for j in range(n):
                if cm[i, j]:
                    a.text(j, i, str(cm[i, j]), ha="center", va="center", fontsize=8,
                           color="white" if cm[i, j] > thresh else "black")
        fig.colorbar(im, ax=a, fraction=0.046)
        a.set_title(t("plot_confusion"))
        fig.tight_layout()
        _savefig(fig, path)


def plot_misclassified(path: Path, images: Any, y_true: Any, y_pred: Any,
                       max_images: int = 40, lang: str = "en") -> int:
    """A grid of the test digits the model got wrong, titled 'true -> predicted'."""
    t, fonts = _labels(lang, "misclassified.png")
    wrong = xp.nonzero(xp.asarray(y_true) != xp.asarray(y_pred))[0][:max_images]
    n = len(wrong)
    cols = 10
    rows = max(1, -(-n // cols))
    with fonts:
        plt = _plt()
        fig, axes = plt.subplots(rows, cols, figsize=(cols * 1.1, rows * 1.3 + 0.5))
        axes = xp.atleast_1d(axes).ravel()
        for ax in axes:
            ax.axis("off")
        for ax, i in zip(axes, wrong):
            ax.imshow(images[i], cmap="gray_r", vmin=0, vmax=16)
            ax.set_title(f"{y_true[i]} -> {y_pred[i]}", fontsize=9, color="crimson")
        fig.suptitle(t("plot_wrong", n=n))
        fig.tight_layout()
        _savefig(fig, path)
    return n
