"""cr.compile: captured training steps replay bit for bit what eager mode computes."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn as nn
import chainrule.nn.functional as F


def _model(kind: str) -> tuple[nn.Module, tuple[int, ...]]:
    if kind == "mlp":
        return nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10)), (16, 64)
    if kind == "mlp_sigmoid":
        return nn.Sequential(nn.Linear(64, 32), nn.Sigmoid(), nn.Linear(32, 10)), (16, 64)
    if kind == "cnn":
        return nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                             nn.Conv2d(8, 8, 3, padding=1), nn.ReLU(), nn.Flatten(),
                             nn.Linear(8 * 16, 32), nn.Tanh(), nn.Linear(32, 10)), (16, 1, 8, 8)
    raise ValueError(kind)


def _optimizer(name: str, params: list) -> cr.optim.Optimizer:
    if name == "adam":
        return cr.optim.Adam(params, lr=1e-2)
    if name == "adamw":
        return cr.optim.AdamW(params, lr=1e-2, weight_decay=0.1)
    if name == "sgd_momentum":
        return cr.optim.SGD(params, lr=0.1, momentum=0.9)
    return cr.optim.SGD(params, lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-3)


def _train(kind: str, opt_name: str, compiled: bool, steps: int = 6, sched: bool = False):
    cr.manual_seed(0)
    model, shape = _model(kind)
    opt = _optimizer(opt_name, list(model.parameters()))
    scheduler = cr.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5) if sched else None

    def step(x, y):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        if scheduler is not None:
            scheduler.step()
        return loss

    fn = cr.compile(step) if compiled else step
    rng = np.random.default_rng(1)
    losses = []
    for _ in range(steps):
        x = cr.tensor(rng.standard_normal(shape).astype(np.float32))
        y = cr.tensor(rng.integers(0, 10, shape[0]))
        losses.append(fn(x, y).detach().numpy().copy())
    state = [p.detach().numpy().copy() for p in model.parameters()]
    state += [p.grad.numpy().copy() for p in model.parameters()]
    for st in opt.state.values():
        state += [v.detach().numpy().copy() for v in st.values() if isinstance(v, cr.Tensor)]
    return losses, state, fn, opt


def _assert_same(a, b):
    for u, v in zip(a[0], b[0]):
        assert u.tobytes() == v.tobytes()
    assert len(a[1]) == len(b[1])
    for u, v in zip(a[1], b[1]):
        assert u.dtype == v.dtype and np.array_equal(u, v), np.abs(u - v).max()


@pytest.mark.parametrize("kind,opt", [("mlp", "adam"), ("mlp", "sgd_momentum"),
                                      ("mlp_sigmoid", "adamw"), ("mlp", "nesterov"),
                                      ("cnn", "adam"), ("cnn", "sgd_momentum")])
def test_replay_equals_eager_bit_for_bit(kind, opt):
    eager = _train(kind, opt, False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no fallback to eager, no warning
        comp = _train(kind, opt, True)
    assert len(comp[2].programs()) == 1  # captured, and replayed from the third step on
    _assert_same(eager, comp)


def test_scheduler_steps_are_replayed():
    eager = _train("mlp", "adam", False, steps=7, sched=True)
    comp = _train("mlp", "adam", True, steps=7, sched=True)
    _assert_same(eager, comp)
    assert comp[3].param_groups[0]["lr"] == eager[3].param_groups[0]["lr"] == 1e-2 * 0.5 ** 3


def _tutorial(compiled: bool, epochs: int = 8):
    rng = np.random.RandomState(0)
    X, Y = rng.rand(100, 64), np.eye(10)[rng.randint(0, 10, 100)]
    W1 = cr.tensor(rng.randn(64, 16), requires_grad=True)
    W2 = cr.tensor(rng.randn(16, 10), requires_grad=True)
    b1, b2 = cr.zeros(1, 16, dtype=cr.float64), cr.zeros(1, 10, dtype=cr.float64)
    Xt, Yt = cr.tensor(X), cr.tensor(Y)

    def epoch():
        nonlocal W1, W2  # W -= ... rebinds the names (to the same tensors)
        a1 = cr.sigmoid(Xt @ W1 + b1)
        output = cr.sigmoid(a1 @ W2 + b2)
        err = 0.5 * (output - Yt) ** 2
        err.sum().backward()
        with cr.no_grad():
            W2 -= 0.01 * W2.grad
            W1 -= 0.01 * W1.grad
        W1.grad = W2.grad = None
        return err.mean()

    fn = cr.compile(epoch) if compiled else epoch
    losses = [fn().item() for _ in range(epochs)]
    return losses, W1.detach().numpy().copy(), W2.detach().numpy().copy(), W1.grad, fn


def test_tutorial_loop_with_inplace_updates():
    a, b = _tutorial(False), _tutorial(True)
    assert a[0] == b[0]
    assert np.array_equal(a[1], b[1]) and np.array_equal(a[2], b[2])
    assert b[3] is None  # W1.grad = None at the end of each call is replayed
    assert len(b[4].programs()) == 1


# -- guards ----------------------------------------------------------------------------------


def _mlp_step():
    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    opt = cr.optim.SGD(model.parameters(), lr=0.1)

    @cr.compile
    def step(x, y):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss

    return model, opt, step


def _batch(n, seed=0):
    rng = np.random.default_rng(seed)
    return (cr.tensor(rng.standard_normal((n, 4)).astype(np.float32)),
            cr.tensor(rng.integers(0, 3, n)))


def test_new_shape_is_a_new_variant_and_old_one_is_kept():
    model, opt, step = _mlp_step()
    for n in (8, 8, 8, 5, 5, 5, 8):
        step(*_batch(n))
    assert len(step.programs()) == 2


def test_parameter_changed_outside_is_seen():
    model, opt, step = _mlp_step()
    x, y = _batch(8)
    for _ in range(3):
        step(x, y)
    w = model[0].weight
    with cr.no_grad():
        w.data.copy_(cr.zeros(8, 4))  # in place: lands in the flat buffer
    model[2].bias.data = cr.ones(3)  # a new array: copied in at the next replay
    ref_model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    ref_model.load_state_dict(model.state_dict())
    ref_opt = cr.optim.SGD(ref_model.parameters(), lr=0.1)
    ref_opt.zero_grad()
    F.cross_entropy(ref_model(x), y).backward()
    ref_opt.step()
    step(x, y)
    for p, q in zip(model.parameters(), ref_model.parameters()):
        assert np.array_equal(p.detach().numpy(), q.detach().numpy())


def test_load_state_dict_is_seen():
    model, opt, step = _mlp_step()
    x, y = _batch(8)
    saved = {k: v.clone() for k, v in model.state_dict().items()}
    first = step(x, y).item()
    for _ in range(3):
        step(x, y)
    model.load_state_dict(saved)
    assert step(x, y).item() == first


def test_eval_mode_is_a_guard():
    model, opt, step = _mlp_step()
    x, y = _batch(8)
    for _ in range(3):
        step(x, y)
    model.eval()
    for _ in range(3):
        step(x, y)
    assert len(step._variants) == 2


def test_cache_limit_warns_naming_what_changes():
    model = nn.Linear(4, 2)

    @cr.compile(options={"cache_size_limit": 2})
    def f(x):
        with cr.no_grad():
            return model(x)

    for n in (1, 1, 2, 2):
        f(cr.ones(n, 4))
    with pytest.warns(UserWarning, match=r"argument 0: shape \(2, 4\) -> \(3, 4\)"):
        f(cr.ones(3, 4))


# -- graph breaks ------------------------------------------------------------------------------


def test_item_is_a_graph_break_naming_the_line():
    model = nn.Linear(4, 1)

    def f(x):
        y = model(x).sum()
        if y.item() > 0:  # the break
            return y * 2
        return y

    g = cr.compile(f)
    with pytest.warns(UserWarning, match=r"test_compile.py:\d+: if y.item\(\) > 0"):
        g(cr.ones(2, 4))
    for _ in range(3):  # eager from now on, the same results
        assert g(cr.ones(2, 4)).item() == f(cr.ones(2, 4)).item()


def test_fullgraph_raises_naming_the_line():
    @cr.compile(fullgraph=True)
    def f(x):
        return float(x.sum())

    with pytest.raises(cr.compile.GraphBreakError, match=r"float\(\) of a tensor .*return float"):
        f(cr.ones(2))


def test_numpy_random_numbers_fall_back_to_eager_with_a_reason():
    model = nn.Linear(4, 4)
    rng = np.random.default_rng(0)

    @cr.compile
    def f(x):
        with cr.no_grad():
            return model(x) * cr.tensor(rng.random((8, 4), dtype=np.float32))

    with pytest.warns(UserWarning, match="runs eagerly: .*other values on the second call"):
        for _ in range(3):
            f(cr.ones(8, 4))


def test_batch_norm_and_dropout_in_training_are_replayed():
    # running statistics and num_batches_tracked updated in place, dropout masks drawn again
    def run(compiled):
        cr.manual_seed(0)
        model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                              nn.Flatten(), nn.Dropout(0.25), nn.Linear(64, 10))
        opt = cr.optim.Adam(model.parameters(), lr=1e-2)

        def step(x, y):
            loss = F.cross_entropy(model(x), y, label_smoothing=0.1)
            opt.zero_grad()
            loss.backward()
            opt.step()
            return loss

        f = cr.compile(step) if compiled else step
        rng = np.random.default_rng(0)
        losses = [f(cr.tensor(rng.standard_normal((8, 1, 4, 4)).astype(np.float32)),
                    cr.tensor(rng.integers(0, 10, 8))).item() for _ in range(6)]
        return losses, [t.detach().numpy().copy() for t in model.state_dict().values()], f

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        a, b = run(False), run(True)
    assert a[0] == b[0] and all(np.array_equal(u, v) for u, v in zip(a[1], b[1]))
    assert len(b[2].programs()) == 1


def test_momentum_none_batch_norm_falls_back_to_eager():
    # a cumulative average reads num_batches_tracked into Python: not capturable
    model = nn.BatchNorm1d(3, momentum=None)

    @cr.compile
    def f(x):
        with cr.no_grad():
            return model(x)

    with pytest.warns(UserWarning, match="runs eagerly: argument 3 of _update_running"):
        for _ in range(3):
            f(cr.randn(4, 3))


# -- the API -------------------------------------------------------------------------------------


def test_arguments_as_torch_compile():
    f = lambda x: x + 1  # noqa: E731
    with pytest.raises(TypeError, match="unexpected keyword argument 'foo'"):
        cr.compile(f, foo=1)
    with pytest.raises(RuntimeError, match="unrecognized mode"):
        cr.compile(f, mode="fast")
    with pytest.raises(RuntimeError, match="either mode or options"):
        cr.compile(f, mode="default", options={})
    with pytest.raises(ValueError, match="unknown backend"):
        cr.compile(f, backend="tvm")
    with pytest.raises(ValueError, match="unknown option"):
        cr.compile(f, options={"triton.cudagraphs": True})
    assert cr.compile(f, disable=True) is f
    g = cr.compile(f, backend="eager", dynamic=True, mode="reduce-overhead")
    assert g(cr.ones(2)).tolist() == [2.0, 2.0]


def test_inference_function_replays():
    model = nn.Linear(3, 2)

    @cr.compile()
    def predict(x):
        with cr.no_grad():
            return F.softmax(model(x), dim=1), "label"

    x = cr.randn(4, 3)
    outs = [predict(x) for _ in range(3)]
    assert outs[2][1] == "label"
    assert np.array_equal(outs[2][0].detach().numpy(), outs[0][0].detach().numpy())
    assert len(predict.programs()) == 1


def test_output_with_graph_is_not_captured():
    model = nn.Linear(3, 1)
    f = cr.compile(lambda x: model(x))
    with pytest.warns(UserWarning, match="output 0 requires grad"):
        for _ in range(2):
            f(cr.ones(2, 3))


def test_print_program(capsys):
    model, opt, step = _mlp_step()
    step.print_program()
    assert "nothing captured yet" in capsys.readouterr().out
    x, y = _batch(8)
    for _ in range(3):
        step(x, y)
    step.print_program()
    out = capsys.readouterr().out
    for word in ("forward", "backward", "update", "matmul", "buffers", "SGD"):
        assert word in out


def test_label_smoothing_onecycle_and_logits_as_the_cli_trains():
    def run(compiled):
        cr.manual_seed(0)
        model = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))
        opt = cr.optim.Adam(model.parameters(), lr=1e-2)
        sched = cr.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.01, total_steps=20)
        loss_fn = nn.CrossEntropyLoss(label_smoothing=0.1)

        def step(x, y):
            logits = model(x)
            loss = loss_fn(logits, y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            return loss, logits

        f = cr.compile(step) if compiled else step
        rng = np.random.default_rng(0)
        outs = []
        for _ in range(8):
            loss, logits = f(cr.tensor(rng.standard_normal((16, 64)).astype(np.float32)),
                             cr.tensor(rng.integers(0, 10, 16)))
            outs += [loss.detach().numpy().copy(), logits.detach().numpy().copy()]
        return outs + [p.detach().numpy().copy() for p in model.parameters()], f

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        (a, _), (b, f) = run(False), run(True)
    assert len(f.programs()) == 1
    assert all(np.array_equal(u, v) for u, v in zip(a, b))


def test_attention_and_layer_norm_are_captured_through_their_vjps():
    # softmax and layer norm compute their vjps on arrays: replayed as one call each
    def run(compiled):
        cr.manual_seed(0)
        att = nn.MultiheadAttention(16, 2, batch_first=True)
        norm, head = nn.LayerNorm(16), nn.Linear(16, 4)
        params = [*att.parameters(), *norm.parameters(), *head.parameters()]
        opt = cr.optim.Adam(params, lr=1e-2)

        def step(x, y):
            h, _ = att(x, x, x)
            loss = F.cross_entropy(head(norm(h).mean(1)), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            return loss

        f = cr.compile(step) if compiled else step
        rng = np.random.default_rng(0)
        losses = [f(cr.tensor(rng.standard_normal((8, 5, 16)).astype(np.float32)),
                    cr.tensor(rng.integers(0, 4, 8))).item() for _ in range(5)]
        return losses, [p.detach().numpy().copy() for p in params], f

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        a, b = run(False), run(True)
    assert a[0] == b[0] and all(np.array_equal(u, v) for u, v in zip(a[1], b[1]))
    assert len(b[2].programs()) == 1


def test_bad_labels_at_replay_get_eager_modes_error():
    model, opt, step = _mlp_step()
    x, y = _batch(8)
    for _ in range(3):
        step(x, y)
    before = [p.detach().numpy().copy() for p in model.parameters()]
    with pytest.raises(IndexError, match="cross_entropy"):
        step(x, cr.tensor([0, 1, 2, 7, 0, 1, 2, 0]))
    assert all(np.array_equal(a, p.detach().numpy()) for a, p in zip(before, model.parameters()))
