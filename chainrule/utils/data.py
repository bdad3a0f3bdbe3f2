"""``cr.utils.data``: :mod:`chainrule.data` under PyTorch's name ``torch.utils.data``.

>>> from chainrule.utils.data import DataLoader, TensorDataset
>>> import chainrule as cr
>>> len(DataLoader(TensorDataset(cr.zeros(10, 2)), batch_size=4))
3
"""

from ..data import (DataLoader, Dataset, Subset, TensorDataset, default_collate,  # noqa: F401
                    random_split)
from ..data.sampler import DistributedSampler  # noqa: F401

__all__ = ["DataLoader", "Dataset", "DistributedSampler", "Subset", "TensorDataset",
           "default_collate", "random_split"]
