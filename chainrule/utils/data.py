"""``cr.utils.data``: :mod:`chainrule.data` under PyTorch's name ``torch.utils.data``.

>>> from chainrule.utils.data import DataLoader, TensorDataset
>>> import chainrule as cr
>>> len(DataLoader(TensorDataset(cr.zeros(10, 2)), batch_size=4))
3
"""

from ..data import __all__  # noqa: F401
from ..data import *  # noqa: F403


# A PyTorch name this module lacks: NotImplementedError (ImportError for `from ... import`).
from ..core.compat import attribute_hook as _attribute_hook  # noqa: E402

__getattr__ = _attribute_hook(__name__)
