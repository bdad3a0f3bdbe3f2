"""``chainrule train``: a run folder, the recipe's training (resumable, data-parallel with
--workers), diagnostics, the files written and the summary printed."""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path
from typing import Any

from chainrule.cli import checks, i18n
from chainrule.cli.checks import CLIError
from chainrule.cli.progress import RichReporter, console as _console


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
        result = recipes.train_default(  # RichReporter duck-types recipes.Reporter
            cfg, reporter, out, resume=resume, on_epoch=on_epoch,  # type: ignore[arg-type]
            stop_after=args.stop_after, diagnostics=diag, ranks=ranks, compile=args.compile)
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
    written = _write_default_run(result, out, seconds, args.no_plots, args.lang)
    from chainrule.cli.summary import print_summary

    print_summary(console, result, out, seconds, args.lang)
    written += _report_diagnostics(console, diag, out, args.no_plots,
                                   i18n.tr(args.lang, "plot_title", task=cfg.task,
                                           model=recipes.describe(cfg), seed=cfg.seed))
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

    return Diagnostics(lang=getattr(args, "lang", "en"))


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
        head = i18n.tr(diag.lang, "diag_warnings", n=len(warns), s="s" if len(warns) != 1 else "")
        console.print(f"[bold yellow]{head}[/]")
        for w in warns:
            console.print(f"  [yellow]![/] {escape(w)}", soft_wrap=True)
    else:
        s = diag.summary()
        ratios = [v for v in s["update_ratio"].values() if v == v]
        facts = []
        lang = diag.lang
        if ratios:
            facts.append(i18n.tr(lang, "diag_updates", lo=min(ratios), hi=max(ratios)))
        if s["grad_rms_ratio"] is not None:
            facts.append(i18n.tr(lang, "diag_grad_ratio", r=s["grad_rms_ratio"]))
        acts = {**s["saturation"], **s["dead"]}
        if acts:
            k = max(acts, key=lambda k: acts[k])
            facts.append(i18n.tr(lang, "diag_saturated" if k in s["saturation"] else
                                 "diag_dead", name=k, share=acts[k]))
        sep = ";" if lang == "zh" else "; "
        console.print(i18n.tr(diag.lang, "diag_ok", facts=sep.join(facts), a=s["window"][0],
                              b=s["window"][1]), soft_wrap=True)
    console.print(i18n.tr(diag.lang, "diag_written",
                          files=("、" if diag.lang == "zh" else ", ").join(files)))
    return files


def _write_default_run(result: Any, out: Path, seconds: float, no_plots: bool,
                       lang: str = "en") -> list[str]:
    """Write the run's files (each atomically); their names."""
    from chainrule.cli import recipes, report, summary

    data = result.data
    cm = report.confusion_matrix(data.y_test, result.test_pred)
    metrics = summary.metrics(result, seconds, cm, report.per_class(cm))
    report.write_json(out / "metrics.json", metrics)
    report.write_history(out / "history.csv", result.history)
    if not no_plots:
        title = i18n.tr(lang, "plot_title", task=result.config.task,
                        model=recipes.describe(result.config), seed=result.config.seed)
        report.plot_curves(out / "curves.png", result.history, title, result.chosen, lang)
        report.plot_confusion(out / "confusion.png", cm, lang)
        report.plot_misclassified(out / "misclassified.png", data.images, data.y_test,
                                  result.test_pred, lang=lang)
    plots = [] if no_plots else ["curves.png", "confusion.png", "misclassified.png"]
    return [recipes.CHECKPOINT, "metrics.json", "history.csv", *plots]


# The options of the default recipe that the tutorial's program has fixed.
TUTORIAL_FIXED = ("model", "hidden", "batch_size", "optimizer", "lr", "weight_decay", "schedule",
                  "label_smoothing", "dropout", "test_size", "val_size", "dtype", "stop_after",
                  "data", "image_size")


def _train_tutorial(args: argparse.Namespace, console: Any) -> int:
    import chainrule as cr
    from chainrule.cli import recipes, report

    if args.task != "digits":
        raise CLIError(f"--recipe tutorial trains on the digits only (its program loads "
                       f"scikit-learn's digits), not {args.task}: use 'chainrule train digits "
                       f"--recipe tutorial', or the default recipe for {args.task}")
    fixed = [checks.option(k) for k in TUTORIAL_FIXED if getattr(args, k, None) is not None]
    if fixed:
        raise CLIError(f"{fixed[0]} does not apply to --recipe tutorial: its program is fixed "
                       "(only --seed and --epochs can be set)")
    seed = args.seed if args.seed is not None else 0
    epochs = args.epochs if args.epochs is not None else 1000
    cfg = recipes.Config(recipe="tutorial", seed=seed, epochs=epochs, dtype="float64")
    out = _run_dir(args.out, cfg)
    checks.refuse_existing_run(out, args.overwrite)
    created = checks.prepare_out(out)
    console.print(i18n.tr(args.lang, "tutorial_intro"))
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
        title = i18n.tr(args.lang, "plot_title_tutorial", task="digits", seed=seed)
        report.plot_loss(out / "loss.png", res.losses, title, args.lang)
        report.plot_confusion(out / "confusion.png", cm, args.lang)
        report.plot_misclassified(out / "misclassified.png", res.images, res.y_test,
                                  res.test_pred, lang=args.lang)
    console.print(i18n.tr(args.lang, "tutorial_acc", acc=100 * res.test_acc, seconds=seconds))
    console.print(res.explanation(args.lang), soft_wrap=True)
    written = ["metrics.json", "history.csv", recipes.CHECKPOINT]
    written += [] if args.no_plots else ["loss.png", "confusion.png", "misclassified.png"]
    written += _report_diagnostics(console, diag, out, args.no_plots,
                                   i18n.tr(args.lang, "plot_title_tutorial", task="digits",
                                           seed=seed))
    _remove_stale(out, written)
    console.print(i18n.tr(args.lang, "run_folder_short", out=out))
    return 0
