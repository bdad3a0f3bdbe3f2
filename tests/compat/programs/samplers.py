# ruff: noqa: E501, B007  (written in the style of published programs)
"""Samplers and splits: sequential, batch, subset-random, weighted, random_split."""
import torch
from torch.utils.data import (BatchSampler, DataLoader, SequentialSampler, SubsetRandomSampler,
                              TensorDataset, WeightedRandomSampler, random_split)

data = TensorDataset(torch.arange(20).float().view(10, 2), torch.arange(10))
print("batches:", list(BatchSampler(SequentialSampler(range(10)), batch_size=3, drop_last=False)))
print("dropped:", list(BatchSampler(range(10), batch_size=4, drop_last=True)))

torch.manual_seed(0)
train_idx, valid_idx = list(range(7)), list(range(7, 10))
train_loader = DataLoader(data, batch_size=3, sampler=SubsetRandomSampler(train_idx))
seen = sorted(i for _, y in train_loader for i in y.tolist())
print("subset sampler covers:", seen, "in", len(train_loader), "batches")

weights = [0.0 if i % 2 else 1.0 for i in range(10)]
sampler = WeightedRandomSampler(weights, num_samples=12, replacement=True)
picked = [i for i in sampler]
print("weighted picks only even:", all(i % 2 == 0 for i in picked), len(picked))

train_set, val_set = random_split(data, [7, 3])
print("split sizes:", len(train_set), len(val_set))
a, b, c = random_split(range(10), [0.5, 0.3, 0.2])
print("fraction split:", len(a), len(b), len(c), sorted(list(a) + list(b) + list(c)) == list(range(10)))
loader = DataLoader(data, batch_sampler=BatchSampler(SequentialSampler(data), 4, False))
print("batch_sampler loader:", [y.tolist() for _, y in loader])
