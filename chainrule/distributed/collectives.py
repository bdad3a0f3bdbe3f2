"""Collectives on tensors, with PyTorch's names and signatures, over MPI.

Each works in place on the tensors given (as ``torch.distributed`` does), and outside autograd:
no graph is recorded. ``async_op=True`` returns a :class:`~.process_group.Work` to ``wait()``
on; otherwise the call returns None once the collective is complete.
"""

from __future__ import annotations

import enum
from typing import Any, Callable, Sequence

from ..backend import ndarray, xp
from ..core.tensor import Tensor
from ..core.dtypes import dtype_name
from .process_group import ProcessGroup, Work, default_group

__all__ = ["ReduceOp", "all_gather", "all_reduce", "barrier", "broadcast", "reduce_scatter"]


class ReduceOp(enum.Enum):
    """How ``all_reduce`` and ``reduce_scatter`` combine the ranks' values."""

    SUM = "sum"
    AVG = "avg"
    PRODUCT = "product"
    MIN = "min"
    MAX = "max"


def _buffer(t: Any, what: str, name: str = "tensor") -> ndarray:
    """The tensor's array, as a contiguous buffer MPI can read and write."""
    if not isinstance(t, Tensor):
        raise TypeError(f"{what}: {name} must be a chainrule Tensor, got {type(t).__name__}")
    arr = t._data
    if arr.dtype.kind not in "fiu" or arr.dtype.itemsize < 4 and arr.dtype.kind == "f":
        raise TypeError(f"{what}: {name} has dtype {dtype_name(arr.dtype)}, which MPI does not "
                        "reduce; use float32, float64 or an integer dtype")
    return arr if arr.flags.c_contiguous and arr.flags.writeable else xp.ascontiguousarray(arr)


def _store(t: Tensor, values: ndarray) -> None:
    """Write ``values`` into ``t`` in place (and count it as a change of ``t``)."""
    if values is not t._data:
        t._data[...] = values
    t._vc[0] += 1


def _mpi_op(pg: ProcessGroup, op: Any, buf: ndarray, what: str) -> Any:
    if not isinstance(op, ReduceOp):
        raise TypeError(f"{what}: op must be a ReduceOp (SUM, AVG, PRODUCT, MIN, MAX), got "
                        f"{op!r}")
    if op is ReduceOp.AVG and buf.dtype.kind != "f":
        raise TypeError(f"{what}: ReduceOp.AVG needs a floating-point tensor, got "
                        f"{dtype_name(buf.dtype)}")
    M = pg.MPI
    return {ReduceOp.SUM: M.SUM, ReduceOp.AVG: M.SUM, ReduceOp.PRODUCT: M.PROD,
            ReduceOp.MIN: M.MIN, ReduceOp.MAX: M.MAX}[op]


def _run(pg: ProcessGroup, request: Any, what: str, finish: Callable[[], None],
         async_op: bool) -> Work | None:
    work = Work(pg, request, what, finish)
    if async_op:
        return work
    work.wait()
    return None


def all_reduce(tensor: Tensor, op: ReduceOp = ReduceOp.SUM, group: Any = None,
               async_op: bool = False) -> Work | None:
    """Combine ``tensor`` over all ranks with ``op``; every rank gets the result in place."""
    pg = default_group(group, "all_reduce")
    buf = _buffer(tensor, "all_reduce")
    mop = _mpi_op(pg, op, buf, "all_reduce")
    request = pg.comm.Iallreduce(pg.MPI.IN_PLACE, buf, mop)

    def finish() -> None:
        if op is ReduceOp.AVG:
            buf[...] /= pg.size()
        _store(tensor, buf)

    return _run(pg, request, f"all_reduce of {tuple(tensor.shape)} {dtype_name(buf.dtype)}", finish,
                async_op)


def broadcast(tensor: Tensor, src: int, group: Any = None, async_op: bool = False) -> Work | None:
    """Copy rank ``src``'s ``tensor`` into ``tensor`` on every rank."""
    pg = default_group(group, "broadcast")
    if not isinstance(src, int) or not 0 <= src < pg.size():
        raise ValueError(f"broadcast: src must be a rank in [0, {pg.size()}), got {src!r}")
    buf = _buffer(tensor, "broadcast")
    request = pg.comm.Ibcast(buf, root=src)
    return _run(pg, request,
                f"broadcast of {tuple(tensor.shape)} {dtype_name(buf.dtype)} from rank {src}",
                lambda: _store(tensor, buf), async_op)


def _check_list(tensors: Sequence[Any], like: ndarray, size: int, what: str, name: str) -> None:
    if not isinstance(tensors, (list, tuple)) or len(tensors) != size:
        n = len(tensors) if isinstance(tensors, (list, tuple)) else type(tensors).__name__
        raise ValueError(f"{what}: {name} must be a list of one tensor per rank ({size}), "
                         f"got {n}")
    for i, t in enumerate(tensors):
        arr = _buffer(t, what, f"{name}[{i}]")
        if arr.shape != like.shape or arr.dtype != like.dtype:
            raise ValueError(f"{what}: {name}[{i}] has shape {arr.shape} and dtype "
                             f"{dtype_name(arr.dtype)}; expected {like.shape} and "
                             f"{dtype_name(like.dtype)}, like the tensor given")


def all_gather(tensor_list: list[Tensor], tensor: Tensor, group: Any = None,
               async_op: bool = False) -> Work | None:
    """``tensor_list[r]`` receives rank ``r``'s ``tensor``, on every rank."""
    pg = default_group(group, "all_gather")
    send = _buffer(tensor, "all_gather")
    _check_list(tensor_list, send, pg.size(), "all_gather", "tensor_list")
    recv = xp.empty((pg.size(),) + send.shape, send.dtype)
    request = pg.comm.Iallgather(send, recv)

    def finish() -> None:
        for t, values in zip(tensor_list, recv):
            _store(t, values)

    return _run(pg, request, f"all_gather of {send.shape} {dtype_name(send.dtype)}", finish,
                async_op)


def reduce_scatter(output: Tensor, input_list: list[Tensor], op: ReduceOp = ReduceOp.SUM,
                   group: Any = None, async_op: bool = False) -> Work | None:
    """Rank ``r``'s ``output`` receives ``input_list[r]`` combined over all ranks with ``op``."""
    pg = default_group(group, "reduce_scatter")
    out = _buffer(output, "reduce_scatter", "output")
    _check_list(input_list, out, pg.size(), "reduce_scatter", "input_list")
    send = xp.stack([t._data for t in input_list])
    mop = _mpi_op(pg, op, out, "reduce_scatter")
    request = pg.comm.Ireduce_scatter_block(send, out, mop)

    def finish() -> None:
        if op is ReduceOp.AVG:
            out[...] /= pg.size()
        _store(output, out)

    return _run(pg, request, f"reduce_scatter of {out.shape} {dtype_name(out.dtype)}", finish,
                async_op)


def barrier(group: Any = None, async_op: bool = False, device_ids: Any = None) -> Work | None:
    """Wait until every rank has reached this barrier."""
    pg = default_group(group, "barrier")
    return _run(pg, pg.comm.Ibarrier(), "barrier", lambda: None, async_op)
