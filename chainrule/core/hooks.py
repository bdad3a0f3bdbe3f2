"""The machinery behind ``Module.register_full_backward_hook``.

A full backward hook must see, at one moment, the gradients with respect to all of a module
call's tensor inputs (and those of its outputs). Both are found by the same device PyTorch
uses: the inputs that require grad go through an identity :class:`Function` with one output
per input before ``forward`` runs, and the outputs through another one after it. The
engine reaches the outputs' identity node first (it was recorded last) and the inputs'
identity node once every gradient with respect to the inputs is complete; its backward calls
the hooks, which may replace those gradients.
"""

from __future__ import annotations

from typing import Any

from .function import Function
from .graph import GraphError, RemovableHandle
from .tensor_class import Tensor

__all__ = ["RemovableHandle", "module_backward_hook_call"]


class _BackwardHookCall:
    """One call of a module with full backward hooks: what its two identity nodes share.

    ``grad_input`` has one entry per positional argument of the call and ``grad_output`` one
    per output (None for non-tensors and for tensors that need no gradient).
    """

    __slots__ = ("module", "hooks", "pre_hooks", "n_inputs", "positions", "grad_output",
                 "out_positions", "n_outputs")

    def __init__(self, module: Any, hooks: list, pre_hooks: list) -> None:
        self.module = module
        self.hooks = hooks
        self.pre_hooks = pre_hooks
        self.n_inputs = 0
        self.positions: list[int] = []
        self.grad_output: tuple = ()
        self.n_outputs = 0
        self.out_positions: list[int] = []

    def _name(self) -> str:
        return type(self.module).__name__

    # -- forward --------------------------------------------------------------------------
    def setup_inputs(self, args: tuple) -> tuple:
        """Route the tensor arguments that require grad through the inputs' identity node."""
        self.n_inputs = len(args)
        self.positions = [i for i, a in enumerate(args)
                          if isinstance(a, Tensor) and a._node is not None]
        if not self.positions:
            return args
        new = BackwardHook.apply(self.inputs_backward, *[args[i] for i in self.positions])
        res = list(args)
        for i, t in zip(self.positions, new):
            res[i] = t
        return tuple(res)

    def setup_outputs(self, out: Any) -> Any:
        single = isinstance(out, Tensor)
        items = (out,) if single else out
        if not isinstance(items, tuple):
            return out  # a list, dict, ...: PyTorch hooks tensors and tuples of tensors only
        self.n_outputs = len(items)
        self.out_positions = [i for i, o in enumerate(items)
                              if isinstance(o, Tensor) and o._node is not None]
        if not self.out_positions:
            return out
        new = BackwardHook.apply(self.outputs_backward, *[items[i] for i in self.out_positions])
        res = list(items)
        for i, t in zip(self.out_positions, new):
            res[i] = t
        return res[0] if single else tuple(res)

    # -- backward -------------------------------------------------------------------------
    def outputs_backward(self, grads: tuple) -> tuple:
        full: list[Any] = [None] * self.n_outputs
        for k, g in zip(self.out_positions, grads):
            full[k] = g
        for hook in self.pre_hooks:
            r = hook(self.module, tuple(full))
            if r is not None:
                full = list(self._check(r, tuple(full), "full backward pre-hook",
                                        "grad_output"))
        self.grad_output = tuple(full)
        if not self.positions and self.hooks:
            # No input requires grad: the hooks run now, with None for every input.
            none = (None,) * self.n_inputs
            for hook in self.hooks:
                r = hook(self.module, none, self.grad_output)
                if r is not None and any(x is not None for x in r):
                    raise GraphError(
                        f"full backward hook {hook!r} of {self._name()}: no input of this call "
                        "requires grad, so the hook must return None (or only Nones)"
                    )
        return tuple(full[k] for k in self.out_positions)

    def inputs_backward(self, grads: tuple) -> tuple:
        full: list[Any] = [None] * self.n_inputs
        for k, g in zip(self.positions, grads):
            full[k] = g
        grad_input = tuple(full)
        for hook in self.hooks:
            r = hook(self.module, grad_input, self.grad_output)
            if r is not None:
                grad_input = self._check(r, grad_input, "full backward hook", "grad_input")
        return tuple(grad_input[k] for k in self.positions)

    def _check(self, r: Any, old: tuple, what: str, arg: str) -> tuple:
        if isinstance(r, Tensor):
            r = (r,)
        if not isinstance(r, (tuple, list)) or len(r) != len(old):
            raise GraphError(
                f"{what} of {self._name()} returned {type(r).__name__} of length "
                f"{len(r) if isinstance(r, (tuple, list)) else '-'}; it must return None or a "
                f"tuple of {len(old)} (one per entry of {arg})"
            )
        for i, (new, prev) in enumerate(zip(r, old)):
            if new is not None and not isinstance(new, Tensor):
                raise TypeError(
                    f"{what} of {self._name()} returned a {type(new).__name__} as {arg}[{i}]; "
                    "entries must be tensors or None"
                )
            if new is not None and prev is not None and tuple(new.shape) != tuple(prev.shape):
                raise GraphError(
                    f"{what} of {self._name()} returned {arg}[{i}] of shape "
                    f"{tuple(new.shape)}, expected {tuple(prev.shape)}"
                )
        return tuple(r)


class BackwardHook(Function):
    """Identity on ``tensors``; its backward hands their gradients to ``on_grads`` (the
    module's inputs_backward or outputs_backward), which may replace them."""

    @staticmethod
    def forward(ctx: Any, on_grads: Any, *tensors: Tensor) -> tuple:
        ctx.on_grads = on_grads
        ctx.set_materialize_grads(False)
        return tensors

    @staticmethod
    def backward(ctx: Any, *grads: Any) -> tuple:
        return (None,) + ctx.on_grads(grads)


def module_backward_hook_call(module: Any, hooks: list, pre_hooks: list) -> _BackwardHookCall:
    return _BackwardHookCall(module, hooks, pre_hooks)
