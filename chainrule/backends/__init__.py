"""``torch.backends``: switches for accelerator libraries chainrule does not use.

``torch.backends.cudnn.benchmark = True`` and the like are accepted and change nothing
(chainrule computes on the CPU with NumPy, deterministically); ``is_available()`` is False.

>>> import chainrule.backends.cudnn as cudnn
>>> cudnn.benchmark = True
>>> cudnn.is_available()
False
"""

from . import cuda, cudnn, mps

__all__ = ["cuda", "cudnn", "mps"]
