"""Containers that register what they hold: Sequential, ModuleList, ModuleDict,
ParameterList, ParameterDict.

As in PyTorch, a plain tensor put into a ParameterList/ParameterDict becomes a Parameter,
and the entries' names in ``state_dict()`` are the list positions or the dict keys.

>>> import chainrule as cr
>>> from chainrule import nn
>>> heads = nn.ModuleDict({"a": nn.Linear(2, 1), "b": nn.Linear(2, 3)})
>>> [k for k, _ in heads.named_parameters()]
['a.weight', 'a.bias', 'b.weight', 'b.bias']
>>> ps = nn.ParameterList([nn.Parameter(cr.zeros(2)), cr.ones(3)])
>>> len(ps), [tuple(p.shape) for p in ps], list(ps.state_dict())
(2, [(2,), (3,)], ['0', '1'])
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any, Iterable, Iterator, Mapping

from ..core.tensor import Tensor
from .module import Module, Parameter, _addindent

__all__ = ["Sequential", "ModuleList", "ModuleDict", "ParameterList", "ParameterDict"]


class Sequential(Module):
    """Modules applied one after another: ``Sequential(a, b, c)(x) == c(b(a(x)))``.

    >>> import chainrule as cr
    >>> from chainrule import nn
    >>> model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    >>> model(cr.ones(5, 4)).shape
    torch.Size([5, 2])
    >>> model[:2]
    Sequential(
      (0): Linear(in_features=4, out_features=8, bias=True)
      (1): ReLU()
    )
    """

    def __init__(self, *args: Any) -> None:
        """``Sequential(m0, m1, ...)``, or ``Sequential(OrderedDict(name=module, ...))``."""
        super().__init__()
        if len(args) == 1 and isinstance(args[0], (OrderedDict, dict)):
            for name, m in args[0].items():
                self.add_module(name, _check_module(m, "Sequential", name))
        else:
            for i, m in enumerate(args):
                self.add_module(str(i), _check_module(m, "Sequential", i))

    def forward(self, input: Any) -> Any:
        for m in self._modules.values():
            if m is not None:
                input = m(input)
        return input

    def _index(self, idx: int) -> str:
        n = len(self._modules)
        if not isinstance(idx, int) or isinstance(idx, bool):
            raise TypeError(f"{type(self).__name__} indices must be ints or slices, got "
                            f"{type(idx).__name__}")
        if not -n <= idx < n:
            raise IndexError(
                f"{type(self).__name__} index {idx} is out of range for a "
                f"{type(self).__name__} of {n} modules"
            )
        return list(self._modules)[idx % n]

    def __getitem__(self, idx: int | slice) -> Any:
        if isinstance(idx, slice):
            return type(self)(OrderedDict(list(self._modules.items())[idx]))  # type: ignore
        return self._modules[self._index(idx)]

    def __setitem__(self, idx: int, module: Module) -> None:
        self.add_module(self._index(idx), _check_module(module, type(self).__name__, idx))

    def __delitem__(self, idx: int | slice) -> None:
        keys = list(self._modules)[idx] if isinstance(idx, slice) else [self._index(idx)]
        for k in keys:
            del self._modules[k]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())  # type: ignore[arg-type]

    def append(self, module: Module) -> Sequential:
        """Add ``module`` at the end."""
        self.add_module(str(len(self._modules)), _check_module(module, "Sequential", "append"))
        return self

    def extend(self, modules: Iterable[Module]) -> Sequential:
        for m in modules:
            self.append(m)
        return self


def _check_module(m: Any, where: str, key: Any) -> Module:
    if not isinstance(m, Module):
        hint = " (call it: nn.ReLU(), not nn.ReLU)" if isinstance(m, type) and issubclass(
            m, Module) else ""
        raise TypeError(f"{where}: element {key!r} is a {type(m).__name__}, not a Module{hint}")
    return m


class ModuleList(Module):
    """A list of modules whose parameters are registered (a plain list hides them).

    >>> from chainrule import nn
    >>> layers = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])
    >>> len(layers), len(list(layers.parameters()))
    (3, 6)
    """

    def __init__(self, modules: Iterable[Module] | None = None) -> None:
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(
            "ModuleList has no forward(): it is a container; iterate over it in your own "
            "forward (for layer in self.layers: x = layer(x)) or use nn.Sequential"
        )

    def _index(self, idx: int) -> str:
        return Sequential._index(self, idx)  # type: ignore[arg-type]

    def __getitem__(self, idx: int | slice) -> Any:
        if isinstance(idx, slice):
            return ModuleList(list(self._modules.values())[idx])  # type: ignore[arg-type]
        return self._modules[self._index(idx)]

    def __setitem__(self, idx: int, module: Module) -> None:
        self.add_module(self._index(idx), _check_module(module, "ModuleList", idx))

    def __delitem__(self, idx: int | slice) -> None:
        mods = list(self._modules.values())
        del mods[idx]
        self._modules.clear()
        for i, m in enumerate(mods):
            self._modules[str(i)] = m

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())  # type: ignore[arg-type]

    def __iadd__(self, modules: Iterable[Module]) -> ModuleList:
        return self.extend(modules)

    def append(self, module: Module) -> ModuleList:
        self.add_module(str(len(self._modules)), _check_module(module, "ModuleList", "append"))
        return self

    def extend(self, modules: Iterable[Module]) -> ModuleList:
        if isinstance(modules, Module) and not isinstance(modules, (ModuleList, Sequential)):
            raise TypeError("ModuleList.extend: expects an iterable of modules; use append for "
                            "a single module")
        for m in modules:
            self.append(m)
        return self

    def insert(self, index: int, module: Module) -> None:
        mods = list(self._modules.values())
        mods.insert(index, _check_module(module, "ModuleList", index))
        self._modules.clear()
        for i, m in enumerate(mods):
            self._modules[str(i)] = m

    def __repr__(self) -> str:
        # NOTE: runs of identical modules are folded, as PyTorch does: (0-2): 3 x Linear(...)
        reprs = [repr(m) for m in self._modules.values()]
        if not reprs:
            return "ModuleList()"
        lines: list[str] = []
        start = 0
        for i in range(1, len(reprs) + 1):
            if i == len(reprs) or reprs[i] != reprs[start]:
                body = _addindent(reprs[start], 2)
                if i - start == 1:
                    lines.append(f"({start}): {body}")
                else:
                    lines.append(f"({start}-{i - 1}): {i - start} x {body}")
                start = i
        return "ModuleList(\n  " + "\n  ".join(lines) + "\n)"


def _pairs(values: Any, where: str) -> Iterable[tuple[Any, Any]]:
    if isinstance(values, (Mapping, ModuleDict, ParameterDict)):
        return list(values.items())
    out = []
    for i, kv in enumerate(values):
        if not isinstance(kv, (tuple, list)) or len(kv) != 2:
            raise TypeError(f"{where}.update: element {i} should be a (key, value) pair, got "
                            f"{type(kv).__name__}")
        out.append(tuple(kv))
    return out


def _no_forward(name: str) -> Any:
    def forward(self: Any, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(
            f"{name} has no forward(): it is a container; use its entries in your own forward")

    return forward


class ModuleDict(Module):
    """An ordered dict of modules whose parameters are registered."""

    forward = _no_forward("ModuleDict")

    def __init__(self, modules: Mapping[str, Module] | None = None) -> None:
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key: str) -> Module:
        return self._modules[key]  # type: ignore[return-value]

    def __setitem__(self, key: str, module: Module) -> None:
        self.add_module(key, _check_module(module, "ModuleDict", key))

    def __delitem__(self, key: str) -> None:
        del self._modules[key]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[str]:
        return iter(self._modules)

    def __contains__(self, key: object) -> bool:
        return key in self._modules

    def keys(self) -> Iterable[str]:
        return self._modules.keys()

    def values(self) -> Iterable[Module]:
        return self._modules.values()  # type: ignore[return-value]

    def items(self) -> Iterable[tuple[str, Module]]:
        return self._modules.items()  # type: ignore[return-value]

    def update(self, modules: Any) -> None:
        for k, m in _pairs(modules, "ModuleDict"):
            self[k] = m

    def pop(self, key: str) -> Module:
        m = self[key]
        del self[key]
        return m

    def clear(self) -> None:
        self._modules.clear()


def _as_parameter(value: Any) -> Any:
    if isinstance(value, Tensor) and not isinstance(value, Parameter):
        return Parameter(value)
    return value


def _param_line(key: str, p: Any) -> str:
    if not isinstance(p, Tensor):
        return f"({key}): Object of type: {type(p).__name__}"
    size = "x".join(str(s) for s in p.shape)
    return f"({key}): Parameter containing: [{p.dtype} of size {size}]"


class ParameterList(Module):
    """A list of parameters (plain tensors are wrapped in Parameter), registered under
    '0', '1', ..."""

    forward = _no_forward("ParameterList")

    def __init__(self, values: Iterable[Any] | None = None) -> None:
        super().__init__()
        self.__dict__["_size"] = 0
        if values is not None:
            self.extend(values)

    def _key(self, idx: int) -> str:
        n = self._size
        if not -n <= idx < n:
            raise IndexError(f"ParameterList index {idx} is out of range (length {n})")
        return str(idx % n)

    def __getitem__(self, idx: Any) -> Any:
        if isinstance(idx, slice):
            return ParameterList(list(self)[idx])
        return getattr(self, self._key(idx))

    def __setitem__(self, idx: int, value: Any) -> None:
        setattr(self, self._key(idx), _as_parameter(value))

    def __len__(self) -> int:
        return self._size

    def __iter__(self) -> Iterator[Any]:
        return (getattr(self, str(i)) for i in range(self._size))

    def __iadd__(self, values: Iterable[Any]) -> ParameterList:
        return self.extend(values)

    def append(self, value: Any) -> ParameterList:
        self.__dict__["_size"] += 1
        setattr(self, str(self._size - 1), _as_parameter(value))
        return self

    def extend(self, values: Iterable[Any]) -> ParameterList:
        if isinstance(values, Tensor):
            raise TypeError("ParameterList.extend: expects an iterable of parameters; use "
                            "append for a single one")
        for v in values:
            self.append(v)
        return self

    def extra_repr(self) -> str:
        return "\n".join(_param_line(str(i), p) for i, p in enumerate(self))


class ParameterDict(Module):
    """An ordered dict of parameters (plain tensors are wrapped in Parameter)."""

    forward = _no_forward("ParameterDict")

    def __init__(self, parameters: Any = None) -> None:
        super().__init__()
        self.__dict__["_keys"] = {}
        if parameters is not None:
            self.update(parameters)

    def __getitem__(self, key: str) -> Any:
        if key not in self._keys:
            raise KeyError(key)
        return getattr(self, key)

    def __setitem__(self, key: str, value: Any) -> None:
        self._keys[key] = None
        setattr(self, key, _as_parameter(value))

    def __delitem__(self, key: str) -> None:
        del self._keys[key]
        delattr(self, key)

    def __len__(self) -> int:
        return len(self._keys)

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys)

    def __contains__(self, key: object) -> bool:
        return key in self._keys

    def keys(self) -> Iterable[str]:
        return self._keys.keys()

    def values(self) -> Iterable[Any]:
        return [self[k] for k in self._keys]

    def items(self) -> Iterable[tuple[str, Any]]:
        return [(k, self[k]) for k in self._keys]

    def get(self, key: str, default: Any = None) -> Any:
        return self[key] if key in self else default

    def update(self, parameters: Any) -> None:
        for k, v in _pairs(parameters, "ParameterDict"):
            self[k] = v

    def pop(self, key: str) -> Any:
        v = self[key]
        del self[key]
        return v

    def clear(self) -> None:
        for k in list(self._keys):
            del self[k]

    def extra_repr(self) -> str:
        return "\n".join(_param_line(k, p) for k, p in self.items())
