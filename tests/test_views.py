"""Views and in-place ops as in PyTorch: memory and version sharing, CopySlices (an in-place
change of a view rebases its base's history), views regenerated after their base changed,
and the cases PyTorch refuses. Every program runs under both libraries (float64) and must
agree on values, gradients and second-order gradients (tests/fuzz/fuzz_programs.run)."""

from __future__ import annotations

import numpy as np
import pytest
from fuzz.fuzz_programs import Program, compare, run

import chainrule as cr

torch = pytest.importorskip("torch")

A = [[0.5, -1.25, 2.0], [1.5, 0.75, -0.5], [-2.0, 0.25, 1.0]]
B = [0.3, -0.7, 1.1]


def _program(lines: list[str], out: str) -> Program:
    prog = Program("smooth", lines=lines, ops=[], out=out)
    prog.inputs["x0"] = np.array(A)
    prog.inputs["x1"] = np.array(B)
    prog.grads["x0"] = prog.grads["x1"] = True
    return prog


PROGRAMS = {
    # CopySlices: the value written into a view gets its gradient through the base
    "copy_into_slice_of_constant": (["v1 = L.zeros(4, 3, dtype=L.float64)",
                                     "v1[0:2].copy_(x0[1:] * 2.0)", "v2 = (v1 * v1).sum(0)"],
                                    "v2"),
    "copy_into_row_of_constant": (["v1 = L.zeros(3, 3, dtype=L.float64)", "v1[1].copy_(x1)",
                                   "v2 = L.tanh(v1) @ x0"], "v2"),
    "setitem_into_view": (["v1 = L.zeros(3, 3, dtype=L.float64)", "v2 = v1.t()",
                           "v2[0] = x1 * x1", "v3 = L.exp(v1)"], "v3"),
    # a write into a view of a buffer made from a parameter keeps the parameter's gradient
    "mul_into_view_of_buffer": (["v1 = x0 * 1.0", "v1[1:].mul_(x1)", "v2 = L.sin(v1)"], "v2"),
    "diagonal_zero_": (["v1 = x0 * x0", "v1.diagonal().zero_()", "v2 = v1.sum(1)"], "v2"),
    "diagonal_add_": (["v1 = x0 * 2.0", "v1.diagonal(1).add_(x1[:2])", "v2 = v1.exp()"], "v2"),
    "column_view_div_": (["v1 = L.sigmoid(x0)", "v1[:, 1].div_(x1.abs() + 0.5)",
                          "v2 = v1 * v1"], "v2"),
    "narrow_clamp_": (["v1 = x0 * 3.0", "v1.narrow(1, 1, 2).clamp_(-1.0, 1.0)"], "v1"),
    "view_of_view": (["v1 = x0 + 0.0", "v2 = v1.t()[1:]", "v2[:, 0].mul_(x1[:2])",
                      "v3 = v1 ** 2"], "v3"),
    "reshape_view_add_": (["v1 = x0 * 1.0", "v2 = v1.reshape(-1)", "v2[2:5].add_(1.5)",
                           "v3 = L.tanh(v1)"], "v3"),
    "select_and_unsqueeze": (["v1 = x0 * 1.0", "v2 = v1.select(0, 2).unsqueeze(0)",
                              "v2.mul_(x1)", "v3 = v1.sum()"], "v3"),
    "permute_expand_source": (["v1 = x0 * 1.0", "v2 = v1.permute(1, 0)",
                               "v2[0].copy_(x1.expand(3))", "v3 = v1 * x0"], "v3"),
    # an in-place change of the base is seen by views taken before it, values and gradients
    "base_changed_after_view": (["v1 = x0 * 1.0", "v2 = v1[0]", "v1.mul_(x0)",
                                 "v3 = v2 * x1"], "v3"),
    "base_changed_view_chain": (["v1 = x0 * 2.0", "v2 = v1.t()", "v3 = v2[1:]",
                                 "v1.exp_()", "v4 = (v3 * v3).sum(1)"], "v4"),
    "sibling_view_changed": (["v1 = x0 * 1.0", "v2 = v1[0]", "v3 = v1[:, 0]",
                              "v3.mul_(x1)", "v4 = v2 + v3"], "v4"),
    "two_writes_same_view": (["v1 = x0 + 1.0", "v2 = v1[1]", "v2.mul_(x1)", "v2.add_(x1)",
                              "v3 = v1.sum(0)"], "v3"),
    "view_used_then_base_changed": (["v1 = x0 * 1.0", "v2 = v1[0] * 2.0", "v1[0].zero_()",
                                     "v3 = v1.sum() + v2.sum()"], "v3"),
    # found by the fuzzer: flip is a copy (not a view of a leaf); a 0-d view written in place
    "flip_is_a_copy": (["v1 = x1.flip(0)", "v1.div_(x1.abs() + 0.5)"], "v1"),
    "zero_d_view_in_place": (["v1 = x1.clone()", "v2 = v1[2]", "v2.sub_(x0[0, 0])",
                              "v3 = v1 * v1"], "v3"),
    # saved values changed through a view: both refuse at backward
    "saved_value_changed_by_view": (["v1 = x0 * 1.0", "v2 = v1 * v1", "v1[0].add_(1.0)",
                                     "v3 = v2.sum()"], "v3"),
    # PyTorch refuses these (so must chainrule)
    "view_of_leaf_in_place": (["v1 = x0[0]", "v1.mul_(2.0)"], "x0"),
    "expanded_view_in_place": (["v1 = x1 * 1.0", "v2 = v1.expand(2, 3)", "v2.add_(1.0)"],
                               "v1"),
    "leaf_in_place": (["x0.add_(1.0)"], "x0"),
    "no_grad_view_changed_with_grad": (["v1 = x0 * 1.0", "with L.no_grad(): v2 = v1[0]",
                                        "v2.mul_(2.0)"], "v1"),
}


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_view_program_matches_torch(name: str) -> None:
    lines, out = PROGRAMS[name]
    prog = _program(lines, out)
    ours, ref = run(prog, cr), run(prog, torch)
    assert compare(ours, ref) == [], f"{name}: {compare(ours, ref)}\n{prog.source()}"
    assert (ours.error is None) == (ref.error is None)


def test_views_share_memory_and_version() -> None:
    x = cr.arange(12.0).reshape(3, 4)
    views = {
        "x[0]": x[0], "x[0:2]": x[0:2], "x[:, 1]": x[:, 1], "view": x.view(4, 3),
        "reshape": x.reshape(2, 6), "transpose": x.transpose(0, 1), "t": x.t(),
        "narrow": x.narrow(1, 1, 2), "expand": x[0:1].expand(3, 4), "diagonal": x.diagonal(),
        "unsqueeze": x.unsqueeze(0), "squeeze": x.unsqueeze(1).squeeze(1),
        "permute": x.permute(1, 0), "select": x.select(1, 2), "x[0, 0]": x[0, 0],
        "unbind": x.unbind(1)[3], "swapaxes": x.swapaxes(0, 1),
    }
    before = {k: v.numpy().copy() for k, v in views.items()}
    x += 100.0
    for k, v in views.items():
        np.testing.assert_array_equal(v.numpy(), before[k] + 100.0, err_msg=k)
        assert v._version == x._version, k


def test_reshape_copies_where_a_view_is_impossible_and_view_refuses() -> None:
    x = cr.arange(6.0).reshape(2, 3)
    r = x.t().reshape(-1)
    r += 1.0
    np.testing.assert_array_equal(x.numpy(), np.arange(6.0).reshape(2, 3))
    with pytest.raises(RuntimeError, match="view size is not compatible"):
        x.t().view(-1)
    assert x.t().contiguous().is_contiguous() and not x.t().is_contiguous()


def test_copy_slices_is_twice_differentiable() -> None:
    def f(w: cr.Tensor, b: cr.Tensor) -> cr.Tensor:
        out = w * 1.0
        out[1:, :2].copy_(b[:2] * b[1:])
        out.diagonal().mul_(b)
        return cr.tanh(out)

    w = cr.tensor(np.array(A), dtype=cr.float64, requires_grad=True)
    b = cr.tensor(np.array(B), dtype=cr.float64, requires_grad=True)
    assert cr.autograd.gradcheck(f, (w, b))
    assert cr.autograd.gradgradcheck(f, (w, b))


def test_errors_name_the_case() -> None:
    w = cr.ones(3, requires_grad=True)
    with pytest.raises(cr.GraphError, match="view of a leaf tensor that requires grad"):
        w[0].mul_(2.0)
    y = w * 1.0
    with cr.no_grad():
        v = y[0:2]
    with pytest.raises(cr.GraphError, match="created under no_grad"):
        v.mul_(2.0)
    with pytest.raises(ValueError, match="read-only broadcast view"):
        y.expand(2, 3).add_(1.0)
