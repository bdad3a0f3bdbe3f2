"""``F.embedding`` and ``F.embedding_bag`` (imported into nn.functional).

NOTE: composites, not primitives: the lookup is already one recorded node and its vjp one
scatter-add, so a fused primitive would save nothing. The lookup is ``weight[input]`` (an
integer-array getitem, whose vjp scatter-adds the output gradient into the rows it read);
bags add a segment sum (``index_add``). The padding row and ``scale_grad_by_freq`` change
only the gradient: the looked-up rows ``v`` are returned as ``v.detach() + (v - v.detach())
* s``, exactly ``v`` in value and ``s * dL/dy`` in gradient, with ``s`` 0 at the padding
index and 1/count with ``scale_grad_by_freq``.
"""

from __future__ import annotations

from typing import Any

from ..backend import xp
from ..core import functional as _F
from ..core import graph
from ..core.dtypes import dtype_name
from ..core.tensor import Tensor, _make

__all__ = ["embedding", "embedding_bag"]


def _indices(input: Any, num: int, op: str) -> Any:
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: expected the indices to be an integer Tensor, got "
                        f"{type(input).__name__}")
    idx = input._data
    if idx.dtype.kind not in "iu":
        raise TypeError(f"{op}: expected the indices to be an integer tensor (int64 or int32), "
                        f"got {input.dtype} of shape {tuple(input.shape)}; convert them with "
                        ".long()")
    if idx.size and (int(idx.min()) < 0 or int(idx.max()) >= num):
        bad = int(idx.min()) if int(idx.min()) < 0 else int(idx.max())
        raise IndexError(f"{op}: index {bad} is out of range for an embedding of {num} rows "
                         f"(num_embeddings={num}): indices must be in [0, {num - 1}]")
    return idx


def _padding_idx(padding_idx: Any, num: int, op: str) -> int | None:
    if padding_idx is None:
        return None
    if not -num <= padding_idx < num:
        raise ValueError(f"{op}: padding_idx must be within num_embeddings ({num}), i.e. in "
                         f"[{-num}, {num - 1}], got {padding_idx}")
    return padding_idx + num if padding_idx < 0 else padding_idx


def _weight(weight: Any, op: str) -> Tensor:
    if not isinstance(weight, Tensor) or weight.ndim != 2:
        raise ValueError(f"{op}: weight must be a 2-D tensor (num_embeddings, embedding_dim), "
                         f"got {getattr(weight, 'shape', type(weight).__name__)}")
    return weight


def _renorm_(weight: Tensor, idx: Any, max_norm: float, norm_type: float) -> None:
    """PyTorch's embedding_renorm_: rows read by idx whose norm exceeds max_norm are scaled
    to max_norm, in place, outside the graph."""
    rows = xp.unique(idx)
    w = weight._data
    norms = xp.linalg.norm(w[rows], ord=norm_type, axis=1)
    big = norms > max_norm
    if big.any():
        with graph.no_grad():
            w[rows[big]] *= (max_norm / (norms[big] + 1e-7))[:, None].astype(w.dtype)
            weight._vc[0] += 1


def _lookup(weight: Tensor, idx: Any, padding_idx: int | None, scale: bool) -> Tensor:
    out = _F.getitem(weight, _make(idx))
    s = None
    if scale:
        uniq, inv, counts = xp.unique(idx, return_inverse=True, return_counts=True)
        s = (1.0 / counts[inv.reshape(idx.shape)]).astype(weight._data.dtype)
    if padding_idx is not None and (idx == padding_idx).any():
        keep = (idx != padding_idx).astype(weight._data.dtype)
        s = keep if s is None else s * keep
    if s is None or not weight.requires_grad or not graph.is_grad_enabled():
        return out
    v = out.detach()
    return _F.add(v, _F.mul(_F.sub(out, v), _make(s[..., None])))


def embedding(input: Tensor, weight: Tensor, padding_idx: int | None = None,
              max_norm: float | None = None, norm_type: float = 2.0,
              scale_grad_by_freq: bool = False, sparse: bool = False) -> Tensor:
    """The rows of ``weight`` (num_embeddings, embedding_dim) at the integer ``input``:
    output shape ``input.shape + (embedding_dim,)``. The row ``padding_idx`` gets no gradient;
    ``max_norm`` renormalises the rows read, in place, as PyTorch does.

    >>> import chainrule as cr
    >>> import chainrule.nn.functional as F
    >>> w = cr.tensor([[0.0, 0.0], [1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    >>> F.embedding(cr.tensor([[1, 2], [2, 0]]), w, padding_idx=0).sum().backward()
    >>> w.grad.tolist()
    [[0.0, 0.0], [1.0, 1.0], [2.0, 2.0]]
    """
    op = "embedding"
    weight = _weight(weight, op)
    if sparse:
        raise ValueError(f"{op}: sparse gradients are not supported by chainrule; pass "
                         "sparse=False (the gradient is dense, with the same values)")
    num = weight.shape[0]
    idx = _indices(input, num, op)
    pad = _padding_idx(padding_idx, num, op)
    if max_norm is not None:
        _renorm_(weight, idx, float(max_norm), float(norm_type))
    return _lookup(weight, idx, pad, scale_grad_by_freq)


def _bags(idx: Any, offsets: Any, include_last_offset: bool, op: str) -> tuple[Any, int]:
    """(bag id of every index, number of bags) for 1-D indices with offsets."""
    if offsets is None:
        raise ValueError(f"{op}: offsets has to be a 1D Tensor but got None (needed for 1-D "
                         "input)")
    off = offsets._data if isinstance(offsets, Tensor) else xp.asarray(offsets)
    if off.ndim != 1 or off.dtype.kind not in "iu":
        raise ValueError(f"{op}: offsets has to be a 1-D integer tensor, got "
                         f"{dtype_name(off.dtype)} of shape {tuple(off.shape)}")
    if off.size == 0 or int(off[0]) != 0:
        raise ValueError(f"{op}: offsets[0] has to be 0, i.e., the first sequence in the "
                         f"mini-batch has to start from position 0. However, got "
                         f"{off.tolist()[:1]}")
    if (xp.diff(off) < 0).any() or int(off[-1]) > idx.shape[0]:
        raise ValueError(f"{op}: offsets must be non-decreasing and at most the number of "
                         f"indices ({idx.shape[0]}), got {off.tolist()}")
    n = off.shape[0] - 1 if include_last_offset else off.shape[0]
    bag = xp.searchsorted(off[:n], xp.arange(idx.shape[0]), side="right") - 1
    return bag, n


def embedding_bag(input: Tensor, weight: Tensor, offsets: Tensor | None = None,
                  max_norm: float | None = None, norm_type: float = 2.0,
                  scale_grad_by_freq: bool = False, mode: str = "mean", sparse: bool = False,
                  per_sample_weights: Tensor | None = None, include_last_offset: bool = False,
                  padding_idx: int | None = None) -> Tensor:
    """Sums, means or maxima of bags of embeddings: rows of a 2-D ``input`` (B, N) are bags,
    or a 1-D ``input`` is cut into bags at ``offsets``. Output (B, embedding_dim); an empty
    bag gives zeros; indices equal to ``padding_idx`` are left out of their bags.

    >>> import chainrule as cr
    >>> import chainrule.nn.functional as F
    >>> w = cr.tensor([[1.0], [2.0], [4.0]])
    >>> F.embedding_bag(cr.tensor([0, 1, 2, 2]), w, cr.tensor([0, 3]), mode="sum").tolist()
    [[7.0], [4.0]]
    """
    op = "embedding_bag"
    if mode not in ("sum", "mean", "max"):
        raise ValueError(f"{op}: mode has to be one of sum, mean or max, got {mode!r}")
    weight = _weight(weight, op)
    num, D = weight.shape
    idx = _indices(input, num, op)
    if per_sample_weights is not None:
        if mode != "sum":
            raise NotImplementedError(f"{op}: per_sample_weights was not None. "
                                      "per_sample_weights is only supported for mode='sum' "
                                      f"(got mode='{mode}'). Please open a feature request on "
                                      "GitHub.")
        if tuple(per_sample_weights.shape) != idx.shape:
            raise ValueError(f"{op}: per_sample_weights must have the shape of input "
                             f"{idx.shape}, got {tuple(per_sample_weights.shape)}")
    if idx.ndim == 2:
        if offsets is not None:
            raise ValueError(f"{op}: if input is 2D, then offsets has to be None, as input is "
                             "treated is a mini-batch of fixed length sequences.")
        B = idx.shape[0]
        bag = xp.repeat(xp.arange(B), idx.shape[1])
        idx = idx.reshape(-1)
        if per_sample_weights is not None:
            per_sample_weights = _F.reshape(per_sample_weights, (-1,))
    elif idx.ndim == 1:
        bag, B = _bags(idx, offsets, include_last_offset, op)
    else:
        raise ValueError(f"{op}: input has to be 1D or 2D Tensor, but got Tensor of dimension "
                         f"{idx.ndim}")
    pad = _padding_idx(padding_idx, num, op)
    keep = xp.ones(idx.shape, bool) if pad is None else idx != pad
    if max_norm is not None:
        _renorm_(weight, idx, float(max_norm), float(norm_type))
    idx, bag = idx[keep], bag[keep]
    rows = _lookup(weight, idx, None, scale_grad_by_freq)
    if per_sample_weights is not None:
        psw = _F.getitem(per_sample_weights, _make(xp.nonzero(keep)[0]))
        rows = _F.mul(rows, _F.unsqueeze(psw, 1))
    counts = xp.bincount(bag, minlength=B).astype(weight._data.dtype)
    if mode == "max":
        return _bag_max(rows, bag, B, counts)
    out = _F.index_add_zeros(rows, (bag,), False, (B, D))
    if mode == "mean":
        out = _F.div(out, _make(xp.maximum(counts, 1.0)[:, None]))
    return out


def _bag_max(rows: Tensor, bag: Any, B: int, counts: Any) -> Tensor:
    """The maximum of each bag's rows (0 for an empty bag): rows placed in a (B, L, D) grid
    padded with -inf, then amax over L."""
    L = int(counts.max()) if counts.size and counts.max() > 0 else 1
    D = rows.shape[1]
    pos = xp.arange(bag.shape[0]) - xp.searchsorted(bag, bag, side="left")
    flat = bag * L + pos
    dt = rows._data.dtype
    grid = _F.index_put(_make(xp.full((B * L, D), -xp.inf, dt)), _make(flat), rows)
    out = _F.amax(_F.reshape(grid, (B, L, D)), 1)
    return _F.where(_make((counts > 0)[:, None]), out, _make(xp.zeros((), dt)))
