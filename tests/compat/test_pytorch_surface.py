"""The everyday PyTorch surface, item by item, run with ``import torch`` meaning chainrule."""

import os

import numpy as np
import pytest
import torch_programs as P

import chainrule as cr


@pytest.fixture
def torch():
    with P.chainrule_as_torch() as mod:
        yield mod


def test_seeding_and_factories(torch):
    torch.manual_seed(3)
    a = torch.randn(4)
    torch.manual_seed(3)
    assert torch.equal(a, torch.randn(4))
    s = torch.randn(())
    assert s.shape == () and s.dim() == 0 and isinstance(s.item(), float)
    x = torch.linspace(-1, 1, 5)
    np.testing.assert_allclose(x.numpy(), [-1, -0.5, 0, 0.5, 1])
    assert torch.tensor([1, 2], dtype=torch.long).dtype == torch.int64
    assert torch.zeros(2, 3).size() == torch.Size([2, 3])
    assert torch.is_tensor(x) and not torch.is_tensor(x.numpy()) and torch.numel(x) == 5
    # the legacy constructor: sizes give zeros, data gives the default float dtype
    w = torch.nn.Parameter(torch.Tensor(3, 2))
    assert w.shape == (3, 2) and w.dtype == torch.float32 and w.requires_grad
    assert torch.Tensor([1, 2]).dtype == torch.float32


def test_dtype_aliases_and_conversions(torch):
    assert torch.float is torch.float32 and torch.double is torch.float64
    assert torch.long is torch.int64
    x = torch.tensor([1.5, 2.5])
    assert x.to(torch.float64).dtype == torch.double
    assert x.double().float().dtype == torch.float
    assert x.long().tolist() == [1, 2]
    assert x.to(torch.float64).to(dtype=torch.float32).dtype == torch.float32


def test_device_is_always_the_cpu(torch):
    x = torch.ones(2)
    assert x.device == torch.device("cpu") and x.device.type == "cpu"
    assert str(x.device) == "cpu" and repr(x.device) == "device(type='cpu')"
    assert x.to("cpu") is x and x.to(torch.device("cpu")) is x and x.cpu() is x
    assert not x.is_cuda and x.get_device() == -1
    dev = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    assert dev.type == "cpu"
    torch.set_default_device("cpu")
    m = torch.nn.Linear(2, 2).to(dev)
    assert m.weight.device == "cpu"


def test_numpy_bridge(torch):
    arr = np.arange(3.0)
    t = torch.from_numpy(arr)
    arr[0] = 10
    assert t[0].item() == 10  # shares memory
    assert t.numpy() is arr or np.shares_memory(t.numpy(), arr)
    assert t.dtype == torch.float64  # a NumPy array keeps its dtype


def test_no_grad_as_context_and_decorator(torch):
    w = torch.ones(2, requires_grad=True)
    with torch.no_grad():
        assert not (w * 2).requires_grad

    @torch.no_grad()
    def f(x):
        return x * 2

    @torch.no_grad
    def g(x):
        return x * 2

    @torch.inference_mode()
    def h(x):
        return x * 2

    assert not f(w).requires_grad and not g(w).requires_grad and not h(w).requires_grad
    assert (w * 2).requires_grad


def test_in_place_updates_under_no_grad(torch):
    w = torch.tensor([1.0, 2.0], requires_grad=True)
    (w * w).sum().backward()
    lr = 0.1
    with torch.no_grad():
        w -= lr * w.grad
        w.grad.zero_()
    np.testing.assert_allclose(w.detach().numpy(), [0.8, 1.6], rtol=1e-6)
    assert w.is_leaf and w.requires_grad and w.grad.tolist() == [0.0, 0.0]
    w.data.fill_(3.0)
    assert w.tolist() == [3.0, 3.0]
    c = w.clone()
    c.copy_(torch.tensor([5.0, 6.0]))
    assert c.tolist() == [5.0, 6.0] and w.tolist() == [3.0, 3.0]
    w.data.normal_(0, 0.01)
    w.data.uniform_(-1, 1)
    assert (w.abs() <= 1).all()


def test_shapes_and_indexing(torch):
    x = torch.arange(12).float()
    v = x.view(-1, 4)
    assert v.shape == (3, 4) and v.size(0) == 3 and v.size(-1) == 4
    assert x.unsqueeze(1).shape == (12, 1)
    a = torch.ones(2, 3)
    assert a.t().shape == (3, 2) and a.mm(a.t()).tolist() == [[3.0, 3.0], [3.0, 3.0]]
    assert torch.cat([a, a]).shape == (4, 3) and torch.stack([a, a]).shape == (2, 2, 3)
    p = torch.tensor([1, 2, 3])
    assert x[:2].unsqueeze(-1).pow(p).shape == (2, 3)


def test_reductions_and_comparisons(torch):
    x = torch.tensor([[1.0, 5.0, 2.0], [7.0, 0.0, 3.0]])
    values, idx = torch.max(x, 1)
    assert values.tolist() == [5.0, 7.0] and idx.tolist() == [1, 0]
    assert x.argmax(dim=1).tolist() == [1, 0]
    y = torch.tensor([1, 2])
    assert torch.sum(idx == y).item() == 1
    assert (idx == torch.tensor([1, 0])).sum().item() == 2
    assert (torch.arange(5) % 2).tolist() == [0, 1, 0, 1, 0]
    assert (torch.arange(5) // 2).tolist() == [0, 0, 1, 1, 2]
    assert (7 % torch.tensor([2, 3])).tolist() == [1, 1]


def test_modules(torch):
    nn = torch.nn
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1), nn.Flatten(0, 1))
    assert isinstance(model[0], nn.Linear) and len(model[:2]) == 2
    assert model(torch.ones(5, 3)).shape == (5,)

    class Scale(nn.Module):
        def __init__(self):
            super().__init__()
            self.s = nn.Parameter(torch.tensor(2.0))

        def forward(self, x):
            return self.s * x

    m = Scale()
    assert [n for n, _ in m.named_parameters()] == ["s"] and m.s.shape == ()
    m.train()
    assert m.training
    m.eval()
    assert not m.training
    loss = nn.MSELoss(reduction="sum")(m(torch.ones(3)), torch.zeros(3))
    assert loss.item() == 12.0


def test_save_and_load_state_dict(torch, tmp_path):
    model = torch.nn.Linear(3, 2)
    path = os.path.join(tmp_path, "model.pt")
    torch.save(model.state_dict(), path)
    other = torch.nn.Linear(3, 2)
    other.load_state_dict(torch.load(path))
    assert torch.equal(other.weight, model.weight) and torch.equal(other.bias, model.bias)


def test_optimizers_and_functional(torch):
    import torch.nn.functional as F
    from torch.utils.data import DataLoader, TensorDataset

    ds = TensorDataset(torch.randn(10, 2), torch.arange(10) % 2)
    model = torch.nn.Linear(2, 2)
    for opt in (torch.optim.SGD(model.parameters(), lr=0.1),
                torch.optim.Adam(model.parameters(), lr=0.1)):
        for xb, yb in DataLoader(ds, batch_size=4, shuffle=True):
            opt.zero_grad()
            F.cross_entropy(model(xb), yb).backward()
            opt.step()


def test_autograd_namespace(torch):
    from torch.autograd import Function, Variable
    from torch.autograd.function import once_differentiable

    assert Function is cr.autograd.Function and callable(once_differentiable)
    x = Variable(torch.ones(2), requires_grad=True)
    assert x.requires_grad
    (g,) = torch.autograd.grad((x * x).sum(), x)
    assert g.tolist() == [2.0, 2.0]


def test_new_tensors_like_an_existing_one(torch):
    x = torch.ones(2, dtype=torch.float64)
    assert x.new_zeros(3).dtype == torch.float64 and x.new_zeros((2, 2)).shape == (2, 2)
    assert x.new_ones(2).tolist() == [1.0, 1.0]
    assert x.new_full((2,), 7).tolist() == [7.0, 7.0]
    assert x.new_tensor([1, 2]).dtype == torch.float64
    assert x.nelement() == 2 and x.ndimension() == 1
