"""``cr.distributions``: Categorical, Normal and Bernoulli, with PyTorch's API.

``sample()`` draws without gradient (from the global generator, ``cr.manual_seed``);
``Normal.rsample()`` is reparameterized (differentiable in loc and scale); ``log_prob`` and
``entropy`` are differentiable in the parameters, as in PyTorch (REINFORCE's
``-log_prob(action) * reward`` trains the policy).

>>> import chainrule as cr
>>> from chainrule.distributions import Categorical
>>> logits = cr.zeros(2, 3, requires_grad=True)
>>> m = Categorical(logits=logits)
>>> a = m.sample(); a.shape, m.batch_shape == (2,)
(torch.Size([2]), True)
>>> (-m.log_prob(a).sum()).backward(); logits.grad.shape
torch.Size([2, 3])
"""

from typing import Any

from .bernoulli import Bernoulli
from .categorical import Categorical
from .distribution import Distribution
from .normal import Normal

__all__ = ["Distribution", "Categorical", "Normal", "Bernoulli"]


def __getattr__(name: str) -> Any:
    from ..core.compat import UnsupportedError

    if name[:2] == "__":
        raise AttributeError(name)
    raise UnsupportedError(
        f"torch.distributions.{name} is not supported: chainrule has Categorical, Normal and "
        "Bernoulli; for others sample with cr.randn/cr.rand and write the log-density with "
        "chainrule ops")
