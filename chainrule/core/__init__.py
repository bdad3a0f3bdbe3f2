"""The engine: tensors, the graph, primitives, composites and reverse-mode autodiff."""

from .tensor import Tensor  # noqa: F401  (importing it attaches every Tensor method)
