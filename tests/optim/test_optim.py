"""Optimizers: PyTorch's numbers step by step, param groups, state dicts, errors, no allocation."""

import copy
import gc
import tracemalloc
import warnings

import numpy as np
import pytest

import chainrule as cr
import chainrule.optim as optim
from chainrule.optim import SGD, Adam, AdamW, RMSprop, adam_update, rmsprop_update, sgd_update

SHAPES = [(5, 3), (4,), (), (2, 1, 3)]
# NOTE: atol is relative to the parameters' scale (about 1): an element near zero, reached by
# cancellation, carries the absolute rounding error of its larger inputs (PyTorch fuses
# multiply-adds, NumPy rounds twice; one ulp apart).
TOL = {np.float64: dict(rtol=1e-14, atol=1e-15), np.float32: dict(rtol=1e-6, atol=1e-6)}


def _params(dtype=np.float64, seed=0, shapes=SHAPES):
    rng = np.random.default_rng(seed)
    return [np.asarray(rng.standard_normal(s), dtype=dtype) for s in shapes]


def _leaves(arrays):
    return [cr.tensor(a, requires_grad=True) for a in arrays]


def _grads(rng, arrays, step, dtype):
    """Random gradients; parameter 2 gets none every third step (the optimizers skip it)."""
    return [None if (i == 2 and step % 3 == 1)
            else np.asarray(rng.standard_normal(a.shape), dtype=dtype)
            for i, a in enumerate(arrays)]


def _set_grads(params, grads, make):
    for p, g in zip(params, grads):
        p.grad = None if g is None else make(g)


# -- the oracle: torch.optim, single-tensor code path ------------------------------------------

SGD_CASES = [
    {},
    {"momentum": 0.9},
    {"momentum": 0.9, "dampening": 0.3},
    {"momentum": 0.9, "nesterov": True},
    {"weight_decay": 0.1},
    {"maximize": True},
    {"momentum": 0.8, "dampening": 0.1, "weight_decay": 0.05, "maximize": True},
    {"momentum": 0.7, "nesterov": True, "weight_decay": 0.2, "maximize": True, "lr": 0.3},
]
ADAM_CASES = [
    {},
    {"amsgrad": True},
    {"weight_decay": 0.1},
    {"maximize": True},
    {"lr": 0.05, "betas": (0.3, 0.9), "eps": 1e-3},  # beta1 < 0.5: lerp's other branch
    {"amsgrad": True, "weight_decay": 0.1, "maximize": True, "lr": 0.01},
    {"decoupled_weight_decay": True, "weight_decay": 0.3},
]
ADAMW_CASES = [
    {},
    {"weight_decay": 0.1, "amsgrad": True},
    {"maximize": True, "lr": 0.02, "betas": (0.8, 0.95)},
]
RMSPROP_CASES = [
    {},
    {"centered": True},
    {"momentum": 0.9},
    {"centered": True, "momentum": 0.5},
    {"weight_decay": 0.1},
    {"maximize": True},
    {"alpha": 0.3, "centered": True},  # 1 - alpha >= 0.5: lerp's other branch
    {"alpha": 0.9, "eps": 1e-4, "weight_decay": 0.05, "momentum": 0.3, "centered": True,
     "maximize": True, "lr": 0.001},
]
CASES = ([("SGD", k) for k in SGD_CASES] + [("Adam", k) for k in ADAM_CASES]
         + [("AdamW", k) for k in ADAMW_CASES] + [("RMSprop", k) for k in RMSPROP_CASES])


def _run_against_torch(name, kwargs, dtype, steps=20, groups=None, tol=None):
    torch = pytest.importorskip("torch")
    kwargs = dict(kwargs)
    kwargs.setdefault("lr", 0.1 if name == "SGD" else 0.01)
    init = _params(dtype)
    ours, theirs = _leaves(init), [torch.tensor(a, requires_grad=True) for a in init]
    if groups is None:
        o_opt = getattr(optim, name)(ours, **kwargs)
        t_opt = getattr(torch.optim, name)(theirs, foreach=False, **kwargs)
    else:  # groups: list of (indices, overrides)
        o_opt = getattr(optim, name)(
            [{"params": [ours[i] for i in ix], **ov} for ix, ov in groups], **kwargs)
        t_opt = getattr(torch.optim, name)(
            [{"params": [theirs[i] for i in ix], **ov} for ix, ov in groups], foreach=False,
            **kwargs)
    rng = np.random.default_rng(1)
    for step in range(steps):
        grads = _grads(rng, init, step, dtype)
        _set_grads(ours, grads, cr.tensor)
        _set_grads(theirs, grads, torch.tensor)
        o_opt.step()
        t_opt.step()
        for i, (p, q) in enumerate(zip(ours, theirs)):
            np.testing.assert_allclose(p.detach().numpy(), q.detach().numpy(),
                                       **(tol or TOL[dtype]),
                                       err_msg=f"{name}{kwargs} step {step} param {i}")
            assert p.dtype == dtype
    return o_opt, t_opt


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name,kwargs", CASES, ids=[f"{n}-{k}" for n, k in CASES])
def test_matches_torch_step_by_step(name, kwargs, dtype):
    tol = None
    if name == "RMSprop" and kwargs.get("centered") and dtype == np.float32:
        # NOTE: sqrt(E[g^2] - E[g]^2) cancels when the gradient barely varies (alpha=0.3):
        # float32 rounding is amplified there; measured, chainrule and PyTorch are each 2.2e-6
        # from the float64 result, 4.5e-6 from each other.
        tol = dict(rtol=1e-5, atol=1e-5)
    o_opt, t_opt = _run_against_torch(name, kwargs, dtype, tol=tol)
    # same state, same keys, same step counts (PyTorch keeps step as a 0-d tensor)
    o_sd, t_sd = o_opt.state_dict(), t_opt.state_dict()
    assert o_sd["state"].keys() == t_sd["state"].keys()
    for k, st in t_sd["state"].items():
        assert list(o_sd["state"][k]) == list(st)
        for key, v in st.items():
            if key == "step":
                assert o_sd["state"][k][key] == float(v)
            else:
                np.testing.assert_allclose(o_sd["state"][k][key].numpy(), v.numpy(),
                                           **(tol or TOL[dtype]))


def test_param_groups_with_their_own_hyperparameters_match_torch():
    _run_against_torch("SGD", {"momentum": 0.9}, np.float64,
                       groups=[([0, 2], {}), ([1, 3], {"lr": 0.01, "nesterov": True})])
    _run_against_torch("Adam", {}, np.float64,
                       groups=[([0], {"amsgrad": True}), ([1, 2, 3], {"betas": (0.5, 0.99)})])
    _run_against_torch("RMSprop", {"centered": True}, np.float64,
                       groups=[([3, 1], {"momentum": 0.5}), ([0, 2], {"alpha": 0.9})])


def test_load_state_dict_from_torch_continues_as_torch():
    torch = pytest.importorskip("torch")
    init = _params()
    ours, theirs = _leaves(init), [torch.tensor(a, requires_grad=True) for a in init]
    t_opt = torch.optim.Adam(theirs, lr=0.01, amsgrad=True, foreach=False)
    rng = np.random.default_rng(3)
    for step in range(5):
        _set_grads(theirs, _grads(rng, init, step, np.float64), torch.tensor)
        t_opt.step()
    for p, q in zip(ours, theirs):
        p.data = cr.tensor(q.detach().numpy().copy())
    o_opt = Adam(ours, lr=0.5)
    o_opt.load_state_dict(t_opt.state_dict())  # torch tensors, 0-d tensor steps, torch keys
    assert o_opt.param_groups[0]["lr"] == 0.01 and o_opt.param_groups[0]["amsgrad"]
    for step in range(5, 15):
        grads = _grads(rng, init, step, np.float64)
        _set_grads(ours, grads, cr.tensor)
        _set_grads(theirs, grads, torch.tensor)
        o_opt.step()
        t_opt.step()
        for p, q in zip(ours, theirs):
            np.testing.assert_allclose(p.detach().numpy(), q.detach().numpy(), **TOL[np.float64])


def test_state_dict_loads_into_torch():
    torch = pytest.importorskip("torch")
    init = _params()
    ours = _leaves(init)
    o_opt = RMSprop(ours, lr=0.01, momentum=0.5, centered=True)
    rng = np.random.default_rng(4)
    for step in range(4):
        _set_grads(ours, _grads(rng, init, step, np.float64), cr.tensor)
        o_opt.step()
    theirs = [torch.tensor(p.detach().numpy().copy(), requires_grad=True) for p in ours]
    t_opt = torch.optim.RMSprop(theirs, foreach=False)
    sd = o_opt.state_dict()
    sd = {"state": {k: {kk: (torch.tensor(v) if kk == "step" else torch.tensor(v.numpy()))
                        for kk, v in s.items()} for k, s in sd["state"].items()},
          "param_groups": sd["param_groups"]}
    t_opt.load_state_dict(sd)
    for step in range(4, 10):
        grads = _grads(rng, init, step, np.float64)
        _set_grads(ours, grads, cr.tensor)
        _set_grads(theirs, grads, torch.tensor)
        o_opt.step()
        t_opt.step()
        for p, q in zip(ours, theirs):
            np.testing.assert_allclose(p.detach().numpy(), q.detach().numpy(), **TOL[np.float64])


# -- behaviour that needs no oracle -----------------------------------------------------------


def _make(name, params, **kw):
    return {"SGD": lambda: SGD(params, lr=0.1, momentum=0.9, **kw),
            "Adam": lambda: Adam(params, lr=0.01, amsgrad=True, **kw),
            "AdamW": lambda: AdamW(params, lr=0.01, **kw),
            "RMSprop": lambda: RMSprop(params, lr=0.01, momentum=0.5, centered=True, **kw),
            }[name]()


OPTS = ["SGD", "Adam", "AdamW", "RMSprop"]


def _train(opt, params, rng, steps, first=0):
    for step in range(first, first + steps):
        _set_grads(params, _grads(rng, [p.detach().numpy() for p in params], step, np.float64),
                   cr.tensor)
        opt.step()


@pytest.mark.parametrize("name", OPTS)
def test_state_dict_round_trip_resumes_exactly(name):
    ref = _leaves(_params())
    ref_opt = _make(name, ref)
    _train(ref_opt, ref, np.random.default_rng(5), 12)

    a = _leaves(_params())
    opt_a = _make(name, a)
    rng = np.random.default_rng(5)
    _train(opt_a, a, rng, 6)
    saved = copy.deepcopy(opt_a.state_dict())
    b = [cr.tensor(p.detach().numpy(), requires_grad=True) for p in a]
    opt_b = _make(name, b)
    opt_b.param_groups[0]["lr"] = 123.0  # overwritten by the loaded hyperparameters
    opt_b.load_state_dict(saved)
    _train(opt_b, b, rng, 6, first=6)
    for p, q in zip(b, ref):
        np.testing.assert_array_equal(p.detach().numpy(), q.detach().numpy())


def test_state_dict_layout_is_pytorchs():
    w, b = cr.tensor([1.0, 2.0], requires_grad=True), cr.tensor(0.5, requires_grad=True)
    opt = Adam([{"params": [w]}, {"params": [b], "lr": 0.1}], lr=0.01)
    w.grad = cr.tensor([1.0, 1.0])
    opt.step()
    sd = opt.state_dict()
    assert set(sd) == {"state", "param_groups"}
    assert list(sd["state"]) == [0]  # b had no grad: no state
    assert sd["state"][0]["step"] == 1.0
    assert isinstance(sd["state"][0]["exp_avg"], cr.Tensor)
    assert sd["state"][0]["exp_avg"].shape == (2,)
    assert [g["params"] for g in sd["param_groups"]] == [[0], [1]]
    assert [g["lr"] for g in sd["param_groups"]] == [0.01, 0.1]
    assert sd["param_groups"][0]["betas"] == (0.9, 0.999)
    assert set(sd["param_groups"][0]) == {"params", "lr", "betas", "eps", "weight_decay",
                                          "amsgrad", "maximize", "decoupled_weight_decay"}


def test_load_state_dict_copies_and_casts():
    w = cr.tensor(np.zeros(3, np.float32), requires_grad=True)
    opt = SGD([w], lr=0.1, momentum=0.9)
    sd = {"state": {0: {"momentum_buffer": cr.tensor(np.ones(3))}},
          "param_groups": [dict(opt.state_dict()["param_groups"][0])]}
    opt.load_state_dict(sd)
    buf = opt.state[w]["momentum_buffer"]
    assert buf.dtype == np.float32
    sd["state"][0]["momentum_buffer"].numpy()[:] = 7.0
    assert buf.numpy().tolist() == [1.0, 1.0, 1.0]
    assert opt.param_groups[0]["params"][0] is w


def _saved(opt_factory):
    p = cr.tensor(np.ones((2, 3)), requires_grad=True)
    opt = opt_factory([p])
    p.grad = cr.tensor(np.ones((2, 3)))
    opt.step()
    return copy.deepcopy(opt.state_dict())


def test_load_state_dict_errors_name_the_mismatch():
    sd = _saved(lambda ps: Adam(ps, lr=0.1))
    one = [cr.tensor(np.ones((2, 3)), requires_grad=True)]
    two = [cr.tensor(np.ones((2, 3)), requires_grad=True) for _ in range(2)]
    with pytest.raises(ValueError, match="1 parameter group.*this optimizer has 2"):
        Adam([{"params": one}, {"params": two[:1]}]).load_state_dict(sd)
    with pytest.raises(ValueError, match="group 0 of the state dict has 1 parameter.*has 2"):
        Adam(two).load_state_dict(sd)
    with pytest.raises(ValueError, match=r"shape \(2, 3\).*shape \(3, 2\)"):
        Adam([cr.tensor(np.ones((3, 2)), requires_grad=True)]).load_state_dict(sd)
    with pytest.raises(ValueError, match="lacks the hyperparameter.*different optimizer"):
        RMSprop(one).load_state_dict(sd)  # Adam's groups have no alpha, ...
    sgd_sd = _saved(lambda ps: SGD(ps, lr=0.1, momentum=0.9))
    sgd_sd["param_groups"][0].update(betas=(0.9, 0.999), eps=1e-8, amsgrad=False,
                                     decoupled_weight_decay=False)
    with pytest.raises(ValueError, match="needs.*exp_avg.*does not use.*momentum_buffer"):
        Adam(one).load_state_dict(sgd_sd)
    bad = copy.deepcopy(sd)
    bad["state"][5] = bad["state"].pop(0)
    with pytest.raises(ValueError, match="parameter 5, which is in none"):
        Adam(one).load_state_dict(bad)
    with pytest.raises(ValueError, match="'state' and 'param_groups'"):
        Adam(one).load_state_dict({"state": {}})
    bad = copy.deepcopy(sd)
    bad["state"][0]["step"] = "three"
    with pytest.raises(ValueError, match="'step' of parameter 0 should be a number"):
        Adam(one).load_state_dict(bad)


def test_adamw_stays_decoupled_after_loading_adam_state():
    sd = _saved(lambda ps: Adam(ps, lr=0.1))
    opt = AdamW([cr.tensor(np.ones((2, 3)), requires_grad=True)])
    opt.load_state_dict(sd)
    assert opt.param_groups[0]["decoupled_weight_decay"] is True


def test_param_groups_take_defaults_and_add_param_group():
    w, b, c = (cr.tensor([1.0], requires_grad=True) for _ in range(3))
    opt = SGD([{"params": [w]}, {"params": b, "momentum": 0.5}], lr=0.1)
    assert opt.param_groups[0]["momentum"] == 0 and opt.param_groups[1]["momentum"] == 0.5
    assert opt.param_groups[1]["params"] == [b]
    opt.add_param_group({"params": [c], "lr": 0.01})
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.1, 0.01]
    assert opt.defaults["lr"] == 0.1
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [w]})
    with pytest.raises(ValueError, match="invalid lr"):
        opt.add_param_group({"params": [cr.tensor([1.0], requires_grad=True)], "lr": -1.0})
    with pytest.raises(ValueError, match="Nesterov"):
        opt.add_param_group({"params": [cr.tensor([1.0], requires_grad=True)],
                             "nesterov": True})
    with pytest.raises(TypeError, match="must be a dict"):
        opt.add_param_group([cr.tensor([1.0], requires_grad=True)])
    assert len(opt.param_groups) == 3
    assert "Parameter Group 2" in repr(opt) and "lr: 0.01" in repr(opt)


def test_named_parameters_are_accepted():
    w, b = cr.tensor([1.0], requires_grad=True), cr.tensor([2.0], requires_grad=True)
    opt = Adam([("w", w), ("b", b)])
    assert opt.param_groups[0]["params"] == [w, b]
    assert opt.state_dict()["param_groups"][0]["param_names"] == ["w", "b"]


def test_construction_errors():
    w = cr.tensor([1.0], requires_grad=True)
    with pytest.raises(TypeError, match="single Tensor"):
        SGD(w, lr=0.1)
    with pytest.raises(ValueError, match="empty parameter list"):
        Adam([])
    with pytest.raises(TypeError, match="not a set"):
        Adam({w})
    with pytest.raises(TypeError, match="only optimize Tensors.*ndarray"):
        Adam([np.zeros(2)])
    with pytest.raises(ValueError, match="non-leaf"):
        Adam([w * 2])
    with pytest.raises(ValueError, match="Nesterov"):
        SGD([w], momentum=0.0, nesterov=True)
    with pytest.raises(ValueError, match="invalid momentum"):
        SGD([w], momentum=-0.1)
    with pytest.raises(ValueError, match="beta parameter at index 1"):
        Adam([w], betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="betas must be a pair"):
        Adam([w], betas=0.9)
    with pytest.raises(ValueError, match="invalid eps"):
        AdamW([w], eps=-1.0)
    with pytest.raises(ValueError, match="invalid alpha"):
        RMSprop([w], alpha=-0.5)
    with pytest.warns(UserWarning, match="same parameter twice"):
        SGD([w, w], lr=0.1)


def test_defaults_are_pytorchs():
    w = cr.tensor([1.0], requires_grad=True)
    assert SGD([w]).defaults["lr"] == 1e-3
    assert Adam([w]).defaults["weight_decay"] == 0.0
    assert AdamW([w]).defaults["weight_decay"] == 1e-2
    assert AdamW([w]).defaults["decoupled_weight_decay"] is True
    assert RMSprop([w]).defaults["lr"] == 1e-2 and RMSprop([w]).defaults["alpha"] == 0.99


@pytest.mark.parametrize("name", OPTS)
def test_step_skips_missing_grads_bumps_versions_and_records_nothing(name):
    w, b = cr.tensor([1.0, 2.0], requires_grad=True), cr.tensor([3.0], requires_grad=True)
    opt = _make(name, [w, b])
    w.grad = cr.tensor([0.5, -0.5])
    v_w, v_b = w._version, b._version
    opt.step()
    assert w._version == v_w + 1 and b._version == v_b
    assert b.tolist() == [3.0] and b not in opt.state
    assert w.is_leaf and w.requires_grad and w.grad_fn is None
    assert w.tolist() != [1.0, 2.0]


def test_update_is_seen_by_the_version_check():
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    y = (w * w).sum()  # saves w for its vjp
    y.backward(retain_graph=True)
    SGD([w], lr=0.1).step()
    with pytest.raises(Exception, match="(?i)modified|version|in-place|inplace"):
        y.backward()


def test_zero_grad():
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    opt = SGD([w], lr=0.1)
    (w * w).sum().backward()
    g = w.grad
    v = g._version
    opt.zero_grad(set_to_none=False)
    assert w.grad is g and g.tolist() == [0.0, 0.0] and g._version == v + 1
    opt.zero_grad()
    assert w.grad is None
    opt.zero_grad()  # no grads: nothing to do


def test_closure_is_evaluated_with_grad_enabled_and_its_loss_returned():
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    opt = SGD([w], lr=0.25)

    def closure():
        opt.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        return loss

    with cr.no_grad():
        loss = opt.step(closure)
    assert loss.item() == 5.0
    assert w.tolist() == [0.5, 1.0]


def test_momentum_and_centering_switched_on_later():
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    opt = RMSprop([w], lr=0.01)
    w.grad = cr.tensor([1.0, 1.0])
    opt.step()
    opt.param_groups[0].update(momentum=0.9, centered=True)
    opt.step()
    assert set(opt.state[w]) == {"step", "square_avg", "momentum_buffer", "grad_avg"}
    a = Adam([w])
    a.step()
    a.param_groups[0]["amsgrad"] = True
    a.step()
    assert a.state[w]["step"] == 2.0 and "max_exp_avg_sq" in a.state[w]


def test_float32_parameters_keep_float32_state():
    w = cr.tensor(np.ones(3, np.float32), requires_grad=True)
    opt = Adam([w], lr=0.1)
    w.grad = cr.tensor(np.ones(3, np.float32))
    opt.step()
    assert w.dtype == np.float32
    assert opt.state[w]["exp_avg"].dtype == np.float32


@pytest.mark.parametrize("name", OPTS)
def test_steps_allocate_no_parameter_sized_memory(name):
    params = _leaves(_params(shapes=[(300, 200), (200,)]))  # 480 KB of weights
    for p in params:
        p.grad = cr.tensor(np.ones(p.shape))
    opt = _make(name, params, maximize=True, weight_decay=0.01)
    opt.step()
    opt.step()  # state and work buffers exist from now on
    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        for _ in range(5):
            opt.step()
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    assert peak < 20_000, f"{name}.step allocated {peak} bytes"


def test_update_functions_work_without_scratch():
    p, g = np.array([1.0, 2.0]), np.array([0.5, 0.5])
    buf = sgd_update(p, g, None, lr=0.1, momentum=0.9, nesterov=True)
    np.testing.assert_allclose(p, [1.0 - 0.1 * 0.95, 2.0 - 0.1 * 0.95])
    assert buf.tolist() == [0.5, 0.5]
    assert sgd_update(p, g, None, lr=0.1) is None
    with pytest.raises(ValueError, match="max_exp_avg_sq"):
        adam_update(p, g, np.zeros(2), np.zeros(2), None, 1, lr=0.1, beta1=0.9, beta2=0.9,
                    eps=1e-8, amsgrad=True)
    with pytest.raises(ValueError, match="momentum_buffer"):
        rmsprop_update(p, g, np.zeros(2), None, None, lr=0.1, alpha=0.9, eps=1e-8, momentum=0.5)


def test_a_custom_optimizer_subclass():
    class SignSGD(optim.Optimizer):
        def __init__(self, params, lr=0.1):
            super().__init__(params, {"lr": lr})

        def _update_group(self, group):
            for p in group["params"]:
                if p.grad is not None:
                    p._data -= group["lr"] * np.sign(p.grad._data)
                    p._vc[0] += 1

    w = cr.tensor([1.0, -1.0], dtype=cr.float64, requires_grad=True)
    opt = SignSGD([w])
    w.grad = cr.tensor([3.0, -0.1], dtype=cr.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        opt.step()
    assert w.tolist() == [0.9, -0.9]


def test_a_grad_of_the_wrong_shape_is_named():
    w = cr.tensor(np.ones((2, 3)), requires_grad=True)
    w.grad = cr.tensor(np.ones(3))
    for opt in (SGD([w], lr=0.1), Adam([w]), RMSprop([w])):
        with pytest.raises(ValueError, match=r"shape \(2, 3\) has a gradient of shape \(3,\)"):
            opt.step()


@pytest.mark.parametrize("name", OPTS)
def test_state_buffers_changed_in_place_get_new_versions(name):
    w = cr.tensor(np.ones(3), requires_grad=True)
    opt = _make(name, [w])
    w.grad = cr.tensor(np.ones(3))
    opt.step()
    bufs = {k: v for k, v in opt.state[w].items() if isinstance(v, cr.Tensor)}
    before = {k: v._version for k, v in bufs.items()}
    opt.step()
    assert all(bufs[k]._version > before[k] for k in bufs)
    assert all(opt.state[w][k] is bufs[k] for k in bufs)  # updated in place, not replaced


def test_loaded_groups_are_validated_and_normalised():
    sd = _saved(lambda ps: Adam(ps, lr=0.1))
    sd["param_groups"][0]["betas"] = [0.8, 0.9]  # as it comes back from JSON
    opt = Adam([cr.tensor(np.ones((2, 3)), requires_grad=True)])
    opt.load_state_dict(sd)
    assert opt.param_groups[0]["betas"] == (0.8, 0.9)
    sd["param_groups"][0]["lr"] = -1.0
    with pytest.raises(ValueError, match="invalid lr"):
        opt.load_state_dict(sd)
