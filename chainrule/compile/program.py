"""The static program of a training step, built from two traced calls.

Every array the step touched becomes a *value* of one kind:

- ``input``: a tensor argument of the function (copied into its buffer at each call);
- ``param``: a leaf that requires grad (the same tensor on both calls);
- ``grad``: a parameter's ``.grad``; ``state``: an optimizer's per-parameter state;
- ``ext``: another tensor read from outside (a closure's data, a module's buffer), read in
  place; ``const``: an array made during the call with the same values both times;
- ``tmp``: the output of an instruction.

Two traces, not one: whatever differs between them is not a function of the inputs'
shapes alone. A constant with other values on the second call (a dropout mask, the max that
softmax subtracts computed outside the graph, an index drawn at random) or a different
sequence of ops makes the function uncapturable, and it runs eagerly, saying why.
"""

from __future__ import annotations

import copy
from typing import Any

from ..backend import ndarray, xp
from ..core.graph import AccumulateGrad, Node
from ..core.tensor_class import Tensor


class Uncapturable(Exception):
    """The traces cannot be turned into a static program; the message says why."""


class Value:
    """One array of the program: its kind, what it refers to, and the eager array seen."""

    __slots__ = ("kind", "ref", "sample", "name")

    def __init__(self, kind: str, ref: Any, sample: ndarray, name: str = "") -> None:
        self.kind, self.ref, self.sample, self.name = kind, ref, sample, name

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.sample.shape)

    @property
    def dtype(self) -> Any:
        return self.sample.dtype


class Instr:
    """One step of the program: ``op`` names what it does, ``ins``/``out`` are value ids."""

    __slots__ = ("op", "ins", "out", "arg", "phase")

    def __init__(self, op: str, ins: tuple[int, ...], out: int | None, arg: Any = None) -> None:
        self.op, self.ins, self.out, self.arg = op, ins, out, arg
        self.phase = "forward"  # or "backward", "update": where the traced call ran it

    @property
    def side_effect(self) -> bool:
        return self.op not in ("op", "fn", "vjp")

    @property
    def results(self) -> tuple[int, ...]:
        """Every value this instruction makes (a vjp makes one per input)."""
        if self.op == "vjp":
            return tuple(v for v in self.arg[4] if v is not None)
        return () if self.out is None or self.side_effect else (self.out,)


class Program:
    """Values and instructions of a captured call, and what its guards need."""

    def __init__(self) -> None:
        self.values: list[Value] = []
        self.instrs: list[Instr] = []
        self.inputs: list[int | None] = []  # value id of each argument leaf (None: not a tensor)
        self.outputs: list[Any] = []  # per output leaf: ("value", vid) or ("py", object)
        self.params: dict[int, int] = {}  # id(param) -> value id
        self.grads: dict[int, int] = {}  # id(param) -> value id of its .grad
        self.grad_start: dict[int, bool] = {}  # .grad bound (not None) when the call starts
        self.grad_end: dict[int, bool] = {}  # .grad bound when it ends
        self.modules: list[Any] = []
        self.optimizers: list[Any] = []

    def add(self, kind: str, ref: Any, sample: ndarray, name: str = "") -> int:
        self.values.append(Value(kind, ref, sample, name))
        return len(self.values) - 1

    def tensor_of(self, vid: int) -> Tensor | None:
        v = self.values[vid]
        return v.ref if v.kind in ("param", "ext") else None


def _same(a: Any, b: Any) -> bool:
    """Equal values, arrays compared by shape, dtype and content (nan equal to nan)."""
    if isinstance(a, ndarray) or isinstance(b, ndarray):
        if not (isinstance(a, ndarray) and isinstance(b, ndarray)):
            return False
        if a is b:
            return True
        return (a.shape == b.shape and a.dtype == b.dtype
                and bool(xp.array_equal(a, b, equal_nan=a.dtype.kind in "fc")))
    if isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)):
        return len(a) == len(b) and type(a) is type(b) and all(map(_same, a, b))
    try:
        return bool(a == b)
    except Exception:  # noqa: BLE001  (incomparable objects: differ)
        return False


class Builder:
    """Walks two tapes of the same call in lockstep and builds the :class:`Program`."""

    def __init__(self, tape_a: Any, tape_b: Any, args_a: list, args_b: list) -> None:
        self.a, self.b = tape_a, tape_b
        self.p = Program()
        self.ids: dict[int, int] = {}
        self.sides: dict[int, tuple[int, str]] = {}  # id(array) -> (producer's out, slot)
        self.copies: dict[int, Any] = {}  # id(traced node) -> its replay copy
        for i, xb in enumerate(args_b):
            if isinstance(xb, Tensor):
                if xb._node is not None:
                    raise Uncapturable(
                        f"argument {i} requires grad; gradients with respect to a compiled "
                        "function's inputs are not captured (only parameters' .grad)")
                if id(xb._data) in self.ids:
                    self.p.inputs.append(self.ids[id(xb._data)])
                    continue
                vid = self.p.add("input", i, xb._data, f"input{i}")
                self.ids[id(xb._data)] = vid
                self.p.inputs.append(vid)
            else:
                self.p.inputs.append(None)

    # -- classifying arrays ------------------------------------------------------------------
    def value(self, xb: ndarray, tb: Any, xa: Any, ta: Any, where: str) -> int:
        vid = self.ids.get(id(xb))
        if vid is not None:
            return vid
        if isinstance(tb, Tensor) and tb.requires_grad and tb._node is not None and \
                tb._node.__class__ is AccumulateGrad:
            if ta is not tb:
                raise Uncapturable(f"{where}: a new leaf tensor that requires grad is made on "
                                   "every call; create parameters outside the function")
            vid = self.p.add("param", tb, xb)
            self.p.params[id(tb)] = vid
        elif isinstance(tb, Tensor) and ta is tb and tb._data is xb and _frozen(xb):
            vid = self.p.add("const", xb, xb)  # a cached Python number (read-only, 0-d)
        elif isinstance(tb, Tensor) and ta is tb and tb._data is xb:
            vid = self.p.add("ext", tb, xb)
        elif self._view_of(xb) is not None:
            vid = self.p.add("view", self._view_of(xb), xb)  # labels.reshape(-1)
        elif xa is xb:
            vid = self.p.add("extarr", xb, xb)
        elif _same(xa, xb):
            vid = self.p.add("const", xb.copy(), xb)
        else:
            raise Uncapturable(
                f"{where} is computed outside the graph and has other values on the second "
                "call (random numbers such as a dropout mask, or NumPy code on tensor data); "
                "such values cannot be replayed")
        self.ids[id(xb)] = vid
        return vid

    def _view_of(self, xb: ndarray) -> int | None:
        """The value whose whole array ``xb`` is a reshaped view of, if any."""
        if xb.base is None:
            return None
        vid = self.ids.get(id(xb.base))
        if vid is None:
            return None
        base = self.p.values[vid].sample
        if base.size == xb.size and base.flags.c_contiguous and xb.flags.c_contiguous:
            return vid
        return None

    def param_spec(self, xb: Any, xa: Any, where: str) -> Any:
        """An op's parameter (axis, index, ...) as a spec that plan.py turns into arrays."""
        if isinstance(xb, tuple):
            if not (isinstance(xa, tuple) and len(xa) == len(xb)):
                raise Uncapturable(f"{where} changes between calls")
            return ("tuple", tuple(self.param_spec(b, a, where) for b, a in zip(xb, xa)))
        if isinstance(xb, ndarray):
            vid = self.ids.get(id(xb))
            if vid is not None:
                return ("value", vid, None)
            for base_id in (id(xb.base),) if xb.base is not None else ():
                vid = self.ids.get(base_id)
                if vid is not None and self.p.values[vid].sample.size == xb.size and \
                        self.p.values[vid].sample.flags.c_contiguous and xb.flags.c_contiguous:
                    return ("value", vid, xb.shape)  # a reshaped view of a value (labels)
            if xa is xb:
                return ("py", xb)
            if _same(xa, xb):
                return ("py", xb.copy())
            raise Uncapturable(f"{where} (an index or parameter array) has other values on "
                               "the second call and depends on no input")
        if not _same(xa, xb):
            raise Uncapturable(f"{where} changes between calls ({xa!r} then {xb!r})")
        return ("py", xb)

    def grad_value(self, p: Tensor, arr: ndarray, fresh: bool) -> int:
        vid = self.p.grads.get(id(p))
        if vid is None:
            vid = self.p.add("grad", p, arr)
            self.p.grads[id(p)] = vid
            self.p.grad_start[id(p)] = not fresh
        self.ids[id(arr)] = vid
        return vid

    def param_value(self, p: Tensor, where: str) -> int:
        vid = self.p.params.get(id(p))
        if vid is None:
            vid = self.value(p._data, p, p._data, p, where)
        return vid

    # -- the walk ----------------------------------------------------------------------------
    def build(self) -> Program:
        ea, eb = self.a.entries, self.b.entries
        if len(ea) != len(eb):
            raise Uncapturable(f"the first two calls ran {len(ea)} and {len(eb)} steps: the "
                               "function's control flow changes between calls")
        for k, (a, b) in enumerate(zip(ea, eb)):
            if a[0] != b[0] or (a[0] == "op" and type(a[1]) is not type(b[1])):
                raise Uncapturable(f"step {k} differs between the first two calls ("
                                   f"{_describe(a)} then {_describe(b)}): the function's "
                                   "control flow changes between calls")
            n = len(self.p.instrs)
            getattr(self, "_" + b[0])(k, a, b)
            for ins in self.p.instrs[n:]:
                ins.phase = self.b.phases[k]
        return self.p

    def _op(self, k: int, a: tuple, b: tuple) -> None:
        node, ins_b, out = b[1], b[2], b[3]
        ins_a = a[2]
        name = node.name
        if len(ins_a) != len(ins_b):
            raise Uncapturable(f"op {k} ({name}) has a different number of inputs per call")
        ins = tuple(self.value(tb._data, tb, ta._data, ta, f"input {j} of {name} (op {k})")
                    for j, (tb, ta) in enumerate(zip(ins_b, ins_a)))
        pa, pb = Node.params(a[1]), Node.params(node)  # with private state (_cols, _index)
        spec: dict[str, Any] = {}
        outgoing = []
        for s in pb:
            if not s.startswith("_"):
                spec[s] = self.param_spec(pb[s], pa.get(s), f"parameter {s} of {name} (op {k})")
            elif isinstance(pb[s], ndarray):
                side = self.sides.get(id(pb[s]))
                if side is not None:  # state another op's forward left for this one
                    spec[s] = ("side",) + side
                else:  # state this op's forward leaves: cleared before each replayed call
                    outgoing.append(s)
                    spec[s] = ("reset",)
        known = self.ids.get(id(out))
        if known is not None:  # the forward handed back an array we know (an identity)
            return
        nc = _replay_node(node)
        self.copies[id(node)] = nc
        if all(self.p.values[i].kind in ("const", "extarr") for i in ins) and not outgoing and \
                all(map(_constant_spec, spec.values())):
            self.ids[id(out)] = self.p.add("const", out.copy(), out)  # folded
            return
        vid = self.p.add("tmp", None, out)
        self.ids[id(out)] = vid
        self.p.instrs.append(Instr("op", ins, vid, (nc, spec)))
        for slot in outgoing:  # private state for a later op (a max pool's winning taps)
            self.sides[id(pb[slot])] = (vid, slot)

    def _fn(self, k: int, a: tuple, b: tuple) -> None:
        fn, ins_b, kw, out = b[1], b[2], b[3], b[4]
        if fn is not a[1] or not _same(kw, a[3]) or len(ins_b) != len(a[2]):
            raise Uncapturable(f"step {k} ({getattr(fn, '__name__', fn)}) changes between calls")
        name = getattr(fn, "__name__", "helper")
        try:
            ins = tuple(self.value(xb, None, xa, None, f"input {j} of {name} (step {k})")
                        for j, (xb, xa) in enumerate(zip(ins_b, a[2])))
        except Uncapturable as e:  # harmless unless something uses the result
            self.ids[id(out)] = self.p.add("poison", str(e), out)
            return
        vid = self.p.add("tmp", None, out)
        self.ids[id(out)] = vid
        self.p.instrs.append(Instr("fn", ins, vid, (fn, kw)))

    def _acc(self, k: int, a: tuple, b: tuple) -> None:
        p, g, mode, garr = b[1], b[2], b[3], b[4]
        if a[1] is not p or a[3] != mode:
            raise Uncapturable(f"backward step {k} accumulates into another tensor's .grad on "
                               "the second call")
        pv = self.param_value(p, f"the parameter of backward step {k}")
        src = self.value(g, None, a[2], None, f"the gradient of backward step {k}")
        fresh = mode == "copy" and id(p) not in self.p.grads
        gv = self.grad_value(p, garr, fresh)
        self.p.instrs.append(Instr("acc", (src,), gv, (mode, pv)))

    def _written(self, k: int, tb: Tensor, arr: ndarray, ta: Any, arr_a: Any) -> int:
        vid = self.value(arr, tb, arr_a, ta, f"the tensor changed in place at step {k}")
        kind = self.p.values[vid].kind
        if kind in ("input", "const", "extarr"):
            raise Uncapturable(f"step {k} changes an argument or a constant in place")
        return vid

    def _ufunc(self, k: int, a: tuple, b: tuple) -> None:
        uf, tb, arr, other = b[1], b[2], b[3], b[4]
        if uf is not a[1]:
            raise Uncapturable(f"step {k}: a different in-place op on the second call")
        tv = self._written(k, tb, arr, a[2], a[3])
        ov = self.value(other, None, a[4], None, f"the operand of in-place step {k}")
        self.p.instrs.append(Instr("ufunc", (tv, ov), tv, uf))

    def _copyto(self, k: int, a: tuple, b: tuple) -> None:
        tv = self._written(k, b[1], b[2], a[1], a[2])
        sv = self.value(b[3], None, a[3], None, f"the source of in-place step {k}")
        self.p.instrs.append(Instr("copyto", (tv, sv), tv))

    def _zero(self, k: int, a: tuple, b: tuple) -> None:
        p = b[1]
        self.param_value(p, f"zero_grad at step {k}")
        gv = self.grads_or_start(p, b[2])
        self.p.instrs.append(Instr("zero", (gv,), gv))

    def grads_or_start(self, p: Tensor, arr: ndarray) -> int:
        vid = self.ids.get(id(arr))
        if vid is not None and self.p.values[vid].kind == "grad":
            return vid
        return self.grad_value(p, arr, fresh=False)

    def _opt(self, k: int, a: tuple, b: tuple) -> None:
        opt, groups = b[1], b[2]
        ga = [(i, [p for p, _ in ps]) for i, ps in a[2]]
        if a[1] is not opt or ga != [(i, [p for p, _ in ps]) for i, ps in groups]:
            raise Uncapturable(f"optimizer step {k} updates other parameters on the second "
                               "call")
        if opt not in self.p.optimizers:
            self.p.optimizers.append(opt)
        spec = []
        for gi, ps in groups:
            entries = []
            for p, garr in ps:
                pv = self.param_value(p, f"a parameter of optimizer step {k}")
                gv = self.grads_or_start(p, garr)
                entries.append((p, pv, gv))
            spec.append((gi, entries))
        pvs = tuple(pv for _, es in spec for _, pv, _ in es)
        gvs = tuple(gv for _, es in spec for _, _, gv in es)
        self.p.instrs.append(Instr("opt", gvs + pvs, None, (opt, spec)))

    def _vjp(self, k: int, a: tuple, b: tuple) -> None:
        node, g, saved, out, results, nxt = b[1:]
        nc = self.copies.get(id(node))
        if nc is None or type(a[1]) is not type(node) or a[6] != nxt:
            raise Uncapturable(f"backward step {k} ({node.name}'s vjp) cannot be replayed")
        where = f"backward step {k} ({node.name})"
        ins = [self.value(g, None, a[2], None, f"the gradient of {where}")]
        n_saved = 0
        if saved is not None:
            for j, (tb, ta) in enumerate(zip(saved, a[3])):
                ins.append(self.value(tb._data, tb, ta._data, ta, f"input {j} of {where}"))
            n_saved = len(saved)
        if out is not None:
            ins.append(self.value(out, None, a[4], None, f"the output of {where}"))
        outs: list[int | None] = []
        for r in results:
            if r is None or id(r) in self.ids:
                outs.append(None)  # nothing, or an array it hands back as it is
                continue
            vid = self.p.add("tmp", None, r)
            self.ids[id(r)] = vid
            outs.append(vid)
        new = [v for v in outs if v is not None]
        if not new:
            return
        self.p.instrs.append(Instr("vjp", tuple(ins), new[0],
                                   (nc, n_saved, out is not None, nxt, tuple(outs))))

    def _alias(self, k: int, a: tuple, b: tuple) -> None:
        from .inplace import alias  # an in-place op on a graph tensor

        alias(self, k, a, b)

    def _rebind(self, k: int, a: tuple, b: tuple) -> None:
        from .inplace import rebind

        rebind(self, k, a, b)

    def _pycall(self, k: int, a: tuple, b: tuple) -> None:
        fn, args = b[1], b[2]
        name = getattr(fn, "__name__", "helper")
        if fn is not a[1] or len(args) != len(a[2]):
            raise Uncapturable(f"step {k} ({name}) changes between calls")
        mapped: list[Any] = []
        written: list[int] = []
        for j, (xb, xa) in enumerate(zip(args, a[2])):
            if isinstance(xb, Tensor):
                vid = self._written(k, xb, xb._data, xa, xa._data if isinstance(xa, Tensor)
                                    else None)
                written.append(vid)
                mapped.append(xb)
            elif isinstance(xb, Node):
                nc = self.copies.get(id(xb))
                if nc is None or type(xa) is not type(xb):
                    raise Uncapturable(f"step {k} ({name}) reads an op that cannot be replayed")
                mapped.append(nc)
            elif _same(xa, xb):
                mapped.append(xb)
            else:
                raise Uncapturable(f"argument {j} of {name} (step {k}) changes between calls "
                                   f"({xa!r} then {xb!r})")
        self.p.instrs.append(Instr("pycall", tuple(written), written[0] if written else None,
                                   (fn, tuple(mapped))))

    def _call(self, k: int, a: tuple, b: tuple) -> None:
        if a[1] is not b[1] or not _same(a[3], b[3]):
            raise Uncapturable(f"step {k} calls {b[2]} on another object per call")
        self.p.instrs.append(Instr("call", (), None, (b[1], b[2], b[3])))

    # -- the end of the call -----------------------------------------------------------------
    def finish(self, out_a: list, out_b: list, grad_mode: bool) -> Program:
        p = self.p
        for i, (xa, xb) in enumerate(zip(out_a, out_b)):
            if isinstance(xb, Tensor):
                trained = any(e[0] == "acc" for e in self.b.entries)
                if grad_mode and xb._node is not None and not trained:
                    raise Uncapturable(
                        f"output {i} requires grad: its graph would be needed after the call. "
                        "Compile the whole training step (forward, backward() and step()), or "
                        "run the forward pass under cr.no_grad()")
                ta = xa if isinstance(xa, Tensor) else None
                p.outputs.append(("value", self.value(
                    xb._data, xb, ta._data if ta is not None else None, ta, f"output {i}")))
            elif _same(xa, xb):
                p.outputs.append(("py", xb))
            else:
                raise Uncapturable(f"output {i} is a Python value that changes between calls "
                                   f"({xa!r} then {xb!r}); return tensors")
        for pid, gv in p.grads.items():
            t = p.values[gv].ref
            if t.grad is None:
                p.grad_end[pid] = False
            elif t.grad._data is p.values[gv].sample:
                p.grad_end[pid] = True
            else:
                raise Uncapturable("a parameter's .grad is replaced by another tensor during the "
                                   "call; let backward() and zero_grad() manage .grad")
        p.modules = list(self.b.modules.values())
        return p


def _frozen(a: ndarray) -> bool:
    """A read-only 0-d array owning its data: the cached constants that Python numbers
    become in ops (``convert._as_tensor``); nothing can change them, so ops on them fold."""
    return a.ndim == 0 and a.base is None and not a.flags.writeable


def _constant_spec(spec: Any) -> bool:
    if spec[0] == "tuple":
        return all(map(_constant_spec, spec[1]))
    return spec[0] == "py"


def _replay_node(node: Any) -> Any:
    """A copy of ``node`` to run its forward at replay: nothing saved, and its private state
    (``_cols``: a convolution's columns handed from forward to weight gradient) cleared, so
    that the forward recomputes it instead of reading the traced call's."""
    nc = copy.copy(node)
    nc.inputs = None
    nc.out = None
    nc.hooks = None
    for cls in type(node).__mro__:
        for s in getattr(cls, "__slots__", ()):
            if s.startswith("_") and not s.startswith("__"):
                setattr(nc, s, None)
    return nc


def _describe(e: tuple) -> str:
    if e[0] == "op":
        return f"op {e[1].name}"
    return {"fn": "array helper", "acc": "gradient accumulation", "ufunc": "in-place update",
            "copyto": "in-place copy", "zero": "zero_grad", "opt": "optimizer step",
            "call": "scheduler step", "vjp": "vjp", "pycall": "buffer update",
            "alias": "in-place op", "rebind": "in-place op"}.get(e[0], e[0])


def remove_dead_code(p: Program) -> int:
    """Drop instructions whose results nothing reads; returns how many were dropped."""
    live = {vid for kind, *rest in p.outputs if kind == "value" for vid in rest}
    keep: list[Instr] = []
    for ins in reversed(p.instrs):
        if ins.side_effect or ins.out in live or (ins.op == "vjp" and
                                                  not live.isdisjoint(ins.results)):
            keep.append(ins)
            live.update(ins.ins)
            if ins.op == "op":  # the producers of private state it reads
                live.update(v[1] for v in ins.arg[1].values() if v[0] == "side")
    dropped = len(p.instrs) - len(keep)
    p.instrs = keep[::-1]
    for vid in live:
        if p.values[vid].kind == "poison":
            raise Uncapturable(p.values[vid].ref)
    return dropped


def remove_recomputation(p: Program) -> int:
    """Merge an op with an earlier identical one (same kind, parameters and inputs), when no
    in-place step wrote to any of its inputs in between; returns how many were merged."""
    seen: dict[Any, int] = {}
    alias: dict[int, int] = {}
    kept: list[Instr] = []
    merged = 0
    for ins in p.instrs:
        ins.ins = tuple(alias.get(v, v) for v in ins.ins)
        if ins.side_effect:
            kept.append(ins)
            written = set(ins.ins) if ins.op == "opt" else {ins.out}
            seen = {k: v for k, v in seen.items() if written.isdisjoint(k[2])}
            continue
        key = _cse_key(ins)
        if key is not None and key in seen:
            alias[ins.out] = seen[key]  # type: ignore[index]
            merged += 1
            continue
        if key is not None:
            seen[key] = ins.out  # type: ignore[assignment]
        kept.append(ins)
    p.instrs = kept
    p.outputs = [("value", alias.get(o[1], o[1])) if o[0] == "value" else o for o in p.outputs]
    return merged


def _cse_key(ins: Instr) -> Any:
    if ins.op != "op":
        return None
    node, spec = ins.arg
    try:
        items = tuple(sorted((k, _hashable(v)) for k, v in spec.items()))
        hash(items)
    except TypeError:
        return None
    return (type(node), items, ins.ins)


def _hashable(spec: Any) -> Any:
    kind = spec[0]
    if kind == "tuple":
        return ("tuple", tuple(_hashable(s) for s in spec[1]))
    if kind in ("value", "side", "reset"):
        return spec
    v = spec[1]
    if isinstance(v, ndarray):
        raise TypeError("array parameter")
    return ("py", v)
