"""Adding an op touches several places (docs/architecture.md, "Adding an op"); this test fails
when a primitive of ``chainrule.core.primitives.PRIMITIVES`` lacks one of them.

Each check has an explicit allow-list of the primitives it does not apply to, each with its
reason. A new primitive missing from a place fails here with the place and what to add.
"""

from __future__ import annotations

import importlib
from typing import Any

import pytest

import chainrule.core.functional as CF
import chainrule.nn.functional as NF
from chainrule.core.graph import Node
from chainrule.core.primitives import PRIMITIVES
from chainrule.core.tensor import Tensor
from chainrule.viz.derivatives import DERIVATIVES
from op_table import ROWS, covered

# Primitives only a vjp applies (the backward of another primitive: tanh's, sigmoid's,
# conv's, pooling's and getitem's): no function of their own, no Tensor method, and never in
# the forward graphs an exporter writes.
BACKWARD_ONLY = {
    "TanhGrad", "SigmoidGrad", "Conv2dInputGrad", "Conv2dWeightGrad", "MaxPool2dGrad",
    "AvgPool2dGrad", "IndexAddZeros",
    "DiagEmbed",  # diagonal's vjp (the transpose of taking a diagonal)
}

NO_FUNCTION = BACKWARD_ONLY | {
    "RecurrentLayer",  # a whole RNN/LSTM/GRU layer: reached through nn.RNN/LSTM/GRU modules
    "CopySlices",  # recorded by an in-place op on a view (x[0:2].copy_(w)): no function of its own
}

# The Tensor method of a core.functional op whose method name differs from the op's name.
METHOD_NAME = {
    "getitem": "__getitem__",  # x[i]
    "index_put": "__setitem__",  # x[i] = v
    "cast": "to",  # x.to(dtype), x.float(), ...
}

# core.functional ops PyTorch has no Tensor method for (nn.functional ops have none either).
NO_METHOD = {
    "Cat",  # torch.cat / torch.stack: functions only
}

# ONNX export (chainrule.onnx, once it exists) covers forward ops only.
NO_ONNX = BACKWARD_ONLY | {
    # Not exported yet (an export that meets one raises UnsupportedOperatorError naming it):
    "Erfinv",  # ONNX has no inverse erf; a rational approximation would be needed
    "Diagonal",  # a Gather of flat positions would do; no model in the tests uses it
    "CopySlices",  # in-place writes into views inside forward(); ScatterND would do
}


def _ids(p: type) -> str:
    return p.__name__


def _function(p: type) -> Any:
    return getattr(CF, p.name, None) or getattr(NF, p.name, None)


@pytest.mark.parametrize("prim", PRIMITIVES, ids=_ids)
def test_primitive_class(prim: type) -> None:
    assert prim.__module__.startswith("chainrule.core.primitives."), (
        f"{prim.__name__}: primitives live in chainrule/core/primitives/, not {prim.__module__}")
    assert issubclass(prim, Node) and isinstance(prim.name, str) and prim.name, (
        f"{prim.__name__}: a primitive is a Node subclass with a class attribute `name`")
    for method in ("forward", "vjp"):
        assert method in prim.__dict__, (
            f"{prim.__name__} must define {method}() itself (forward and vjp side by side)")


@pytest.mark.parametrize("prim", PRIMITIVES, ids=_ids)
def test_functional_export(prim: type) -> None:
    if prim.__name__ in NO_FUNCTION:
        pytest.skip("allow-listed: no function of its own")
    fn = _function(prim)
    assert fn is not None, (
        f"{prim.__name__}: no function {prim.name!r} in chainrule.core.functional (define it in "
        "core/ops/<kind>.py and re-export it in core/functional.py) or chainrule.nn.functional")
    assert (fn.__doc__ or "").strip(), (
        f"{prim.name}: its function has no docstring (the op's documentation)")


@pytest.mark.parametrize("prim", PRIMITIVES, ids=_ids)
def test_tensor_method(prim: type) -> None:
    if prim.__name__ in NO_FUNCTION | NO_METHOD or not hasattr(CF, prim.name):
        pytest.skip("allow-listed, or an nn.functional op (PyTorch has no Tensor method)")
    method = METHOD_NAME.get(prim.name, prim.name)
    assert hasattr(Tensor, method), (
        f"{prim.name}: no Tensor.{method}; attach it in core/tensor.py (_TensorMethods)")


@pytest.mark.parametrize("prim", PRIMITIVES, ids=_ids)
def test_op_table_row(prim: type) -> None:
    assert any(prim in covered(r) for r in ROWS), (
        f"{prim.__name__}: no row of tests/op_table.py covers it (gradcheck, gradgradcheck, "
        "the PyTorch oracle)")


@pytest.mark.parametrize("prim", PRIMITIVES, ids=_ids)
def test_explain_derivative_rule(prim: type) -> None:
    assert prim.name in DERIVATIVES, (
        f"{prim.name}: no entry in chainrule/viz/derivatives.py DERIVATIVES; without one, "
        "`chainrule explain` falls back to a generic 'vjp of ...' rule")


@pytest.mark.parametrize("prim", PRIMITIVES, ids=_ids)
def test_onnx_converter(prim: type) -> None:
    try:
        onnx = importlib.import_module("chainrule.onnx")
    except ImportError:
        pytest.skip("chainrule.onnx does not exist on this branch")
    if prim.__name__ in NO_ONNX:
        pytest.skip("allow-listed: backward-only")
    names = set(onnx.converters())
    assert prim.__name__ in names or prim.name in names, (
        f"{prim.__name__}: no ONNX converter (chainrule.onnx.converters() lacks it)")
