"""Data loading: datasets, mini-batches and the handwritten-digits data.

>>> import chainrule as cr
>>> from chainrule.data import DataLoader, TensorDataset
>>> ds = TensorDataset(cr.randn(10, 3), cr.arange(10))
>>> [x.shape for x, _ in DataLoader(ds, batch_size=4)]
[torch.Size([4, 3]), torch.Size([4, 3]), torch.Size([2, 3])]
"""

from .dataloader import DataLoader, default_collate
from .dataset import Dataset, Subset, TensorDataset, random_split
from .digits import Digits, load_digits

__all__ = ["DataLoader", "Dataset", "Digits", "Subset", "TensorDataset", "default_collate",
           "load_digits", "random_split"]
