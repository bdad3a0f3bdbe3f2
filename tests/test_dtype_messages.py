"""Error messages name a tensor's dtype as PyTorch does (``torch.float32``), the same way
wherever they come from: NumPy's bare ``float32`` never appears on its own."""

from __future__ import annotations

import re

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import nn
from chainrule.core.dtypes import dtype_name
from chainrule.data import Subset, TensorDataset


def _inplace_int_div():
    x = cr.arange(3)
    x.div_(2)


def _out_cast():
    cr.add(cr.ones(2), cr.ones(2), out=cr.zeros(2, dtype=cr.int64))


CASES = {
    "requires_grad_": (lambda: cr.arange(3).requires_grad_(), "torch.int64"),
    "in-place": (_inplace_int_div, "torch.int64"),
    "out=": (_out_cast, "torch.int64"),
    "gather": (lambda: cr.gather(cr.ones(2, 2), 1, cr.zeros(2, 1)), "torch.float32"),
    "index": (lambda: cr.ones(3)[cr.tensor([0.5])], "torch.float32"),
    "take_along_dim": (lambda: cr.take_along_dim(cr.ones(3), cr.tensor([0.5])),
                       "torch.float32"),
    "nll_loss": (lambda: F.nll_loss(cr.zeros(2, 3), cr.tensor([0.0, 1.0])), "torch.float32"),
    "one_hot": (lambda: F.one_hot(cr.tensor([0.5])), "torch.float32"),
    "Module.to": (lambda: nn.Linear(2, 2).to(cr.int64), "torch.int64"),
    "rand": (lambda: cr.rand(2, dtype=cr.int64), "torch.int64"),
    "set_default_dtype": (lambda: cr.set_default_dtype(cr.int64), "torch.int64"),
    "multinomial": (lambda: cr.multinomial(cr.tensor([1, 2]), 1), "torch.int64"),
    "Subset": (lambda: Subset(TensorDataset(cr.ones(3)), cr.tensor([0.5])), "torch.float32"),
    "embedding_bag offsets": (
        lambda: F.embedding_bag(cr.tensor([0, 1]), cr.ones(3, 2), cr.tensor([0.0])),
        "torch.float32"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_error_names_the_dtype_as_pytorch(case: str) -> None:
    fn, name = CASES[case]
    with pytest.raises((TypeError, ValueError, RuntimeError, IndexError)) as e:
        fn()
    msg = str(e.value)
    assert name in msg, msg
    assert not re.search(r"(?<!torch\.)(?<!cr\.)\b(float|int)(16|32|64)\b", msg), (
        f"a bare NumPy dtype name in: {msg}")


def test_dtype_name() -> None:
    assert dtype_name(np.dtype("float32")) == "torch.float32"
    assert dtype_name(cr.int64) == "torch.int64"
    assert dtype_name(np.bool_) == "torch.bool"
    assert dtype_name(np.dtype("complex64")) == "complex64"  # no chainrule name: NumPy's
    assert dtype_name(np.dtype(object)) == "object"
