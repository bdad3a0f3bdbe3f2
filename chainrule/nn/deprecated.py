"""PyTorch's deprecated spellings that published programs still use.

PyTorch keeps ``nn.init.xavier_uniform`` (without the trailing underscore) and
``nn.utils.clip_grad_norm`` as aliases of the in-place functions: each call works and warns
with a ``FutureWarning`` that names the new spelling. Tutorials written before the rename
(PyTorch's siamese-network example, the word-language-model example, many teaching
repositories) call them, so chainrule has them too, with the same warning.

>>> import warnings, chainrule as cr
>>> w = cr.empty(2, 3)
>>> with warnings.catch_warnings(record=True) as caught:
...     warnings.simplefilter("always")
...     _ = cr.nn.init.constant(w, 0.5)
>>> str(caught[0].message)
'`nn.init.constant` is now deprecated in favor of `nn.init.constant_`.'
"""

from __future__ import annotations

import functools
import warnings
from typing import Any, Callable


def deprecated_alias(fn: Callable[..., Any], old: str, new: str) -> Callable[..., Any]:
    """``fn`` under its old name ``old``: same arguments and result, plus PyTorch's warning."""

    @functools.wraps(fn)
    def alias(*args: Any, **kwargs: Any) -> Any:
        warnings.warn(f"`{old}` is now deprecated in favor of `{new}`.", FutureWarning,
                      stacklevel=2)
        return fn(*args, **kwargs)

    alias.__name__ = alias.__qualname__ = old.rsplit(".", 1)[-1]
    alias.__doc__ = f"Deprecated: use ``{new}`` (same arguments; this warns, as PyTorch does)."
    return alias


def install(namespace: dict[str, Any], prefix: str, names: str) -> None:
    """For each ``name`` in ``names`` (space separated), bind ``namespace[name]`` to the
    deprecated alias of ``namespace[name + "_"]``; ``prefix`` is PyTorch's module path for
    the message (``"nn.init"``)."""
    for name in names.split():
        namespace[name] = deprecated_alias(namespace[name + "_"], f"{prefix}.{name}",
                                           f"{prefix}.{name}_")
