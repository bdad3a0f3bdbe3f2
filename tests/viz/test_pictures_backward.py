"""The backward pass in the static pictures: gradients on edges, constants by value and role,
explain's names, second-order ops marked, drawing after backward(), saturated numbers."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.viz.explain import build_explanation, tutorial_network
from chainrule.viz.view import build_view, format_value


def test_edges_carry_the_gradient_backward_sends_along_them():
    t = tutorial_network()
    view = build_view(t["loss"], names=t, grads=True)
    by = {v.id: v for v in view.nodes}
    for e in view.edges:
        src = by[e.src]
        if src.grad is None:  # constants: nothing flows back to them
            assert e.grad is None
        else:
            np.testing.assert_array_equal(e.grad, src.grad)  # each used once here
    dot = cr.viz.to_dot(t["loss"], names=t, grads=True)
    assert "↑ grad [[-0.2154]]" in dot  # down the data path: backward goes up
    assert "← grad [[-0.02301], [-0.02792]]" in dot  # W2 sits left of its matmul
    assert "the gradient the edge carries back" in dot  # the legend says so
    assert "↑ grad" not in cr.viz.to_dot(t["loss"], names=t)


def test_an_edge_of_a_reused_tensor_carries_its_share():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    with cr.viz.record():
        h = x.tanh()
        y = (h * h + 3.0 * h).sum()
    view = build_view(y, names={"h": h}, grads=True)
    hid = next(v.id for v in view.nodes if v.name == "h")
    shares = [e.grad for e in view.edges if e.src == hid]
    assert len(shares) == 3
    np.testing.assert_allclose(sum(shares), view.node(hid).grad)
    ex = build_explanation(y, {"h": h})
    step = next(s for s in ex.steps if s.out.name == "h")
    np.testing.assert_allclose(sorted(map(float, np.concatenate(shares))),
                               sorted(map(float, np.concatenate([c.value for c in step.parts]))))


def test_constants_by_value_and_role_and_nodes_named_as_explain_names_them():
    t = tutorial_network()
    text = cr.viz.format_graph(t["loss"])
    assert "pow(%8, 2)" in text and "mul(0.5, %9)" in text and "const()" not in text
    view = build_view(t["loss"], names=t)
    titles = {v.title() for v in view.nodes if v.kind == "input"}
    assert {"exponent 2", "factor 0.5", "X", "y"} <= titles
    ex = build_explanation(t["loss"], t)
    ops = [v for v in view.nodes if v.kind == "op"]
    assert [v.ref for v in ops] == [o.name for o in ex.ops]  # t1, z1, a1, t2, ...
    assert "<B>t1 = matmul</B>" in cr.viz.to_dot(t["loss"], names=t)
    m = cr.tensor([True, False])
    with cr.viz.record():
        z = cr.where(m, cr.ones(2, requires_grad=True), cr.zeros(2)).sum()
    assert "mask t2" in {v.title() for v in build_view(z).nodes}


def test_second_order_ops_are_marked_as_made_by_backward():
    w = cr.tensor([0.5, 2.0], requires_grad=True)
    (g,) = cr.autograd.grad((w.tanh() ** 2).sum(), [w], create_graph=True)
    view = build_view(g.sum())
    marked = {v.op for v in view.nodes if v.from_backward}
    assert "tanh_grad" in marked and "tanh" not in marked and "sum" not in marked
    dot = cr.viz.to_dot(g.sum())
    assert "made by backward (second order)" in dot and "an op made by backward" in dot


def test_draw_after_backward_inside_record_shows_values_and_grads():
    model = cr.nn.Sequential(cr.nn.Linear(2, 3), cr.nn.Tanh(), cr.nn.Linear(3, 1))
    with cr.viz.record(model):
        loss = ((model(cr.ones(2, 2)) - 1.0) ** 2).mean()
    before = build_view(loss, values=True, grads=True)
    loss.backward()  # frees the graph; record() kept what the picture needs
    after = build_view(loss, values=True, grads=True)
    assert not after.notes
    for a, b in zip(before.nodes, after.nodes):
        assert a.title() == b.title()
        for x, y in ((a.value, b.value), (a.grad, b.grad)):
            assert (x is None) == (y is None)
            if x is not None:
                np.testing.assert_array_equal(x, y)
    w = dict(model.named_parameters())["0.weight"]
    leaf = next(v for v in after.nodes if v.name == "0.weight")
    np.testing.assert_array_equal(leaf.grad, w.grad.numpy())
    assert "↑ grad" in cr.viz.to_dot(loss, values=True, grads=True)


def test_draw_after_backward_without_record_says_why_and_how():
    y = (cr.ones(2, 2, requires_grad=True) * 3).tanh().sum()
    y.backward()
    view = build_view(y, values=True, grads=True)
    assert any("already freed" in n and "cr.viz.record()" in n for n in view.notes)
    assert any("values not shown" in n for n in view.notes)
    dot = cr.viz.to_dot(y, values=True, grads=True)
    assert "already freed" in dot and "retain_graph=True" in dot
    assert "already freed" in cr.viz.to_dot(y, values=True, grads=True, legend=False)


@pytest.mark.parametrize("x, shown", [(np.tanh(6.0), "0.999988"), (1.0, "1"),
                                      (-np.tanh(9.0), "-0.99999997"),
                                      (np.float32(np.tanh(6.0)), "0.999988"), (1e-7, "1e-07"),
                                      (0.25, "0.25")])
def test_numbers_near_one_keep_the_digits_that_show_saturation(x, shown):
    assert format_value(np.array(x)) == shown
