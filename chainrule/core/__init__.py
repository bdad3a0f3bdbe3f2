"""The engine: tensors, the graph, primitives, composites and reverse-mode autodiff.

Layers, each importing only those before it: ``tensor_class`` (the Tensor class, ``_make``)
< ``graph`` (nodes, grad mode, ``apply``, the backward engine) < ``primitives`` < ``ops``
(the tensor functions; ``functional`` exports them) < ``autograd``, ``creation`` <
``tensor`` (attaches the Tensor methods that need the layers above the class). One reference
goes the other way, at call time: backward runs the library's own functions (the
primitives' vjps and the engine's broadcast sum use ``functional``), so that it can be
differentiated again; see :mod:`chainrule.core.primitives`.
"""

from .tensor import Tensor  # noqa: F401  (importing it attaches every Tensor method)
