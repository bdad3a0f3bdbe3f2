"""The ``chainrule`` command: train, evaluate and use digit recognizers.

    chainrule train digits                    # the default recipe (about 98.5% test accuracy)
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

from chainrule.cli import checks, i18n
from chainrule.cli.checks import CLIError
from chainrule.cli import export as _export_cmd  # the `export` subcommand (ONNX)
from chainrule.cli.commands import cmd_evaluate, cmd_explain, cmd_graph, cmd_predict
from chainrule.cli.progress import RichReporter  # noqa: F401  (tests patch cli.RichReporter)
from chainrule.cli.train import cmd_train

USAGE_ERROR = 2
BUG = 1


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        # "argument --lr: must be ..." (a checks validator) reads "--lr must be ..."
        message = re.sub(r"^argument (\S+): (must be|expected) ", r"\1 \2 ", message)
        raise CLIError(f"{message} (see '{self.prog} --help')")


# ---------------------------------------------------------------------------------------------
# entry point
# ---------------------------------------------------------------------------------------------


def _add_train(sub: Any, debug: _Parser) -> None:
    """The ``train`` command's options."""
    from chainrule.cli.datasets import TASKS

    c = checks
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
    t.add_argument("--val-size", dest="val_size", type=c.val_fraction, default=None,
                   help="share of the training split held out to choose the epoch "
                        "(default 0.1; 0: none, the last epoch is reported)")
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


def build_parser() -> argparse.ArgumentParser:
    c = checks
    p = _Parser(prog="chainrule", description="Train and use digit recognizers with chainrule.")
    debug = _Parser(add_help=False)
    debug.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                       help="show the full traceback of an unexpected error (also: "
                            "CHAINRULE_DEBUG=1)")
    debug.add_argument("--lang", choices=list(i18n.LANGS), default=argparse.SUPPRESS,
                       help="language of the messages: en or zh (default: the locale's, "
                            "LC_ALL / LANG starting with zh: Chinese)")
    p.add_argument("--debug", action="store_true", default=False, help=argparse.SUPPRESS)
    sub = p.add_subparsers(dest="command", parser_class=_Parser)
    sub.required = True
    _add_train(sub, debug)
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
    r.add_argument("--show", action="store_true",
                   help="show the 8x8 picture the model saw and the probability of each digit")
    r.add_argument("--out", default=None, metavar="FILE.png",
                   help="also draw the pictures and probabilities into this PNG")
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
    g.add_argument("--model", choices=["mlp", "cnn", "lstm"], default="mlp",
                   help="mlp: 64-256-10 (default); cnn: the small CNN; lstm: rows of 8 "
                        "pixels read by an LSTM")
    g.add_argument("--depth", type=c.positive_int, default=None,
                   help="collapse module calls this deep into one node (1: one per layer); "
                        "a recurrent layer is drawn one box per time step once the depth "
                        "reaches inside it (--model lstm --depth 3)")
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
        args.lang = i18n.resolve(getattr(args, "lang", None))
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
