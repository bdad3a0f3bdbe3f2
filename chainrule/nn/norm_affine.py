"""The learned scale and shift of the normalisation layers (BatchNorm, LayerNorm, GroupNorm,
RMSNorm): ``weight`` starts at ones and ``bias`` at zeros, either registered as None when
the layer has none, in PyTorch's order (weight, then bias)."""

from __future__ import annotations

from typing import Any

from ..core.creation import ones, zeros
from . import init
from .module import Module, Parameter


def register_affine(layer: Module, shape: tuple[int, ...], weight: bool, bias: bool,
                    dtype: Any) -> None:
    """Register ``weight`` (ones of ``shape``) if ``weight``, and ``bias`` (zeros) if both
    ``weight`` and ``bias`` (PyTorch's ``bias=False``: a learned scale only)."""
    if weight:
        layer.weight = Parameter(ones(*shape, dtype=dtype))
    else:
        layer.register_parameter("weight", None)
    if weight and bias:
        layer.bias = Parameter(zeros(*shape, dtype=dtype))
    else:
        layer.register_parameter("bias", None)


def reset_affine(layer: Module) -> None:
    """``reset_parameters`` of the scale and shift: weight to ones, bias to zeros."""
    if layer.weight is not None:
        init.ones_(layer.weight)
    if getattr(layer, "bias", None) is not None:  # RMSNorm has no bias
        init.zeros_(layer.bias)
