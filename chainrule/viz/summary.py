"""A model at a glance: its layers, their output shapes and parameter counts, as a text table.

Like ``torchinfo.summary`` or Keras' ``model.summary()``: the model runs once on an example
input (under ``no_grad``, in eval mode) with temporary forward hooks on every submodule, which
record the shape each one returns.

The model is read by duck typing (``named_modules()``, ``parameters()``,
``register_forward_hook()``), so anything shaped like ``nn.Module`` works and viz never
imports ``chainrule.nn``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..backend import ndarray
from ..core.graph import no_grad
from ..core.tensor import Tensor
from .view import format_shape

_NEEDS = ("named_modules", "parameters", "register_forward_hook")


@dataclass
class SummaryRow:
    """One module of the table.

    ``params`` counts the parameters this row accounts for: the module's whole subtree when
    its children are not shown (a leaf, or the ``depth`` limit), only its own parameters when
    they are. So the rows' ``params`` add up to the model's total.
    """

    name: str  # dotted, as in named_modules(): "" for the model itself, "0", "features.1"
    type: str  # the class name: "Linear"
    depth: int  # 0 for the model, 1 for its children, ...
    output_shape: Any  # tuple of ints, a list of them for several outputs, or None (not run)
    params: int
    trainable: int


@dataclass
class ModelSummary:
    """What :func:`summary` found; ``str()`` of it is the table."""

    model_type: str
    input_shapes: list[Any]
    output_shape: Any
    rows: list[SummaryRow]
    total_params: int
    trainable_params: int

    @property
    def non_trainable_params(self) -> int:
        return self.total_params - self.trainable_params

    def __str__(self) -> str:
        return _table(self)

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:  # IPython shows the table
        p.text(str(self))


def format_summary(model: Any, *example_inputs: Any, depth: int | None = None) -> str:
    """The summary table of ``model`` run on ``example_inputs``, as a string.

    >>> import chainrule as cr
    >>> from chainrule import nn
    >>> from chainrule.viz import format_summary
    >>> model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    >>> print(format_summary(model, cr.zeros(5, 4)))
    Layer    Type        Output shape  Params  Trainable
    ----------------------------------------------------
    (model)  Sequential  (5, 2)            --         --
      0      Linear      (5, 3)            15         15
      1      ReLU        (5, 3)             0          0
      2      Linear      (5, 2)             8          8
    ----------------------------------------------------
    Total params: 23 (trainable: 23, non-trainable: 0)
    Input shape: (5, 4)  Output shape: (5, 2)
    """
    return str(_summarize(model, example_inputs, depth))


def summary(model: Any, *example_inputs: Any, depth: int | None = None) -> ModelSummary:
    """Print the summary table of ``model`` run on ``example_inputs`` and return it.

    Each example input is a tensor (or array), or a shape tuple, for which a tensor of zeros
    in the model's dtype is made. ``depth`` limits how deep the rows go (0: the model only,
    1: its children, ...; None: every module); a row whose children are hidden counts their
    parameters.

    >>> from chainrule import nn
    >>> from chainrule.viz.summary import summary
    >>> s = summary(nn.Sequential(nn.Linear(4, 3), nn.Tanh()), (2, 4), depth=0)
    Layer    Type        Output shape  Params  Trainable
    ----------------------------------------------------
    (model)  Sequential  (2, 3)            15         15
    ----------------------------------------------------
    Total params: 15 (trainable: 15, non-trainable: 0)
    Input shape: (2, 4)  Output shape: (2, 3)
    >>> s.total_params, s.rows[0].type
    (15, 'Sequential')
    """
    s = _summarize(model, example_inputs, depth)
    print(s)  # printing is what this function is for, as torchinfo's does
    return s


# ---------------------------------------------------------------------------------------------


def _summarize(model: Any, example_inputs: tuple, depth: int | None) -> ModelSummary:
    missing = [m for m in _NEEDS if not callable(getattr(model, m, None))]
    if missing:
        raise TypeError(
            f"summary: expected a model (an nn.Module, or an object with named_modules(), "
            f"parameters() and register_forward_hook()), got {type(model).__name__}, "
            f"which has no {'(), '.join(missing)}()"
        )
    if depth is not None and (not isinstance(depth, int) or depth < 0):
        raise ValueError(f"summary: depth must be None or an int >= 0, got {depth!r}")
    cls = type(model).__name__
    if not example_inputs:
        raise TypeError(f"summary: give {cls} an example input (a tensor or a shape tuple), "
                        "e.g. summary(model, (1, 64))")
    inputs = [_as_input(model, x) for x in example_inputs]
    in_shapes = [_shape_of(x) for x in inputs]
    modules = list(model.named_modules())
    shapes: dict[int, Any] = {}
    stack: list[tuple[str, Any]] = []  # the modules running now, for the error message

    def pre_hook(name: str, m: Any) -> Any:
        return lambda mod, args: stack.append((name, m))

    def post_hook(name: str, m: Any) -> Any:
        def hook(mod: Any, args: Any, out: Any) -> None:
            shapes.setdefault(id(m), _shape_of(out))  # a module called twice: its first call
            if stack and stack[-1][1] is m:
                stack.pop()

        return hook

    handles = []
    modes = [(m, getattr(m, "training", None)) for _, m in modules]
    try:
        for name, m in modules:
            if callable(getattr(m, "register_forward_pre_hook", None)):
                handles.append(m.register_forward_pre_hook(pre_hook(name, m)))
            handles.append(m.register_forward_hook(post_hook(name, m)))
        if callable(getattr(model, "eval", None)):
            model.eval()  # NOTE: eval mode: no dropout, and BatchNorm's running stats stay put
        with no_grad():
            out = model(*inputs)
    except Exception as e:
        shown = ", ".join(_fmt_shape(s) for s in in_shapes)
        where = ""
        if stack and stack[-1][0]:
            name, m = stack[-1]
            where = f" in module {name!r} ({type(m).__name__})"
        raise _same_kind(e, f"summary: {cls} failed on an input of shape {shown}{where}: "
                            f"{type(e).__name__}: {e}") from None
    finally:
        for h in handles:
            h.remove()
        for m, mode in modes:
            if mode is not None and getattr(m, "training", None) != mode:
                m.training = mode
    rows = _rows(modules, shapes, depth)
    seen: dict[int, Any] = {id(p): p for p in model.parameters()}
    total = sum(_numel(p) for p in seen.values())
    trainable = sum(_numel(p) for p in seen.values() if getattr(p, "requires_grad", False))
    return ModelSummary(cls, in_shapes, _shape_of(out), rows, total, trainable)


def _rows(modules: list[tuple[str, Any]], shapes: dict[int, Any],
          depth: int | None) -> list[SummaryRow]:
    counted: set[int] = set()  # shared parameters are counted once, at their first row
    rows = []
    for name, m in modules:
        d = 0 if name == "" else name.count(".") + 1
        if depth is not None and d > depth:
            continue
        # NOTE: a row counts its own parameters when its children are rows too, otherwise its
        # whole subtree (named_modules lists a module right before its descendants, so a
        # child's row never comes before its parent's).
        leaf = depth is not None and d == depth
        params = list(m.parameters()) if leaf else _own_parameters(m)
        n = t = 0
        for p in params:
            if id(p) in counted:
                continue
            counted.add(id(p))
            k = _numel(p)
            n += k
            t += k if getattr(p, "requires_grad", False) else 0
        rows.append(SummaryRow(name, type(m).__name__, d, shapes.get(id(m)), n, t))
    return rows


def _own_parameters(m: Any) -> list[Any]:
    try:
        return list(m.parameters(recurse=False))
    except TypeError:  # a duck-typed model whose parameters() takes no recurse
        return [] if list(m.named_modules())[1:] else list(m.parameters())


def _has_children(rows: list[SummaryRow], i: int) -> bool:
    return i + 1 < len(rows) and rows[i + 1].depth > rows[i].depth


def _table(s: ModelSummary) -> str:
    head = ("Layer", "Type", "Output shape", "Params", "Trainable")
    body = []
    for i, r in enumerate(s.rows):
        label = "  " * r.depth + (r.name or "(model)")
        container = _has_children(s.rows, i) and r.params == 0
        body.append((label, r.type, _fmt_shape(r.output_shape),
                     "--" if container else f"{r.params:,}",
                     "--" if container else f"{r.trainable:,}"))
    widths = [max(len(row[k]) for row in [head, *body]) for k in range(len(head))]

    def line(row: tuple[str, ...]) -> str:
        cells = [row[k].ljust(widths[k]) for k in range(3)]
        cells += [row[k].rjust(max(widths[k], 6)) for k in range(3, 5)]
        return "  ".join(cells).rstrip()

    lines = [line(head)]
    rule = "-" * len(lines[0])
    lines.append(rule)
    lines += [line(row) for row in body]
    lines.append(rule)
    lines.append(f"Total params: {s.total_params:,} (trainable: {s.trainable_params:,}, "
                 f"non-trainable: {s.non_trainable_params:,})")
    ins = ", ".join(_fmt_shape(x) for x in s.input_shapes)
    lines.append(f"Input shape: {ins}  Output shape: {_fmt_shape(s.output_shape)}")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------


def _as_input(model: Any, x: Any) -> Any:
    if isinstance(x, tuple) and all(isinstance(k, int) and not isinstance(k, bool) for k in x):
        from ..core.creation import zeros

        p = next(iter(model.parameters()), None)
        dtype = p.dtype if isinstance(p, Tensor) else None
        return zeros(*x, dtype=dtype)
    if isinstance(x, ndarray):
        from ..core.creation import tensor

        return tensor(x)
    return x


def _shape_of(x: Any) -> Any:
    if isinstance(x, (Tensor, ndarray)):
        return tuple(int(k) for k in x.shape)
    if isinstance(x, (tuple, list)):
        return [_shape_of(v) for v in x]
    if isinstance(x, dict):
        return {k: _shape_of(v) for k, v in x.items()}
    return type(x).__name__ if x is not None else None


def _fmt_shape(shape: Any) -> str:
    if shape is None:
        return "-"
    if isinstance(shape, tuple):
        return format_shape(shape)
    if isinstance(shape, list):
        return "[" + ", ".join(_fmt_shape(s) for s in shape) + "]"
    if isinstance(shape, dict):
        return "{" + ", ".join(f"{k}: {_fmt_shape(v)}" for k, v in shape.items()) + "}"
    return str(shape)


def _numel(p: Any) -> int:
    n = getattr(p, "numel", None)
    if callable(n):
        return int(n())
    size = 1
    for k in p.shape:
        size *= int(k)
    return size


def _same_kind(e: Exception, msg: str) -> Exception:
    """``msg`` as an exception of ``e``'s type when that type takes a message, else a
    RuntimeError (so ``except ValueError`` around a summary still catches a shape error)."""
    if isinstance(e, (ValueError, TypeError, IndexError, RuntimeError, KeyError)):
        try:
            new = type(e)(msg)
            if str(new) == msg:
                return new
        except Exception:  # an exception class with another signature
            pass
    return RuntimeError(msg)
