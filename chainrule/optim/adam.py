"""Adam and AdamW: adaptive moment estimation, with coupled or decoupled weight decay."""

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

__all__ = ["Adam", "AdamW", "adam_update"]


def adam_update(param: ndarray, grad: ndarray, exp_avg: ndarray, exp_avg_sq: ndarray,
                max_exp_avg_sq: ndarray | None, step: float, *, lr: float, beta1: float,
                beta2: float, eps: float, weight_decay: float = 0.0, amsgrad: bool = False,
                maximize: bool = False, decoupled_weight_decay: bool = False,
                scratch: tuple[ndarray, ndarray] | None = None) -> None:
    """One Adam step in place: ``p -= lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps)``.

    ``m = b1*m + (1-b1)*g`` and ``v = b2*v + (1-b2)*g^2`` are updated in place; ``step`` is
    ``t``, already counting this step. With ``amsgrad`` the running maximum of ``v`` (kept in
    ``max_exp_avg_sq``) replaces ``v``. Weight decay adds ``weight_decay*p`` to ``g``, or with
    ``decoupled_weight_decay`` (AdamW) first scales ``p`` by ``1 - lr*weight_decay``.
    Rounded in PyTorch's order, so the numbers are ``torch.optim.Adam``'s.

    >>> from chainrule.backend import xp
    >>> p, g = xp.array([1.0, -1.0]), xp.array([0.5, -2.0])
    >>> m, v = xp.zeros(2), xp.zeros(2)
    >>> adam_update(p, g, m, v, None, 1, lr=0.1, beta1=0.9, beta2=0.999, eps=1e-8)
    >>> p.round(6)                      # the first step moves each weight by about lr
    array([ 0.9, -0.9])
    """
    gbuf, tbuf = _pair(param, scratch)
    if weight_decay != 0 and decoupled_weight_decay:
        param *= 1 - lr * weight_decay
        weight_decay = 0.0
    g = _effective_grad(param, grad, weight_decay, maximize, gbuf, tbuf)
    _lerp_(exp_avg, g, 1 - beta1, tbuf)
    _decay_sq_(exp_avg_sq, g, beta2, tbuf)
    v = exp_avg_sq
    if amsgrad:
        if max_exp_avg_sq is None:
            raise ValueError("adam_update: amsgrad=True needs a max_exp_avg_sq array")
        xp.maximum(max_exp_avg_sq, exp_avg_sq, out=max_exp_avg_sq)
        v = max_exp_avg_sq
    step_size = lr / (1 - beta1 ** step)
    denom = tbuf
    xp.sqrt(v, out=denom)
    denom /= (1 - beta2 ** step) ** 0.5
    denom += eps
    xp.multiply(exp_avg, -step_size, out=gbuf)
    gbuf /= denom
    param += gbuf


class Adam(Optimizer):
    """Adam: ``p -= lr * m_hat / (sqrt(v_hat) + eps)`` with bias-corrected moment estimates.

    Same update, options and state (``step``, ``exp_avg``, ``exp_avg_sq``,
    ``max_exp_avg_sq``) as ``torch.optim.Adam``; ``step`` is kept as a Python float.

    >>> import chainrule as cr
    >>> w = cr.tensor([1.0, -2.0], requires_grad=True)
    >>> opt = cr.optim.Adam([w], lr=0.1)
    >>> (w * w).sum().backward()
    >>> opt.step()
    >>> w
    tensor([ 0.9000, -1.9000], requires_grad=True)
    >>> opt.state[w]["step"]
    1.0
    """

    _required_state = ("step", "exp_avg", "exp_avg_sq")
    _optional_state = ("max_exp_avg_sq",)

    def __init__(self, params: ParamsT, lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, amsgrad: bool = False, *, maximize: bool = False,
                 decoupled_weight_decay: bool = False) -> None:
        defaults = {"lr": lr, "betas": betas, "eps": eps,
                    "weight_decay": weight_decay, "amsgrad": amsgrad, "maximize": maximize,
                    "decoupled_weight_decay": decoupled_weight_decay}
        self._validate_group(defaults)
        super().__init__(params, defaults)

    def _validate_group(self, group: dict[str, Any]) -> None:
        name = type(self).__name__
        betas = group["betas"]
        if not (isinstance(betas, (tuple, list)) and len(betas) == 2):
            raise ValueError(f"{name}: betas must be a pair (beta1, beta2), got {betas!r}")
        group["betas"] = tuple(betas)
        for key in ("lr", "eps", "weight_decay"):
            if not group[key] >= 0.0:
                raise ValueError(f"{name}: invalid {key}={group[key]!r}; it must be >= 0")
        for i in (0, 1):
            if not 0.0 <= betas[i] < 1.0:
                raise ValueError(f"{name}: invalid beta parameter at index {i}: {betas[i]!r}; "
                                 "it must be in [0, 1)")

    def _update_group(self, group: dict[str, Any]) -> None:
        lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
        weight_decay, amsgrad, maximize = group["weight_decay"], group["amsgrad"], group["maximize"]
        decoupled = group["decoupled_weight_decay"]
        state = self.state
        for p, data, gd in self._with_grads(group):
            st = state[p]
            if not st:
                st["step"] = 0.0
                st["exp_avg"] = _new_state_like(p)
                st["exp_avg_sq"] = _new_state_like(p)
                if amsgrad:
                    st["max_exp_avg_sq"] = _new_state_like(p)
            m, v = st["exp_avg"], st["exp_avg_sq"]
            mx = None
            if amsgrad:
                mx_t = st.get("max_exp_avg_sq")
                if mx_t is None:  # amsgrad switched on after the first steps
                    mx_t = st["max_exp_avg_sq"] = _new_state_like(p)
                mx_t._vc[0] += 1
                mx = mx_t._data
            step = st["step"] = st["step"] + 1.0
            adam_update(data, gd, m._data, v._data, mx, step, lr=lr, beta1=beta1, beta2=beta2,
                        eps=eps, weight_decay=weight_decay, amsgrad=amsgrad, maximize=maximize,
                        decoupled_weight_decay=decoupled, scratch=self._scratch_for(data))
            p._vc[0] += 1
            m._vc[0] += 1
            v._vc[0] += 1


class AdamW(Adam):
    """AdamW: Adam with decoupled weight decay, ``p *= 1 - lr*weight_decay`` before the step.

    Same as ``torch.optim.AdamW`` (weight_decay defaults to 1e-2).

    >>> import chainrule as cr
    >>> w = cr.tensor([1.0, -2.0], requires_grad=True)
    >>> opt = cr.optim.AdamW([w], lr=0.1, weight_decay=0.5)
    >>> w.grad = cr.zeros(2)                  # no gradient: only the decay acts
    >>> opt.step()
    >>> w
    tensor([ 0.9500, -1.9000], requires_grad=True)
    """

    def __init__(self, params: ParamsT, lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False, *,
                 maximize: bool = False) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize,
                         decoupled_weight_decay=True)

    def _validate_group(self, group: dict[str, Any]) -> None:
        group["decoupled_weight_decay"] = True
        super()._validate_group(group)

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        super().load_state_dict(state_dict)
        for group in self.param_groups:  # as torch: AdamW always decouples
            group["decoupled_weight_decay"] = True
