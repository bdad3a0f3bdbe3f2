"""Tracing a model for export: run it once, eagerly, and keep the graph its outputs record.

The exporter reads the same graph ``backward()`` and ``cr.viz`` walk: the model runs in eval
mode on the example inputs with grad recording on, every op's inputs are kept
(``graph.record_inputs``), and each input is a leaf with a node of its own, so every op that
depends on an input is recorded. Parameters are the leaves behind ``AccumulateGrad`` nodes;
anything else an op reads is a constant.

Two things the graph cannot show on its own, and how they are caught:

- **Values computed outside the graph.** A composite such as ``leaky_relu`` builds its mask
  with NumPy (``x._data > 0``): the mask is a constant in the graph, right for the example
  input only. The few such functions of chainrule are swapped, for the trace, for one
  recorded node each (:data:`OPAQUE`), which the converters map to one ONNX op. Anything
  else of that kind is caught by a second trace on other input values (and other sizes
  along the dynamic axes): a constant that differs between the two traces depends on the
  input, and the export stops with an error naming the op and the layer.
- **Sizes.** Shapes in the graph are numbers. The second trace tells which of them follow a
  dynamic axis, and the converters compute those from the input's shape at run time.
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

from ..backend import ndarray, xp
from ..core import graph as _graph
from ..core.graph import AccumulateGrad, GraphError, Node, apply
from ..core.tensor import Tensor, _make


class OnnxExporterError(RuntimeError):
    """The model cannot be exported as asked; the message names the op, the layer and why."""


class UnsupportedOperatorError(OnnxExporterError):
    """An op of the model has no ONNX converter."""


# ---------------------------------------------------------------------------------------------
# Functions recorded as one node during a trace
# ---------------------------------------------------------------------------------------------


class Opaque(Node):
    """One call of a chainrule function, recorded as a single node (export traces only).

    Its forward is the function itself (so values are exactly the eager ones); its keyword
    arguments are the node's parameters. It has no vjp: it exists while a trace runs.
    """

    __slots__ = ("fn", "kwargs")

    def __init__(self, fn: Callable[..., Any], kwargs: dict[str, Any]) -> None:
        self.fn = fn
        self.kwargs = kwargs

    def forward(self, *xs: ndarray) -> ndarray:
        with _graph.no_grad():
            return self.fn(_make(xs[0]), **self.kwargs)._data

    def params(self) -> dict[str, Any]:
        return dict(self.kwargs)

    def vjp(self, g: Any) -> Any:
        raise GraphError(f"{self.name}: recorded for ONNX export only; it has no backward")


# (module, attribute, op name): the functions whose composites compute a mask from the input's
# values with NumPy (invisible to the graph), so that the trace records them as one node.
OPAQUE = (
    ("chainrule.nn.functional", "leaky_relu", "leaky_relu"),
    ("chainrule.nn.functional", "elu", "elu"),
    ("chainrule.nn.functional", "gelu", "gelu"),
    ("chainrule.core.functional", "softplus", "softplus"),
    ("chainrule.core.functional", "clamp", "clamp"),
    ("chainrule.core.functional", "clip", "clamp"),
    ("chainrule", "softplus", "softplus"),
    ("chainrule", "clamp", "clamp"),
    ("chainrule", "clip", "clamp"),
    ("chainrule.core.tensor_class", "Tensor.clamp", "clamp"),
    ("chainrule.core.tensor_class", "Tensor.clip", "clamp"),
    ("chainrule.core.tensor_class", "Tensor.softplus", "softplus"),
    # adaptive max pooling gathers at indices found with NumPy
    ("chainrule.nn.functional_extra", "adaptive_max_pool2d", "adaptive_max_pool2d"),
    ("chainrule.nn.functional", "adaptive_max_pool2d", "adaptive_max_pool2d"),
    # softmax, log_softmax and logsumexp subtract the max as a constant (reductions._shift)
    ("chainrule.core.functional", "softmax", "softmax_dim"),
    ("chainrule.core.functional", "log_softmax", "log_softmax"),
    ("chainrule.core.functional", "logsumexp", "logsumexp"),
    ("chainrule", "softmax", "softmax_dim"),
    ("chainrule", "log_softmax", "log_softmax"),
    ("chainrule", "logsumexp", "logsumexp"),
    ("chainrule.core.tensor_class", "Tensor.softmax", "softmax_dim"),
    ("chainrule.core.tensor_class", "Tensor.log_softmax", "log_softmax"),
    ("chainrule.core.tensor_class", "Tensor.logsumexp", "logsumexp"),
)
_DROP = ("input", "x", "self", "inplace")  # not parameters of the op
_classes: dict[str, type] = {}


def _opaque_class(op: str) -> type:
    if op not in _classes:
        _classes[op] = type(f"Opaque_{op}", (Opaque,), {"__slots__": (), "name": op})
    return _classes[op]


def _wrap(fn: Callable[..., Any], op: str) -> Callable[..., Any]:
    sig = inspect.signature(fn)
    cls = _opaque_class(op)

    def traced(*args: Any, **kwargs: Any) -> Any:
        bound = sig.bind(*args, **kwargs)
        bound.apply_defaults()
        items = list(bound.arguments.items())
        x = items[0][1]
        if not isinstance(x, Tensor):
            return fn(*args, **kwargs)
        kw = {k: v for k, v in items[1:] if k not in _DROP}
        if kw.get("return_indices"):  # two results: left to the graph (and its checks)
            return fn(*args, **kwargs)
        return apply(cls(fn, kw), x)

    traced.__wrapped__ = fn  # type: ignore[attr-defined]
    return traced


@contextlib.contextmanager
def _opaque_functions(model: Any) -> Iterator[None]:
    """The functions of :data:`OPAQUE` swapped for recording versions, where they are looked
    up (their modules, Tensor's methods) and where a layer keeps one (an activation function
    stored on a module, as TransformerEncoderLayer's)."""
    saved: list[tuple[Any, str, Any]] = []
    wrapped: dict[int, Any] = {}
    try:
        for mod_name, attr, op in OPAQUE:
            owner: Any = importlib.import_module(mod_name)
            *path, name = attr.split(".")
            for p in path:
                owner = getattr(owner, p)
            fn = vars(owner).get(name)
            if fn is None:
                continue
            if id(fn) not in wrapped:
                wrapped[id(fn)] = _wrap(fn, op)
            saved.append((owner, name, fn))
            setattr(owner, name, wrapped[id(fn)])
        for m in (model.modules() if hasattr(model, "modules") else ()):
            for name, v in list(vars(m).items()):
                if callable(v) and id(v) in wrapped:
                    saved.append((m, name, v))
                    setattr(m, name, wrapped[id(v)])
        yield
    finally:
        for owner, name, fn in reversed(saved):
            setattr(owner, name, fn)


# ---------------------------------------------------------------------------------------------
# One trace
# ---------------------------------------------------------------------------------------------


@dataclass
class Trace:
    """What one run of the model recorded."""

    nodes: list[Node]  # every node behind the outputs, inputs first
    inputs: list[Tensor]  # the graph inputs (leaves of the trace)
    outputs: list[Tensor]  # the model's tensor outputs, flattened
    scopes: dict[Node, str] = field(default_factory=dict)  # node -> module path


def flatten(obj: Any) -> list[Any]:
    """The tensors of a (nested) tuple/list/dict, in order; other values are left out."""
    if isinstance(obj, Tensor):
        return [obj]
    if isinstance(obj, (tuple, list)):
        return [t for o in obj for t in flatten(o)]
    if isinstance(obj, dict):
        return [t for o in obj.values() for t in flatten(o)]
    return []


def _replace(obj: Any, new: Iterator[Tensor]) -> Any:
    """``obj`` with each tensor replaced by the next of ``new`` (the structure kept)."""
    if isinstance(obj, Tensor):
        return next(new)
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):  # a namedtuple
        return type(obj)(*[_replace(o, new) for o in obj])
    if isinstance(obj, (tuple, list)):
        return type(obj)(_replace(o, new) for o in obj)
    if isinstance(obj, dict):
        return {k: _replace(v, new) for k, v in obj.items()}
    return obj


def _leaf(data: ndarray) -> Tensor:
    """A graph input: a fresh tensor whose node marks it (whatever its dtype)."""
    t = _make(data)
    t._node = AccumulateGrad(t)
    return t


@contextlib.contextmanager
def _eval_and_recording(model: Any) -> Iterator[None]:
    """Eval mode and grad-requiring parameters for the trace; everything restored after."""
    modes = [(m, m.training) for m in model.modules()] if hasattr(model, "modules") else []
    frozen = [p for p in (model.parameters() if hasattr(model, "parameters") else ())
              if not p.requires_grad and p.dtype.kind == "f"]
    try:
        for m, _ in modes:
            m.training = False
        for p in frozen:
            p.requires_grad_(True)
        with _graph.enable_grad(), _graph.record_inputs(), _opaque_functions(model):
            yield
    finally:
        for p in frozen:
            p.requires_grad_(False)
        for m, was in modes:
            m.training = was


def run(model: Any, args: tuple, kwargs: dict[str, Any], data: list[ndarray]) -> Trace:
    """Run ``model`` on ``args``/``kwargs`` with their tensors replaced by graph inputs
    holding ``data`` (one array per tensor, in order), and collect the recorded graph."""
    from ..viz.view import _scopes, record

    inputs = [_leaf(d) for d in data]
    it = iter(inputs)
    call_args = _replace(args, it)
    call_kwargs = _replace(kwargs, it)
    boxes = model if hasattr(model, "named_modules") else None
    with _eval_and_recording(model):
        rec_cm: Any = record(boxes) if boxes is not None else contextlib.nullcontext()
        with rec_cm as rec:
            out = model(*call_args, **call_kwargs)
    outputs = flatten(out)
    if not outputs:
        raise OnnxExporterError(
            f"export: the model returned {type(out).__name__}, with no tensor in it; the "
            "outputs of an exported model are the tensors it returns")
    seen: dict[Node, None] = {}
    for t in outputs:
        if t._node is not None:
            for n in _graph.nodes(t):
                seen[n] = None
    nodes = sorted(seen, key=lambda n: n.seq)
    scopes = _scopes(nodes, [rec])[0] if rec is not None else {}
    return Trace(nodes, inputs, outputs, scopes)


# ---------------------------------------------------------------------------------------------
# The second trace: other values, other sizes
# ---------------------------------------------------------------------------------------------


def other_inputs(data: list[ndarray], dynamic: list[dict[int, str]], seed: int = 2718281
                 ) -> list[ndarray]:
    """Inputs for the second trace: other values (floats: the example's values, tiled to the
    new shape, negated and scaled by a random factor each, so that every sign and magnitude
    changes; integers drawn from those given, so indices stay valid), and each dynamic axis
    one longer (two for a size of 1).

    Different dynamic names get different growth, so sizes that follow different axes differ.
    """
    rng = xp.random.default_rng(seed)
    grow: dict[str, int] = {}
    out = []
    for a, axes in zip(data, dynamic):
        shape = list(a.shape)
        for ax, name in axes.items():
            g = grow.setdefault(name, len(grow) + 1 + (shape[ax] == 1))
            shape[ax] += g
        if a.dtype.kind == "f":
            base = xp.resize(a, shape) if a.size else xp.zeros(shape, a.dtype)
            base = xp.where(base == 0, 1.0, base)
            b = (-base * rng.uniform(0.5, 2.0, shape)).astype(a.dtype)
        elif a.dtype.kind == "b":
            b = rng.random(shape) < 0.5
        elif a.size:
            b = rng.choice(a.reshape(-1), size=shape)
        else:
            b = xp.zeros(shape, a.dtype)
        out.append(xp.ascontiguousarray(b))
    return out


def describe(node: Node, scopes: dict[Node, str]) -> str:
    """``op 'name' in layer 'path'`` (or ``outside any layer``) for messages."""
    path = scopes.get(node)
    where = f"in layer '{path}'" if path else "outside any layer of the model"
    return f"op '{node.name}' {where}"


def pair_nodes(t1: Trace, t2: Trace) -> dict[Node, Node]:
    """Node of the first trace -> the same op of the second; an error when the two graphs
    differ (the model takes different paths for different inputs)."""
    n1, n2 = t1.nodes, t2.nodes
    for k, (a, b) in enumerate(zip(n1, n2)):
        if type(a) is not type(b) or len(a.next) != len(b.next):
            raise OnnxExporterError(
                f"export: the model records a different graph for other inputs (op {k}: "
                f"{describe(a, t1.scopes)} became {describe(b, t2.scopes)}), so it has no "
                "single static graph: Python control flow on tensor values or sizes (if, "
                "loops, .item()) cannot be exported. Make the forward pass the same for "
                "every input, or leave the axis out of dynamic_axes.")
    if len(n1) != len(n2):
        raise OnnxExporterError(
            f"export: the model records {len(n1)} ops for the example inputs and {len(n2)} "
            "for others (along the dynamic axes, or other values): its graph depends on the "
            "input (Python control flow, a loop over a dynamic size), so it has no single "
            "static graph. Leave that axis out of dynamic_axes, or make the forward pass "
            "the same for every input.")
    return dict(zip(n1, n2))


def same(a: Any, b: Any) -> bool:
    """Whether two op parameters (numbers, tuples, arrays, nested) are equal."""
    if isinstance(a, ndarray) or isinstance(b, ndarray):
        a, b = xp.asarray(a), xp.asarray(b)
        return a.shape == b.shape and a.dtype == b.dtype and bool(
            xp.array_equal(a, b, equal_nan=a.dtype.kind in "fc"))
    if isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, float) and isinstance(b, float) and a != a and b != b:
        return True
    try:
        return bool(a == b)
    except (TypeError, ValueError):
        return a is b
