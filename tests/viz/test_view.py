"""The graph view behind drawing and explaining: module boxes, values, gradients, depth."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.viz.view import build_view, format_value, node_grads, record


def mlp():
    cr.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 3), nn.ReLU(),
                         nn.Sequential(nn.Linear(3, 3), nn.Tanh()), nn.Linear(3, 2))


def step(model, loss_fn=None):
    x = cr.randn(5, 4)
    y = cr.tensor([0, 1, 1, 0, 1])
    loss_fn = loss_fn or nn.CrossEntropyLoss()
    with record(model, loss_fn):
        loss = loss_fn(model(x), y)
    return loss, x


def test_ops_are_grouped_by_the_innermost_module_call():
    model = mlp()
    loss, _ = step(model)
    v = build_view(loss)
    ops = [(n.op, n.group) for n in v.nodes if n.kind == "op"]
    assert ops[:3] == [("permute", "0"), ("matmul", "0"), ("add", "0")]
    assert ("relu", "1") in ops and ("tanh", "2.1") in ops and ("matmul", "2.0") in ops
    assert {g for _, g in ops[-3:]} == {"CrossEntropyLoss"}
    assert v.groups["2.0"].parent == "2" and v.groups["2"].parent is None
    assert v.groups["0"].label == "0 (Linear)"
    params = {n.name: n.group for n in v.nodes if n.kind == "param"}
    assert params == {"0.weight": "0", "0.bias": "0", "2.0.weight": "2.0", "2.0.bias": "2.0",
                      "3.weight": "3", "3.bias": "3"}


def test_no_recording_means_no_boxes_but_model_still_names_parameters():
    model = mlp()
    loss = model(cr.randn(2, 4)).sum()
    v = build_view(loss, model=model)
    assert v.groups == {} and all(n.group is None for n in v.nodes if n.kind == "op")
    assert {n.name for n in v.nodes if n.kind == "param"} >= {"0.weight", "3.bias"}


def test_values_and_gradients_match_the_forward_pass_and_backward():
    model = mlp()
    loss, x = step(model)
    v = build_view(loss, values=True, grads=True, names={"x": x})
    out = next(n for n in v.nodes if n.is_output)
    assert out.node is loss.grad_fn and out.value == pytest.approx(loss.item())
    assert float(out.grad) == 1.0
    xs = next(n for n in v.nodes if n.name == "x")
    assert xs.kind == "input" and np.array_equal(xs.value, x.numpy())
    # the gradients shown are the ones backward computes, and computing them left .grad alone
    assert all(p.grad is None for p in model.parameters())
    loss.backward()
    for n in v.nodes:
        if n.kind == "param":
            np.testing.assert_allclose(n.grad, model.get_parameter(n.name).grad.numpy(),
                                       rtol=1e-6)


def test_values_need_recording_or_they_are_left_out():
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    y = ((w + 1) + 3).sum()
    v = build_view(y, values=True)
    add = next(n for n in v.nodes if n.op == "add")
    assert add.value is None  # an add keeps no inputs for backward
    with cr.viz.record():
        y = ((w + 1) + 3).sum()
    add = next(n for n in build_view(y, values=True).nodes if n.op == "add")
    np.testing.assert_array_equal(add.value, [2.0, 3.0])


def test_depth_collapses_modules_into_nodes_with_their_parameter_counts():
    model = mlp()
    loss, _ = step(model)
    v1 = build_view(loss, depth=1, values=True)
    mods = [(n.name, n.n_params, n.shape) for n in v1.nodes if n.kind == "module"]
    assert mods == [("0 (Linear)", 15, (5, 3)), ("1 (ReLU)", 0, (5, 3)),
                    ("2 (Sequential)", 12, (5, 3)), ("3 (Linear)", 8, (5, 2)),
                    ("CrossEntropyLoss", 0, ())]
    assert not any(n.kind == "param" for n in v1.nodes)
    ids = {n.id: n.name for n in v1.nodes}
    chain = [(ids[e.src], ids[e.dst]) for e in v1.edges if ids[e.src] and ids[e.dst]]
    assert ("0 (Linear)", "1 (ReLU)") in chain and ("2 (Sequential)", "3 (Linear)") in chain
    v2 = build_view(loss, depth=2)
    names = [n.name for n in v2.nodes if n.kind == "module"]
    assert "2.0 (Linear)" in names and "2.1 (Tanh)" in names and "0 (Linear)" not in names
    assert set(v2.groups) == {"0", "1", "2", "3", "CrossEntropyLoss"}
    with pytest.raises(ValueError, match="depth must be at least 1"):
        build_view(loss, depth=0)


def test_node_grads_leaves_grad_alone_and_reports_a_freed_graph():
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    y = (w * w).sum()
    g = node_grads(y)
    np.testing.assert_array_equal(g[w.grad_fn if w.grad_fn else w._node], [2.0, 4.0])
    assert w.grad is None
    y.backward()
    with pytest.raises(cr.graph.GraphError, match="already freed by a backward"):
        node_grads(y)


def test_recording_removes_its_hooks_and_keeps_the_model_fast_path():
    model = mlp()
    step(model)
    assert all(not m._hooked for m in model.modules())
    assert not cr.core.graph._keep_inputs


def test_errors_name_the_function():
    with pytest.raises(TypeError, match="build_view: expected a Tensor"):
        build_view([1, 2])
    with pytest.raises(TypeError, match="record: expected a model"):
        record(3)
    with pytest.raises(TypeError, match=r"names\['x'\]"):
        build_view(cr.tensor([1.0], requires_grad=True).sum(), names={"x": 3})


def test_format_value():
    assert format_value(np.float64(0.25)) == "0.25"
    assert format_value(np.array([1.0, np.nan])) == "[1, nan]"
    assert format_value(np.ones(10)) == "min 1  mean 1  max 1"
    assert format_value(np.array([True] * 9)) == "9 of 9 true"


def test_a_single_layer_model_is_one_box_with_its_parameters():
    cr.manual_seed(0)
    lin = nn.Linear(2, 2)
    with record(lin):
        y = lin(cr.ones(3, 2)).sum()
    v = build_view(y)
    assert {n.name: n.group for n in v.nodes if n.kind == "param"} == {
        "weight": "Linear", "bias": "Linear"}
    assert [n.name for n in build_view(y, depth=1).nodes if n.kind == "module"] == ["Linear"]


def test_a_module_called_twice_stays_a_box_under_depth():
    cr.manual_seed(0)
    shared = nn.Linear(2, 2)
    model = nn.Sequential(shared, nn.Tanh())
    with record(model):
        y = model[0](model(cr.ones(1, 2))).sum()  # shared layer: called twice
    v = build_view(y, depth=1)
    assert "0" in v.repeated and "0" in v.groups  # kept as a box, not one node for two calls
    assert [n.name for n in v.nodes if n.kind == "module"] == ["1 (Tanh)"]
    order = {n.id: k for k, n in enumerate(v.nodes)}
    assert all(order[e.src] < order[e.dst] for e in v.edges)  # still acyclic, inputs first


def test_constants_made_inside_a_module_are_in_its_box_and_inputs_are_not():
    model = mlp()
    loss_fn = nn.CrossEntropyLoss()
    x, y = cr.randn(5, 4), cr.tensor([0, 1, 1, 0, 1])
    with record(model, loss_fn):
        loss = loss_fn(model(x), y)
    v = build_view(loss, names={"x": x})
    inputs = {n.name or n.id: n.group for n in v.nodes if n.kind == "input"}
    assert inputs.pop("x") is None
    assert set(inputs.values()) == {"CrossEntropyLoss"}  # the max shift and the 1/N


def test_two_models_with_the_same_paths_get_separate_boxes():
    cr.manual_seed(0)
    enc = nn.Sequential(nn.Linear(3, 2), nn.Tanh())
    dec = nn.Sequential(nn.Linear(2, 3))
    with record(enc, dec):
        y = dec(enc(cr.ones(1, 3))).sum()
    v = build_view(y)
    params = {n.name: n.group for n in v.nodes if n.kind == "param"}
    assert params == {"0.weight": "0", "0.bias": "0",
                      "Sequential#1.0.weight": "Sequential#1.0",
                      "Sequential#1.0.bias": "Sequential#1.0"}
    assert v.groups["Sequential#1.0"].parent == "Sequential#1"
    mods = [n.name for n in build_view(y, depth=1).nodes if n.kind == "module"]
    assert mods == ["0 (Linear)", "1 (Tanh)", "Sequential#1"]


def test_a_constant_is_named_only_by_the_tensor_itself():
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    with record():
        y = (w * w.detach()).sum()  # the detached copy shares w's array but is not w
    text = cr.viz.format_graph(y, names={"w": w})
    assert "mul(%0, const(2,))" in text and text.startswith("%0 = leaf w (2,)")
