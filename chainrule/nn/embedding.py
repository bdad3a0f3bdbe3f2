"""nn.Embedding and nn.EmbeddingBag: lookup tables of learned vectors (PyTorch's semantics).

>>> import chainrule as cr
>>> from chainrule import nn
>>> _ = cr.manual_seed(0)
>>> emb = nn.Embedding(10, 3, padding_idx=0)
>>> emb(cr.tensor([[1, 2, 0], [4, 0, 0]])).shape
torch.Size([2, 3, 3])
>>> emb.weight[0].tolist()
[0.0, 0.0, 0.0]
"""

from __future__ import annotations

from typing import Any

from ..core import graph
from ..core.creation import Generator, empty
from ..core.tensor import Tensor
from . import init
from .functional_embedding import _padding_idx, embedding, embedding_bag
from .module import Module, Parameter

__all__ = ["Embedding", "EmbeddingBag"]


def _sizes(name: str, num: Any, dim: Any) -> None:
    for what, v in (("num_embeddings", num), ("embedding_dim", dim)):
        if not isinstance(v, int) or isinstance(v, bool) or v < 0:
            raise ValueError(f"{name}: {what} must be a non-negative int, got {v!r}")


def _reset_normal(weight: Tensor, padding_idx: int | None, generator: Generator | None) -> None:
    init.normal_(weight, generator=generator)
    if padding_idx is not None:
        with graph.no_grad():
            weight[padding_idx] = 0.0


class Embedding(Module):
    """A table ``weight`` (num_embeddings, embedding_dim), N(0, 1) at the start (the
    ``padding_idx`` row zero, and it gets no gradient); ``forward(input)`` returns its rows at
    the integer indices ``input``, shape ``input.shape + (embedding_dim,)``."""

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx: int | None = None,
                 max_norm: float | None = None, norm_type: float = 2.0,
                 scale_grad_by_freq: bool = False, sparse: bool = False,
                 _weight: Tensor | None = None, _freeze: bool = False, device: Any = None,
                 dtype: Any = None, generator: Generator | None = None) -> None:
        super().__init__()
        _sizes("Embedding", num_embeddings, embedding_dim)
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.padding_idx = _padding_idx(padding_idx, num_embeddings, "Embedding")
        self.max_norm, self.norm_type = max_norm, norm_type
        self.scale_grad_by_freq, self.sparse = scale_grad_by_freq, sparse
        if _weight is None:
            self.weight = Parameter(empty(num_embeddings, embedding_dim, dtype=dtype),
                                    requires_grad=not _freeze)
            self.reset_parameters(generator)
        else:
            if tuple(_weight.shape) != (num_embeddings, embedding_dim):
                raise ValueError(f"Embedding: shape of weight {tuple(_weight.shape)} does not "
                                 f"match num_embeddings and embedding_dim "
                                 f"({num_embeddings}, {embedding_dim})")
            self.weight = Parameter(_weight, requires_grad=not _freeze)

    def reset_parameters(self, generator: Generator | None = None) -> None:
        """PyTorch's default: N(0, 1), then the padding row zero."""
        _reset_normal(self.weight, self.padding_idx, generator)

    def forward(self, input: Tensor) -> Tensor:
        return embedding(input, self.weight, self.padding_idx, self.max_norm, self.norm_type,
                         self.scale_grad_by_freq, self.sparse)

    def extra_repr(self) -> str:
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.padding_idx is not None:
            s += f", padding_idx={self.padding_idx}"
        if self.max_norm is not None:
            s += f", max_norm={self.max_norm}"
        if self.norm_type != 2:
            s += f", norm_type={self.norm_type}"
        if self.scale_grad_by_freq:
            s += ", scale_grad_by_freq=True"
        if self.sparse:
            s += ", sparse=True"
        return s

    @classmethod
    def from_pretrained(cls, embeddings: Tensor, freeze: bool = True,
                        padding_idx: int | None = None, max_norm: float | None = None,
                        norm_type: float = 2.0, scale_grad_by_freq: bool = False,
                        sparse: bool = False) -> Embedding:
        """An Embedding whose table is ``embeddings`` (2-D; frozen unless ``freeze=False``).

        >>> import chainrule as cr
        >>> from chainrule import nn
        >>> emb = nn.Embedding.from_pretrained(cr.tensor([[1.0, 2.0], [3.0, 4.0]]))
        >>> emb(cr.tensor([1])).tolist(), emb.weight.requires_grad
        ([[3.0, 4.0]], False)
        """
        if not isinstance(embeddings, Tensor) or embeddings.ndim != 2:
            raise ValueError("Embedding.from_pretrained: embeddings parameter is expected to "
                             f"be 2-dimensional, got {getattr(embeddings, 'shape', None)}")
        rows, cols = embeddings.shape
        return cls(rows, cols, padding_idx, max_norm, norm_type, scale_grad_by_freq, sparse,
                   _weight=embeddings.detach(), _freeze=freeze)


class EmbeddingBag(Module):
    """Sums, means or maxima of bags of embeddings without building the (N, D) rows of every
    index in the output: ``forward(input, offsets=None, per_sample_weights=None)``, see
    :func:`chainrule.nn.functional.embedding_bag`."""

    def __init__(self, num_embeddings: int, embedding_dim: int, max_norm: float | None = None,
                 norm_type: float = 2.0, scale_grad_by_freq: bool = False, mode: str = "mean",
                 sparse: bool = False, _weight: Tensor | None = None,
                 include_last_offset: bool = False, padding_idx: int | None = None,
                 device: Any = None, dtype: Any = None,
                 generator: Generator | None = None) -> None:
        super().__init__()
        _sizes("EmbeddingBag", num_embeddings, embedding_dim)
        if mode not in ("sum", "mean", "max"):
            raise ValueError(f"EmbeddingBag: mode has to be one of sum, mean or max, got "
                             f"{mode!r}")
        if sparse:
            raise ValueError("EmbeddingBag: sparse gradients are not supported by chainrule; "
                             "pass sparse=False (the gradient is dense, with the same values)")
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.max_norm, self.norm_type = max_norm, norm_type
        self.scale_grad_by_freq, self.mode, self.sparse = scale_grad_by_freq, mode, sparse
        self.include_last_offset = include_last_offset
        self.padding_idx = _padding_idx(padding_idx, num_embeddings, "EmbeddingBag")
        if _weight is None:
            self.weight = Parameter(empty(num_embeddings, embedding_dim, dtype=dtype))
            self.reset_parameters(generator)
        else:
            self.weight = Parameter(_weight)

    def reset_parameters(self, generator: Generator | None = None) -> None:
        """PyTorch's default: N(0, 1), then the padding row zero."""
        _reset_normal(self.weight, self.padding_idx, generator)

    def forward(self, input: Tensor, offsets: Tensor | None = None,
                per_sample_weights: Tensor | None = None) -> Tensor:
        return embedding_bag(input, self.weight, offsets, self.max_norm, self.norm_type,
                             self.scale_grad_by_freq, self.mode, self.sparse,
                             per_sample_weights, self.include_last_offset, self.padding_idx)

    def extra_repr(self) -> str:
        s = f"{self.num_embeddings}, {self.embedding_dim}, mode='{self.mode}'"
        if self.padding_idx is not None:
            s += f", padding_idx={self.padding_idx}"
        return s

    @classmethod
    def from_pretrained(cls, embeddings: Tensor, freeze: bool = True,
                        max_norm: float | None = None, norm_type: float = 2.0,
                        scale_grad_by_freq: bool = False, mode: str = "mean",
                        sparse: bool = False, include_last_offset: bool = False,
                        padding_idx: int | None = None) -> EmbeddingBag:
        """An EmbeddingBag whose table is ``embeddings`` (frozen unless ``freeze=False``)."""
        if not isinstance(embeddings, Tensor) or embeddings.ndim != 2:
            raise ValueError("EmbeddingBag.from_pretrained: embeddings parameter is expected "
                             f"to be 2-dimensional, got {getattr(embeddings, 'shape', None)}")
        rows, cols = embeddings.shape
        bag = cls(rows, cols, max_norm, norm_type, scale_grad_by_freq, mode, sparse,
                  embeddings.detach(), include_last_offset, padding_idx)
        bag.weight.requires_grad = not freeze
        return bag
