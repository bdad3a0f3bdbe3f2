"""Whole objects in checkpoints, and the weights_only=True loader (as PyTorch 2.6+)."""

import io
import pickle

import numpy as np
import pytest

import chainrule as cr
from chainrule.pickled import WeightsOnlyError
from chainrule.serialization import CheckpointError


class Net(cr.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = cr.nn.Linear(3, 2)
        self.act = cr.nn.ReLU()
        self.scale = np.float64(2.0)
        self.tied = self.fc.weight  # the same Parameter twice comes back as one

    def forward(self, x):
        return self.act(self.fc(x)) * float(self.scale)


class Evil:
    def __reduce__(self):
        return (print, ("this must not run",))


def saved(obj):
    buf = io.BytesIO()
    cr.save(obj, buf)
    buf.seek(0)
    return buf


def test_state_dicts_stay_safetensors():
    data = saved(cr.nn.Linear(2, 2).state_dict()).getvalue()
    assert data[8:9] == b"{" and b"pickle" not in data.lower()


def test_whole_model_round_trip_with_allow_listed_classes():
    cr.manual_seed(0)
    m, x = Net(), cr.randn(4, 3)
    with cr.serialization.safe_globals([Net, cr.nn.Linear, cr.nn.ReLU]):
        m2 = cr.load(saved(m))
    assert cr.equal(m2(x), m(x)) and isinstance(m2.fc.weight, cr.nn.Parameter)
    assert m2.tied is m2.fc.weight and m2.fc.weight.requires_grad
    assert [k for k, _ in m2.named_parameters()] == [k for k, _ in m.named_parameters()]
    m3 = cr.load(saved(m), weights_only=False)
    assert cr.equal(m3(x), m(x))


def test_weights_only_refuses_unknown_classes_and_says_what_to_do():
    with pytest.raises(WeightsOnlyError) as info:
        cr.load(saved(Net()))
    msg = str(info.value)
    assert "Net" in msg and "add_safe_globals" in msg and "weights_only=False" in msg
    with pytest.raises(pickle.UnpicklingError, match="builtins.print"):
        cr.load(saved([Evil()]))


def test_add_safe_globals_persists_until_cleared():
    cr.serialization.clear_safe_globals()
    cr.serialization.add_safe_globals([Net, cr.nn.Linear, cr.nn.ReLU])
    try:
        assert Net in cr.serialization.get_safe_globals()
        assert isinstance(cr.load(saved(Net())), Net)
    finally:
        cr.serialization.clear_safe_globals()
    with pytest.raises(WeightsOnlyError):
        cr.load(saved(Net()))


def test_containers_of_plain_objects_and_sets_load_without_allow_listing():
    obj = {"names": {"a", "b"}, "opt": cr.optim.SGD.__name__, "steps": range(3)}
    assert cr.load(saved(obj)) == obj


def test_corruption_and_torch_zip_files_are_reported(tmp_path):
    data = bytearray(saved(Net()).getvalue())
    data[-5] ^= 0xFF
    with pytest.raises(CheckpointError, match="SHA-256"):
        cr.load(io.BytesIO(bytes(data)), weights_only=False)
    with pytest.raises(CheckpointError, match="PyTorch checkpoint.*safetensors"):
        cr.load(io.BytesIO(b"PK\x03\x04rest of a zip"))


def test_map_location_forms_programs_use(tmp_path):
    path = tmp_path / "m.pt"
    cr.save(cr.nn.Linear(2, 2).state_dict(), path)
    for loc in ("cpu", cr.device("cpu"), lambda storage, loc: storage, {"cuda:0": "cpu"}):
        assert set(cr.load(path, map_location=loc)) == {"weight", "bias"}
