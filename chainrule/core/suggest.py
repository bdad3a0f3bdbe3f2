"""What to suggest for a PyTorch name chainrule lacks, and how to tell an import from a read.

Suggestions come from two places, in this order:

1. a curated table of names of related meaning (``torch.normal`` -> ``randn``, ``nn.LSTM`` ->
   nothing typed alike but ``Linear``), and
2. careful spelling matches: the same name up to case and underscores (``Relu`` -> ``relu``,
   ``logsoftmax`` -> ``log_softmax``), or a typo of at most one edit in five characters
   (``linspaced`` -> ``linspace``). Names that merely share letters (``normal`` and
   ``no_grad``) are not suggested.

>>> close_names("normal", ["randn", "rand_like", "no_grad"])
['randn']
>>> close_names("Lineer", ["Linear", "Identity"]), close_names("zzqqy", ["zeros"])
(['Linear'], [])
"""

from __future__ import annotations

import dis
import sys
from typing import Iterable

__all__ = ["RELATED", "close_names", "in_import_from"]


def _table(rows: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for line in rows.strip().splitlines():
        names, _, related = line.partition(":")
        for n in names.split():
            out[n] = related.split()
    return out


# PyTorch name(s): chainrule names of related meaning (only those that exist are offered).
RELATED = _table("""
normal randn_like normal_ : randn randn_like
bernoulli poisson uniform uniform_ bernoulli_ exponential_ geometric_ cauchy_ log_normal_ : rand
multinomial random_ : randint rand
randint_like : randint
empty_strided new_empty new_zeros : zeros empty
new_ones : ones
new_full : full
new_tensor : tensor
topk sort argsort kthvalue msort : max argmax
cummax : max
cummin : min
median mode nanmedian quantile nanquantile : mean
nanmean : mean
nansum cumsum : sum
cumprod : prod
norm dist linalg_norm frobenius_norm nuclear_norm renorm : sqrt pow sum
bmm mv einsum tensordot addmm addmv addbmm baddbmm inner outer ger chain_matmul : matmul mm
addcmul : mul add
addcdiv : div add
floor_divide true_divide fmod remainder : div
isclose : allclose
rsub : sub
clamp_min clamp_max hardtanh : clamp
threshold : where relu
masked_scatter index_put index_fill index_copy scatter scatter_add : masked_fill where
index_select take masked_select narrow select : gather
repeat tile repeat_interleave expand_as broadcast_tensors : expand broadcast_to
hstack vstack dstack column_stack row_stack : cat stack
unbind tensor_split hsplit vsplit dsplit : split chunk
movedim moveaxis swapaxes swapdims : permute transpose
ravel : flatten
atleast_1d atleast_2d atleast_3d : unsqueeze reshape
logaddexp logcumsumexp : logsumexp
log_sigmoid logsigmoid LogSigmoid : log sigmoid
softmin Softmin : softmax
Softmax2d : Softmax
hardsigmoid Hardsigmoid : sigmoid Sigmoid
relu6 ReLU6 hardswish Hardswish mish Mish selu SELU celu CELU prelu : relu ReLU LeakyReLU ELU SiLU
PReLU rrelu RReLU : relu ReLU LeakyReLU ELU SiLU
Hardtanh Tanhshrink tanhshrink Softsign softsign : tanh Tanh
Softplus : softplus
LSTM GRU RNN LSTMCell GRUCell RNNCell Embedding EmbeddingBag Bilinear LazyLinear : Linear
MultiheadAttention Transformer TransformerEncoder TransformerDecoder : Linear Softmax
TransformerEncoderLayer TransformerDecoderLayer : Linear Softmax
Conv1d Conv3d LazyConv2d : Conv2d
ConvTranspose1d ConvTranspose2d ConvTranspose3d conv_transpose1d conv_transpose2d : Conv2d conv2d
conv_transpose3d : Conv2d conv2d
conv1d conv3d : conv2d
MaxPool1d MaxPool3d AdaptiveMaxPool1d AdaptiveMaxPool2d AdaptiveMaxPool3d : MaxPool2d
FractionalMaxPool2d : MaxPool2d
max_pool1d max_pool3d adaptive_max_pool1d adaptive_max_pool2d : max_pool2d
AvgPool1d AvgPool3d AdaptiveAvgPool1d AdaptiveAvgPool2d AdaptiveAvgPool3d LPPool2d : AvgPool2d
avg_pool1d avg_pool3d adaptive_avg_pool1d adaptive_avg_pool2d : avg_pool2d
BatchNorm3d LazyBatchNorm1d LazyBatchNorm2d SyncBatchNorm : BatchNorm1d BatchNorm2d
LayerNorm GroupNorm InstanceNorm1d InstanceNorm2d InstanceNorm3d : BatchNorm1d BatchNorm2d
LocalResponseNorm RMSNorm : BatchNorm1d BatchNorm2d
layer_norm group_norm instance_norm local_response_norm rms_norm : batch_norm
Dropout1d Dropout2d Dropout3d AlphaDropout FeatureAlphaDropout : Dropout
dropout1d dropout2d dropout3d alpha_dropout feature_alpha_dropout : dropout
Unflatten unflatten : reshape view Flatten
ZeroPad2d ConstantPad1d ConstantPad2d ReflectionPad2d ReplicationPad2d : pad
Upsample UpsamplingNearest2d UpsamplingBilinear2d upsample interpolate : conv2d
ModuleDict ParameterList ParameterDict : ModuleList Sequential
SmoothL1Loss HuberLoss smooth_l1_loss huber_loss : L1Loss MSELoss l1_loss mse_loss
KLDivLoss kl_div PoissonNLLLoss GaussianNLLLoss poisson_nll_loss : NLLLoss nll_loss
gaussian_nll_loss : NLLLoss nll_loss
MultiLabelSoftMarginLoss : BCEWithLogitsLoss binary_cross_entropy_with_logits
multilabel_soft_margin_loss SoftMarginLoss : BCEWithLogitsLoss binary_cross_entropy_with_logits
soft_margin_loss : BCEWithLogitsLoss binary_cross_entropy_with_logits
MarginRankingLoss HingeEmbeddingLoss CosineEmbeddingLoss TripletMarginLoss : L1Loss MSELoss
MultiMarginLoss : L1Loss MSELoss
CosineSimilarity PairwiseDistance cosine_similarity pairwise_distance : sum sqrt
Adadelta Adagrad Adamax NAdam RAdam ASGD Rprop LBFGS SparseAdam : Adam SGD RMSprop
AdamW : Adam
CyclicLR OneCycleLR CosineAnnealingWarmRestarts PolynomialLR : StepLR CosineAnnealingLR LambdaLR
ChainedScheduler SequentialLR : StepLR CosineAnnealingLR LambdaLR
ConcatDataset ChainDataset IterableDataset StackDataset : Dataset Subset TensorDataset
SequentialSampler RandomSampler SubsetRandomSampler WeightedRandomSampler : DataLoader
BatchSampler Sampler : DataLoader
get_worker_info : DataLoader
""")


def _normal(name: str) -> str:
    return name.lower().replace("_", "")


def _distance(a: str, b: str, cap: int) -> int:
    """Edit distance with transpositions (optimal string alignment), stopped beyond ``cap``."""
    if abs(len(a) - len(b)) > cap:
        return cap + 1
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        if min(cur) > cap:
            return cap + 1
        prev2, prev = prev, cur
    return prev[-1]


def close_names(name: str, candidates: Iterable[str], limit: int = 3) -> list[str]:
    """Up to ``limit`` names of ``candidates`` to suggest for ``name`` (see the module doc)."""
    pool = sorted({c for c in candidates if not c.startswith("_")})
    have = set(pool)
    out = [r for r in RELATED.get(name, RELATED.get(name.rstrip("_"), [])) if r in have]
    if name.endswith("_") and name[:-1] in have:  # an in-place variant of what exists
        out.insert(0, name[:-1])
    key = _normal(name)
    out += [c for c in pool if _normal(c) == key and c != name]
    cap = len(name) // 5  # 0 edits for names under 5 letters, 1 up to 9, ...
    if cap:
        out += [c for c in pool if c[0].lower() == name[0].lower()
                and _distance(c.lower(), name.lower(), cap) <= cap]
    seen: list[str] = []
    for c in out:
        if c not in seen and c != name:
            seen.append(c)
    return seen[:limit]


_IMPORT_FROM = dis.opmap["IMPORT_FROM"]


def in_import_from() -> bool:
    """Whether the attribute being read is for a ``from module import name`` statement.

    The first frame outside chainrule is the caller; it is executing IMPORT_FROM exactly when
    Python reads the attribute for ``from ... import``. (Not for ``hasattr`` in importlib: that
    frame is executing a call.)
    """
    frame = sys._getframe(1)
    pkg = __name__.split(".")[0]
    while frame is not None and frame.f_globals.get("__name__", "").split(".")[0] == pkg:
        frame = frame.f_back  # type: ignore[assignment]
    if frame is None or frame.f_lasti < 0:
        return False
    code = frame.f_code.co_code
    return frame.f_lasti < len(code) and code[frame.f_lasti] == _IMPORT_FROM
