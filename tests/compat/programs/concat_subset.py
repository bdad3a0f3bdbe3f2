# ruff: noqa: E501, B007  (written in the style of published programs)
"""ConcatDataset, Subset and slicing a TensorDataset."""
import torch
from torch.utils.data import ConcatDataset, DataLoader, Subset, TensorDataset

first = TensorDataset(torch.arange(6).float().view(3, 2), torch.tensor([0, 1, 0]))
second = TensorDataset(torch.arange(100, 108).float().view(4, 2), torch.tensor([1, 1, 0, 0]))
both = ConcatDataset([first, second])
print("length:", len(both), "cumulative:", both.cumulative_sizes)
x, y = both[4]
print("item 4:", x.tolist(), int(y))
x, y = both[-1]
print("last:", x.tolist(), int(y))
part = Subset(both, [6, 0, 3])
print("subset:", [int(part[i][1]) for i in range(len(part))])
xs, ys = first[0:2]
print("slice:", xs.tolist(), ys.tolist())
for xb, yb in DataLoader(both, batch_size=5):
    print("batch:", xb.sum().item(), yb.tolist())
