"""Every layer family exported and run in onnxruntime, against chainrule (float32, 1e-5)."""

import io

import numpy as np
import pytest

pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

import chainrule as cr  # noqa: E402
from chainrule import nn  # noqa: E402
from chainrule.cli import recipes  # noqa: E402


def ops(proto):
    return [n.op_type for n in proto.graph.node]


@pytest.fixture(autouse=True)
def seed():
    cr.manual_seed(0)


@pytest.mark.parametrize("kind", ["mlp", "cnn", "lstm"])
def test_digits_models(check, kind):
    model = recipes.build_model(recipes.Config(model=kind, hidden=32, dropout=0.25))
    if kind == "cnn":  # batch norm with running statistics that are not 0 and 1
        model.train()
        model(cr.randn(32, 1, 8, 8) * 2 + 1)
    x = cr.tensor(recipes.model_input(recipes.Config(model=kind), np.random.default_rng(0)
                                      .standard_normal((5, 64)).astype("float32")))
    other = cr.randn(*((2,) + tuple(x.shape[1:])))
    proto = check(model, (x,), others=[other], input_names=["x"], output_names=["logits"],
                  dynamic_axes={"x": {0: "batch"}, "logits": {0: "batch"}})
    assert proto.graph.output[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    expect = {"mlp": {"MatMul", "Relu"}, "cnn": {"Conv", "MaxPool", "Reshape"},
              "lstm": {"LSTM"}}[kind]
    assert expect <= set(ops(proto))
    assert "Dropout" not in ops(proto)  # eval mode: dropout is the identity


def test_batch_norm_eval_uses_running_statistics(check):
    bn = nn.BatchNorm1d(4)
    bn.train()
    for _ in range(3):
        bn(cr.randn(16, 4) * 3 + 2)
    cr.onnx.export(bn, (cr.randn(6, 4),), io.BytesIO())
    assert bn.training  # the export ran it in eval mode, and restored the mode
    check(bn, cr.randn(6, 4), others=[cr.randn(2, 4)], dynamic_axes={"input": [0]})


def test_batch_norm_2d_and_avg_pool(check):
    model = nn.Sequential(nn.Conv2d(2, 3, 3, stride=2, padding=1, bias=False),
                          nn.BatchNorm2d(3), nn.AvgPool2d(2), nn.Conv2d(3, 4, 1, groups=1))
    model.train()
    model(cr.randn(8, 2, 8, 8))
    check(model, cr.randn(3, 2, 8, 8))
    check(nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False), cr.randn(2, 3, 7, 7))
    check(nn.AvgPool2d(2, divisor_override=3), cr.randn(2, 3, 6, 6))
    check(nn.MaxPool2d(3, stride=2, padding=1, dilation=1), cr.randn(2, 3, 7, 7))
    check(nn.Conv2d(4, 6, 3, padding=(2, 1), dilation=2, groups=2), cr.randn(2, 4, 9, 9))


ACTIVATIONS = [nn.ReLU(), nn.LeakyReLU(0.2), nn.GELU(), nn.GELU(approximate="tanh"),
               nn.ELU(alpha=0.7), nn.SiLU(), nn.Sigmoid(), nn.Tanh(), nn.Softmax(dim=1),
               nn.Softmax(dim=-1), nn.LogSoftmax(dim=1), nn.Identity()]


@pytest.mark.parametrize("act", ACTIVATIONS, ids=lambda a: repr(a))
def test_every_activation(check, act):
    x = cr.randn(4, 7) * 4
    check(act, x, others=[cr.randn(9, 7) * 4], dynamic_axes={"input": {0: "batch"}})


@pytest.mark.parametrize("fn", ["softplus", "clamp", "logsumexp", "abs", "exp", "sqrt",
                                "sin", "cos", "log1p", "pow", "max_min"])
def test_tensor_functions(check, fn):
    class Fn(nn.Module):
        def forward(self, x):
            if fn == "softplus":
                return cr.softplus(x, beta=2.0, threshold=5.0)
            if fn == "clamp":
                return x.clamp(-0.5, 1.0) + cr.clamp(x, min=0.2)
            if fn == "logsumexp":
                return cr.logsumexp(x * 30, dim=1)
            if fn == "max_min":
                return cr.maximum(x, x * 0.5) - cr.minimum(x, 0.25 * x) + x.amax(dim=0)
            if fn == "pow":
                return x.abs() ** 1.5 + x ** 2
            pos = x.abs() if fn in ("sqrt", "log1p") else x
            return getattr(cr, fn)(pos)

    check(Fn(), cr.randn(5, 6) * 3, others=[cr.randn(3, 6)], dynamic_axes={"x": [0]})


def test_layer_norm_and_group_norm(check):
    model = nn.Sequential(nn.Linear(6, 8), nn.Dropout(0.5), nn.LayerNorm(8))
    check(model, cr.randn(4, 6), others=[cr.randn(2, 6)], dynamic_axes={"input": {0: "b"}})
    check(nn.LayerNorm((3, 4), elementwise_affine=False), cr.randn(2, 3, 4) * 5 + 1)
    gn = nn.GroupNorm(2, 4)
    with cr.no_grad():
        gn.weight.copy_(cr.randn(4))
        gn.bias.copy_(cr.randn(4))
    check(gn, cr.randn(3, 4, 5), others=[cr.randn(2, 4, 5)], dynamic_axes={"input": {0: "b"}})


def test_embedding_reads_the_index_input(check):
    emb = nn.Embedding(10, 4, padding_idx=0)
    proto = check(emb, cr.tensor([[1, 2, 3], [4, 5, 9]]), others=[cr.tensor([[0, 7]])],
                  dynamic_axes={"input": {0: "b", 1: "t"}})
    assert ops(proto) == ["Gather"]
    assert proto.graph.input[0].type.tensor_type.elem_type == 7  # int64


@pytest.mark.parametrize("cls", [nn.LSTM, nn.GRU, nn.RNN])
@pytest.mark.parametrize("kw", [{}, {"num_layers": 2, "bidirectional": True},
                                {"batch_first": True, "bias": False}],
                         ids=["plain", "2-layer-bidirectional", "batch-first-no-bias"])
def test_recurrent_layers(check, cls, kw):
    rnn = cls(5, 7, **kw)
    bf = kw.get("batch_first", False)
    x, other = (cr.randn(3, 4, 5), cr.randn(2, 4, 5)) if bf else \
        (cr.randn(4, 3, 5), cr.randn(4, 2, 5))
    proto = check(rnn, x, others=[other], dynamic_axes={"input": {0 if bf else 1: "batch"}})
    assert cls.__name__ in ops(proto)  # ONNX's own LSTM / GRU / RNN op


def test_recurrent_layers_with_initial_state_and_relu(check):
    lstm = nn.LSTM(3, 4, num_layers=2)
    x, h, c = cr.randn(5, 2, 3), cr.randn(2, 2, 4), cr.randn(2, 2, 4)
    check(lstm, (x, (h, c)), input_names=["x", "h0", "c0"],
          others=[(cr.randn(5, 3, 3), (cr.randn(2, 3, 4), cr.randn(2, 3, 4)))],
          dynamic_axes={"x": {1: "b"}, "h0": {1: "b"}, "c0": {1: "b"}})
    check(nn.RNN(3, 4, nonlinearity="relu"), (cr.randn(6, 2, 3), cr.randn(1, 2, 4)))
    check(nn.GRU(3, 4), (cr.randn(6, 3), cr.randn(1, 4)))  # unbatched


def test_multihead_attention_and_transformer_encoder(check):
    class SelfAttention(nn.Module):
        def __init__(self):
            super().__init__()
            self.attn = nn.MultiheadAttention(8, 2, batch_first=True)

        def forward(self, x):
            return self.attn(x, x, x)

    check(SelfAttention(), cr.randn(3, 5, 8), others=[cr.randn(2, 5, 8), cr.randn(2, 7, 8)],
          dynamic_axes={"x": {0: "batch", 1: "time"}})
    layer = nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, batch_first=True)
    check(layer, cr.randn(3, 5, 8), others=[cr.randn(1, 5, 8)], dynamic_axes={"src": [0]})
    gelu = nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, activation="gelu",
                                      norm_first=True)
    encoder = nn.TransformerEncoder(gelu, num_layers=2, enable_nested_tensor=False)
    check(encoder, cr.randn(5, 3, 8), others=[cr.randn(5, 2, 8)], dynamic_axes={"src": {1: "b"}})


def test_float64_model(check):
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh()).to(cr.float64)
    proto = check(model, cr.randn(2, 3, dtype=cr.float64), tol=1e-12)
    assert proto.graph.input[0].type.tensor_type.elem_type == 11  # double


@pytest.mark.parametrize("layer, shape", [
    (lambda: nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, output_padding=1), (2, 4, 5, 5)),
    (lambda: nn.ConvTranspose2d(4, 6, 3, stride=2, groups=2, dilation=2, bias=False),
     (2, 4, 5, 6)),
    (lambda: nn.AdaptiveAvgPool2d((2, 3)), (2, 3, 7, 8)),
    (lambda: nn.AdaptiveMaxPool2d(1), (2, 3, 7, 8)),
    (lambda: nn.AdaptiveMaxPool2d((2, 4)), (2, 3, 6, 8)),
    (lambda: nn.Dropout2d(0.5), (2, 3, 4, 4)),
], ids=["conv-transpose", "conv-transpose-groups", "adaptive-avg", "global-max",
        "adaptive-max", "dropout2d"])
def test_transposed_convolution_and_adaptive_pooling(check, layer, shape):
    x = cr.randn(*shape)
    check(layer(), x, others=[cr.randn(*((1,) + shape[1:]))], dynamic_axes={"input": [0]})


def test_adaptive_max_pooling_without_whole_windows_is_refused():
    with pytest.raises(cr.onnx.OnnxExporterError, match="adaptive max pooling of 7x8 to 2x3"):
        cr.onnx.export(nn.AdaptiveMaxPool2d((2, 3)), (cr.randn(1, 2, 7, 8),), io.BytesIO())
