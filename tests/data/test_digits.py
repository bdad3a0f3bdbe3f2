"""load_digits: split sizes, stratification, standardization fitted on the training split."""

import sys

import numpy as np
import pytest

pytest.importorskip("sklearn")

from chainrule.data import load_digits  # noqa: E402


@pytest.fixture(scope="module")
def digits():
    return load_digits()


def test_shapes_dtypes_and_split_sizes(digits):
    d = digits
    assert d.X_train.shape == (1257, 64) and d.X_test.shape == (540, 64)
    assert d.y_train.shape == (1257,) and d.y_test.shape == (540,)
    assert d.X_train.dtype == np.float32 and d.X_test.dtype == np.float32
    assert d.y_train.dtype == np.int64 and d.y_test.dtype == np.int64
    assert d.images.shape == (540, 8, 8)
    assert d.mean.shape == (64,) and d.std.shape == (64,)
    assert d.n_features == 64 and d.n_classes == 10


def test_split_is_stratified_and_seeded(digits):
    from sklearn.datasets import load_digits as sk_load

    counts = np.bincount(sk_load().target, minlength=10)
    test_counts = np.bincount(digits.y_test, minlength=10)
    assert np.all(np.abs(test_counts - 0.3 * counts) <= 1)
    again = load_digits(seed=0)
    assert np.array_equal(again.X_train, digits.X_train)
    assert not np.array_equal(load_digits(seed=1).y_test, digits.y_test)
    small = load_digits(test_size=0.5)
    assert len(small.y_train) + len(small.y_test) == 1797


def test_standardization_fitted_on_training_split(digits):
    d = digits
    X = d.X_train.astype(np.float64)
    assert np.allclose(X.mean(axis=0), 0.0, atol=1e-6)
    std = X.std(axis=0)
    constant = d.std == 1.0
    assert np.allclose(std[~constant], 1.0, atol=1e-5)
    # constant training pixels (always 0 at the corners) stay exactly 0, no division by zero
    assert constant.any() and np.all(X[:, constant] == 0.0)
    assert np.all(np.isfinite(d.X_test))
    # the test split is transformed with the training statistics, not its own
    assert not np.allclose(d.X_test.astype(np.float64).mean(axis=0), 0.0, atol=1e-6)


def test_images_are_raw_test_pixels_and_standardize_reproduces_features(digits):
    d = digits
    assert d.images.min() >= 0 and d.images.max() <= 16
    assert np.array_equal(d.standardize(d.images), d.X_test)  # (n, 8, 8) accepted
    assert np.array_equal(d.standardize(d.images.reshape(-1, 64)), d.X_test)
    assert d.standardize(d.images[0]).shape == (64,)
    with pytest.raises(ValueError, match="64"):
        d.standardize(np.zeros((2, 10)))


def test_raw_features_and_float64():
    d = load_digits(standardize=False, dtype="float64")
    assert d.X_train.dtype == np.float64 and d.X_train.max() == 16.0
    assert np.all(d.mean == 0) and np.all(d.std == 1)
    assert np.array_equal(d.standardize(d.images), d.X_test)
    with pytest.raises(TypeError, match="floating"):
        load_digits(dtype="int64")


def test_missing_scikit_learn_says_how_to_install(monkeypatch):
    for mod in list(sys.modules):
        if mod == "sklearn" or mod.startswith("sklearn."):
            monkeypatch.delitem(sys.modules, mod)
    monkeypatch.setitem(sys.modules, "sklearn", None)
    with pytest.raises(ImportError, match=r'pip install "chainrule\[all\]"'):
        load_digits()
