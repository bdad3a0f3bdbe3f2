"""Layers and losses as functions: ``import chainrule.nn.functional as F``.

Everything here is a composite of core ops, so gradients (and higher-order gradients) come
for free. The hot path of MLP training (``linear``, ``relu``, ``cross_entropy``) is written to
record as few ops as possible: arguments are validated with cheap checks up front and the
errors name the op, the shapes and the fix.
"""

from __future__ import annotations

# The functions live in modules along their seams; this module is the public namespace
# (their private helpers too: layers, losses and legacy.py reach them as ``F._name``).
# (softmax, log_softmax and seven losses come from legacy.py, below: PyTorch's signatures.)
from .functional_activations import (  # noqa: F401
    _GELU_TANH_C, _dropout_mask, _softmax_args, dropout, elu, gelu, leaky_relu, relu, sigmoid,
    silu, tanh)
from ..core.functional import ndtr, softplus  # noqa: F401  (F.softplus(x, beta, threshold))
from .functional_base import (  # noqa: F401
    _REDUCTIONS, _T2, _arange, _check_reduction, _float_input, _linear, _linear_checked,
    _reduce, _same_shape_target, _tensor, linear)
from .functional_conv import (  # noqa: F401
    _conv2d, _conv_padding, _count_batch, _image_batch, _int_pair, _pool_args, _same_float_dtype,
    _update_running, avg_pool2d, batch_norm, conv2d, max_pool2d)
from .functional_embedding import embedding, embedding_bag  # noqa: F401
from .functional_losses import (  # noqa: F401
    _broadcast_weight, _check_smoothing, _class_layout, _class_weight, _clamped_log,
    _cross_entropy_probs, _index_target, _nll_rows, _rows, _smoothed_targets, one_hot)

__all__ = [
    "linear", "relu", "leaky_relu", "gelu", "elu", "silu", "sigmoid", "tanh", "softmax",
    "log_softmax", "dropout", "mse_loss", "l1_loss", "cross_entropy", "nll_loss",
    "binary_cross_entropy", "binary_cross_entropy_with_logits", "one_hot", "conv2d",
    "max_pool2d", "avg_pool2d", "batch_norm", "softplus",
]


from .functional_attention import (  # noqa: E402  (issue 11: normalisation and attention)
    group_norm, layer_norm, multi_head_attention_forward, rms_norm, scaled_dot_product_attention)

__all__ += ["layer_norm", "group_norm", "rms_norm", "scaled_dot_product_attention",
            "multi_head_attention_forward"]

# NOTE: more functions (conv_transpose2d, adaptive pools, dropout2d, smooth_l1/huber) live in
# functional_extra.py; legacy.py rebinds the losses and softmaxes above with PyTorch's exact
# signatures (size_average/reduce in their positional places).
from .functional_extra import *  # noqa: E402,F401,F403
from .functional_extra import __all__ as _extra_all  # noqa: E402
from .legacy import (  # noqa: E402,F401
    binary_cross_entropy, binary_cross_entropy_with_logits, cross_entropy, l1_loss,
    legacy_reduction, log_softmax, mse_loss, nll_loss, softmax)

__all__ += _extra_all

# A PyTorch name this module lacks: NotImplementedError (ImportError for `from ... import`),
# and so does a keyword argument its functions and classes do not take.
from ..core.compat import attribute_hook as _attribute_hook  # noqa: E402
from ..core.keywords import guard_module as _guard_module  # noqa: E402

__getattr__ = _attribute_hook(__name__)
_guard_module(__name__, 'torch.nn.functional')  # unknown keywords: NotImplementedError
