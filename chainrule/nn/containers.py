"""Containers that register what they hold: ModuleDict, ParameterList, ParameterDict.

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

from typing import Any, Iterable, Iterator, Mapping

from ..core.tensor import Tensor
from .module import Module, Parameter, _check_module

__all__ = ["ModuleDict", "ParameterList", "ParameterDict"]


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
    return f"({key}): Parameter containing: [torch.{p.dtype} of size {size}]"


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
