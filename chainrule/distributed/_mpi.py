"""Finding MPI: the mpi4py module, the MPI library under it, and the ``mpiexec`` launcher.

Nothing here imports mpi4py at module level: ``import chainrule`` (and even
``import chainrule.distributed``) costs nothing of MPI until a process group is created.

Where the MPI library comes from: mpi4py loads the library it finds first (one the process
already has, ``MPI4PY_LIBMPI``, the Python prefix's ``lib/``, then the system's search path), so
a system MPI on a cluster is used when mpi4py finds it. When mpi4py finds none but the MPICH
wheel (``pip install "chainrule[mpi]"``) is installed somewhere else on ``sys.path`` (a
virtual environment layered on another one), its library is pointed to explicitly.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from typing import Any

__all__ = ["MPI_INSTALL_HINT", "find_mpiexec", "launch_env", "load_mpi"]

MPI_INSTALL_HINT = ('install MPI support with: pip install "chainrule[mpi]" (mpi4py and the '
                    "MPICH wheel), or pip install mpi4py against your cluster's MPI")

# The variables launchers set for each process: (rank, world size) names, most specific first.
# mpiexec of MPICH/Intel MPI (Hydra): PMI_*; Open MPI: OMPI_COMM_WORLD_*; PMIx launchers:
# Slurm's srun: SLURM_PROCID and SLURM_STEP_NUM_TASKS (the job step's tasks: a batch script
# run without srun is one process, whatever SLURM_NTASKS says).
_LAUNCH_VARS = (
    ("OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE", "Open MPI's mpiexec"),
    ("PMI_RANK", "PMI_SIZE", "mpiexec (PMI)"),
    ("SLURM_PROCID", "SLURM_STEP_NUM_TASKS", "srun"),
)


def launch_env(environ: Any = None) -> tuple[int, int, str] | None:
    """``(rank, world_size, launcher)`` as the launcher of this process set them, else None.

    >>> launch_env({"PMI_RANK": "1", "PMI_SIZE": "4"})
    (1, 4, 'mpiexec (PMI)')
    >>> launch_env({"SLURM_PROCID": "0", "SLURM_STEP_NUM_TASKS": "2"})
    (0, 2, 'srun')
    >>> launch_env({}) is None
    True
    """
    env = os.environ if environ is None else environ
    for rank_var, size_var, who in _LAUNCH_VARS:
        if rank_var in env and size_var in env:
            try:
                rank, size = int(env[rank_var]), int(env[size_var])
            except ValueError:
                raise RuntimeError(f"{rank_var}={env[rank_var]!r} and {size_var}="
                                   f"{env[size_var]!r} set by {who} are not integers") from None
            if not 0 <= rank < size:
                raise RuntimeError(f"{rank_var}={rank} is not a rank of a world of {size} "
                                   f"({size_var}) as set by {who}")
            return rank, size, who
    return None


def _mpich_files(suffixes: tuple[str, ...]) -> list[Path]:
    """Files of the installed MPICH wheel whose names end with one of ``suffixes``."""
    from importlib import metadata

    try:
        dist = metadata.distribution("mpich")
    except metadata.PackageNotFoundError:
        return []
    out = []
    for f in dist.files or ():
        if str(f).endswith(suffixes):
            p = Path(str(dist.locate_file(f))).resolve()
            if p.exists():
                out.append(p)
    return out


def load_mpi() -> Any:
    """The ``mpi4py.MPI`` module (MPI initialised), or ImportError saying how to install it."""
    try:
        import mpi4py
    except ImportError:
        raise ImportError(f"distributed training needs mpi4py: {MPI_INSTALL_HINT}") from None
    # NOTE: errors inside MPI become Python exceptions (mpi4py's default), never an abort in
    # the library; chainrule's own fault handling (process_group.py) decides when to abort.
    mpi4py.rc.errors = "exception"
    try:
        from mpi4py import MPI
    except RuntimeError as e:  # mpi4py found no MPI library
        libs = [] if os.environ.get("MPI4PY_LIBMPI") else _mpich_files(("libmpi.so.12",
                                                                        "libmpi.dylib"))
        if not libs:
            raise ImportError(f"mpi4py cannot load an MPI library ({str(e).splitlines()[0]}): "
                              f"{MPI_INSTALL_HINT}") from None
        os.environ["MPI4PY_LIBMPI"] = str(libs[0])  # children launched from here inherit it
        from mpi4py import MPI
    return MPI


def find_mpiexec() -> str | None:
    """The ``mpiexec`` to launch ranks with: ``$CHAINRULE_MPIEXEC``, the one next to this
    Python (a virtual environment's), the one on ``PATH``, or the MPICH wheel's; else None."""
    given = os.environ.get("CHAINRULE_MPIEXEC")
    if given:
        return given
    here = Path(sys.executable).parent / "mpiexec"
    if here.exists():
        return str(here)
    found = shutil.which("mpiexec")
    if found:
        return found
    wheel = _mpich_files(("bin/mpiexec",))
    return str(wheel[0]) if wheel else None
