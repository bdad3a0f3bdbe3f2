"""DataLoader: iterate over a dataset in (optionally shuffled) mini-batches.

Every epoch (every ``iter(loader)``) draws a fresh permutation from the loader's generator, or
from the global one that ``cr.manual_seed`` resets, so the same seed gives the same batches.
"""

from __future__ import annotations

import collections.abc as abc
from typing import Any, Callable, Iterator, Sequence

from ..backend import generic, ndarray, xp
from ..core import functional as F
from ..core.creation import Generator, default_generator, from_numpy, tensor
from ..core.tensor import Tensor
from .dataset import Dataset

__all__ = ["DataLoader", "default_collate"]


def default_collate(batch: Sequence[Any]) -> Any:
    """Stack a list of samples into a batch, field by field.

    Tensors, NumPy arrays and NumPy scalars are stacked along a new first dimension (keeping
    their dtype); Python ints become int64, floats the default float dtype (float32), bools
    bool; strings stay a list; tuples, lists and dicts are collated per field.

    >>> import chainrule as cr
    >>> default_collate([(cr.tensor([1.0, 2.0]), 0), (cr.tensor([3.0, 4.0]), 1)])
    (tensor([[1., 2.],
           [3., 4.]]), tensor([0, 1]))
    >>> default_collate([{"x": 1.5, "name": "a"}, {"x": 2.5, "name": "b"}])
    {'x': tensor([1.5000, 2.5000]), 'name': ['a', 'b']}
    """
    if len(batch) == 0:
        raise ValueError("default_collate: cannot collate an empty batch")
    elem = batch[0]
    if isinstance(elem, Tensor):
        if any(t.requires_grad for t in batch):
            return F.stack(list(batch))
        return from_numpy(xp.stack([t.numpy() for t in batch]))
    if isinstance(elem, (ndarray, generic)) and not isinstance(elem, (str, bytes)):
        arr = xp.stack([xp.asarray(b) for b in batch])
        if arr.dtype.kind not in "fiub":
            raise TypeError(f"default_collate: cannot make a tensor of NumPy dtype {arr.dtype}")
        return from_numpy(arr)
    if isinstance(elem, (bool, int, float)):
        # NOTE: Python floats become the default float dtype (float32), not float64 as in
        # PyTorch's collate: float64 targets against a float32 model are a classic dtype clash.
        return tensor(list(batch))
    if isinstance(elem, (str, bytes)):
        return list(batch)
    if isinstance(elem, abc.Mapping):
        out = {k: default_collate([d[k] for d in batch]) for k in elem}
        try:
            return type(elem)(out)  # type: ignore[call-arg]  # keep OrderedDict etc.
        except TypeError:
            return out
    if isinstance(elem, abc.Sequence):
        n = len(elem)
        if any(len(s) != n for s in batch):
            raise ValueError(
                "default_collate: every sample in a batch must have the same number of fields, "
                f"got lengths {sorted({len(s) for s in batch})}"
            )
        fields = [default_collate([s[i] for s in batch]) for i in range(n)]
        if isinstance(elem, tuple) and hasattr(elem, "_fields"):  # namedtuple
            return type(elem)(*fields)
        if isinstance(elem, tuple):
            return tuple(fields)
        return fields
    raise TypeError(
        f"default_collate: don't know how to batch samples of type {type(elem).__name__}; "
        "samples must hold tensors, arrays, numbers, strings, or tuples/lists/dicts of them "
        "(or pass collate_fn=)"
    )


class DataLoader:
    """Batches of ``dataset``, in order or reshuffled each epoch.

    Datasets with ``get_batch`` (such as :class:`TensorDataset` and subsets of one) are
    indexed a whole batch at a time; other datasets are read sample by sample and collated
    with ``collate_fn`` (``default_collate`` unless given).

    >>> import chainrule as cr
    >>> from chainrule.data import TensorDataset
    >>> ds = TensorDataset(cr.arange(10).reshape(5, 2), cr.tensor([0, 1, 0, 1, 1]))
    >>> loader = DataLoader(ds, batch_size=2)
    >>> len(loader), [y.tolist() for _, y in loader]
    (3, [[0, 1], [0, 1], [1]])
    >>> def epoch(seed):
    ...     g = cr.Generator(seed)
    ...     return [y.tolist() for _, y in DataLoader(ds, 2, shuffle=True, generator=g)]
    >>> epoch(0) == epoch(0)
    True
    """

    def __init__(self, dataset: Dataset | Any, batch_size: int = 1, shuffle: bool = False,
                 drop_last: bool = False, generator: Generator | None = None,
                 collate_fn: Callable[[list[Any]], Any] | None = None) -> None:
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"DataLoader: batch_size must be a positive integer, got "
                             f"{batch_size!r}")
        if not hasattr(dataset, "__len__") or not hasattr(dataset, "__getitem__"):
            raise TypeError(f"DataLoader: the dataset must define __len__ and __getitem__, got "
                            f"{type(dataset).__name__}")
        self.dataset = dataset
        self.batch_size = batch_size
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.generator = generator
        self.collate_fn = collate_fn

    def __len__(self) -> int:
        n = len(self.dataset)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def __iter__(self) -> Iterator[Any]:
        n = len(self.dataset)
        bs = self.batch_size
        stop = n - n % bs if self.drop_last else n
        order = None
        if self.shuffle:
            # NOTE: drawn when the epoch starts, from the generator's current state (the global
            # one looked up now, so cr.manual_seed between loader creation and use counts).
            order = (self.generator or default_generator).rng.permutation(n)
        get_batch = None if self.collate_fn is not None else getattr(
            self.dataset, "get_batch", None)
        if get_batch is not None:
            for start in range(0, stop, bs):
                end = min(start + bs, n)
                yield get_batch(slice(start, end) if order is None else order[start:end])
            return
        collate = self.collate_fn or default_collate
        ds = self.dataset
        for start in range(0, stop, bs):
            end = min(start + bs, n)
            idx = range(start, end) if order is None else order[start:end].tolist()
            yield collate([ds[i] for i in idx])

    def __repr__(self) -> str:
        return (f"DataLoader({type(self.dataset).__name__} of {len(self.dataset)}, "
                f"batch_size={self.batch_size}, shuffle={self.shuffle}, "
                f"drop_last={self.drop_last})")
