"""PyTorch's type promotion among tensors that all have dims (cat, stack, ...).

The result is of the highest category present (bool < integer < floating point), and within
that category the widest of the dtypes of that category: ``cat([float32, int64])`` is
float32, where NumPy's ``result_type`` would say float64.
"""

from __future__ import annotations

from typing import Any

from ..backend import xp

_CATEGORY = {"b": 0, "u": 1, "i": 1, "f": 2}


def result_type(*dtypes: Any) -> Any:
    top = max(_CATEGORY[d.kind] for d in dtypes)
    return xp.result_type(*[d for d in dtypes if _CATEGORY[d.kind] == top])
