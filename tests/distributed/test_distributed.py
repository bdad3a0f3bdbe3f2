"""cr.distributed, DistributedDataParallel and DistributedSampler, on real MPI ranks.

The multi-rank tests launch ``rank_program.py`` with mpiexec; they skip (saying why) where
mpi4py or an mpiexec is missing: ``pip install "chainrule[mpi]"``.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr
import chainrule.distributed as dist
from chainrule.data import DataLoader, DistributedSampler, TensorDataset

PROGRAM = Path(__file__).with_name("rank_program.py")
MPIEXEC = dist.find_mpiexec()
needs_mpi = pytest.mark.skipif(
    MPIEXEC is None or not dist.is_available(),
    reason='needs mpi4py and an mpiexec: pip install "chainrule[mpi]"')


def launch(n, *args, timeout_s=None, check=True, **env_extra):
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1",
               **env_extra)
    if timeout_s is not None:
        env["TEST_DIST_TIMEOUT"] = str(timeout_s)
    # NOTE: the 240 s is a guard against a hang failing the suite slowly, not a timing test.
    res = subprocess.run([MPIEXEC, "-n", str(n), sys.executable, str(PROGRAM), *map(str, args)],
                         capture_output=True, text=True, env=env, timeout=240)
    if check:
        assert res.returncode == 0, res.stdout + res.stderr
    return res


@needs_mpi
@pytest.mark.parametrize("n", [1, 2, 3])
def test_collectives(n):
    out = launch(n, "collectives").stdout
    # NOTE: ranks share one stdout pipe and print writes the text and its newline separately,
    # so lines can interleave ("...okrank 1..."): find the reports rather than split lines.
    found = sorted(re.findall(r"rank \d+ of \d+: collectives ok", out))
    assert found == [f"rank {r} of {n}: collectives ok" for r in range(n)], out


@needs_mpi
@pytest.mark.parametrize("view, shm", [("", "1"), ("view", "1"), ("", "0")])
def test_two_ranks_follow_one_rank_trajectory(tmp_path, view, shm):
    """1 rank with global batch 16 and 2 ranks with 8 each: the same weights, to 1e-10 (with
    .grad copied out of the buckets, and as views of them: gradient_as_bucket_view; buckets
    reduced in shared memory, and with CHAINRULE_DDP_SHM=0 by MPI's allreduce)."""
    launch(1, "train", tmp_path, view, CHAINRULE_DDP_SHM=shm)
    launch(2, "train", tmp_path, view, CHAINRULE_DDP_SHM=shm)
    sfx = "_view" if view else ""
    one = np.load(tmp_path / f"w1_0{sfx}.npy")
    a, b = np.load(tmp_path / f"w2_0{sfx}.npy"), np.load(tmp_path / f"w2_1{sfx}.npy")
    assert np.array_equal(a, b)
    assert np.abs(one - a).max() < 1e-10
    assert np.abs(one).max() > 0.1  # trained weights, not zeros


@needs_mpi
@pytest.mark.parametrize("n", [2, 3])
def test_no_sync_accumulates_then_averages(n):
    """Also the shared-memory buckets of 3 ranks: parts of unequal sizes, the same bits on
    every rank."""
    launch(n, "no_sync")


@needs_mpi
def test_shared_buckets_reduced_in_different_orders_raise():
    from chainrule.distributed.shm import _room

    if not _room(1024):
        pytest.skip("/dev/shm has no room here: DistributedDataParallel uses MPI's allreduce")
    launch(2, "shm_order")


@needs_mpi
def test_buffers_broadcast_and_unused_parameters():
    launch(2, "buffers")


@needs_mpi
def test_a_rank_that_raises_stops_the_others():
    res = launch(2, "fault", "raise", check=False)
    assert res.returncode != 0
    err = res.stderr
    assert "[rank 1] ValueError: boom on purpose" in err
    assert "rank 1 of 2 failed (ValueError: boom on purpose); aborting all ranks" in err
    assert "ok" not in res.stdout


@needs_mpi
def test_a_killed_rank_stops_the_others():
    res = launch(2, "fault", "kill", check=False)
    assert res.returncode != 0 and "ok" not in res.stdout
    assert "signal 9" in res.stdout + res.stderr  # the launcher's report


@needs_mpi
def test_a_hung_rank_times_out_the_collective():
    res = launch(2, "fault", "hang", timeout_s=2, check=False)
    assert res.returncode != 0 and "ok" not in res.stdout
    assert "all_reduce of (3,) torch.float32 timed out after 2 s on rank 0 of 2" in res.stderr


def test_without_a_process_group():
    assert not dist.is_initialized()
    with pytest.raises(ValueError, match="Default process group has not been initialized"):
        dist.get_rank()
    with pytest.raises(ValueError, match="has not been initialized"):
        dist.all_reduce(cr.ones(2))
    with pytest.raises(ValueError, match="pass num_replicas= and rank="):
        DistributedSampler(range(4))
    with pytest.raises(ValueError, match="backend 'nccl' is not available"):
        dist.init_process_group("nccl")
    with pytest.raises(ValueError, match="init_method 'tcp://x:1' is not supported"):
        dist.init_process_group("mpi", init_method="tcp://x:1")


def test_nothing_of_mpi_is_imported_until_asked_for():
    code = ("import sys, chainrule as cr, chainrule.distributed, chainrule.nn.parallel, "
            "chainrule.cli.parallel; cr.data.DistributedSampler(range(4), 2, 0); "
            "print(sorted(m for m in sys.modules if m.startswith('mpi')))")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert res.stdout.strip() == "[]"


def test_launch_env():
    assert dist.launch_env({"OMPI_COMM_WORLD_RANK": "2", "OMPI_COMM_WORLD_SIZE": "4"}) == (
        2, 4, "Open MPI's mpiexec")
    assert dist.launch_env({"SLURM_PROCID": "0", "SLURM_NTASKS": "8"}) is None  # no step
    with pytest.raises(RuntimeError, match="PMI_RANK=4 is not a rank of a world of 4"):
        dist.launch_env({"PMI_RANK": "4", "PMI_SIZE": "4"})


@pytest.mark.parametrize("n, replicas, drop_last", [(10, 3, False), (10, 3, True), (9, 3, False),
                                                   (2, 4, False), (11, 4, True)])
def test_distributed_sampler_matches_pytorch_without_shuffle(n, replicas, drop_last):
    torch_data = pytest.importorskip("torch.utils.data")
    for r in range(replicas):
        ours = DistributedSampler(range(n), replicas, r, shuffle=False, drop_last=drop_last)
        theirs = torch_data.DistributedSampler(range(n), replicas, r, shuffle=False,
                                               drop_last=drop_last)
        assert len(ours) == len(theirs) and list(ours) == list(theirs)


def test_distributed_sampler_shuffles_per_epoch():
    parts = [DistributedSampler(range(10), 2, r, seed=3) for r in range(2)]
    first = [list(s) for s in parts]
    assert sorted(first[0] + first[1]) == list(range(10)) and first[0] != [0, 2, 4, 6, 8]
    assert [list(s) for s in parts] == first  # same epoch, same order
    for s in parts:
        s.set_epoch(1)
    assert [list(s) for s in parts] != first
    with pytest.raises(ValueError, match=r"Invalid rank 2, rank should be in the interval \[0, 1"):
        DistributedSampler(range(4), 2, 2)
    ds = TensorDataset(cr.arange(10))
    loader = DataLoader(ds, batch_size=3, sampler=DistributedSampler(ds, 2, 1, shuffle=False))
    assert len(loader) == 2 and [b[0].tolist() for b in loader] == [[1, 3, 5], [7, 9]]
    with pytest.raises(ValueError, match="mutually exclusive with shuffle"):
        DataLoader(ds, sampler=parts[0], shuffle=True)


@needs_mpi
def test_the_example_of_docs_distributed_runs(tmp_path):
    """docs/distributed.md's program, on 2 ranks, on a small MNIST-format folder."""
    from chainrule.data import write_idx

    text = (Path(__file__).parents[2] / "docs" / "distributed.md").read_text()
    code = text.split("```python\n")[1].split("```")[0]
    rng = np.random.default_rng(0)
    write_idx(tmp_path / "train-images-idx3-ubyte.gz", rng.integers(0, 256, (64, 28, 28),
                                                                     dtype=np.uint8))
    write_idx(tmp_path / "train-labels-idx1-ubyte", rng.integers(0, 10, 64).astype(np.uint8))
    code = code.replace('"data/mnist"', repr(str(tmp_path))).replace("range(10)", "range(2)")
    code = code.replace('"mlp.safetensors"', repr(str(tmp_path / "mlp.safetensors")))
    script = tmp_path / "example.py"
    script.write_text(code)
    res = subprocess.run([MPIEXEC, "-n", "2", sys.executable, str(script)], capture_output=True,
                         text=True, timeout=240)
    assert res.returncode == 0, res.stderr
    assert set(cr.load(tmp_path / "mlp.safetensors")) == {"1.weight", "1.bias", "3.weight",
                                                           "3.bias"}
