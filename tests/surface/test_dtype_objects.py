"""Dtypes are PyTorch's ``torch.dtype`` objects: printed, compared and used as PyTorch's are,
and accepted by NumPy wherever a NumPy dtype is."""

import pickle

import numpy as np
import pytest

import chainrule as cr

NAMES = ["float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "bool"]


@pytest.mark.parametrize("name", NAMES)
def test_printing_comparing_and_identity(name):
    dt = getattr(cr, name)
    x = cr.zeros(2, dtype=dt)
    assert str(x.dtype) == repr(x.dtype) == f"torch.{name}"
    assert x.dtype is dt and x.dtype == dt and isinstance(dt, cr.dtype)
    assert dt == np.dtype(name) and np.dtype(name) == dt and not (dt != np.dtype(name))
    assert hash(dt) == hash(np.dtype(name))
    assert {np.dtype(name): 1}[dt] == 1 and {dt: 2}[np.dtype(name)] == 2
    assert pickle.loads(pickle.dumps(dt)) is dt
    assert f"{x.dtype}" == f"torch.{name}"


def test_aliases_and_default():
    assert cr.float is cr.float32 and cr.double is cr.float64 and cr.long is cr.int64
    assert cr.half is cr.float16 and cr.int is cr.int32 and cr.short is cr.int16
    assert cr.get_default_dtype() is cr.float32
    cr.set_default_dtype(cr.float64)
    try:
        assert cr.get_default_dtype() is cr.float64 and cr.tensor([1.5]).dtype is cr.float64
    finally:
        cr.set_default_dtype(cr.float32)
    assert cr.FloatTensor.dtype is cr.float32 and cr.LongTensor([1]).dtype is cr.int64
    assert cr.zeros(1, dtype="torch.float64").dtype is cr.float64


def test_numpy_takes_them_as_its_own_dtypes():
    a = np.ones(3)
    assert np.zeros(2, cr.float32).dtype == np.float32
    assert a.astype(cr.int64).dtype == np.int64
    assert np.dtype(cr.float16) == np.float16
    assert np.result_type(cr.float32, np.float64) == np.float64
    assert np.issubdtype(cr.float32, np.floating) and not np.issubdtype(cr.int8, np.floating)
    assert np.finfo(cr.float32).eps == np.finfo(np.float32).eps
    assert a.dtype in (cr.float32, cr.float64) and np.float64 == cr.float64
    assert cr.float32.kind == "f" and cr.uint8.kind == "u" and cr.float64.itemsize == 8


def test_cannot_be_constructed():
    with pytest.raises(TypeError, match=r"cr.dtype cannot be constructed: use cr.float32"):
        cr.dtype("float32")


def test_finfo_iinfo_errors():
    with pytest.raises(TypeError, match=r"cr.finfo: torch.int64 is not a floating point dtype"):
        cr.finfo(cr.int64)
    with pytest.raises(TypeError, match=r"cr.iinfo: torch.bool is not an integer dtype"):
        cr.iinfo(cr.bool)
    assert cr.finfo().eps == cr.finfo(cr.float32).eps


torch = pytest.importorskip("torch", reason="PyTorch is the oracle for dtype attributes")


@pytest.mark.parametrize("name", NAMES)
def test_attributes_as_pytorch(name):
    ours, theirs = getattr(cr, name), getattr(torch, name)
    assert repr(ours) == repr(theirs) and str(ours) == str(theirs)
    for attr in ("is_floating_point", "is_signed", "is_complex", "itemsize"):
        assert getattr(ours, attr) == getattr(theirs, attr), attr
    assert str(cr.zeros(1, dtype=ours).dtype) == str(torch.zeros(1, dtype=theirs).dtype)
    info = cr.finfo if ours.is_floating_point else (cr.iinfo if name != "bool" else None)
    if info is not None:
        tinfo = torch.finfo if ours.is_floating_point else torch.iinfo
        assert repr(info(ours)) == repr(tinfo(theirs))
        assert info(ours).max == tinfo(theirs).max and info(ours).bits == tinfo(theirs).bits
