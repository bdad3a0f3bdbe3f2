"""Checkpoints: exact round trips, atomic writes, integrity checks, no code execution."""

import collections
import io
import json
import math
import os
import struct

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import chainrule as cr
from chainrule import serialization
from chainrule.serialization import CheckpointError, load, save

safetensors_numpy = pytest.importorskip("safetensors.numpy")


def same(a, b):
    """Equal values *and* types, all the way down (tensors: dtype, shape and bits)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, cr.Tensor):
        return (a.dtype == b.dtype and a.shape == b.shape and a.requires_grad == b.requires_grad
                and np.array_equal(a.detach().numpy(), b.detach().numpy(), equal_nan=True))
    if isinstance(a, np.ndarray):
        return a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b, equal_nan=True)
    if isinstance(a, np.generic):
        return a.dtype == b.dtype and (a == b or (a != a and b != b))
    if isinstance(a, float):
        return a == b and math.copysign(1, a) == math.copysign(1, b) or (a != a and b != b)
    if isinstance(a, dict):
        return (list(map(type, a)) == list(map(type, b)) and list(a) == list(b)
                and all(same(a[k], b[k]) for k in a))
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return a == b


def roundtrip(obj, tmp_path):
    path = tmp_path / "ckpt.safetensors"
    save(obj, path)
    return load(path)


def checkpoint():
    gen = cr.Generator(7)
    cr.randn(3, generator=gen)  # move the state away from the seed
    return {
        "model": {"fc1.weight": cr.randn(4, 3), "fc1.bias": cr.zeros(4),
                  "bn.num_batches_tracked": cr.tensor(3), "mask": cr.tensor([True, False])},
        "optimizer": {
            "state": {0: {"step": 3, "exp_avg": cr.ones(4, 3), "exp_avg_sq": cr.zeros(4, 3)},
                      1: {"step": 3, "exp_avg": cr.ones(4)}},
            "param_groups": [{"lr": 0.001, "betas": (0.9, 0.999), "eps": 1e-8,
                              "weight_decay": 0.0, "amsgrad": False, "params": [0, 1]}],
        },
        "epoch": 5,
        "rng": gen.get_state(),
        "history": [0.5, 0.25, float("nan"), float("inf"), -0.0],
        "note": "best so far: ünïcode ✓",
        "array": np.arange(6, dtype=np.int32).reshape(2, 3),
        "scalars": (np.float32(1.5), np.int64(2), np.bool_(True)),
        "none": None,
        "keys": {"1": "str key", 1: "int key", 1.5: "float", None: "none", (1, "a"): "tuple"},
        "bool_keys": {True: "t", False: "f", 2: "two"},
        "big": [2 ** 64 + 1, -(2 ** 200), 2 ** 53, 2 ** 53 - 1],
    }


# -- round trips --------------------------------------------------------------------------------


def test_roundtrip_full_checkpoint(tmp_path):
    obj = checkpoint()
    back = roundtrip(obj, tmp_path)
    assert same(obj, back)
    assert isinstance(back["optimizer"]["state"][0]["exp_avg"], cr.Tensor)
    assert list(back["optimizer"]["state"]) == [0, 1]
    assert back["optimizer"]["param_groups"][0]["betas"] == (0.9, 0.999)


def test_generator_state_survives_and_restores_the_stream(tmp_path):
    gen = cr.Generator(123)
    cr.randn(10, generator=gen)
    back = roundtrip({"rng": gen.get_state()}, tmp_path)
    assert back["rng"]["state"]["state"] > 2 ** 64  # a 128-bit int, exactly
    other = cr.Generator(0)
    other.set_state(back["rng"])
    assert cr.randn(5, generator=other).tolist() == cr.randn(5, generator=gen).tolist()


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64", "int8", "int16", "int32",
                                   "int64", "uint8", "bool"])
def test_tensor_dtypes_and_shapes(tmp_path, dtype):
    for shape in [(), (0,), (3,), (2, 0, 4), (2, 3, 4)]:
        t = cr.tensor(np.arange(int(np.prod(shape))).reshape(shape).astype(dtype))
        back = roundtrip({"t": t}, tmp_path)["t"]
        assert same(t, back)
        back += back  # the loaded tensor is writable (optimizers update state in place)


def test_noncontiguous_bigendian_and_readonly_arrays(tmp_path):
    base = np.arange(24, dtype=np.float64).reshape(4, 6)
    obj = {"T": base.T, "step": base[:, ::2], "be": base.astype(">f4"),
           "view": cr.tensor([1.0, 2.0]).expand(3, 2)}
    back = roundtrip(obj, tmp_path)
    assert np.array_equal(back["T"], base.T) and np.array_equal(back["step"], base[:, ::2])
    assert np.array_equal(back["be"], base) and back["be"].dtype == np.float32
    assert back["view"].tolist() == [[1.0, 2.0]] * 3


def test_top_level_values_of_every_kind(tmp_path):
    for obj in [cr.tensor([1, 2]), np.zeros(2), 3, 2.5, "s", None, True, [], (), {},
                (1,), [[]], np.float64(2.0), 2 ** 70]:
        assert same(obj, roundtrip(obj, tmp_path)), obj


def test_requires_grad_ordered_dict_and_shared_tensors(tmp_path):
    w = cr.randn(2, 2, requires_grad=True)
    obj = collections.OrderedDict([("w", w), ("tied", w), ("copy", w.detach().clone())])
    back = roundtrip(obj, tmp_path)
    assert type(back) is collections.OrderedDict
    assert back["w"].requires_grad and back["w"].is_leaf
    assert back["tied"] is back["w"] and back["copy"] is not back["w"]
    assert same(obj, back)


def test_tensor_keys_are_readable_paths(tmp_path):
    path = tmp_path / "ckpt.safetensors"
    save({"model": {"fc.weight": cr.zeros(2)}, "opt": {"state": {0: {"m": cr.zeros(2)}}},
          "a/b": cr.zeros(1), "a": {"b": cr.ones(1)}}, path)
    names = set(safetensors_numpy.load_file(str(path)))
    assert {"model/fc.weight", "opt/state/0/m", "a/b", "a/b~2"} <= names


def test_file_objects_and_map_location(tmp_path):
    buf = io.BytesIO()
    save({"x": cr.ones(2)}, buf)
    buf.seek(0)
    assert load(buf, map_location="cpu")["x"].tolist() == [1.0, 1.0]
    with pytest.raises(ValueError, match="map_location"):
        load(buf, map_location="cuda:0")


def test_unsupported_values_are_rejected_with_their_path(tmp_path):
    path = tmp_path / "x.safetensors"
    with pytest.raises(TypeError, match=r"obj\['a'\]\['f'\]"):
        save({"a": {"f": lambda: 0}}, path)
    save({frozenset(): 1}, path)  # not a safetensors key: the dict is pickled (and loads)
    assert load(path) == {frozenset(): 1}
    path.unlink()
    loop = []
    loop.append(loop)
    with pytest.raises(ValueError, match="contains itself"):
        save(loop, path)
    with pytest.raises(TypeError, match="safetensors"):
        save(np.zeros(2, np.complex128), path)
    assert not path.exists() and os.listdir(tmp_path) == []


def test_plain_safetensors_files_load_as_tensor_dicts(tmp_path):
    path = tmp_path / "plain.safetensors"
    safetensors_numpy.save_file({"w": np.ones((2, 2), np.float32)}, str(path))
    back = load(path)
    assert isinstance(back["w"], cr.Tensor) and back["w"].dtype == np.float32


tensor_leaves = st.one_of(
    st.builds(lambda v, dt: cr.tensor(np.asarray(v).astype(dt)),
              st.lists(st.integers(-5, 5), max_size=4),
              st.sampled_from(["float32", "float64", "int64", "bool"])),
    st.builds(lambda v: np.asarray(v, dtype=np.int16), st.lists(st.integers(-9, 9), max_size=3)),
)
leaves = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(-2 ** 130, 2 ** 130),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=8), tensor_leaves,
)
keys = st.one_of(st.text(max_size=5), st.integers(-3, 3), st.booleans(), st.none(),
                 st.floats(allow_nan=False), st.tuples(st.integers(0, 2), st.text(max_size=2)))
structures = st.recursive(
    leaves,
    lambda children: st.one_of(st.lists(children, max_size=4),
                               st.tuples(children, children),
                               st.dictionaries(keys, children, max_size=4)),
    max_leaves=20,
)


@given(structures)
def test_roundtrip_random_structures(tmp_path_factory, obj):
    path = tmp_path_factory.mktemp("hyp") / "c.safetensors"
    save(obj, path)
    assert same(obj, load(path))


# -- atomic writes ------------------------------------------------------------------------------


def test_crash_midway_keeps_previous_file_and_leaves_no_temp(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.safetensors"
    save({"epoch": 1, "w": cr.ones(1000)}, path)
    before = path.read_bytes()

    def failing_write(f, data):
        f.write(data[: len(data) // 2])
        raise OSError("No space left on device (simulated)")

    monkeypatch.setattr(serialization, "_write_bytes", failing_write)
    with pytest.raises(OSError, match="simulated"):
        save({"epoch": 2, "w": cr.zeros(1000)}, path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["ckpt.safetensors"]
    assert load(path)["epoch"] == 1


def test_crash_in_fsync_or_interrupt_leaves_no_temp(tmp_path, monkeypatch):
    path = tmp_path / "new.safetensors"

    def interrupted(fd):
        raise KeyboardInterrupt

    monkeypatch.setattr(serialization.os, "fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        save({"x": 1}, path)
    assert os.listdir(tmp_path) == []


def test_overwrite_replaces_and_keeps_permissions(tmp_path):
    path = tmp_path / "ckpt.safetensors"
    save({"epoch": 1}, path)
    os.chmod(path, 0o640)
    save({"epoch": 2}, str(path))
    assert load(path) == {"epoch": 2}
    assert os.stat(path).st_mode & 0o777 == 0o640
    assert os.listdir(tmp_path) == ["ckpt.safetensors"]


# -- integrity ----------------------------------------------------------------------------------


def small_file(tmp_path):
    path = tmp_path / "ckpt.safetensors"
    save({"w": cr.tensor([1.0, 2.0, 3.0]), "step": 3, "betas": (0.9, 0.999)}, path)
    return path


def header_len(data):
    return 8 + struct.unpack("<Q", data[:8])[0]


def test_flipped_byte_in_data_region_is_detected(tmp_path):
    path = small_file(tmp_path)
    data = bytearray(path.read_bytes())
    data[header_len(data) + 2] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="checksum") as e:
        load(path)
    assert str(path) in str(e.value)


def test_every_damaged_byte_is_detected(tmp_path):
    path = small_file(tmp_path)
    good = path.read_bytes()
    bad = tmp_path / "bad.safetensors"
    for pos in range(len(good)):
        for mask in (1 << (pos % 8), 0xFF):  # one bit (a different one per byte), all bits
            data = bytearray(good)
            data[pos] ^= mask
            bad.write_bytes(bytes(data))
            with pytest.raises(CheckpointError, match="bad.safetensors"):
                load(bad)


def test_metadata_tampering_is_detected(tmp_path):
    path = small_file(tmp_path)
    data = path.read_bytes()
    n = header_len(data)
    header = json.loads(data[8:n])
    header["__metadata__"]["chainrule.structure"] = header["__metadata__"][
        "chainrule.structure"].replace("3", "4")
    raw = json.dumps(header).encode()
    raw += b" " * (-len(raw) % 8)
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + data[n:])
    with pytest.raises(CheckpointError, match="checksum"):
        load(path)


@pytest.mark.parametrize("cut", [0, 5, 20, -1, -7])
def test_truncated_files(tmp_path, cut):
    path = small_file(tmp_path)
    data = path.read_bytes()
    path.write_bytes(data[:cut] if cut >= 0 else data[:len(data) + cut])
    with pytest.raises(CheckpointError) as e:
        load(path)
    msg = str(e.value)
    assert str(path) in msg
    assert ("truncated" in msg) or ("not a safetensors" in msg) or ("bytes long" in msg)


def test_truncated_in_data_region_says_truncated(tmp_path):
    path = small_file(tmp_path)
    data = path.read_bytes()
    path.write_bytes(data[:-4])
    with pytest.raises(CheckpointError, match="is truncated"):
        load(path)


@pytest.mark.parametrize("content", [b"", b"hello world, not a checkpoint",
                                     b"\x80\x04\x95" + b"\x00" * 40, os.urandom(256),
                                     b'{"a": 1, "b": [1, 2, 3], "c": "not safetensors"}'])
def test_garbage_files(tmp_path, content):
    path = tmp_path / "garbage.safetensors"
    path.write_bytes(content)
    with pytest.raises(CheckpointError, match="garbage.safetensors"):
        load(path)


def test_missing_file_and_directory(tmp_path):
    missing = tmp_path / "nope.safetensors"
    with pytest.raises(CheckpointError, match="nope.safetensors.*does not exist") as e:
        load(missing)
    assert isinstance(e.value, FileNotFoundError)  # also what PyTorch habits expect
    with pytest.raises(CheckpointError, match="directory"):
        load(tmp_path)


def test_version_mismatch(tmp_path, monkeypatch):
    path = tmp_path / "future.safetensors"
    monkeypatch.setattr(serialization, "VERSION", "99")
    save({"x": 1}, path)
    monkeypatch.undo()
    with pytest.raises(CheckpointError, match="version '99'"):
        load(path)


# -- no code execution --------------------------------------------------------------------------


def forge(path, structure, tensors=None):
    """A checkpoint with a valid checksum around an arbitrary structure string."""
    tensors = tensors or {}
    meta = {"format": "chainrule", "chainrule.version": "1", "chainrule.structure": structure,
            "chainrule.sha256": serialization._digest(structure, tensors)}
    path.write_bytes(safetensors_numpy.save(tensors, metadata=meta))


def test_loading_never_unpickles_or_evaluates(tmp_path, monkeypatch):
    import builtins
    import pickle

    def forbidden(*args, **kwargs):
        raise AssertionError("load must not execute code")

    for mod, names in [(pickle, ["loads", "load", "Unpickler"]),
                       (builtins, ["eval", "exec", "compile", "__import__"])]:
        for n in names:
            if n != "__import__":
                monkeypatch.setattr(mod, n, forbidden)
    path = tmp_path / "evil.safetensors"
    payload = "__import__('os').system('touch " + str(tmp_path / "pwned") + "')"
    forge(path, json.dumps({"t": "eval", "v": payload}))
    with pytest.raises(CheckpointError, match="malformed"):
        load(path)
    forge(path, json.dumps(payload))  # a string stays a string
    assert load(path) == payload
    pickled = (b"\x80\x04\x95" + b"cos\nsystem\n(S'touch " + str(tmp_path / "pwned").encode()
               + b"'\ntR.")
    forge(path, json.dumps({"t": "ndarray", "key": "x"}), {"x": np.frombuffer(pickled, np.uint8)})
    assert isinstance(load(path), np.ndarray)  # bytes are only ever bytes
    assert not (tmp_path / "pwned").exists()


def test_module_imports_no_code_loading_machinery():
    import ast
    import inspect

    tree = ast.parse(inspect.getsource(serialization))
    imported = {a.name.split(".")[0] for n in ast.walk(tree)
                if isinstance(n, (ast.Import, ast.ImportFrom)) for a in n.names}
    imported |= {n.module.split(".")[0] for n in ast.walk(tree)
                 if isinstance(n, ast.ImportFrom) and n.module}
    assert not imported & {"pickle", "marshal", "shelve", "dill", "cloudpickle", "yaml", "ast",
                           "importlib", "numpy"}
    called = {n.func.id for n in ast.walk(tree)
              if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
    assert not called & {"eval", "exec", "compile", "__import__"}
    attr_calls = {n.func.attr for n in ast.walk(tree)
                  if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)}
    assert "loads" in attr_calls and not attr_calls & {"load_module", "import_module"}


@pytest.mark.parametrize("structure", [
    '{"t": "tensor", "key": "missing"}', '{"t": "dict", "items": [[[1], 2]]}',
    '{"t": "dict"}', '{"t": "int", "hex": "zz"}', '{"no_tag": 1}', "[" * 100000,
    '{"t": "tensor", "key": "i", "requires_grad": true}', "not json",
])
def test_crafted_structures_fail_cleanly(tmp_path, structure):
    path = tmp_path / "crafted.safetensors"
    forge(path, structure, {"i": np.zeros(2, np.int64)})
    with pytest.raises(CheckpointError, match="crafted.safetensors"):
        load(path)


def test_missing_safetensors_says_how_to_install(monkeypatch, tmp_path):
    import sys

    monkeypatch.setitem(sys.modules, "safetensors.numpy", None)
    with pytest.raises(ImportError, match=r'pip install "chainrule\[all\]"'):
        save({"x": 1}, tmp_path / "x.safetensors")
