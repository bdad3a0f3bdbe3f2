"""Faster replay, same bits: leaner kernels and three rewrites of the program.

Kernels (each the same NumPy arithmetic as the primitive's forward, only without the
temporary or the Python wrapper around it):

- ``sum``/``amax``/``_shift``: the ufunc's ``reduce`` called directly (``np.sum`` and
  ``np.amax`` are Python functions that end in exactly that call);
- ``where(c, x, 0.0)`` and ``where(c, 0.0, x)`` (relu's backward): ``x``'s bits and-ed with
  an all-ones/all-zeros integer mask made from ``c``: every element is ``x``'s bits or
  +0.0's (all zero bits), exactly ``np.where``'s result; other ``where``: ``copyto(out, y)``
  then ``copyto(out, x, where=c)``, no temporary;
- ``x[index]`` with integer arrays: gathered straight into the buffer;
- a reshape that copies (a channels-last map flattened): one ``copyto`` into the buffer
  seen in ``x``'s shape (the same C order), not a copy and then another;
- ``x ** 2``: ``np.square`` (what ``ndarray ** 2`` runs).

Kernels pass ``out`` positionally: a ``partial`` with keywords merges a dict and NumPy parses
them at every call, about 0.4 us of a 1 us call on the MLP's small arrays.

Rewrites (:func:`fuse`, run on the program before the memory plan):

- **Gradients written in place.** A value whose only use is to become a parameter's
  ``.grad`` (``acc`` in copy mode: the first gradient of this call) is computed straight into
  the flat gradient buffer, and the copy disappears. Transposes between the value and the
  gradient compose into one permutation (``Linear``'s weight gradient is ``(g.T @ x).T``
  seen through ``W.T``'s permute: the identity, written straight in). When they leave the
  value transposed (a parameter used as ``P.T @ x``), the matmul writes into the transposed
  gradient buffer; NumPy then runs the GEMM in the other orientation. OpenBLAS computes
  every element as the same dot product in either orientation, which the plan checks on
  the traced call's arrays before using it (the order of a GEMM's operations does not
  depend on the data); if the bits differed it keeps the copy.
- **Uniform constants as numbers.** A folded constant array whose elements are all the
  same number (``0.5`` times a sum's ones) is read as that number: the same operation on
  every element, one array pass fewer.
- **Results over dead inputs.** :func:`overwritable` names the inputs an elementwise kernel
  may write its result over; the memory plan gives the result that buffer when the input
  is read for the last time (its values are read before being overwritten, element by
  element, so the numbers are unchanged).
- **Bias add folded into sigmoid.** ``sigmoid(a + b)`` starts with ``-(a + b)``; with ``b``
  small (a bias) that is ``(-b) - a``: exactly the same number (rounding is symmetric in
  sign), one pass over the big array fewer and no buffer for ``a + b``. Only when nothing
  else reads ``a + b``.
"""

from __future__ import annotations

from functools import partial
from typing import Any, Callable

from ..backend import ndarray, xp
from ..core import primitives as P
from .program import Instr, Program


def viewing(node: Any) -> bool:
    """Whether ``node``'s output is a view of its input (no call at replay)."""
    return isinstance(node, (P.Reshape, P.Permute, P.BroadcastTo)) or (
        isinstance(node, P.GetItem) and node.basic) or getattr(node, "is_view", False)


def fast_kernel(node: Any, ins: tuple, out: ndarray) -> tuple[Callable[[], None], str] | None:
    """A leaner out= kernel for ``node``, or None (kernels.py's own then)."""
    cls = type(node)
    if cls is P.Sum and ins[0].dtype == out.dtype and out.dtype.kind == "f":
        return partial(xp.add.reduce, ins[0], node.axis, None, out, node.keepdim), \
            "np.add.reduce"
    if cls is P.Amax and ins[0].dtype == out.dtype:
        return partial(xp.maximum.reduce, ins[0], node.axis, None, out, node.keepdim), \
            "np.maximum.reduce"
    if cls is P.Where and out.ndim > 0 and not any(xp.may_share_memory(out, a) for a in ins):
        return _where_kernel(ins[0], ins[1], ins[2], out)
    if cls is P.GetItem and not node.basic and out.ndim > 0:
        return partial(_gather, ins[0], node.index, out), "np.copyto(x[index])"
    if cls is P.Pow and ins[1].ndim == 0 and ins[0].dtype == out.dtype and out.ndim > 0:
        if ins[1] == 2:
            return partial(xp.square, ins[0], out), "np.square"
    if cls is P.Reshape and out.flags.c_contiguous and out.size == ins[0].size:
        # a reshape that had to copy (a channels-last pooled map flattened): one copy
        return partial(xp.copyto, out.reshape(ins[0].shape), ins[0]), "np.copyto (reshape)"
    if cls is AddSigmoid:
        return node.kernel(ins, out), "1/(1+np.exp((-b)-a))"
    if cls is P.Matmul and _dot_is_matmul(ins, out):
        return partial(xp.dot, ins[0], ins[1], out), "np.dot"
    return None


def _dot_is_matmul(ins: tuple, out: ndarray) -> bool:
    """Whether ``np.dot`` may replace ``np.matmul`` for this product: two float matrices of
    one dtype into a C-ordered buffer (what ``np.dot``'s ``out`` must be). Both end in the
    same BLAS GEMM; ``np.dot`` skips the ufunc machinery (0.2-0.7 us of a 2-10 us call on the
    MLP's matrices). Checked once on random operands laid out as ``ins``, as the orientation
    of gradients is (the bits must be ``np.matmul``'s)."""
    if len(ins) != 2 or not all(x.ndim == 2 and x.dtype == out.dtype for x in ins) or \
            out.dtype.kind != "f" or not out.flags.c_contiguous or min(out.shape) < 2 or \
            any(xp.may_share_memory(out, x) for x in ins):
        return False
    rng = xp.random.default_rng(0)
    probes = []
    for x in ins:
        p = xp.empty_like(x)  # x's memory order (a transposed view stays transposed)
        p[...] = rng.standard_normal(x.shape)
        probes.append(p)
    got = xp.empty_like(out)
    xp.dot(probes[0], probes[1], got)
    return got.tobytes() == xp.matmul(probes[0], probes[1]).tobytes()


_ELEMENTWISE = (P.Add, P.Sub, P.Mul, P.Div, P.Maximum, P.Minimum, P.Neg, P.Exp, P.Log, P.Log1p,
                P.Sqrt, P.Sin, P.Cos, P.Tanh, P.Abs, P.Relu, P.Sigmoid, P.Pow)


def overwritable(node: Any, ins: tuple[int, ...]) -> tuple[int, ...]:
    """Positions of the inputs whose buffer ``node``'s kernel may write its result into:
    each element of that input is read before the same element of the output is written
    (elementwise ufuncs, NumPy's in-place case, and the fused kernels built from them), so
    the numbers are those of a separate output buffer."""
    cls = type(node)
    if cls in _ELEMENTWISE:
        return tuple(range(len(ins)))
    if cls is AddSigmoid:
        return (1 - node.small,)
    if cls is P.SigmoidGrad:  # out = g * s, then out *= 1 - s: s is read after out is written
        return (0,) if ins[0] != ins[1] else ()
    if cls is P.TanhGrad:  # tmp = 1 - t * t, then out = g * tmp
        return (0, 1)
    return ()


def _where_kernel(c: ndarray, x: ndarray, y: ndarray, out: ndarray) -> tuple[Callable, str]:
    """``where(c, x, 0.0)`` (relu's and where's backward) as a bit mask: the result is
    either ``x``'s bits or all zero bits (+0.0), so ``x & -c`` on the integer views is the
    same array, and SIMD fast (a masked copy is not). Other cases: two copies."""
    ints = {4: xp.int32, 8: xp.int64}.get(out.itemsize)
    for keep, zero, sign in ((x, y, -1), (y, x, 1)):
        if (ints is not None and out.dtype.kind == "f" and zero.ndim == 0 and
                keep.dtype == out.dtype and zero.astype(out.dtype).tobytes() ==
                bytes(out.itemsize) and c.dtype == bool and keep.shape == out.shape):
            mask = xp.empty(c.shape, ints)
            return partial(_bitmask, c, keep.view(ints), mask, sign, out.view(ints)), \
                "np.bitwise_and (where)"
    return partial(_where, c, x, y, out), "np.copyto(where=)"


def _bitmask(c: ndarray, keep: ndarray, mask: ndarray, sign: int, out: ndarray) -> None:
    # sign -1: mask = -c (all ones where c); sign 1: mask = c - 1 (all ones where not c)
    if sign < 0:
        xp.negative(c, out=mask, dtype=mask.dtype, casting="unsafe")
    else:
        xp.subtract(c, 1, out=mask, dtype=mask.dtype, casting="unsafe")
    xp.bitwise_and(keep, mask, out)


def _where(c: ndarray, x: ndarray, y: ndarray, out: ndarray) -> None:
    xp.copyto(out, y, casting="unsafe")
    xp.copyto(out, x, casting="unsafe", where=c)


def _gather(x: ndarray, index: tuple, out: ndarray) -> None:
    out[...] = x[index]


def shift_kernel(x: ndarray, axis: Any, out: ndarray, finite: ndarray) -> None:
    """reductions._shift into ``out``: the kept max over ``axis``, non-finite maxima as 0
    (``finite``: a bool buffer of ``out``'s shape)."""
    xp.maximum.reduce(x, axis=axis, keepdims=True, out=out)
    xp.isfinite(out, finite)
    if not xp.logical_and.reduce(finite, None):  # ndarray.all, without its Python wrapper
        xp.copyto(out, xp.where(finite, out, 0).astype(out.dtype))


class AddSigmoid:
    """``sigmoid(a + b)`` with ``b`` the small operand, computed from ``(-b) - a``."""

    name = "add+sigmoid"

    def __init__(self, small: int) -> None:
        self.small = small  # which input is the small one (a bias)

    def forward(self, a: ndarray, b: ndarray) -> ndarray:
        with xp.errstate(over="ignore"):
            return 1.0 / (1.0 + xp.exp(-(a + b)))

    def kernel(self, ins: tuple, out: ndarray) -> Callable[[], None]:
        small = ins[self.small]
        return partial(_add_sigmoid, ins[1 - self.small], small, xp.empty_like(small), out)


def _add_sigmoid(big: ndarray, small: ndarray, neg: ndarray, out: ndarray) -> None:
    # sigmoid's forward on z = big + small: out = -z; exp; 1 + out; 1 / out. Here -z is
    # (-small) - big, the same number: negation is exact and rounding symmetric in sign.
    xp.negative(small, neg)
    xp.subtract(neg, big, out)
    xp.exp(out, out)
    xp.add(1.0, out, out)
    xp.divide(1.0, out, out)


# -- rewrites ----------------------------------------------------------------------------------
def _readers(prog: Program) -> dict[int, list[int]]:
    """value id -> indices of the instructions reading it (outputs and private state count
    as a reader at the end)."""
    out: dict[int, list[int]] = {}
    end = len(prog.instrs)
    for i, ins in enumerate(prog.instrs):
        for v in ins.ins:
            out.setdefault(v, []).append(i)
        if ins.op == "op":
            for s in ins.arg[1].values():
                if s[0] in ("value", "side"):
                    out.setdefault(s[1], []).append(i)
    for o in prog.outputs:
        if o[0] == "value":
            out.setdefault(o[1], []).append(end)
    return out


def scalar_constants(prog: Program) -> int:
    """A constant operand of an elementwise add/sub/mul/div whose elements are all the same
    number (the 0.5 of ``0.5 * e`` times the ones of a sum's backward, folded) becomes that
    number as a 0-d array of the same dtype: the same IEEE operation on every element, one
    array read fewer. Returns how many operands were replaced."""
    n = 0
    for ins in prog.instrs:
        if ins.op != "op" or type(ins.arg[0]) not in (P.Add, P.Sub, P.Mul, P.Div) or \
                len(ins.ins) != 2 or ins.arg[1] or ins.out is None:
            continue
        out = prog.values[ins.out].sample
        for k, v in enumerate(ins.ins):
            c, other = prog.values[v], prog.values[ins.ins[1 - k]].sample
            if c.kind != "const" or c.sample.ndim == 0 or c.sample.dtype != out.dtype or \
                    other.dtype != out.dtype or other.shape != out.shape:
                continue
            first = c.sample.reshape(-1)[:1]
            if xp.broadcast_to(first, c.sample.shape).tobytes() != c.sample.tobytes():
                continue
            arr = first.reshape(()).copy()
            ins.ins = tuple(prog.add("const", arr, arr) if j == k else u
                            for j, u in enumerate(ins.ins))
            n += 1
            break
    return n


def fuse(prog: Program) -> int:
    """Fold bias adds into the sigmoids that read them; returns how many were folded."""
    scalar_constants(prog)
    readers = _readers(prog)
    producer = {ins.out: i for i, ins in enumerate(prog.instrs) if ins.op == "op"}
    drop: set[int] = set()
    for ins in prog.instrs:
        if ins.op != "op" or type(ins.arg[0]) is not P.Sigmoid or ins.arg[1]:
            continue
        v = ins.ins[0]
        i = producer.get(v)
        if i is None or len(readers.get(v, ())) != 1 or prog.values[v].kind != "tmp":
            continue
        add = prog.instrs[i]
        if type(add.arg[0]) is not P.Add or len(add.arg) != 2:
            continue
        a, b = (prog.values[j].sample for j in add.ins)
        out = prog.values[v].sample
        if not (a.dtype == b.dtype == out.dtype and out.dtype.kind == "f"):
            continue
        small = 1 if b.size * 4 <= out.size and a.shape == out.shape else \
            0 if a.size * 4 <= out.size and b.shape == out.shape else None
        if small is None:
            continue
        ins.ins = add.ins
        ins.arg = (AddSigmoid(small), {})
        drop.add(i)
    prog.instrs = [ins for i, ins in enumerate(prog.instrs) if i not in drop]
    return len(drop)


def direct_grads(prog: Program) -> dict[int, tuple[int, tuple[int, ...] | None]]:
    """Values to compute straight into a gradient buffer: value id -> (grad value id, the
    permutation of the view between them, or None)."""
    readers = _readers(prog)
    producer = {ins.out: i for i, ins in enumerate(prog.instrs) if ins.op == "op"}
    out: dict[int, tuple[int, tuple[int, ...] | None]] = {}
    for k, ins in enumerate(prog.instrs):
        if ins.op != "acc" or ins.arg[0] != "copy":
            continue
        src, gv = ins.ins[0], ins.out
        if gv is None or readers.get(src) != [k] or prog.values[src].kind != "tmp" or \
                src not in producer:
            continue
        i = producer[src]
        perm: tuple[int, ...] | None = None
        while type(prog.instrs[i].arg[0]) is P.Permute and len(prog.instrs[i].arg) == 2:
            # a chain of transposes (Linear's weight gradient is (g^T x)^T seen through W^T's
            # permute): one permutation, the identity when they cancel
            base = prog.instrs[i].ins[0]
            if readers.get(base) != [i] or base not in producer or \
                    prog.values[base].kind != "tmp":
                break
            dims = tuple(prog.instrs[i].arg[0].dims)
            perm = dims if perm is None else tuple(dims[j] for j in perm)
            src, i = base, producer[base]
        else:
            if perm == tuple(range(len(perm or ()))):
                perm = None
            if any(gv in prog.instrs[j].ins or prog.instrs[j].out == gv for j in range(i, k)):
                continue
            if viewing(prog.instrs[i].arg[0]):
                continue
            out[src] = (gv, perm)
    return out


def grad_target(prog: Program, ins: Instr, grad: ndarray,
                perm: tuple[int, ...] | None) -> ndarray | None:
    """The buffer an instruction writes its value into when it goes straight to ``grad``:
    ``grad`` itself, or for a permuted value the inverse-permuted view of it (checked, for a
    matmul, to give the same bits as a fresh C-ordered result)."""
    assert ins.out is not None
    sample = prog.values[ins.out].sample
    if perm is None:
        return grad if grad.shape == sample.shape and grad.dtype == sample.dtype else None
    inv = tuple(sorted(range(len(perm)), key=perm.__getitem__))
    target = grad.transpose(inv)
    if target.shape != sample.shape or target.dtype != sample.dtype:
        return None
    if type(ins.arg[0]) is P.Matmul:
        a, b = (prog.values[j].sample for j in ins.ins)
        probe = xp.empty_like(target)  # target's memory order
        xp.matmul(a, b, out=probe)
        if probe.tobytes() != xp.matmul(a, b).tobytes():
            return None
    return target
