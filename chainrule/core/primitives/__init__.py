"""The closed set of primitives: every differentiable op is one of these or built from them.

NOTE: the one late reference of the core. Each vjp is written with the tensor functions
(``F.mul(g, b)``) so that, under ``create_graph=True``, backward is itself recorded and can be
differentiated again; but those functions apply these primitives. So the primitive modules
import the *module* ``functional`` (``from .. import functional as F``), whose names they read
only when a vjp runs, after every module has loaded. ``functional`` and ``ops`` import the
primitives normally; nothing else in the core refers upward.
"""

from .batchnorm import BatchNorm
from .conv import (AvgPool2d, AvgPool2dGrad, Conv2d, Conv2dInputGrad, Conv2dWeightGrad,
                   MaxPool2d, MaxPool2dGrad)
from .elementwise import (Abs, Add, Cast, Cos, Div, Exp, Log, Log1p, Maximum, Minimum, Mul,
                          Neg, Pow, Relu, Sigmoid, SigmoidGrad, Sin, Softplus, Sqrt, Sub, Tanh,
                          TanhGrad, Where)
from .special import Erf, Erfc, Erfinv, Expm1
from .views import CopySlices, DiagEmbed, Diagonal
from .recurrent import RecurrentLayer
from .norm import LayerNorm, Softmax
from .structure import (Amax, BroadcastTo, Cat, GetItem, IndexAddZeros, IndexPut, Matmul,
                        Permute, Prod, Reshape, Sum)

PRIMITIVES = (
    Add, Sub, Mul, Div, Pow, Maximum, Minimum, Where,
    Neg, Exp, Log, Log1p, Sqrt, Sin, Cos, Tanh, TanhGrad, Sigmoid, SigmoidGrad, Softplus, Relu,
    Abs, Cast,
    Sum, Amax, Prod, Reshape, Permute, BroadcastTo, Cat, GetItem, IndexAddZeros, IndexPut,
    Matmul,
    Conv2d, Conv2dInputGrad, Conv2dWeightGrad, MaxPool2d, MaxPool2dGrad, AvgPool2d, AvgPool2dGrad,
    BatchNorm,
    RecurrentLayer,
    Softmax, LayerNorm,
    Erf, Erfc, Erfinv, Expm1, Diagonal, DiagEmbed, CopySlices,
)

__all__ = [c.__name__ for c in PRIMITIVES] + ["PRIMITIVES"]
