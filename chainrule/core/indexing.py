"""PyTorch's order of dimensions when integers and index arrays are mixed.

NumPy counts an integer as an advanced index when an array is present, so in
``x[0, :, [0, 1]]`` the two "advanced" indices are separated by a slice and the broadcast
dimension goes first: shape (2, 3) for x of shape (2, 3, 4). PyTorch applies integers first,
as basic indexing (``x[0]`` is a view), and only then the arrays: ``x[0][:, [0, 1]]``,
shape (3, 2). :func:`split_ints` turns one mixed index into those two steps.
"""

from __future__ import annotations

from ..backend import ndarray


def split_ints(idx: tuple) -> tuple[tuple, tuple] | None:
    """``(basic, rest)`` with ``x[idx]`` (PyTorch) == ``x[basic][rest]`` (NumPy), or None
    when the index has no integer next to an index array (NumPy's order is PyTorch's then).

    ``idx`` is normalised (ints, slices, None, Ellipsis, integer arrays, 0-d bool arrays).
    """
    has_int = any(i.__class__ is int for i in idx)
    if not has_int or not any(isinstance(i, ndarray) for i in idx):
        return None
    basic: list = []
    rest: list = []
    for i in idx:
        if i.__class__ is int:
            basic.append(i)
        elif isinstance(i, ndarray):
            if i.ndim or i.dtype.kind != "b":  # an index array consumes one dim
                basic.append(slice(None))
            rest.append(i)
        elif i is Ellipsis:
            basic.append(i)
            rest.append(i)
        else:  # a slice, or None (its new dim exists after the first step)
            basic.append(i)
            rest.append(slice(None))
    return tuple(basic), tuple(rest)
