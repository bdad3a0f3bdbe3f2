"""Samplers: the order in which a DataLoader visits a dataset's indices, as PyTorch's.

A sampler is an iterable of indices (a batch sampler: of lists of indices) with a length.
Random ones draw from their ``generator``, else from the global generator (``cr.manual_seed``)
when iteration starts, so the same seed gives the same order.

>>> import chainrule as cr
>>> list(BatchSampler(SequentialSampler(range(5)), batch_size=2, drop_last=False))
[[0, 1], [2, 3], [4]]
>>> g = cr.Generator(0)
>>> sorted(RandomSampler(range(4), generator=g))
[0, 1, 2, 3]
"""

from __future__ import annotations

import numbers
from typing import Any, Generic, Iterable, Iterator, Sequence, Sized, TypeVar

from ..backend import xp
from ..core.creation import Generator, default_generator
from ..core.tensor import Tensor

__all__ = ["Sampler", "SequentialSampler", "RandomSampler", "SubsetRandomSampler",
           "WeightedRandomSampler", "BatchSampler"]

T_co = TypeVar("T_co", covariant=True)



def _check_args(**args: object) -> None:
    """PyTorch's checks and messages: the first argument a positive int, the second a bool."""
    (count_name, count), (flag_name, flag) = args.items()
    if not isinstance(count, numbers.Integral) or isinstance(count, bool) or count <= 0:
        raise ValueError(f"{count_name} should be a positive integer value, but got "
                         f"{count_name}={count}")
    if not isinstance(flag, bool):
        raise ValueError(f"{flag_name} should be a boolean value, but got {flag_name}={flag}")

class Sampler(Generic[T_co]):
    """Base class: subclasses define ``__iter__`` (and ``__len__`` where it is known)."""

    def __init__(self, data_source: Sized | None = None) -> None:
        pass

    def __iter__(self) -> Iterator[T_co]:
        raise NotImplementedError(f"{type(self).__name__} must define __iter__")


def _rng(generator: Generator | None) -> Any:
    return (generator if generator is not None else default_generator).rng


class SequentialSampler(Sampler[int]):
    """0, 1, ..., len(data_source) - 1."""

    def __init__(self, data_source: Sized) -> None:
        self.data_source = data_source

    def __iter__(self) -> Iterator[int]:
        return iter(range(len(self.data_source)))

    def __len__(self) -> int:
        return len(self.data_source)

    def index_array(self) -> Any:
        return xp.arange(len(self.data_source), dtype=xp.int64)


class RandomSampler(Sampler[int]):
    """A random permutation of the indices (``replacement=False``), or ``num_samples`` indices
    drawn uniformly with replacement. Without replacement, ``num_samples`` beyond the length
    chains further permutations, as PyTorch does."""

    def __init__(self, data_source: Sized, replacement: bool = False,
                 num_samples: int | None = None, generator: Generator | None = None) -> None:
        if not isinstance(replacement, bool):
            raise TypeError("replacement should be a boolean value, but got "
                            f"replacement={replacement}")
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = num_samples
        self.generator = generator
        if not isinstance(self.num_samples, int) or isinstance(self.num_samples, bool) or \
                self.num_samples <= 0:
            raise ValueError("num_samples should be a positive integer value, but got "
                             f"num_samples={self.num_samples}")

    @property
    def num_samples(self) -> int:
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def index_array(self) -> Any:
        n, k = len(self.data_source), self.num_samples
        rng = _rng(self.generator)
        if self.replacement:
            return rng.integers(0, n, size=k, dtype=xp.int64)
        perms = [rng.permutation(n) for _ in range(-(-k // n))]
        return xp.concatenate(perms)[:k].astype(xp.int64)

    def __iter__(self) -> Iterator[int]:
        return iter(self.index_array().tolist())

    def __len__(self) -> int:
        return self.num_samples


class SubsetRandomSampler(Sampler[int]):
    """The given ``indices`` in a random order (a fresh one each epoch)."""

    def __init__(self, indices: Sequence[int], generator: Generator | None = None) -> None:
        self.indices = indices
        self.generator = generator

    def index_array(self) -> Any:
        idx = xp.asarray(self.indices.numpy() if isinstance(self.indices, Tensor)
                         else list(self.indices), dtype=xp.int64)
        return idx[_rng(self.generator).permutation(len(idx))]

    def __iter__(self) -> Iterator[int]:
        return iter(self.index_array().tolist())

    def __len__(self) -> int:
        return len(self.indices)


class WeightedRandomSampler(Sampler[int]):
    """``num_samples`` indices in ``[0, len(weights))`` drawn with probabilities proportional
    to ``weights`` (which need not sum to 1), with or without replacement."""

    def __init__(self, weights: Sequence[float], num_samples: int, replacement: bool = True,
                 generator: Generator | None = None) -> None:
        _check_args(num_samples=num_samples, replacement=replacement)
        w = xp.asarray(weights.numpy() if isinstance(weights, Tensor) else weights,
                       dtype=xp.float64)
        if w.ndim != 1:
            raise ValueError("weights should be a 1d sequence but given weights have shape "
                             f"{tuple(w.shape)}")
        if (w < 0).any() or not xp.isfinite(w).all() or w.sum() <= 0:
            raise RuntimeError("WeightedRandomSampler: weights must be finite, non-negative "
                               "and not all zero")
        if not replacement and num_samples > int((w > 0).sum()):
            raise RuntimeError(f"WeightedRandomSampler: cannot draw {num_samples} samples "
                               f"without replacement from {int((w > 0).sum())} non-zero "
                               "weights")
        self.weights = w
        self.num_samples = num_samples
        self.replacement = replacement
        self.generator = generator

    def index_array(self) -> Any:
        p = self.weights / self.weights.sum()
        return _rng(self.generator).choice(len(p), size=self.num_samples,
                                           replace=self.replacement, p=p).astype(xp.int64)

    def __iter__(self) -> Iterator[int]:
        return iter(self.index_array().tolist())

    def __len__(self) -> int:
        return self.num_samples


class BatchSampler(Sampler[list]):
    """Groups the indices of ``sampler`` into lists of ``batch_size`` (the last one shorter
    unless ``drop_last``)."""

    def __init__(self, sampler: Sampler[int] | Iterable[int], batch_size: int,
                 drop_last: bool) -> None:
        _check_args(batch_size=batch_size, drop_last=drop_last)
        self.sampler = sampler
        self.batch_size = int(batch_size)
        self.drop_last = drop_last

    def index_arrays(self) -> Iterator[Any]:
        """The batches as int64 arrays (slices for a sequential sampler): the fast path."""
        bs = self.batch_size
        if isinstance(self.sampler, SequentialSampler):
            n = len(self.sampler)
            stop = n - n % bs if self.drop_last else n
            for start in range(0, stop, bs):
                yield slice(start, min(start + bs, n))
            return
        idx = self.sampler.index_array()  # type: ignore[union-attr]
        n = len(idx)
        stop = n - n % bs if self.drop_last else n
        for start in range(0, stop, bs):
            yield idx[start:start + bs]

    def has_index_arrays(self) -> bool:
        return hasattr(self.sampler, "index_array")

    def __iter__(self) -> Iterator[list]:
        if self.has_index_arrays():
            for b in self.index_arrays():
                if isinstance(b, slice):
                    yield list(range(b.start, b.stop))
                else:
                    yield b.tolist()
            return
        batch: list = []
        for i in self.sampler:
            batch.append(i)
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __len__(self) -> int:
        n = len(self.sampler)  # type: ignore[arg-type]
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
