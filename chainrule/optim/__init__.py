"""Optimizers and learning-rate schedulers, with PyTorch's names and numbers.

Each optimizer is a thin class over a pure update function on arrays (``sgd_update``,
``adam_update``, ``rmsprop_update``) that changes the parameter and its state in place.

>>> import chainrule as cr
>>> w = cr.tensor([3.0], requires_grad=True)
>>> opt = cr.optim.SGD([w], lr=0.25)
>>> for _ in range(3):
...     opt.zero_grad()
...     loss = (w * w).sum()       # minimum at 0; grad = 2w, so each step halves w
...     loss.backward()
...     opt.step()
>>> w
tensor([0.3750], requires_grad=True)
"""

from . import lr_scheduler
from .adagrad import Adadelta, Adagrad, adadelta_update, adagrad_update
from .adam import Adam, AdamW, adam_update
from .lbfgs import LBFGS
from .optimizer import Optimizer, required
from .rmsprop import RMSprop, rmsprop_update
from .sgd import SGD, sgd_update

__all__ = ["Optimizer", "required", "SGD", "Adam", "AdamW", "RMSprop", "lr_scheduler",
           "sgd_update", "adam_update", "rmsprop_update", "Adagrad", "Adadelta", "LBFGS",
           "adagrad_update", "adadelta_update"]


# A PyTorch name this module lacks: NotImplementedError (ImportError for `from ... import`),
# and so does a keyword argument its functions and classes do not take.
from ..core.compat import attribute_hook as _attribute_hook  # noqa: E402
from ..core.keywords import guard_module as _guard_module  # noqa: E402

__getattr__ = _attribute_hook(__name__)
_guard_module(__name__, 'torch.optim')  # unknown keywords: NotImplementedError
