"""Recording which module ran which op (:func:`record`), for boxes in drawings.

Every node gets a sequence number when it is recorded (see ``core/graph.py``).
``record(model)`` notes, for each module call, the interval of numbers handed out during it;
a node belongs to the innermost call whose interval holds its number. Nothing is added to
nodes, and nothing at all happens outside ``record``. Inside it, every op also keeps its
inputs (``cr.graph.record_inputs()``), so that every intermediate value can be shown.
"""

from __future__ import annotations

import weakref
from typing import Any

from ..core import graph as _graph
from ..core.tensor import Tensor

__all__ = ["record", "Recording"]


class Recording:
    """What :func:`record` saw: the interval of node numbers of every module call, and the
    dotted names of the model's parameters."""

    def __init__(self, model: Any = None) -> None:
        self.intervals: list[tuple[int, int, str, str]] = []  # (start, end, path, type name)
        # the arrays passed into module calls, by id (weakly: an id is reused after death)
        self.passed: dict[int, Any] = {}
        self.module_types: dict[str, str] = {}
        # id(parameter) -> (weak reference, dotted name, box); the reference tells a live
        # parameter from a new object that got the id of a dead one
        self._params: dict[int, tuple[Any, str, str | None]] = {}
        self._models = 0  # models boxed under a prefix (their paths collided)
        # what a later backward() would free, kept so the graph can still be shown after it:
        # by node number, the gradient each node received and the inputs it held
        self.span = (0, -1)  # the node numbers handed out inside the with block
        self.grads: dict[int, Any] = {}
        self.inputs: dict[int, tuple[Any, ...]] = {}
        self._live = False  # the running backward pass went through this recording
        if model is not None:
            self.add_model(model)

    def add_model(self, model: Any) -> list[tuple[str, Any]]:
        """Note ``model``'s modules and parameter names; returns its boxes as (path, module).

        A second model whose paths would collide with those already noted (two
        Sequentials both have a ``0``) is boxed as a whole under ``<Class>#<k>``, and its
        paths and parameter names are prefixed with that.
        """
        if not hasattr(model, "named_parameters"):
            raise TypeError(
                f"record: expected a model (an object with named_parameters(), like an "
                f"nn.Module), got {type(model).__name__}")
        subs = _submodules(model)
        prefix = ""
        if any(path in self.module_types for path, _ in subs):
            self._models += 1
            root = f"{type(model).__name__}#{self._models}"
            prefix = root + "."
            subs = [(root, model)] + [(prefix + path, m) for path, m in subs if m is not model]
        # a model without children is boxed under its class name: its parameters too
        single = subs[0][0] if subs and subs[-1][1] is model else None
        for name, p in model.named_parameters():
            group = single if single is not None else (prefix + name).rpartition(".")[0]
            self._params[id(p)] = (weakref.ref(p), prefix + name, group or None)
        for path, m in subs:
            self.module_types[path] = type(m).__name__
        return subs

    def tap(self, node: Any, g: Any) -> None:
        """Called by every backward pass (``core.graph._backward_taps``): keep the gradient of
        each recorded node, and of the leaves the same pass reaches, and the recorded nodes'
        inputs, which a backward without retain_graph frees."""
        lo, hi = self.span
        if lo < node.seq < hi or hi < 0 <= lo < node.seq:
            self._live = True
            self.grads[node.seq] = g._data
            if node.inputs is not None:
                self.inputs[node.seq] = node.inputs
        elif node.__class__ is _graph.AccumulateGrad:
            if self._live:
                self.grads[node.seq] = g._data
        else:
            self._live = False

    def param_name(self, t: Any) -> str | None:
        """The dotted name of parameter ``t`` in the recorded model, or None."""
        entry = self._params.get(id(t))
        return entry[1] if entry is not None and entry[0]() is t else None

    def param_box(self, t: Any) -> str | None:
        """The path of the module box parameter ``t`` belongs in, or None."""
        entry = self._params.get(id(t))
        return entry[2] if entry is not None and entry[0]() is t else None


def _submodules(model: Any) -> list[tuple[str, Any]]:
    """The modules to draw boxes for: every named submodule; the model itself only when it
    has none (a single layer)."""
    if not hasattr(model, "named_modules"):
        return []
    subs = [(p, m) for p, m in model.named_modules() if p]
    return subs or [(type(model).__name__, model)]


# The latest recordings (the newest last), which build_view consults. Node numbers are
# unique in a process, so an old recording never claims a new node; the list is bounded.
_RECORDINGS: list[Recording] = []
_MAX_RECORDINGS = 16


class record:
    """Record the ops run inside, for drawing and explaining.

    Inside ``with cr.viz.record(model):`` every op keeps its inputs (so every intermediate
    value can be shown) and the ops run by each of ``model``'s modules are noted, so that
    drawings box them by layer. Several models may be given (``record(model, loss_fn)``);
    a module without children is boxed under its class name. The recording is found again
    by :func:`build_view` (and so by ``draw``, ``to_dot``, ``explain``) through the nodes'
    numbers: nothing needs passing.

    >>> import chainrule as cr
    >>> model = cr.nn.Sequential(cr.nn.Linear(2, 3), cr.nn.ReLU(), cr.nn.Linear(3, 1))
    >>> with cr.viz.record(model) as rec:
    ...     y = model(cr.ones(4, 2)).sum()
    >>> [(n.op, n.group) for n in cr.viz.build_view(y).nodes if n.kind == "op"][:5]
    [('permute', '0'), ('matmul', '0'), ('add', '0'), ('relu', '1'), ('permute', '2')]
    """

    def __init__(self, *models: Any, values: bool = True) -> None:
        self.recording = Recording()
        self.boxes = [box for m in models for box in self.recording.add_model(m)]
        self.values = values
        self._handles: list[Any] = []
        self._inputs: Any = None
        self._starts: dict[str, list[int]] = {}

    def __enter__(self) -> Recording:
        rec = self.recording
        for path, m in self.boxes:
            self._handles.append(m.register_forward_pre_hook(self._pre(path)))
            self._handles.append(m.register_forward_hook(self._post(path, type(m).__name__)))
        if self.values:
            self._inputs = _graph.record_inputs()
            self._inputs.__enter__()
        _RECORDINGS.append(rec)
        del _RECORDINGS[:-_MAX_RECORDINGS]
        _graph._backward_taps[:] = [r.tap for r in _RECORDINGS]
        rec.span = (next(_graph._counter), -1)
        return rec

    def __exit__(self, *exc: object) -> None:
        self.recording.span = (self.recording.span[0], next(_graph._counter))
        for h in self._handles:
            h.remove()
        self._handles.clear()
        if self._inputs is not None:
            self._inputs.__exit__(*exc)
            self._inputs = None

    def _pre(self, path: str) -> Any:
        starts = self._starts

        passed = self.recording.passed

        def hook(module: Any, args: Any) -> None:
            starts.setdefault(path, []).append(next(_graph._counter))
            for a in args:
                if isinstance(a, Tensor):
                    passed[id(a._data)] = weakref.ref(a._data)

        return hook

    def _post(self, path: str, type_name: str) -> Any:
        def hook(module: Any, args: Any, out: Any) -> None:
            start = self._starts[path].pop()
            self.recording.intervals.append((start, next(_graph._counter), path, type_name))

        return hook

