"""Learning-rate schedulers: PyTorch's numbers for 50 steps, closed forms, state, warnings."""

import math
import warnings

import numpy as np
import pytest

import chainrule as cr
import chainrule.optim as optim
from chainrule.optim import lr_scheduler as S

LRS = (0.1, 0.025)  # two parameter groups with different base learning rates


def _opt(lib, name="SGD", **kw):
    """An optimizer with two groups over one-element parameters, from chainrule or torch."""
    if lib is cr:
        ps = [cr.tensor([1.0], requires_grad=True) for _ in LRS]
        mod = optim
    else:
        ps = [lib.tensor([1.0], requires_grad=True) for _ in LRS]
        mod = lib.optim
    kw = dict(kw)
    if name == "SGD":
        kw.setdefault("momentum", 0.9)
    return getattr(mod, name)([{"params": [p], "lr": lr} for p, lr in zip(ps, LRS)], **kw)


CASES = [
    ("StepLR", {"step_size": 7, "gamma": 0.5}),
    ("StepLR", {"step_size": 1}),
    ("MultiStepLR", {"milestones": [5, 12, 12, 30], "gamma": 0.3}),
    ("ExponentialLR", {"gamma": 0.93}),
    ("CosineAnnealingLR", {"T_max": 50}),
    ("CosineAnnealingLR", {"T_max": 12, "eta_min": 0.001}),  # past T_max: back up the cosine
    ("LinearLR", {}),
    ("LinearLR", {"start_factor": 0.2, "end_factor": 0.9, "total_iters": 15}),
    ("LinearLR", {"start_factor": 1.0, "end_factor": 0.0, "total_iters": 40}),
    ("OneCycleLR", {"max_lr": 0.5, "total_steps": 50}),
    ("OneCycleLR", {"max_lr": [0.5, 0.2], "total_steps": 50, "anneal_strategy": "linear"}),
    ("OneCycleLR", {"max_lr": 0.3, "epochs": 5, "steps_per_epoch": 10, "three_phase": True,
                    "pct_start": 0.25, "div_factor": 10.0, "final_div_factor": 100.0}),
    ("OneCycleLR", {"max_lr": 0.3, "total_steps": 50, "three_phase": True,
                    "anneal_strategy": "linear", "base_momentum": [0.8, 0.7],
                    "max_momentum": 0.99}),
    ("OneCycleLR", {"max_lr": 0.3, "total_steps": 50, "cycle_momentum": False,
                    "pct_start": 0.5}),
]


def _trace(lib, sched_name, kwargs, opt_name="SGD", steps=50):
    opt = _opt(lib, opt_name)
    mod = S if lib is cr else lib.optim.lr_scheduler
    sched = getattr(mod, sched_name)(opt, **kwargs)
    rows = []
    for _ in range(steps + 1):
        rows.append((list(sched.get_last_lr()),
                     [g.get("momentum") for g in opt.param_groups],
                     [g.get("betas") for g in opt.param_groups]))
        opt.step()
        if len(rows) <= steps:
            sched.step()
    return rows


@pytest.mark.parametrize("opt_name", ["SGD", "Adam"])
@pytest.mark.parametrize("name,kwargs", CASES, ids=[f"{n}-{k}" for n, k in CASES])
def test_matches_torch_for_50_steps(name, kwargs, opt_name):
    torch = pytest.importorskip("torch")
    ours, theirs = _trace(cr, name, kwargs, opt_name), _trace(torch, name, kwargs, opt_name)
    for step, (o, t) in enumerate(zip(ours, theirs)):
        # same formulas evaluated in the same order: the same floats, not just close ones
        assert o == t, f"{name}{kwargs} with {opt_name}, step {step}: {o} != {t}"


def test_chained_schedulers_match_torch():
    torch = pytest.importorskip("torch")
    traces = []
    for lib, mod in ((cr, S), (torch, torch.optim.lr_scheduler)):
        opt = _opt(lib)
        a = mod.LinearLR(opt, start_factor=0.1, total_iters=10)
        b = mod.CosineAnnealingLR(opt, T_max=30)
        lrs = []
        for _ in range(50):
            opt.step()
            a.step()
            b.step()
            lrs.append(b.get_last_lr())
        traces.append(lrs)
    assert traces[0] == traces[1]


def test_state_dict_matches_torchs_keys():
    torch = pytest.importorskip("torch")
    for name, kwargs in CASES:
        o = getattr(S, name)(_opt(cr), **kwargs).state_dict()
        t = getattr(torch.optim.lr_scheduler, name)(_opt(torch), **kwargs).state_dict()
        assert set(o) == set(t), name
        assert o["base_lrs"] == t["base_lrs"] and o["last_epoch"] == t["last_epoch"]


# -- no oracle needed ----------------------------------------------------------------------------


def _run(sched, opt, steps):
    lrs = [sched.get_last_lr()]
    for _ in range(steps):
        opt.step()
        sched.step()
        lrs.append(sched.get_last_lr())
    return lrs


CLOSED_FORMS = [
    ("StepLR", {"step_size": 7, "gamma": 0.5},
     lambda b, e: b * 0.5 ** (e // 7)),
    ("MultiStepLR", {"milestones": [5, 12, 12, 30], "gamma": 0.3},
     lambda b, e: b * 0.3 ** sum(m <= e for m in [5, 12, 12, 30])),
    ("ExponentialLR", {"gamma": 0.93}, lambda b, e: b * 0.93 ** e),
    ("CosineAnnealingLR", {"T_max": 12, "eta_min": 0.001},
     lambda b, e: 0.001 + (b - 0.001) * (1 + math.cos(math.pi * e / 12)) / 2),
    ("LinearLR", {"start_factor": 0.2, "end_factor": 0.9, "total_iters": 15},
     lambda b, e: b * (0.2 + 0.7 * min(e, 15) / 15)),
]


@pytest.mark.parametrize("name,kwargs,formula", CLOSED_FORMS, ids=[c[0] for c in CLOSED_FORMS])
def test_recursive_updates_follow_the_closed_form(name, kwargs, formula):
    opt = _opt(cr)
    lrs = _run(getattr(S, name)(opt, **kwargs), opt, 50)
    for e, row in enumerate(lrs):
        for b, lr in zip(LRS, row):
            assert lr == pytest.approx(formula(b, e), rel=1e-12, abs=1e-15), (name, e)


@pytest.mark.parametrize("name,kwargs,formula", CLOSED_FORMS, ids=[c[0] for c in CLOSED_FORMS])
def test_step_with_an_epoch_jumps_with_the_closed_form(name, kwargs, formula):
    opt = _opt(cr)
    sched = getattr(S, name)(opt, **kwargs)
    opt.step()
    with pytest.warns(UserWarning, match="deprecated"):
        sched.step(23)
    assert sched.last_epoch == 23
    for b, lr in zip(LRS, sched.get_last_lr()):
        assert lr == pytest.approx(formula(b, 23), rel=1e-14)


def test_one_cycle_shape():
    opt = _opt(cr)
    sched = S.OneCycleLR(opt, max_lr=1.0, total_steps=100, pct_start=0.25, div_factor=20.0,
                         final_div_factor=50.0)
    g = opt.param_groups[0]
    assert (g["initial_lr"], g["max_lr"], g["min_lr"]) == (0.05, 1.0, 0.001)
    assert g["momentum"] == 0.95
    lrs, moms = [sched.get_last_lr()[0]], [g["momentum"]]
    for _ in range(99):
        opt.step()
        sched.step()
        lrs.append(sched.get_last_lr()[0])
        moms.append(g["momentum"])
    assert lrs[0] == pytest.approx(0.05) and moms[0] == pytest.approx(0.95)
    assert max(lrs) == lrs[24] == 1.0 and min(moms) == moms[24] == 0.85
    assert all(a < b for a, b in zip(lrs[:24], lrs[1:25]))
    assert all(a > b for a, b in zip(lrs[24:], lrs[25:]))
    assert lrs[-1] == pytest.approx(0.001) and moms[-1] == pytest.approx(0.95)


def test_one_cycle_three_phase_returns_to_initial_then_to_min():
    opt = _opt(cr, "Adam")
    sched = S.OneCycleLR(opt, max_lr=1.0, total_steps=100, three_phase=True)
    lrs = [row[0] for row in _run(sched, opt, 99)]
    assert lrs[29] == 1.0 and lrs[58] == pytest.approx(0.04) and lrs[-1] == pytest.approx(4e-6)
    assert opt.param_groups[0]["betas"] == (0.95, 0.999)


def test_one_cycle_errors():
    opt = _opt(cr)
    with pytest.raises(ValueError, match="total_steps, or both epochs and steps_per_epoch"):
        S.OneCycleLR(opt, max_lr=1.0)
    with pytest.raises(ValueError, match="positive integer total_steps"):
        S.OneCycleLR(opt, max_lr=1.0, total_steps=0)
    with pytest.raises(ValueError, match="pct_start"):
        S.OneCycleLR(opt, max_lr=1.0, total_steps=10, pct_start=2.0)
    with pytest.raises(ValueError, match="anneal_strategy"):
        S.OneCycleLR(opt, max_lr=1.0, total_steps=10, anneal_strategy="cosine")
    with pytest.raises(ValueError, match="one value per parameter group"):
        S.OneCycleLR(opt, max_lr=[1.0], total_steps=10)
    sched = S.OneCycleLR(_opt(cr), max_lr=1.0, total_steps=3)
    for _ in range(3):
        sched.optimizer.step()
        sched.step()
    with pytest.raises(ValueError, match="tried to step 4 times.*total_steps=3"):
        sched.step()

    class Plain(optim.Optimizer):
        def __init__(self, params):
            super().__init__(params, {"lr": 0.1})

        def _update_group(self, group):
            pass

    plain = Plain([cr.tensor([1.0], requires_grad=True)])
    with pytest.raises(ValueError, match="no momentum or betas.*cycle_momentum=False"):
        S.OneCycleLR(plain, max_lr=1.0, total_steps=10)
    S.OneCycleLR(plain, max_lr=1.0, total_steps=10, cycle_momentum=False)


def test_scheduler_errors():
    with pytest.raises(TypeError, match="is not an Optimizer"):
        S.StepLR(object(), step_size=1)
    fresh = _opt(cr)
    with pytest.raises(KeyError, match="initial_lr"):
        S.ExponentialLR(fresh, gamma=0.9, last_epoch=3)
    with pytest.raises(ValueError, match="step_size"):
        S.StepLR(fresh, step_size=0)
    with pytest.raises(ValueError, match="start_factor"):
        S.LinearLR(fresh, start_factor=0.0)
    with pytest.raises(ValueError, match="T_max"):
        S.CosineAnnealingLR(fresh, T_max=0)
    sched = S.StepLR(fresh, step_size=2)
    with pytest.raises(ValueError, match="last_epoch"):
        sched.load_state_dict({"lr": 1})
    with pytest.raises(ValueError, match="3 base learning rates.*2 groups"):
        sched.load_state_dict({"last_epoch": 3, "base_lrs": [0.1, 0.2, 0.3]})


@pytest.mark.parametrize("name,kwargs", CASES, ids=[f"{n}-{k}" for n, k in CASES])
def test_state_dict_round_trip_resumes_the_schedule(name, kwargs):
    ref_opt = _opt(cr)
    ref = _run(getattr(S, name)(ref_opt, **kwargs), ref_opt, 40)

    opt = _opt(cr)
    sched = getattr(S, name)(opt, **kwargs)
    _run(sched, opt, 17)
    saved_opt, saved_sched = opt.state_dict(), sched.state_dict()
    assert "optimizer" not in saved_sched

    opt2 = _opt(cr)
    sched2 = getattr(S, name)(opt2, **kwargs)  # construct first, then load both (as PyTorch)
    opt2.load_state_dict(saved_opt)
    sched2.load_state_dict(saved_sched)
    assert _run(sched2, opt2, 23) == ref[17:]


def test_resume_with_last_epoch():
    opt = _opt(cr)
    sched = S.ExponentialLR(opt, gamma=0.5)
    _run(sched, opt, 3)
    resumed = S.ExponentialLR(opt, gamma=0.5, last_epoch=3)  # must not decay a fourth time
    assert resumed.get_last_lr() == [0.1 * 0.5 ** 3, 0.025 * 0.5 ** 3]


def test_warnings_about_call_order_and_get_lr():
    opt = _opt(cr)
    sched = S.StepLR(opt, step_size=1)
    with pytest.warns(UserWarning, match="before optimizer.step"):
        sched.step()
    opt = _opt(cr)
    sched = S.StepLR(opt, step_size=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        opt.step()
        sched.step()
        sched.step()
    with pytest.warns(UserWarning, match="get_last_lr"):
        sched.get_lr()


def test_custom_optimizer_overriding_step_counts_as_stepped():
    class Manual(optim.Optimizer):
        def __init__(self, params):
            super().__init__(params, {"lr": 1.0})

        def step(self, closure=None):
            return None

    opt = Manual([cr.tensor([1.0], requires_grad=True)])
    sched = S.ExponentialLR(opt, gamma=0.5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        opt.step()
        sched.step()
    assert opt.param_groups[0]["lr"] == 0.5


def test_lr_is_what_the_optimizer_uses():
    w = cr.tensor(np.array([1.0]), requires_grad=True)
    opt = optim.SGD([w], lr=1.0)
    sched = S.StepLR(opt, step_size=1, gamma=0.5)
    for expected in (0.0, -0.5, -0.75):
        w.grad = cr.tensor(np.array([1.0]))
        opt.step()
        sched.step()
        assert w.item() == expected
