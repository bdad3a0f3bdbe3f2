"""``torch`` as another name for chainrule: ``chainrule.as_torch()`` and ``chainrule run``.

``import chainrule as torch`` covers ``torch.zeros`` but not the ``import torch.nn as nn`` or
``from torch.utils.data import DataLoader`` lines nearly every program has: Python would look
for a package named ``torch``. :func:`as_torch` binds ``torch`` in ``sys.modules`` to chainrule
and puts an import finder first on ``sys.meta_path`` that answers every ``torch.X`` with the
module object ``chainrule.X`` (not a copy: one Tensor class, so ``isinstance`` works).

>>> import chainrule
>>> with chainrule.as_torch():
...     import torch.nn as nn
...     from torch.utils.data import DataLoader
>>> nn is chainrule.nn, DataLoader is chainrule.data.DataLoader
(True, True)

A few PyTorch module paths have no chainrule module of their own: ``torch.nn.modules.<sub>``
and ``torch.nn.parameter`` are views of ``chainrule.nn`` (their names are its names). A
``torch.X`` that chainrule lacks raises an ImportError that names it and says what to use.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import os
import sys
import types
from typing import Any, Sequence

from .core.compat import UnsupportedImportError

__all__ = ["as_torch", "run_path", "UnsupportedModuleError", "resolve"]


class UnsupportedModuleError(ModuleNotFoundError, UnsupportedImportError):
    """``import torch.X`` for a PyTorch module chainrule does not have."""


# torch.X -> chainrule.X is the rule; these are the exceptions.
_RENAMED = {
    "torch.utils.data.dataloader": "chainrule.data.dataloader",
    "torch.utils.data.dataset": "chainrule.data.dataset",
    "torch.utils.data.sampler": "chainrule.data.sampler",
    "torch.utils.data.distributed": "chainrule.data.distributed",
    "torch.optim.adam": "chainrule.optim.adam",
}
# Paths whose names all live in chainrule.nn (or a module of it): served by a view module.
_VIEWS = {
    "torch.nn.modules": ("chainrule.nn",),
    "torch.nn.modules.module": ("chainrule.nn.module", "chainrule.nn"),
    "torch.nn.modules.loss": ("chainrule.nn.loss", "chainrule.nn"),
    "torch.nn.parameter": ("chainrule.nn",),
    "torch.autograd.variable": ("chainrule.autograd",),
}
_VIEW_SUBMODULES = ("linear conv activation pooling batchnorm normalization dropout container "
                    "flatten padding sparse rnn transformer distance upsampling pixelshuffle "
                    "channelshuffle fold adaptive instancenorm lazy").split()
for _sub in _VIEW_SUBMODULES:
    _VIEWS.setdefault(f"torch.nn.modules.{_sub}", ("chainrule.nn",))

# Modules other work adds to chainrule: until they exist, importing them says so.
_COMING: dict[str, str] = {}


def _message(name: str) -> str:
    from .core import compat

    if name in _COMING:
        return _COMING[name]
    parts = name.split(".")
    ns = compat._NAMESPACES.get(parts[1]) if len(parts) > 1 else None
    if ns is not None:
        return ns._message
    return "chainrule does not implement it"


def _missing(name: str) -> UnsupportedModuleError:
    return UnsupportedModuleError(
        f"No module named {name!r}: {name} is a PyTorch module chainrule does not have; "
        f"{_message(name)}", name=name)


class _View(types.ModuleType):
    """``torch.nn.modules.linear`` and the like: the names of chainrule modules, read live."""

    def __init__(self, name: str, sources: Sequence[str]) -> None:
        super().__init__(name)
        self.__dict__["_sources"] = tuple(sources)

    def __getattr__(self, attr: str) -> Any:
        if attr[:2] == "__":
            raise AttributeError(attr)
        for src in self._sources:
            mod = importlib.import_module(src)
            if attr in vars(mod) or attr in getattr(mod, "__all__", ()):
                return getattr(mod, attr)
        from .core.compat import module_missing

        main = importlib.import_module(self._sources[-1])
        res = module_missing(attr, getattr(main, "__all__", dir(main)), module=self.__name__)
        if isinstance(res, BaseException):
            raise res
        return res

    def __dir__(self) -> list[str]:
        names: set[str] = set()
        for src in self._sources:
            names.update(getattr(importlib.import_module(src), "__all__", ()))
        return sorted(names)


_view_cache: dict[str, _View] = {}


def resolve(name: str) -> types.ModuleType:
    """The chainrule module that answers ``import name`` (``name`` is ``torch`` or
    ``torch.X...``); an :class:`UnsupportedModuleError` when chainrule has none."""
    if name == "torch":
        return importlib.import_module("chainrule")
    if name in _VIEWS:
        if name not in _view_cache:
            view = _View(name, _VIEWS[name])
            view.__path__ = []  # a package: torch.nn.modules.linear resolves beneath it
            _view_cache[name] = view
        return _view_cache[name]
    target = _RENAMED.get(name, "chainrule" + name[len("torch"):])
    try:
        mod = importlib.import_module(target)
    except ModuleNotFoundError as e:
        if e.name is None or not target.startswith(e.name):
            raise  # a dependency of the module is missing, not the module itself
        parent, _, child = target.rpartition(".")
        found = getattr(sys.modules.get(parent), child, None)
        if isinstance(found, types.ModuleType):  # e.g. a module kept as an attribute
            return found
        raise _missing(name) from None
    return mod


class _Loader(importlib.abc.Loader):
    def __init__(self, module: types.ModuleType) -> None:
        self.module = module
        self.spec = getattr(module, "__spec__", None)

    def create_module(self, spec: Any) -> types.ModuleType:
        return self.module

    def exec_module(self, module: types.ModuleType) -> None:
        # NOTE: importlib stamps our torch.* spec on the module; it stays chainrule's module.
        if self.spec is not None:
            module.__spec__ = self.spec


class _Finder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        if fullname != "torch" and not fullname.startswith("torch."):
            return None
        module = resolve(fullname)
        if not hasattr(module, "__path__"):
            # NOTE: Python imports torch.utils.data.sampler only beneath a package, whatever
            # the finder: a module gets an empty __path__ while the alias is on.
            module.__path__ = []  # type: ignore[attr-defined]
            _given_path.add(module)
        return importlib.machinery.ModuleSpec(fullname, _Loader(module), is_package=True)


_FINDER = _Finder()
_given_path: set[types.ModuleType] = set()
_saved: list[dict[str, Any]] = []


def _torch_keys() -> list[str]:
    return [k for k in sys.modules if k == "torch" or k.startswith("torch.")]


def install() -> None:
    """Bind ``torch`` and every ``torch.X`` to chainrule (until :func:`uninstall`)."""
    _saved.append({k: sys.modules.pop(k) for k in _torch_keys()})
    if _FINDER not in sys.meta_path:
        sys.meta_path.insert(0, _FINDER)
    sys.modules["torch"] = importlib.import_module("chainrule")


def uninstall() -> None:
    """Undo the last :func:`install`: ``torch`` means what it meant before."""
    for k in _torch_keys():
        del sys.modules[k]
    if _saved:
        sys.modules.update(_saved.pop())
    if not _saved and _FINDER in sys.meta_path:
        sys.meta_path.remove(_FINDER)
    if not _saved:
        for module in _given_path:
            if module.__dict__.get("__path__") == []:
                del module.__path__
        _given_path.clear()
    for name in list(_view_cache):  # attributes importlib set on chainrule.nn and the like
        parent, _, child = name.rpartition(".")
        holder = sys.modules.get("chainrule" + parent[len("torch"):])
        if holder is not None and holder.__dict__.get(child) is _view_cache[name]:
            delattr(holder, child)


class as_torch:
    """Make ``import torch`` (and ``torch.nn``, ``torch.utils.data``, ...) import chainrule.

    Takes effect when called; as a context manager, undone when the block ends.

    >>> import sys, chainrule
    >>> with chainrule.as_torch() as torch:
    ...     import torch.nn
    ...     torch is chainrule and sys.modules["torch.nn"] is chainrule.nn
    True
    """

    def __init__(self) -> None:
        install()
        self._active = True

    def __enter__(self) -> types.ModuleType:
        return sys.modules["chainrule"]

    def __exit__(self, *exc: Any) -> None:
        if self._active:
            self._active = False
            uninstall()


def run_path(script: str, args: Sequence[str] = ()) -> None:
    """Run ``script`` as ``python script args...`` would, with ``torch`` meaning chainrule.

    ``sys.argv``, ``sys.path[0]`` and ``__name__ == "__main__"`` are what Python gives a
    script; exceptions propagate (the caller prints them as Python would).
    """
    import runpy

    if not os.path.exists(script):
        raise FileNotFoundError(f"chainrule run: can't open file {script!r}: no such file")
    old_argv, old_path0 = sys.argv[:], sys.path[0] if sys.path else None
    sys.argv = [script, *args]
    sys.path.insert(0, os.path.dirname(os.path.abspath(script)))
    install()
    try:
        # NOTE: as Python 3.9+ does for `python script.py`: __file__ (and the traceback) give
        # the absolute path, sys.argv[0] the path as typed.
        runpy.run_path(os.path.abspath(script), run_name="__main__")
    finally:
        uninstall()
        sys.argv = old_argv
        if sys.path and sys.path[0] != old_path0:
            del sys.path[0]
