"""RMSprop: divide the gradient by a running root mean square of recent gradients."""

from __future__ import annotations

from typing import Any

from ..backend import ndarray, xp
from .optimizer import (
    Optimizer,
    ParamsT,
    _decay_sq_,
    _effective_grad,
    _lerp_,
    _new_state_like,
    _pair,
)

__all__ = ["RMSprop", "rmsprop_update"]


def rmsprop_update(param: ndarray, grad: ndarray, square_avg: ndarray, grad_avg: ndarray | None,
                   momentum_buffer: ndarray | None, *, lr: float, alpha: float, eps: float,
                   weight_decay: float = 0.0, momentum: float = 0.0, centered: bool = False,
                   maximize: bool = False,
                   scratch: tuple[ndarray, ndarray] | None = None) -> None:
    """One RMSprop step in place: ``s = alpha*s + (1-alpha)*g^2;  p -= lr * g / (sqrt(s) + eps)``.

    ``centered`` subtracts the squared running mean of ``g`` (kept in ``grad_avg``) from
    ``s`` before the square root; ``momentum > 0`` accumulates ``b = momentum*b + g/avg`` in
    ``momentum_buffer`` and steps ``p -= lr*b``. Rounded as ``torch.optim.RMSprop``.

    >>> from chainrule.backend import xp
    >>> p, g, s = xp.array([1.0, -1.0]), xp.array([0.5, -2.0]), xp.zeros(2)
    >>> rmsprop_update(p, g, s, None, None, lr=0.01, alpha=0.99, eps=1e-8)
    >>> p.round(4)                      # first step: g / sqrt(0.01 g^2) = 10 sign(g)
    array([ 0.9, -0.9])
    """
    gbuf, tbuf = _pair(param, scratch)
    g = _effective_grad(param, grad, weight_decay, maximize, gbuf, tbuf)
    _decay_sq_(square_avg, g, alpha, tbuf)
    avg = tbuf
    if centered:
        if grad_avg is None:
            raise ValueError("rmsprop_update: centered=True needs a grad_avg array")
        _lerp_(grad_avg, g, 1 - alpha, tbuf)
        xp.multiply(grad_avg, grad_avg, out=avg)
        xp.subtract(square_avg, avg, out=avg)
        xp.sqrt(avg, out=avg)
    else:
        xp.sqrt(square_avg, out=avg)
    avg += eps
    if momentum > 0:
        if momentum_buffer is None:
            raise ValueError("rmsprop_update: momentum > 0 needs a momentum_buffer array")
        momentum_buffer *= momentum
        xp.divide(g, avg, out=avg)
        momentum_buffer += avg
        xp.multiply(momentum_buffer, -lr, out=avg)
        param += avg
    else:
        xp.multiply(g, -lr, out=gbuf)
        gbuf /= avg
        param += gbuf


class RMSprop(Optimizer):
    """RMSprop: ``p -= lr * g / (sqrt(E[g^2]) + eps)``, optionally centered and with momentum.

    Same update, options and state (``step``, ``square_avg``, ``momentum_buffer``,
    ``grad_avg``) as ``torch.optim.RMSprop``.

    >>> import chainrule as cr
    >>> w = cr.tensor([1.0, -2.0], requires_grad=True)
    >>> opt = cr.optim.RMSprop([w], lr=0.01)
    >>> (w * w).sum().backward()
    >>> opt.step()
    >>> w
    tensor([ 0.9000, -1.9000], requires_grad=True)
    """

    _required_state = ("step", "square_avg")
    _optional_state = ("momentum_buffer", "grad_avg")

    def __init__(self, params: ParamsT, lr: float = 1e-2, alpha: float = 0.99,
                 eps: float = 1e-8, weight_decay: float = 0.0, momentum: float = 0.0,
                 centered: bool = False, *, maximize: bool = False) -> None:
        defaults = {"lr": lr, "momentum": momentum, "alpha": alpha, "eps": eps,
                    "centered": centered, "weight_decay": weight_decay, "maximize": maximize}
        self._validate_group(defaults)
        super().__init__(params, defaults)

    def _validate_group(self, group: dict[str, Any]) -> None:
        for key in ("lr", "alpha", "eps", "weight_decay", "momentum"):
            if not group[key] >= 0.0:
                raise ValueError(f"RMSprop: invalid {key}={group[key]!r}; it must be >= 0")

    def _update_group(self, group: dict[str, Any]) -> None:
        lr, alpha, eps = group["lr"], group["alpha"], group["eps"]
        weight_decay, momentum = group["weight_decay"], group["momentum"]
        centered, maximize = group["centered"], group["maximize"]
        state = self.state
        for p, data, gd in self._with_grads(group):
            st = state[p]
            if not st:
                st["step"] = 0.0
                st["square_avg"] = _new_state_like(p)
            sq = st["square_avg"]
            sq._vc[0] += 1
            # NOTE: created when first needed, so that turning momentum or centering on later
            # (OneCycleLR cycles momentum) works instead of failing on a missing buffer.
            buf = ga = None
            if momentum > 0:
                b = st.get("momentum_buffer")
                if b is None:
                    b = st["momentum_buffer"] = _new_state_like(p)
                b._vc[0] += 1
                buf = b._data
            if centered:
                a = st.get("grad_avg")
                if a is None:
                    a = st["grad_avg"] = _new_state_like(p)
                a._vc[0] += 1
                ga = a._data
            st["step"] += 1.0
            rmsprop_update(data, gd, sq._data, ga, buf, lr=lr, alpha=alpha, eps=eps,
                           weight_decay=weight_decay, momentum=momentum, centered=centered,
                           maximize=maximize, scratch=self._scratch_for(data))
            p._vc[0] += 1
