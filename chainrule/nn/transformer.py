"""The transformer of "Attention Is All You Need" as PyTorch builds it:
TransformerEncoderLayer, TransformerDecoderLayer, TransformerEncoder, TransformerDecoder and
Transformer, with PyTorch's submodule names (so state dicts load) and forward signatures.
"""

from __future__ import annotations

import copy
import math
from typing import Any, Callable

from ..backend import xp
from ..core.dtypes import get_default_dtype, normalize_dtype
from ..core.tensor import Tensor, _make
from . import functional as F
from . import init
from .attention import MultiheadAttention
from .layers import Dropout, Linear
from .module import Module, ModuleList
from .normalization import LayerNorm

__all__ = ["TransformerEncoderLayer", "TransformerDecoderLayer", "TransformerEncoder",
           "TransformerDecoder", "Transformer"]


def _get_activation_fn(activation: Any, layer: str) -> Callable[[Tensor], Tensor]:
    if activation == "relu":
        return F.relu
    if activation == "gelu":
        return F.gelu
    if isinstance(activation, str) or not callable(activation):
        raise ValueError(f"{layer}: activation should be 'relu', 'gelu' or a callable, not "
                         f"{activation!r}")
    return activation


def _check_features(x: Any, d_model: int, what: str, layer: str) -> None:
    shape = tuple(x.shape)
    if not shape or shape[-1] != d_model:
        raise ValueError(f"{layer}: expected {what} with d_model={d_model} features in its last "
                         f"dim, got shape {shape}")


def _detect_is_causal_mask(mask: Any, is_causal: bool | None, size: int | None = None) -> bool:
    """PyTorch's: is_causal if given, else whether mask is the square subsequent mask."""
    if is_causal is not None or mask is None:
        return bool(is_causal)
    m = mask._data if isinstance(mask, Tensor) else xp.asarray(mask)
    sz = size if size is not None else m.shape[-2]
    ref = Transformer.generate_square_subsequent_mask(sz, dtype=m.dtype)._data
    return m.shape == ref.shape and bool((m == ref).all())


class _Layer(Module):
    """The feed-forward block and the options shared by the encoder and decoder layers."""

    def _init_common(self, d_model: int, nhead: int, dim_feedforward: int, dropout: float,
                     activation: Any, layer_norm_eps: float, norm_first: bool, bias: bool,
                     dtype: Any, n_norms: int) -> None:
        name = f"{type(self).__name__}(d_model={d_model}, nhead={nhead})"
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, dtype=dtype)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, dtype=dtype)
        self.norm_first = norm_first
        for i in range(1, n_norms + 1):
            setattr(self, f"norm{i}", LayerNorm(d_model, eps=layer_norm_eps, bias=bias,
                                                dtype=dtype))
        for i in range(1, n_norms + 1):
            setattr(self, f"dropout{i}", Dropout(dropout))
        self.activation_relu_or_gelu = 1 if activation in ("relu", F.relu) else (
            2 if activation in ("gelu", F.gelu) else 0)
        self.activation = _get_activation_fn(activation, name)
        self._name = name
        self._d_model = d_model
        self._ff_dropout = f"dropout{n_norms}"  # the last block's dropout

    def _ff_block(self, x: Tensor) -> Tensor:
        x = self.linear2(self.dropout(self.activation(self.linear1(x))))
        return getattr(self, self._ff_dropout)(x)


class TransformerEncoderLayer(_Layer):
    """Self-attention and a feed-forward block, each with a residual connection and a
    LayerNorm (after it, or before it with ``norm_first=True``).

    >>> import chainrule as cr
    >>> from chainrule import nn
    >>> layer = nn.TransformerEncoderLayer(d_model=16, nhead=4, dim_feedforward=32,
    ...                                    batch_first=True)
    >>> layer(cr.randn(2, 5, 16)).shape
    torch.Size([2, 5, 16])
    """

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int = 2048,
                 dropout: float = 0.1, activation: Any = F.relu, layer_norm_eps: float = 1e-5,
                 batch_first: bool = False, norm_first: bool = False, bias: bool = True,
                 device: Any = None, dtype: Any = None) -> None:
        super().__init__()
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias,
                                            batch_first=batch_first, dtype=dtype)
        self._init_common(d_model, nhead, dim_feedforward, dropout, activation, layer_norm_eps,
                          norm_first, bias, dtype, 2)

    def forward(self, src: Tensor, src_mask: Any = None, src_key_padding_mask: Any = None,
                is_causal: bool = False) -> Tensor:
        _check_features(src, self._d_model, "src", self._name)
        x = src
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), src_mask, src_key_padding_mask, is_causal)
            x = x + self._ff_block(self.norm2(x))
        else:
            x = self.norm1(x + self._sa_block(x, src_mask, src_key_padding_mask, is_causal))
            x = self.norm2(x + self._ff_block(x))
        return x

    def _sa_block(self, x: Tensor, attn_mask: Any, key_padding_mask: Any,
                  is_causal: bool = False) -> Tensor:
        x = self.self_attn(x, x, x, attn_mask=attn_mask, key_padding_mask=key_padding_mask,
                           need_weights=False, is_causal=is_causal)[0]
        return self.dropout1(x)


class TransformerDecoderLayer(_Layer):
    """Self-attention, attention over the encoder's output (``memory``) and a feed-forward
    block, each with a residual connection and a LayerNorm (post- or pre-norm).

    >>> import chainrule as cr
    >>> from chainrule import nn
    >>> layer = nn.TransformerDecoderLayer(16, 4, dim_feedforward=32)
    >>> layer(cr.randn(5, 2, 16), cr.randn(7, 2, 16)).shape
    torch.Size([5, 2, 16])
    """

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int = 2048,
                 dropout: float = 0.1, activation: Any = F.relu, layer_norm_eps: float = 1e-5,
                 batch_first: bool = False, norm_first: bool = False, bias: bool = True,
                 device: Any = None, dtype: Any = None) -> None:
        super().__init__()
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout,
                                            batch_first=batch_first, bias=bias, dtype=dtype)
        self.multihead_attn = MultiheadAttention(d_model, nhead, dropout=dropout,
                                                 batch_first=batch_first, bias=bias, dtype=dtype)
        self._init_common(d_model, nhead, dim_feedforward, dropout, activation, layer_norm_eps,
                          norm_first, bias, dtype, 3)

    def forward(self, tgt: Tensor, memory: Tensor, tgt_mask: Any = None,
                memory_mask: Any = None, tgt_key_padding_mask: Any = None,
                memory_key_padding_mask: Any = None, tgt_is_causal: bool = False,
                memory_is_causal: bool = False) -> Tensor:
        _check_features(tgt, self._d_model, "tgt", self._name)
        _check_features(memory, self._d_model, "memory", self._name)
        x = tgt
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), tgt_mask, tgt_key_padding_mask, tgt_is_causal)
            x = x + self._mha_block(self.norm2(x), memory, memory_mask,
                                    memory_key_padding_mask, memory_is_causal)
            x = x + self._ff_block(self.norm3(x))
        else:
            x = self.norm1(x + self._sa_block(x, tgt_mask, tgt_key_padding_mask, tgt_is_causal))
            x = self.norm2(x + self._mha_block(x, memory, memory_mask, memory_key_padding_mask,
                                               memory_is_causal))
            x = self.norm3(x + self._ff_block(x))
        return x

    def _sa_block(self, x: Tensor, attn_mask: Any, key_padding_mask: Any,
                  is_causal: bool = False) -> Tensor:
        x = self.self_attn(x, x, x, attn_mask=attn_mask, key_padding_mask=key_padding_mask,
                           is_causal=is_causal, need_weights=False)[0]
        return self.dropout1(x)

    def _mha_block(self, x: Tensor, mem: Tensor, attn_mask: Any, key_padding_mask: Any,
                   is_causal: bool = False) -> Tensor:
        x = self.multihead_attn(x, mem, mem, attn_mask=attn_mask,
                                key_padding_mask=key_padding_mask, is_causal=is_causal,
                                need_weights=False)[0]
        return self.dropout2(x)


def _get_clones(module: Module, n: int) -> ModuleList:
    return ModuleList([copy.deepcopy(module) for _ in range(n)])


class TransformerEncoder(Module):
    """``num_layers`` copies of ``encoder_layer`` (deep copies: separate weights), then
    ``norm`` if given.

    >>> import chainrule as cr
    >>> from chainrule import nn
    >>> enc = nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, 16), num_layers=2)
    >>> enc(cr.randn(4, 3, 8)).shape
    torch.Size([4, 3, 8])
    """

    def __init__(self, encoder_layer: Module, num_layers: int, norm: Module | None = None,
                 enable_nested_tensor: bool = True, mask_check: bool = True) -> None:
        super().__init__()
        self.layers = _get_clones(encoder_layer, num_layers)
        self.num_layers = num_layers
        self.norm = norm
        # NOTE: chainrule has no nested tensors; the flag is kept for PyTorch's attribute.
        self.enable_nested_tensor = enable_nested_tensor
        self.mask_check = mask_check

    def forward(self, src: Tensor, mask: Any = None, src_key_padding_mask: Any = None,
                is_causal: bool | None = None) -> Tensor:
        seq_len = src.shape[1] if getattr(self.layers[0], "self_attn", None) is not None and \
            self.layers[0].self_attn.batch_first and len(src.shape) == 3 else src.shape[0]
        causal = _detect_is_causal_mask(mask, is_causal, seq_len)
        output = src
        for mod in self.layers:
            output = mod(output, src_mask=mask, is_causal=causal,
                         src_key_padding_mask=src_key_padding_mask)
        if self.norm is not None:
            output = self.norm(output)
        return output


class TransformerDecoder(Module):
    """``num_layers`` copies of ``decoder_layer``, then ``norm`` if given.

    >>> import chainrule as cr
    >>> from chainrule import nn
    >>> dec = nn.TransformerDecoder(nn.TransformerDecoderLayer(8, 2, 16), num_layers=2)
    >>> dec(cr.randn(4, 3, 8), cr.randn(6, 3, 8)).shape
    torch.Size([4, 3, 8])
    """

    def __init__(self, decoder_layer: Module, num_layers: int,
                 norm: Module | None = None) -> None:
        super().__init__()
        self.layers = _get_clones(decoder_layer, num_layers)
        self.num_layers = num_layers
        self.norm = norm

    def forward(self, tgt: Tensor, memory: Tensor, tgt_mask: Any = None,
                memory_mask: Any = None, tgt_key_padding_mask: Any = None,
                memory_key_padding_mask: Any = None, tgt_is_causal: bool | None = None,
                memory_is_causal: bool = False) -> Tensor:
        first = self.layers[0]
        seq_len = tgt.shape[1] if first.self_attn.batch_first and len(tgt.shape) == 3 \
            else tgt.shape[0]
        causal = _detect_is_causal_mask(tgt_mask, tgt_is_causal, seq_len)
        output = tgt
        for mod in self.layers:
            output = mod(output, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                         tgt_key_padding_mask=tgt_key_padding_mask,
                         memory_key_padding_mask=memory_key_padding_mask,
                         tgt_is_causal=causal, memory_is_causal=memory_is_causal)
        if self.norm is not None:
            output = self.norm(output)
        return output


class Transformer(Module):
    """An encoder-decoder transformer (PyTorch's ``nn.Transformer``): ``forward(src, tgt)``
    encodes src and decodes tgt attending to it. Every parameter with more than one dim
    starts xavier-uniform, as in PyTorch. Programs subclass it (PyTorch's word_language_model
    replaces ``self.decoder`` and uses ``self.encoder`` alone).

    >>> import chainrule as cr
    >>> from chainrule import nn
    >>> model = nn.Transformer(d_model=16, nhead=2, num_encoder_layers=1,
    ...                        num_decoder_layers=1, dim_feedforward=32)
    >>> model(cr.randn(7, 2, 16), cr.randn(5, 2, 16)).shape
    torch.Size([5, 2, 16])
    >>> nn.Transformer.generate_square_subsequent_mask(3)
    tensor([[  0., -inf, -inf],
            [  0.,   0., -inf],
            [  0.,   0.,   0.]])
    """

    def __init__(self, d_model: int = 512, nhead: int = 8, num_encoder_layers: int = 6,
                 num_decoder_layers: int = 6, dim_feedforward: int = 2048, dropout: float = 0.1,
                 activation: Any = F.relu, custom_encoder: Any = None, custom_decoder: Any = None,
                 layer_norm_eps: float = 1e-5, batch_first: bool = False,
                 norm_first: bool = False, bias: bool = True, device: Any = None,
                 dtype: Any = None) -> None:
        super().__init__()
        opts = dict(dim_feedforward=dim_feedforward, dropout=dropout, activation=activation,
                    layer_norm_eps=layer_norm_eps, batch_first=batch_first,
                    norm_first=norm_first, bias=bias, dtype=dtype)
        if custom_encoder is not None:
            self.encoder = custom_encoder
        else:
            self.encoder = TransformerEncoder(
                TransformerEncoderLayer(d_model, nhead, **opts), num_encoder_layers,
                LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype))
        if custom_decoder is not None:
            self.decoder = custom_decoder
        else:
            self.decoder = TransformerDecoder(
                TransformerDecoderLayer(d_model, nhead, **opts), num_decoder_layers,
                LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype))
        self._reset_parameters()
        self.d_model = d_model
        self.nhead = nhead
        self.batch_first = batch_first

    def forward(self, src: Tensor, tgt: Tensor, src_mask: Any = None, tgt_mask: Any = None,
                memory_mask: Any = None, src_key_padding_mask: Any = None,
                tgt_key_padding_mask: Any = None, memory_key_padding_mask: Any = None,
                src_is_causal: bool | None = None, tgt_is_causal: bool | None = None,
                memory_is_causal: bool = False) -> Tensor:
        name = f"Transformer(d_model={self.d_model}, nhead={self.nhead})"
        ss, ts = tuple(src.shape), tuple(tgt.shape)
        if len(ss) == 3:
            b = 0 if self.batch_first else 1
            if len(ts) != 3 or ss[b] != ts[b]:
                raise ValueError(f"{name}: the batch number of src and tgt must be equal (dim "
                                 f"{b} with batch_first={self.batch_first}), got src {ss} and "
                                 f"tgt {ts}")
        if ss[-1] != self.d_model or ts[-1] != self.d_model:
            raise ValueError(f"{name}: the feature number of src and tgt must be equal to "
                             f"d_model={self.d_model}, got src {ss} and tgt {ts}")
        memory = self.encoder(src, mask=src_mask, src_key_padding_mask=src_key_padding_mask,
                              is_causal=src_is_causal)
        return self.decoder(tgt, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                            tgt_key_padding_mask=tgt_key_padding_mask,
                            memory_key_padding_mask=memory_key_padding_mask,
                            tgt_is_causal=tgt_is_causal, memory_is_causal=memory_is_causal)

    @staticmethod
    def generate_square_subsequent_mask(sz: int, device: Any = None,
                                        dtype: Any = None) -> Tensor:
        """An (sz, sz) float mask: -inf above the diagonal (position i may not see j > i),
        0 elsewhere."""
        dt = normalize_dtype(dtype) if dtype is not None else get_default_dtype()
        return _make(xp.triu(xp.full((sz, sz), -math.inf, dtype=dt), 1))

    def _reset_parameters(self) -> None:
        for p in self.parameters():
            if p.dim() > 1:
                init.xavier_uniform_(p)
