"""cr.compile's replay trimmed further (chainrule/compile/plan.py, fast.py): results written
over an input read for the last time, and the Python around the replayed calls. Every case
compares the compiled steps with eager ones byte for byte, float32 and float64, over several
steps."""

from __future__ import annotations

import copy

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn as nn
import chainrule.nn.functional as F
from tests.test_compile_fast import DTYPES, _check


def _in_place(plan):
    """Names of the ops whose result took the buffer of one of their inputs."""
    out = []
    for ins in plan.prog.instrs:
        if ins.op == "op" and ins.out in plan.slot and any(
                plan.slot.get(v) == plan.slot[ins.out] for v in ins.ins):
            out.append(ins.arg[0].name)
    return out


@pytest.mark.parametrize("dtype", DTYPES)
def test_elementwise_results_take_dead_inputs_buffers(dtype):
    def make():
        return nn.Sequential(nn.Linear(12, 20), nn.Sigmoid(), nn.Linear(20, 16), nn.Tanh(),
                             nn.Linear(16, 5))

    def loss(out, y):
        return ((out.exp() - 1.0) ** 2).mean() + F.cross_entropy(out, y)

    plan = _check(make, loss, dtype)
    names = _in_place(plan)
    # the bias add + sigmoid over the matmul, sigmoid's and tanh's backward over the
    # incoming gradient, and elementwise ops over their temporaries
    for name in ("add+sigmoid", "sigmoid_grad", "tanh_grad", "sub"):
        assert name in names, (name, names)
    assert "matmul" not in names  # a GEMM never writes over its operand


@pytest.mark.parametrize("dtype", DTYPES)
def test_sigmoid_grad_of_a_value_by_itself(dtype):
    # sigmoid_grad(g, s) with g and s the same array: s is read after out is written, so
    # the result must not take that buffer
    from chainrule.compile.fast import overwritable
    from chainrule.core import primitives as P

    assert overwritable(P.SigmoidGrad(), (3, 3)) == ()
    assert overwritable(P.SigmoidGrad(), (3, 4)) == (0,)

    class SelfGrad(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(12, 5)

        def forward(self, x):
            s = self.lin(x).sigmoid()
            return s * s.detach() + s

    _check(SelfGrad, F.cross_entropy, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_tutorial_style_loop_several_steps(dtype):
    rng = np.random.default_rng(0)
    X = rng.random((40, 12)).astype(dtype)
    Y = np.eye(4, dtype=dtype)[rng.integers(0, 4, 40)]
    W1_0, W2_0 = rng.standard_normal((12, 8)).astype(dtype), \
        rng.standard_normal((8, 4)).astype(dtype)

    def run(compiled):
        W1, W2 = cr.tensor(W1_0, requires_grad=True), cr.tensor(W2_0, requires_grad=True)
        Xt, Yt = cr.tensor(X), cr.tensor(Y)
        b1, b2 = cr.zeros(1, 8, dtype=W1.dtype), cr.zeros(1, 4, dtype=W1.dtype)

        def epoch():
            a1 = cr.sigmoid(Xt @ W1 + b1)
            output = cr.sigmoid(a1 @ W2 + b2)
            err = 0.5 * (output - Yt) ** 2
            err.sum().backward()
            with cr.no_grad():
                W2.sub_(0.1 * W2.grad)
                W1.sub_(0.1 * W1.grad)
            W1.grad = W2.grad = None
            return err.mean()

        fn = cr.compile(epoch) if compiled else epoch
        losses = [fn().detach().numpy().tobytes() for _ in range(7)]
        return losses, W1.detach().numpy().tobytes(), W2.detach().numpy().tobytes(), fn

    a, b = run(False), run(True)
    assert a[:3] == b[:3]
    (plan,) = b[3].programs()
    assert "add+sigmoid" in _in_place(plan) and "sigmoid_grad" in _in_place(plan)
    prog = plan.prog  # the folded 0.5 * ones of err's backward is read as the number 0.5
    consts = [prog.values[v].sample for ins in prog.instrs if ins.op == "op"
              for v in ins.ins if prog.values[v].kind == "const"]
    assert consts and all(c.ndim == 0 for c in consts)


def test_only_uniform_constants_become_numbers():
    from chainrule.compile.fast import scalar_constants
    from chainrule.compile.program import Instr, Program
    from chainrule.core import primitives as P

    prog = Program()
    x = prog.add("tmp", None, np.ones((3, 2)))
    same = prog.add("const", np.full((3, 2), -0.0), np.full((3, 2), -0.0))
    mixed = np.array([[0.5, 0.5], [0.5, 0.5], [0.5, 0.25]])
    other = prog.add("const", mixed, mixed)
    for c in (same, other):
        out = prog.add("tmp", None, np.ones((3, 2)))
        prog.instrs.append(Instr("op", (x, c), out, (P.Mul(), {})))
    assert scalar_constants(prog) == 1
    first, second = prog.instrs
    assert prog.values[first.ins[1]].sample.shape == () and \
        np.signbit(prog.values[first.ins[1]].sample)
    assert second.ins[1] == other


# -- the cheap guard of an unchanged call (compile/replay.py) ------------------------------
def _adam_pair():
    """The same MLP, Adam and step twice: eager and compiled."""
    out = []
    for compiled in (False, True):
        cr.manual_seed(0)
        model = nn.Sequential(nn.Linear(6, 10), nn.ReLU(), nn.Linear(10, 3))
        opt = cr.optim.Adam(model.parameters(), lr=1e-2)

        def step(x, y, model=model, opt=opt):
            opt.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            return loss

        out.append((model, opt, cr.compile(step) if compiled else step))
    return out


def _batch(n=8, seed=0):
    rng = np.random.default_rng(seed)
    return cr.tensor(rng.standard_normal((n, 6)).astype(np.float32)), \
        cr.tensor(rng.integers(0, 3, n))


def _same(pair):
    for (m1, _, _), (m2, _, _) in [pair]:
        for p, q in zip(m1.parameters(), m2.parameters()):
            assert p.detach().numpy().tobytes() == q.detach().numpy().tobytes()


@pytest.mark.parametrize("change", ["optimizer_state_dict", "state_tensor", "lr", "grad"])
def test_changes_between_replays_are_seen(change):
    eager, comp = _adam_pair()
    x, y = _batch()
    saved = None
    for k in range(4):
        for _model, opt, step in (eager, comp):
            if k == 1 and change == "optimizer_state_dict" and step is eager[2]:
                saved = copy.deepcopy(opt.state_dict())
            step(x, y)
    assert comp[2]._last is not None  # the cheap path is armed
    for model, opt, step in (eager, comp):
        p = next(iter(model.parameters()))
        if change == "optimizer_state_dict":
            opt.load_state_dict(saved)
        elif change == "state_tensor":
            opt.state[p]["exp_avg"] = cr.ones(p.shape)
        elif change == "lr":
            opt.param_groups[0]["lr"] = 0.5
        else:
            p.grad = cr.ones(p.shape)  # zero_grad sets it to None before it is read
        for _ in range(2):
            step(x, y)
    _same((eager, comp))
    p1, p2 = (next(iter(m.parameters())) for m, _, _ in (eager, comp))
    assert eager[1].state[p1]["step"] == comp[1].state[p2]["step"] == \
        (3.0 if change == "optimizer_state_dict" else 6.0)
    assert eager[1].state[p1]["exp_avg"].numpy().tobytes() == \
        comp[1].state[p2]["exp_avg"].numpy().tobytes()


def test_argument_and_mode_changes_leave_the_cheap_path():
    eager, comp = _adam_pair()
    x, y = _batch()
    for _ in range(3):
        comp[2](x, y)
    guard = comp[2]._last
    assert guard is not None and guard.holds((x, y))
    assert not guard.holds((x.double(), y))
    assert not guard.holds((_batch(5)[0], y))
    assert not guard.holds((x.clone().requires_grad_(), y))
    assert not guard.holds((x,))
    with cr.no_grad():
        assert not guard.holds((x, y))
    comp[0].eval()
    assert not guard.holds((x, y))
    comp[0].train()
    comp[0][0].weight.data = cr.zeros(10, 6)
    assert not guard.holds((x, y))


def test_a_failing_replayed_call_is_named():
    from chainrule.compile.plan import ReplayError

    eager, comp = _adam_pair()
    x, y = _batch()
    for _ in range(3):
        comp[2](x, y)
    plan = comp[2]._last.var.plan
    calls = list(plan.calls)

    def boom():
        raise ValueError("boom")

    plan.calls[3] = boom
    with pytest.raises(ReplayError, match=f"{plan.labels[3]}.*boom") as info:
        plan.run((x, y))
    assert info.value.harmless == (3 < plan.first_effect)
    plan.calls[:] = calls


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("beta1", [0.9, 0.3])  # both branches of _lerp_
def test_lean_adam_is_adam_update(dtype, beta1):
    from chainrule.compile.optim import _adam_plain
    from chainrule.optim.adam import adam_update

    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(50).astype(dtype) for _ in range(4)]
    arrays[3] = np.abs(arrays[3])  # v >= 0
    a = [x.copy() for x in arrays]
    b = [x.copy() for x in arrays]
    for step in (1.0, 2.0, 7.0):
        adam_update(*a, None, step, lr=1e-2, beta1=beta1, beta2=0.999, eps=1e-8)
        _adam_plain(*b, np.empty_like(b[0]), np.empty_like(b[0]), step, 1e-2, beta1,
                    0.999, 1e-8)
        assert all(x.tobytes() == y.tobytes() for x, y in zip(a, b))


@pytest.mark.parametrize("dtype", DTYPES)
def test_softmax_shift_with_non_finite_maxima(dtype):
    # the row max softmax subtracts: 0 where it is inf or nan, as eager mode's _shift
    from chainrule.compile.fast import shift_kernel
    from chainrule.core.ops.reductions import _shift

    big = np.finfo(dtype).max
    x = np.array([[1.0, 2.0], [np.inf, 0.0], [np.nan, 1.0], [-np.inf, -np.inf],
                  [big, big], [-3.0, -0.0]], dtype)
    for axis in (1, 0, (0, 1)):
        ref = _shift(x, axis)
        out, finite = np.empty_like(ref), np.empty(ref.shape, bool)
        shift_kernel(x, axis, out, finite)
        assert out.tobytes() == ref.tobytes()
    rows = np.full((4, 3), big, dtype)  # finite maxima at the top of the range: kept
    out = np.empty((4, 1), dtype)
    shift_kernel(rows, 1, out, np.empty((4, 1), bool))
    assert out.tobytes() == _shift(rows, 1).tobytes()


@pytest.mark.parametrize("dtype", DTYPES)
def test_variants_share_the_flat_buffers(dtype):
    # an epoch's last, smaller batch is another variant: same parameters, same flat buffers,
    # so switching copies nothing; the numbers stay eager's
    eager, comp = _adam_pair()
    if dtype == np.float64:
        for m, _, _ in (eager, comp):
            m.double()
    for n in (8, 8, 8, 5, 5, 8, 8, 5, 8):
        x, y = _batch(n, seed=n)
        losses = [step(x.to(dtype), y).detach().numpy().tobytes() for _, _, step in
                  (eager, comp)]
        assert losses[0] == losses[1]
    _same((eager, comp))
    a, b = comp[2].programs()
    assert a.flat is b.flat
    p = next(iter(comp[0].parameters()))
    assert p._data is a.view("param", p) is b.view("param", p)
    assert comp[1].state[p]["exp_avg"]._data is b.view("exp_avg", p)
