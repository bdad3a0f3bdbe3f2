"""What the command line accepts, checked before any work: option values at parse time
(argparse ``type=`` validators, so the message names the option), the size of the model
against this machine's memory, run folders and their checkpoints, options that conflict with
a run being resumed, and output folders that cannot be written.

Every problem is a :class:`CLIError`: one line naming the option or the file, exit code 2.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
from pathlib import Path
from typing import Any, Callable

from chainrule.cli.datasets import TASKS

# The files a run folder holds; a folder with any of them is a run (train refuses to replace
# it without --overwrite).
RUN_FILES = ("checkpoint.safetensors", "metrics.json", "history.csv", "curves.png",
             "confusion.png", "misclassified.png", "loss.png", "diagnostics.csv",
             "diagnostics.png")


class CLIError(Exception):
    """A problem with the user's input: reported on one line, exit code 2."""


# ---------------------------------------------------------------------------------------------
# Option values (argparse type= validators: argparse adds "argument --name: ")
# ---------------------------------------------------------------------------------------------


def _number(kind: type, what: str, ok: Callable[[Any], bool]) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be {what}, got {text!r}") from None
        if kind is float and not math.isfinite(value) or not ok(value):
            raise argparse.ArgumentTypeError(f"must be {what}, got {text!r}")
        return value

    parse.__name__ = what  # argparse names the type in some messages
    return parse


positive_float = _number(float, "positive (a finite number > 0)", lambda v: v > 0)
nonnegative_float = _number(float, "a finite number >= 0", lambda v: v >= 0)
dropout_p = _number(float, "a probability in [0, 1)", lambda v: 0 <= v < 1)
smoothing = _number(float, "a number in [0, 1]", lambda v: 0 <= v <= 1)
open_fraction = _number(float, "a fraction strictly between 0 and 1", lambda v: 0 < v < 1)
positive_int = _number(int, "a positive integer", lambda v: v > 0)
seed_int = _number(int, "an integer in [0, 2**32 - 1]", lambda v: 0 <= v < 2 ** 32)

# The validator of each Config field, and the choices of the others: used for the command
# line and, the same way, for the config read back from a checkpoint.
FIELD_CHECKS: dict[str, Callable[[str], Any]] = {
    "hidden": positive_int, "epochs": positive_int, "batch_size": positive_int,
    "lr": positive_float, "weight_decay": nonnegative_float, "label_smoothing": smoothing,
    "dropout": dropout_p, "seed": seed_int, "test_size": open_fraction,
}
MODELS = ("mlp", "cnn", "lstm")
FIELD_CHOICES: dict[str, tuple[str, ...]] = {
    "task": TASKS, "model": MODELS, "recipe": ("default", "tutorial"),
    "optimizer": ("adam", "adamw", "sgd", "rmsprop"), "schedule": ("onecycle", "cosine", "none"),
    "dtype": ("float32", "float64"),
}


def option(name: str) -> str:
    return "--" + name.replace("_", "-")


# ---------------------------------------------------------------------------------------------
# Memory
# ---------------------------------------------------------------------------------------------


def _physical_memory() -> int | None:
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, ValueError, OSError):  # not POSIX: no check
        return None


def parameter_count(model: str, hidden: int) -> int:
    """Parameters of recipes.build_model's network, computed without building it."""
    head = hidden + hidden * 10 + 10  # hidden bias, last layer
    if model == "cnn":  # conv 1->16, bn, conv 16->32, bn, linear 512->hidden
        return (16 * 9 + 16) + 32 + (32 * 16 * 9 + 32) + 64 + 512 * hidden + head
    return 64 * hidden + head


def check_memory(cfg: Any, test_rows: int = 540) -> None:
    """Refuse a model that cannot fit in this machine's memory: weights, gradients, two
    optimizer moments and the checkpoint's copy (5 copies), plus the activations of a batch
    and of the test split (evaluated at once)."""
    total = _physical_memory()
    if total is None:
        return
    item = 8 if cfg.dtype == "float64" else 4
    params = parameter_count(cfg.model, cfg.hidden)
    width = cfg.hidden + (16 + 32) * 64 if cfg.model == "cnn" else cfg.hidden
    need = item * (5 * params + 4 * (cfg.batch_size + test_rows) * width)
    if need > total:
        raise CLIError(f"--hidden {cfg.hidden}: this {cfg.model} model has {params:,} parameters "
                       f"and needs about {_size(need)} of memory to train; this machine has "
                       f"{_size(total)}")


def _size(n: float) -> str:
    for unit in ("bytes", "KB", "MB", "GB", "TB", "PB"):
        if n < 1000 or unit == "PB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1000
    raise AssertionError  # pragma: no cover


# ---------------------------------------------------------------------------------------------
# Run folders and checkpoints
# ---------------------------------------------------------------------------------------------


def one_line(text: str) -> str:
    """A message on one line: its lines joined with '; '."""
    return "; ".join(s.strip() for s in str(text).splitlines() if s.strip())


def checkpoint_path(path: str | Path) -> Path:
    from chainrule.cli.recipes import CHECKPOINT

    p = Path(path)
    if p.is_dir():
        if not (p / CHECKPOINT).is_file():
            raise CLIError(f"{path}: no {CHECKPOINT} in this folder (not a run folder, or its "
                           "run stopped before its first epoch ended)")
        return p / CHECKPOINT
    if not p.exists():
        raise CLIError(f"{path}: no such run folder or checkpoint file")
    return p


def load_run(path: str | Path) -> tuple[dict[str, Any], Path, Any]:
    """(checkpoint, its path, its Config) of a run folder or checkpoint file, every part
    checked: a readable chainrule checkpoint, a config of valid values."""
    import chainrule as cr
    from chainrule.cli.recipes import Config
    from chainrule.serialization import CheckpointError

    ckpt = checkpoint_path(path)
    try:
        state = cr.load(ckpt)
    except CheckpointError as e:
        raise CLIError(one_line(e)) from None
    except OSError as e:
        raise CLIError(f"{ckpt}: cannot read it ({e.strerror or e})") from None
    if not isinstance(state, dict) or "config" not in state:
        raise CLIError(f"{ckpt}: not a chainrule training checkpoint (no config in it)")
    try:
        d = json.loads(state["config"]) if isinstance(state["config"], str) else None
    except ValueError:
        d = None
    if not isinstance(d, dict):
        raise CLIError(f"{ckpt}: its config is not a JSON object of the run's settings")
    for name, value in d.items():
        problem = _field_problem(name, value)
        if problem:
            raise CLIError(f"{ckpt}: its config has {name}={value!r}, {problem}")
    return state, ckpt, Config.from_dict(d)


def _field_problem(name: str, value: Any) -> str | None:
    if name in FIELD_CHOICES:
        ok = value in FIELD_CHOICES[name]
        return None if ok else f"expected one of {', '.join(FIELD_CHOICES[name])}"
    if name in FIELD_CHECKS:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return "expected a number"
        try:
            FIELD_CHECKS[name](repr(value))
        except argparse.ArgumentTypeError as e:
            return str(e).split(",")[0]
    return None


def require_default_recipe(ckpt: Path, cfg: Any, what: str) -> None:
    if cfg.recipe != "default":
        raise CLIError(f"{ckpt}: {what} works on runs of the default recipe; this is a "
                       f"{cfg.recipe}-recipe run (its own program: train it again instead)")


def restore_model(state: dict[str, Any], ckpt: Path, cfg: Any) -> Any:
    """The run's model with its weights, in eval mode."""
    from chainrule.cli import recipes

    if not isinstance(state.get("model"), dict):
        raise CLIError(f"{ckpt}: no model weights in it")
    model = recipes.build_model(cfg)
    try:
        model.load_state_dict(state["model"])
    except (TypeError, ValueError, RuntimeError) as e:
        raise CLIError(f"{ckpt}: its weights do not fit the {recipes.describe(cfg)} model its "
                       f"config describes ({state_dict_problem(e)})") from None
    return model.eval()


def state_dict_problem(e: Exception) -> str:
    """The first problem load_state_dict reported, and how many more."""
    lines = [s.strip() for s in str(e).splitlines()[1:] if s.startswith("\t")]
    if not lines:
        return one_line(e)
    more = f"; and {len(lines) - 1} more" if len(lines) > 1 else ""
    first = lines[0] if len(lines[0]) <= 160 else lines[0][:157] + "..."
    return first + more


def normalisation(state: dict[str, Any], ckpt: Path) -> tuple[Any, Any]:
    """The run's input mean and std (64 numbers each), as arrays."""
    data = state.get("data")
    out = []
    for key in ("mean", "std"):
        v = data.get(key) if isinstance(data, dict) else None
        v = v.numpy() if hasattr(v, "numpy") else v
        if getattr(v, "shape", None) != (64,):
            raise CLIError(f"{ckpt}: no input {key} of 64 pixels in it (data/{key})")
        if not (v == v).all() or abs(v).max() == float("inf") or key == "std" and v.min() <= 0:
            need = "finite and positive" if key == "std" else "finite"
            raise CLIError(f"{ckpt}: its input {key} (data/{key}) has values that are not "
                           f"{need}")
        out.append(v)
    return out[0], out[1]


def run_history(state: dict[str, Any], ckpt: Path, cfg: Any) -> list[Any]:
    """The epochs the run finished, checked: consecutive, at most the run's epochs."""
    from chainrule.cli.recipes import EpochStats

    names = [f.name for f in dataclasses.fields(EpochStats)]
    try:
        rows = json.loads(state["history"])
        history = [EpochStats(**{k: r[k] for k in names}) for r in rows]
    except KeyError:
        raise CLIError(f"{ckpt}: no training history in it") from None
    except (TypeError, ValueError):
        raise CLIError(f"{ckpt}: its training history is not a JSON list of epochs") from None
    if [h.epoch for h in history] != list(range(1, len(history) + 1)):
        raise CLIError(f"{ckpt}: its training history does not list epochs 1, 2, ... in order")
    return history


def resume_conflicts(args: argparse.Namespace, cfg: Any, ckpt: Path, done: int) -> None:
    """Options given with --resume must agree with the run; --epochs may extend a run only
    when no learning-rate schedule was planned for its length."""
    if args.recipe not in (None, cfg.recipe):
        raise CLIError(f"--recipe {args.recipe} conflicts with the run being resumed "
                       f"({cfg.recipe} recipe, {ckpt})")
    if args.out is not None and Path(args.out).resolve() != ckpt.parent.resolve():
        raise CLIError(f"--out {args.out}: --resume continues the run in its own folder "
                       f"({ckpt.parent}); leave --out out")
    for f in dataclasses.fields(cfg):
        given, saved = getattr(args, f.name, None), getattr(cfg, f.name)
        if f.name in ("task", "recipe", "epochs") or given is None or given == saved:
            continue
        raise CLIError(f"{option(f.name)} {given} conflicts with the run being resumed "
                       f"({f.name} {saved} in {ckpt}); leave it out to continue the run as it "
                       "was, or start a new run with another --out")
    if args.epochs is not None and args.epochs != cfg.epochs:
        if cfg.schedule != "none":
            raise CLIError(f"--epochs {args.epochs} conflicts with the run being resumed: its "
                           f"{cfg.schedule} learning-rate schedule was planned for {cfg.epochs} "
                           f"epochs ({ckpt}); leave --epochs out")
        if args.epochs < done:
            raise CLIError(f"--epochs {args.epochs}: the run has already done {done} epochs "
                           f"({ckpt})")
        cfg.epochs = args.epochs
    if done >= cfg.epochs:
        raise CLIError(f"{ckpt}: the run is complete ({done} of {cfg.epochs} epochs); nothing "
                       "to resume")


# ---------------------------------------------------------------------------------------------
# Output folders
# ---------------------------------------------------------------------------------------------


def refuse_existing_run(out: Path, overwrite: bool) -> None:
    if out.exists() and not out.is_dir():
        raise CLIError(f"--out {out}: exists and is not a folder")
    found = [n for n in RUN_FILES if (out / n).exists()] if out.is_dir() else []
    if found and not overwrite:
        raise CLIError(f"--out {out}: a run is already there ({', '.join(found)}); give "
                       f"--overwrite to replace it, --resume {out} to continue it, or another "
                       "--out")


def prepare_out(out: Path) -> bool:
    """Create ``out`` if needed and check that files can be written in it (before any
    training). True when this call created the folder."""
    from chainrule.serialization import _create_temp

    created = not out.exists()
    try:
        out.mkdir(parents=True, exist_ok=True)
        fd, tmp = _create_temp(str(out / "probe"))
        os.close(fd)
        os.unlink(tmp)
    except OSError as e:
        if created:
            remove_if_empty(out)
        raise CLIError(f"--out {out}: cannot write files in this folder "
                       f"({e.strerror or e})") from None
    return created


def remove_if_empty(folder: Path) -> None:
    try:
        folder.rmdir()
    except OSError:
        pass
