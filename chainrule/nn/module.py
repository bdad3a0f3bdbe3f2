"""Module, Parameter and the containers: the bookkeeping layer of every network.

A :class:`Module` registers the :class:`Parameter` s, buffers and sub-modules assigned to its
attributes, in assignment order, so that ``parameters()``, ``state_dict()``, ``train()`` and
``repr()`` can walk the tree of a model without the model saying anything else.
"""

from __future__ import annotations

import copy
import itertools
from collections import OrderedDict
from typing import Any, Callable, Iterator, Mapping, TypeVar

from ..core.graph import RemovableHandle
from ..core.tensor import Tensor, _to_array
from . import module_convert as _convert
from . import module_hooks as _hooks
from . import module_state as _state
from .module_hooks import _hook_ids

__all__ = ["Parameter", "Module", "Sequential", "ModuleList"]  # noqa: F822 (the last two: lazily, below)

M = TypeVar("M", bound="Module")



class Parameter(Tensor):
    """A tensor that is a learnable weight of a Module: assigning it to a Module attribute
    registers it, and it requires grad by default.

    ``Parameter(t)`` shares ``t``'s memory (no copy).

    >>> import chainrule as cr
    >>> from chainrule.nn import Parameter
    >>> w = Parameter(cr.zeros(2))
    >>> w.requires_grad, isinstance(w, cr.Tensor)
    (True, True)
    >>> w
    Parameter containing:
    tensor([0., 0.], requires_grad=True)
    """

    __slots__ = ()

    def __init__(self, data: Any = None, requires_grad: bool = True) -> None:
        if data is None:
            arr = _to_array([])
            vc = [0]
        elif isinstance(data, Tensor):
            arr = data._data
            vc = data._vc  # NOTE: shares memory, so it shares the version counter too
        else:
            arr = _to_array(data)
            vc = [0]
        self._data = arr
        self._node = None
        self._vc = vc
        self._base = None
        self.grad = None
        if requires_grad:
            self.requires_grad_(True)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()


def _addindent(s: str, n: int) -> str:
    lines = s.split("\n")
    if len(lines) == 1:
        return s
    return lines[0] + "\n" + "\n".join(" " * n + line for line in lines[1:])


class Module:
    """Base class of every layer and model: subclass it, assign layers and Parameters as
    attributes in ``__init__``, and define ``forward``; ``model(x)`` calls ``forward(x)``.

    >>> import chainrule as cr
    >>> from chainrule import nn
    >>> class Net(nn.Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.fc = nn.Linear(3, 2)
    ...     def forward(self, x):
    ...         return self.fc(x).relu()
    >>> net = Net()
    >>> [name for name, _ in net.named_parameters()]
    ['fc.weight', 'fc.bias']
    >>> net(cr.ones(4, 3)).shape
    torch.Size([4, 2])
    """

    training: bool
    _parameters: dict[str, Parameter | None]
    _buffers: dict[str, Tensor | None]
    _modules: dict[str, Module | None]
    _non_persistent: set[str]

    def __init__(self) -> None:
        d = self.__dict__
        d["training"] = True
        d["_parameters"] = {}
        d["_buffers"] = {}
        d["_modules"] = {}
        d["_non_persistent"] = set()

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(
            f"{type(self).__name__} has no forward(): define `def forward(self, ...)` in your "
            "Module subclass; calling the module calls it"
        )

    _hooked = False  # True on an instance with hooks (its __dict__ then says so)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self._hooked:
            return self._call_with_hooks(args, kwargs)
        return self.forward(*args, **kwargs)

    # -- hooks ------------------------------------------------------------------------------
    def _call_with_hooks(self, args: tuple, kwargs: dict) -> Any:
        return _hooks.call_with_hooks(self, args, kwargs)

    def _add_hook(self, store: str, key: int, hook: Any, value: Any,
                  prepend: bool) -> RemovableHandle:
        return _hooks.add_hook(self, store, key, hook, value, prepend)

    def register_forward_pre_hook(self, hook: Callable[..., Any], *, prepend: bool = False,
                                  with_kwargs: bool = False) -> RemovableHandle:
        """Call ``hook(module, args)`` before every ``forward``; it may return new args.

        With ``with_kwargs=True`` it is ``hook(module, args, kwargs) -> (args, kwargs)``.
        Returns a handle whose ``.remove()`` unregisters it.

        >>> import chainrule as cr
        >>> from chainrule import nn
        >>> m = nn.Identity()
        >>> h = m.register_forward_pre_hook(lambda mod, args: (args[0] * 2,))
        >>> m(cr.tensor([1.0]))
        tensor([2.])
        >>> h.remove(); m(cr.tensor([1.0]))
        tensor([1.])
        """
        return self._add_hook("_forward_pre_hooks", next(_hook_ids), hook,
                              (hook, with_kwargs), prepend)

    def register_forward_hook(self, hook: Callable[..., Any], *, prepend: bool = False,
                              with_kwargs: bool = False) -> RemovableHandle:
        """Call ``hook(module, args, output)`` after every ``forward``; it may return a new
        output. With ``with_kwargs=True`` it is ``hook(module, args, kwargs, output)``.

        >>> import chainrule as cr
        >>> from chainrule import nn
        >>> seen = []
        >>> m = nn.Linear(2, 3)
        >>> h = m.register_forward_hook(lambda mod, args, out: seen.append(out.shape))
        >>> _ = m(cr.ones(4, 2)); seen
        [torch.Size([4, 3])]
        """
        return self._add_hook("_forward_hooks", next(_hook_ids), hook, (hook, with_kwargs),
                              prepend)

    def register_full_backward_hook(self, hook: Callable[..., Any],
                                    prepend: bool = False) -> RemovableHandle:
        """Call ``hook(module, grad_input, grad_output)`` when the gradients with respect to the
        module's inputs are computed; it may return a new ``grad_input``.

        ``grad_input`` has one entry per positional argument (None for non-tensors and for
        tensors that need no gradient), ``grad_output`` one per output. The hooks of a call
        run once, when the gradients of all its inputs are complete (when no input requires
        grad: with the outputs' gradients, and ``grad_input`` all None).

        >>> import chainrule as cr
        >>> from chainrule import nn
        >>> m = nn.Linear(3, 1)
        >>> h = m.register_full_backward_hook(
        ...     lambda mod, gin, gout: print(gin[0].shape, gout[0].shape))
        >>> m(cr.ones(2, 3, requires_grad=True)).sum().backward()
        torch.Size([2, 3]) torch.Size([2, 1])
        """
        return self._add_hook("_backward_hooks", next(_hook_ids), hook, hook, prepend)

    def register_full_backward_pre_hook(self, hook: Callable[..., Any],
                                        prepend: bool = False) -> RemovableHandle:
        """Call ``hook(module, grad_output)`` when the gradients with respect to the module's
        outputs are known; it may return a new ``grad_output``."""
        return self._add_hook("_backward_pre_hooks", next(_hook_ids), hook, hook, prepend)

    def register_backward_hook(self, hook: Callable[..., Any]) -> RemovableHandle:
        raise NotImplementedError(
            "register_backward_hook (PyTorch's deprecated hook, which sees the gradients of the "
            "module's last op only) is not supported; use register_full_backward_hook(hook), "
            "called with the gradients with respect to the module's inputs and outputs"
        )

    # -- registration -----------------------------------------------------------------------
    def _stores(self, name: str, value: Any) -> dict:
        d = self.__dict__
        if "_parameters" not in d:
            raise AttributeError(
                f"cannot assign {type(value).__name__} {name!r} before Module.__init__() has "
                f"run: call super().__init__() first in {type(self).__name__}.__init__"
            )
        return d

    def __setattr__(self, name: str, value: Any) -> None:
        d = self.__dict__
        if isinstance(value, Parameter):
            self._stores(name, value)
            self._forget(name, keep="_parameters")
            d["_parameters"][name] = value
        elif isinstance(value, Module):
            self._stores(name, value)
            self._forget(name, keep="_modules")
            d["_modules"][name] = value
        elif "_parameters" in d and name in d["_parameters"]:
            if value is not None:
                raise TypeError(
                    f"cannot assign {type(value).__name__} to {type(self).__name__}.{name}, "
                    "which is a Parameter: assign a cr.nn.Parameter (or None), or change its "
                    f"values in place with `with cr.no_grad(): {name}.copy_(value)`"
                )
            d["_parameters"][name] = None
        elif "_modules" in d and name in d["_modules"]:
            if value is not None:
                raise TypeError(
                    f"cannot assign {type(value).__name__} to {type(self).__name__}.{name}, "
                    "which is a sub-module: assign a Module (or None)"
                )
            d["_modules"][name] = None
        elif "_buffers" in d and name in d["_buffers"]:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(
                    f"cannot assign {type(value).__name__} to {type(self).__name__}.{name}, "
                    "which is a buffer: assign a Tensor (or None)"
                )
            d["_buffers"][name] = value
        else:
            object.__setattr__(self, name, value)

    def _forget(self, name: str, keep: str = "") -> None:
        """Remove ``name`` from every store but ``keep`` (whose entry keeps its position)."""
        d = self.__dict__
        d.pop(name, None)
        for store in ("_parameters", "_buffers", "_modules"):
            if store != keep:
                d[store].pop(name, None)
        d["_non_persistent"].discard(name)

    def __getattr__(self, name: str) -> Any:
        d = self.__dict__
        for store in ("_parameters", "_buffers", "_modules"):
            s = d.get(store)
            if s is not None and name in s:
                return s[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name: str) -> None:
        d = self.__dict__
        for store in ("_parameters", "_buffers", "_modules"):
            if name in d.get(store, ()):
                del d[store][name]
                d["_non_persistent"].discard(name)
                return
        object.__delattr__(self, name)

    def __dir__(self) -> list[str]:
        d = self.__dict__
        extra = itertools.chain(d.get("_parameters", ()), d.get("_buffers", ()),
                                d.get("_modules", ()))
        return sorted(set(super().__dir__()) | set(extra))

    def _check_name(self, name: Any, kind: str) -> None:
        if not isinstance(name, str):
            raise TypeError(f"{kind} name must be a string, got {type(name).__name__}")
        if not name or "." in name:
            raise KeyError(f"{kind} name {name!r} must be non-empty and contain no '.'")
        d = self.__dict__
        if name in d or (hasattr(type(self), name) and name not in d["_parameters"]
                         and name not in d["_buffers"] and name not in d["_modules"]):
            raise KeyError(f"attribute {name!r} already exists on {type(self).__name__}")

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Register ``param`` (or None: a declared but absent parameter) under ``name``."""
        self._stores(name, param)
        self._check_name(name, "parameter")
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(
                f"register_parameter: {name!r} must be a cr.nn.Parameter or None, got "
                f"{type(param).__name__}; wrap it: Parameter(tensor)"
            )
        self._forget(name, keep="_parameters")
        self.__dict__["_parameters"][name] = param

    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        """Register a tensor that is state but not learned (running statistics, masks).

        Persistent buffers go in ``state_dict()``; all are converted by ``to(dtype)``.

        >>> import chainrule as cr
        >>> from chainrule import nn
        >>> m = nn.Module()
        >>> m.register_buffer("running_mean", cr.zeros(3))
        >>> list(m.state_dict())
        ['running_mean']
        """
        self._stores(name, tensor)
        self._check_name(name, "buffer")
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(
                f"register_buffer: {name!r} must be a Tensor or None, got {type(tensor).__name__}"
            )
        self._forget(name, keep="_buffers")
        self.__dict__["_buffers"][name] = tensor
        if not persistent:
            self.__dict__["_non_persistent"].add(name)

    def add_module(self, name: str, module: Module | None) -> None:
        """Register ``module`` as a child under ``name``."""
        self._stores(name, module)
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"add_module: {name!r} must be a Module or None, got "
                            f"{type(module).__name__}")
        if not isinstance(name, str) or "." in name or not name:
            raise KeyError(f"module name {name!r} must be a non-empty string without '.'")
        self._forget(name, keep="_modules")
        self.__dict__["_modules"][name] = module

    register_module = add_module

    def get_submodule(self, target: str) -> Module:
        """The sub-module at a dotted path such as ``"encoder.0"``."""
        mod: Module = self
        if target == "":
            return mod
        for part in target.split("."):
            nxt = mod._modules.get(part)
            if nxt is None:
                raise AttributeError(
                    f"get_submodule: {type(mod).__name__} has no sub-module {part!r} (looking "
                    f"up {target!r}); its children are {list(mod._modules)}"
                )
            mod = nxt
        return mod

    def get_parameter(self, target: str) -> Parameter:
        mod_path, _, name = target.rpartition(".")
        mod = self.get_submodule(mod_path)
        p = mod._parameters.get(name)
        if p is None:
            raise AttributeError(f"get_parameter: {type(mod).__name__} has no parameter {name!r}")
        return p

    # -- iteration --------------------------------------------------------------------------
    def named_modules(self, memo: set[int] | None = None, prefix: str = "",
                      remove_duplicate: bool = True) -> Iterator[tuple[str, Module]]:
        """``(dotted_name, module)`` for this module (name ``""``) and every descendant."""
        if memo is None:
            memo = set()
        if remove_duplicate:
            if id(self) in memo:
                return
            memo.add(id(self))
        yield prefix, self
        for name, m in self._modules.items():
            if m is None:
                continue
            yield from m.named_modules(memo, prefix + ("." if prefix else "") + name,
                                       remove_duplicate)

    def modules(self) -> Iterator[Module]:
        for _, m in self.named_modules():
            yield m

    def named_children(self) -> Iterator[tuple[str, Module]]:
        seen: set[int] = set()
        for name, m in self._modules.items():
            if m is not None and id(m) not in seen:
                seen.add(id(m))
                yield name, m

    def children(self) -> Iterator[Module]:
        for _, m in self.named_children():
            yield m

    def _named_members(self, store: str, prefix: str, recurse: bool,
                       remove_duplicate: bool = True) -> Iterator[tuple[str, Any]]:
        seen: set[int] = set()
        mods = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate) if recurse \
            else [(prefix, self)]
        for mprefix, m in mods:
            for name, v in m.__dict__[store].items():
                if v is None:
                    continue
                if remove_duplicate:
                    if id(v) in seen:
                        continue
                    seen.add(id(v))
                yield mprefix + ("." if mprefix else "") + name, v

    def named_parameters(self, prefix: str = "", recurse: bool = True,
                         remove_duplicate: bool = True) -> Iterator[tuple[str, Parameter]]:
        """``(dotted_name, parameter)`` pairs, each shared parameter once.

        >>> from chainrule import nn
        >>> m = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
        >>> [(n, tuple(p.shape)) for n, p in m.named_parameters()]
        [('0.weight', (3, 2)), ('0.bias', (3,)), ('2.weight', (1, 3)), ('2.bias', (1,))]
        """
        return self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix: str = "", recurse: bool = True,
                      remove_duplicate: bool = True) -> Iterator[tuple[str, Tensor]]:
        return self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    def num_parameters(self, only_trainable: bool = False) -> int:
        """The number of scalar weights (each shared parameter counted once)."""
        return sum(p.numel() for p in self.parameters()
                   if p.requires_grad or not only_trainable)

    # -- state ------------------------------------------------------------------------------
    def state_dict(self, destination: OrderedDict[str, Tensor] | None = None, prefix: str = "",
                   keep_vars: bool = False) -> OrderedDict[str, Tensor]:
        """Every parameter and persistent buffer by dotted name, detached, sharing memory.

        >>> from chainrule import nn
        >>> sd = nn.Linear(2, 3).state_dict()
        >>> list(sd), sd["weight"].requires_grad
        (['weight', 'bias'], False)
        """
        out: OrderedDict[str, Tensor] = OrderedDict() if destination is None else destination
        # NOTE: no de-duplication, as in PyTorch: a module used twice is saved under both names.
        for mprefix, m in self.named_modules(prefix=prefix.rstrip("."), remove_duplicate=False):
            dot = mprefix + ("." if mprefix else "")
            for name, p in m._parameters.items():
                if p is not None:
                    out[dot + name] = p if keep_vars else p.detach()
            for name, b in m._buffers.items():
                if b is not None and name not in m._non_persistent:
                    out[dot + name] = b if keep_vars else b.detach()
        return out

    def load_state_dict(self, state_dict: Mapping[str, Any], strict: bool = True) -> Any:
        """Copy values from ``state_dict`` into this module's parameters and buffers, in place.

        Missing and unexpected keys (with ``strict``) and shape mismatches (always) are all
        reported together in one error. Returns ``(missing_keys, unexpected_keys)``.

        >>> from chainrule import nn
        >>> a, b = nn.Linear(2, 2), nn.Linear(2, 2)
        >>> b.load_state_dict(a.state_dict())
        <All keys matched successfully>
        >>> bool((a.weight == b.weight).all())
        True
        """
        return _state.load_state_dict(self, state_dict, strict)

    # -- modes and conversion ---------------------------------------------------------------
    def train(self: M, mode: bool = True) -> M:
        """Set training mode (Dropout drops, BatchNorm uses batch statistics) recursively."""
        if not isinstance(mode, bool):
            raise ValueError(f"train: mode must be a bool, got {mode!r}")
        for m in self.modules():
            m.__dict__["training"] = mode
        return self

    def eval(self: M) -> M:
        """Set evaluation mode recursively: ``train(False)``."""
        return self.train(False)

    def requires_grad_(self: M, requires_grad: bool = True) -> M:
        """Turn gradient recording on or off for every parameter (freezing layers)."""
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of all parameters: to None (default) or to zeros in place."""
        for p in self.parameters():
            if p.grad is None:
                continue
            if set_to_none:
                p.grad = None
            else:
                g = p.grad
                if g._node is not None:
                    g = p.grad = g.detach()
                g._data[...] = 0
                g._vc[0] += 1

    def apply(self: M, fn: Callable[[Module], Any]) -> M:
        """Call ``fn(module)`` on every sub-module (children first) and then on this one."""
        for m in self.children():
            m.apply(fn)
        fn(self)
        return self

    def to(self: M, *args: Any, **kwargs: Any) -> M:
        """Convert floating-point parameters and buffers to a dtype, in place.

        Parameters stay the same objects (an optimizer built earlier keeps working); their
        gradients are converted too. ``to("cpu")`` is accepted and does nothing.

        >>> import chainrule as cr
        >>> from chainrule import nn
        >>> m = nn.Linear(2, 2).to(cr.float64)
        >>> m.weight.dtype
        torch.float64
        """
        return _convert.to(self, args, kwargs)

    def float(self: M) -> M:
        return self.to("float32")

    def double(self: M) -> M:
        return self.to("float64")

    def half(self: M) -> M:
        return self.to("float16")

    def cpu(self: M) -> M:
        return self

    def cuda(self: M, device: Any = None) -> M:
        from ..core.compat import CPU_ONLY, UnsupportedError

        raise UnsupportedError(f"Module.cuda() is not supported: {CPU_ONLY}")

    def type(self: M, dst_type: Any) -> M:
        return self.to(dst_type)

    # -- repr -------------------------------------------------------------------------------
    def extra_repr(self) -> str:
        """The text inside this module's parentheses in ``repr`` (its configuration)."""
        return ""

    def _get_name(self) -> str:
        return type(self).__name__

    def __repr__(self) -> str:
        extra = self.extra_repr()
        extra_lines = extra.split("\n") if extra else []
        child_lines = [f"({k}): " + _addindent(repr(m), 2) for k, m in self._modules.items()]
        lines = extra_lines + child_lines
        s = self._get_name() + "("
        if lines:
            if len(extra_lines) == 1 and not child_lines:
                s += extra_lines[0]
            else:
                s += "\n  " + "\n  ".join(lines) + "\n"
        return s + ")"

    def __deepcopy__(self, memo: dict) -> Module:
        cls = type(self)
        new = cls.__new__(cls)
        memo[id(self)] = new
        for k, v in self.__dict__.items():
            new.__dict__[k] = copy.deepcopy(v, memo)
        return new

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self.__dict__.setdefault("_non_persistent", set())


def __getattr__(name: str) -> Any:
    # Sequential and ModuleList live in containers.py (which imports Module from here); their
    # old address ``chainrule.nn.module.Sequential`` (and old pickles naming it) still works.
    if name in ("Sequential", "ModuleList"):
        from . import containers

        return getattr(containers, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
