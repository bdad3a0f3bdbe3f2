"""From a :class:`Program` to something that runs: buffers, one flat list of calls, replay.

- **Flat buffers.** Parameters live in one flat buffer per dtype (each tensor's ``_data``
  becomes a view of it, offsets aligned to 64 bytes); their gradients and the optimizer's
  state (Adam's moments, SGD's momentum) in flat buffers of the same layout. SGD, Adam and
  AdamW then update a whole parameter group with one call of their update function on the
  flat slices: elementwise arithmetic with the same scalars, so the numbers are those of the
  per-parameter loop, bit for bit. Other optimizers run their own ``step()``.
- **The memory plan.** Every other value gets a buffer once, when the plan is made. Values
  whose lifetimes do not overlap (liveness over the instruction list, views keeping their
  base alive) share a buffer of the same shape, dtype and strides. Buffers keep the memory
  layout of the arrays eager mode made, so reductions sum in the same order.
- **Replay** copies the arguments into their buffers, resyncs any parameter or state tensor
  whose array was replaced from outside (``load_state_dict``), runs the calls, and sets
  ``.grad`` as the traced call left it.
"""

from __future__ import annotations

from collections import deque
from functools import partial
import operator
from operator import length_hint
from typing import Any, Callable

from ..backend import ndarray, xp
from ..core import graph as _graph
from ..core.tensor_class import Tensor, _make
from .cnn import batch_norm_vjp_kernel, new_plan
from .fast import direct_grads, grad_target, overwritable
from .kernels import helper_kernel, kernel, static_view, ufunc_call
from .program import Program

_ALIGN = 64
run_all = deque  # run_all(map(call, calls), 0): the replay loop, in C


def _call(f: Callable[[], None]) -> None:  # Python 3.10 has no operator.call
    f()


call: Callable[[Callable[[], None]], None] = getattr(operator, "call", _call)


class Plan:
    """Buffers and prebound calls for one program."""

    def __init__(self, prog: Program, share: Plan | None = None) -> None:
        self.prog = prog
        self.buf: list[Any] = [None] * len(prog.values)
        self.calls: list[Callable[[], None]] = []
        self.labels: list[str] = []  # what each call runs, for the listing
        self.slot: dict[int, int] = {}  # value id -> buffer number (the memory plan)
        self.store: list[ndarray] = []  # the work buffers of the memory plan
        self.fixed: set[int] = set()  # values that are fixed views of non-computed arrays
        self.first_effect = 1 << 62  # index of the first call that changes state
        self.instr_labels: list[str] = []  # what runs for each instruction
        self.adopted: list[tuple[Callable[[], Tensor], ndarray]] = []
        self.flat: dict[tuple[str, Any], ndarray] = {}
        self.offsets: dict[int, tuple[Any, int, int]] = {}  # id(param) -> (dtype, start, end)
        self.pinned: list[tuple[Tensor, Any]] = []  # params and their grad tensor
        self.nodes: dict[int, Any] = {}  # output value id -> the node copy that makes it
        # for replay.Guard: parameters and their flat views, optimizer state (optimizer,
        # param, key, view), what each .grad is after a replay
        self.param_views: list[tuple[Tensor, ndarray]] = []
        self.state_views: list[tuple[Any, Tensor, str, ndarray]] = []
        self._views: dict[tuple, ndarray] = {}  # (kind, id(param), shape) -> its flat view
        self._layout(share)
        self._fixed_values()
        self._bind()
        self.copy_in = [(self.buf[vid], i) for i, vid in enumerate(prog.inputs)
                        if vid is not None]
        self.outs = [(self.buf[o[1]], None) if o[0] == "value" else (None, o[1])
                     for o in prog.outputs]

    # -- flat buffers ------------------------------------------------------------------------
    def _layout(self, share: Plan | None) -> None:
        """Offsets of the parameters in the flat buffers; the buffers themselves are those
        of ``share`` (another variant of the same function) when the layout is the same, so
        that switching variants (the last, smaller batch of an epoch) copies nothing."""
        prog = self.prog
        order: list[Tensor] = []
        for ins in prog.instrs:
            if ins.op == "opt":
                order.extend(p for _, es in ins.arg[1] for p, _, _ in es)
        order.extend(prog.values[v].ref for v in prog.params.values())
        seen: set[int] = set()
        sizes: dict[Any, int] = {}
        for p in order:
            if id(p) in seen:
                continue
            seen.add(id(p))
            dt = p._data.dtype
            start = _aligned(sizes.get(dt, 0), dt)
            self.offsets[id(p)] = (dt, start, start + p._data.size)
            sizes[dt] = start + p._data.size
        self.params = [p for p in order if id(p) in self.offsets]
        self.params = list({id(p): p for p in self.params}.values())
        if share is not None and share.offsets == self.offsets:
            self.flat, self._views = share.flat, share._views
            return
        for dt, n in sizes.items():
            self.flat[("param", dt)] = xp.zeros(_aligned(n, dt), dt)
            self.flat[("grad", dt)] = xp.zeros(_aligned(n, dt), dt)

    def view(self, kind: str, p: Tensor) -> ndarray:
        """``p``'s slice of the flat ``kind`` buffer (one view object per slice, so that
        a tensor already holding it is seen by identity)."""
        vk = (kind, id(p), p._data.shape)
        v = self._views.get(vk)
        if v is not None:
            return v
        dt, a, b = self.offsets[id(p)]
        key = (kind, dt)
        if key not in self.flat:
            self.flat[key] = xp.zeros_like(self.flat[("param", dt)])
        v = self._views[vk] = self.flat[key][a:b].reshape(p._data.shape)
        return v

    def _fixed_values(self) -> None:
        prog = self.prog
        for vid, v in enumerate(prog.values):
            if v.kind == "input":
                self.buf[vid] = v.sample.copy(order="K")
            elif v.kind == "param":
                self.buf[vid] = self.view("param", v.ref)
                self.adopted.append((_const(v.ref), self.buf[vid]))
                self.param_views.append((v.ref, self.buf[vid]))
            elif v.kind == "grad":
                self.buf[vid] = self.view("grad", v.ref)
            elif v.kind == "ext":
                self.buf[vid] = v.ref._data
            elif v.kind in ("const", "extarr"):
                self.buf[vid] = v.ref
            elif v.kind == "view":  # of an input (labels.reshape(-1)): a fixed view
                self.buf[vid] = self.buf[v.ref].reshape(v.sample.shape)
        for gv in prog.grads.values():
            p = prog.values[gv].ref
            self.pinned.append((p, _make(self.buf[gv])))
        self.grad_left = [(p, g if prog.grad_end.get(id(p)) else None) for p, g in self.pinned]
        self.grad_unset = [(p, g) for p, g in self.pinned if not prog.grad_end.get(id(p))]

    # -- the memory plan and the calls -------------------------------------------------------
    def _bind(self) -> None:
        prog = self.prog
        last: dict[int, int] = {}
        for i, ins in enumerate(prog.instrs):
            for v in ins.ins:
                last[v] = i
            if ins.out is not None and not ins.side_effect:
                last.setdefault(ins.out, i)
        end = len(prog.instrs)
        for o in prog.outputs:
            if o[0] == "value":
                last[o[1]] = end
        root: dict[int, int] = {}
        root_last: dict[int, int] = {}
        free: dict[tuple, list[int]] = {}
        store: list[ndarray] = []
        self.direct = direct_grads(prog)  # values computed straight into a .grad buffer
        new_plan()  # no convolution columns shared with another plan's kernels
        for i, ins in enumerate(prog.instrs):
            if ins.op in ("op", "fn", "vjp") and prog.values[ins.out or 0].kind == "tmp":
                self._alloc(ins, i, last, root, root_last, free, store)
            for v in ins.results[1:]:  # a vjp's other results: buffers of their own
                self.slot[v] = len(store)
                store.append(xp.empty_like(prog.values[v].sample))
                self.buf[v] = store[-1]
            n = len(self.calls)
            if (ins.side_effect or ins.out in self.direct) and n < self.first_effect:
                self.first_effect = n  # calls before it change nothing outside the plan
            self._emit(ins)
            self.instr_labels.append(_joined(self.labels[n:]) or (
                "computed in place, no call" if ins.op == "acc" else "fixed view, no call"))
            for r in [r for r, n in root_last.items() if n == i]:
                del root_last[r]
                s = self.slot[r]
                free.setdefault(_key(store[s]), []).append(s)
        self.store = store
        self.quiet = any(lab.startswith("1/(1+np.exp") for lab in self.labels)

    def _alloc(self, ins: Any, i: int, last: dict, root: dict, root_last: dict, free: dict,
               store: list) -> None:
        prog, v = self.prog, ins.out
        if ins.op == "op":
            node, spec = ins.arg
            for k, s in spec.items():
                setattr(node, k, self._resolve(s))
            src = tuple(self.buf[j] for j in ins.ins)
            if v in self.direct:
                gv, perm = self.direct[v]
                target = grad_target(prog, ins, self.buf[gv], perm)
                if target is not None:
                    self.buf[v] = target
                    self.fixed.add(v)
                    return
                del self.direct[v]
            sv = static_view(node, src)
            if sv is not None and ins.ins[0] in root:
                r = root[ins.ins[0]]
                root[v] = r
                root_last[r] = max(root_last.get(r, i), last.get(v, i))
                self.buf[v] = sv
                self.slot[v] = self.slot[r]
                ins.arg = (node, spec, "view")
                return
            if sv is not None and (prog.values[ins.ins[0]].kind != "tmp"
                                   or ins.ins[0] in self.fixed):
                self.buf[v] = sv  # a fixed view of an input, parameter or constant
                self.fixed.add(v)
                ins.arg = (node, spec, "view")
                return
        sample = prog.values[v].sample
        pool = free.get(_key(sample))
        s = _dead_input(ins, i, root, root_last, self.slot, store, sample) \
            if ins.op == "op" else None
        if s is not None:  # written in place over an input read for the last time
            del root_last[s[1]]
            s = s[0]
        elif pool:
            s = pool.pop()
        else:
            s = len(store)
            store.append(xp.empty_like(sample))
        self.buf[v] = store[s]
        self.slot[v] = s
        root[v] = v
        root_last[v] = last.get(v, i)

    def _resolve(self, spec: Any) -> Any:
        kind = spec[0]
        if kind == "tuple":
            return tuple(self._resolve(s) for s in spec[1])
        if kind == "value":
            b = self.buf[spec[1]]
            return b if spec[2] is None else b.reshape(spec[2])
        if kind in ("side", "reset"):
            return None  # bound (or cleared) at each replay
        return spec[1]

    def _emit(self, ins: Any) -> None:
        b = self.buf
        op = ins.op
        if op == "op":
            if len(ins.arg) == 3:  # a fixed view: nothing to run
                return
            node, spec = ins.arg[0], ins.arg[1]
            call, label = kernel(node, tuple(b[j] for j in ins.ins), b[ins.out])
            self.nodes[ins.out] = node
            sides = tuple((slot, self.nodes[v[1]], v[2]) if v[0] == "side" else (slot, None, "")
                          for slot, v in spec.items() if v[0] in ("side", "reset"))
            if sides:
                call = partial(_with_sides, node, sides, call)
        elif op == "fn":
            fn, kw = ins.arg
            src = tuple(b[j] for j in ins.ins)
            label = getattr(fn, "__name__", "helper")
            fast = helper_kernel(fn, src, b[ins.out])
            if isinstance(fn, xp.ufunc) and not kw:
                call, label = ufunc_call(fn, src, b[ins.out]), f"np.{label}"
            elif fast is not None:
                call, label = fast, f"np.maximum.reduce (for {label})"
            else:
                call = partial(_generic_fn, fn, src, kw, b[ins.out])
        elif op == "acc":
            mode = ins.arg[0]
            if mode == "copy" and _same_memory(b[ins.out], b[ins.ins[0]]):
                return  # its producer wrote it there
            if mode == "copy":
                call, label = partial(xp.copyto, b[ins.out], b[ins.ins[0]]), "np.copyto"
            else:
                call, label = partial(xp.add, b[ins.out], b[ins.ins[0]], b[ins.out]), "np.add"
        elif op == "ufunc":
            t, o = b[ins.ins[0]], b[ins.ins[1]]
            call = partial(ins.arg, t, o, out=t, casting="same_kind")
            label = f"np.{ins.arg.__name__}"
        elif op == "copyto":
            call = partial(xp.copyto, b[ins.ins[0]], b[ins.ins[1]], casting="same_kind")
            label = "np.copyto"
        elif op == "zero":
            call, label = partial(xp.copyto, b[ins.out], 0), "np.copyto(0)"
        elif op == "opt":
            from .optim import optimizer_calls

            for call, label in optimizer_calls(self, ins):
                self.calls.append(call)
                self.labels.append(label)
            return
        elif op == "vjp":
            node, n_saved, has_out, nxt, outs = ins.arg
            saved = tuple(_make(b[v]) for v in ins.ins[1:1 + n_saved]) if n_saved else None
            call = partial(_run_vjp, node, b[ins.ins[0]], saved,
                           b[ins.ins[-1]] if has_out else None,
                           tuple(None if e is None else _Edge(*e) for e in nxt),
                           tuple(None if v is None else b[v] for v in outs))
            label = f"{node.name}.vjp"
            fast = batch_norm_vjp_kernel(node, b[ins.ins[0]], tuple(
                b[v] for v in ins.ins[1:1 + n_saved]), nxt, call.args[-1])
            if fast is not None:
                call, label = fast, f"{node.name}.vjp (out= kernel)"
        elif op == "pycall":
            fn, args = ins.arg
            call, label = partial(fn, *args), fn.__name__
        else:  # "call": a Python method (a scheduler's step)
            obj, name, args = ins.arg
            call, label = partial(getattr(obj, name), *args), f"{type(obj).__name__}.{name}"
        self.calls.append(call)
        self.labels.append(label)

    # -- running -----------------------------------------------------------------------------
    def adopt(self) -> str | None:
        """Make every parameter and state tensor a view of the flat buffers (copying their
        current values in); returns why not, if some tensor changed shape or dtype."""
        for get, view in self.adopted:
            t = get()
            d = t._data
            if d is view:
                continue
            if d.shape != view.shape or d.dtype != view.dtype:
                return (f"a parameter or optimizer state changed from {view.shape} "
                        f"{view.dtype} to {d.shape} {d.dtype}")
            xp.copyto(view, d)
            t._data = view
        for p, g in self.pinned:
            cur: Any = p.grad
            if cur is None:
                if self.prog.grad_start.get(id(p)):
                    return "a parameter's .grad is None where the traced call found one"
            elif cur._data is not g._data:
                if cur._data.shape != g._data.shape:
                    return f"a parameter's .grad has shape {cur._data.shape}"
                xp.copyto(g._data, cur._data)  # keep what .grad holds now
            p.grad = g
        return None

    def run(self, args: Any) -> list:
        """Copy the arguments in, run the calls, leave ``.grad`` as the traced call did."""
        for buf, i in self.copy_in:
            xp.copyto(buf, args[i]._data)
        it = iter(self.calls)
        try:
            if self.quiet:  # sigmoid's exp(-x) may overflow to inf, as eager mode allows
                with xp.errstate(over="ignore"):
                    run_all(map(call, it), 0)
            else:
                run_all(map(call, it), 0)
        except Exception as e:
            i = len(self.calls) - length_hint(it) - 1  # the call that raised
            raise ReplayError(self.labels[i], e, i < self.first_effect) from e
        for p, g in self.grad_left:
            p.grad = g
        return [_make(b.copy()) if b is not None else o for b, o in self.outs]

    def run_again(self, args: Any) -> list:
        """:meth:`run` after a replay left everything in place (``replay.Guard`` checked):
        only the ``.grad`` the last replay set to None is bound again first."""
        for p, g in self.grad_unset:
            p.grad = g
        return self.run(args)


class ReplayError(RuntimeError):
    """A replayed call failed; ``harmless``: nothing outside the plan had changed yet."""

    def __init__(self, label: str, error: Exception, harmless: bool) -> None:
        super().__init__(f"the replayed call {label} failed: {type(error).__name__}: {error}")
        self.harmless = harmless


class _Edge:
    """What a vjp reads of the node an input came from: its shape and dtype."""

    __slots__ = ("shape", "dtype")

    def __init__(self, shape: tuple, dtype: Any) -> None:
        self.shape, self.dtype = shape, dtype


def _run_vjp(node: Any, g: ndarray, saved: tuple | None, out: ndarray | None, nxt: tuple,
             results: tuple) -> None:
    """A vjp written on arrays, run as the engine runs it (grad mode off)."""
    node.inputs = saved
    node.out = (out, [0]) if out is not None else None
    node.next = nxt
    prev = _graph._grad_enabled
    _graph._grad_enabled = False
    try:
        res = node.vjp(_make(g))
    finally:
        _graph._grad_enabled = prev
    for r, o in zip(res, results):
        if o is not None:
            xp.copyto(o, r._data)


def _with_sides(node: Any, sides: tuple, call: Callable[[], None]) -> None:
    for slot, producer, pslot in sides:
        setattr(node, slot, None if producer is None else getattr(producer, pslot))
    call()


def _generic_fn(fn: Callable, xs: tuple, kw: dict, out: ndarray) -> None:
    xp.copyto(out, fn(*xs, **kw))


def _same_memory(a: ndarray, b: ndarray) -> bool:
    return (a.shape == b.shape and a.strides == b.strides and a.dtype == b.dtype
            and a.__array_interface__["data"][0] == b.__array_interface__["data"][0])


def _const(t: Tensor) -> Callable[[], Tensor]:
    return lambda: t


def _aligned(n: int, dt: Any) -> int:
    per = max(1, _ALIGN // dt.itemsize)
    return -(-n // per) * per


def _dead_input(ins: Any, i: int, root: dict, root_last: dict, slot: dict, store: list,
                sample: ndarray) -> tuple[int, int] | None:
    """(buffer, value) of an input of instruction ``i`` whose buffer the result may take:
    its last use is here, it owns the whole buffer, and the kernel reads each element of it
    before writing the same element (see fast.overwritable)."""
    for k in overwritable(ins.arg[0], ins.ins):
        u = ins.ins[k]
        if root.get(u) == u and root_last.get(u) == i and \
                _key(store[slot[u]]) == _key(sample):
            return slot[u], u
    return None


def _key(a: ndarray) -> tuple:
    return (a.dtype, a.shape, a.strides)


def _joined(labels: list[str]) -> str:
    """``a; b``: the labels of what runs for one instruction, kept translatable (a picture of
    the step writes them in its language, :class:`~chainrule.viz.i18n.Text`)."""
    from ..viz.i18n import Text

    return Text("; ".join(f"{{l{k}}}" for k in range(len(labels))),
                **{f"l{k}": label for k, label in enumerate(labels)}) if labels else ""
