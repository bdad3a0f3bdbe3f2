"""Datasets: indexable collections of samples, and ways to split them.

A dataset is anything with ``__getitem__(i)`` and ``__len__()``. One that can also fetch many
samples at once defines ``get_batch(index)``, taking a slice or an int64 index array and
returning an already collated batch; the :class:`~chainrule.data.DataLoader` then skips the
per-sample collate, which is what makes an epoch over in-memory tensors cheap.
"""

from __future__ import annotations

import math
import operator
from typing import Any, Callable, Generic, Sequence, TypeVar

from ..backend import ndarray, xp
from ..core.creation import Generator, default_generator, from_numpy
from ..core.dtypes import dtype_name
from ..core.tensor import Tensor

T_co = TypeVar("T_co", covariant=True)

BatchIndex = Any  # a slice, or a 1-d int64 array of indices


class Dataset(Generic[T_co]):
    """Base class of map-style datasets: subclasses define ``__getitem__`` and ``__len__``.

    >>> class Squares(Dataset):
    ...     def __len__(self): return 4
    ...     def __getitem__(self, i): return i * i
    >>> [Squares()[i] for i in range(4)]
    [0, 1, 4, 9]
    """

    def __getitem__(self, index: int) -> T_co:
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__")

    def __len__(self) -> int:
        raise NotImplementedError(f"{type(self).__name__} must define __len__")

    def __add__(self, other: Dataset[T_co]) -> ConcatDataset[T_co]:
        return ConcatDataset([self, other])


def _as_index(index: Any) -> int:
    try:
        return operator.index(index)
    except TypeError:
        raise TypeError(
            f"dataset index must be an integer, got {type(index).__name__}: {index!r:.60}"
        ) from None


class TensorDataset(Dataset[tuple]):
    """Samples are the rows of tensors that share their first dimension: ``(x[i], y[i], ...)``.

    NumPy arrays are wrapped as tensors (keeping their dtype, sharing their memory).

    >>> import chainrule as cr
    >>> ds = TensorDataset(cr.arange(6).reshape(3, 2), cr.tensor([0, 1, 0]))
    >>> len(ds), ds[1]
    (3, (tensor([2, 3]), tensor(1)))
    >>> ds.get_batch(slice(0, 2))[0]
    tensor([[0, 1],
           [2, 3]])
    """

    def __init__(self, *tensors: Tensor | ndarray) -> None:
        if not tensors:
            raise ValueError("TensorDataset needs at least one tensor")
        ts = tuple(t if isinstance(t, Tensor) else from_numpy(xp.asarray(t)) for t in tensors)
        for t in ts:
            if t.ndim == 0:
                raise ValueError("TensorDataset: a 0-d tensor has no samples; give tensors whose "
                                 "first dimension indexes the samples")
        sizes = [t.shape[0] for t in ts]
        if any(s != sizes[0] for s in sizes):
            shapes = ", ".join(str(t.shape) for t in ts)
            raise ValueError(
                f"TensorDataset: all tensors must have the same size in dimension 0 (one row per "
                f"sample), got shapes {shapes}"
            )
        self.tensors: tuple[Tensor, ...] = ts

    def __len__(self) -> int:
        return self.tensors[0].shape[0]

    def __getitem__(self, index: int | slice | Any) -> tuple:
        if isinstance(index, (slice, list, ndarray, Tensor)):  # ds[2:5]: a tuple of batches
            return tuple(t[index] for t in self.tensors)
        i = _as_index(index)
        return tuple(t[i] for t in self.tensors)

    def get_batch(self, index: BatchIndex) -> tuple:
        """The samples at ``index`` (a slice or an index array), stacked: one tensor per field.

        The batch is a copy: changing it in place leaves the dataset alone.
        """
        out = []
        for t in self.tensors:
            if t.requires_grad:  # keep the graph, as indexing the tensor would
                out.append(t[index])
                continue
            # NOTE: index the raw array, not the tensor: this is the training hot path and the
            # op funnel costs microseconds per call that an epoch of small batches would feel.
            a = t.numpy()[index]
            out.append(from_numpy(a.copy() if isinstance(index, slice) else a))
        return tuple(out)


class Subset(Dataset[T_co]):
    """The samples of ``dataset`` at ``indices``, in that order.

    >>> import chainrule as cr
    >>> sub = Subset(TensorDataset(cr.tensor([10, 11, 12, 13])), [3, 0])
    >>> len(sub), sub[0]
    (2, (tensor(13),))
    """

    def __init__(self, dataset: Dataset[T_co], indices: Sequence[int] | ndarray) -> None:
        idx = xp.asarray(indices.numpy() if isinstance(indices, Tensor) else indices)
        if idx.size == 0:
            idx = idx.astype(xp.int64)
        if idx.ndim != 1 or idx.dtype.kind not in "iu":
            raise TypeError(f"Subset: indices must be a 1-d sequence of integers, got "
                            f"{dtype_name(idx.dtype)} with shape {tuple(idx.shape)}")
        n = len(dataset)  # type: ignore[arg-type]
        if idx.size and (idx.min() < -n or idx.max() >= n):
            raise IndexError(f"Subset: indices must lie in [-{n}, {n}) for a dataset of {n} "
                             f"samples, got min {idx.min()} and max {idx.max()}")
        self.dataset = dataset
        self.indices: ndarray = idx.astype(xp.int64)

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, index: int | list) -> T_co:
        if isinstance(index, list):  # PyTorch: sub[[i, j]] is dataset[[indices[i], ...]]
            return self.dataset[[int(self.indices[i]) for i in index]]  # type: ignore[index]
        return self.dataset[int(self.indices[_as_index(index)])]

    @property
    def get_batch(self) -> Callable[[BatchIndex], Any] | None:  # type: ignore[override]
        """Batch indexing when the wrapped dataset has it (None otherwise)."""
        inner = getattr(self.dataset, "get_batch", None)
        if inner is None:
            return None
        indices = self.indices
        return lambda index: inner(indices[index])


def _split_lengths(lengths: Sequence[int | float], n: int) -> list[int]:
    vals = list(lengths)
    if not vals:
        raise ValueError("random_split: lengths is empty")
    if all(isinstance(v, int) and not isinstance(v, bool) for v in vals):
        if any(v < 0 for v in vals) or sum(vals) != n:
            raise ValueError(f"random_split: lengths {vals} must be non-negative and sum to the "
                             f"dataset's length {n}")
        return [int(v) for v in vals]
    if not all(isinstance(v, (int, float)) and 0 <= v <= 1 for v in vals) or not math.isclose(
            sum(vals), 1.0, abs_tol=1e-9):
        raise ValueError(f"random_split: lengths {vals} must be integers summing to {n} or "
                         "fractions in [0, 1] summing to 1")
    out = [int(math.floor(n * f)) for f in vals]
    # NOTE: as PyTorch does, the samples left by flooring go one each to the first splits.
    for i in range(n - sum(out)):
        out[i % len(out)] += 1
    return out


def random_split(dataset: Dataset[T_co], lengths: Sequence[int | float],
                 generator: Generator | None = None) -> list[Subset[T_co]]:
    """Split ``dataset`` into disjoint random subsets of the given lengths (or fractions).

    Randomness comes from ``generator``, else the global generator (see ``cr.manual_seed``).

    >>> import chainrule as cr
    >>> ds = TensorDataset(cr.arange(10))
    >>> train, test = random_split(ds, [0.8, 0.2], generator=cr.Generator(0))
    >>> len(train), len(test), sorted(train.indices.tolist() + test.indices.tolist())
    (8, 2, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
    """
    n = len(dataset)  # type: ignore[arg-type]
    sizes = _split_lengths(lengths, n)
    perm = (generator or default_generator).rng.permutation(n).astype(xp.int64)
    out, start = [], 0
    for size in sizes:
        out.append(Subset(dataset, perm[start:start + size]))
        start += size
    return out


class ConcatDataset(Dataset[T_co]):
    """The samples of several datasets, one after the other.

    >>> import chainrule as cr
    >>> ds = ConcatDataset([TensorDataset(cr.tensor([1, 2])), TensorDataset(cr.tensor([3]))])
    >>> len(ds), ds[2], ds[-1], ds.cumulative_sizes
    (3, (tensor(3),), (tensor(3),), [2, 3])
    """

    def __init__(self, datasets: Sequence[Dataset[T_co]]) -> None:
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("datasets should not be an empty iterable")
        sizes, total = [], 0
        for d in self.datasets:
            if not hasattr(d, "__len__"):
                raise TypeError(f"ConcatDataset: every dataset needs __len__, got "
                                f"{type(d).__name__}")
            total += len(d)  # type: ignore[arg-type]
            sizes.append(total)
        self.cumulative_sizes = sizes

    def __len__(self) -> int:
        return self.cumulative_sizes[-1]

    def __getitem__(self, index: int) -> T_co:
        i = _as_index(index)
        n = len(self)
        if i < 0:
            if -i > n:
                raise ValueError("absolute value of index should not exceed dataset length")
            i += n
        if i >= n:
            raise IndexError(f"ConcatDataset: index {index} is out of range for {n} samples")
        import bisect

        d = bisect.bisect_right(self.cumulative_sizes, i)
        start = self.cumulative_sizes[d - 1] if d else 0
        return self.datasets[d][i - start]
