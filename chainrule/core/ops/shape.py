"""Shape functions: reshape, permute, broadcasting, cat/stack/split, gather."""

from __future__ import annotations

import builtins
from typing import Any, Sequence

from ...backend import xp
from ..dtypes import dtype_name
from ..graph import apply
from ..primitives import structure as S
from ..promotion import result_type
from ..tensor_class import Tensor
from .convert import _as_tensor, _dim, _dims, _prod_int, _shape_arg, cast
from .elementwise import clone
from .indexing import apply_getitem, getitem

_py_max, _py_sum = builtins.max, builtins.sum


def reshape(x: Tensor, *shape: Any) -> Tensor:
    """The same elements in a new shape (one dim may be -1).

    >>> import chainrule as cr
    >>> cr.arange(6).reshape(2, -1).shape
    torch.Size([2, 3])
    """
    x = _as_tensor(x)
    shp = _shape_arg(shape, "reshape")
    size = x._data.size
    if shp.count(-1) > 1:
        raise ValueError(f"reshape: only one dim can be -1, got {shp}")
    known = _prod_int(s for s in shp if s != -1)
    if -1 in shp:
        if known == 0 or size % known:
            raise ValueError(
                f"reshape: cannot reshape a tensor of shape {tuple(x.shape)} ({size} elements) "
                f"into {shp}"
            )
        shp = tuple(size // known if s == -1 else s for s in shp)
    elif known != size:
        raise ValueError(
            f"reshape: cannot reshape a tensor of shape {tuple(x.shape)} ({size} elements) into "
            f"{shp} ({known} elements)"
        )
    if shp == x._data.shape:
        return x
    return apply(S.Reshape(shp), x)


view = reshape


def flatten(x: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Merge dims ``start_dim`` .. ``end_dim`` into one."""
    x = _as_tensor(x)
    if x._data.ndim == 0:
        return reshape(x, 1)
    s = _dim(start_dim, x._data.ndim, "flatten")
    e = _dim(end_dim, x._data.ndim, "flatten")
    if s > e:
        raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim}")
    shp = x._data.shape
    return reshape(x, shp[:s] + (_prod_int(shp[s:e + 1]),) + shp[e + 1:])


def permute(x: Tensor, *dims: Any) -> Tensor:
    """Reorder the dims."""
    x = _as_tensor(x)
    d = _shape_arg(dims, "permute")
    nd = x._data.ndim
    if len(d) != nd:
        raise ValueError(f"permute: got {len(d)} dims {d} for a tensor with {nd} dims")
    d = tuple(_dim(i, nd, "permute") for i in d)
    if sorted(d) != list(range(nd)):
        raise ValueError(f"permute: {d} is not a permutation of the dims 0..{nd - 1}")
    if d == tuple(range(nd)):
        return x
    return apply(S.Permute(d), x)


def transpose(x: Tensor, dim0: int, dim1: int) -> Tensor:
    """Swap two dims."""
    x = _as_tensor(x)
    nd = x._data.ndim
    if nd == 0:
        return x
    a, b = _dim(dim0, nd, "transpose"), _dim(dim1, nd, "transpose")
    d = list(range(nd))
    d[a], d[b] = d[b], d[a]
    return permute(x, tuple(d))


def t(x: Tensor) -> Tensor:
    """Transpose of a tensor with at most 2 dims."""
    x = _as_tensor(x)
    if x._data.ndim > 2:
        raise ValueError(
            f"t: expects a tensor with <= 2 dims, got shape {tuple(x.shape)}; use transpose")
    return transpose(x, 0, -1) if x._data.ndim == 2 else x


def squeeze(x: Tensor, dim: Any = None) -> Tensor:
    """Remove size-1 dims (all of them, or those in ``dim``)."""
    x = _as_tensor(x)
    shp = x._data.shape
    if dim is None:
        return reshape(x, tuple(s for s in shp if s != 1))
    axes = _dims(dim, x._data.ndim, "squeeze") or ()
    return reshape(x, tuple(s for i, s in enumerate(shp) if not (i in axes and s == 1)))


def unsqueeze(x: Tensor, dim: int) -> Tensor:
    """Insert a size-1 dim at ``dim``."""
    x = _as_tensor(x)
    d = _dim(dim, x._data.ndim + 1, "unsqueeze")
    shp = x._data.shape
    return reshape(x, shp[:d] + (1,) + shp[d:])


def broadcast_to(x: Tensor, *shape: Any) -> Tensor:
    """A read-only view of x repeated to ``shape`` (NumPy broadcasting rules)."""
    x = _as_tensor(x)
    shp = _shape_arg(shape, "broadcast_to")
    if shp == x._data.shape:
        return x
    _check_broadcast(x._data.shape, shp, "broadcast_to")
    return apply(S.BroadcastTo(shp), x)


def expand(x: Tensor, *sizes: Any) -> Tensor:
    """Like broadcast_to; -1 keeps a dim's size."""
    x = _as_tensor(x)
    shp = list(_shape_arg(sizes, "expand"))
    lead = len(shp) - x._data.ndim
    if lead < 0:
        raise ValueError(
            f"expand: the number of sizes ({len(shp)}) must be at least the tensor's dims "
            f"({x._data.ndim}); shape {tuple(x.shape)}"
        )
    for i, s in enumerate(shp):
        if s == -1:
            if i < lead:
                raise ValueError(f"expand: -1 is not allowed for a new leading dim ({tuple(shp)})")
            shp[i] = x._data.shape[i - lead]
    _check_broadcast(tuple(x.shape), tuple(shp), "expand")
    return broadcast_to(x, tuple(shp))


def expand_as(x: Tensor, other: Tensor) -> Tensor:
    return broadcast_to(x, other.shape)


def _check_broadcast(src: tuple, dst: tuple, op: str) -> None:
    ok = len(src) <= len(dst) and all(
        s == d or s == 1 for s, d in zip(src[::-1], dst[::-1]))
    if not ok:
        raise ValueError(
            f"{op}: cannot broadcast a tensor of shape {src} to {dst}: each dim must match or "
            "be 1, counting from the right"
        )


def summed_axes(from_shape: tuple[int, ...], to_shape: tuple[int, ...]) -> tuple[int, ...]:
    """The axes of ``from_shape`` that :func:`sum_to` sums to reach ``to_shape``: the leading
    ones broadcasting added, then those where ``to_shape`` has a 1.

    >>> summed_axes((4, 3, 2), (3, 1))
    (0, 2)
    """
    lead = len(from_shape) - len(to_shape)
    return tuple(range(lead)) + tuple(
        i + lead for i, s in enumerate(to_shape) if s == 1 and from_shape[i + lead] != 1)


def sum_to(x: Tensor, shape: tuple[int, ...]) -> Tensor:
    """Sum x down to ``shape``: the transpose of broadcasting x's shape to ... x's shape."""
    shape = tuple(shape)
    xs = x._data.shape
    if xs == shape:
        return x
    _check_broadcast(shape, xs, "sum_to")
    lead = len(xs) - len(shape)
    inner = summed_axes(xs, shape)[lead:]
    if not inner:  # only leading dims to remove: one sum, no reshape
        return apply(S.Sum(tuple(range(lead)), False), x)
    out = apply(S.Sum(tuple(range(lead)) + inner, True), x)
    return reshape(out, shape)


def cat(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Concatenate along an existing dim.

    >>> import chainrule as cr
    >>> cr.cat([cr.zeros(1, 2), cr.ones(2, 2)]).shape
    torch.Size([3, 2])
    """
    ts = [_as_tensor(t) for t in tensors]
    if not ts:
        raise ValueError("cat: expects a non-empty list of tensors")
    nd = ts[0]._data.ndim
    if nd == 0:
        raise ValueError("cat: zero-dimensional tensors cannot be concatenated; use stack")
    d = _dim(dim, nd, "cat")
    ref = ts[0]._data.shape
    for i, t in enumerate(ts[1:], 1):
        s = t._data.shape
        if len(s) != nd or any(a != b for j, (a, b) in enumerate(zip(s, ref)) if j != d):
            raise ValueError(
                f"cat: tensors must have the same shape except in dim {d}; tensor 0 has shape "
                f"{ref} and tensor {i} has shape {s}"
            )
    dts = {t._data.dtype for t in ts}
    if len(dts) > 1:
        dt = result_type(*dts)  # PyTorch's promotion: cat([float32, int64]) is float32
        ts = [cast(t, dt) if t._data.dtype != dt else t for t in ts]
    return apply(S.Cat(d, tuple(t._data.shape[d] for t in ts)), *ts)


concat = concatenate = cat


def stack(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Join tensors of equal shape along a new dim."""
    ts = [_as_tensor(t) for t in tensors]
    if not ts:
        raise ValueError("stack: expects a non-empty list of tensors")
    for i, t_ in enumerate(ts[1:], 1):
        if t_._data.shape != ts[0]._data.shape:
            raise ValueError(
                f"stack: all tensors must have the same shape; tensor 0 has shape "
                f"{tuple(ts[0].shape)} and tensor {i} has shape {tuple(t_.shape)}"
            )
    d = _dim(dim, ts[0]._data.ndim + 1, "stack")
    return cat([unsqueeze(t_, d) for t_ in ts], d)


def split(x: Tensor, split_size_or_sections: Any, dim: int = 0) -> tuple[Tensor, ...]:
    """Split into chunks of a given size (the last may be smaller) or of the given sizes."""
    x = _as_tensor(x)
    d = _dim(dim, x._data.ndim, "split")
    n = x._data.shape[d]
    if isinstance(split_size_or_sections, (list, tuple)):
        sizes = list(split_size_or_sections)
        if _py_sum(sizes) != n:
            raise ValueError(
                f"split: sizes {tuple(sizes)} sum to {_py_sum(sizes)} but dim {d} has size {n}"
            )
    else:
        s = builtins.int(split_size_or_sections)
        if s <= 0:
            raise ValueError(f"split: split_size must be positive, got {s}")
        sizes = [s] * (n // s) + ([n % s] if n % s else [])
    out = []
    start = 0
    lead = (slice(None),) * d
    for s in sizes:
        out.append(getitem(x, lead + (slice(start, start + s),)))
        start += s
    return tuple(out)


def chunk(x: Tensor, chunks: int, dim: int = 0) -> tuple[Tensor, ...]:
    """Split into ``chunks`` nearly equal pieces (as PyTorch: size ceil(n / chunks))."""
    x = _as_tensor(x)
    if chunks <= 0:
        raise ValueError(f"chunk: chunks must be positive, got {chunks}")
    n = x._data.shape[_dim(dim, x._data.ndim, "chunk")]
    return split(x, _py_max(1, -(-n // chunks)), dim)


def flip(x: Tensor, dims: Any) -> Tensor:
    """Reverse the order of elements along ``dims``."""
    x = _as_tensor(x)
    axes = _dims(dims, x._data.ndim, "flip") or ()
    idx = tuple(slice(None, None, -1) if i in axes else slice(None) for i in range(x._data.ndim))
    return clone(getitem(x, idx))  # NOTE: a copy, as PyTorch's flip (a reversed slice is a view)


def gather(x: Tensor, dim: int, index: Any) -> Tensor:
    """out[i][j] = x[i][index[i][j]] for dim=1 (and likewise for any dim).

    >>> import chainrule as cr
    >>> cr.gather(cr.tensor([[1.0, 2.0], [3.0, 4.0]]), 1, cr.tensor([[1], [0]]))
    tensor([[2.],
            [3.]])
    """
    x = _as_tensor(x)
    idx = _as_tensor(index)._data
    nd = x._data.ndim
    d = _dim(dim, nd, "gather")
    if idx.dtype.kind not in "iu":
        raise TypeError(f"gather: index must be an integer tensor, got {dtype_name(idx.dtype)}")
    if idx.ndim != nd:
        raise ValueError(
            f"gather: index has {idx.ndim} dims but the input has {nd} (shapes "
            f"{tuple(idx.shape)} and {tuple(x.shape)}); they must have the same number of dims"
        )
    for i in range(nd):
        if i != d and idx.shape[i] > x._data.shape[i]:
            raise ValueError(
                f"gather: index shape {tuple(idx.shape)} is larger than the input shape "
                f"{tuple(x.shape)} in dim {i}"
            )
    size = x._data.shape[d]
    if idx.size and (idx.min() < -size or idx.max() >= size):
        raise IndexError(
            f"gather: index values must be in [{-size}, {size - 1}] for dim {d} of size {size}, "
            f"got values from {idx.min()} to {idx.max()}"
        )
    grids = xp.ogrid[tuple(slice(0, s) for s in idx.shape)] if nd > 1 else [None]
    full = tuple(idx if i == d else grids[i] for i in range(nd))
    return apply_getitem(x, full, False)


