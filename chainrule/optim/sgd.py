"""Stochastic gradient descent, with momentum (heavy-ball or Nesterov) and weight decay."""

from __future__ import annotations

from typing import Any

from ..backend import ndarray, xp
from ..core.creation import from_numpy
from .optimizer import Optimizer, ParamsT, _effective_grad, _pair

__all__ = ["SGD", "sgd_update"]


def sgd_update(param: ndarray, grad: ndarray, momentum_buffer: ndarray | None, *, lr: float,
               momentum: float = 0.0, dampening: float = 0.0, weight_decay: float = 0.0,
               nesterov: bool = False, maximize: bool = False,
               scratch: tuple[ndarray, ndarray] | None = None) -> ndarray | None:
    """One SGD step in place: ``b = momentum*b + (1-dampening)*g;  p -= lr * b``.

    ``g = grad + weight_decay * param`` (negated first when ``maximize``); the first step sets
    ``b = g``; Nesterov uses ``g + momentum*b`` in place of ``b``. Returns the momentum buffer
    (a new array on the first step, when ``momentum_buffer`` is None), or None without
    momentum. ``scratch`` is a pair of work arrays shaped like ``param``, reused if given.

    >>> from chainrule.backend import xp
    >>> p, g = xp.array([1.0, 2.0]), xp.array([0.5, -1.0])
    >>> buf = sgd_update(p, g, None, lr=0.1, momentum=0.9)
    >>> p, buf
    (array([0.95, 2.1 ]), array([ 0.5, -1. ]))
    """
    gbuf, tbuf = _pair(param, scratch)
    g = _effective_grad(param, grad, weight_decay, maximize, gbuf, tbuf)
    buf = momentum_buffer
    if momentum != 0:
        if buf is None:
            buf = g.copy()
        else:
            buf *= momentum
            if dampening != 0:
                xp.multiply(g, 1 - dampening, out=tbuf)
                buf += tbuf
            else:
                buf += g
        if nesterov:
            xp.multiply(buf, momentum, out=tbuf)
            xp.add(g, tbuf, out=gbuf)
            g = gbuf
        else:
            g = buf
    xp.multiply(g, -lr, out=tbuf)
    param += tbuf
    return buf


class SGD(Optimizer):
    """Stochastic gradient descent: ``p -= lr * (g + weight_decay*p)``, optionally with momentum.

    Same update and state (``momentum_buffer``) as ``torch.optim.SGD``.

    >>> import chainrule as cr
    >>> w = cr.tensor([1.0, -2.0], requires_grad=True)
    >>> opt = cr.optim.SGD([w], lr=0.1, momentum=0.9)
    >>> (w * w).sum().backward()     # grad = 2w
    >>> opt.step()
    >>> w
    tensor([ 0.8000, -1.6000], requires_grad=True)
    """

    _required_state = ()
    _optional_state = ("momentum_buffer",)

    def __init__(self, params: ParamsT, lr: float = 1e-3, momentum: float = 0.0,
                 dampening: float = 0.0, weight_decay: float = 0.0, nesterov: bool = False,
                 *, maximize: bool = False) -> None:
        defaults = {"lr": lr, "momentum": momentum, "dampening": dampening,
                    "weight_decay": weight_decay, "nesterov": nesterov, "maximize": maximize}
        self._validate_group(defaults)
        super().__init__(params, defaults)

    def _validate_group(self, group: dict[str, Any]) -> None:
        if not group["lr"] >= 0.0:
            raise ValueError(f"SGD: invalid lr={group['lr']!r}; it must be >= 0")
        if not group["momentum"] >= 0.0:
            raise ValueError(f"SGD: invalid momentum={group['momentum']!r}; it must be >= 0")
        if not group["weight_decay"] >= 0.0:
            raise ValueError(f"SGD: invalid weight_decay={group['weight_decay']!r}; "
                             "it must be >= 0")
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError("SGD: Nesterov momentum requires a momentum > 0 and zero dampening, "
                             f"got momentum={group['momentum']!r}, "
                             f"dampening={group['dampening']!r}")

    def _update_group(self, group: dict[str, Any]) -> None:
        lr, momentum, dampening = group["lr"], group["momentum"], group["dampening"]
        weight_decay, nesterov = group["weight_decay"], group["nesterov"]
        maximize = group["maximize"]
        state = self.state
        for p, data, gd in self._with_grads(group):
            if momentum != 0:
                st = state[p]
                buf = st.get("momentum_buffer")
                new = sgd_update(data, gd, None if buf is None else buf._data, lr=lr,
                                 momentum=momentum, dampening=dampening,
                                 weight_decay=weight_decay, nesterov=nesterov,
                                 maximize=maximize, scratch=self._scratch_for(data))
                if buf is None:
                    st["momentum_buffer"] = from_numpy(new)
                else:
                    buf._vc[0] += 1
            else:
                sgd_update(data, gd, None, lr=lr, weight_decay=weight_decay,
                           maximize=maximize, scratch=self._scratch_for(data))
            p._vc[0] += 1
