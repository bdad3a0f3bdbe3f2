"""Neural-network building blocks: modules, layers, losses, initialisers.

>>> import chainrule as cr
>>> from chainrule import nn
>>> import chainrule.nn.functional as F
>>> _ = cr.manual_seed(0)
>>> model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
>>> loss = F.cross_entropy(model(cr.randn(5, 4)), cr.tensor([0, 1, 2, 0, 1]))
>>> loss.backward()
>>> model[0].weight.grad.shape
torch.Size([8, 4])
"""

from . import functional, init, utils
from . import parallel
from .layers import (
    ELU,
    AvgPool2d,
    BatchNorm1d,
    BatchNorm2d,
    Conv2d,
    GELU,
    Dropout,
    Flatten,
    Identity,
    LeakyReLU,
    Linear,
    LogSoftmax,
    MaxPool2d,
    ReLU,
    Sigmoid,
    SiLU,
    Softmax,
    Tanh,
)
from .loss import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, L1Loss, MSELoss, NLLLoss
from .module import Module, ModuleList, Parameter, Sequential
from .embedding import Embedding, EmbeddingBag
from .rnn import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNBase, RNNCell, RNNCellBase
from .attention import MultiheadAttention
from .normalization import GroupNorm, LayerNorm, RMSNorm
from .transformer import (Transformer, TransformerDecoder, TransformerDecoderLayer,
                          TransformerEncoder, TransformerEncoderLayer)
from .containers import ModuleDict, ParameterDict, ParameterList
from .layers_extra import (AdaptiveAvgPool2d, AdaptiveMaxPool2d, AlphaDropout, ConvTranspose2d,
                           Dropout1d, Dropout2d, HuberLoss, SmoothL1Loss, Unflatten)

__all__ = [
    "Module", "Parameter", "Sequential", "ModuleList",
    "Linear", "Identity", "ReLU", "LeakyReLU", "GELU", "ELU", "SiLU", "Sigmoid", "Tanh",
    "Softmax", "LogSoftmax", "Flatten", "Dropout", "Conv2d", "MaxPool2d", "AvgPool2d",
    "BatchNorm1d", "BatchNorm2d",
    "MSELoss", "L1Loss", "CrossEntropyLoss", "NLLLoss", "BCELoss", "BCEWithLogitsLoss",
    "functional", "init", "utils",
    "Embedding", "EmbeddingBag",
    "RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell",
    "LayerNorm", "GroupNorm", "RMSNorm", "MultiheadAttention", "TransformerEncoderLayer",
    "TransformerDecoderLayer", "TransformerEncoder", "TransformerDecoder", "Transformer",
    "ModuleDict", "ParameterList", "ParameterDict", "ConvTranspose2d", "AdaptiveAvgPool2d",
    "AdaptiveMaxPool2d", "Dropout1d", "Dropout2d", "AlphaDropout", "SmoothL1Loss", "HuberLoss",
    "Unflatten",
]


def __getattr__(name: str):  # type: ignore[no-untyped-def]
    """A PyTorch layer chainrule lacks (nn.LSTM, ...): NotImplementedError, with close names."""
    from ..core.compat import module_missing

    res = module_missing(name, __all__, module="chainrule.nn")
    if isinstance(res, BaseException):
        raise res
    return res


# A keyword argument a layer does not take: NotImplementedError naming it (core/keywords.py).
from ..core.keywords import guard_module as _guard_module  # noqa: E402

_guard_module(__name__, "torch.nn")
