"""The engine: tensors, the graph, primitives, composites and reverse-mode autodiff."""

from . import graph  # noqa: F401  (first: tensor.py registers itself with it)
from .tensor import Tensor  # noqa: F401
