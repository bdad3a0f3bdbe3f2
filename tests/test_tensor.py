"""Tensors: construction, dtypes and promotion, indexing, errors that name the op and shapes."""

import warnings

import numpy as np
import pytest

import chainrule as cr

# -- construction and dtypes ----------------------------------------------------------------------


def test_python_data_defaults_to_float32_and_numpy_keeps_dtype():
    assert cr.tensor([1.0, 2.0]).dtype == cr.float32
    assert cr.tensor([1, 2]).dtype == cr.int64
    assert cr.tensor([True]).dtype == cr.bool
    assert cr.tensor(np.zeros(2)).dtype == cr.float64
    assert cr.tensor(np.zeros(2, np.float32)).dtype == cr.float32
    assert cr.tensor(np.zeros(2, np.int32)).dtype == cr.int32
    assert cr.tensor([1, 2], dtype=cr.float64).dtype == cr.float64


def test_tensor_copies_its_data():
    a = np.zeros(3)
    t = cr.tensor(a)
    a[0] = 1
    assert t[0].item() == 0
    assert cr.from_numpy(a).numpy() is not None


def test_set_default_dtype():
    cr.set_default_dtype(cr.float64)
    try:
        assert cr.tensor([1.5]).dtype == cr.float64
        assert cr.zeros(2).dtype == cr.float64
        assert (cr.arange(3) * 0.5).dtype == cr.float64
    finally:
        cr.set_default_dtype(cr.float32)
    with pytest.raises(TypeError, match="float"):
        cr.set_default_dtype(cr.int64)


@pytest.mark.parametrize(
    "a,b,expected",
    [
        (cr.ones(2), 2.0, "float32"),
        (cr.ones(2), 2, "float32"),
        (cr.ones(2, dtype=cr.float64), 2.0, "float64"),
        (cr.arange(2), 2.5, "float32"),
        (cr.arange(2), 2, "int64"),
        (cr.ones(2), cr.ones(2, dtype=cr.float64), "float64"),
        (cr.ones(2), cr.arange(2), "float32"),
        (cr.ones(2, dtype=cr.float64), cr.arange(2), "float64"),
        (cr.ones(2), cr.tensor(2.0, dtype=cr.float64), "float32"),  # 0-d does not promote
        (cr.tensor([True]), cr.ones(1), "float32"),
    ],
)
def test_promotion_follows_pytorch(a, b, expected):
    assert (a * b).dtype == expected and str((a * b).dtype) == f"torch.{expected}"
    assert (b * a).dtype == expected


def test_true_division_of_integers_gives_floats():
    assert (cr.arange(4) / 2).dtype == cr.float32


def test_factories_and_seeding():
    cr.manual_seed(3)
    a = cr.randn(2, 3)
    cr.manual_seed(3)
    b = cr.randn(2, 3)
    assert cr.equal(a, b) and a.dtype == cr.float32
    g = cr.Generator().manual_seed(5)
    c = cr.rand(4, generator=g, dtype=cr.float64)
    assert c.dtype == cr.float64 and ((c >= 0) & (c < 1)).all()
    assert cr.zeros(2, 3).shape == (2, 3) and cr.ones((2, 3)).shape == (2, 3)
    assert cr.full((2,), 7.0).tolist() == [7.0, 7.0]
    assert cr.eye(2).tolist() == [[1.0, 0.0], [0.0, 1.0]]
    assert cr.linspace(0, 1, 5).tolist() == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert cr.arange(1, 7, 2).tolist() == [1, 3, 5]
    x = cr.ones(2, 2, dtype=cr.float64)
    assert cr.zeros_like(x).dtype == cr.float64 and cr.randn_like(x).shape == (2, 2)
    assert cr.ones(2, requires_grad=True).requires_grad


def test_attributes_and_conversions():
    x = cr.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    assert x.shape == (2, 3) and x.ndim == 2 and x.size() == (2, 3) and x.size(1) == 3
    assert x.numel() == 6 and len(x) == 2 and x.dim() == 2
    assert x.T.shape == (3, 2) and x.mT.shape == (3, 2)
    assert x.tolist() == [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]
    assert x[1, 2].item() == 6.0 and float(x[0, 0]) == 1.0
    assert x.double().dtype == cr.float64 and x.long().dtype == cr.int64
    assert x.to(cr.float64).dtype == cr.float64 and x.to("cpu") is x
    assert x.device == "cpu"
    with pytest.raises(ValueError, match="one element"):
        x.item()
    assert "tensor(" in repr(x) and "grad_fn" in repr(x.requires_grad_() * 2)


# -- indexing -------------------------------------------------------------------------------------


def test_basic_indexing_values():
    a = np.arange(24.0).reshape(2, 3, 4)
    x = cr.tensor(a)
    for idx in [0, -1, (1, 2), slice(1, None), (Ellipsis, 1), (None, 0), (slice(None), None, 1),
                (0, slice(None, None, 2))]:
        np.testing.assert_array_equal(x[idx].numpy(), a[idx])


def test_integer_array_indexing_accumulates_repeats():
    x = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x[[0, 0, 2, 0]]
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 0.0, 1.0])
    x.grad = None
    x[cr.tensor([1, 1])].sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 2.0, 0.0])


def test_boolean_mask_indexing():
    a = np.array([[1.0, -2.0], [-3.0, 4.0]])
    x = cr.tensor(a, requires_grad=True)
    y = x[x > 0]
    np.testing.assert_array_equal(y.detach().numpy(), [1.0, 4.0])
    (y * 2).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[2.0, 0.0], [0.0, 2.0]])


def test_index_errors_name_the_op():
    x = cr.ones(3)
    with pytest.raises(IndexError, match="getitem.*out of bounds"):
        x[5]
    with pytest.raises(IndexError, match="integer or bool"):
        x[cr.tensor([0.5])]


# -- errors that name the op and the shapes -------------------------------------------------------


def test_broadcast_error_names_op_and_shapes():
    with pytest.raises(ValueError, match=r"add: cannot broadcast input shapes \[\(2, 3\).*\(4,\)"):
        cr.ones(2, 3) + cr.ones(4)


def test_matmul_error_names_shapes():
    with pytest.raises(ValueError, match=r"matmul: shapes \(2, 3\) and \(4, 5\) are not aligned"):
        cr.ones(2, 3) @ cr.ones(4, 5)
    with pytest.raises(ValueError, match="at least 1 dim"):
        cr.tensor(1.0) @ cr.ones(2)


def test_dim_errors():
    with pytest.raises(IndexError, match=r"sum: dim 2 is out of range.*2 dims"):
        cr.ones(2, 3).sum(dim=2)
    with pytest.raises(IndexError, match="softmax|amax"):
        cr.ones(2).softmax(dim=3)


def test_reshape_errors():
    with pytest.raises(ValueError, match=r"reshape: cannot reshape a tensor of shape \(2, 3\)"):
        cr.ones(2, 3).reshape(4)
    with pytest.raises(ValueError, match=r"cat: .*tensor 1 has shape"):
        cr.cat([cr.ones(2, 3), cr.ones(2, 4)])


# -- numerically stable functions -----------------------------------------------------------------


@pytest.mark.parametrize("dtype", [cr.float32, cr.float64])
@pytest.mark.parametrize(
    "fn",
    [cr.sigmoid, cr.softplus, lambda x: cr.logsumexp(x, dim=0),
     lambda x: cr.softmax(x, dim=0), lambda x: cr.log_softmax(x, dim=0)],
)
def test_stable_at_magnitude_1e4(fn, dtype):
    x = cr.tensor([-1e4, -10.0, 0.0, 10.0, 1e4], dtype=dtype, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = fn(x)
        (y * cr.tensor([1.0, 2.0, 3.0, 4.0, 5.0], dtype=dtype)[: y.numel()].reshape(y.shape)
         if y.ndim else y).sum().backward()
    assert np.isfinite(y.detach().numpy()).all()
    assert np.isfinite(x.grad.numpy()).all()


def test_stable_values():
    x = cr.tensor([-1e4, 0.0, 1e4], dtype=cr.float64)
    np.testing.assert_array_equal(cr.sigmoid(x).numpy(), [0.0, 0.5, 1.0])
    np.testing.assert_allclose(cr.softplus(x).numpy(), [0.0, np.log(2), 1e4])
    np.testing.assert_allclose(cr.logsumexp(cr.tensor([1e4, 1e4], dtype=cr.float64), 0).item(),
                               1e4 + np.log(2))
    np.testing.assert_allclose(cr.log_softmax(x, 0).numpy(), [-2e4, -1e4, 0.0])


def test_max_with_dim_returns_values_and_indices():
    x = cr.tensor([[1.0, 5.0, 5.0], [7.0, 2.0, 0.0]], requires_grad=True)
    values, indices = x.max(dim=1)
    assert values.tolist() == [5.0, 7.0] and indices.tolist() == [1, 0]
    values.sum().backward()
    assert x.grad.tolist() == [[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]
    assert x.min(dim=0).indices.tolist() == [0, 1, 1]
    assert x.max().item() == 7.0 and cr.max(x, cr.zeros(2, 3)).shape == (2, 3)
