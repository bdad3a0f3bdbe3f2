"""explain: backpropagation walked through node by node, with the tutorial's own numbers."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.cli import main
from chainrule.core.graph import GraphError
from chainrule.core.primitives import PRIMITIVES
from chainrule.viz import explain, format_explain  # first: the package's lazy names
from chainrule.viz.explain import DERIVATIVES, build_explanation, rule_for, tutorial_network
from chainrule.viz.view import format_value


def tutorial_deltas():
    """The tutorial's hand-derived backpropagation, verbatim in NumPy."""
    X = np.array([[0.5, 1.2]])
    W1 = np.array([[0.4, 0.3], [0.2, 0.7]])
    b1 = np.array([[0.1, 0.2]])
    W2 = np.array([[0.6], [0.8]])
    b2 = np.array([[0.3]])
    y = np.array([[1]])

    def sigmoid(z):
        return 1 / (1 + np.exp(-z))

    z1 = np.dot(X, W1) + b1
    a1 = sigmoid(z1)
    z2 = np.dot(a1, W2) + b2
    output = sigmoid(z2)
    d_output = output - y
    d_z2 = d_output * output * (1 - output)
    d_W2 = np.dot(a1.T, d_z2)
    d_a1 = np.dot(d_z2, W2.T)
    d_z1 = d_a1 * a1 * (1 - a1)
    d_W1 = np.dot(X.T, d_z1)
    return {"output": d_output, "z2": d_z2, "W2": d_W2, "a1": d_a1, "z1": d_z1, "W1": d_W1,
            "local_z2": output * (1 - output), "local_z1": a1 * (1 - a1)}


def fmt(a):
    return format_value(a, 16, 4)


# ---------------------------------------------------------------------------------------------
# The tutorial's 2-2-1 network
# ---------------------------------------------------------------------------------------------


def test_gradients_of_every_node_are_the_tutorials_deltas():
    t = tutorial_network()
    ex = build_explanation(t["loss"], t)
    ref = tutorial_deltas()
    for name in ("output", "z2", "W2", "a1", "z1", "W1"):
        np.testing.assert_allclose(ex.gradient(name), ref[name], rtol=1e-12, atol=0,
                                   err_msg=name)


def test_walkthrough_shows_the_tutorials_formulas_and_numbers():
    t = tutorial_network()
    text = format_explain(t["loss"], t)
    ref = tutorial_deltas()
    # forward, node by node, by the program's names
    for line in ("t1 = matmul(X, W1)", "z1 = add(t1, b1)", "a1 = sigmoid(z1)",
                 "z2 = add(t2, b2)", "output = sigmoid(z2)", "t3 = sub(output, y)",
                 "loss = mul(0.5, t4)"):
        assert line in text, line
    # backward: the tutorial's delta formulas, in dL/d notation (d_v is dL/dv)
    for line in ("dL/dz2 = dL/doutput * output * (1 - output)",
                 "dL/dW2 = a1.T @ dL/dz2",
                 "dL/da1 = dL/dz2 @ W2.T",
                 "dL/dz1 = dL/da1 * a1 * (1 - a1)",
                 "dL/dW1 = X.T @ dL/dz1",
                 "local derivative: d sigmoid(z)/dz = s(1 - s)"):
        assert line in text, line
    # the numbers multiplied: G * local factor = result, as computed from the tutorial's code
    assert f"= {fmt(ref['output'])} * {fmt(ref['local_z2'])}" in text
    assert f"= {fmt(ref['z2'])}" in text
    assert f"= {fmt(ref['a1'])} * {fmt(ref['local_z1'])}" in text
    for name in ("z1", "W2", "W1", "a1"):
        assert f"= {fmt(ref[name])}" in text, name
    assert "= [[-0.2154]] * [[0.169]]" in text and "= [[-0.03641]]" in text
    # the leaves' gradients close the walkthrough
    assert f"W1.grad = dL/dW1 = {fmt(ref['W1'])}" in text
    assert f"W2.grad = dL/dW2 = {fmt(ref['W2'])}" in text
    assert text.index("FORWARD") < text.index("BACKWARD") < text.index("GRADIENTS OF THE LEAVES")


def test_backward_visits_ops_in_reverse_order():
    t = tutorial_network()
    ex = build_explanation(t["loss"], t)
    assert [s.out.name for s in ex.steps] == ["loss", "t4", "t3", "output", "z2", "t2", "a1",
                                              "z1", "t1"]
    assert [o.name for o in ex.ops] == [s.out.name for s in reversed(ex.steps)]


def test_tutorial_notes_tie_the_deltas_to_the_tutorials_names():
    from chainrule.viz.explain import TUTORIAL_NOTES

    t = tutorial_network()
    text = format_explain(t["loss"], t, notes=TUTORIAL_NOTES)
    assert "tutorial: d_z2 = d_output * output * (1 - output)" in text
    assert "(output - y) * output * (1 - output)" in text
    assert "tutorial: d_W1 = np.dot(X.T, d_z1)" in text
    # each note follows the line computing that gradient
    lines = text.splitlines()
    k = next(i for i, ln in enumerate(lines) if ln.strip().startswith("dL/dz2 ="))
    assert "tutorial: d_z2" in "\n".join(lines[k:k + 5])


def test_leaf_gradients_equal_what_backward_puts_in_grad():
    t = tutorial_network()
    ex = build_explanation(t["loss"], t)
    assert t["W1"].grad is None and t["W2"].grad is None  # explaining changes no .grad
    t["loss"].backward()
    leaves = {leaf.name: leaf.grad for leaf in ex.leaves}
    assert set(leaves) == {"W1", "W2"}
    np.testing.assert_array_equal(leaves["W1"], t["W1"].grad.numpy())
    np.testing.assert_array_equal(leaves["W2"], t["W2"].grad.numpy())


def test_explaining_changes_no_grad_not_even_of_retain_grad_tensors():
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    with cr.viz.record():
        h = w * 3.0
        h.retain_grad()
        loss = (h * h).sum()
    format_explain(loss, {"w": w, "h": h})
    assert w.grad is None and h.grad is None
    loss.backward()
    np.testing.assert_array_equal(h.grad.numpy(), [6.0, 12.0])


def test_values_are_a_snapshot():
    t = tutorial_network()
    ex = build_explanation(t["loss"], t)
    with cr.no_grad():
        t["W1"] -= 1.0
    assert ex.inputs[1].name == "W1"
    np.testing.assert_array_equal(ex.inputs[1].value, [[0.4, 0.3], [0.2, 0.7]])


# ---------------------------------------------------------------------------------------------
# Broadcasting, tensors used twice, models
# ---------------------------------------------------------------------------------------------


def batch_of_three(bias_shape=(1, 2)):
    with cr.viz.record():
        X = cr.tensor(np.arange(6.0).reshape(3, 2) / 10)
        W = cr.tensor(np.array([[0.4, 0.3], [0.2, 0.7]]), requires_grad=True)
        b = cr.tensor(np.full(bias_shape, 0.1), requires_grad=True)
        z = X @ W + b
        loss = cr.sigmoid(z).sum()
    return loss, {"X": X, "W": W, "b": b, "z": z, "loss": loss}


def test_broadcast_bias_gradient_is_summed_back_over_the_batch():
    loss, names = batch_of_three()
    ex = build_explanation(loss, names)
    text = ex.format()
    assert "summed over axis 0: (3, 2) -> (1, 2)" in text
    (c,) = [c for s in ex.steps for c in s.contributions if c.input == "b"]
    assert c.raw.shape == (3, 2) and c.value.shape == (1, 2) and c.summed_axes == (0,)
    np.testing.assert_allclose(c.value, c.raw.sum(0, keepdims=True))
    loss.backward()
    np.testing.assert_array_equal(ex.gradient("b"), names["b"].grad.numpy())
    np.testing.assert_array_equal(ex.gradient("W"), names["W"].grad.numpy())


def test_scalar_bias_gradient_is_summed_over_every_axis():
    loss, names = batch_of_three(bias_shape=())
    text = format_explain(loss, names)
    assert "summed over axes 0, 1: (3, 2) -> ()" in text


def test_a_tensor_used_twice_shows_its_paths_adding_up():
    with cr.viz.record():
        x = cr.tensor([[1.0, 2.0]], requires_grad=True)
        a = cr.tanh(x * 0.5)
        h = a * a + a  # a is used 3 times: twice by mul, once by add
        loss = h.sum()
    ex = build_explanation(loss, {"x": x, "a": a, "h": h, "loss": loss})
    text = ex.format()
    assert "a is used 3 times: the gradients of its 3 paths add up" in text
    assert "G = dL/da = path 1 + path 2 + path 3" in text
    for k in (1, 2, 3):
        assert f"dL/da (path {k} of 3)" in text
    step = next(s for s in ex.steps if s.out.name == "a")
    assert len(step.parts) == 3
    np.testing.assert_allclose(sum(p.value for p in step.parts), step.grad)
    av = np.tanh(np.array([[0.5, 1.0]]))
    np.testing.assert_allclose(step.grad, 2 * av + 1)


def test_a_leaf_used_twice_adds_up_in_grad():
    with cr.viz.record():
        w = cr.tensor([3.0], requires_grad=True)
        loss = (w * w).sum()
    ex = build_explanation(loss, {"w": w, "loss": loss})
    text = ex.format()
    assert "w is used 2 times: the gradients of its paths add up in .grad" in text
    assert "dL/dw (path 1 of 2)" in text and "dL/dw (path 2 of 2)" in text
    (leaf,) = ex.leaves
    assert [float(p.value[0]) for p in leaf.parts] == [3.0, 3.0]
    loss.backward()
    np.testing.assert_array_equal(leaf.grad, w.grad.numpy())
    assert "w.grad = dL/dw = [3] + [3]" in text


def test_model_parameters_get_their_dotted_names_and_grads_match_backward():
    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 2), nn.Tanh(), nn.Linear(2, 2))
    loss_fn = nn.CrossEntropyLoss()
    x = cr.randn(2, 3)
    y = cr.tensor([0, 1])
    with cr.viz.record(model, loss_fn):
        loss = loss_fn(model(x), y)
    ex = build_explanation(loss, {"x": x, "loss": loss})
    text = ex.format()
    assert "# inside 0 (Linear)" in text
    assert "0.weight.grad = dL/d0.weight = " in text
    loss.backward()
    got = {leaf.name: leaf.grad for leaf in ex.leaves}
    params = dict(model.named_parameters())
    assert set(got) == set(params)
    for name, p in params.items():
        np.testing.assert_array_equal(got[name], p.grad.numpy(), err_msg=name)


def test_a_model_given_as_argument_names_parameters():
    cr.manual_seed(1)
    lin = nn.Linear(2, 1)
    with cr.graph.record_inputs():
        loss = lin(cr.ones(1, 2)).sum()
    text = format_explain(loss, model=lin)
    assert "weight.grad = dL/dweight" in text and "bias.grad = dL/dbias" in text


def test_non_scalar_output_is_seeded_with_ones_like_sum_backward():
    with cr.viz.record():
        w = cr.tensor([1.0, 2.0], requires_grad=True)
        out = w * w
    ex = build_explanation(out, {"w": w, "out": out})
    text = ex.format()
    assert "ones(2,)" in text and "out.sum().backward()" in text
    out.sum().backward()
    np.testing.assert_array_equal(ex.leaves[0].grad, w.grad.numpy())


def test_large_arrays_are_summarised():
    with cr.viz.record():
        w = cr.ones(5, 5, requires_grad=True)
        loss = (w * 2.0).sum()
    text = format_explain(loss)
    assert "(5, 5) array: min 1  mean 1  max 1" in text


def test_explain_is_exported_by_viz():
    assert cr.viz.explain is explain and cr.viz.format_explain is format_explain


def test_explain_prints(capsys):
    t = tutorial_network()
    assert explain(t["loss"], t) is None
    out = capsys.readouterr().out
    assert "dL/dz2 = dL/doutput * output * (1 - output)" in out


# ---------------------------------------------------------------------------------------------
# Every primitive
# ---------------------------------------------------------------------------------------------


def test_every_primitive_has_a_local_derivative():
    missing = [cls.__name__ for cls in PRIMITIVES if cls.name not in DERIVATIVES]
    assert not missing, f"add a DERIVATIVES entry for {missing}"
    for name, rule in DERIVATIVES.items():
        assert rule.text() and rule.grads, name
        assert rule.kind in ("elementwise", "pass", "matmul", "other"), name


def test_an_op_without_an_entry_gets_a_generic_line():
    assert rule_for("my_op").local == "vjp of my_op"
    assert rule_for("sigmoid") is DERIVATIVES["sigmoid"]


def graphs():
    """Small graphs through (nearly) every primitive: name -> build(w) -> loss."""
    x = np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]])
    return {
        "unary": lambda w: (w.exp() + (w * w + 1.0).log() + (w * w + 1.0).sqrt() + w.sin()
                            + w.cos() + w.abs() + cr.log1p(w * w) + w.relu()
                            + cr.core.functional.softplus(w) - (-w)).sum(),
        "binary": lambda w: (cr.maximum(w, 0.3) + cr.minimum(w, 0.3) + w / (w * w + 1.0)
                             + (w * w + 1.0) ** w + cr.where(w > 0, w, 2.0 * w)).sum(),
        "reductions": lambda w: (w.amax(dim=1).sum() + (w * w + 1.0).prod(dim=0).sum()
                                 + w.mean()),
        "shapes": lambda w: (cr.cat([w, w.T.reshape(2, 3)], dim=0)[1:3, ::2].sum()
                             + w.permute(1, 0)[[0, 2]].sum()
                             + cr.broadcast_to(w[:1], (4, 3)).sum()
                             + w.to(cr.float32).sum().to(cr.float64)),
        "matmul": lambda w: (w @ w.T).tanh().sum(),
        "index_put": lambda w: _index_put(w),
        "conv": lambda w: _conv(w),
        "second_order": lambda w: _second_order(w),
        "conv_second_order": lambda w: _conv_second_order(w),
        "recurrent": lambda w: _recurrent(w),
        "attention": lambda w: _attention(w),
        "special_and_views": lambda w: _special_and_views(w),
    }, x


def _attention(w):
    F = cr.nn.functional
    h = F.layer_norm(w, (3,)).reshape(1, 2, 3)
    return (F.scaled_dot_product_attention(h, h, w.reshape(1, 2, 3), is_causal=True) ** 2).sum()


def _special_and_views(w):
    z = w * 1.0
    z[:, 1:].diagonal().mul_(cr.erf(w[0, :2]))  # a diagonal view changed in place: CopySlices
    (g,) = cr.autograd.grad((w.diagonal() ** 3).sum(), [w], create_graph=True)  # diag_embed
    return (cr.erfc(z) + cr.erfinv(cr.tanh(z) * 0.5) + cr.expm1(z)).sum() + (g * g).sum()


def _index_put(w):
    z = w * 1.0
    z[0, 1] = w[1, 2] * 3.0
    return z.sum()


def _conv(w):
    F = cr.nn.functional
    img = w.reshape(1, 1, 2, 3)
    k = cr.tensor(np.array([[[[0.5, -0.25]]]]), requires_grad=True)
    y = F.conv2d(img, k, padding=0)
    y = F.batch_norm(y.reshape(1, 1, 2, 2), None, None, cr.ones(1, dtype=cr.float64),
                     cr.zeros(1, dtype=cr.float64), training=True)
    return F.max_pool2d(y, 2).sum() + F.avg_pool2d(y, (1, 2)).sum()


def _recurrent(w):  # a GRU over 2 steps of 3 features, hidden size 1 (issue 11)
    gru = cr.nn.GRU(3, 1, dtype=cr.float64)
    out, h = gru(w.reshape(2, 1, 3))
    return out.sum() + h.sum()


def _second_order(w):
    y = (cr.tanh(w) + cr.sigmoid(w)).sum() + (w[0] ** 3).sum()
    (g,) = cr.autograd.grad(y, [w], create_graph=True)
    return (g * g).sum()


def _conv_second_order(w):
    F = cr.nn.functional
    img = w.reshape(1, 1, 2, 3)
    k = cr.tensor(np.array([[[[0.5, -0.25]]]]), requires_grad=True)
    y = F.conv2d(img, k)
    y = (F.max_pool2d(y, (1, 2)) + F.avg_pool2d(y, (1, 2))) ** 2
    gw, gk = cr.autograd.grad(y.sum(), [w, k], create_graph=True)
    return (gw * gw).sum() + (gk * gk).sum()


@pytest.mark.parametrize("name", list(graphs()[0]))
def test_explains_graphs_of_every_kind_of_op_with_the_engines_gradients(name):
    build, x = graphs()
    w = cr.tensor(x, requires_grad=True)
    with cr.viz.record():
        loss = build[name](w)
    ex = build_explanation(loss, {"w": w, "loss": loss}, max_nodes=200)
    text = ex.format()
    assert "BACKWARD PASS" in text and "vjp of" not in text
    for step in ex.steps:  # the edges into a node add up to the engine's gradient of it
        if step.parts:
            np.testing.assert_allclose(sum(p.value for p in step.parts), step.grad,
                                       rtol=1e-12, atol=1e-12)
    loss.backward()
    got = {leaf.name: leaf.grad for leaf in ex.leaves}
    np.testing.assert_allclose(got["w"], w.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_every_primitive_is_covered_by_the_graphs_above():
    build, x = graphs()
    seen = set()
    for name in build:
        w = cr.tensor(x, requires_grad=True)
        with cr.viz.record():
            loss = build[name](w)
        seen |= {n.name for n in cr.graph.nodes(loss)}
    missing = {cls.name for cls in PRIMITIVES} - seen
    assert not missing, f"add graphs through {missing}"


# ---------------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------------


def test_a_large_graph_is_refused_with_a_pointer_to_print_graph_and_draw():
    x = cr.tensor([1.0], requires_grad=True)
    with cr.viz.record():
        z = x
        for _ in range(40):
            z = z * 1.01 + 0.1
        loss = z.sum()
    with pytest.raises(ValueError, match=r"82 nodes, more than max_nodes=60.*print_graph.*draw"):
        format_explain(loss)
    assert "BACKWARD" in format_explain(loss, max_nodes=100)


def test_values_not_kept_asks_for_record():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    loss = (x * x + 1.0).sum()  # not recorded: the add's input was not kept
    with pytest.raises(GraphError, match=r"not kept.*with cr.viz.record\(\):"):
        format_explain(loss)


def test_a_graph_freed_by_backward_is_refused():
    t = tutorial_network()
    t["loss"].backward()
    with pytest.raises(GraphError, match="freed by a backward"):
        format_explain(t["loss"], t)


def test_a_tensor_without_graph_or_a_leaf_is_refused():
    with pytest.raises(GraphError, match="no graph"):
        format_explain(cr.tensor([1.0]))
    with pytest.raises(GraphError, match="is a leaf"):
        format_explain(cr.tensor([1.0], requires_grad=True))
    with pytest.raises(TypeError, match="expected a Tensor"):
        format_explain(np.ones(2))


# ---------------------------------------------------------------------------------------------
# The command line
# ---------------------------------------------------------------------------------------------


def test_cli_explain_tutorial(capsys):
    assert main(["explain", "tutorial"]) == 0
    out = capsys.readouterr().out
    ref = tutorial_deltas()
    assert "dL/dz2 = dL/doutput * output * (1 - output)" in out
    assert "tutorial: d_z2 = d_output * output * (1 - output)" in out
    assert f"= {fmt(ref['z2'])}" in out and f"= {fmt(ref['W1'])}" in out
    assert "the same numbers as above" in out
    assert "largest difference 0.0e+00" in out
    # the tutorial's printed results after one step with learning rate 0.1
    assert "loss = 0.5 * (output - y)^2 = 0.02320575" in out
    assert "= [[0.60230061], [0.80279193]]" in out
    assert "= [[0.40025412, 0.3002605], [0.20060988, 0.70062519]]" in out
    assert max(len(line) for line in out.splitlines()) <= 100


def test_cli_explain_rejects_unknown_examples_and_bad_lr(capsys):
    assert main(["explain", "digits"]) == 2
    assert main(["explain", "tutorial", "--lr", "0"]) == 2
    assert "--lr must be positive" in capsys.readouterr().err
