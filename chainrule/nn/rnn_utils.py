"""Variable-length sequences for the recurrent layers: ``nn.utils.rnn`` (PyTorch's names).

A :class:`PackedSequence` holds the time steps of a batch of sequences sorted by decreasing
length, step after step: ``data[offset_t : offset_t + batch_sizes[t]]`` are the rows of the
sequences still running at step t. The recurrent layers run such a batch without computing
the padding.

>>> import chainrule as cr
>>> from chainrule.nn.utils.rnn import pack_sequence, pad_packed_sequence
>>> p = pack_sequence([cr.tensor([1.0, 2.0, 3.0]), cr.tensor([4.0])])
>>> p.data.tolist(), p.batch_sizes.tolist()
([1.0, 4.0, 2.0, 3.0], [2, 1, 1])
>>> padded, lengths = pad_packed_sequence(p, batch_first=True)
>>> padded.tolist(), lengths.tolist()
([[1.0, 2.0, 3.0], [4.0, 0.0, 0.0]], [3, 1])
"""

from __future__ import annotations

from typing import Any, NamedTuple, Sequence

from ..backend import xp
from ..core import functional as _F
from ..core.creation import tensor
from ..core.dtypes import dtype_name, float32, float64
from ..core.tensor import Tensor, _make

__all__ = ["PackedSequence", "pad_sequence", "pack_padded_sequence", "pad_packed_sequence",
           "pack_sequence", "unpad_sequence", "unpack_sequence"]


class PackedSequence(NamedTuple):
    """``(data, batch_sizes, sorted_indices, unsorted_indices)``, as PyTorch's: build it with
    :func:`pack_padded_sequence` or :func:`pack_sequence`, not by hand."""

    data: Tensor
    batch_sizes: Tensor
    sorted_indices: Tensor | None = None
    unsorted_indices: Tensor | None = None

    def to(self, *args: Any, **kwargs: Any) -> PackedSequence:
        """The same sequence with ``data.to(*args, **kwargs)`` (dtype or device)."""
        return self._replace(data=self.data.to(*args, **kwargs))

    def float(self) -> PackedSequence:
        return self.to(float32)

    def double(self) -> PackedSequence:
        return self.to(float64)

    def cpu(self) -> PackedSequence:
        return self

    @property
    def is_cuda(self) -> bool:
        return False


def _sizes(p: PackedSequence) -> list[int]:
    return [int(b) for b in p.batch_sizes._data]


def packed_rows(batch_sizes: Sequence[int]) -> Any:
    """For a (T, B) padded layout (B = batch_sizes[0]): the flat index t * B + b of each
    packed row, in packed order."""
    B = batch_sizes[0]
    return xp.concatenate([t * B + xp.arange(n) for t, n in enumerate(batch_sizes)])


def packed_to_padded(data: Tensor, batch_sizes: Sequence[int], fill: float = 0.0) -> Tensor:
    """(N, *) packed rows -> (T, B, *) padded (sorted batch order), filled with ``fill``;
    differentiable (one integer-array index into the rows plus one fill row)."""
    T, B = len(batch_sizes), batch_sizes[0]
    N = data.shape[0]
    index = xp.full(T * B, N, dtype=xp.int64)
    index[packed_rows(batch_sizes)] = xp.arange(N)
    pad = _make(xp.full((1,) + tuple(data.shape[1:]), fill, dtype=data._data.dtype))
    rows = _F.cat([data, pad])[_make(index)]
    return _F.reshape(rows, (T, B) + tuple(data.shape[1:]))


def padded_to_packed(padded: Tensor, batch_sizes: Sequence[int]) -> Tensor:
    """(T, B, *) padded, sorted batch order -> (N, *) packed rows (differentiable)."""
    T, B = padded.shape[0], padded.shape[1]
    flat = _F.reshape(padded, (T * B,) + tuple(padded.shape[2:]))
    return flat[_make(packed_rows(batch_sizes))]


def _lengths(lengths: Any, batch: int, op: str) -> Any:
    if isinstance(lengths, Tensor):
        arr = lengths._data
    else:
        arr = xp.asarray(lengths)
    if arr.ndim != 1 or (arr.size and arr.dtype.kind not in "iu"):
        raise ValueError(f"{op}: lengths must be a 1-D sequence of ints, got "
                         f"{dtype_name(arr.dtype)} of shape {tuple(arr.shape)}")
    if arr.shape[0] != batch:
        raise ValueError(f"{op}: expected len(lengths) to be equal to batch_size, but got "
                         f"{arr.shape[0]} (batch_size={batch})")
    if batch and int(arr.min()) <= 0:
        raise ValueError(f"{op}: length of all samples has to be greater than 0, but found an "
                         f"element in 'lengths' that is <= 0: {arr.tolist()}")
    return arr.astype(xp.int64)


def pack_padded_sequence(input: Tensor, lengths: Any, batch_first: bool = False,
                         enforce_sorted: bool = True) -> PackedSequence:
    """Pack a padded batch (T, B, *) (or (B, T, *) with ``batch_first``) of sequences of the
    given lengths. With ``enforce_sorted`` the lengths must be decreasing; otherwise the
    batch is sorted here and ``unsorted_indices`` restores its order."""
    op = "pack_padded_sequence"
    if not isinstance(input, Tensor) or input.ndim < 2:
        raise ValueError(f"{op}: expected a padded tensor of at least 2 dims (T, B, *), got "
                         f"{getattr(input, 'shape', type(input).__name__)}")
    x = _F.transpose(input, 0, 1) if batch_first else input
    T, B = x.shape[0], x.shape[1]
    lens = _lengths(lengths, B, op)
    if int(lens.max()) > T:
        raise ValueError(f"{op}: a length ({int(lens.max())}) exceeds the padded length {T} "
                         f"(input shape {tuple(input.shape)}, batch_first={batch_first})")
    if enforce_sorted:
        if (xp.diff(lens) > 0).any():
            raise RuntimeError(
                f"{op}: `lengths` array must be sorted in decreasing order when "
                f"`enforce_sorted` is True (got {lens.tolist()}). You can pass "
                "`enforce_sorted=False` to pack_padded_sequence and/or pack_sequence to "
                "sidestep this requirement if you do not need ONNX exportability.")
        sorted_idx = unsorted_idx = None
    else:
        order = xp.argsort(-lens, kind="stable")
        lens = lens[order]
        x = x[:, _make(order)]
        sorted_idx = tensor(order)
        unsorted_idx = tensor(xp.argsort(order, kind="stable"))
    batch_sizes = [int((lens > t).sum()) for t in range(int(lens[0]))]
    data = padded_to_packed(x[:len(batch_sizes)], batch_sizes)
    return PackedSequence(data, tensor(xp.asarray(batch_sizes, dtype=xp.int64)), sorted_idx,
                          unsorted_idx)


def pad_packed_sequence(sequence: PackedSequence, batch_first: bool = False,
                        padding_value: float = 0.0,
                        total_length: int | None = None) -> tuple[Tensor, Tensor]:
    """Unpack to ``(padded, lengths)``, in the batch order before packing; padded is
    (T, B, *) (or (B, T, *)), T = the longest length or ``total_length``."""
    if not isinstance(sequence, PackedSequence):
        raise TypeError(f"pad_packed_sequence: expected a PackedSequence, got "
                        f"{type(sequence).__name__}")
    sizes = _sizes(sequence)
    T = len(sizes)
    if total_length is not None:
        if total_length < T:
            raise ValueError(
                f"pad_packed_sequence: expected total_length to be at least the length of the "
                f"longest sequence ({T}), but got total_length={total_length}")
        sizes_full = sizes + [0] * (total_length - T)
    else:
        sizes_full = sizes
    padded = packed_to_padded(sequence.data, sizes, float(padding_value))
    if len(sizes_full) > T:
        fill = _make(xp.full((len(sizes_full) - T,) + tuple(padded.shape[1:]),
                             float(padding_value), dtype=padded._data.dtype))
        padded = _F.cat([padded, fill])
    bs = xp.asarray(sizes)
    lengths = (bs[None, :] > xp.arange(sizes[0])[:, None]).sum(1).astype(xp.int64)
    if sequence.unsorted_indices is not None:
        idx = sequence.unsorted_indices._data
        padded = padded[:, _make(idx)]
        lengths = lengths[idx]
    if batch_first:
        padded = _F.transpose(padded, 0, 1)
    return padded, tensor(lengths)


def pad_sequence(sequences: Sequence[Tensor], batch_first: bool = False,
                 padding_value: float = 0.0, padding_side: str = "right") -> Tensor:
    """Stack sequences of shapes (L_i, *) into (T, B, *) (or (B, T, *)), T = max L_i,
    padded with ``padding_value`` on ``padding_side`` ('right' or 'left')."""
    if padding_side not in ("right", "left"):
        raise ValueError(f"pad_sequence: padding_side must be 'right' or 'left', got "
                         f"{padding_side!r}")
    seqs = list(sequences)
    if not seqs:
        raise ValueError("pad_sequence: received an empty list of sequences")
    for i, s in enumerate(seqs):
        if not isinstance(s, Tensor) or s.ndim == 0 or s.shape[1:] != seqs[0].shape[1:]:
            raise ValueError(
                f"pad_sequence: every sequence must be a tensor of shape (L, *) with the same "
                f"trailing dims; sequence 0 has shape {tuple(seqs[0].shape)}, sequence {i} "
                f"has {tuple(getattr(s, 'shape', ())) or type(s).__name__}")
    T = max(s.shape[0] for s in seqs)
    rows = []
    for s in seqs:
        k = T - s.shape[0]
        if k:
            pad = _make(xp.full((k,) + tuple(s.shape[1:]), padding_value, dtype=s._data.dtype))
            s = _F.cat([s, pad] if padding_side == "right" else [pad, s])
        rows.append(s)
    return _F.stack(rows, 0 if batch_first else 1)


def pack_sequence(sequences: Sequence[Tensor], enforce_sorted: bool = True) -> PackedSequence:
    """Pack a list of sequences of shapes (L_i, *) (decreasing L_i unless
    ``enforce_sorted=False``)."""
    lengths = [s.shape[0] if isinstance(s, Tensor) and s.ndim else 0 for s in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths,
                                enforce_sorted=enforce_sorted)


def unpad_sequence(padded_sequences: Tensor, lengths: Any,
                   batch_first: bool = False) -> list[Tensor]:
    """The inverse of :func:`pad_sequence`: a list of the sequences, each cut to its length."""
    x = padded_sequences if batch_first else _F.transpose(padded_sequences, 0, 1)
    lens = _lengths(lengths, x.shape[0], "unpad_sequence")
    return [x[i, :int(n)] for i, n in enumerate(lens)]


def unpack_sequence(packed_sequences: PackedSequence) -> list[Tensor]:
    """The inverse of :func:`pack_sequence`: the list of sequences, in their original order."""
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)
