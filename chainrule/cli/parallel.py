"""Data-parallel training from the command line: launching ranks, and what each rank does.

``chainrule train digits --workers N`` starts N ranks through mpiexec (:func:`launch`); the
ranks, or those ``mpiexec -n N chainrule train ...`` / ``srun chainrule train ...`` start,
train with :class:`Ranks`. Every epoch's order is a permutation drawn from ``seed + epoch``
and cut into global batches of ``--batch-size`` samples, each rank taking every N-th sample:
the same global batches for any N (the samples left over by the last complete batch wait for
another epoch's order), so a run can be resumed with another number of ranks.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, Sequence

import chainrule as cr
from chainrule.cli import CLIError

__all__ = ["Ranks", "launch", "launch_workers", "launched_ranks", "ranks_for", "silent_console"]

# The blocks MPICH's mpiexec prints when a rank dies ("PID 123 RUNNING AT host", "EXIT CODE: 9").
_HYDRA_PID = re.compile(r"PID (\d+) RUNNING AT")
_HYDRA_CODE = re.compile(r"EXIT CODE: (\d+)")


def launched_ranks() -> int:
    """How many ranks the launcher of this process started (1: not launched by one)."""
    from chainrule.distributed import launch_env

    env = launch_env()
    return 1 if env is None else env[1]


class Ranks:
    """This process's part in data-parallel training over ``world_size`` ranks.

    With MPI (``mpi=True``) it joins the process group; without, it is the only rank and
    trains on the same global batches in the same order (used to resume such a run alone).
    """

    def __init__(self, mpi: bool) -> None:
        self.rank, self.size = 0, 1
        if mpi:
            import chainrule.distributed as dist

            dist.init_process_group("mpi")
            self.rank, self.size = dist.get_rank(), dist.get_world_size()
            pid_dir = os.environ.get("CHAINRULE_PID_DIR")
            if pid_dir:  # lets `--workers` name the rank that died
                Path(pid_dir, str(os.getpid())).write_text(str(self.rank))
        self.is_main = self.rank == 0
        self.sampler: Any = None

    def wrap(self, model: Any) -> Any:
        if self.size == 1:
            return model
        from chainrule.nn.parallel import DistributedDataParallel

        # .grad as views of the buckets: no copy out (the loop reads .grad only before the
        # next backward)
        return DistributedDataParallel(model, gradient_as_bucket_view=True)

    def loader(self, dataset: Any, batch_size: int, seed: int) -> Any:
        from chainrule.data import DataLoader, DistributedSampler

        if batch_size % self.size:
            raise ValueError(f"--batch-size {batch_size} (the global batch) must be a multiple "
                             f"of the number of ranks, {self.size}")
        # NOTE: both drop_last: every step is a complete global batch, the same samples for
        # any number of ranks (an incomplete last one would be padded differently per N).
        self.sampler = DistributedSampler(dataset, self.size, self.rank, shuffle=True,
                                          seed=seed, drop_last=True)
        return DataLoader(dataset, batch_size=batch_size // self.size, sampler=self.sampler,
                          drop_last=True)

    def start_epoch(self, seed: int, epoch: int) -> None:
        """The epoch's order, and a global generator (dropout) of its own for every rank."""
        self.sampler.set_epoch(epoch)
        cr.manual_seed((seed * 1_000_003 + epoch) * 1009 + self.rank)

    def totals(self, *values: float) -> list[float]:
        """``values`` summed over the ranks (loss sums, counts)."""
        if self.size == 1:
            return list(values)
        import chainrule.distributed as dist

        t = cr.tensor(list(values), dtype=cr.float64)
        dist.all_reduce(t)
        return t.tolist()

    def marker(self) -> str:
        """What the checkpoint records: resume this run with the same batch order."""
        return json.dumps({"world_size": self.size})


def launch(n: int, argv: Sequence[str]) -> int:
    """Run ``chainrule <argv>`` on ``n`` local ranks through mpiexec; its exit code.

    Each rank gets single-threaded BLAS unless the environment says otherwise (the ranks
    share the cores). When a rank dies, mpiexec stops the others and this says which.
    """
    from chainrule.distributed import find_mpiexec, is_available
    from chainrule.distributed._mpi import MPI_INSTALL_HINT

    mpiexec = find_mpiexec()
    if mpiexec is None or not is_available():
        raise ImportError(f"--workers needs mpi4py and mpiexec: {MPI_INSTALL_HINT}")
    threads = str(max(1, (os.cpu_count() or 1) // n))
    env = dict(os.environ)
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env.setdefault(var, threads)
    with tempfile.TemporaryDirectory(prefix="chainrule-ranks-") as pid_dir:
        env["CHAINRULE_PID_DIR"] = pid_dir
        cmd = [mpiexec, "-n", str(n), sys.executable, "-m", "chainrule", *argv]
        proc = subprocess.Popen(cmd, env=env, stderr=subprocess.PIPE, text=True, bufsize=1)
        assert proc.stderr is not None
        dead: list[tuple[str, str]] = []
        try:
            for line in proc.stderr:
                sys.stderr.write(line)
                m = _HYDRA_PID.search(line)
                if m:
                    dead.append((m.group(1), "?"))
                m = _HYDRA_CODE.search(line)
                if m and dead:
                    dead[-1] = (dead[-1][0], m.group(1))
            code = proc.wait()
        except KeyboardInterrupt:
            proc.wait()
            raise
        for pid, exit_code in dead:
            f = Path(pid_dir, pid)
            who = f"rank {f.read_text()}" if f.exists() else "a rank"
            sys.stderr.write(f"chainrule: {who} (pid {pid}) ended with status {exit_code}; "
                             "mpiexec stopped the other ranks\n")
    return code


def ranks_for(args: Any, resume: dict[str, Any] | None) -> Ranks | None:
    """Data-parallel training for this process: under mpiexec/srun with several ranks, with
    ``--workers 1``, or resuming a data-parallel run (alone: the same batches in one process)."""
    mpi = launched_ranks() > 1
    if not (mpi or args.workers == 1 or (resume is not None and "ranks" in resume)):
        return None
    try:
        return Ranks(mpi)
    except ImportError as e:
        raise CLIError(str(e)) from None


def silent_console() -> Any:
    """A console for the ranks other than 0: they print nothing."""
    from rich.console import Console

    return Console(file=open(os.devnull, "w"), highlight=False, soft_wrap=True)


def launch_workers(args: Any) -> int:
    """``--workers N``: the same command line, without ``--workers``, on N local ranks."""
    if launched_ranks() > 1:
        raise CLIError("--workers starts its own ranks: under mpiexec or srun, leave it out")
    argv, skip = [], False
    for a in args.argv:
        if skip:
            skip = False
        elif a == "--workers":
            skip = True
        elif not a.startswith("--workers="):
            argv.append(a)
    try:
        return launch(args.workers, argv)
    except ImportError as e:
        raise CLIError(str(e)) from None
    except KeyboardInterrupt:
        return 130
