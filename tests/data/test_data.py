"""Datasets, random_split and the DataLoader (batching, shuffling, collate, fast path)."""

from collections import namedtuple

import numpy as np
import pytest

import chainrule as cr
from chainrule.data import DataLoader, Dataset, Subset, TensorDataset, default_collate, random_split


class ListDataset(Dataset):
    """A dataset without get_batch: forces the per-sample collate path."""

    def __init__(self, items):
        self.items = list(items)

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        return self.items[i]


def make_ds(n=10, d=3):
    X = cr.tensor(np.arange(n * d, dtype=np.float32).reshape(n, d))
    y = cr.tensor(np.arange(n) % 4)
    return TensorDataset(X, y)


def labels(loader):
    return [y.tolist() for _, y in loader]


# -- datasets -----------------------------------------------------------------------------------


def test_tensor_dataset_items_and_len():
    ds = make_ds()
    assert len(ds) == 10
    x, y = ds[3]
    assert x.tolist() == [9.0, 10.0, 11.0] and y.item() == 3
    assert ds[-1][1].item() == 9 % 4
    assert ds[np.int64(2)][1].item() == 2


def test_tensor_dataset_wraps_numpy_and_checks_sizes():
    ds = TensorDataset(np.zeros((4, 2), np.float64), np.arange(4))
    assert isinstance(ds.tensors[0], cr.Tensor) and ds.tensors[0].dtype == np.float64
    with pytest.raises(ValueError, match="same size in dimension 0"):
        TensorDataset(cr.zeros(4, 2), cr.zeros(5))
    with pytest.raises(ValueError, match="at least one"):
        TensorDataset()
    with pytest.raises(TypeError, match="integer"):
        ds[1.5]


def test_subset_indexes_and_validates():
    ds = make_ds()
    sub = Subset(ds, [7, 2, 2])
    assert len(sub) == 3
    assert sub[0][1].item() == 7 % 4 and sub[2][0].tolist() == ds[2][0].tolist()
    nested = Subset(sub, [2, 0])
    assert nested[1][1].item() == 7 % 4
    with pytest.raises(IndexError):
        Subset(ds, [10])
    with pytest.raises(TypeError):
        Subset(ds, [0.5])
    assert len(Subset(ds, [])) == 0


def test_random_split_fractions_cover_disjointly():
    ds = make_ds(103)
    parts = random_split(ds, [0.7, 0.2, 0.1], generator=cr.Generator(0))
    # 72.1, 20.6, 10.3 floor to 72, 20, 10; the 1 left over goes to the first split
    assert [len(p) for p in parts] == [73, 20, 10]
    allidx = np.concatenate([p.indices for p in parts])
    assert sorted(allidx.tolist()) == list(range(103))


def test_random_split_integer_lengths_and_errors():
    ds = make_ds(10)
    a, b = random_split(ds, [6, 4], generator=cr.Generator(1))
    assert (len(a), len(b)) == (6, 4)
    assert set(a.indices.tolist()).isdisjoint(b.indices.tolist())
    with pytest.raises(ValueError, match="sum to"):
        random_split(ds, [6, 5])
    with pytest.raises(ValueError, match="fractions"):
        random_split(ds, [0.5, 0.6])


def test_random_split_is_deterministic_per_seed():
    ds = make_ds(50)

    def split(gen):
        return [p.indices.tolist() for p in random_split(ds, [0.5, 0.5], generator=gen)]

    assert split(cr.Generator(3)) == split(cr.Generator(3))
    assert split(cr.Generator(3)) != split(cr.Generator(4))
    cr.manual_seed(11)
    first = split(None)
    cr.manual_seed(11)
    assert split(None) == first


# -- DataLoader ---------------------------------------------------------------------------------


def test_sequential_batches_len_and_drop_last():
    ds = make_ds(10)
    loader = DataLoader(ds, batch_size=4)
    assert len(loader) == 3
    batches = list(loader)
    assert [x.shape for x, _ in batches] == [(4, 3), (4, 3), (2, 3)]
    assert labels(loader) == [[0, 1, 2, 3], [0, 1, 2, 3], [0, 1]]
    dl = DataLoader(ds, batch_size=4, drop_last=True)
    assert len(dl) == 2 and [x.shape[0] for x, _ in dl] == [4, 4]
    assert len(DataLoader(ds, batch_size=5, drop_last=True)) == 2
    assert len(DataLoader(ds)) == 10
    assert len(DataLoader(ds, batch_size=64)) == 1
    assert len(DataLoader(ds, batch_size=64, drop_last=True)) == 0
    assert list(DataLoader(ds, batch_size=64, drop_last=True)) == []


def test_batches_keep_dtypes_and_are_copies():
    ds = make_ds(6)
    x, y = next(iter(DataLoader(ds, batch_size=3)))
    assert x.dtype == np.float32 and y.dtype == np.int64
    x += 100.0  # in-place change of a batch must not touch the dataset
    assert ds[0][0].tolist() == [0.0, 1.0, 2.0]


def test_shuffle_covers_each_sample_once_per_epoch():
    ds = make_ds(23)
    loader = DataLoader(ds, batch_size=5, shuffle=True, generator=cr.Generator(0))
    seen = [row for x, _ in loader for row in x[:, 0].tolist()]
    assert sorted(seen) == [3.0 * i for i in range(23)]
    assert seen != sorted(seen)


def test_shuffle_deterministic_per_seed_and_reshuffles_each_epoch():
    ds = make_ds(40)

    def epochs(gen, n=3):
        loader = DataLoader(ds, batch_size=8, shuffle=True, generator=gen)
        return [labels(loader) for _ in range(n)]

    a, b = epochs(cr.Generator(5)), epochs(cr.Generator(5))
    assert a == b
    assert a[0] != a[1]  # a fresh order every epoch
    assert epochs(cr.Generator(6)) != a


def test_shuffle_uses_global_generator_at_iteration_time():
    ds = make_ds(40)
    loader = DataLoader(ds, batch_size=8, shuffle=True)
    cr.manual_seed(123)
    first = labels(loader)
    cr.manual_seed(123)
    assert labels(loader) == first


def test_fast_path_equals_per_sample_collate():
    ds = make_ds(17)
    for shuffle in (False, True):
        fast = DataLoader(ds, batch_size=4, shuffle=shuffle, generator=cr.Generator(2))
        slow = DataLoader(ds, batch_size=4, shuffle=shuffle, generator=cr.Generator(2),
                          collate_fn=default_collate)
        for (xf, yf), (xs, ys) in zip(fast, slow, strict=True):
            assert xf.tolist() == xs.tolist() and yf.tolist() == ys.tolist()
            assert xf.dtype == xs.dtype and yf.dtype == ys.dtype


def test_fast_path_is_used_for_tensor_dataset_and_subsets(monkeypatch):
    ds = make_ds(20)
    sub = random_split(ds, [0.5, 0.5], generator=cr.Generator(0))[0]
    calls = []
    monkeypatch.setattr(TensorDataset, "__getitem__",
                        lambda self, i: calls.append(i) or pytest.fail("per-sample path used"))
    for d in (ds, sub, Subset(sub, [0, 1, 2])):
        for shuffle in (False, True):
            for _ in DataLoader(d, batch_size=3, shuffle=shuffle):
                pass
    assert calls == []


def test_subset_loader_yields_the_subset_samples():
    ds = make_ds(20)
    sub = Subset(ds, [5, 1, 19])
    (x, y), = list(DataLoader(sub, batch_size=8))
    assert x[:, 0].tolist() == [15.0, 3.0, 57.0] and y.tolist() == [1, 1, 3]


def test_per_sample_path_and_custom_collate():
    ds = ListDataset([(np.full(2, i, np.float64), i) for i in range(5)])
    x, y = next(iter(DataLoader(ds, batch_size=3)))
    assert x.dtype == np.float64 and x.shape == (3, 2) and y.tolist() == [0, 1, 2]
    loader = DataLoader(ds, batch_size=2, collate_fn=lambda b: [s[1] for s in b])
    assert list(loader) == [[0, 1], [2, 3], [4]]


def test_default_collate_structures():
    Pair = namedtuple("Pair", "a b")
    batch = default_collate([
        {"x": cr.tensor([1.0]), "meta": ("s1", 1.5, True), "p": Pair(1, np.float32(2))},
        {"x": cr.tensor([2.0]), "meta": ("s2", 2.5, False), "p": Pair(3, np.float32(4))},
    ])
    assert batch["x"].tolist() == [[1.0], [2.0]]
    names, floats, flags = batch["meta"]
    assert names == ["s1", "s2"] and floats.dtype == np.float32 and flags.dtype == np.bool_
    assert isinstance(batch["p"], Pair) and batch["p"].a.dtype == np.int64
    assert batch["p"].b.dtype == np.float32
    assert isinstance(default_collate([[1, 2], [3, 4]]), list)


def test_default_collate_keeps_the_graph_of_tensors_requiring_grad():
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    batch = default_collate([w * 2, w * 3])
    batch.sum().backward()
    assert w.grad.tolist() == [5.0, 5.0]


def test_default_collate_errors():
    with pytest.raises(TypeError, match="collate_fn"):
        default_collate([object(), object()])
    with pytest.raises(ValueError, match="same number of fields"):
        default_collate([(1, 2), (1,)])


def test_loader_argument_errors():
    with pytest.raises(ValueError, match="batch_size"):
        DataLoader(make_ds(), batch_size=0)
    with pytest.raises(TypeError, match="__len__"):
        DataLoader(object())
