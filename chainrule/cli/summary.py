"""What a finished run of the default recipe reports: metrics.json and the printed summary.

Honest by construction: the epoch is chosen on the validation split held out of the training
data (recipes.choose_epoch), and the test accuracy reported is that epoch's. The best of the
test accuracies over the epochs is never reported: choosing it would use the test split to
pick the model, and overstate what a new digit would get.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from chainrule.cli.i18n import tr


def _epoch_dict(h: Any) -> dict[str, Any]:
    return {k: v for k, v in dataclasses.asdict(h).items() if k not in ("lr", "seconds")}


def metrics(result: Any, seconds: float, cm: Any, per_class: list[Any]) -> dict[str, Any]:
    """metrics.json of a default-recipe run. ``test_accuracy`` is the test accuracy of the
    epoch chosen on validation; ``last_epoch`` is what the checkpoint holds (and
    ``chainrule evaluate`` reports); the confusion matrix and per-class table are the
    checkpoint's."""
    import chainrule as cr

    chosen, last = result.chosen, result.history[-1]
    cfg = result.config
    return {
        "task": cfg.task, "recipe": "default",
        "chosen_epoch": chosen.epoch,
        "chosen_by": ("validation accuracy" if chosen.val_acc == chosen.val_acc
                      else "last epoch (no validation split)"),
        "validation_accuracy": _num(chosen.val_acc), "validation_loss": _num(chosen.val_loss),
        "test_accuracy": chosen.test_acc, "test_loss": chosen.test_loss,
        "train_accuracy": chosen.train_acc, "train_loss": chosen.train_loss,
        "loss": f"cross-entropy with label smoothing {cfg.label_smoothing} (the training "
                "objective)",
        "last_epoch": _epoch_dict(last),
        "epochs": last.epoch, "seconds": round(seconds, 3),
        "parameters": sum(p.numel() for p in result.model.parameters()),
        "confusion_of": f"the checkpoint's weights (epoch {last.epoch})",
        "per_class": per_class, "confusion_matrix": cm.tolist(),
        "config": dataclasses.asdict(cfg), "chainrule_version": cr.__version__,
    }


def _num(v: float) -> float | None:
    return None if v != v else v


def print_summary(console: Any, result: Any, out: Any, seconds: float, lang: str) -> None:
    """The table of the chosen epoch (train, validation, test), what its loss is, and where
    the checkpoint's epoch differs."""
    from rich.table import Table

    h, cfg = result.history, result.config
    chosen, last = result.chosen, h[-1]
    has_val = chosen.val_acc == chosen.val_acc
    which = tr(lang, "chosen_epoch" if has_val else "last_epoch", epoch=chosen.epoch,
               epochs=cfg.epochs)
    t = Table(title=tr(lang, "summary_title", task=cfg.task, chosen=which), show_header=True,
              header_style="bold")
    t.add_column("", style="bold")
    cols = [("col_train", "train")] + ([("col_val", "val")] if has_val else []) + \
        [("col_test", "test")]
    for key, _ in cols:
        t.add_column(tr(lang, key), justify="right")
    t.add_row(tr(lang, "row_acc"), *[f"{100 * getattr(chosen, f'{k}_acc'):.2f}%"
                                     for _, k in cols])
    t.add_row(tr(lang, "row_loss"), *[f"{getattr(chosen, f'{k}_loss'):.4f}" for _, k in cols])
    console.print(t)
    note = "loss_note" if cfg.label_smoothing else "loss_note_plain"
    console.print(tr(lang, note, smoothing=cfg.label_smoothing), soft_wrap=True)
    if has_val:
        n_train = len(result.data.y_train)
        n_val = int(round(n_train - _train_count(result)))
        console.print(tr(lang, "val_split", n_val=n_val, n_train=n_train,
                         n_test=len(result.data.y_test)), soft_wrap=True)
    if chosen is not last:
        console.print(tr(lang, "checkpoint_epoch", epoch=last.epoch,
                         acc=100 * last.test_acc), soft_wrap=True)
    status = tr(lang, "stopped_early", epoch=last.epoch) if result.stopped_early else ""
    n_params = sum(p.numel() for p in result.model.parameters())
    console.print(tr(lang, "footer", status=status, params=n_params, seconds=seconds))
    console.print(tr(lang, "run_folder", out=out), soft_wrap=True)


def _train_count(result: Any) -> int:
    from chainrule.cli.recipes import validation_split

    cfg = result.config
    return len(validation_split(result.data.y_train, cfg.val_size, cfg.seed)[0])
