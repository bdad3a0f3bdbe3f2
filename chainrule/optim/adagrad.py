"""Adagrad and Adadelta: per-coordinate step sizes from accumulated squared gradients."""

from __future__ import annotations

from typing import Any

from ..backend import ndarray, xp
from ..core.creation import from_numpy
from .optimizer import Optimizer, ParamsT, _check, _decay_sq_, _effective_grad, _new_state_like

__all__ = ["Adagrad", "Adadelta", "adagrad_update", "adadelta_update"]


def adagrad_update(param: ndarray, grad: ndarray, state_sum: ndarray, step: float, *,
                   lr: float, lr_decay: float = 0.0, weight_decay: float = 0.0,
                   eps: float = 1e-10, maximize: bool = False) -> None:
    """One Adagrad step in place: ``sum += g^2;  p -= clr * g / (sqrt(sum) + eps)`` with
    ``clr = lr / (1 + (step - 1) * lr_decay)`` (``step`` counts from 1), rounded as
    ``torch.optim.Adagrad``.

    >>> from chainrule.backend import xp
    >>> p, s = xp.array([1.0, -1.0]), xp.zeros(2)
    >>> adagrad_update(p, xp.array([0.5, -2.0]), s, 1, lr=0.1)
    >>> p.round(4)                      # first step: g / |g| = sign(g)
    array([ 0.9, -0.9])
    """
    gbuf, tbuf = xp.empty_like(param), xp.empty_like(param)
    g = _effective_grad(param, grad, weight_decay, maximize, gbuf, tbuf)
    clr = lr / (1 + (step - 1) * lr_decay)
    xp.multiply(g, g, out=tbuf)
    state_sum += tbuf
    xp.sqrt(state_sum, out=tbuf)
    tbuf += eps
    xp.divide(g, tbuf, out=tbuf)
    tbuf *= -clr
    param += tbuf


def adadelta_update(param: ndarray, grad: ndarray, square_avg: ndarray, acc_delta: ndarray, *,
                    lr: float, rho: float, eps: float, weight_decay: float = 0.0,
                    maximize: bool = False) -> None:
    """One Adadelta step in place: ``v = rho v + (1 - rho) g^2;
    delta = sqrt(u + eps) / sqrt(v + eps) * g;  u = rho u + (1 - rho) delta^2;
    p -= lr * delta``, rounded as ``torch.optim.Adadelta``."""
    gbuf, tbuf = xp.empty_like(param), xp.empty_like(param)
    g = _effective_grad(param, grad, weight_decay, maximize, gbuf, tbuf)
    _decay_sq_(square_avg, g, rho, tbuf)
    std = square_avg + eps
    xp.sqrt(std, out=std)
    delta = acc_delta + eps
    xp.sqrt(delta, out=delta)
    delta /= std
    delta *= g
    _decay_sq_(acc_delta, delta, rho, tbuf)
    delta *= -lr
    param += delta


class Adagrad(Optimizer):
    """Adagrad, with ``torch.optim.Adagrad``'s options, update and state (``step``, ``sum``).

    >>> import chainrule as cr
    >>> w = cr.tensor([1.0, -2.0], requires_grad=True)
    >>> opt = cr.optim.Adagrad([w], lr=0.1)
    >>> (w * w).sum().backward(); opt.step()
    >>> w
    tensor([ 0.9000, -1.9000], requires_grad=True)
    """

    _required_state = ("step", "sum")
    _optional_state = ()

    def __init__(self, params: ParamsT, lr: float = 1e-2, lr_decay: float = 0.0,
                 weight_decay: float = 0.0, initial_accumulator_value: float = 0.0,
                 eps: float = 1e-10, foreach: bool | None = None, *, maximize: bool = False,
                 differentiable: bool = False, fused: bool | None = None) -> None:
        defaults = {"lr": lr, "lr_decay": lr_decay, "eps": eps, "weight_decay": weight_decay,
                    "initial_accumulator_value": initial_accumulator_value,
                    "foreach": foreach, "maximize": maximize, "differentiable": differentiable,
                    "fused": fused}
        self._validate_group(defaults)
        super().__init__(params, defaults)
        for group in self.param_groups:  # as PyTorch: the state exists from the start
            for p in group["params"]:
                self._init_state(p, group)

    def _init_state(self, p: Any, group: dict[str, Any]) -> dict[str, Any]:
        st = self.state[p]
        if not st:
            st["step"] = 0.0
            st["sum"] = from_numpy(xp.full_like(p._data, group["initial_accumulator_value"]))
        return st

    def _validate_group(self, group: dict[str, Any]) -> None:
        for key in ("lr", "lr_decay", "weight_decay", "initial_accumulator_value", "eps"):
            _check(group[key] >= 0.0, "Adagrad", key, group[key])

    def _update_group(self, group: dict[str, Any]) -> None:
        for p, data, gd in self._with_grads(group):
            st = self._init_state(p, group)
            st["step"] += 1.0
            s = st["sum"]
            adagrad_update(data, gd, s._data, st["step"], lr=group["lr"],
                           lr_decay=group["lr_decay"], weight_decay=group["weight_decay"],
                           eps=group["eps"], maximize=group["maximize"])
            s._vc[0] += 1
            p._vc[0] += 1


class Adadelta(Optimizer):
    """Adadelta, with ``torch.optim.Adadelta``'s options, update and state (``step``,
    ``square_avg``, ``acc_delta``).

    >>> import chainrule as cr
    >>> w = cr.tensor([1.0], requires_grad=True)
    >>> opt = cr.optim.Adadelta([w])
    >>> (w * w).sum().backward(); opt.step()
    >>> round(w.item(), 6)              # sqrt(1e-6) / sqrt(0.1 * 4 + 1e-6) * 2
    0.996838
    """

    _required_state = ("step", "square_avg", "acc_delta")
    _optional_state = ()

    def __init__(self, params: ParamsT, lr: float = 1.0, rho: float = 0.9, eps: float = 1e-6,
                 weight_decay: float = 0.0, foreach: bool | None = None, *,
                 capturable: bool = False, maximize: bool = False,
                 differentiable: bool = False) -> None:
        defaults = {"lr": lr, "rho": rho, "eps": eps, "weight_decay": weight_decay,
                    "maximize": maximize, "capturable": capturable, "foreach": foreach,
                    "differentiable": differentiable}
        self._validate_group(defaults)
        super().__init__(params, defaults)

    def _validate_group(self, group: dict[str, Any]) -> None:
        _check(group["lr"] >= 0.0, "Adadelta", "lr", group["lr"])
        _check(0.0 <= group["rho"] <= 1.0, "Adadelta", "rho value", group["rho"])
        _check(group["eps"] >= 0.0, "Adadelta", "epsilon value", group["eps"])
        _check(group["weight_decay"] >= 0.0, "Adadelta", "weight_decay value",
               group["weight_decay"])

    def _update_group(self, group: dict[str, Any]) -> None:
        for p, data, gd in self._with_grads(group):
            st = self.state[p]
            if not st:
                st["step"] = 0.0
                st["square_avg"] = _new_state_like(p)
                st["acc_delta"] = _new_state_like(p)
            st["step"] += 1.0
            sq, acc = st["square_avg"], st["acc_delta"]
            adadelta_update(data, gd, sq._data, acc._data, lr=group["lr"], rho=group["rho"],
                            eps=group["eps"], weight_decay=group["weight_decay"],
                            maximize=group["maximize"])
            sq._vc[0] += 1
            acc._vc[0] += 1
            p._vc[0] += 1
