"""Data loading: datasets, mini-batches and the handwritten-digits data.

>>> import chainrule as cr
>>> from chainrule.data import DataLoader, TensorDataset
>>> ds = TensorDataset(cr.randn(10, 3), cr.arange(10))
>>> [x.shape for x, _ in DataLoader(ds, batch_size=4)]
[torch.Size([4, 3]), torch.Size([4, 3]), torch.Size([2, 3])]
"""

from .dataloader import DataLoader, default_collate, default_convert
from .dataset import ConcatDataset, Dataset, Subset, TensorDataset, random_split
from .digits import Digits, load_digits
from .distributed import DistributedSampler
from .folder import ImageFolder, load_image_folder
from .idx import MNIST, FashionMNIST, IDXError, load_mnist, read_idx, write_idx
from .sampler import (BatchSampler, RandomSampler, Sampler, SequentialSampler,
                      SubsetRandomSampler, WeightedRandomSampler)
from .workers import WorkerInfo, get_worker_info

__all__ = ["DataLoader", "Dataset", "Digits", "Subset", "TensorDataset", "default_collate",
           "load_digits", "random_split", "ConcatDataset", "default_convert", "Sampler",
           "SequentialSampler", "RandomSampler", "SubsetRandomSampler", "WeightedRandomSampler",
           "BatchSampler", "WorkerInfo", "get_worker_info", "DistributedSampler",
           "FashionMNIST", "IDXError", "ImageFolder", "MNIST", "load_image_folder", "load_mnist",
           "read_idx", "write_idx"]


# A PyTorch name this module lacks: NotImplementedError (ImportError for `from ... import`),
# and so does a keyword argument its functions and classes do not take.
from ..core.compat import attribute_hook as _attribute_hook  # noqa: E402
from ..core.keywords import guard_module as _guard_module  # noqa: E402

__getattr__ = _attribute_hook(__name__)
_guard_module(__name__, 'torch.utils.data')  # unknown keywords: NotImplementedError
