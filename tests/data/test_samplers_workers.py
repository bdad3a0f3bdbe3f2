"""Samplers, DataLoader options and worker processes, with PyTorch's semantics."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.data import (BatchSampler, ConcatDataset, DataLoader, Dataset, RandomSampler,
                            SequentialSampler, Subset, SubsetRandomSampler, TensorDataset,
                            WeightedRandomSampler, get_worker_info, random_split)


class Numbers(Dataset):
    """Sample i is (a float32 row of i's, i, the id of the worker that read it)."""

    def __init__(self, n=23, fail_at=None):
        self.n, self.fail_at = n, fail_at

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        if i == self.fail_at:
            raise ValueError(f"sample {i} is broken")
        info = get_worker_info()
        return np.full(2, i, np.float32), i, -1 if info is None else info.id


def batches(loader):
    return [[getattr(t, "tolist", lambda t=t: t)() for t in b[:2]] for b in loader]


@pytest.mark.parametrize("kw", [
    dict(batch_size=4), dict(batch_size=4, shuffle=True), dict(batch_size=5, drop_last=True),
    dict(batch_size=None), dict(batch_size=3, sampler=SubsetRandomSampler([1, 5, 7, 9, 11])),
    dict(batch_sampler=BatchSampler(RandomSampler(range(23)), 5, True)),
])
def test_workers_give_the_batches_of_one_process_in_order(kw):
    ds = Numbers()
    cr.manual_seed(0)
    one = batches(DataLoader(ds, **kw))
    cr.manual_seed(0)
    loader = DataLoader(ds, num_workers=2, prefetch_factor=1, **kw)
    many = list(loader)
    assert batches(many) == one and len(one) == len(loader)
    if kw.get("batch_size") is not None:  # round-robin over both workers
        assert {int(w) for b in many for w in b[2].tolist()} == {0, 1}


def test_worker_init_fn_seeds_and_persistent_workers(tmp_path):
    def init(worker_id):
        assert get_worker_info().id == worker_id
        (tmp_path / f"w{worker_id}").write_text(str(get_worker_info().seed))

    loader = DataLoader(Numbers(8), batch_size=2, num_workers=2, worker_init_fn=init,
                        persistent_workers=True, generator=cr.Generator(1))
    first = batches(loader)
    assert batches(loader) == first
    seeds = sorted(int((tmp_path / f"w{i}").read_text()) for i in range(2))
    assert seeds[1] == seeds[0] + 1  # base_seed + worker id


def test_worker_errors_are_raised_in_the_main_process():
    with pytest.raises(ValueError, match=r"(?s)worker process \d.*sample 5 is broken"):
        list(DataLoader(Numbers(fail_at=5), batch_size=2, num_workers=2))


def test_loader_option_errors():
    ds = Numbers()
    with pytest.raises(ValueError, match="mutually exclusive with shuffle"):
        DataLoader(ds, sampler=SequentialSampler(ds), shuffle=True)
    with pytest.raises(ValueError, match="batch_sampler option is mutually exclusive"):
        DataLoader(ds, batch_sampler=BatchSampler(range(4), 2, False), batch_size=3)
    with pytest.raises(ValueError, match="num_workers"):
        DataLoader(ds, num_workers=-1)
    with pytest.raises(ValueError, match="prefetch_factor"):
        DataLoader(ds, prefetch_factor=2)
    with pytest.raises(ValueError, match="persistent_workers option needs num_workers > 0"):
        DataLoader(ds, persistent_workers=True)
    with pytest.raises(ValueError, match="drop_last"):
        DataLoader(ds, batch_size=None, drop_last=True)
    loader = DataLoader(ds, batch_size=4, pin_memory=True, timeout=5)
    assert len(loader) == 6 and isinstance(loader.sampler, SequentialSampler)


def test_samplers():
    g = cr.Generator(3)
    assert list(SequentialSampler(range(3))) == [0, 1, 2]
    perm = list(RandomSampler(range(10), generator=g))
    assert sorted(perm) == list(range(10)) and perm != list(range(10))
    with_repl = list(RandomSampler(range(3), replacement=True, num_samples=50, generator=g))
    assert len(with_repl) == 50 and set(with_repl) == {0, 1, 2}
    chained = list(RandomSampler(range(4), num_samples=6, generator=g))
    assert len(chained) == 6 and sorted(chained[:4]) == [0, 1, 2, 3]  # permutations chained
    assert sorted(SubsetRandomSampler([4, 8, 9], generator=g)) == [4, 8, 9]
    w = list(WeightedRandomSampler([0.0, 1.0, 3.0], 400, generator=g))
    assert 0 not in w and 250 < w.count(2) < 350
    assert sorted(WeightedRandomSampler([1, 1, 1], 3, replacement=False, generator=g)) == [0, 1, 2]
    assert list(BatchSampler(range(5), 2, drop_last=True)) == [[0, 1], [2, 3]]
    assert len(BatchSampler(range(5), 2, drop_last=False)) == 3
    with pytest.raises(ValueError, match="num_samples should be a positive integer"):
        RandomSampler(range(3), num_samples=0)
    with pytest.raises(ValueError, match="batch_size should be a positive integer"):
        BatchSampler(range(3), 0, False)
    with pytest.raises(RuntimeError, match="without replacement"):
        WeightedRandomSampler([1, 0], 2, replacement=False)


def test_samplers_are_reproducible_under_manual_seed():
    def draw():
        cr.manual_seed(7)
        return list(RandomSampler(range(20))), list(WeightedRandomSampler([1, 2, 3], 10))

    assert draw() == draw()


def test_datasets_concat_slice_subset_split():
    a = TensorDataset(cr.arange(4))
    b = TensorDataset(cr.arange(10, 13))
    cat = a + b
    assert isinstance(cat, ConcatDataset) and len(cat) == 7
    assert [int(cat[i][0]) for i in (0, 3, 4, 6, -1)] == [0, 3, 10, 12, 12]
    with pytest.raises(IndexError):
        cat[7]  # noqa: B018
    (rows,) = a[1:3]
    assert rows.tolist() == [1, 2]
    sub = Subset(a, [3, 1])
    assert sub[[0, 1]][0].tolist() == [3, 1]
    parts = random_split(range(10), [0.5, 0.3, 0.2], generator=cr.Generator(0))
    assert [len(p) for p in parts] == [5, 3, 2]
    assert sorted(i for p in parts for i in (p[j] for j in range(len(p)))) == list(range(10))
    (x,) = next(iter(DataLoader(cat, batch_size=7)))
    assert x.tolist() == [0, 1, 2, 3, 10, 11, 12]
