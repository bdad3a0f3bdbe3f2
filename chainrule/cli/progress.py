"""The training progress bar of the ``chainrule`` command."""

from __future__ import annotations

import time
from typing import Any


class RichReporter:
    """A progress bar with live loss and accuracy (silent when ``quiet``)."""

    def __init__(self, console: Any, quiet: bool = False) -> None:
        self.console = console
        self.quiet = quiet
        self.progress: Any = None
        self.task: Any = None
        self.last = 0.0

    def start(self, config: Any, steps_per_epoch: int, start_epoch: int) -> None:
        if self.quiet:
            return
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        self.progress = Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("loss {task.fields[loss]:.4f}  acc {task.fields[acc]}"),
            TextColumn("{task.fields[test]}"), TimeElapsedColumn(),
            console=self.console, transient=False)
        total = config.epochs * steps_per_epoch
        self.task = self.progress.add_task("training", total=total,
                                           completed=start_epoch * steps_per_epoch,
                                           loss=float("nan"), acc="-", test="")
        self.progress.start()

    def step(self, loss: float, acc: float) -> None:
        if self.progress is None:
            return
        self.progress.advance(self.task)
        now = time.perf_counter()
        if now - self.last > 0.05:
            self.last = now
            self.progress.update(self.task, loss=loss,
                                 acc="-" if acc != acc else f"{100 * acc:.1f}%")

    def epoch(self, stats: Any) -> None:
        if self.progress is None:
            return
        self.progress.update(self.task, description=f"epoch {stats.epoch}",
                             loss=stats.train_loss, acc=f"{100 * stats.train_acc:.1f}%",
                             test=f"test {100 * stats.test_acc:.2f}%")

    def finish(self) -> None:
        if self.progress is not None:
            self.progress.stop()
