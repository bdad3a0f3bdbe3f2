"""The ``chainrule`` command: train, evaluate and use digit recognizers.

    chainrule train digits                    # the default recipe (about 98% test accuracy)
    chainrule train digits --model cnn        # a small CNN (about 99.5%)
    chainrule train digits --recipe tutorial  # the tutorial's own program, with chainrule
    chainrule evaluate runs/digits-mlp-s0     # accuracy, per-class table, confusion matrix
    chainrule predict runs/digits-mlp-s0 my_digit.png
    chainrule export runs/digits-mlp-s0 model.onnx   # the model as an ONNX file
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
import os
import re
import sys
import time
from pathlib import Path
from typing import Any, Sequence

from chainrule.cli import checks
from chainrule.cli.checks import CLIError
from chainrule.cli.progress import RichReporter
from chainrule.cli import export as _export_cmd  # the `export` subcommand (ONNX)

USAGE_ERROR = 2
BUG = 1


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        # "argument --lr: must be ..." (a checks validator) reads "--lr must be ..."
        message = re.sub(r"^argument (\S+): (must be|expected) ", r"\1 \2 ", message)
        raise CLIError(f"{message} (see '{self.prog} --help')")


def _console() -> Any:
    from rich.console import Console

    return Console(highlight=False, soft_wrap=True)


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


def _resume(args: argparse.Namespace) -> tuple[Any, dict[str, Any], Path]:
    """(config, checkpoint, run folder) of the run ``--resume`` names, everything checked."""
    from chainrule.cli.recipes import CHECKPOINT

    if Path(args.resume).is_file() and Path(args.resume).name != CHECKPOINT:
        raise CLIError(f"--resume {args.resume}: give the run folder (or its {CHECKPOINT}); "
                       "a run continues in its own folder")
    state, ckpt, cfg = checks.load_run(args.resume)
    if cfg.recipe != "default":
        raise CLIError(f"{ckpt}: a {cfg.recipe}-recipe run cannot be resumed (its program "
                       "runs in one go: train it again)")
    for key in ("model", "optimizer", "rng"):
        if not isinstance(state.get(key), dict):
            raise CLIError(f"{ckpt}: no {key} state in it, so it cannot be resumed")
    checks.restore_model(state, ckpt, cfg)  # the weights fit the model: checked before training
    done = len(checks.run_history(state, ckpt, cfg))
    checks.resume_conflicts(args, cfg, ckpt, done)
    return cfg, state, ckpt.parent


def _train_config(args: argparse.Namespace) -> Any:
    from chainrule.cli import recipes

    given = {k: v for k, v in vars(args).items() if v is not None}
    given.setdefault("recipe", "default")
    return recipes.Config.from_dict(given)  # unset hidden/epochs/dropout: the model's


def cmd_train(args: argparse.Namespace) -> int:
    import chainrule as cr
    from chainrule.cli import parallel, recipes

    console = _console()
    if args.workers is not None and args.workers > 1:
        return parallel.launch_workers(args)
    if args.recipe == "tutorial" and not args.resume:
        if args.workers is not None or parallel.launched_ranks() > 1:
            raise CLIError("the tutorial recipe trains in one process; leave out --workers")
        return _train_tutorial(args, console)
    resume = None
    if args.resume:
        cfg, resume, out = _resume(args)
    else:
        cfg = _train_config(args)
        checks.check_memory(cfg)
        out = _run_dir(args.out, cfg)
    ranks = parallel.ranks_for(args, resume)
    if ranks is not None and not ranks.is_main:  # only rank 0 prints and writes
        console, args.quiet = parallel.silent_console(), True
    is_main = ranks is None or ranks.is_main
    if resume is None and is_main:
        checks.refuse_existing_run(out, args.overwrite)
    created = checks.prepare_out(out) if is_main else False
    if resume is not None:
        console.print(f"Resuming [bold]{out}[/] after epoch "
                      f"{len(json.loads(resume['history']))} of {cfg.epochs}")

    def on_epoch(result: Any, state: dict[str, Any]) -> None:
        if is_main:
            cr.save(state, out / recipes.CHECKPOINT)  # atomic: a crash keeps the last epoch's

    t0 = time.perf_counter()
    reporter = RichReporter(console, quiet=args.quiet)
    diag = _diagnostics(args) if is_main else None
    try:
        result = recipes.train_default(cfg, reporter, out, resume=resume, on_epoch=on_epoch,
                                       stop_after=args.stop_after, diagnostics=diag, ranks=ranks,
                                       compile=args.compile)
    except KeyboardInterrupt:
        reporter.finish()
        if (out / recipes.CHECKPOINT).exists():
            console.print(f"[yellow]Interrupted.[/] Resume with: chainrule train {cfg.task} "
                          f"--resume {out}")
        else:
            if created:
                checks.remove_if_empty(out)
            console.print("[yellow]Interrupted[/] before the first epoch ended: nothing saved.")
        return 130
    except recipes.CheckpointMismatch as e:
        reporter.finish()
        raise CLIError(f"{out / recipes.CHECKPOINT}: {e}") from None
    except ValueError as e:  # bad data files, a batch size the ranks cannot share, ...
        reporter.finish()
        if created:
            checks.remove_if_empty(out)
        raise CLIError(str(e)) from None
    except BaseException:  # e.g. a full disk: leave no empty folder behind
        reporter.finish()
        if created:
            checks.remove_if_empty(out)
        raise
    seconds = time.perf_counter() - t0
    if not is_main:
        return 0
    written = _write_default_run(result, out, seconds, args.no_plots)
    _print_summary(console, result, out, seconds)
    written += _report_diagnostics(console, diag, out, args.no_plots,
                                   f"{cfg.task}, {recipes.describe(cfg)}, seed {cfg.seed}")
    _remove_stale(out, written)
    return 0


def _remove_stale(out: Path, written: list[str]) -> None:
    """After a run replaced (--overwrite) or continued another: remove the earlier run's
    files this run did not write (plots skipped with --no-plots, diagnostics), so the folder
    describes one run."""
    for name in checks.RUN_FILES:
        if name not in written and (out / name).exists():
            (out / name).unlink()


def _diagnostics(args: argparse.Namespace) -> Any:
    if not getattr(args, "diagnose", False):
        return None
    from chainrule.viz.diagnostics import Diagnostics

    return Diagnostics()


def _report_diagnostics(console: Any, diag: Any, out: Path, no_plots: bool,
                        title: str) -> list[str]:
    """Write diagnostics.csv (and .png) into the run folder and print the verdict; the names
    of the files written."""
    if diag is None or not diag.history:
        return []
    from rich.markup import escape

    from chainrule.serialization import atomic_path

    files = ["diagnostics.csv"] + ([] if no_plots else ["diagnostics.png"])
    with atomic_path(out / files[0]) as tmp:
        diag.save(tmp)
    if not no_plots:
        with atomic_path(out / files[1]) as tmp:
            diag.plot(tmp, title=title)
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
    return files


def _write_default_run(result: Any, out: Path, seconds: float, no_plots: bool) -> list[str]:
    """Write the run's files (each atomically); their names."""
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
    plots = [] if no_plots else ["curves.png", "confusion.png", "misclassified.png"]
    return [recipes.CHECKPOINT, "metrics.json", "history.csv", *plots]


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


# The options of the default recipe that the tutorial's program has fixed.
TUTORIAL_FIXED = ("model", "hidden", "batch_size", "optimizer", "lr", "weight_decay", "schedule",
                  "label_smoothing", "dropout", "test_size", "dtype", "stop_after")


def _train_tutorial(args: argparse.Namespace, console: Any) -> int:
    import chainrule as cr
    from chainrule.cli import recipes, report

    fixed = [checks.option(k) for k in TUTORIAL_FIXED if getattr(args, k) is not None]
    if fixed:
        raise CLIError(f"{fixed[0]} does not apply to --recipe tutorial: its program is fixed "
                       "(only --seed and --epochs can be set)")
    seed = args.seed if args.seed is not None else 0
    epochs = args.epochs if args.epochs is not None else 1000
    cfg = recipes.Config(recipe="tutorial", seed=seed, epochs=epochs, dtype="float64")
    out = _run_dir(args.out, cfg)
    checks.refuse_existing_run(out, args.overwrite)
    created = checks.prepare_out(out)
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
    try:
        res = recipes.train_tutorial(seed, epochs, reporter=bar,  # type: ignore[arg-type]
                                     diagnostics=diag)
    except BaseException:  # Ctrl-C or an error: leave no empty folder behind
        reporter.finish()
        if created:
            checks.remove_if_empty(out)
        raise
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
    report.write_text(out / "history.csv",
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
    written = ["metrics.json", "history.csv", recipes.CHECKPOINT]
    written += [] if args.no_plots else ["loss.png", "confusion.png", "misclassified.png"]
    written += _report_diagnostics(console, diag, out, args.no_plots,
                                   f"digits, tutorial recipe, seed {seed}")
    _remove_stale(out, written)
    console.print(f"run folder: [bold]{out}[/]")
    return 0


# ---------------------------------------------------------------------------------------------
# evaluate / predict
# ---------------------------------------------------------------------------------------------


def _restore(path: str, what: str) -> tuple[Any, Any, dict[str, Any], Path]:
    """(config, model with its weights, checkpoint, checkpoint path) of a finished or
    interrupted run of the default recipe."""
    state, ckpt, cfg = checks.load_run(path)
    checks.require_default_recipe(ckpt, cfg, what)
    model = checks.restore_model(state, ckpt, cfg)
    return cfg, model, state, ckpt


def cmd_evaluate(args: argparse.Namespace) -> int:
    from rich.table import Table

    from chainrule import nn
    from chainrule.cli import recipes, report

    console = _console()
    cfg, model, state, _ = _restore(args.run, "evaluate")
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
    cfg, model, state, ckpt = _restore(args.checkpoint, "predict")
    if cfg.task != "digits":
        raise CLIError(f"{args.checkpoint}: predict reads pictures of single digits for runs on "
                       f"the digits; this run was trained on {cfg.task}")
    mean, std = checks.normalisation(state, ckpt)
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

    if args.html:  # the same walkthrough, played step by step in a browser
        from chainrule.viz.stepper import tutorial_stepper
        print(f"wrote {tutorial_stepper(args.lr, args.html).path}: open it in a browser")
        return 0
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
        raise CLIError(f"--out {args.out}: cannot write it ({e.strerror or e})") from None
    what = f"{recipes.describe(cfg)} + cross-entropy, a batch of 8 digits"
    print(f"wrote {out}: {d.n_nodes} nodes, {d.n_edges} edges ({what}; {d.engine} engine)")
    return 0


# ---------------------------------------------------------------------------------------------
# entry point
# ---------------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    from chainrule.cli.datasets import TASKS

    c = checks
    p = _Parser(prog="chainrule", description="Train and use digit recognizers with chainrule.")
    debug = argparse.ArgumentParser(add_help=False)
    debug.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                       help="show the full traceback of an unexpected error (also: "
                            "CHAINRULE_DEBUG=1)")
    p.add_argument("--debug", action="store_true", default=False, help=argparse.SUPPRESS)
    sub = p.add_subparsers(dest="command", parser_class=_Parser)
    sub.required = True
    t = sub.add_parser("train", help="train a model", description="Train a digits recognizer.",
                       parents=[debug])
    t.add_argument("task", choices=list(TASKS),
                   help="digits: scikit-learn's 8x8 digits; mnist, fashion-mnist: the IDX files "
                        "in --data; images: a folder per class of pictures in --data")
    t.add_argument("--recipe", choices=["default", "tutorial"], default=None,
                   help="default: MLP or CNN + Adam; tutorial: the tutorial's own program")
    t.add_argument("--model", choices=["mlp", "cnn", "lstm"], default=None,
                   help="mlp: 64-256-10 (default); cnn: two 3x3 convolutions with batch norm, "
                        "max pool, 512-128-10; lstm: the image's 8 rows read in turn by an "
                        "LSTM (hidden 128)")
    t.add_argument("--hidden", type=c.positive_int, default=None,
                   help="hidden units of the last layers (default: mlp 256, cnn 128)")
    t.add_argument("--epochs", type=c.positive_int, default=None,
                   help="epochs (default: mlp 30, cnn 20; tutorial 1000)")
    t.add_argument("--batch-size", dest="batch_size", type=c.positive_int, default=None,
                   help="mini-batch size (default 32)")
    t.add_argument("--optimizer", choices=["adam", "adamw", "sgd", "rmsprop"], default=None)
    t.add_argument("--lr", type=c.positive_float, default=None,
                   help="(peak) learning rate (default 5e-3)")
    t.add_argument("--weight-decay", dest="weight_decay", type=c.nonnegative_float,
                   default=None)
    t.add_argument("--schedule", choices=["onecycle", "cosine", "none"], default=None)
    t.add_argument("--label-smoothing", dest="label_smoothing", type=c.smoothing, default=None)
    t.add_argument("--dropout", type=c.dropout_p, default=None,
                   help="dropout before the last layer (default: mlp 0, cnn 0.25)")
    t.add_argument("--seed", type=c.seed_int, default=None, help="random seed (default 0)")
    t.add_argument("--test-size", dest="test_size", type=c.open_fraction, default=None)
    t.add_argument("--dtype", choices=["float32", "float64"], default=None)
    t.add_argument("--out", default=None,
                   help="run folder (default runs/digits-<model>-s<seed>, numbered -2, -3, ... "
                        "when taken); an existing run there is refused without --overwrite")
    t.add_argument("--overwrite", action="store_true",
                   help="replace the run already in the --out folder")
    t.add_argument("--resume", default=None, metavar="RUN",
                   help="continue an interrupted run from its last checkpoint")
    t.add_argument("--stop-after", dest="stop_after", type=c.positive_int, default=None,
                   help=argparse.SUPPRESS)
    t.add_argument("--no-plots", dest="no_plots", action="store_true", help="skip the plots")
    t.add_argument("--diagnose", action="store_true",
                   help="record gradient flow and saturation each step: write diagnostics.csv "
                        "and diagnostics.png, and print warnings")
    t.add_argument("--quiet", action="store_true", help="no progress bar")
    t.add_argument("--compile", action=argparse.BooleanOptionalAction, default=None,
                   help="replay each training step as a captured static program (cr.compile; "
                        "the same weights, bit for bit); default: on for the MLP and the CNN")
    t.add_argument("--data", default=None, metavar="DIR",
                   help="mnist/fashion-mnist: the folder of the IDX files (train-images-idx3-"
                        "ubyte[.gz], ...); images: the folder of class folders")
    t.add_argument("--image-size", dest="image_size", type=c.positive_int, default=None,
                   help="images: the side pictures are resized to (default 32)")
    t.add_argument("--workers", type=c.positive_int, default=None, metavar="N",
                   help="train data-parallel on N local ranks (started with mpiexec); under "
                        "mpiexec or srun the launcher's ranks are used instead")
    t.set_defaults(fn=cmd_train)
    e = sub.add_parser("evaluate", help="evaluate a trained run",
                       description="Accuracy, per-class table and confusion matrix.",
                       parents=[debug])
    e.add_argument("run", help="run folder or checkpoint file")
    e.set_defaults(fn=cmd_evaluate)
    r = sub.add_parser("predict", help="classify digit images",
                       description="Classify PNG/JPEG images of single digits.",
                       parents=[debug])
    r.add_argument("checkpoint", help="run folder or checkpoint file")
    r.add_argument("images", nargs="+", help="image files")
    r.set_defaults(fn=cmd_predict)
    x = sub.add_parser("explain", help="walk through backpropagation with numbers",
                       description="Forward and backward pass of a small network, node by node: "
                                   "each op's local derivative, the numbers multiplied, the "
                                   "gradients reaching the weights.",
                       parents=[debug])
    x.add_argument("example", choices=["tutorial"],
                   help="tutorial: the tutorial's 2-2-1 sigmoid network, one training step")
    x.add_argument("--lr", type=c.positive_float, default=0.1,
                   help="learning rate of the step (0.1)")
    x.add_argument("--html", metavar="FILE", help="write the interactive stepper page instead")
    x.set_defaults(fn=cmd_explain)
    g = sub.add_parser("graph", help="draw the computational graph of a training step",
                       description="Draw the graph of one training step (model and "
                                   "cross-entropy loss on 8 digits) as SVG, PNG or PDF, with "
                                   "a box per layer.", parents=[debug])
    g.add_argument("task", choices=["digits"], help="whose model to draw")
    g.add_argument("--model", choices=["mlp", "cnn"], default="mlp",
                   help="mlp: 64-256-10 (default); cnn: the small CNN")
    g.add_argument("--depth", type=c.positive_int, default=None,
                   help="collapse module calls this deep into one node (1: one per layer)")
    g.add_argument("--values", action="store_true", help="show a summary of each value")
    g.add_argument("--grads", action="store_true", help="show a summary of each gradient")
    g.add_argument("--engine", choices=["auto", "graphviz", "python"], default="auto",
                   help="auto: Graphviz's dot when installed, else matplotlib (default)")
    g.add_argument("--out", required=True, help="the picture: a .svg, .png or .pdf file")
    g.set_defaults(fn=cmd_graph)
    _export_cmd.register(sub)
    sub.add_parser("run", help="run a PyTorch program on chainrule: chainrule run script.py "
                   "[args...]", add_help=False)  # handled by main() before parsing
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; every failure is one line on stderr: exit code 2 for a problem with
    the input (options, files, folders), 1 for a bug (the traceback with --debug or
    CHAINRULE_DEBUG=1), 130 for Ctrl-C."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["run"]:  # the program's own arguments are not ours to parse
        from .run import main as run_main

        return run_main(argv[1:])
    debug = "--debug" in argv or os.environ.get("CHAINRULE_DEBUG", "") not in ("", "0")
    try:
        args = build_parser().parse_args(argv)
        args.argv = list(sys.argv[1:] if argv is None else argv)  # for --workers to pass on
        return int(args.fn(args))
    except KeyboardInterrupt:
        return _fail("interrupted", 130)
    except CLIError as e:
        return _fail(str(e), USAGE_ERROR)
    except ImportError as e:
        return _fail(f"{e} (install the extras: pip install \"chainrule[all]\")", USAGE_ERROR)
    except Exception as e:
        if debug:
            raise
        return _unexpected(e)


def _fail(message: str, code: int) -> int:
    print(f"chainrule: error: {checks.one_line(message)}", file=sys.stderr)
    return code


def _unexpected(e: Exception) -> int:
    """One line for an error no check anticipated: a file problem or a full memory is the
    user's to fix (exit 2); anything else is a bug in chainrule (exit 1)."""
    from chainrule.serialization import CheckpointError

    if isinstance(e, CheckpointError):
        return _fail(str(e), USAGE_ERROR)
    if isinstance(e, OSError) and e.strerror:
        where = f"{e.filename}: " if e.filename else ""
        return _fail(f"{where}{e.strerror}", USAGE_ERROR)
    if isinstance(e, (FileNotFoundError, IsADirectoryError, NotADirectoryError,
                      PermissionError)):  # raised with a message of ours (a data folder)
        return _fail(str(e), USAGE_ERROR)
    if isinstance(e, MemoryError):
        return _fail("out of memory (try a smaller --hidden or --batch-size)", USAGE_ERROR)
    return _fail(f"unexpected {type(e).__name__}: {e} (a bug in chainrule; rerun with --debug "
                 "or CHAINRULE_DEBUG=1 for the traceback, and please report it)", BUG)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
