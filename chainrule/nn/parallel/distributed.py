"""DistributedDataParallel: one model replica per rank, gradients averaged after backward.

How the gradients travel: the parameters that require grad are split into buckets (in
reverse order of registration, as PyTorch does: roughly the order backward reaches them),
each bucket owning one flat buffer of at most ``bucket_cap_mb``. A post-accumulate-grad hook
on every parameter writes its ``.grad`` divided by the world size into its place in the bucket
(the division first, as PyTorch's default communication hook does); when a bucket is complete
its non-blocking reduction (a sum) starts, so communication overlaps with the hooks of the
next buckets. The reduction is MPI's Iallreduce, or, when all ranks run on one machine, a sum
over the ranks' buckets kept in one shared-memory window (chainrule/distributed/shm.py).
When the last parameter's gradient has arrived, every bucket is waited for and ``param.grad``
is set to its slot (a copy, or with ``gradient_as_bucket_view=True`` a view of
the bucket: one pass over the gradients fewer): after ``loss.backward()`` every rank holds the
same averaged gradient.

NOTE: chainrule's engine reaches the parameters (leaf nodes, the oldest in the graph) after
every op's backward, so the allreduces overlap with one another and with the gradient copies,
not with the matrix products of backward (see docs/distributed.md for what that costs).
"""

from __future__ import annotations

import contextlib
from typing import Any, Iterator

from ...backend import xp
from ...core.graph import AccumulateGrad, is_grad_enabled
from ...core.tensor import Tensor, _make
from ..module import Module

__all__ = ["DistributedDataParallel"]


class _Bucket:
    __slots__ = ("params", "offsets", "buf", "pending", "request", "index")

    def __init__(self, params: list[Any], index: int) -> None:
        self.params = params
        self.offsets, n = [], 0
        for p in params:
            self.offsets.append(n)
            n += p._data.size
        self.buf = xp.zeros(n, params[0]._data.dtype)
        self.pending = len(params)
        self.request: Any = None
        self.index = index  # its place in DistributedDataParallel._buckets


def _flat_broadcast(pg: Any, tensors: list[Tensor]) -> None:
    """Rank 0's values of ``tensors`` into every rank's, one broadcast per dtype."""
    by_dtype: dict[Any, list[Tensor]] = {}
    for t in tensors:
        by_dtype.setdefault(t._data.dtype, []).append(t)
    for group in by_dtype.values():
        flat = xp.concatenate([t._data.reshape(-1) for t in group])
        pg.wait(pg.comm.Ibcast(flat, root=0), f"broadcast of {len(group)} parameters/buffers")
        k = 0
        for t in group:
            n = t._data.size
            t._data[...] = flat[k:k + n].reshape(t._data.shape)
            t._vc[0] += 1
            k += n


class DistributedDataParallel(Module):
    """Wrap ``module`` for data-parallel training: same signature as PyTorch's.

    Every rank builds the same model; the wrapper copies rank 0's parameters and buffers to
    all ranks, and each ``backward`` leaves the gradient averaged over the ranks in ``.grad``.
    Each rank feeds its own part of the batch (see :class:`chainrule.data.DistributedSampler`).

    ``no_sync()``: the backward passes of forwards run inside it only accumulate locally (for
    gradient accumulation); the first backward after it averages the accumulated sum.
    ``find_unused_parameters=True``: parameters that did not contribute to the output count as
    ready with a zero gradient (otherwise such a model raises at the next forward).
    ``broadcast_buffers``: rank 0's buffers (batch-norm statistics) are copied to the others
    at every forward in training mode. ``gradient_as_bucket_view=True``: each ``.grad`` is a
    view of the communication bucket instead of a copy (as in PyTorch: less memory, no copy;
    the next backward overwrites a ``.grad`` kept from the step before).
    """

    def __init__(self, module: Module, device_ids: Any = None, output_device: Any = None,
                 dim: int = 0, broadcast_buffers: bool = True, process_group: Any = None,
                 bucket_cap_mb: float | None = None, find_unused_parameters: bool = False,
                 gradient_as_bucket_view: bool = False, **kwargs: Any) -> None:
        from ...distributed.process_group import default_group

        super().__init__()
        if not isinstance(module, Module):
            raise TypeError(f"DistributedDataParallel: module must be an nn.Module, got "
                            f"{type(module).__name__}")
        if dim != 0:
            raise ValueError(f"DistributedDataParallel: dim must be 0 (each rank feeds its own "
                             f"batch), got {dim}")
        self.module = module
        self.process_group = default_group(process_group, "DistributedDataParallel")
        self.broadcast_buffers = bool(broadcast_buffers)
        self.find_unused_parameters = bool(find_unused_parameters)
        self.bucket_cap_mb = 25.0 if bucket_cap_mb is None else float(bucket_cap_mb)
        if self.bucket_cap_mb <= 0:
            raise ValueError(f"DistributedDataParallel: bucket_cap_mb must be positive, got "
                             f"{bucket_cap_mb}")
        self.gradient_as_bucket_view = bool(gradient_as_bucket_view)
        self.require_backward_grad_sync = True
        _flat_broadcast(self.process_group, list(module.parameters()) + list(module.buffers()))
        params = [p for p in module.parameters() if p.requires_grad]
        self._buckets = self._make_buckets(params)
        self._shared = self._share_buckets()
        self._where: dict[int, tuple[_Bucket, int, int]] = {}
        for b in self._buckets:
            for i, p in enumerate(b.params):
                self._where[id(p)] = (b, i, b.offsets[i])
        self._n_params = len(params)
        self._ready = 0  # parameters whose gradient is in its bucket
        self._fired = 0  # of them, those whose hook ran in this backward
        self._sync = False
        self._handles = [p.register_post_accumulate_grad_hook(self._on_grad) for p in params]

    # -- buckets --------------------------------------------------------------------------
    def _make_buckets(self, params: list[Any]) -> list[_Bucket]:
        cap = self.bucket_cap_mb * 2**20
        buckets: list[_Bucket] = []
        current: list[Any] = []
        size = 0
        for p in reversed(params):
            nbytes = p._data.nbytes
            if current and (p._data.dtype != current[0]._data.dtype or size + nbytes > cap):
                buckets.append(_Bucket(current, len(buckets)))
                current, size = [], 0
            current.append(p)
            size += nbytes
        if current:
            buckets.append(_Bucket(current, len(buckets)))
        return buckets

    def _share_buckets(self) -> Any:
        """Ranks on one machine: the buckets in shared memory (distributed/shm.py)."""
        from ...distributed.shm import SharedBuckets

        dtypes = {b.buf.dtype for b in self._buckets}
        if self.process_group.size() == 1 or len(dtypes) != 1:
            return None
        shared = SharedBuckets.create(self.process_group, [b.buf.size for b in self._buckets],
                                      dtypes.pop())
        if shared is not None:
            for b, arr in zip(self._buckets, shared.arrays):
                b.buf = arr
        return shared

    def _on_grad(self, p: Any) -> None:
        """``p.grad`` now holds this backward's gradient (plus what no_sync() accumulated)."""
        if not self._sync:
            return
        bucket, i, off = self._where[id(p)]
        slot = bucket.buf[off:off + p._data.size].reshape(p._data.shape)
        # NOTE: in place when .grad is this slot (gradient_as_bucket_view), element by element
        xp.divide(p.grad._data, self.process_group.size(), slot)
        self._fired += 1
        self._mark_ready(bucket)
        if self._ready == self._n_params:
            self._finish()

    def _mark_ready(self, bucket: _Bucket) -> None:
        self._ready += 1
        bucket.pending -= 1
        if bucket.pending == 0:
            pg = self.process_group
            if self._shared is not None:
                bucket.request = self._shared.start(bucket.index)
            else:
                bucket.request = pg.comm.Iallreduce(pg.MPI.IN_PLACE, bucket.buf, pg.MPI.SUM)

    def _finish(self) -> None:
        """All gradients are in: wait for the allreduces and set every ``.grad``."""
        pg = self.process_group
        view = self.gradient_as_bucket_view
        for k, b in enumerate(self._buckets):
            what = f"DistributedDataParallel: allreduce of gradient bucket {k} ({b.buf.size} " \
                   "values)"
            if self._shared is not None:
                self._shared.finish(k, b.request, what)
            else:
                pg.wait(b.request, what)
            b.request = None
            b.pending = len(b.params)
            for p, off in zip(b.params, b.offsets):
                avg = b.buf[off:off + p._data.size].reshape(p._data.shape)
                g = p.grad
                if view:
                    p.grad = _make(avg)
                elif g is not None and g._data.flags.writeable and g._data.shape == avg.shape:
                    xp.copyto(g._data, avg)  # into .grad, as PyTorch copies the bucket out
                    g._vc[0] += 1
                else:
                    p.grad = _make(avg.copy())
        self._ready = self._fired = 0
        self._sync = False

    # -- forward --------------------------------------------------------------------------
    def _prepare(self, output: Any) -> None:
        if self._fired:
            raise RuntimeError(
                "DistributedDataParallel: expected to have finished reduction in the prior "
                f"iteration before starting a new one: only {self._ready} of {self._n_params} "
                "parameters received gradients. Some parameters were not used to produce the "
                "loss: pass find_unused_parameters=True, or make sure every parameter is used "
                "by forward and that the whole output reaches the loss.")
        for k, b in enumerate(self._buckets):  # a forward without backward: drop its buckets
            if b.request is not None:
                self.process_group.wait(b.request, f"DistributedDataParallel: bucket {k}")
                b.request = None
            b.pending = len(b.params)
        self._ready = 0
        self._sync = self.require_backward_grad_sync and is_grad_enabled()
        if self._sync and self.find_unused_parameters:
            used = _reachable_leaves(output)
            for b in self._buckets:
                for p, off in zip(b.params, b.offsets):
                    if id(p._node) not in used:
                        slot = b.buf[off:off + p._data.size]
                        if p.grad is None:
                            slot[...] = 0
                        else:
                            xp.divide(p.grad._data.reshape(-1), self.process_group.size(), slot)
                        self._mark_ready(b)

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        if self.broadcast_buffers and self.module.training:
            bufs = list(self.module.buffers())
            if bufs:
                _flat_broadcast(self.process_group, bufs)
        out = self.module(*args, **kwargs)
        self._prepare(out)
        return out

    @contextlib.contextmanager
    def no_sync(self) -> Iterator[None]:
        """Backward passes of forwards run in here only accumulate ``.grad`` locally."""
        old = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = old

    def extra_repr(self) -> str:
        return (f"world_size={self.process_group.size()}, buckets={len(self._buckets)}, "
                f"bucket_cap_mb={self.bucket_cap_mb:g}")


def _reachable_leaves(output: Any) -> set[int]:
    """ids of the AccumulateGrad nodes the graph of ``output`` reaches."""
    stack = []
    items = output if isinstance(output, (tuple, list)) else (
        output.values() if isinstance(output, dict) else (output,))
    for o in items:
        if isinstance(o, Tensor) and o._node is not None:
            stack.append(o._node)
    seen: set[int] = set()
    leaves: set[int] = set()
    while stack:
        n = stack.pop()
        if id(n) in seen:
            continue
        seen.add(id(n))
        if n.__class__ is AccumulateGrad:
            leaves.add(id(n))
            continue
        stack.extend(x for x in (n.next or ()) if x is not None)
    return leaves
