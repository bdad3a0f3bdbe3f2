"""Loading a state dict into a module: check every key, shape and dtype, report all problems
in one error, then copy in place (``Module.load_state_dict``)."""

from __future__ import annotations

from collections import namedtuple
from typing import TYPE_CHECKING, Any, Mapping

from ..core import graph
from ..core.tensor import Tensor, _to_array

if TYPE_CHECKING:
    from .module import Module


class _IncompatibleKeys(namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])):
    __slots__ = ()

    def __repr__(self) -> str:
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return super().__repr__()

    __str__ = __repr__


def load_state_dict(module: Module, state_dict: Mapping[str, Any], strict: bool) -> Any:
    """:meth:`Module.load_state_dict`: every problem found is reported in one error."""
    if not isinstance(state_dict, Mapping):
        raise TypeError(
            f"load_state_dict: expected a mapping of names to tensors, got "
            f"{type(state_dict).__name__}"
        )
    own = module.state_dict(keep_vars=True)
    missing = [k for k in own if k not in state_dict]
    unexpected = [k for k in state_dict if k not in own]
    problems: list[str] = []
    pairs: list[tuple[Tensor, Any]] = []
    for k, target in own.items():
        if k not in state_dict:
            continue
        v = state_dict[k]
        try:
            src = v._data if isinstance(v, Tensor) else _to_array(v)
        except TypeError as e:
            problems.append(f"value for {k!r} is not an array or tensor: {e}")
            continue
        if src.shape != target._data.shape:
            problems.append(
                f"size mismatch for {k}: the checkpoint has shape {tuple(src.shape)}, the "
                f"model has shape {tuple(target.shape)}"
            )
            continue
        if src.dtype.kind not in "fiub":
            problems.append(f"value for {k!r} has unsupported dtype {src.dtype}")
            continue
        pairs.append((target, src))
    if strict:
        if missing:
            problems.insert(0, "Missing key(s) in state_dict: "
                            + ", ".join(repr(k) for k in missing) + ".")
        if unexpected:
            problems.insert(1 if missing else 0, "Unexpected key(s) in state_dict: "
                            + ", ".join(repr(k) for k in unexpected) + ".")
    if problems:
        hint = ""
        if strict and (missing or unexpected):
            hint = ("\nIf the checkpoint was saved from a different model (or a wrapper that "
                    "prefixes names), rename its keys, or pass strict=False to load the "
                    "matching ones.")
        raise RuntimeError(
            f"Error(s) in loading state_dict for {type(module).__name__}:\n\t"
            + "\n\t".join(problems) + hint
        )
    with graph.no_grad():
        for target, src in pairs:
            # NOTE: setitem casts to the target's dtype (as PyTorch's copy_ does) and keeps
            # the parameter object, so optimizers holding it see the new values.
            target._data[...] = src
            target._vc[0] += 1
    return _IncompatibleKeys(missing, unexpected)
