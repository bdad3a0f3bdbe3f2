"""Module, Parameter, Sequential, ModuleList: registration, state, modes, conversion, repr."""

from __future__ import annotations

import copy
import pickle
from collections import OrderedDict

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import nn
from chainrule.nn import Parameter


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(4, 8)
        self.act = nn.ReLU()
        self.fc2 = nn.Linear(8, 3)
        self.register_buffer("steps", cr.zeros(1, dtype=cr.int64))
        self.register_buffer("scratch", cr.zeros(2), persistent=False)

    def forward(self, x: cr.Tensor) -> cr.Tensor:
        return self.fc2(self.act(self.fc1(x)))


# -- Parameter ---------------------------------------------------------------------------------


def test_parameter_is_a_tensor_sharing_memory() -> None:
    t = cr.zeros(3)
    p = Parameter(t)
    assert isinstance(p, cr.Tensor) and type(p) is Parameter
    assert p.requires_grad and p.is_leaf and p.grad_fn is None
    t._data[0] = 5.0
    assert p[0].item() == 5.0  # no copy
    assert not Parameter(cr.zeros(2), requires_grad=False).requires_grad
    assert Parameter().shape == (0,)
    assert Parameter([1.0, 2.0]).dtype == cr.float32


def test_parameter_repr_and_slots() -> None:
    p = Parameter(cr.tensor([1.0, 2.0]))
    assert repr(p) == "Parameter containing:\ntensor([1., 2.], requires_grad=True)"
    with pytest.raises(AttributeError):
        p.foo = 1  # __slots__ = (): no per-instance dict


def test_parameter_works_in_ops_and_backward() -> None:
    p = Parameter(cr.tensor([1.0, 2.0]))
    (p * p + p).sum().backward()
    np.testing.assert_allclose(p.grad.numpy(), [3.0, 5.0])
    q = Parameter(cr.tensor([[1.0, 2.0]]))
    (q @ p).backward()
    np.testing.assert_allclose(q.grad.numpy(), [[1.0, 2.0]])


def test_parameter_int_dtype_needs_requires_grad_false() -> None:
    with pytest.raises(TypeError, match="floating-point"):
        Parameter(cr.tensor([1, 2]))
    assert not Parameter(cr.tensor([1, 2]), requires_grad=False).requires_grad


def test_parameter_deepcopy_and_pickle_are_independent() -> None:
    p = Parameter(cr.tensor([1.0, 2.0]))
    (p * 2).sum().backward()
    q = copy.deepcopy(p)
    assert type(q) is Parameter and q.requires_grad
    np.testing.assert_array_equal(q.grad.numpy(), [2.0, 2.0])
    q.grad = None
    (q * 3).sum().backward()
    np.testing.assert_array_equal(p.grad.numpy(), [2.0, 2.0])  # the original is untouched
    np.testing.assert_array_equal(q.grad.numpy(), [3.0, 3.0])
    r = pickle.loads(pickle.dumps(p))
    assert type(r) is Parameter and r.requires_grad and r.tolist() == [1.0, 2.0]


# -- registration and iteration ----------------------------------------------------------------


def test_registration_order_and_dotted_names() -> None:
    net = Net()
    assert [n for n, _ in net.named_parameters()] == [
        "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]
    assert [n for n, _ in net.named_children()] == ["fc1", "act", "fc2"]
    assert [n for n, _ in net.named_modules()] == ["", "fc1", "act", "fc2"]
    assert [n for n, _ in net.named_buffers()] == ["steps", "scratch"]
    assert len(list(net.parameters())) == 4
    assert len(list(net.parameters(recurse=False))) == 0
    assert net.num_parameters() == 4 * 8 + 8 + 8 * 3 + 3
    assert net.get_submodule("fc1") is net.fc1
    assert net.get_parameter("fc2.bias") is net.fc2.bias
    assert "fc1" in dir(net)


def test_shared_parameters_are_listed_once() -> None:
    fc = nn.Linear(3, 3)
    model = nn.Sequential(fc, nn.ReLU(), fc)
    assert len(list(model.parameters())) == 2
    assert len(list(model.modules())) == 3  # Sequential, fc, ReLU
    assert list(model.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]


def test_setattr_rules() -> None:
    m = nn.Module()
    m.w = Parameter(cr.zeros(2))
    assert "w" in m._parameters and "w" not in m.__dict__
    with pytest.raises(TypeError, match="is a Parameter"):
        m.w = cr.zeros(2)  # a plain tensor cannot silently replace a parameter
    m.w = None
    assert m.w is None and list(m.parameters()) == []
    m.sub = nn.Linear(1, 1)
    del m.sub
    assert not hasattr(m, "sub")
    m.register_buffer("b", cr.zeros(1))
    m.b = cr.ones(1)
    assert m._buffers["b"].item() == 1.0
    with pytest.raises(TypeError, match="buffer"):
        m.b = 3
    m.plain = 3  # ordinary attributes still work
    assert m.plain == 3
    with pytest.raises(AttributeError, match="'Module' object has no attribute 'nope'"):
        _ = m.nope
    with pytest.raises(TypeError, match="Parameter"):
        m.register_parameter("x", cr.zeros(1))
    with pytest.raises(KeyError, match="already exists"):
        m.register_buffer("plain", cr.zeros(1))


def test_forgetting_super_init_is_explained() -> None:
    class Bad(nn.Module):
        def __init__(self) -> None:
            self.fc = nn.Linear(1, 1)

    with pytest.raises(AttributeError, match=r"super\(\).__init__\(\)"):
        Bad()


def test_missing_forward_is_explained() -> None:
    with pytest.raises(NotImplementedError, match="define `def forward"):
        nn.Module()(1)


# -- state_dict --------------------------------------------------------------------------------


def test_state_dict_is_detached_and_shares_memory() -> None:
    net = Net()
    sd = net.state_dict()
    assert isinstance(sd, OrderedDict)
    # PyTorch's order: a module's own parameters and buffers, then its children's
    assert list(sd) == ["steps", "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]
    assert not sd["fc1.weight"].requires_grad
    assert type(sd["fc1.weight"]) is cr.Tensor
    sd["fc1.weight"]._data[0, 0] = 42.0
    assert net.fc1.weight[0, 0].item() == 42.0
    kept = net.state_dict(keep_vars=True)
    assert kept["fc1.weight"] is net.fc1.weight


def test_state_dict_round_trip() -> None:
    cr.manual_seed(0)
    a = Net()
    cr.manual_seed(1)
    b = Net()
    a.steps._data[0] = 7
    w_before = b.fc1.weight
    res = b.load_state_dict(a.state_dict())
    assert repr(res) == "<All keys matched successfully>"
    assert res.missing_keys == [] and res.unexpected_keys == []
    assert b.fc1.weight is w_before  # copied in place: same object
    for (na, ta), (nb, tb) in zip(a.state_dict().items(), b.state_dict().items()):
        assert na == nb
        np.testing.assert_array_equal(ta.numpy(), tb.numpy())
    x = cr.randn(5, 4)
    np.testing.assert_array_equal(a(x).detach().numpy(), b(x).detach().numpy())
    # numpy arrays are accepted as values, and values are cast to the model's dtype
    b.load_state_dict({k: v.numpy().astype(np.float64) for k, v in a.state_dict().items()})
    assert b.fc1.weight.dtype == cr.float32


def test_load_state_dict_reports_every_problem_at_once() -> None:
    net = Net()
    sd = net.state_dict()
    sd.pop("fc1.bias")
    sd["fc2.weight"] = cr.zeros(4, 4)
    sd["extra.weight"] = cr.zeros(1)
    with pytest.raises(RuntimeError) as e:
        net.load_state_dict(sd)
    msg = str(e.value)
    assert "Error(s) in loading state_dict for Net" in msg
    assert "Missing key(s) in state_dict: 'fc1.bias'" in msg
    assert "Unexpected key(s) in state_dict: 'extra.weight'" in msg
    assert "size mismatch for fc2.weight: the checkpoint has shape (4, 4), the model has " \
           "shape (3, 8)" in msg
    # strict=False: missing/unexpected are returned, but a shape mismatch is still an error
    with pytest.raises(RuntimeError, match="size mismatch"):
        net.load_state_dict(sd, strict=False)
    sd["fc2.weight"] = cr.zeros(3, 8)
    res = net.load_state_dict(sd, strict=False)
    assert res.missing_keys == ["fc1.bias"] and res.unexpected_keys == ["extra.weight"]
    assert float(net.fc2.weight.abs().sum()) == 0.0


def test_load_state_dict_leaves_model_unchanged_on_error() -> None:
    net = Net()
    before = {k: v.numpy().copy() for k, v in net.state_dict().items()}
    sd = {k: cr.zeros(*v.shape, dtype=v.dtype) for k, v in net.state_dict().items()}
    sd["fc2.bias"] = cr.zeros(5)
    with pytest.raises(RuntimeError):
        net.load_state_dict(sd)
    for k, v in net.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), before[k])


def test_load_state_dict_rejects_non_mapping() -> None:
    with pytest.raises(TypeError, match="mapping"):
        nn.Linear(1, 1).load_state_dict([1, 2])


# -- modes and conversion ----------------------------------------------------------------------


def test_train_eval_recursive() -> None:
    net = nn.Sequential(nn.Linear(2, 2), nn.Sequential(nn.Dropout(), nn.ReLU()))
    assert all(m.training for m in net.modules())
    assert net.eval() is net
    assert not any(m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())
    with pytest.raises(ValueError):
        net.train("yes")


def test_zero_grad_and_requires_grad_() -> None:
    fc = nn.Linear(3, 2)
    fc(cr.ones(1, 3)).sum().backward()
    assert fc.weight.grad is not None
    fc.zero_grad(set_to_none=False)
    assert fc.weight.grad is not None and float(fc.weight.grad.abs().sum()) == 0.0
    fc.zero_grad()
    assert fc.weight.grad is None and fc.bias.grad is None
    fc.requires_grad_(False)
    assert not any(p.requires_grad for p in fc.parameters())
    assert not fc(cr.ones(1, 3)).requires_grad
    fc.requires_grad_()
    assert all(p.requires_grad for p in fc.parameters())


def test_apply_visits_children_first() -> None:
    seen: list[str] = []
    nn.Sequential(nn.Linear(1, 1), nn.ReLU()).apply(lambda m: seen.append(type(m).__name__))
    assert seen == ["Linear", "ReLU", "Sequential"]

    def init_fn(m: nn.Module) -> None:
        if isinstance(m, nn.Linear):
            nn.init.zeros_(m.weight)

    net = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 2)).apply(init_fn)
    assert float(net[1].weight.abs().sum()) == 0.0


def test_to_double_keeps_parameter_identity() -> None:
    net = Net()
    params = list(net.parameters())
    net(cr.ones(1, 4)).sum().backward()
    assert net.double() is net
    assert [id(p) for p in net.parameters()] == [id(p) for p in params]
    assert all(p.dtype == cr.float64 for p in net.parameters())
    assert all(p.grad.dtype == cr.float64 for p in net.parameters())
    assert net.steps.dtype == cr.int64  # integer buffers are not converted
    assert net.scratch.dtype == cr.float64
    out = net(cr.ones(2, 4, dtype=cr.float64))
    assert out.dtype == cr.float64
    out.sum().backward()  # gradients flow to the converted parameters
    assert net.fc1.weight.grad.dtype == cr.float64
    net.float()
    assert net.fc1.weight.dtype == cr.float32
    assert net.to("cpu") is net
    with pytest.raises(NotImplementedError, match="CPU"):
        net.to("cuda")
    with pytest.raises(TypeError, match="floating-point"):
        net.to(cr.int64)


def test_deepcopy_module_is_independent() -> None:
    net = Net()
    clone = copy.deepcopy(net)
    assert clone.fc1.weight is not net.fc1.weight
    np.testing.assert_array_equal(clone.fc1.weight.detach().numpy(),
                                  net.fc1.weight.detach().numpy())
    clone(cr.ones(1, 4)).sum().backward()
    assert net.fc1.weight.grad is None and clone.fc1.weight.grad is not None
    with cr.no_grad():
        clone.fc1.weight.mul_(0.0)
    assert float(net.fc1.weight.abs().sum()) > 0
    tied = nn.Sequential(nn.Linear(2, 2))
    tied.append(tied[0])
    t2 = copy.deepcopy(tied)
    assert t2[0] is t2[1]  # sharing survives the copy
    p = pickle.loads(pickle.dumps(net))
    np.testing.assert_array_equal(p.fc2.bias.detach().numpy(), net.fc2.bias.detach().numpy())


# -- repr --------------------------------------------------------------------------------------


def test_repr_golden() -> None:
    model = nn.Sequential(
        nn.Flatten(),
        nn.Linear(64, 128),
        nn.ReLU(),
        nn.Dropout(0.2),
        nn.Sequential(nn.Linear(128, 10, bias=False), nn.LogSoftmax(dim=1)),
    )
    assert repr(model) == (
        "Sequential(\n"
        "  (0): Flatten(start_dim=1, end_dim=-1)\n"
        "  (1): Linear(in_features=64, out_features=128, bias=True)\n"
        "  (2): ReLU()\n"
        "  (3): Dropout(p=0.2, inplace=False)\n"
        "  (4): Sequential(\n"
        "    (0): Linear(in_features=128, out_features=10, bias=False)\n"
        "    (1): LogSoftmax(dim=1)\n"
        "  )\n"
        ")"
    )
    assert repr(Net()) == (
        "Net(\n"
        "  (fc1): Linear(in_features=4, out_features=8, bias=True)\n"
        "  (act): ReLU()\n"
        "  (fc2): Linear(in_features=8, out_features=3, bias=True)\n"
        ")"
    )
    layers = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)] + [nn.Tanh()])
    assert repr(layers) == (
        "ModuleList(\n"
        "  (0-2): 3 x Linear(in_features=2, out_features=2, bias=True)\n"
        "  (3): Tanh()\n"
        ")"
    )
    assert repr(nn.Module()) == "Module()"
    assert repr(nn.CrossEntropyLoss()) == "CrossEntropyLoss()"


# -- containers --------------------------------------------------------------------------------


def test_sequential_indexing() -> None:
    a, b, c = nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)
    s = nn.Sequential(a, b, c)
    assert len(s) == 3 and s[0] is a and s[-1] is c and list(s) == [a, b, c]
    head = s[:2]
    assert isinstance(head, nn.Sequential) and list(head) == [a, b]
    assert head(cr.ones(4, 2)).shape == (4, 3)
    assert list(s[::2]._modules) == ["0", "2"]  # slices keep the names, as in PyTorch
    with pytest.raises(IndexError, match="out of range for a Sequential of 3"):
        s[3]
    s.append(nn.Sigmoid())
    assert len(s) == 4 and s(cr.ones(1, 2)).shape == (1, 1)
    s[1] = nn.Tanh()
    assert isinstance(s[1], nn.Tanh)
    del s[1]
    assert len(s) == 3
    od = nn.Sequential(OrderedDict([("enc", nn.Linear(2, 2)), ("act", nn.ReLU())]))
    assert [n for n, _ in od.named_parameters()] == ["enc.weight", "enc.bias"]
    assert od.enc is od[0]
    with pytest.raises(TypeError, match=r"nn.ReLU\(\), not nn.ReLU"):
        nn.Sequential(nn.ReLU)


def test_sequential_forward_matches_manual() -> None:
    s = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    x = cr.randn(5, 3)
    np.testing.assert_array_equal(s(x).detach().numpy(), s[2](s[1](s[0](x))).detach().numpy())


def test_module_list() -> None:
    layers = nn.ModuleList([nn.Linear(2, 2), nn.Linear(2, 2)])
    layers.append(nn.Linear(2, 1))
    layers.extend([nn.ReLU()])
    layers.insert(0, nn.Identity())
    assert len(layers) == 5 and isinstance(layers[0], nn.Identity)
    assert isinstance(layers[1:3], nn.ModuleList) and len(layers[1:3]) == 2
    assert len(list(layers.parameters())) == 6
    assert [n for n, _ in layers.named_children()] == ["0", "1", "2", "3", "4"]
    del layers[0]
    assert [type(m).__name__ for m in layers] == ["Linear", "Linear", "Linear", "ReLU"]
    layers[3] = nn.Tanh()
    assert isinstance(layers[-1], nn.Tanh)

    class Stack(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.layers = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])

        def forward(self, x: cr.Tensor) -> cr.Tensor:
            for layer in self.layers:
                x = F.relu(layer(x))
            return x

    st = Stack()
    assert len(list(st.parameters())) == 6
    assert list(st.state_dict())[0] == "layers.0.weight"
    with pytest.raises(NotImplementedError, match="container"):
        layers(cr.ones(1))
    with pytest.raises(TypeError, match="not a Module"):
        layers.append(3)


def test_custom_module_end_to_end_training() -> None:
    cr.manual_seed(0)
    x = cr.randn(64, 2)
    y = cr.tensor((x.numpy()[:, 0] * x.numpy()[:, 1] > 0).astype(np.int64))
    model = nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 2))
    first = None
    for _ in range(200):
        loss = F.cross_entropy(model(x), y)
        first = first if first is not None else loss.item()
        model.zero_grad()
        loss.backward()
        with cr.no_grad():
            for p in model.parameters():
                p -= 0.5 * p.grad
    assert loss.item() < 0.5 * first
