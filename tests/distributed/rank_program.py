"""The program the tests run on several ranks: ``mpiexec -n N python rank_program.py MODE ...``.

Each mode asserts what every rank must see; a failing assertion fails the run (exit code).
"""

import datetime
import os
import signal
import sys
import time

import numpy as np

import chainrule as cr
import chainrule.distributed as dist
from chainrule import nn
from chainrule.data import DataLoader, DistributedSampler, TensorDataset
from chainrule.nn.parallel import DistributedDataParallel as DDP


def collectives(r, n):
    t = cr.tensor([r + 1.0, 10.0 * r])
    dist.all_reduce(t)
    assert t.tolist() == [n * (n + 1) / 2, 10.0 * n * (n - 1) / 2], t
    for op, want in ((dist.ReduceOp.AVG, (n + 1) / 2), (dist.ReduceOp.MAX, n),
                     (dist.ReduceOp.MIN, 1), (dist.ReduceOp.PRODUCT, float(np.prod(
                         np.arange(1, n + 1))))):
        t = cr.tensor([r + 1.0], dtype=cr.float64)
        dist.all_reduce(t, op)
        assert t.item() == want, (op, t)
    t = cr.arange(6).reshape(2, 3) * (r + 1)
    dist.broadcast(t, src=n - 1)
    assert t.tolist() == (cr.arange(6).reshape(2, 3) * n).tolist()
    nc = cr.zeros(4, 3, dtype=cr.float32)[:, 1]  # not contiguous: written back in place
    nc += r
    dist.all_reduce(nc)
    assert nc.tolist() == [n * (n - 1) / 2] * 4
    out = [cr.zeros(2) for _ in range(n)]
    dist.all_gather(out, cr.full((2,), float(r)))
    assert [o.tolist() for o in out] == [[float(k)] * 2 for k in range(n)]
    o = cr.zeros(2)
    dist.reduce_scatter(o, [cr.full((2,), float(10 * k + r)) for k in range(n)])
    assert o.tolist() == [10.0 * r * n + n * (n - 1) / 2] * 2
    w = dist.all_reduce(cr.ones(3), async_op=True)
    assert w.wait() is True and w.is_completed()
    dist.barrier()
    for call, err in ((lambda: dist.all_reduce(cr.ones(2, dtype=cr.float16)), "float16"),
                      (lambda: dist.all_reduce(cr.ones(2), "sum"), "must be a ReduceOp"),
                      (lambda: dist.all_reduce(cr.ones(2, dtype=cr.int64), dist.ReduceOp.AVG),
                       "needs a floating-point"),
                      (lambda: dist.broadcast(cr.ones(2), src=n), "src must be a rank"),
                      (lambda: dist.all_gather([cr.ones(2)] * (n + 1), cr.ones(2)),
                       "one tensor per rank"),
                      (lambda: dist.all_gather([cr.ones(3)] * n, cr.ones(2)), r"tensor_list\[0\]"),
                      (lambda: dist.all_reduce([1.0]), "must be a chainrule Tensor"),
                      (lambda: dist.init_process_group("mpi"), "twice")):
        try:
            call()
        except (TypeError, ValueError) as e:
            assert __import__("re").search(err, str(e)), (err, e)
        else:
            raise AssertionError(f"no error for {err}")


def data(n_samples=64, seed=0):
    rng = np.random.default_rng(seed)
    return TensorDataset(cr.tensor(rng.standard_normal((n_samples, 5))),
                         cr.tensor(rng.integers(0, 3, n_samples)))


def model(r, bn=False):
    cr.manual_seed(100 + r)  # a different init on every rank: DDP copies rank 0's
    layers = [nn.Linear(5, 16), nn.ReLU(), nn.Linear(16, 3)]
    if bn:
        layers.insert(1, nn.BatchNorm1d(16))
    return nn.Sequential(*layers).to(cr.float64)


def train(r, n, out, view=False):
    """The correctness run: global batch 16 over n ranks, 3 epochs of SGD with momentum."""
    m = model(r)
    ddp = DDP(m, bucket_cap_mb=0.0005, gradient_as_bucket_view=view)  # several buckets
    assert len(ddp._buckets) > 1
    opt = cr.optim.SGD(ddp.parameters(), lr=0.1, momentum=0.9)
    ds = data()
    sampler = DistributedSampler(ds, shuffle=True, seed=1)
    for epoch in range(3):
        sampler.set_epoch(epoch)
        for xb, yb in DataLoader(ds, batch_size=16 // n, sampler=sampler):
            loss = nn.functional.cross_entropy(ddp(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
    # the ranks share one machine: buckets in shared memory unless CHAINRULE_DDP_SHM=0 (or
    # /dev/shm has no room for them: a container's can be small)
    from chainrule.distributed.shm import _room

    room = _room(sum(b.buf.nbytes for b in ddp._buckets))
    assert (ddp._shared is not None) == (n > 1 and os.environ["CHAINRULE_DDP_SHM"] != "0"
                                         and room)
    if n > 1:  # .grad is a view of its bucket, or a copy of it
        bufs = [b.buf for b in ddp._buckets]
        assert all(any(np.shares_memory(p.grad.numpy(), b) for b in bufs) == view
                   for p in m.parameters())
    w = np.concatenate([p.detach().numpy().ravel() for p in m.parameters()])
    np.save(os.path.join(out, f"w{n}_{r}{'_view' if view else ''}.npy"), w)
    return [p.grad for p in m.parameters()]  # read again after destroy_process_group


def no_sync(r, n):
    """Two micro-batches with no_sync() then a synced one == one big batch, summed losses."""
    ds = data(8 * n * 3, seed=2)
    m1, m2 = model(r), model(r)
    a, b = DDP(m1), DDP(m2)
    parts = [ds.get_batch(slice(8 * (n * k + r), 8 * (n * k + r + 1))) for k in range(3)]
    with a.no_sync():
        for xb, yb in parts[:2]:
            nn.functional.cross_entropy(a(xb), yb).backward()
    assert all(p.grad is not None for p in m1.parameters())
    nn.functional.cross_entropy(a(parts[2][0]), parts[2][1]).backward()
    x = cr.cat([p[0] for p in parts])
    y = cr.cat([p[1] for p in parts])
    (nn.functional.cross_entropy(b(x), y) * 3).backward()
    for p, q in zip(m1.parameters(), m2.parameters()):
        assert np.allclose(p.grad.numpy(), q.grad.numpy(), atol=1e-12, rtol=0)
        g = p.grad.clone()
        dist.all_reduce(g, dist.ReduceOp.MAX)
        assert np.array_equal(g.numpy(), p.grad.numpy())  # the same on every rank
    # .grad as views of the buckets: the same gradients, also when .grad is not zeroed
    # between steps (the next backward adds to the averaged .grad, the sum is averaged)
    m3, m4 = model(r), model(r)
    c, d = DDP(m3, gradient_as_bucket_view=True), DDP(m4)
    for _ in range(2):
        for k in range(2):
            for ddp in (c, d):
                nn.functional.cross_entropy(ddp(parts[k][0]), parts[k][1]).backward()
        for p, q in zip(m3.parameters(), m4.parameters()):
            assert np.array_equal(p.grad.numpy(), q.grad.numpy())
        with c.no_sync(), d.no_sync():
            for ddp in (c, d):
                nn.functional.cross_entropy(ddp(parts[2][0]), parts[2][1]).backward()


def buffers_and_unused(r, n):
    m = model(r, bn=True)
    ddp = DDP(m)
    for p in m.parameters():  # broadcast at construction
        q = p.detach().clone()
        dist.broadcast(q, 0)
        assert np.array_equal(q.numpy(), p.detach().numpy())
    with cr.no_grad():
        m[1].running_mean += r + 1.0  # rank 0's buffers win at the next forward
    cr.manual_seed(0)  # the same batch on every rank: the same update of the same statistics
    ddp(cr.randn(4, 5, dtype=cr.float64))
    expect = m[1].running_mean.clone()
    dist.broadcast(expect, 0)
    assert np.array_equal(expect.numpy(), m[1].running_mean.numpy())

    class TwoHeads(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = nn.Linear(3, 2), nn.Linear(3, 2)

        def forward(self, x):
            return self.a(x)

    x = cr.randn(4, 3)
    ok = DDP(TwoHeads(), find_unused_parameters=True)
    ok(x)  # a forward without backward (evaluation with grad enabled) leaves nothing pending
    ok(x).sum().backward()
    assert ok.module.b.weight.grad.abs().sum().item() == 0 and ok.module.a.weight.grad is not None
    bad = DDP(TwoHeads())
    bad(x).sum().backward()
    try:
        bad(x)
    except RuntimeError as e:
        assert "find_unused_parameters=True" in str(e) and "2 of 4" in str(e), e
    else:
        raise AssertionError("no error for unused parameters")


def shm_order(r, n):
    """Ranks that finish their buckets in different orders get an error, not mixed sums."""
    from chainrule.distributed.process_group import default_group
    from chainrule.distributed.shm import SharedBuckets

    shared = SharedBuckets.create(default_group(), [5, 7], np.dtype(np.float64))
    assert shared is not None
    order = [0, 1] if r == 0 else [1, 0]
    requests = {k: shared.start(k) for k in order}
    try:
        shared.finish(0, requests[0], "bucket 0")
    except RuntimeError as e:
        assert "different orders" in str(e) and "reduced bucket 0 while another rank reduced " \
            "bucket 1" in str(e), e
    else:
        raise AssertionError("no error for buckets reduced in different orders")
    default_group().wait(requests[1], "bucket 1")


def fault(r, n, how):
    dist.barrier()
    if r == n - 1:
        if how == "raise":
            raise ValueError("boom on purpose")
        if how == "kill":
            os.kill(os.getpid(), signal.SIGKILL)
        if how == "hang":
            time.sleep(60)
    for _ in range(1000):  # the others keep communicating
        dist.all_reduce(cr.ones(3))
    time.sleep(60)  # never reached in a healthy test: the failure stops this rank first


if __name__ == "__main__":
    mode = sys.argv[1]
    timeout = datetime.timedelta(seconds=float(os.environ.get("TEST_DIST_TIMEOUT", "60")))
    dist.init_process_group("mpi", timeout=timeout)
    rank, size = dist.get_rank(), dist.get_world_size()
    if mode == "collectives":
        collectives(rank, size)
    elif mode == "train":
        kept = train(rank, size, sys.argv[2], view=sys.argv[3:] == ["view"])
    elif mode == "no_sync":
        no_sync(rank, size)
    elif mode == "buffers":
        buffers_and_unused(rank, size)
    elif mode == "shm_order":
        shm_order(rank, size)
    elif mode == "fault":
        fault(rank, size, sys.argv[2])
    print(f"rank {rank} of {size}: {mode} ok", flush=True)
    dist.destroy_process_group()
    if mode == "train":  # gradients that view shared buckets stay readable
        assert all(np.isfinite(g.numpy()).all() for g in kept)
