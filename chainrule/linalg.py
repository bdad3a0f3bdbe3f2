"""``cr.linalg``: the norms of ``torch.linalg`` (other members raise, saying what to use).

>>> import chainrule as cr
>>> cr.linalg.norm(cr.tensor([3.0, 4.0]))
tensor(5.)
"""

from __future__ import annotations

from typing import Any

from .core.compat import UnsupportedError
from .core.ops_extra import linalg_norm as norm
from .core.ops_extra import matrix_norm, vector_norm

__all__ = ["norm", "vector_norm", "matrix_norm"]

_MESSAGE = ("use numpy.linalg on x.numpy() (no gradient); for products use @, for norms "
            "cr.linalg.norm / vector_norm / matrix_norm")


def __getattr__(name: str) -> Any:
    if name[:2] == "__":
        raise AttributeError(name)
    raise UnsupportedError(f"torch.linalg.{name} is not supported: {_MESSAGE}")
