"""Tensor.register_post_accumulate_grad_hook: PyTorch's hook that runs after a leaf's .grad
was updated (what DistributedDataParallel fills its buckets from)."""

import numpy as np
import pytest

import chainrule as cr

try:
    import torch
except ImportError:
    torch = None


def _trace(lib):
    w = lib.tensor([1.0, 2.0], requires_grad=True)
    seen = []
    h = w.register_post_accumulate_grad_hook(lambda p: seen.append(p.grad.clone().tolist()))
    (w * w).sum().backward()
    (w * 3).sum().backward()  # accumulates: the hook sees the sum
    lib.autograd.grad((w * 2).sum(), w)  # no .grad update: no call
    h.remove()
    (w * 3).sum().backward()
    return seen, w.grad.tolist()


def test_called_after_each_accumulation_with_the_updated_grad():
    seen, grad = _trace(cr)
    assert seen == [[2.0, 4.0], [5.0, 7.0]]
    assert grad == [8.0, 10.0]


@pytest.mark.skipif(torch is None, reason="PyTorch is not installed (the oracle)")
def test_as_pytorch():
    assert _trace(cr) == _trace(torch)


def test_runs_in_registration_order_and_sees_the_tensor():
    w = cr.tensor([1.0], requires_grad=True)
    calls = []
    w.register_post_accumulate_grad_hook(lambda p: calls.append(("a", p is w)))
    w.register_post_accumulate_grad_hook(lambda p: calls.append(("b", p is w)))
    (w * 2).sum().backward()
    assert calls == [("a", True), ("b", True)]


def test_a_hook_may_step_an_optimizer_per_parameter():
    """PyTorch's recipe for fusing the optimizer into backward: one SGD per parameter."""
    cr.manual_seed(0)
    a, b = cr.nn.Linear(3, 4), cr.nn.Linear(3, 4)
    b.load_state_dict(a.state_dict())
    opts = {p: cr.optim.SGD([p], lr=0.1) for p in b.parameters()}

    def step(p):
        opts[p].step()
        opts[p].zero_grad()

    for p in b.parameters():
        p.register_post_accumulate_grad_hook(step)
    x = cr.randn(5, 3)
    opt = cr.optim.SGD(a.parameters(), lr=0.1)
    a(x).pow(2).sum().backward()
    opt.step()
    b(x).pow(2).sum().backward()
    for p, q in zip(a.parameters(), b.parameters()):
        assert np.array_equal(p.detach().numpy(), q.detach().numpy())
        assert q.grad is None


def test_bad_registrations_say_what_to_do():
    with pytest.raises(RuntimeError, match="doesn't require grad"):
        cr.ones(2).register_post_accumulate_grad_hook(lambda p: None)
    w = cr.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="non-leaf tensors .*output of mul"):
        (w * 2).register_post_accumulate_grad_hook(lambda p: None)
    with pytest.raises(TypeError, match="must be callable"):
        w.register_post_accumulate_grad_hook(3)
    w.register_post_accumulate_grad_hook(lambda p: 5)
    with pytest.raises(TypeError, match="returned a value.*use register_hook"):
        (w * 2).sum().backward()
