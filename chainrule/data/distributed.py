"""DistributedSampler (torch.utils.data.distributed): each rank's share of a dataset.

Give it to the DataLoader as ``sampler=``: every epoch the ranks together visit every sample
once (padded by repeating the first samples so each rank gets the same count, or trimmed with
``drop_last=True``), rank ``r`` taking positions ``r, r + N, r + 2N, ...`` of the epoch's order.
With ``shuffle`` the order is a permutation drawn from ``seed + epoch``: the same on every rank,
new each epoch once ``set_epoch(epoch)`` is called.

>>> s = DistributedSampler(range(10), num_replicas=3, rank=0, shuffle=False)
>>> len(s), list(s)
(4, [0, 3, 6, 9])
>>> list(DistributedSampler(range(10), num_replicas=3, rank=2, shuffle=False))  # padded
[2, 5, 8, 1]
>>> list(DistributedSampler(range(10), num_replicas=3, rank=2, shuffle=False, drop_last=True))
[2, 5, 8]
"""

from __future__ import annotations

import math
from typing import Any, Iterator

from ..backend import xp
from .sampler import Sampler

__all__ = ["DistributedSampler"]


class DistributedSampler(Sampler):
    """The indices of ``dataset`` that rank ``rank`` of ``num_replicas`` reads each epoch.

    ``num_replicas`` and ``rank`` default to the process group's world size and rank.
    NOTE: the shuffled order comes from chainrule's generator: it is the same on every rank
    and reproducible, but not the order PyTorch's ``randperm`` gives for the same seed.
    """

    def __init__(self, dataset: Any, num_replicas: int | None = None, rank: int | None = None,
                 shuffle: bool = True, seed: int = 0, drop_last: bool = False) -> None:
        if num_replicas is None or rank is None:
            from ..distributed.process_group import default_group

            pg = default_group(None, "DistributedSampler (pass num_replicas= and rank= to use "
                                     "it without one)")
            num_replicas = pg.size() if num_replicas is None else num_replicas
            rank = pg.rank() if rank is None else rank
        if not isinstance(num_replicas, int) or num_replicas < 1:
            raise ValueError(f"DistributedSampler: num_replicas must be a positive integer, got "
                             f"{num_replicas!r}")
        if not isinstance(rank, int) or not 0 <= rank < num_replicas:
            raise ValueError(f"Invalid rank {rank}, rank should be in the interval "
                             f"[0, {num_replicas - 1}]")
        self.dataset = dataset
        self.num_replicas = num_replicas
        self.rank = rank
        self.epoch = 0
        self.drop_last = bool(drop_last)
        self.shuffle = bool(shuffle)
        self.seed = int(seed)
        n = len(dataset)
        if self.drop_last and n % num_replicas:
            self.num_samples = math.ceil((n - num_replicas) / num_replicas)
        else:
            self.num_samples = math.ceil(n / num_replicas)
        self.total_size = self.num_samples * num_replicas

    def __iter__(self) -> Iterator[int]:
        n = len(self.dataset)
        if self.shuffle:
            from ..core.creation import Generator

            indices = Generator().manual_seed(self.seed + self.epoch).rng.permutation(n)
        else:
            indices = xp.arange(n)
        if not self.drop_last:
            pad = self.total_size - n
            if pad > 0:
                indices = xp.concatenate([indices, xp.resize(indices, pad)])
        else:
            indices = indices[:self.total_size]
        return iter(indices[self.rank:self.total_size:self.num_replicas].tolist())

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """Use the order of ``epoch`` (call it at the start of each epoch, on every rank)."""
        self.epoch = int(epoch)
