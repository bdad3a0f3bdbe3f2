"""Adagrad, Adadelta and LBFGS against torch.optim in float64: the same parameters after
several steps (LBFGS with and without the strong-Wolfe line search)."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

torch = pytest.importorskip("torch")


def _models(seed=0):
    torch.manual_seed(seed)
    tm = torch.nn.Sequential(torch.nn.Linear(4, 6), torch.nn.Tanh(),
                             torch.nn.Linear(6, 2)).double()
    cm = nn.Sequential(nn.Linear(4, 6), nn.Tanh(), nn.Linear(6, 2)).to(cr.float64)
    cm.load_state_dict({k: cr.tensor(v.numpy()) for k, v in tm.state_dict().items()})
    rng = np.random.default_rng(seed)
    x, y = rng.standard_normal((16, 4)), rng.standard_normal((16, 2))
    return tm, cm, (torch.tensor(x), torch.tensor(y)), (cr.tensor(x), cr.tensor(y))


def _same_params(cm, tm, tol=1e-10):
    for (name, p), q in zip(cm.named_parameters(), tm.parameters()):
        np.testing.assert_allclose(p.detach().numpy(), q.detach().numpy(), rtol=tol, atol=tol,
                                   err_msg=name)


def _run(opt_c, opt_t, cm, tm, cdata, tdata, steps, closure_style=False):
    losses = []
    for _ in range(steps):
        def tclosure():
            opt_t.zero_grad()
            loss = ((tm(tdata[0]) - tdata[1]) ** 2).mean()
            loss.backward()
            return loss

        def cclosure():
            opt_c.zero_grad()
            loss = ((cm(cdata[0]) - cdata[1]) ** 2).mean()
            loss.backward()
            return loss

        if closure_style:
            lt, lc = opt_t.step(tclosure), opt_c.step(cclosure)
        else:
            lt, lc = tclosure(), cclosure()
            opt_t.step()
            opt_c.step()
        losses.append((float(lc), float(lt)))
    for lc, lt in losses:
        assert abs(lc - lt) <= 1e-10 * max(1.0, abs(lt))
    return losses


@pytest.mark.parametrize("kw", [{}, dict(lr=0.1, lr_decay=0.01, weight_decay=0.1,
                                         initial_accumulator_value=0.5, eps=1e-8),
                                dict(maximize=True)])
def test_adagrad_matches_torch(kw):
    tm, cm, td, cd = _models()
    _run(cr.optim.Adagrad(cm.parameters(), **kw), torch.optim.Adagrad(tm.parameters(), **kw),
         cm, tm, cd, td, 6)
    _same_params(cm, tm)


@pytest.mark.parametrize("kw", [{}, dict(lr=0.5, rho=0.8, eps=1e-5, weight_decay=0.05),
                                dict(maximize=True)])
def test_adadelta_matches_torch(kw):
    tm, cm, td, cd = _models(1)
    _run(cr.optim.Adadelta(cm.parameters(), **kw), torch.optim.Adadelta(tm.parameters(), **kw),
         cm, tm, cd, td, 6)
    _same_params(cm, tm)


@pytest.mark.parametrize("kw", [dict(lr=0.5), dict(line_search_fn="strong_wolfe"),
                                dict(lr=1, max_iter=5, history_size=3,
                                     line_search_fn="strong_wolfe")])
def test_lbfgs_matches_torch(kw):
    tm, cm, td, cd = _models(2)
    opt_c, opt_t = cr.optim.LBFGS(cm.parameters(), **kw), torch.optim.LBFGS(tm.parameters(),
                                                                           **kw)
    _run(opt_c, opt_t, cm, tm, cd, td, 4, closure_style=True)
    _same_params(cm, tm, tol=1e-8)
    sc = opt_c.state[next(iter(cm.parameters()))]
    st = opt_t.state[next(iter(tm.parameters()))]
    assert sc["func_evals"] == st["func_evals"] and sc["n_iter"] == st["n_iter"]


def test_optimizer_state_and_errors():
    w = cr.zeros(2, requires_grad=True)
    opt = cr.optim.Adagrad([w], initial_accumulator_value=0.25)
    assert opt.state[w]["sum"].tolist() == [0.25, 0.25]  # as torch: state from the start
    sd = opt.state_dict()
    cr.optim.Adagrad([w]).load_state_dict(sd)
    with pytest.raises(ValueError, match="Adadelta: invalid rho"):
        cr.optim.Adadelta([w], rho=1.5)
    with pytest.raises(TypeError, match="LBFGS.step needs a closure"):
        cr.optim.LBFGS([w]).step()
    with pytest.raises(ValueError, match="one list of parameters"):
        cr.optim.LBFGS([{"params": [w]}, {"params": [cr.zeros(1, requires_grad=True)]}])
    with pytest.raises(ValueError, match="strong_wolfe"):
        cr.optim.LBFGS([w], line_search_fn="backtracking")


def test_signatures_are_torchs():
    import inspect

    for name in ("Adagrad", "Adadelta", "LBFGS"):
        ours = list(inspect.signature(getattr(cr.optim, name).__init__).parameters)
        theirs = list(inspect.signature(getattr(torch.optim, name).__init__).parameters)
        assert ours == theirs, name
