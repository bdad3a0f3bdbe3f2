"""``chainrule evaluate``, ``predict``, ``explain`` and ``graph``: the commands that use a
trained run or draw and explain one step."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from chainrule.cli import checks, i18n
from chainrule.cli.checks import CLIError
from chainrule.cli.progress import console as _console


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
    lang = args.lang
    trained = (i18n.tr(lang, "evaluate_trained", smoothing=cfg.label_smoothing)
               if cfg.label_smoothing else "")
    console.print(i18n.tr(lang, "evaluate_line", run=args.run, acc=100 * acc,
                          right=int((pred == data.y_test).sum()), n=len(pred), loss=loss,
                          trained=trained))
    t = Table(title=i18n.tr(lang, "per_class"), header_style="bold")
    for col in (i18n.tr(lang, "digit"), "precision", "recall", "f1", "support"):
        t.add_column(col, justify="right")
    for r in report.per_class(cm):
        t.add_row(str(r["class"]), f"{r['precision']:.3f}", f"{r['recall']:.3f}",
                  f"{r['f1']:.3f}", str(r["support"]))
    console.print(t)
    c = Table(title=i18n.tr(lang, "confusion"), header_style="bold")
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
    png = getattr(args, "out", None)
    if png is not None and (Path(png).suffix.lower() != ".png"
                            or not Path(png).resolve().parent.is_dir()):
        raise CLIError(f"--out {png}: name a .png file in an existing folder")
    digits = []
    for path in args.images:
        try:
            digits.append(digit_from_image(path))
        except ImageError as e:
            raise CLIError(str(e)) from None
    X = recipes.model_input(cfg, (xp.stack([d.reshape(64) for d in digits]) - mean) / std)
    with cr.no_grad():
        prob = cr.softmax(model(cr.tensor(X.astype(cfg.dtype))), dim=1).numpy()
    from chainrule.cli import show

    for path, d, p in zip(args.images, digits, prob):
        k = int(p.argmax())
        ranked = " ".join(f"{j}:{p[j]:.2f}" for j in range(10))
        console.print(i18n.tr(args.lang, "predict_line", path=path, k=k, p=p[k], ranked=ranked))
        if args.show:
            show.show(console, path, d, p, args.lang)
    if png is not None:
        show.save_png(png, args.images, digits, prob)
        console.print(i18n.tr(args.lang, "predict_png", out=png))
    return 0


def cmd_explain(args: argparse.Namespace) -> int:
    """``chainrule explain tutorial``: backpropagation through the tutorial's 2-2-1 network,
    node by node with the numbers, then its one step of gradient descent, in ``--lang`` (or
    the locale's language); ``--html`` writes the stepper page, opening in that language."""
    import shutil

    from chainrule.viz.explain import format_tutorial

    if args.html:  # the same walkthrough, played step by step in a browser
        from chainrule.viz.stepper import tutorial_stepper
        page = tutorial_stepper(args.lr, args.html, lang=args.lang)
        print(f"wrote {page.path}: open it in a browser")
        return 0
    width = max(80, min(100, shutil.get_terminal_size((100, 24)).columns))
    print(format_tutorial(lr=args.lr, width=width, lang=args.lang))
    return 0


def cmd_graph(args: argparse.Namespace) -> int:
    """``chainrule graph digits --out step.svg``: the graph of one training step (the default
    model and its loss, cross-entropy with label smoothing, on 8 digits), a box per layer,
    its words in ``--lang``."""
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
                        engine=args.engine, lang=args.lang)
    except (ValueError, RuntimeError) as e:
        raise CLIError(str(e)) from None
    except OSError as e:
        raise CLIError(f"--out {args.out}: cannot write it ({e.strerror or e})") from None
    print(i18n.tr(args.lang, "graph_wrote", out=out, nodes=d.n_nodes, edges=d.n_edges,
                  what=recipes.describe(cfg), engine=d.engine))
    return 0
