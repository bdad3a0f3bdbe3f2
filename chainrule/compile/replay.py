"""The replay of an unchanged call, with as little Python around the replayed calls as
possible.

A compiled function remembers the variant it replayed last. The next call first checks, in
one pass of C-level ``map``s, that nothing the plan relies on has moved:

- the arguments: all tensors, not requiring grad, with the shapes and dtypes of the key,
  the grad mode and every module's ``training`` flag as in the key;
- every parameter, gradient and optimizer-state tensor (looked up afresh in
  ``optimizer.state``, so a replaced state tensor is seen) and every outside tensor still
  holds the array the plan bound (version counters are not needed for in-place changes:
  they land in those arrays);
- every ``.grad`` is what the last replay left there (its flat-buffer tensor, or ``None``);
- each optimizer's parameter groups have the structure the plan was built for.

When all hold, the replay runs with no guard key built, nothing adopted and no ``.grad``
reset: the arguments are copied into their buffers and the calls run. When one fails, the
ordinary path (key, lookup, :meth:`Plan.adopt`, which resyncs or retraces) takes over.
"""

from __future__ import annotations

from operator import attrgetter, getitem, is_
from typing import Any

from ..core import graph
from ..core.tensor_class import Tensor
from .optim import structure

_data = attrgetter("_data")
_grad = attrgetter("grad")
_training = attrgetter("training")
_state = attrgetter("state")


class Guard:
    """The cheap check that a variant's last replay left everything as the plan needs."""

    def __init__(self, var: Any, modules: list) -> None:
        plan = var.plan
        self.var = var
        self.grad_mode = var.key[0]
        self.metas = [(k[1], k[2]) for k in var.key[1]]
        self.n = len(self.metas)
        self.modules = list(modules)
        self.training = list(var.key[2])
        tensors = [t for t, _ in plan.param_views] + [g for _, g in plan.pinned]
        views = [v for _, v in plan.param_views] + [g._data for _, g in plan.pinned]
        tensors += [t for t, _ in var.exts]
        views += [a for _, a in var.exts]
        self.tensors, self.views = tensors, views
        st = plan.state_views
        self.opts = [opt for opt, _, _, _ in st]  # opt.state is read afresh: loading a
        # state dict replaces the whole dict
        self.ps = [p for _, p, _, _ in st]
        self.keys = [k for _, _, k, _ in st]
        self.sviews = [v for _, _, _, v in st]
        self.gparams = [p for p, _ in plan.pinned]
        self.gleft = [g for _, g in plan.grad_left]
        self.structure = var.structure

    def holds(self, args: tuple) -> bool:
        if graph._grad_enabled is not self.grad_mode or len(args) != self.n:
            return False
        for a, (shape, dt) in zip(args, self.metas):
            if a.__class__ is not Tensor or a._node is not None:
                return False
            d = a._data
            if d.shape != shape or d.dtype != dt:
                return False
        if self.modules and list(map(_training, self.modules)) != self.training:
            return False
        if not all(map(is_, map(_data, self.tensors), self.views)):
            return False
        if not all(map(is_, map(_grad, self.gparams), self.gleft)):
            return False
        try:
            states = list(map(getitem, map(getitem, map(_state, self.opts), self.ps),
                              self.keys))
        except (KeyError, TypeError):
            return False
        if not all(map(is_, map(_data, states), self.sviews)):
            return False
        return all(structure(opt) == st for opt, st in self.structure)
