"""Tracing one call: what a training step does to arrays, written down in order (a tape).

Every op passes through the ``apply`` funnel (``core/graph.py``), which hands the tracer the
node, its input tensors and the output array when ``graph._tracer`` is set; that is the one
hook in the engine, and outside tracing it costs one test of a module global per op. The few
steps of a training step that work on arrays without ``apply`` are caught by swapping, for
the duration of the traced call only, the methods that do them:

- ``AccumulateGrad.accumulate`` (backward writing ``.grad``),
- ``Tensor._inplace`` (``W -= lr * W.grad`` under ``no_grad``),
- ``Optimizer.step`` / ``zero_grad`` and ``Module.zero_grad``, ``LRScheduler.step``,
- the array helpers ``_shift`` (the max that softmax and cross-entropy subtract),
  ``channel_sum`` (a convolution's bias gradient), ``_smoothed_targets`` (label smoothing),
  ``_dropout_mask`` (drawn again at each replay, from the same generator) and the
  comparisons; and the helpers that update buffers in place (batch norm's running
  statistics, ``num_batches_tracked``), replayed as Python calls,
- ``Module.__call__`` (which modules ran, for the ``training`` guards).

What cannot be captured is a *graph break*: reading a tensor's values into Python
(``.item()``, ``if t:``, ``float(t)``, ``.tolist()``, ``.numpy()``, ``np.asarray(t)``) or
printing. The traced call itself still runs eagerly to the end; the break is written down with
the user's line (or, with ``fullgraph=True``, raised there).
"""

from __future__ import annotations

import builtins
import linecache
import os
import sys
from typing import Any, Callable

from ..backend import ndarray
from ..core import autograd as _autograd
from ..core import graph
from ..core.graph import AccumulateGrad
from ..core.ops import elementwise as _elementwise
from ..core.primitives import conv as _conv
from ..core.ops import reductions as _reductions
from ..core.tensor_class import Tensor

_PKG = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class GraphBreakError(RuntimeError):
    """Raised with ``fullgraph=True`` where a compiled function cannot be captured."""


def user_line() -> str:
    """``file:line: code`` of the innermost frame outside chainrule (the user's line)."""
    f: Any = sys._getframe(1)
    while f is not None and os.path.abspath(f.f_code.co_filename).startswith(_PKG + os.sep):
        f = f.f_back
    if f is None:
        return "<unknown line>"
    code = linecache.getline(f.f_code.co_filename, f.f_lineno).strip()
    return f"{f.f_code.co_filename}:{f.f_lineno}: {code}"


class Tape:
    """The record of one traced call: entries in execution order, and what was touched.

    Entries are tuples whose first item says what happened:

    - ``("op", node, input_tensors, output_array)``: one primitive through ``apply``;
    - ``("fn", function, input_arrays, kwargs, output_array)``: an array helper;
    - ``("acc", param, cotangent_array, "copy" | "add", grad_array)``: backward into .grad;
    - ``("ufunc", ufunc, target, target_array, other_array)``: in-place update under no_grad;
    - ``("copyto", target, target_array, source_array)``: another in-place update;
    - ``("zero", param, grad_array)``: ``zero_grad(set_to_none=False)``;
    - ``("opt", optimizer, [(group_index, [(param, grad_array)...])...])``: ``step()``;
    - ``("call", object, method_name, args)``: a Python call replayed as is (scheduler steps);
    - ``("pycall", function, args)``: a helper that changes its first argument (a tensor) in
      place, called again at replay with the same arguments (nodes: their replay copies);
    - ``("alias", copy, array)`` / ``("rebind", array, result)``: around an in-place op on a
      graph tensor (inplace.py);
    - ``("vjp", node, g_array, saved_inputs, saved_output, result_arrays, next)``: a vjp that
      computes (some of) its results on arrays, outside ``apply`` (softmax, layer norm):
      replayed as one call of the vjp.
    """

    def __init__(self, fullgraph: bool) -> None:
        self.entries: list[tuple] = []
        self.keep: list[Any] = []  # every array seen stays alive, so ids stay unique
        self.breaks: list[str] = []
        self.modules: dict[int, Any] = {}
        self.optimizers: dict[int, Any] = {}
        self.fullgraph = fullgraph
        self.depth = 0  # > 0 inside a replayed Python call (scheduler, optimizer)
        self.phase = "forward"  # "backward" inside backward(), "update" after it
        self.phases: list[str] = []  # the phase of each entry
        self.produced: set[int] = set()  # ids of the arrays the entries made

    def add(self, entry: tuple) -> None:
        self.entries.append(entry)
        self.phases.append(self.phase)
        tag = entry[0]
        if tag == "op":
            self.produced.add(id(entry[3]))
        elif tag in ("fn", "acc"):
            self.produced.add(id(entry[4]))
        elif tag == "vjp":
            self.produced.update(id(a) for a in entry[5] if a is not None)

    # -- the apply hook ----------------------------------------------------------------------
    def on_apply(self, node: Any, inputs: tuple, data: ndarray) -> None:
        if self.depth:
            return
        self.add(("op", node, inputs, data))
        self.keep.append(data)
        self.keep.append(inputs)

    def graph_break(self, what: str) -> None:
        if self.depth:
            return
        where = user_line()
        msg = f"{what} at {where}"
        if self.fullgraph:
            raise GraphBreakError(
                f"cr.compile(fullgraph=True): cannot capture {msg}. A compiled function must "
                "keep tensor values inside the graph: return the tensor and read it after the "
                "call (loss.item() outside), or compile without fullgraph=True to run this "
                "function eagerly.")
        if msg not in self.breaks:
            self.breaks.append(msg)


_active: Tape | None = None


def _patch(cls: type, name: str, make: Callable[[Callable], Callable],
           saved: list) -> None:
    """Replace ``cls.name`` and every subclass's own ``name`` by ``make(original)``."""
    todo = [cls]
    while todo:
        c = todo.pop()
        todo.extend(c.__subclasses__())
        if name in c.__dict__:
            orig = c.__dict__[name]
            saved.append((c, name, orig))
            setattr(c, name, make(orig))


def _once(tape: Tape, record: Callable[..., None], orig: Callable) -> Callable:
    """``orig`` wrapped: ``record(*args)`` for the outermost call only, then ``orig`` with
    the tracer paused (its own ops belong to the recorded call)."""

    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        if tape.depth:
            return orig(self, *args, **kwargs)
        record(self, *args, **kwargs)
        tape.depth += 1
        try:
            return orig(self, *args, **kwargs)
        finally:
            tape.depth -= 1

    return wrapper


class tracing:
    """Context manager: record everything the enclosed code does into ``tape``."""

    def __init__(self, tape: Tape) -> None:
        self.tape = tape
        self.saved: list[tuple[Any, str, Any]] = []

    def __enter__(self) -> Tape:
        global _active
        from ..nn import functional as _nnf  # noqa: F401  (loaded for the patch below)
        from ..nn.module import Module
        from ..optim.lr_scheduler import LRScheduler
        from ..optim.optimizer import Optimizer

        tape, saved = self.tape, self.saved
        _active = tape
        graph._tracer = tape.on_apply
        _patch(AccumulateGrad, "accumulate", lambda o: _accumulate(tape, o), saved)
        _patch(graph.Node, "vjp", lambda o: _vjp(tape, o), saved)
        _patch(Tensor, "_inplace", lambda o: _inplace(tape, o), saved)
        _patch(Optimizer, "step", lambda o: _once(tape, _rec_step(tape), o), saved)
        _patch(Optimizer, "zero_grad", lambda o: _zero_grad(tape, o), saved)
        _patch(Module, "zero_grad", lambda o: _zero_grad(tape, o), saved)
        _patch(LRScheduler, "step", lambda o: _once(tape, _rec_call(tape, "step"), o), saved)
        _patch(Module, "__call__", lambda o: _module_call(tape, o), saved)
        for name, what in (("item", ".item()"), ("tolist", ".tolist()"),
                           ("numpy", ".numpy()"), ("__array__", "NumPy on tensor data"),
                           ("__bool__", "a Python condition on a tensor's value"),
                           ("__float__", "float() of a tensor"), ("__int__", "int() of a tensor"),
                           ("__index__", "a tensor used as a Python index")):
            _patch(Tensor, name, _breaker(tape, what), saved)
        saved.append((_autograd, "run_backward", _autograd.run_backward))
        _autograd.run_backward = _backward(tape, _autograd.run_backward)
        saved.append((builtins, "print", builtins.print))
        builtins.print = _printing(tape, builtins.print)
        shift = _array_fn(tape, _reductions.__dict__["_shift"])
        mod: Any
        for mod in (_reductions, sys.modules["chainrule.core.functional"]):
            saved.append((mod, "_shift", mod._shift))
            mod._shift = shift
        _patch_fn(_conv, "channel_sum", lambda f: _array_fn(tape, f), saved)
        nnf = sys.modules["chainrule.nn.functional"]
        for name in ("_smoothed_targets", "_dropout_mask"):
            _patch_fn(nnf, name, lambda f: _array_fn(tape, f), saved)
        for name in ("_update_running", "_count_batch"):  # in-place updates of buffers
            _patch_fn(nnf, name, lambda f: _py_call(tape, f), saved)
        saved.append((_elementwise, "_compare", _elementwise._compare))
        _elementwise._compare = _comparison(tape, _elementwise._compare)
        return tape

    def __exit__(self, *exc: object) -> None:
        global _active
        graph._tracer = None
        _active = None
        for owner, name, orig in reversed(self.saved):
            setattr(owner, name, orig)
        self.saved.clear()


def _patch_fn(owner: Any, name: str, wrap: Callable[[Callable], Callable],
              saved: list[tuple[Any, str, Any]]) -> None:
    """Replace the function ``owner.name`` by ``wrap(it)`` in ``owner``, in the module that
    defines it and in every module that imported it by name (nn.functional re-exports its
    helpers from nn/functional_*.py; batchnorm.py imports conv's channel_sum), so every
    caller's global lookup finds the wrapper."""
    orig = getattr(owner, name)
    new = wrap(orig)
    for mod in _chainrule_modules():
        if getattr(mod, "__dict__", {}).get(name) is orig:
            saved.append((mod, name, orig))
            setattr(mod, name, new)


_MODULES: tuple[int, list[Any]] = (-1, [])


def _chainrule_modules() -> list[Any]:
    """chainrule's loaded modules, listed again only when a module was imported since (a
    walk over every loaded module, torch's included, was half of the tracing time)."""
    global _MODULES
    if _MODULES[0] != len(sys.modules):
        mods = [m for m in list(sys.modules.values())
                if getattr(m, "__name__", "").startswith("chainrule.")]
        _MODULES = (len(sys.modules), mods)
    return _MODULES[1]


def _backward(tape: Tape, orig: Callable) -> Callable:
    def run_backward(*args: Any, **kwargs: Any) -> Any:
        tape.phase = "backward"
        try:
            return orig(*args, **kwargs)
        finally:
            tape.phase = "update"

    return run_backward


def _vjp(tape: Tape, orig: Callable) -> Callable:
    """A vjp whose results were not all made by recorded ops (a fast path on arrays) is
    recorded as one entry, in place of what it recorded."""

    def vjp(self: Any, g: Tensor) -> Any:
        if tape.depth or graph._grad_enabled:
            return orig(self, g)
        n = len(tape.entries)
        res = orig(self, g)
        outs = tuple(None if r is None else r._data for r in res)
        known = tape.produced
        if all(a is None or a is g._data or id(a) in known for a in outs):
            return res
        del tape.entries[n:]
        del tape.phases[n:]
        nxt = tuple(None if m is None else (m.shape, m.dtype) for m in self.next)
        saved = self.out[0] if self.out is not None else None
        tape.add(("vjp", self, g._data, self.inputs, saved, outs, nxt))
        tape.keep.extend((g._data, self.inputs, saved, outs))
        return res

    return vjp


def _accumulate(tape: Tape, orig: Callable) -> Callable:
    def accumulate(self: AccumulateGrad, g: Tensor, create_graph: bool) -> None:
        t = self.variable()
        if t is None or tape.depth:
            return orig(self, g, create_graph)
        if create_graph:
            tape.graph_break("backward(create_graph=True)")
        had = t.grad
        orig(self, g, create_graph)
        grad: Any = t.grad
        mode = "copy" if had is None else "add"
        if had is not None and grad is not had:
            tape.graph_break("a .grad that cannot be updated in place")
        tape.add(("acc", t, g._data, mode, grad._data))
        tape.keep.extend((g._data, grad._data))

    return accumulate


def _inplace(tape: Tape, orig: Callable) -> Callable:
    def inplace(self: Tensor, op: str, fn: Any, *others: Any, ufunc: Any = None) -> Tensor:
        if tape.depth:
            return orig(self, op, fn, *others, ufunc=ufunc)
        before = self._data
        tracked = graph._grad_enabled and (
            self._node is not None or any(isinstance(o, Tensor) and o._node is not None
                                          for o in others))
        if tracked:  # on a graph tensor: see inplace.py
            from .inplace import record_tracked

            return record_tracked(tape, orig, self, op, fn, others, ufunc)
        n = len(tape.entries)
        out = orig(self, op, fn, *others, ufunc=ufunc)
        if self._data is not before:
            tape.graph_break(f"the in-place op {op} replacing a tensor's memory")
        elif len(tape.entries) == n and ufunc is not None:
            # the fast path: ufunc(self, other, out=self), no op recorded
            from ..core.functional import _as_tensor

            arr = _as_tensor(others[0], self)._data  # what the fast path used
            tape.add(("ufunc", ufunc, self, before, arr))
            tape.keep.append(arr)
        elif len(tape.entries) > n and tape.entries[-1][0] == "op":
            tape.add(("copyto", self, before, tape.entries[-1][3]))
        else:
            tape.graph_break(f"the in-place op {op}")
        return out

    return inplace


def _rec_step(tape: Tape) -> Callable:
    def record(opt: Any, closure: Any = None) -> None:
        if closure is not None:
            tape.graph_break("optimizer.step(closure)")
        tape.optimizers[id(opt)] = opt
        groups = [(i, [(p, p.grad._data) for p in g["params"] if p.grad is not None])
                  for i, g in enumerate(opt.param_groups)]
        tape.add(("opt", opt, groups))

    return record


def _rec_call(tape: Tape, name: str) -> Callable:
    def record(obj: Any, *args: Any, **kwargs: Any) -> None:
        if kwargs or any(isinstance(a, Tensor) for a in args):
            tape.graph_break(f"{type(obj).__name__}.{name} with tensor arguments")
        tape.add(("call", obj, name, args))

    return record


def _zero_grad(tape: Tape, orig: Callable) -> Callable:
    def zero_grad(self: Any, set_to_none: bool = True) -> None:
        if tape.depth or set_to_none:
            return orig(self, set_to_none)
        params = ([p for g in self.param_groups for p in g["params"]]
                  if hasattr(self, "param_groups") else list(self.parameters()))
        before = [(p, p.grad) for p in params if p.grad is not None]
        tape.depth += 1
        try:
            orig(self, set_to_none)
        finally:
            tape.depth -= 1
        for p, g in before:
            if p.grad is not g:
                tape.graph_break("zero_grad replacing a read-only .grad")
            tape.add(("zero", p, g._data))

    return zero_grad


def _module_call(tape: Tape, orig: Callable) -> Callable:
    def call(self: Any, *args: Any, **kwargs: Any) -> Any:
        tape.modules[id(self)] = self
        return orig(self, *args, **kwargs)

    return call


def _breaker(tape: Tape, what: str) -> Callable[[Callable], Callable]:
    return lambda orig: _breaking(tape, what, orig)


def _breaking(tape: Tape, what: str, orig: Callable) -> Callable:
    def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        tape.graph_break(what)
        return orig(self, *args, **kwargs)

    return method


def _printing(tape: Tape, orig: Callable) -> Callable:
    def print_(*args: Any, **kwargs: Any) -> None:
        tape.graph_break("print()")
        orig(*args, **kwargs)

    return print_


def _array_fn(tape: Tape, fn: Callable) -> Callable:
    """An array helper of the engine (``_shift(x, axis)``, ``channel_sum(a)``): recorded with
    its array arguments as inputs and the others bound (a function per distinct binding)."""

    def wrapper(*args: Any) -> ndarray:
        out = fn(*args)
        if not tape.depth:
            arrays = tuple(a for a in args if isinstance(a, ndarray))
            rest = tuple((i, a) for i, a in enumerate(args) if not isinstance(a, ndarray))
            tape.add(("fn", _bound(fn, rest, len(args)), arrays, {}, out))
            tape.keep.extend((*arrays, out))
        return out

    return wrapper


def _bound(fn: Callable, rest: tuple, n: int) -> Callable:
    """``fn`` with its non-array arguments fixed: a function of the array arguments only."""
    try:
        key = (fn, rest, n)
        f = _BOUND.get(key)
    except TypeError:  # an unhashable argument: a fresh function (compared by identity)
        key, f = None, None
    if f is None:
        fixed = dict(rest)

        def f(*arrays: ndarray) -> ndarray:
            it = iter(arrays)
            return fn(*[fixed[i] if i in fixed else next(it) for i in range(n)])

        f.__dict__.update(base=fn, fixed=fixed)  # what kernels.py reads
        extra = ", ".join(str(v) for _, v in rest)
        f.__name__ = f"{fn.__name__}({extra})" if extra else fn.__name__
        if key is not None:
            _BOUND[key] = f
    return f


_BOUND: dict[Any, Callable] = {}


def _py_call(tape: Tape, fn: Callable) -> Callable:
    def wrapper(*args: Any) -> Any:
        if not tape.depth:
            tape.add(("pycall", fn, args))
            tape.keep.append(args)
        return fn(*args)

    return wrapper


def _comparison(tape: Tape, orig: Callable) -> Callable:
    """Comparisons (eq, gt, logical_and, ...): computed on arrays, recorded as such."""

    def compare(a: Any, b: Any, fn: Any) -> Tensor:
        a, b = _elementwise._pair(a, b)
        out = orig(a, b, fn)
        if not tape.depth:
            tape.add(("fn", fn, (a._data, b._data), {}, out._data))
            tape.keep.extend((a._data, b._data, out._data))
        return out

    return compare
