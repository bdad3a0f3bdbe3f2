"""In-place ops on graph tensors (``h.mul_(2)``, ``h.add_(b)``, ``h.masked_fill_(m, 0)``,
``h.copy_(v)`` on a non-leaf tensor that requires grad), captured.

Eager mode (``core/views.py``) runs such an op as: copy ``t``'s array, apply the op to the
copy through ``apply`` (so the graph sees an ordinary op), write the result back into ``t``'s
array, and give ``t`` the op's node. The tracer writes that down as two entries around the
recorded ops:

- ``("alias", copy, array)``: the copy holds the value ``array`` holds now;
- ``("rebind", array, result)``: from here on ``array`` holds ``result``'s value.

The program then needs no copy and no write-back: the ops read the old value, and every later
reader of ``t``'s array (later ops, the vjps that saved ``t``, the outputs) reads the result's
buffer, which is what eager mode finds in that memory. Only arrays the program computes
(``tmp`` values) can be renamed so; an in-place op on a view (PyTorch's CopySlices) or on
an array from outside the graph still runs the function eagerly, saying why.
"""

from __future__ import annotations

from typing import Any, Callable

from ..core.tensor_class import Tensor
from .program import Uncapturable


def record_tracked(tape: Any, orig: Callable, t: Tensor, op: str, fn: Any, others: tuple,
                   ufunc: Any) -> Any:
    """Run the in-place op ``orig`` on graph tensor ``t`` and record it as alias/rebind."""
    if t._base is not None or t._node is None:
        what = "a view of a tensor" if t._base is not None else "a tensor made outside the " \
            "graph, with an operand"
        tape.graph_break(f"the in-place op {op} on {what} that requires grad")
        return orig(t, op, fn, *others, ufunc=ufunc)
    before, node = t._data, t._node
    n = len(tape.entries)
    out = orig(t, op, fn, *others, ufunc=ufunc)
    ops = [e for e in tape.entries[n:] if e[0] == "op"]
    result = next((e[3] for e in ops if e[1] is t._node), None)
    # the copy eager mode hands the op: a tensor with t's node but another array
    copy = next((x._data for e in ops for x in e[2] if isinstance(x, Tensor) and
                 x._node is node and x._data is not before and id(x._data) not in
                 tape.produced and x._data.shape == before.shape), None)
    if t._data is not before or result is None or copy is None:
        tape.graph_break(f"the in-place op {op} on a tensor that requires grad")
        return out
    tape.entries.insert(n, ("alias", copy, before))
    tape.phases.insert(n, tape.phase)
    tape.add(("rebind", before, result))
    tape.keep.append(copy)
    return out


def alias(builder: Any, k: int, a: tuple, b: tuple) -> None:
    vid = _computed(builder, b[2], k)
    builder.ids[id(b[1])] = vid


def rebind(builder: Any, k: int, a: tuple, b: tuple) -> None:
    _computed(builder, b[1], k)
    vid = builder.ids.get(id(b[2]))
    if vid is None:
        raise Uncapturable(f"step {k}: the result of an in-place op is not in the program")
    builder.ids[id(b[1])] = vid


def _computed(builder: Any, arr: Any, k: int) -> int:
    vid = builder.ids.get(id(arr))
    if vid is None or builder.p.values[vid].kind != "tmp":
        raise Uncapturable(
            f"step {k} changes in place a tensor that requires grad but is not computed in "
            "the function (an argument, a constant or an outside tensor); clone() it first")
    return vid
