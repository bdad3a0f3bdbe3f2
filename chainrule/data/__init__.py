"""Data loading: datasets, mini-batches and the handwritten-digits data.

>>> import chainrule as cr
>>> from chainrule.data import DataLoader, TensorDataset
>>> ds = TensorDataset(cr.randn(10, 3), cr.arange(10))
>>> [x.shape for x, _ in DataLoader(ds, batch_size=4)]
[(4, 3), (4, 3), (2, 3)]
"""

from .dataloader import DataLoader, default_collate
from .dataset import Dataset, Subset, TensorDataset, random_split
from .digits import Digits, load_digits
from .folder import ImageFolder, load_image_folder
from .idx import MNIST, FashionMNIST, IDXError, load_mnist, read_idx, write_idx
from .sampler import DistributedSampler

__all__ = ["DataLoader", "Dataset", "Digits", "DistributedSampler", "Subset", "TensorDataset",
           "default_collate", "load_digits", "random_split",
           "FashionMNIST", "IDXError", "ImageFolder", "MNIST", "load_image_folder", "load_mnist",
           "read_idx", "write_idx"]
