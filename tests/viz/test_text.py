"""The text listing of the graph: deterministic, golden for a fixed MLP."""

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import nn
from chainrule.viz import format_graph

GOLDEN = """\
%0 = leaf 0.weight (3, 4) float32
%1 = leaf 0.bias (3,) float32
%2 = leaf 2.weight (2, 3) float32
%3 = leaf 2.bias (2,) float32
%4 = permute(%0, dims=(1, 0)) -> (4, 3) float32
%5 = matmul(const(5, 4), %4) -> (5, 3) float32
%6 = add(%5, %1) -> (5, 3) float32
%7 = relu(%6) -> (5, 3) float32
%8 = permute(%2, dims=(1, 0)) -> (3, 2) float32
%9 = matmul(%7, %8) -> (5, 2) float32
%10 = add(%9, %3) -> (5, 2) float32
%11 = sub(%10, const(5, 1)) -> (5, 2) float32
%12 = exp(%11) -> (5, 2) float32
%13 = sum(%12, axis=(1,), keepdim=False) -> (5,) float32
%14 = log(%13) -> (5,) float32
%15 = getitem(%11, index=(array(5,), array(5,)), basic=False) -> (5,) float32
%16 = sub(%14, %15) -> (5,) float32
%17 = sum(%16, axis=None, keepdim=False) -> () float32
%18 = mul(%17, 0.2) -> () float32"""


def mlp_loss():
    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    x = cr.randn(5, 4)
    y = cr.tensor([0, 1, 0, 1, 1])
    with cr.graph.record_inputs():
        return model, F.cross_entropy(model(x), y)


def test_golden_listing_of_an_mlp():
    model, loss = mlp_loss()
    assert format_graph(loss, model=model) == GOLDEN


def test_listing_is_deterministic_and_names_are_optional():
    a = format_graph(mlp_loss()[1])
    b = format_graph(mlp_loss()[1])
    assert a == b and a.splitlines()[0] == "%0 = leaf (3, 4) float32"


def test_tensor_without_graph():
    assert "no graph" in format_graph(cr.ones(2))


def test_names_replace_references_and_a_recording_names_parameters():
    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    x = cr.randn(5, 4)
    with cr.viz.record(model):
        h = model[1](model[0](x))
        out = model[2](h)
    text = format_graph(out, names={"x": x, "h": h})
    assert text.splitlines()[0] == "%0 = leaf 0.weight (3, 4) float32"
    assert "%5 = matmul(x, %4) -> (5, 3) float32" in text
    assert "%7 = relu(%6) -> (5, 3) float32  # h" in text
