"""The ``chainrule`` command: train, evaluate and use digit recognizers.

    chainrule train digits                    # the default recipe (about 98% test accuracy)
    chainrule train digits --model cnn        # a small CNN (about 99.5%)
    chainrule train digits --recipe tutorial  # the tutorial's own program, with chainrule
    chainrule evaluate runs/digits-mlp-s0     # accuracy, per-class table, confusion matrix
    chainrule predict runs/digits-mlp-s0 my_digit.png
    chainrule train digits --diagnose         # + gradient-flow diagnostics and warnings
    chainrule explain tutorial                # backpropagation, node by node, with numbers
    chainrule graph digits --out step.svg     # draw one training step of the default model
    chainrule train digits --workers 2        # data-parallel on 2 local ranks (MPI)
    mpiexec -n 4 chainrule train mnist --data DIR   # or srun: the launcher starts the ranks
    chainrule train images --data DIR         # a folder per class of PNG/JPEG pictures

The CLI owns all output; the library never prints.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path
from typing import Any, Sequence

USAGE_ERROR = 2


class CLIError(Exception):
    """A problem with the user's input: reported on one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise CLIError(f"{message} (see '{self.prog} --help')")


def _console() -> Any:
    from rich.console import Console

    return Console(highlight=False, soft_wrap=True)


# ---------------------------------------------------------------------------------------------
# Progress
# ---------------------------------------------------------------------------------------------


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


# ---------------------------------------------------------------------------------------------
# train
# ---------------------------------------------------------------------------------------------


def _run_dir(base: str | None, cfg: Any) -> Path:
    if base:
        return Path(base)
    kind = cfg.model if cfg.recipe == "default" else cfg.recipe
    root = Path("runs") / f"{cfg.task}-{kind}-s{cfg.seed}"
    path, k = root, 1
    while path.exists():
        k += 1
        path = Path(f"{root}-{k}")
    return path


def _load_checkpoint(path: str | Path) -> tuple[dict[str, Any], Path]:
    import chainrule as cr
    from chainrule.cli.recipes import CHECKPOINT

    p = Path(path)
    if p.is_dir():
        p = p / CHECKPOINT
    if not p.exists():
        raise CLIError(f"{path}: no such run folder or checkpoint file")
    return cr.load(p), p


def cmd_train(args: argparse.Namespace) -> int:
    import chainrule as cr
    from chainrule.cli import parallel, recipes, report

    console = _console()
    if args.workers is not None and args.workers < 1:
        raise CLIError(f"--workers must be at least 1, got {args.workers}")
    if args.workers is not None and args.workers > 1:
        return parallel.launch_workers(args)
    if args.recipe == "tutorial":
        if args.workers is not None or parallel.launched_ranks() > 1:
            raise CLIError("the tutorial recipe trains in one process; leave out --workers")
        return _train_tutorial(args, console)
    resume = None
    if args.resume:
        resume, ckpt = _load_checkpoint(args.resume)
    ranks = parallel.ranks_for(args, resume)
    if ranks is not None and not ranks.is_main:  # only rank 0 prints and writes
        console, args.quiet = parallel.silent_console(), True
    if resume is not None:
        cfg = recipes.Config.from_dict(json.loads(resume["config"]))
        if args.epochs is not None:
            cfg.epochs = args.epochs
        out = ckpt.parent
        console.print(f"Resuming [bold]{out}[/] after epoch {len(json.loads(resume['history']))}"
                      f" of {cfg.epochs}")
    else:
        given = {k: v for k, v in vars(args).items() if v is not None}
        cfg = recipes.Config.from_dict(given)  # unset hidden/epochs/dropout: the model's
        out = _run_dir(args.out, cfg)
    for name, value in (("epochs", cfg.epochs), ("batch-size", cfg.batch_size),
                        ("hidden", cfg.hidden)):
        if value <= 0:
            raise CLIError(f"--{name} must be positive, got {value}")
    if not 0 < cfg.test_size < 1:
        raise CLIError(f"--test-size must be between 0 and 1, got {cfg.test_size}")
    is_main = ranks is None or ranks.is_main
    if is_main:
        out.mkdir(parents=True, exist_ok=True)

    def on_epoch(result: Any, state: dict[str, Any]) -> None:
        if is_main:
            cr.save(state, out / recipes.CHECKPOINT)  # atomic: a crash keeps the last epoch's

    t0 = time.perf_counter()
    reporter = RichReporter(console, quiet=args.quiet)
    diag = _diagnostics(args) if is_main else None
    try:
        result = recipes.train_default(cfg, reporter, out, resume=resume, on_epoch=on_epoch,
                                       stop_after=args.stop_after, diagnostics=diag, ranks=ranks)
    except KeyboardInterrupt:
        reporter.finish()
        console.print(f"[yellow]Interrupted.[/] Resume with: chainrule train {cfg.task} "
                      f"--resume {out}")
        return 130
    except ValueError as e:  # bad data files, a batch size the ranks cannot share, ...
        raise CLIError(str(e)) from None
    seconds = time.perf_counter() - t0
    if not is_main:
        return 0
    _write_default_run(result, out, seconds, args.no_plots)
    _print_summary(console, result, out, seconds)
    _report_diagnostics(console, diag, out, args.no_plots,
                        f"{cfg.task}, {recipes.describe(cfg)}, seed {cfg.seed}")
    return 0


def _diagnostics(args: argparse.Namespace) -> Any:
    if not getattr(args, "diagnose", False):
        return None
    from chainrule.viz.diagnostics import Diagnostics

    return Diagnostics()


def _report_diagnostics(console: Any, diag: Any, out: Path, no_plots: bool, title: str) -> None:
    """Write diagnostics.csv (and .png) into the run folder and print the verdict."""
    if diag is None or not diag.history:
        return
    from rich.markup import escape

    files = [diag.save(out / "diagnostics.csv").name]
    if not no_plots:
        files.append(diag.plot(out / "diagnostics.png", title=title).name)
    warns = diag.warnings()
    if warns:
        console.print(f"[bold yellow]diagnostics: {len(warns)} warning"
                      f"{'s' if len(warns) != 1 else ''}[/]")
        for w in warns:
            console.print(f"  [yellow]![/] {escape(w)}", soft_wrap=True)
    else:
        s = diag.summary()
        ratios = [v for v in s["update_ratio"].values() if v == v]
        facts = []
        if ratios:
            facts.append(f"update/weight {min(ratios):.1e} to {max(ratios):.1e} per step")
        if s["grad_rms_ratio"] is not None:
            facts.append(f"gradient per weight, first layer / last {s['grad_rms_ratio']:.2f}")
        acts = {**s["saturation"], **s["dead"]}
        if acts:
            k = max(acts, key=lambda k: acts[k])
            facts.append(f"{k} {'saturated' if k in s['saturation'] else 'dead'} "
                         f"{acts[k]:.0%}")
        console.print(f"diagnostics: no problems found ({'; '.join(facts)}; medians over "
                      f"steps {s['window'][0]}-{s['window'][1]})", soft_wrap=True)
    console.print(f"diagnostics written: {', '.join(files)}")


def _write_default_run(result: Any, out: Path, seconds: float, no_plots: bool) -> None:
    import chainrule as cr
    from chainrule.cli import recipes, report

    data = result.data
    cm = report.confusion_matrix(data.y_test, result.test_pred)
    last = result.history[-1]
    n_params = sum(p.numel() for p in result.model.parameters())
    metrics = {
        "task": result.config.task, "recipe": "default",
        "test_accuracy": last.test_acc, "test_loss": last.test_loss,
        "train_accuracy": last.train_acc, "train_loss": last.train_loss,
        "epochs": last.epoch, "seconds": round(seconds, 3), "parameters": n_params,
        "per_class": report.per_class(cm), "confusion_matrix": cm.tolist(),
        "config": dataclasses.asdict(result.config), "chainrule_version": cr.__version__,
    }
    report.write_json(out / "metrics.json", metrics)
    report.write_history(out / "history.csv", result.history)
    if not no_plots:
        title = (f"{result.config.task}, {recipes.describe(result.config)}, seed "
                 f"{result.config.seed}")
        report.plot_curves(out / "curves.png", result.history, title)
        report.plot_confusion(out / "confusion.png", cm)
        report.plot_misclassified(out / "misclassified.png", data.images, data.y_test,
                                  result.test_pred)


def _print_summary(console: Any, result: Any, out: Path, seconds: float) -> None:
    from rich.table import Table

    h = result.history
    last = h[-1]
    best = max(h, key=lambda s: s.test_acc)
    t = Table(title=f"{result.config.task}: default recipe", show_header=True,
              header_style="bold")
    t.add_column("", style="bold")
    t.add_column("train", justify="right")
    t.add_column("test", justify="right")
    t.add_row("accuracy", f"{100 * last.train_acc:.2f}%", f"{100 * last.test_acc:.2f}%")
    t.add_row("loss", f"{last.train_loss:.4f}", f"{last.test_loss:.4f}")
    console.print(t)
    n_params = sum(p.numel() for p in result.model.parameters())
    status = " (stopped early: resume with --resume)" if result.stopped_early else ""
    console.print(f"epochs {last.epoch}{status} | best test accuracy {100 * best.test_acc:.2f}% "
                  f"(epoch {best.epoch}) | {n_params:,} parameters | {seconds:.1f} s")
    console.print(f"run folder: [bold]{out}[/] (metrics.json, history.csv, curves.png, "
                  "confusion.png, misclassified.png, checkpoint.safetensors)", soft_wrap=True)


def _train_tutorial(args: argparse.Namespace, console: Any) -> int:
    import chainrule as cr
    from chainrule.cli import recipes, report

    seed = args.seed if args.seed is not None else 0
    epochs = args.epochs if args.epochs is not None else 1000
    if epochs <= 0:
        raise CLIError(f"--epochs must be positive, got {epochs}")
    cfg = recipes.Config(recipe="tutorial", seed=seed, epochs=epochs, dtype="float64")
    out = _run_dir(args.out, cfg)
    out.mkdir(parents=True, exist_ok=True)
    console.print("The tutorial's program: 64 sigmoid hidden units, sigmoid outputs, squared "
                  "error, lr 0.01, full batch, unscaled randn init.")
    t0 = time.perf_counter()
    reporter = RichReporter(console, quiet=args.quiet)

    class _Bar:
        def start(self) -> None:
            reporter.start(dataclasses.replace(cfg), 1, 0)

        def step(self, loss: float, acc: float) -> None:
            reporter.step(loss, acc)

    bar = _Bar()
    bar.start()
    diag = _diagnostics(args)
    res = recipes.train_tutorial(seed, epochs, reporter=bar,  # type: ignore[arg-type]
                                 diagnostics=diag)
    reporter.finish()
    seconds = time.perf_counter() - t0
    for e in range(0, epochs, 100):
        console.print(f"Epoch {e}, Loss: {res.losses[e]:.4f}")
    cm = report.confusion_matrix(res.y_test, res.test_pred)
    metrics = {"task": "digits", "recipe": "tutorial", "seed": seed, "epochs": epochs,
               "test_accuracy": res.test_acc, "final_loss": res.losses[-1],
               "seconds": round(seconds, 3), "per_class": report.per_class(cm),
               "confusion_matrix": cm.tolist(), "chainrule_version": cr.__version__}
    report.write_json(out / "metrics.json", metrics)
    (out / "history.csv").write_text(
        "epoch,loss\n" + "".join(f"{i},{v!r}\n" for i, v in enumerate(res.losses)))
    cr.save({"W1": res.W1, "W2": res.W2, "config": json.dumps(dataclasses.asdict(cfg))},
            out / recipes.CHECKPOINT)
    if not args.no_plots:
        report.plot_loss(out / "loss.png", res.losses, f"tutorial recipe, seed {seed}")
        report.plot_confusion(out / "confusion.png", cm)
        report.plot_misclassified(out / "misclassified.png", res.images, res.y_test,
                                  res.test_pred)
    console.print(f"Test accuracy: [bold]{100 * res.test_acc:.2f}%[/] ({seconds:.1f} s)")
    console.print(res.explanation(), soft_wrap=True)
    _report_diagnostics(console, diag, out, args.no_plots, f"digits, tutorial recipe, seed {seed}")
    console.print(f"run folder: [bold]{out}[/]")
    return 0


# ---------------------------------------------------------------------------------------------
# evaluate / predict
# ---------------------------------------------------------------------------------------------


def _restore(path: str) -> tuple[Any, Any, dict[str, Any]]:
    from chainrule.cli import recipes

    state, _ = _load_checkpoint(path)
    if "config" not in state:
        raise CLIError(f"{path}: not a chainrule training checkpoint (no config in it)")
    cfg = recipes.Config.from_dict(json.loads(state["config"]))
    if cfg.recipe != "default":
        raise CLIError(f"{path}: evaluate/predict work on runs of the default recipe, this one "
                       f"is the {cfg.recipe!r} recipe")
    model = recipes.build_model(cfg)
    try:
        model.load_state_dict(state["model"])
    except (KeyError, ValueError, RuntimeError) as e:
        raise CLIError(f"{path}: the checkpoint does not match the model: {e}") from None
    model.eval()
    return cfg, model, state


def cmd_evaluate(args: argparse.Namespace) -> int:
    from rich.table import Table

    from chainrule import nn
    from chainrule.cli import recipes, report

    console = _console()
    cfg, model, state = _restore(args.run)
    data = recipes.load_data(cfg)
    loss, acc, pred, _ = recipes.evaluate(model, data.X_test, data.y_test, nn.CrossEntropyLoss())
    cm = report.confusion_matrix(data.y_test, pred)
    console.print(f"[bold]{args.run}[/]: test accuracy [bold]{100 * acc:.2f}%[/] "
                  f"({int((pred == data.y_test).sum())}/{len(pred)}), cross-entropy {loss:.4f}")
    t = Table(title="per class", header_style="bold")
    for col in ("digit", "precision", "recall", "f1", "support"):
        t.add_column(col, justify="right")
    for r in report.per_class(cm):
        t.add_row(str(r["class"]), f"{r['precision']:.3f}", f"{r['recall']:.3f}",
                  f"{r['f1']:.3f}", str(r["support"]))
    console.print(t)
    c = Table(title="confusion matrix (rows: true, columns: predicted)", header_style="bold")
    c.add_column("")
    for k in range(10):
        c.add_column(str(k), justify="right")
    for i in range(10):
        c.add_row(str(i), *[(f"[bold]{v}[/]" if i == j else (str(v) if v else "."))
                            for j, v in enumerate(cm[i])])
    console.print(c)
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    import chainrule as cr
    from chainrule.backend import xp
    from chainrule.cli import recipes
    from chainrule.cli.images import ImageError, digit_from_image

    console = _console()
    cfg, model, state = _restore(args.checkpoint)
    if cfg.task != "digits":
        raise CLIError(f"{args.checkpoint}: predict reads pictures of single digits for runs on "
                       f"the digits; this run was trained on {cfg.task}")
    mean, std = state["data"]["mean"], state["data"]["std"]
    mean = mean.numpy() if hasattr(mean, "numpy") else mean
    std = std.numpy() if hasattr(std, "numpy") else std
    digits = []
    for path in args.images:
        try:
            digits.append(digit_from_image(path))
        except ImageError as e:
            raise CLIError(str(e)) from None
    X = recipes.model_input(cfg, (xp.stack([d.reshape(64) for d in digits]) - mean) / std)
    with cr.no_grad():
        prob = cr.softmax(model(cr.tensor(X.astype(cfg.dtype))), dim=1).numpy()
    for path, p in zip(args.images, prob):
        k = int(p.argmax())
        ranked = " ".join(f"{j}:{p[j]:.2f}" for j in range(10))
        console.print(f"{path}: [bold]{k}[/] (p={p[k]:.3f})   {ranked}")
    return 0


def cmd_explain(args: argparse.Namespace) -> int:
    """``chainrule explain tutorial``: backpropagation through the tutorial's 2-2-1 network,
    node by node with the numbers, then its one step of gradient descent."""
    import shutil

    from chainrule.viz.explain import format_tutorial

    if args.lr <= 0:
        raise CLIError(f"--lr must be positive, got {args.lr}")
    width = max(80, min(100, shutil.get_terminal_size((100, 24)).columns))
    print(format_tutorial(lr=args.lr, width=width))
    return 0


def cmd_graph(args: argparse.Namespace) -> int:
    """``chainrule graph digits --out step.svg``: the graph of one training step (the default
    model and its loss, cross-entropy with label smoothing, on 8 digits), a box per layer."""
    import chainrule as cr
    from chainrule import nn
    from chainrule.cli import recipes
    from chainrule.data import load_digits

    out = Path(args.out)
    if out.suffix.lower() not in (".svg", ".png", ".pdf"):
        raise CLIError(f"--out {args.out}: name a .svg, .png or .pdf file")
    if not out.parent.is_dir():
        raise CLIError(f"--out {args.out}: no such folder {str(out.parent)!r}")
    if args.depth is not None and args.depth < 1:
        raise CLIError(f"--depth must be at least 1, got {args.depth}")
    cr.manual_seed(0)
    cfg = recipes.Config(model=args.model)
    model = recipes.build_model(cfg)
    data = load_digits(test_size=cfg.test_size, seed=cfg.seed, standardize=True,
                       dtype=cfg.dtype)
    x = cr.tensor(recipes.model_input(cfg, data.X_train[:8]))
    y = cr.tensor(data.y_train[:8])
    loss_fn = nn.CrossEntropyLoss(label_smoothing=cfg.label_smoothing)  # the recipe's loss
    with cr.viz.record(model, loss_fn):
        loss = loss_fn(model(x), y)
    try:
        d = cr.viz.draw(loss, out, values=args.values, grads=args.grads, depth=args.depth,
                        engine=args.engine)
    except (ValueError, RuntimeError) as e:
        raise CLIError(str(e)) from None
    except OSError as e:
        raise CLIError(f"cannot write {args.out}: {e.strerror or e}") from None
    what = f"{recipes.describe(cfg)} + cross-entropy, a batch of 8 digits"
    print(f"wrote {out}: {d.n_nodes} nodes, {d.n_edges} edges ({what}; {d.engine} engine)")
    return 0


# ---------------------------------------------------------------------------------------------
# entry point
# ---------------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    from chainrule.cli.datasets import TASKS

    p = _Parser(prog="chainrule", description="Train and use digit recognizers with chainrule.")
    sub = p.add_subparsers(dest="command", parser_class=_Parser)
    sub.required = True
    t = sub.add_parser("train", help="train a model", description="Train a digits recognizer.")
    t.add_argument("task", choices=list(TASKS),
                   help="digits: scikit-learn's 8x8 digits; mnist, fashion-mnist: the IDX files "
                        "in --data; images: a folder per class of pictures in --data")
    t.add_argument("--recipe", choices=["default", "tutorial"], default="default",
                   help="default: MLP or CNN + Adam; tutorial: the tutorial's own program")
    t.add_argument("--model", choices=["mlp", "cnn", "lstm"], default=None,
                   help="mlp: 64-256-10 (default); cnn: two 3x3 convolutions with batch norm, "
                        "max pool, 512-128-10; lstm: the image's 8 rows read in turn by an "
                        "LSTM (hidden 128)")
    t.add_argument("--hidden", type=int, default=None,
                   help="hidden units of the last layers (default: mlp 256, cnn 128)")
    t.add_argument("--epochs", type=int, default=None,
                   help="epochs (default: mlp 30, cnn 20; tutorial 1000)")
    t.add_argument("--batch-size", dest="batch_size", type=int, default=None,
                   help="mini-batch size (default 32)")
    t.add_argument("--optimizer", choices=["adam", "adamw", "sgd", "rmsprop"], default=None)
    t.add_argument("--lr", type=float, default=None, help="(peak) learning rate (default 5e-3)")
    t.add_argument("--weight-decay", dest="weight_decay", type=float, default=None)
    t.add_argument("--schedule", choices=["onecycle", "cosine", "none"], default=None)
    t.add_argument("--label-smoothing", dest="label_smoothing", type=float, default=None)
    t.add_argument("--dropout", type=float, default=None,
                   help="dropout before the last layer (default: mlp 0, cnn 0.25)")
    t.add_argument("--seed", type=int, default=None, help="random seed (default 0)")
    t.add_argument("--test-size", dest="test_size", type=float, default=None)
    t.add_argument("--dtype", choices=["float32", "float64"], default=None)
    t.add_argument("--out", default=None,
                   help="run folder (default runs/digits-<model>-s<seed>)")
    t.add_argument("--resume", default=None, metavar="RUN",
                   help="continue an interrupted run from its last checkpoint")
    t.add_argument("--stop-after", dest="stop_after", type=int, default=None,
                   help=argparse.SUPPRESS)
    t.add_argument("--no-plots", dest="no_plots", action="store_true", help="skip the plots")
    t.add_argument("--diagnose", action="store_true",
                   help="record gradient flow and saturation each step: write diagnostics.csv "
                        "and diagnostics.png, and print warnings")
    t.add_argument("--quiet", action="store_true", help="no progress bar")
    t.add_argument("--data", default=None, metavar="DIR",
                   help="mnist/fashion-mnist: the folder of the IDX files (train-images-idx3-"
                        "ubyte[.gz], ...); images: the folder of class folders")
    t.add_argument("--image-size", dest="image_size", type=int, default=None,
                   help="images: the side pictures are resized to (default 32)")
    t.add_argument("--workers", type=int, default=None, metavar="N",
                   help="train data-parallel on N local ranks (started with mpiexec); under "
                        "mpiexec or srun the launcher's ranks are used instead")
    t.set_defaults(fn=cmd_train)
    e = sub.add_parser("evaluate", help="evaluate a trained run",
                       description="Accuracy, per-class table and confusion matrix.")
    e.add_argument("run", help="run folder or checkpoint file")
    e.set_defaults(fn=cmd_evaluate)
    r = sub.add_parser("predict", help="classify digit images",
                       description="Classify PNG/JPEG images of single digits.")
    r.add_argument("checkpoint", help="run folder or checkpoint file")
    r.add_argument("images", nargs="+", help="image files")
    r.set_defaults(fn=cmd_predict)
    x = sub.add_parser("explain", help="walk through backpropagation with numbers",
                       description="Forward and backward pass of a small network, node by node: "
                                   "each op's local derivative, the numbers multiplied, the "
                                   "gradients reaching the weights.")
    x.add_argument("example", choices=["tutorial"],
                   help="tutorial: the tutorial's 2-2-1 sigmoid network, one training step")
    x.add_argument("--lr", type=float, default=0.1, help="learning rate of the step (0.1)")
    x.set_defaults(fn=cmd_explain)
    g = sub.add_parser("graph", help="draw the computational graph of a training step",
                       description="Draw the graph of one training step (model and "
                                   "cross-entropy loss on 8 digits) as SVG, PNG or PDF, with "
                                   "a box per layer.")
    g.add_argument("task", choices=["digits"], help="whose model to draw")
    g.add_argument("--model", choices=["mlp", "cnn"], default="mlp",
                   help="mlp: 64-256-10 (default); cnn: the small CNN")
    g.add_argument("--depth", type=int, default=None,
                   help="collapse module calls this deep into one node (1: one per layer)")
    g.add_argument("--values", action="store_true", help="show a summary of each value")
    g.add_argument("--grads", action="store_true", help="show a summary of each gradient")
    g.add_argument("--engine", choices=["auto", "graphviz", "python"], default="auto",
                   help="auto: Graphviz's dot when installed, else matplotlib (default)")
    g.add_argument("--out", required=True, help="the picture: a .svg, .png or .pdf file")
    g.set_defaults(fn=cmd_graph)
    sub.add_parser("run", help="run a PyTorch program on chainrule: chainrule run script.py "
                   "[args...]", add_help=False)  # handled by main() before parsing
    return p


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["run"]:  # the program's own arguments are not ours to parse
        from .run import main as run_main

        return run_main(argv[1:])
    try:
        args = build_parser().parse_args(argv)
        args.argv = list(sys.argv[1:] if argv is None else argv)  # for --workers to pass on
        return int(args.fn(args))
    except CLIError as e:
        print(f"chainrule: error: {e}", file=sys.stderr)
        return USAGE_ERROR
    except ImportError as e:
        print(f"chainrule: error: {e} (install the extras: pip install \"chainrule[all]\")",
              file=sys.stderr)
        return USAGE_ERROR
    except (OSError, ValueError) as e:
        from chainrule.serialization import CheckpointError

        if isinstance(e, (CheckpointError, FileNotFoundError, PermissionError)):
            print(f"chainrule: error: {e}", file=sys.stderr)
            return USAGE_ERROR
        raise


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
