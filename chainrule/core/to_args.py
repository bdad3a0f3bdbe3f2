"""The arguments of ``Tensor.to`` and ``Module.to``: a dtype, a tensor (whose dtype to take)
or a device, which can only be the CPU."""

from __future__ import annotations

from typing import Any

from .compat import CPU_ONLY, UnsupportedError
from .tensor_class import Tensor


def to_dtype(args: tuple, kwargs: dict[str, Any], caller: str) -> Any:
    """The dtype that ``caller(*args, **kwargs)`` asks for, or None; pops ``dtype`` and
    ``device`` from ``kwargs``. A CUDA or MPS device raises ``UnsupportedError``."""
    dtype = kwargs.pop("dtype", None)
    for a in list(args) + [kwargs.pop("device", None)]:
        if a is None:
            continue
        if isinstance(a, Tensor):
            dtype = a.dtype
        elif isinstance(a, str) and a.split(":")[0] == "cpu":
            continue
        elif isinstance(a, str) and a.split(":")[0] in ("cuda", "mps"):
            raise UnsupportedError(f"{caller}({a!r}) is not supported: {CPU_ONLY}")
        else:
            dtype = a
    return dtype
