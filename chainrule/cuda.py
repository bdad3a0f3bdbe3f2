"""``torch.cuda`` for programs that ask: chainrule runs on the CPU, so there is no GPU.

``is_available()`` is False and ``device_count()`` 0, so device-agnostic programs pick the
CPU; seeding and synchronisation calls are accepted and do nothing. Anything that would need
a GPU (``torch.cuda.FloatTensor``, ``current_device()``, ...) raises an error saying so.

>>> import chainrule.cuda as cuda
>>> cuda.is_available(), cuda.device_count()
(False, 0)
"""

from typing import Any

from .core.compat import cuda as _cuda

is_available = _cuda.is_available
device_count = _cuda.device_count
is_initialized = _cuda.is_initialized
manual_seed = _cuda.manual_seed
manual_seed_all = _cuda.manual_seed_all
seed = _cuda.seed
seed_all = _cuda.seed_all
synchronize = _cuda.synchronize
empty_cache = _cuda.empty_cache


def __getattr__(name: str) -> Any:
    return getattr(_cuda, name)  # raises the CPU-only error for every other name
