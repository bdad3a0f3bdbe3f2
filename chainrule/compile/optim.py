"""Optimizer steps over the flat buffers: one update call per parameter group.

SGD, Adam and AdamW call their own update functions (``sgd_update``, ``adam_update``) on
the flat slices holding a group's parameters, gradients and state. The update is elementwise
with the same scalars for every element, so one call over the concatenation computes exactly
what the per-parameter loop computes. Hyperparameters are read from the group at every
replay (a scheduler changes ``lr``), and ``step`` counts and version counters advance as in
eager mode. Any other optimizer (or a group whose structure the flat path does not cover)
runs its own ``step()`` on the same tensors.
"""

from __future__ import annotations

from functools import partial
from typing import Any, Callable

from ..backend import ndarray, xp
from ..optim.adam import Adam, adam_update
from ..optim.sgd import SGD, sgd_update
from .plan import _aligned


def optimizer_calls(plan: Any, ins: Any) -> list[tuple[Callable[[], None], str]]:
    opt, spec = ins.arg
    calls = []
    for gi, entries in spec:
        call = _flat_group(plan, opt, gi, [p for p, _, _ in entries])
        if call is None:
            return [(opt.step, f"{type(opt).__name__}.step")]
        calls.append(call)
    return calls


def _flat_group(plan: Any, opt: Any, gi: int, params: list) -> tuple | None:
    if not params or type(opt) not in (Adam, SGD) and not isinstance(opt, Adam):
        return None
    offs = [plan.offsets[id(p)] for p in params]
    dt = offs[0][0]
    if any(o[0] != dt for o in offs) or any(
            o[1] != _aligned(offs[k][2], dt) for k, o in enumerate(offs[1:])):
        return None  # not one contiguous run of the flat buffer
    a, b = offs[0][1], offs[-1][2]
    sl = slice(a, b)
    group = opt.param_groups[gi]
    P, G = plan.flat[("param", dt)][sl], plan.flat[("grad", dt)][sl]
    scratch = (xp.empty_like(P), xp.empty_like(P))
    if isinstance(opt, Adam):
        keys = ["exp_avg", "exp_avg_sq"] + (["max_exp_avg_sq"] if group["amsgrad"] else [])
    else:
        keys = ["momentum_buffer"] if group["momentum"] != 0 else []
    states = []
    for key in keys:
        for p in params:
            if key not in opt.state.get(p, {}):
                return None
            view = plan.view(key, p)
            plan.adopted.append((_state_getter(opt, p, key), view))
            plan.state_views.append((opt, p, key, view))
        states.append(plan.flat[(key, dt)][sl])
    from ..viz.i18n import Text  # (the label a picture of the step shows, in its language)

    label = "{opt} update of group {gi} (flat, {n} elements)"
    if isinstance(opt, Adam):
        steps = {opt.state[p]["step"] for p in params}
        if len(steps) != 1:
            return None
        fn = partial(_adam, opt, gi, params, P, G, states, scratch)
        return fn, Text(label, opt=type(opt).__name__, gi=gi, n=b - a)
    fn = partial(_sgd, opt, gi, params, P, G, states, scratch)
    return fn, Text(label, opt="SGD", gi=gi, n=b - a)


def _state_getter(opt: Any, p: Any, key: str) -> Callable[[], Any]:
    return lambda: opt.state[p][key]


def _bump(opt: Any, params: list, keys: tuple) -> None:
    state = opt.state
    for p in params:
        p._vc[0] += 1
        st = state[p]
        for k in keys:
            st[k]._vc[0] += 1


def _adam(opt: Any, gi: int, params: list, P: ndarray, G: ndarray, states: list,
          scratch: tuple) -> None:
    group = opt.param_groups[gi]
    state = opt.state
    step = state[params[0]]["step"] + 1.0
    for p in params:
        state[p]["step"] = step
    beta1, beta2 = group["betas"]
    amsgrad = group["amsgrad"]
    if not amsgrad and group["weight_decay"] == 0 and not group["maximize"]:
        _adam_plain(P, G, states[0], states[1], scratch[0], scratch[1], step, group["lr"],
                    beta1, beta2, group["eps"])
        _bump(opt, params, ("exp_avg", "exp_avg_sq"))
        return
    adam_update(P, G, states[0], states[1], states[2] if amsgrad else None, step,
                lr=group["lr"], beta1=beta1, beta2=beta2, eps=group["eps"],
                weight_decay=group["weight_decay"], amsgrad=amsgrad, maximize=group["maximize"],
                decoupled_weight_decay=group["decoupled_weight_decay"], scratch=scratch)
    _bump(opt, params, ("exp_avg", "exp_avg_sq", "max_exp_avg_sq") if amsgrad
          else ("exp_avg", "exp_avg_sq"))


def _adam_plain(param: ndarray, g: ndarray, m: ndarray, v: ndarray, gbuf: ndarray,
                tbuf: ndarray, step: float, lr: float, beta1: float, beta2: float,
                eps: float) -> None:
    """``adam_update`` without weight decay, maximize or amsgrad: the same ufuncs on the same
    operands in the same order (its ``_lerp_`` and ``_decay_sq_`` included), each called with
    a positional ``out`` instead of through keyword arguments and in-place operators."""
    weight = 1 - beta1
    subtract(g, m, tbuf)  # _lerp_(m, g, 1 - beta1, tbuf)
    if abs(weight) < 0.5:
        multiply(tbuf, weight, tbuf)
        add(m, tbuf, m)
    else:
        multiply(tbuf, m.dtype.type(weight) - 1, tbuf)
        add(g, tbuf, m)
    multiply(v, beta2, v)  # _decay_sq_(v, g, beta2, tbuf)
    multiply(g, 1 - beta2, tbuf)
    multiply(tbuf, g, tbuf)
    add(v, tbuf, v)
    step_size = lr / (1 - beta1 ** step)
    sqrt(v, tbuf)
    divide(tbuf, (1 - beta2 ** step) ** 0.5, tbuf)
    add(tbuf, eps, tbuf)
    multiply(m, -step_size, gbuf)
    divide(gbuf, tbuf, gbuf)
    add(param, gbuf, param)


add, subtract, multiply, divide, sqrt = xp.add, xp.subtract, xp.multiply, xp.divide, xp.sqrt


def _sgd(opt: Any, gi: int, params: list, P: ndarray, G: ndarray, states: list,
         scratch: tuple) -> None:
    group = opt.param_groups[gi]
    momentum = group["momentum"]
    sgd_update(P, G, states[0] if momentum != 0 else None, lr=group["lr"], momentum=momentum,
               dampening=group["dampening"], weight_decay=group["weight_decay"],
               nesterov=group["nesterov"], maximize=group["maximize"], scratch=scratch)
    _bump(opt, params, ("momentum_buffer",) if momentum != 0 else ())


def structure(opt: Any) -> tuple:
    """What the flat update assumes of each group (a guard: when it changes, retrace)."""
    out = []
    for g in opt.param_groups:
        out.append((id(g["params"]), g.get("amsgrad"), g.get("momentum", 0) != 0))
    return tuple(out)
