"""DistributedDataParallel: one model replica per rank, gradients averaged after backward.

How the gradients travel: the parameters that require grad are split into buckets (in
reverse order of registration, as PyTorch does: roughly the order backward reaches them),
each bucket owning one flat buffer of at most ``bucket_cap_mb``. A hook on every parameter
copies the parameter's gradient into its place in the bucket; when a bucket is complete its
non-blocking allreduce starts, so communication overlaps with the hooks of the next buckets.
When the last parameter's gradient has arrived, every bucket is waited for, divided by the
world size, and written into ``param.grad``: after ``loss.backward()`` every rank holds the
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
    __slots__ = ("params", "offsets", "buf", "pending", "request")

    def __init__(self, params: list[Any]) -> None:
        self.params = params
        self.offsets, n = [], 0
        for p in params:
            self.offsets.append(n)
            n += p._data.size
        self.buf = xp.zeros(n, params[0]._data.dtype)
        self.pending = len(params)
        self.request: Any = None


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
    at every forward in training mode.
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
        self.require_backward_grad_sync = True
        _flat_broadcast(self.process_group, list(module.parameters()) + list(module.buffers()))
        params = [p for p in module.parameters() if p.requires_grad]
        self._buckets = self._make_buckets(params)
        self._where: dict[int, tuple[_Bucket, int, int]] = {}
        for b in self._buckets:
            for i, p in enumerate(b.params):
                self._where[id(p)] = (b, i, b.offsets[i])
        self._n_params = len(params)
        self._ready = 0  # parameters whose gradient is in its bucket
        self._fired = 0  # of them, those whose hook ran in this backward
        self._sync = False
        self._handles = [p.register_hook(self._hook_for(p)) for p in params]

    # -- buckets --------------------------------------------------------------------------
    def _make_buckets(self, params: list[Any]) -> list[_Bucket]:
        cap = self.bucket_cap_mb * 2**20
        buckets: list[_Bucket] = []
        current: list[Any] = []
        size = 0
        for p in reversed(params):
            nbytes = p._data.nbytes
            if current and (p._data.dtype != current[0]._data.dtype or size + nbytes > cap):
                buckets.append(_Bucket(current))
                current, size = [], 0
            current.append(p)
            size += nbytes
        if current:
            buckets.append(_Bucket(current))
        return buckets

    def _hook_for(self, p: Any) -> Any:
        def hook(g: Tensor) -> Tensor | None:
            return self._on_grad(p, g)

        return hook

    def _on_grad(self, p: Any, g: Tensor) -> Tensor | None:
        if not self._sync:
            return None
        bucket, i, off = self._where[id(p)]
        # NOTE: copied in the parameter's shape: a weight's gradient is often a transposed
        # (non-contiguous) array, and reshape(-1) first would copy it twice.
        slot = bucket.buf[off:off + p._data.size].reshape(p._data.shape)
        xp.copyto(slot, g._data)
        if p.grad is not None:  # gradients accumulated under no_sync() travel too
            slot += p.grad._data
        self._fired += 1
        self._mark_ready(bucket)
        if self._ready < self._n_params:
            return None
        return self._finish(p)

    def _mark_ready(self, bucket: _Bucket) -> None:
        self._ready += 1
        bucket.pending -= 1
        if bucket.pending == 0:
            pg = self.process_group
            bucket.request = pg.comm.Iallreduce(pg.MPI.IN_PLACE, bucket.buf, pg.MPI.SUM)

    def _finish(self, last: Any) -> Tensor:
        """All gradients are in: wait, average, write ``.grad``; return ``last``'s gradient."""
        pg = self.process_group
        out = None
        for k, b in enumerate(self._buckets):
            pg.wait(b.request, f"DistributedDataParallel: allreduce of gradient bucket {k} "
                               f"({b.buf.size} values)")
            b.request = None
            b.pending = len(b.params)
            for p, off in zip(b.params, b.offsets):  # divide and copy out in one pass
                avg = xp.divide(b.buf[off:off + p._data.size], pg.size()).reshape(p._data.shape)
                if p is last:
                    p.grad = None  # the engine stores what the hook returns
                    out = _make(avg)
                else:
                    p.grad = _make(avg)
        self._ready = self._fired = 0
        self._sync = False
        assert out is not None
        return out

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
                        slot[...] = 0 if p.grad is None else p.grad._data.reshape(-1)
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
