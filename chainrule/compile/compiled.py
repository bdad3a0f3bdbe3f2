"""``cr.compile``: PyTorch's entry point, over chainrule's trace-and-replay.

A compiled function keeps a few *variants*, one per guard key: the grad mode, each tensor
argument's shape, dtype and requires_grad (other arguments by value), and the ``training``
flag of every module it called. A new key runs the function eagerly twice while tracing it
(see program.py for why twice), then builds the program; later calls with that key replay
it. Other guards are checked at each replay: parameters and optimizer state whose arrays
were replaced from outside are copied back into the flat buffers (so ``load_state_dict`` and
``p.data = ...`` are seen; in-place changes such as ``p.data.copy_`` land in the flat
buffers directly), and a change the program cannot absorb (a new shape, an optimizer group
switching to momentum) retraces.
"""

from __future__ import annotations

import warnings
from typing import Any, Callable

from ..core import graph
from ..core.tensor_class import Tensor
from .fast import fuse
from .optim import structure
from .plan import Plan, ReplayError
from .replay import Guard
from .program import Builder, Program, Uncapturable, remove_dead_code, remove_recomputation
from .trace import Tape, tracing

CACHE_SIZE_LIMIT = 8  # torch._dynamo.config.cache_size_limit's default
_MODES = (None, "default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs")
_BACKENDS = (None, "inductor", "chainrule", "eager")


def flatten(x: Any) -> tuple[list, Any]:
    """The leaves of nested tuples, lists and dicts, and a spec to rebuild them."""
    if isinstance(x, (tuple, list)):
        leaves, specs = [], []
        for item in x:
            lv, sp = flatten(item)
            leaves.extend(lv)
            specs.append((len(lv), sp))
        return leaves, (type(x), specs)
    if isinstance(x, dict):
        lv, sp = flatten(list(x.values()))
        return lv, (dict, list(x.keys()), sp)
    return [x], None


def unflatten(leaves: list, spec: Any) -> Any:
    if spec is None:
        return leaves[0]
    if spec[0] is dict:
        return dict(zip(spec[1], unflatten(leaves, spec[2])))
    out, i = [], 0
    for n, sp in spec[1]:
        out.append(unflatten(leaves[i:i + n], sp))
        i += n
    return spec[0](out) if spec[0] in (tuple, list) else spec[0](*out)


def _leaf_key(x: Any) -> Any:
    if isinstance(x, Tensor):
        return ("tensor", x._data.shape, x._data.dtype, x._node is not None)
    try:
        hash(x)
        return ("value", type(x), x)
    except TypeError:
        return ("object", id(x))


class Variant:
    """One specialisation: its first tape, then its program and plan (or why it is eager)."""

    def __init__(self, key: Any) -> None:
        self.key = key
        self.first: tuple | None = None  # (tape, argument leaves, output leaves)
        self.plan: Plan | None = None
        self.eager: str | None = None  # why this variant runs eagerly
        self.exts: list[tuple[Tensor, Any]] = []
        self.structure: list[tuple[Any, tuple]] = []
        self.out_spec: Any = None
        self.dropped = (0, 0)  # (dead instructions removed, recomputations merged)
        self.arg_names: list[str] = []
        self.guard: Guard | None = None  # the cheap check of an unchanged call (replay.py)

    def check(self) -> str | None:
        """None if the plan can run now (after resyncing replaced arrays), else why not."""
        for t, arr in self.exts:
            if t._data is not arr:
                return f"a tensor read from outside (shape {tuple(t.shape)}) was replaced"
        for opt, st in self.structure:
            if structure(opt) != st:
                return f"the parameter groups of {type(opt).__name__} changed"
        return self.plan.adopt()  # type: ignore[union-attr]


class CompiledFunction:
    """What ``cr.compile(fn)`` returns: call it as ``fn``; see :func:`compile`."""

    def __init__(self, fn: Callable, fullgraph: bool, backend: Any, cache_size_limit: int,
                 disable: bool) -> None:
        self._fn = fn
        self._fullgraph = fullgraph
        self._capture = not disable and backend != "eager"
        self._limit = cache_size_limit
        self._variants: dict[Any, Variant] = {}
        self._modules: list[Any] = []
        self._warned: set[str] = set()
        self._last: Guard | None = None
        self.__name__ = getattr(fn, "__name__", type(fn).__name__)
        self.__doc__ = getattr(fn, "__doc__", None)
        self.__wrapped__ = fn

    def __repr__(self) -> str:
        return f"<compiled {self.__name__}: {len(self._variants)} variant(s)>"

    # -- calling ---------------------------------------------------------------------------------
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        last = self._last  # the variant replayed last, if nothing it relies on has moved
        if last is not None and not kwargs and graph._tracer is None and last.holds(args):
            try:
                return unflatten(last.var.plan.run_again(args), last.var.out_spec)
            except ReplayError as e:
                self._last = None
                if not e.harmless:
                    raise
                return self._fn(*args, **kwargs)
        self._last = None
        if not self._capture or graph._tracer is not None:  # nested: the outer trace sees all
            return self._fn(*args, **kwargs)
        if not kwargs and all(a.__class__ is Tensor for a in args):
            leaves = list(args)  # what flatten gives, without its recursion
        else:
            leaves, _ = flatten((args, kwargs))
        key = (graph._grad_enabled, tuple(map(_leaf_key, leaves)),
               tuple([m.training for m in self._modules]))
        var = self._variants.get(key)
        if var is None:
            if len(self._variants) >= self._limit:
                self._warn_limit(key)
                return self._fn(*args, **kwargs)
            var = self._variants[key] = Variant(key)
        if var.eager is not None:
            return self._fn(*args, **kwargs)
        if var.plan is not None:
            why = var.check()
            if why is None:
                try:
                    out = unflatten(var.plan.run(leaves), var.out_spec)
                    if var.guard is None and all(k[0] == "tensor" for k in key[1]):
                        var.guard = Guard(var, self._modules)
                    self._last = var.guard
                    return out
                except ReplayError as e:
                    if not e.harmless:
                        raise
                    # bad data (a label out of range): eager mode says what is wrong
                    return self._fn(*args, **kwargs)
            var.plan, var.first, var.guard = None, None, None  # retrace
        return self._trace(var, args, kwargs, leaves)

    def _trace(self, var: Variant, args: tuple, kwargs: dict, leaves: list) -> Any:
        tape = Tape(self._fullgraph)
        before = _versions(var.first[0]) if var.first is not None else {}
        with tracing(tape):
            out = self._fn(*args, **kwargs)
        new = [m for m in tape.modules.values() if all(m is not k for k in self._modules)]
        if new:  # the key now covers these modules' training flags too
            self._modules.extend(new)
            del self._variants[var.key]
            var.key = (var.key[0], var.key[1], tuple(m.training for m in self._modules))
            self._variants[var.key] = var
        if tape.breaks:
            self._go_eager(var, "graph break: " + "; ".join(tape.breaks))
            return out
        out_leaves, out_spec = flatten(out)
        if var.first is None:
            var.first = (tape, leaves, out_leaves)
            return out
        try:
            self._build(var, tape, leaves, out_leaves, before)
            var.out_spec = out_spec
        except Uncapturable as e:
            self._go_eager(var, str(e))
        var.first = None
        return out

    def _build(self, var: Variant, tape: Tape, leaves: list, out_leaves: list,
               before: dict) -> None:
        tape_a, leaves_a, out_a = var.first  # type: ignore[misc]
        b = Builder(tape_a, tape, leaves_a, leaves)
        prog = b.build()
        b.finish(out_a, out_leaves, graph._grad_enabled)
        _check_untraced_writes(prog, b.ids, before)
        dead = remove_dead_code(prog)
        merged = remove_recomputation(prog)
        dead += remove_dead_code(prog)
        fuse(prog)
        plan = Plan(prog, next((v.plan for v in self._variants.values()
                                if v.plan is not None), None))
        why = plan.adopt()
        if why is not None:
            raise Uncapturable(why)
        var.plan = plan
        var.dropped = (dead, merged)
        var.arg_names = self._arg_names(len(leaves))
        var.exts = [(v.ref, v.ref._data) for v in prog.values if v.kind == "ext"]
        var.structure = [(opt, structure(opt)) for opt in prog.optimizers]

    def _arg_names(self, n: int) -> list[str]:
        import inspect

        try:
            names = [p.name for p in inspect.signature(self._fn).parameters.values()]
        except (TypeError, ValueError):
            names = []
        return [names[i] if i < len(names) else f"input{i}" for i in range(n)]

    # -- messages --------------------------------------------------------------------------------
    def _go_eager(self, var: Variant, why: str) -> None:
        var.eager = why
        var.first = None
        msg = f"cr.compile: {self.__name__} runs eagerly: {why}"
        if msg not in self._warned:
            self._warned.add(msg)
            warnings.warn(msg, UserWarning, stacklevel=4)

    def _warn_limit(self, key: Any) -> None:
        last = list(self._variants)[-1]
        what = _key_difference(last, key)
        msg = (f"cr.compile: {self.__name__} was traced for {self._limit} variants "
               f"(cache_size_limit); what keeps changing: {what}. New variants run eagerly; "
               "keep shapes, dtypes and module modes fixed between calls.")
        if "limit" not in self._warned:
            self._warned.add("limit")
            warnings.warn(msg, UserWarning, stacklevel=3)

    # -- looking at the program -----------------------------------------------------------------
    def programs(self) -> list[Plan]:
        """The plans of the variants captured so far (most recent last)."""
        return [v.plan for v in self._variants.values() if v.plan is not None]

    def print_program(self, file: Any = None) -> None:
        """Print the captured training step (the first variant captured): inputs, the flat
        parameter layout, the instructions of the forward, backward and update phases with
        their buffers, and the buffer plan."""
        from .show import format_program

        plans = self.programs()
        if not plans:
            eager = [v.eager for v in self._variants.values() if v.eager]
            why = f": it runs eagerly ({eager[0]})" if eager else \
                ": call it twice first (the first two calls trace)"
            print(f"{self.__name__}: nothing captured yet{why}", file=file)
            return
        var = [v for v in self._variants.values() if v.plan is not None][0]
        assert var.plan is not None
        print(format_program(var.plan, self.__name__, var.arg_names, var.dropped), file=file)

    def graph_view(self) -> Any:
        """The first captured program as a ``cr.viz`` GraphView (what ``cr.viz.draw`` of
        a compiled function draws): forward, backward and update boxes."""
        from .show import graph_view

        var = [v for v in self._variants.values() if v.plan is not None]
        if not var:
            raise RuntimeError(f"{self.__name__}: nothing captured yet; call it twice first "
                               "(the first two calls trace)")
        plan = var[0].plan
        assert plan is not None
        return graph_view(plan, var[0].arg_names)


def _versions(tape: Tape) -> dict[int, tuple[Any, str, int]]:
    """Version counters of every module parameter and buffer the tape touched."""
    out: dict[int, tuple[Any, str, int]] = {}
    for m in tape.modules.values():
        for name, t in list(m.named_parameters()) + list(m.named_buffers()):
            if t is not None:
                out[id(t)] = (t, f"{type(m).__name__}.{name}", t._vc[0])
    return out


def _check_untraced_writes(prog: Program, ids: dict, before: dict) -> None:
    written: set[int] = set(prog.grads.values())
    for ins in prog.instrs:
        if ins.op in ("ufunc", "copyto", "pycall"):
            written.update(ins.ins[:1] if ins.op != "pycall" else ins.ins)
        elif ins.op == "opt":
            written.update(ins.ins)
    for t, name, v in before.values():
        if t._vc[0] != v and ids.get(id(t._data)) not in written:
            raise Uncapturable(
                f"{name} (shape {tuple(t.shape)}) is changed in place outside the graph (as "
                "batch norm's running statistics in training mode); such updates cannot be "
                "replayed")


def _key_difference(a: Any, b: Any) -> str:
    if a[0] != b[0]:
        return f"grad mode {a[0]} -> {b[0]}"
    if len(a[1]) != len(b[1]):
        return f"the number of arguments ({len(a[1])} -> {len(b[1])})"
    for i, (x, y) in enumerate(zip(a[1], b[1])):
        if x != y:
            if x[0] == y[0] == "tensor":
                parts = [f"{n} {p} -> {q}" for n, p, q in
                         zip(("shape", "dtype", "requires_grad"), x[1:], y[1:]) if p != q]
                return f"argument {i}: " + ", ".join(parts)
            return f"argument {i}: {x[-1]!r} -> {y[-1]!r}"
    return "the training/eval mode of a module"
