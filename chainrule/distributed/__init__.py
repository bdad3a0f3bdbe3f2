"""``cr.distributed``: data-parallel training over MPI, with ``torch.distributed``'s names.

Start N processes with an MPI launcher (``mpiexec -n N python train.py``, ``srun``, or
``chainrule train ... --workers N``); each calls :func:`init_process_group` and then trains
its share of every batch, with :class:`chainrule.nn.parallel.DistributedDataParallel`
averaging the gradients. mpi4py is imported only by :func:`init_process_group`.

>>> import chainrule.distributed as dist
>>> dist.is_initialized()
False
>>> dist.ReduceOp.SUM
<ReduceOp.SUM: 'sum'>
"""

from ._mpi import find_mpiexec, launch_env
from .collectives import ReduceOp, all_gather, all_reduce, barrier, broadcast, reduce_scatter
from .process_group import (DistBackendError, DistError, ProcessGroup, Work,
                            destroy_process_group, get_rank, get_world_size, init_process_group,
                            is_available, is_initialized)

__all__ = ["DistBackendError", "DistError", "ProcessGroup", "ReduceOp", "Work", "all_gather",
           "all_reduce", "barrier", "broadcast", "destroy_process_group", "find_mpiexec",
           "get_rank", "get_world_size", "init_process_group", "is_available", "is_initialized",
           "launch_env", "reduce_scatter"]
