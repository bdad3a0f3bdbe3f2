"""DataLoader: iterate over a dataset in (optionally shuffled) mini-batches.

Every epoch (every ``iter(loader)``) draws a fresh permutation from the loader's generator, or
from the global one that ``cr.manual_seed`` resets, so the same seed gives the same batches.
"""

from __future__ import annotations

import collections.abc as abc
import hashlib
from typing import Any, Callable, Iterable, Iterator, Sequence

import weakref

from ..backend import generic, ndarray, xp
from ..core import functional as F
from ..core.creation import Generator, default_generator, from_numpy, tensor
from ..core.tensor import Tensor
from .dataset import Dataset
from .sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler
from .workers import WorkerPool

__all__ = ["DataLoader", "default_collate", "default_convert"]


def default_convert(data: Any) -> Any:
    """What a loader without batching (``batch_size=None``) gives per sample: NumPy arrays
    and scalars become tensors, containers are converted field by field, the rest is kept.

    >>> out = default_convert({"x": xp.zeros(2), "y": 1})
    >>> type(out["x"]).__name__, out["y"]
    ('Tensor', 1)
    """
    if isinstance(data, (ndarray, generic)) and not isinstance(data, (str, bytes)):
        arr = xp.asarray(data)
        return from_numpy(arr) if arr.dtype.kind in "fiub" else data
    if isinstance(data, abc.Mapping):
        return type(data)({k: default_convert(v) for k, v in data.items()})  # type: ignore
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, (list, tuple)):
        return type(data)(default_convert(d) for d in data)
    return data


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


class _Fetcher:
    """Turns one entry of the batch sampler into a batch (picklable: workers run it)."""

    def __init__(self, dataset: Any, auto_collation: bool, collate_fn: Callable | None) -> None:
        self.dataset = dataset
        self.auto_collation = auto_collation
        self.collate_fn = collate_fn
        self.get_batch = getattr(dataset, "get_batch", None) if (
            auto_collation and collate_fn is None) else None

    def __call__(self, index: Any) -> Any:
        if not self.auto_collation:
            return (self.collate_fn or default_convert)(self.dataset[index])
        if self.get_batch is not None:
            if isinstance(index, list):
                index = xp.asarray(index, dtype=xp.int64)
            return self.get_batch(index)
        if isinstance(index, slice):
            index = range(index.start, index.stop)
        elif isinstance(index, ndarray):
            index = index.tolist()
        ds = self.dataset
        return (self.collate_fn or default_collate)([ds[i] for i in index])


def _check_count(name: str, value: Any, hint: str = "") -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"DataLoader: {name} option should be a non-negative integer, got "
                         f"{value!r}{hint}")


class DataLoader:
    """Batches of ``dataset``, as PyTorch's ``torch.utils.data.DataLoader``.

    The order comes from ``sampler`` (default: sequential, or a fresh random permutation each
    epoch with ``shuffle=True``, drawn from ``generator`` or the global generator), grouped by
    ``batch_sampler`` (default: ``batch_size`` at a time, the last batch dropped with
    ``drop_last``). Samples are collated with ``collate_fn`` (``default_collate``); datasets
    with ``get_batch`` (:class:`TensorDataset`, subsets of one) are indexed a whole batch at a
    time instead. ``batch_size=None`` gives samples one by one, unbatched.

    With ``num_workers > 0`` the batches are computed in that many worker processes
    (``worker_init_fn(worker_id)`` runs in each first; ``prefetch_factor`` batches per worker
    are in flight; ``persistent_workers`` keeps them between epochs) and arrive in the same
    order with the same contents as with ``num_workers=0``. ``pin_memory`` is accepted and
    changes nothing (there is no GPU to copy to).

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

    def __init__(self, dataset: Dataset | Any, batch_size: int | None = 1,
                 shuffle: bool | None = None, sampler: Sampler | Iterable | None = None,
                 batch_sampler: Sampler | Iterable | None = None, num_workers: int = 0,
                 collate_fn: Callable[[list[Any]], Any] | None = None,
                 pin_memory: bool = False, drop_last: bool = False, timeout: float = 0,
                 worker_init_fn: Callable[[int], None] | None = None,
                 multiprocessing_context: Any = None, generator: Generator | None = None, *,
                 prefetch_factor: int | None = None, persistent_workers: bool = False,
                 pin_memory_device: str = "", in_order: bool = True) -> None:
        if batch_size is not None and (isinstance(batch_size, bool) or not isinstance(
                batch_size, int) or batch_size < 1):
            raise ValueError(f"DataLoader: batch_size must be a positive integer (or None for "
                             f"unbatched samples), got {batch_size!r}")
        if not hasattr(dataset, "__len__") or not hasattr(dataset, "__getitem__"):
            raise TypeError(f"DataLoader: the dataset must define __len__ and __getitem__, got "
                            f"{type(dataset).__name__}")
        _check_count("num_workers", num_workers, "; use num_workers=0 to disable "
                     "multiprocessing")
        if not isinstance(timeout, (int, float)) or timeout < 0:
            raise ValueError(f"DataLoader: timeout option should be non-negative, got "
                             f"{timeout!r}")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError("prefetch_factor option could only be specified in "
                             "multiprocessing: let num_workers > 0 to enable multiprocessing, "
                             "otherwise set prefetch_factor to None.")
        if prefetch_factor is not None:
            _check_count("prefetch_factor", prefetch_factor)
        if persistent_workers and num_workers == 0:
            raise ValueError("persistent_workers option needs num_workers > 0")
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("batch_sampler option is mutually exclusive with batch_size, "
                                 "shuffle, sampler, and drop_last")
            batch_size, drop_last = None, False
        elif batch_size is None and drop_last:
            raise ValueError("batch_size=None option disables auto-batching and is mutually "
                             "exclusive with drop_last")
        if sampler is None:
            sampler = (RandomSampler(dataset, generator=generator) if shuffle
                       else SequentialSampler(dataset))
        if batch_size is not None and batch_sampler is None:
            batch_sampler = BatchSampler(sampler, batch_size, bool(drop_last))
        self.dataset = dataset
        self.batch_size = batch_size
        self.drop_last = bool(drop_last)
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.num_workers = num_workers
        self.collate_fn = collate_fn
        self.pin_memory = bool(pin_memory)
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.multiprocessing_context = multiprocessing_context
        self.generator = generator
        self.prefetch_factor = 2 if prefetch_factor is None and num_workers else prefetch_factor
        self.persistent_workers = bool(persistent_workers)
        self.in_order = bool(in_order)
        self._pool: WorkerPool | None = None
        self._epoch = 0

    @property
    def shuffle(self) -> bool:
        return isinstance(self.sampler, RandomSampler)

    def __len__(self) -> int:
        return len(self.batch_sampler if self.batch_sampler is not None  # type: ignore[arg-type]
                   else self.sampler)

    def _indices(self) -> Iterator[Any]:
        bs = self.batch_sampler
        if bs is None:
            return iter(self.sampler)
        if isinstance(bs, BatchSampler) and bs.has_index_arrays():
            return bs.index_arrays()  # slices / int64 arrays: no per-index Python lists
        return iter(bs)

    def _fetcher(self) -> _Fetcher:
        return _Fetcher(self.dataset, self.batch_sampler is not None, self.collate_fn)

    def __iter__(self) -> Iterator[Any]:
        if self.num_workers == 0:
            fetch = self._fetcher()
            return (fetch(index) for index in self._indices())
        return self._iter_workers(self._base_seed())

    def _base_seed(self) -> int:
        """The workers' base seed for this epoch: derived from the generator's state without
        drawing from it, so that the shuffled order is the same whatever num_workers is."""
        state = (self.generator or default_generator).get_state()
        self._epoch += 1
        digest = hashlib.sha256(repr((state, self._epoch)).encode()).digest()
        return int.from_bytes(digest[:8], "little") >> 2

    def _iter_workers(self, base_seed: int) -> Iterator[Any]:
        pool = self._pool
        if pool is None or pool.closed:
            pool = WorkerPool(self._fetcher(), self.dataset, self.num_workers, base_seed,
                              self.worker_init_fn, self.multiprocessing_context, self.timeout)
            if self.persistent_workers:
                self._pool = pool
                weakref.finalize(self, pool.shutdown)
        indices = self._indices()
        try:
            yield from pool.batches(indices, self.prefetch_factor or 2, self.in_order)
        finally:
            if not self.persistent_workers:
                pool.shutdown()

    def __repr__(self) -> str:
        return (f"DataLoader({type(self.dataset).__name__} of {len(self.dataset)}, "
                f"batch_size={self.batch_size}, shuffle={self.shuffle}, "
                f"drop_last={self.drop_last}, num_workers={self.num_workers})")
