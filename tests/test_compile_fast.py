"""cr.compile's leaner kernels and rewrites (chainrule/compile/fast.py): each one is used
where it should be, and the replayed steps stay bit-equal to eager mode, float32 and
float64, over several steps."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn as nn
import chainrule.nn.functional as F

DTYPES = [np.float32, np.float64]


def _run(make_model, loss_fn, compiled, dtype, steps=6, shape=(16, 12), classes=5,
         opt="adam", set_to_none=True, scale=1.0):
    cr.manual_seed(0)
    model = make_model()
    if dtype == np.float64:
        model = model.double()
    opt_ = (cr.optim.Adam(model.parameters(), lr=1e-2) if opt == "adam"
            else cr.optim.SGD(model.parameters(), lr=0.1, momentum=0.9))

    def step(x, y):
        opt_.zero_grad(set_to_none=set_to_none)
        loss = loss_fn(model(x), y)
        loss.backward()
        opt_.step()
        return loss

    fn = cr.compile(step) if compiled else step
    rng = np.random.default_rng(1)
    if not set_to_none:  # .grad exists before the first traced call (else its steps differ)
        x0 = cr.tensor(rng.standard_normal(shape).astype(dtype))
        step(x0, cr.tensor(np.zeros(shape[0], np.int64)))
    losses = []
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no fallback to eager, no overflow warning
        for _ in range(steps):
            x = cr.tensor((scale * rng.standard_normal(shape)).astype(dtype))
            y = cr.tensor(rng.integers(0, classes, shape[0]))
            losses.append(fn(x, y).detach().numpy().tobytes())
    state = [p.detach().numpy().tobytes() for p in model.parameters()]
    state += [p.grad.numpy().tobytes() for p in model.parameters()]
    return losses, state, fn


def _check(make_model, loss_fn, dtype, **kw):
    eager = _run(make_model, loss_fn, False, dtype, **kw)
    comp = _run(make_model, loss_fn, True, dtype, **kw)
    assert eager[0] == comp[0], "losses differ"
    assert eager[1] == comp[1], "parameters or gradients differ"
    (plan,) = comp[2].programs()
    return plan


def _mlp():
    return nn.Sequential(nn.Linear(12, 20), nn.ReLU(), nn.Linear(20, 5))


@pytest.mark.parametrize("dtype", DTYPES)
def test_mlp_kernels_and_in_place_gradients(dtype):
    plan = _check(_mlp, F.cross_entropy, dtype)
    labels = " | ".join(plan.labels)
    assert "np.add.reduce" in labels  # sums, and the bias gradients
    assert "np.bitwise_and (where)" in labels  # relu's backward as a bit mask
    assert "np.copyto(x[index])" in labels  # cross-entropy's picked logits
    assert "np.maximum.reduce" in labels  # the row max cross-entropy subtracts
    assert "where.forward" not in labels and "getitem.forward" not in labels
    # the four gradients are computed in the flat .grad buffer: no copy left
    assert plan.instr_labels.count("computed in place, no call") == 4
    assert "np.copyto" not in [lab for lab in plan.labels if lab == "np.copyto"]


@pytest.mark.parametrize("dtype", DTYPES)
def test_gradients_accumulated_with_set_to_none_false(dtype):
    plan = _check(_mlp, F.cross_entropy, dtype, set_to_none=False, opt="sgd")
    assert "computed in place, no call" not in plan.instr_labels  # .grad += g stays


@pytest.mark.parametrize("dtype", DTYPES)
def test_tied_weights_first_gradient_in_place_second_added(dtype):
    class Tied(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Linear(12, 12)
            self.out = nn.Linear(12, 5)

        def forward(self, x):
            return self.out(self.a(cr.relu(self.a(x))))

    plan = _check(Tied, F.cross_entropy, dtype)
    assert any(lab == "np.add" for lab in plan.labels)


@pytest.mark.parametrize("dtype", DTYPES)
def test_python_number_constants_fold(dtype):
    from chainrule.compile.program import _constant_spec

    plan = _check(_mlp, F.cross_entropy, dtype)
    prog = plan.prog
    for ins in prog.instrs:  # mean's 1/n times the seed 1.0, and what follows: folded
        if ins.op == "op" and ins.ins and all(map(_constant_spec, ins.arg[1].values())):
            assert not all(prog.values[v].kind == "const" for v in ins.ins), ins.arg[0].name
    assert sum(prog.values[v].kind == "const" for ins in prog.instrs for v in ins.ins) >= 2


@pytest.mark.parametrize("dtype", DTYPES)
def test_bias_add_folded_into_sigmoid(dtype):
    def make():
        return nn.Sequential(nn.Linear(12, 20), nn.Sigmoid(), nn.Linear(20, 5), nn.Sigmoid())

    def loss(out, y):
        return ((out - 0.5) ** 2).mean() + F.cross_entropy(out, y)

    plan = _check(make, loss, dtype)
    assert plan.labels.count("1/(1+np.exp((-b)-a))") == 2
    assert "np.square" in plan.labels  # (out - 0.5) ** 2
    assert "pow.forward" not in plan.labels


@pytest.mark.parametrize("dtype", DTYPES)
def test_sigmoid_fold_with_overflowing_inputs(dtype):
    # exp(-(a + b)) overflows to inf for large negative pre-activations: 0 exactly, quietly
    def make():
        return nn.Sequential(nn.Linear(12, 20), nn.Sigmoid(), nn.Linear(20, 5))

    plan = _check(make, F.cross_entropy, dtype, scale=1e4)
    assert "1/(1+np.exp((-b)-a))" in plan.labels


@pytest.mark.parametrize("dtype", DTYPES)
def test_where_both_orders_and_leaky_relu(dtype):
    class Leaky(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = nn.Linear(12, 20), nn.Linear(20, 5)

        def forward(self, x):
            h = self.a(x)
            h = cr.where(h > 0, h, 0.0) + cr.where(h > 0, 0.0, 0.1 * h) + cr.where(h < 1, h, 1.0)
            return self.b(h)

    plan = _check(Leaky, F.cross_entropy, dtype)
    assert plan.labels.count("np.bitwise_and (where)") >= 4  # forward and backward
    assert "np.copyto(where=)" in plan.labels  # where(c, h, 1.0): two copies


@pytest.mark.parametrize("dtype", DTYPES)
def test_where_mask_keeps_signed_zeros_and_nans(dtype):
    from chainrule.compile.fast import _where_kernel

    x = np.array([-0.0, 0.0, np.nan, -np.inf, 1.5, -2.5], dtype)
    c = np.array([True, True, True, False, True, False])
    for args in ((c, x, np.asarray(0.0)), (c, np.asarray(0.0), x)):
        out = np.empty_like(x)
        call, label = _where_kernel(*args, out)
        call()
        assert label == "np.bitwise_and (where)"
        assert out.tobytes() == np.where(*args).astype(dtype).tobytes()


@pytest.mark.parametrize("dtype", DTYPES)
def test_sums_over_other_axes_and_keepdim(dtype):
    class Pool(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Linear(12, 20)

        def forward(self, x):
            h = self.a(x).reshape(-1, 4, 5)
            return h.sum(1) + h.amax(1) - h.sum((0, 1), keepdim=True)[0]

    plan = _check(Pool, F.cross_entropy, dtype)
    assert "np.maximum.reduce" in plan.labels


def test_grad_target_keeps_the_copy_when_the_orientation_changes_bits(monkeypatch):
    from chainrule.compile import fast

    real = fast.xp.matmul

    def other_bits(a, b, out=None):  # a BLAS whose transposed GEMM rounds differently
        r = real(a, b, out=out)
        if out is not None and not out.flags.c_contiguous:
            out += out.dtype.type(1e-3)
        return r

    def compiled_step():
        # P^T @ x^T: P's gradient is (g @ x)^T, a matmul seen transposed
        P = nn.Parameter(cr.randn(12, 5))
        opt = cr.optim.SGD([P], lr=0.1)

        @cr.compile
        def step(x):
            opt.zero_grad()
            ((P.T @ x.T) ** 2).sum().backward()
            opt.step()

        x = cr.randn(16, 12)
        for _ in range(3):
            step(x)
        (plan,) = step.programs()
        return plan

    plan = compiled_step()
    assert plan.instr_labels.count("computed in place, no call") == 1
    monkeypatch.setattr(fast.xp, "matmul", other_bits)
    plan = compiled_step()
    monkeypatch.undo()
    assert plan.instr_labels.count("computed in place, no call") == 0
    assert "np.copyto" in plan.labels


def test_listing_names_the_gradient_a_value_is_computed_into(capsys):
    _, _, fn = _run(_mlp, F.cross_entropy, True, np.float32, steps=3)
    fn.print_program()
    text = capsys.readouterr().out
    assert "[0.bias.grad: np.add.reduce]" in text
    assert "[0.weight.grad: np.dot]" in text  # (g^T x) in W's layout, no transpose
    assert "0.weight.grad = %" in text and "[computed in place, no call]" in text


@pytest.mark.parametrize("dtype", DTYPES)
def test_reshape_that_copies_a_channels_last_map(dtype):
    def make():
        return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                             nn.Flatten(), nn.Linear(4 * 4 * 4, 5))

    plan = _check(make, F.cross_entropy, dtype, shape=(8, 1, 8, 8))
    assert "np.copyto (reshape)" in plan.labels
