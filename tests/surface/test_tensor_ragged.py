"""Nested lists that do not form a grid get PyTorch's diagnosis, located, not NumPy's."""

import pytest

import chainrule as cr


@pytest.mark.parametrize("data, message", [
    ([[1, 2], [3]], r"expected sequence of length 2 at dim 1 \(got 1\) at data\[1\]"),
    ([[[1], [2]], [[3], [4, 5]]], r"expected sequence of length 1 at dim 2 \(got 2\) at "
                                  r"data\[1\]\[1\]"),
    ([[1, 2], 3], r"data\[0\] is a sequence but data\[1\] is 3"),
    ([[1, 2], [3, [4]]], r"data\[1\]\[0\] is a number but data\[1\]\[1\] is \[4\]"),
])
def test_ragged_lists_name_the_row(data, message):
    with pytest.raises(ValueError, match=r"^tensor: " + message + r"; every row must have the "
                                         r"same length") as e:
        cr.tensor(data)
    assert "inhomogeneous" not in str(e.value)


def test_pytorch_says_the_same_length_and_dim():
    torch = pytest.importorskip("torch", reason="PyTorch is the oracle for the wording")
    with pytest.raises(ValueError) as theirs:
        torch.tensor([[1, 2], [3]])
    with pytest.raises(ValueError) as ours:
        cr.tensor([[1, 2], [3]])
    assert str(theirs.value) in str(ours.value)
