"""Whole objects in checkpoints (``torch.save(model, f)``), loaded safely as PyTorch 2.6+ does.

:func:`chainrule.save` writes tensors, arrays, plain values and containers of them as
safetensors (see :mod:`chainrule.serialization`). Anything else, a whole model say, is written
in this module's format: a pickle of the object in which every tensor, array and NumPy scalar
is replaced by a reference into a safetensors table, so the numbers never go through pickle::

    CHAINRULE-PICKLE/1\\n | SHA-256 of the rest (32 bytes) | pickle length (8 bytes, little
    endian) | pickle | safetensors table

:func:`chainrule.load` reads it with ``weights_only=True`` by default, as PyTorch 2.6 does:
a restricted unpickler that builds only containers, plain values, tensors and the classes
and functions allow-listed with :func:`add_safe_globals` or :class:`safe_globals`. Anything
else stops the load with an error that names it and says how to allow it. Arbitrary pickles
(which can run any code) load only with an explicit ``weights_only=False``.

>>> import io, chainrule as cr
>>> model = cr.nn.Linear(2, 1)
>>> buf = io.BytesIO(); cr.save(model, buf); _ = buf.seek(0)
>>> with safe_globals([cr.nn.Linear]):
...     type(cr.load(buf)).__name__
'Linear'
"""

from __future__ import annotations

import builtins
import collections
import contextlib
import hashlib
import io
import pickle
from typing import Any, Iterable

from .backend import generic, ndarray, xp
from .core.tensor import Tensor

__all__ = ["add_safe_globals", "get_safe_globals", "clear_safe_globals", "safe_globals",
           "dumps", "loads", "is_pickled", "needs_pickle", "WeightsOnlyError"]

MAGIC = b"CHAINRULE-PICKLE/1\n"
_PROTOCOL = 4


class WeightsOnlyError(pickle.UnpicklingError):
    """``load(..., weights_only=True)`` met something that is not allowed to run."""


# What weights_only=True builds without being told: containers and plain values.
_DEFAULT_SAFE = {
    ("builtins", n): getattr(builtins, n)
    for n in ("dict list tuple set frozenset int float complex bool str bytes bytearray "
              "slice range").split()
}
_DEFAULT_SAFE[("collections", "OrderedDict")] = collections.OrderedDict
_DEFAULT_SAFE[("collections", "defaultdict")] = collections.defaultdict
_DEFAULT_SAFE[("collections", "deque")] = collections.deque

_user_safe: dict[tuple[str, str], Any] = {}


def _key(entry: Any) -> tuple[tuple[str, str], Any]:
    if isinstance(entry, tuple) and len(entry) == 2 and isinstance(entry[1], str):
        obj, name = entry
        module, _, qual = name.rpartition(".")
        return (module, qual), obj
    module = getattr(entry, "__module__", None)
    qual = getattr(entry, "__qualname__", None)
    if not isinstance(module, str) or not isinstance(qual, str):
        raise TypeError(f"add_safe_globals: {entry!r:.60} is not a class or function; give "
                        "classes/functions, or (object, 'module.name') pairs")
    return (module, qual), entry


def _core_safe() -> dict[tuple[str, str], Any]:
    from .core import compat
    from .nn.module import Parameter

    out: dict[tuple[str, str], Any] = {(c.__module__, c.__qualname__): c
                                       for c in (compat.Size, compat.device)}
    out[("numpy", "dtype")] = xp.dtype
    out[(Parameter.__module__, "Parameter")] = Parameter
    return out


def add_safe_globals(safe: Iterable[Any]) -> None:
    """Allow ``load(weights_only=True)`` to build these classes and call these functions
    (``torch.serialization.add_safe_globals``): only for code you trust."""
    for entry in safe:
        k, obj = _key(entry)
        _user_safe[k] = obj


def get_safe_globals() -> list[Any]:
    """The classes and functions allowed with :func:`add_safe_globals`."""
    return list(_user_safe.values())


def clear_safe_globals() -> None:
    _user_safe.clear()


class safe_globals(contextlib.ContextDecorator):
    """Allow these classes and functions for the loads inside the block only."""

    def __init__(self, safe: Iterable[Any]) -> None:
        self.safe = list(safe)

    def __enter__(self) -> None:
        self.saved = dict(_user_safe)
        add_safe_globals(self.safe)

    def __exit__(self, *exc: Any) -> None:
        _user_safe.clear()
        _user_safe.update(self.saved)


# -- writing ------------------------------------------------------------------------------------


class _Pickler(pickle.Pickler):
    def __init__(self, file: Any) -> None:
        super().__init__(file, protocol=_PROTOCOL)
        self.arrays: dict[str, ndarray] = {}
        self.seen: dict[int, tuple[Any, tuple]] = {}

    def persistent_id(self, obj: Any) -> Any:
        if not isinstance(obj, (Tensor, ndarray, generic)):
            return None
        hit = self.seen.get(id(obj))
        if hit is not None and hit[0] is obj:
            return hit[1]
        from .nn.module import Parameter

        if isinstance(obj, Tensor):
            arr = obj.detach().numpy()
            kind = "parameter" if isinstance(obj, Parameter) else "tensor"
            pid: tuple = (kind, str(len(self.arrays)), bool(obj.requires_grad))
        else:
            arr = xp.asarray(obj)
            pid = ("ndarray" if isinstance(obj, ndarray) else "npscalar",
                   str(len(self.arrays)), False)
        if arr.dtype.kind not in "fiub":
            raise TypeError(f"save: cannot store an array of dtype {arr.dtype}")
        self.arrays[pid[1]] = xp.ascontiguousarray(arr) if arr.ndim else arr.copy()
        self.seen[id(obj)] = (obj, pid)
        return pid


def dumps(obj: Any) -> bytes:
    """``obj`` in the pickled-checkpoint format (see the module doc)."""
    from .serialization import _safetensors

    buf = io.BytesIO()
    p = _Pickler(buf)
    try:
        p.dump(obj)
    except (pickle.PicklingError, AttributeError, TypeError) as e:
        where = _odd_path(obj, "obj")
        raise TypeError(f"save: cannot store the {type(obj).__name__} at {where}: it is not "
                        f"a tensor, array, plain value or container, and pickle fails on it "
                        f"({e}). Save a state_dict() or plain values instead") from e
    body = buf.getvalue()
    table = _safetensors().save(p.arrays) if p.arrays else b""
    rest = len(body).to_bytes(8, "little") + body + table
    return MAGIC + hashlib.sha256(rest).digest() + rest


_KEYS = (type(None), bool, int, float, str)


def needs_pickle(obj: Any, active: set[int] | None = None) -> bool:
    """Whether ``obj`` holds anything the safetensors format cannot (then it is pickled)."""
    if obj is None or isinstance(obj, (bool, str, int, float, generic, Tensor, ndarray)):
        return False
    if not isinstance(obj, (dict, list, tuple)):
        return True
    active = set() if active is None else active
    if id(obj) in active:
        return False  # a cycle: the safetensors writer reports it
    active.add(id(obj))
    try:
        if isinstance(obj, dict):
            if any(not isinstance(k, _KEYS) and not (
                    isinstance(k, tuple) and all(isinstance(k2, _KEYS) for k2 in k))
                   for k in obj):
                return True
            return any(needs_pickle(v, active) for v in obj.values())
        return any(needs_pickle(v, active) for v in obj)
    finally:
        active.discard(id(obj))


def _odd_path(obj: Any, where: str) -> str:
    """Where in ``obj`` the first value the safetensors format cannot hold is."""
    items: Iterable[tuple[Any, Any]] = ()
    if isinstance(obj, dict):
        items = obj.items()
    elif isinstance(obj, (list, tuple)):
        items = enumerate(obj)
    for k, v in items:
        if needs_pickle(v):
            return _odd_path(v, f"{where}[{k!r}]")
    return where


def is_pickled(data: bytes) -> bool:
    return data[:len(MAGIC)] == MAGIC


# -- reading ------------------------------------------------------------------------------------


def _unsafe_message(what: str, name: str) -> str:
    return (f"Weights only load failed for {name}: {what} is not an allowed global by default. "
            "If you trust the file, either allow it with "
            f"torch.serialization.add_safe_globals([{what.rpartition('.')[2]}]) (or the "
            "torch.serialization.safe_globals([...]) context manager), or load with "
            "torch.load(..., weights_only=False), which can run arbitrary code: only for "
            "files you trust.")


class _Unpickler(pickle.Unpickler):
    def __init__(self, file: Any, arrays: dict[str, ndarray], weights_only: bool,
                 name: str) -> None:
        super().__init__(file)
        self.arrays = arrays
        self.weights_only = weights_only
        self.name = name
        self.loaded: dict[str, Any] = {}
        self.allowed = {**_DEFAULT_SAFE, **_core_safe(), **_user_safe} if weights_only else {}

    def find_class(self, module: str, name: str) -> Any:
        if not self.weights_only:
            return super().find_class(module, name)
        obj = self.allowed.get((module, name))
        if obj is None:
            raise WeightsOnlyError(_unsafe_message(f"{module}.{name}", self.name))
        return obj

    def persistent_load(self, pid: Any) -> Any:
        from .core.creation import from_numpy
        from .nn.module import Parameter

        if not (isinstance(pid, tuple) and len(pid) == 3 and pid[1] in self.arrays):
            raise pickle.UnpicklingError(f"{self.name}: malformed checkpoint (bad reference "
                                         f"{pid!r:.60})")
        kind, key, requires_grad = pid
        if key in self.loaded:
            return self.loaded[key]
        arr = self.arrays[key]
        if kind == "parameter":
            out: Any = Parameter(from_numpy(arr), requires_grad=bool(requires_grad))
        elif kind == "tensor":
            out = from_numpy(arr)
            if requires_grad:
                out.requires_grad_(True)
        elif kind == "ndarray":
            out = arr
        else:
            out = arr[()]
        self.loaded[key] = out
        return out


def loads(data: bytes, name: str, weights_only: bool | None) -> Any:
    """The object in ``data`` (the pickled-checkpoint format)."""
    from .serialization import CheckpointError, _safetensors

    head = len(MAGIC)
    digest, rest = data[head:head + 32], data[head + 32:]
    if len(rest) < 8 or hashlib.sha256(rest).digest() != digest:
        raise CheckpointError(f"{name} is corrupted: its SHA-256 checksum does not match the "
                              "contents (damaged on disk or in transfer)")
    n = int.from_bytes(rest[:8], "little")
    body, table = rest[8:8 + n], rest[8 + n:]
    arrays = {k: (a if a.flags.writeable else a.copy())
              for k, a in (_safetensors().load(table) if table else {}).items()}
    up = _Unpickler(io.BytesIO(body), arrays, weights_only is not False, name)
    return up.load()


def load_other(data: bytes, name: str, weights_only: bool | None) -> Any:
    """A checkpoint that is not safetensors: ours pickled, or PyTorch's own zip format."""
    from .serialization import CheckpointError

    if not is_pickled(data):
        raise CheckpointError(
            f"{name} is a PyTorch checkpoint (torch.save's zip format), which chainrule does "
            "not read (it would run pickle). With PyTorch, convert its state dict to "
            "safetensors: safetensors.torch.save_file(torch.load(path), 'model.safetensors'); "
            "then model.load_state_dict(chainrule.load('model.safetensors')).")
    try:
        return loads(data, name, weights_only)
    except WeightsOnlyError:
        raise
    except (pickle.UnpicklingError, EOFError, ValueError) as e:
        if isinstance(e, CheckpointError):
            raise
        raise CheckpointError(f"{name} is corrupted: its pickled object cannot be read "
                              f"({e})") from None
