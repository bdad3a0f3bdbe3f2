"""The process group: which ranks train together, and how a collective waits for them.

One group exists, the world of MPI's ``COMM_WORLD`` (as PyTorch's default group). Collectives
are started non-blocking and waited for by :meth:`ProcessGroup.wait`, which

* gives up after the group's ``timeout`` with a :class:`DistBackendError` naming the
  collective, the rank and the limit, instead of hanging forever;
* watches a side channel on which a failing rank announces its failure, so the other ranks
  raise a :class:`DistError` naming that rank within milliseconds.

A rank fails when an exception escapes its program: the hook installed by
:func:`init_process_group` prints it (prefixed ``[rank R]``), announces it to the other ranks,
then aborts the MPI job, so no rank is left waiting. A rank that is killed outright is detected
by the launcher (mpiexec, srun), which stops the others.
"""

from __future__ import annotations

import datetime
import os
import sys
import time
import traceback
from typing import Any

from ._mpi import launch_env, load_mpi

__all__ = ["DistBackendError", "DistError", "ProcessGroup", "Work", "default_group",
           "destroy_process_group", "get_rank", "get_world_size", "init_process_group",
           "is_available", "is_initialized"]

DEFAULT_TIMEOUT = datetime.timedelta(minutes=30)  # PyTorch's default
_FAULT_TAG = 77
_ANNOUNCE_GRACE_S = 2.0  # how long a failing rank waits for its notices to leave
# NOTE: a waiting rank polls without sleeping for this long, then naps in growing steps (to
# 1 ms). MPICH moves a non-blocking collective forward only inside MPI calls on *every* rank,
# so a rank that sleeps between polls stalls its partner too: sleeping from the 200th poll on
# made the digits-sized allreduce cost 0.6-0.85 ms of a 4.3 ms data-parallel step, polling
# with sched_yield 0.2-0.35 ms of 3.2 ms (benchmarks/bench_distributed.py, 2 ranks, idle
# machine). sched_yield still hands the core to a runnable rank when there are more ranks
# than cores; the naps only start when a collective waits on a rank that is far behind
# (one writing a checkpoint, or a dead one before the timeout).
_SPIN_S = 0.05
_yield_core = getattr(os, "sched_yield", None) or (lambda: time.sleep(0))


class DistError(RuntimeError):
    """A distributed operation failed (PyTorch's ``torch.distributed.DistError``)."""


class DistBackendError(DistError):
    """The communication itself failed or timed out (``torch.distributed.DistBackendError``)."""


class ProcessGroup:
    """The ranks of one MPI communicator, with a timeout for every collective."""

    def __init__(self, MPI: Any, comm: Any, timeout: datetime.timedelta) -> None:
        self.MPI = MPI
        self.comm = comm.Dup()  # collectives of the user's own mpi4py code never mix with ours
        self.fault_comm = comm.Dup()  # the side channel for failure notices
        self._rank = comm.Get_rank()
        self._size = comm.Get_size()
        self.timeout = timeout.total_seconds()

    def rank(self) -> int:
        return self._rank

    def size(self) -> int:
        return self._size

    def __repr__(self) -> str:
        return f"ProcessGroup(backend='mpi', rank={self._rank}, size={self._size})"

    def check_faults(self) -> None:
        """Raise DistError when another rank has announced that it failed."""
        st = self.MPI.Status()
        if self.fault_comm.Iprobe(source=self.MPI.ANY_SOURCE, tag=_FAULT_TAG, status=st):
            msg = self.fault_comm.recv(source=st.Get_source(), tag=_FAULT_TAG)
            raise DistError(f"rank {st.Get_source()} of {self._size} failed ({msg}); rank "
                            f"{self._rank} stops too")

    def wait(self, request: Any, what: str, timeout: float | None = None) -> None:
        """Wait for a non-blocking MPI request, within the timeout (seconds; None: the
        group's), watching for faults."""
        if request.Test():
            return
        limit = self.timeout if timeout is None else timeout
        start = time.monotonic()
        deadline = start + limit
        spins, nap = 0, 0.0
        while not request.Test():
            spins += 1
            if spins % 64 == 0:
                self.check_faults()
                now = time.monotonic()
                if now > deadline:
                    raise DistBackendError(
                        f"{what} timed out after {limit:g} s on rank {self._rank} of "
                        f"{self._size}: another rank did not reach the same collective (it may "
                        "have died, hung, or taken another path through the program). Raise "
                        "the limit with init_process_group(timeout=datetime.timedelta(...)).")
                if now - start > _SPIN_S:
                    nap = min(1e-3, nap + 1e-5)
            if nap:
                time.sleep(nap)
            else:
                _yield_core()

    def announce_failure(self, message: str) -> None:
        """Tell every other rank that this one failed; give the notices a moment to leave."""
        reqs = [self.fault_comm.isend(message, dest=r, tag=_FAULT_TAG)
                for r in range(self._size) if r != self._rank]
        deadline = time.monotonic() + _ANNOUNCE_GRACE_S
        while reqs and time.monotonic() < deadline:
            reqs = [r for r in reqs if not r.Test()]
            time.sleep(1e-3)
        time.sleep(0.2)  # let the others print their own error before the job is aborted

    def free(self) -> None:
        for c in (self.comm, self.fault_comm):
            c.Free()


class Work:
    """A collective in flight (``async_op=True``): ``wait()`` finishes it and returns True."""

    def __init__(self, group: ProcessGroup, request: Any, what: str, finish: Any = None) -> None:
        self.group, self.request, self.what, self._finish = group, request, what, finish
        self._done = False

    def is_completed(self) -> bool:
        return self._done or bool(self.request.Test())

    def wait(self, timeout: datetime.timedelta | None = None) -> bool:
        """Finish the collective; ``timeout`` replaces the group's for this wait."""
        if not self._done:
            self.group.wait(self.request, self.what,
                            None if timeout is None else timeout.total_seconds())
            if self._finish is not None:
                self._finish()
            self._done = True
        return True


_state: dict[str, Any] = {"group": None, "excepthook": None}


def is_available() -> bool:
    """True when mpi4py can be imported (it is not imported here)."""
    import importlib.util

    return importlib.util.find_spec("mpi4py") is not None


def is_initialized() -> bool:
    return _state["group"] is not None


def default_group(group: Any = None, what: str = "") -> ProcessGroup:
    """The process group to use for ``group`` (None: the default one), checked."""
    pg = _state["group"]
    if pg is None:
        raise ValueError(f"{what + ': ' if what else ''}Default process group has not been "
                         "initialized, please make sure to call init_process_group.")
    if group is not None and group is not pg:
        raise ValueError(f"{what}: only the default process group (group=None) is supported, "
                         f"got {group!r}")
    return pg


def get_rank(group: Any = None) -> int:
    return default_group(group, "get_rank").rank()


def get_world_size(group: Any = None) -> int:
    return default_group(group, "get_world_size").size()


def init_process_group(backend: str | None = None, init_method: str | None = None,
                       timeout: datetime.timedelta | None = None, world_size: int = -1,
                       rank: int = -1, **kwargs: Any) -> None:
    """Join the ranks that mpiexec or srun started (``backend="mpi"``, the only one).

    ``timeout``: how long any collective may wait for the other ranks (default 30 minutes).
    ``world_size`` and ``rank``, when given, are checked against what MPI reports.
    """
    if backend not in (None, "mpi"):
        raise ValueError(f"init_process_group: backend {backend!r} is not available; chainrule "
                         "communicates through MPI: use backend='mpi' and start the ranks with "
                         "mpiexec or srun")
    if init_method not in (None, "env://"):
        raise ValueError(f"init_process_group: init_method {init_method!r} is not supported; "
                         "MPI's launcher (mpiexec, srun) connects the ranks")
    unknown = set(kwargs) - {"store", "group_name", "pg_options", "device_id"}
    if unknown:
        raise TypeError(f"init_process_group: unexpected arguments {sorted(unknown)}")
    if _state["group"] is not None:
        raise ValueError("trying to initialize the default process group twice!")
    if timeout is None:
        timeout = DEFAULT_TIMEOUT
    if not isinstance(timeout, datetime.timedelta) or timeout.total_seconds() <= 0:
        raise TypeError(f"init_process_group: timeout must be a positive datetime.timedelta, "
                        f"got {timeout!r}")
    MPI = load_mpi()
    pg = ProcessGroup(MPI, MPI.COMM_WORLD, timeout)
    env = launch_env()
    if env is not None and env[1] != pg.size():
        raise DistError(
            f"init_process_group: {env[2]} started {env[1]} processes but MPI sees a world of "
            f"{pg.size()}: the MPI library mpi4py loaded cannot talk to that launcher. Use the "
            "mpiexec of the same MPI (chainrule's launcher finds it), or with Slurm "
            "srun --mpi=pmi2 (or pmix).")
    for name, want, got in (("world_size", world_size, pg.size()), ("rank", rank, pg.rank())):
        if want not in (-1, None) and want != got:
            raise ValueError(f"init_process_group: {name}={want} but the launcher started this "
                             f"process with {name} {got}")
    _state["group"] = pg
    _state["excepthook"] = sys.excepthook
    sys.excepthook = _abort_on_uncaught


def destroy_process_group(group: Any = None) -> None:
    pg = default_group(group, "destroy_process_group")
    pg.free()
    _state["group"] = None
    if sys.excepthook is _abort_on_uncaught:
        sys.excepthook = _state["excepthook"]


def _abort_on_uncaught(exc_type: Any, exc: BaseException, tb: Any) -> None:
    """An exception escaped a rank: print it, tell the others, abort the whole job."""
    pg = _state["group"]
    text = "".join(traceback.format_exception(exc_type, exc, tb))
    if pg is None or pg.size() == 1:
        (_state["excepthook"] or sys.__excepthook__)(exc_type, exc, tb)
        return
    r = pg.rank()
    sys.stderr.write("".join(f"[rank {r}] {line}\n" for line in text.rstrip().splitlines()))
    summary = f"{exc_type.__name__}: {exc}".splitlines()[0][:300]
    sys.stderr.write(f"chainrule.distributed: rank {r} of {pg.size()} failed ({summary}); "
                     "aborting all ranks\n")
    sys.stderr.flush()
    if not isinstance(exc, DistError):  # a DistError is already about another rank's failure
        try:
            pg.announce_failure(summary)
        except Exception:  # noqa: BLE001 - announcing is best effort; aborting is not
            pass
    pg.MPI.COMM_WORLD.Abort(1)
