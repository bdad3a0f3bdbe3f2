"""``chainrule export RUN model.onnx``: a trained run's model as an ONNX file.

The file takes what ``chainrule predict`` reads from an image: rows of pixel values (64 on the
digits data's scale, 0 to 16; other tasks: channels x size x size on their data's scale),
any number of them; the run's standardisation (its mean and std) is part of the graph, and
the output is the model's logits, ``(batch, classes)``.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any



def standardized(model: Any, cfg: Any, mean: Any, std: Any) -> Any:
    """The run's model behind its input standardisation and layout: (N, 64) raw pixels in."""
    import chainrule as cr
    from chainrule import nn
    from chainrule.backend import xp
    from chainrule.cli import recipes

    dt = cr.float64 if cfg.dtype == "float64" else cr.float32

    class Standardized(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model
            self.register_buffer("mean", cr.tensor(_array(mean), dtype=dt))
            self.register_buffer("std", cr.tensor(_array(std), dtype=dt))

        def forward(self, pixels: Any) -> Any:
            x = (pixels - self.mean) / self.std
            n_in = cfg.channels * cfg.image_size ** 2
            shape = recipes.model_input(cfg, xp.zeros((1, n_in))).shape  # the model's layout
            return self.model(x.reshape((-1,) + tuple(shape[1:])))

    return Standardized()


def _array(v: Any) -> Any:
    return v.numpy() if hasattr(v, "numpy") else v


def cmd_export(args: argparse.Namespace) -> int:
    import chainrule as cr
    from chainrule import cli
    from chainrule.cli import checks, recipes

    try:
        import onnx
    except ImportError:
        raise cli.CLIError("export needs the onnx package: pip install \"chainrule[onnx]\"") \
            from None
    top = int(onnx.defs.onnx_opset_version())
    if not cr.onnx.DEFAULT_OPSET <= args.opset <= top:
        raise cli.CLIError(f"--opset must be from {cr.onnx.DEFAULT_OPSET} to {top} (the "
                           f"installed onnx's newest), got {args.opset}")
    out = Path(args.out)
    if out.is_dir():
        raise cli.CLIError(f"{out}: is a folder; name the ONNX file to write (e.g. "
                           f"{out / 'model.onnx'})")
    if not out.parent.is_dir():
        raise cli.CLIError(f"{out}: the folder {out.parent} does not exist")
    cfg, model, state, ckpt = cli._restore(args.run, "export")
    if cfg.task == "digits":
        mean, std = checks.normalisation(state, ckpt)
    else:
        mean, std = (_array(state["data"][k]) for k in ("mean", "std"))
    n_in = cfg.channels * cfg.image_size ** 2
    wrapped = standardized(model, cfg, mean, std)
    dt = cr.float64 if cfg.dtype == "float64" else cr.float32
    cr.onnx.export(wrapped, (cr.zeros(1, n_in, dtype=dt),), args.out, input_names=["pixels"],
                   output_names=["logits"], opset_version=args.opset,
                   dynamic_axes={"pixels": {0: "batch"}, "logits": {0: "batch"}})
    scale = "digit pixel values 0-16" if cfg.task == "digits" else "the data's pixel values"
    cli._console().print(
        f"{args.run}: wrote [bold]{args.out}[/] (ONNX opset {args.opset}, "
        f"{recipes.describe(cfg)}): input 'pixels' (batch, {n_in}) {cfg.dtype}, {scale} "
        f"(standardised inside), output 'logits' (batch, {cfg.classes})")
    return 0


def register(sub: Any) -> None:
    """Add the ``export`` subcommand to the CLI's subparsers."""
    e = sub.add_parser("export", help="export a trained run's model to ONNX",
                       description="Write a trained run's model as an ONNX file (with the "
                                   "run's input standardisation, dynamic batch size).")
    e.add_argument("run", help="run folder or checkpoint file")
    e.add_argument("out", help="the ONNX file to write, e.g. model.onnx")
    e.add_argument("--opset", type=int, default=17, help="ONNX opset version (17 or later)")
    e.set_defaults(fn=cmd_export)
