"""The names ``chainrule`` adds to its namespace from the PyTorch-surface modules
(legacy tensor types, sorting, norms, sampling), and ``out=`` on the common functions.

``chainrule/__init__.py`` calls :func:`torch_surface` once with its namespace.
"""

from __future__ import annotations

from typing import Any

from . import ops_extra as O
from . import random_extra as R
from .legacy_types import LEGACY_TYPES
from .out_arg import OUT_FUNCTIONS, with_out
from .tensor_extra import deprecated_alpha

__all__ = ["torch_surface"]


def torch_surface(namespace: dict[str, Any]) -> dict[str, Any]:
    """The new names, and the functions of ``namespace`` that gain ``out=``."""
    new: dict[str, Any] = dict(LEGACY_TYPES)
    for name in ("sort", "argsort", "topk", "norm", "narrow", "tril", "triu",
                 "take_along_dim"):
        new[name] = getattr(O, name)
    for name in ("normal", "multinomial", "randint"):
        new[name] = getattr(R, name)
    for name in ("add", "sub"):
        new[name] = deprecated_alpha(namespace[name])
    for name in OUT_FUNCTIONS:
        fn = new.get(name, namespace.get(name))
        if fn is not None:
            new[name] = with_out(fn)
    for name in ("sort", "topk", "argsort", "norm", "narrow", "tril", "triu",
                 "take_along_dim"):
        new[name] = with_out(new[name])
    return new
