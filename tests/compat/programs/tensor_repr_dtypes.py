# ruff: noqa: E501, B007  (written in the style of published programs)
"""The tensors tutorial's bridge with NumPy: a float64 tensor from NumPy prints its dtype as
PyTorch does (dtype=torch.float64), as do int32/uint8/float16 tensors; the defaults print none."""
import numpy as np
import torch

n = np.ones(5)
t = torch.from_numpy(n)
np.add(n, 1, out=n)
print(f"t: {t}")
print(f"n: {n}")
print(torch.arange(4, dtype=torch.int32))
print(torch.tensor([[0, 255], [7, 8]], dtype=torch.uint8))
print(torch.tensor([0.5, 1.25], dtype=torch.float16))
print(torch.tensor([1.5, 2.0]), torch.tensor([1, 2]), torch.tensor([True, False]))
w = torch.tensor([0.25, -1.0], dtype=torch.float64, requires_grad=True)
print(w)
print((w * 2).detach())
rows = torch.from_numpy(np.random.RandomState(0).randn(3, 20).astype(np.float32))
print(f"Before ReLU: {rows}\n\n")  # long rows wrap at 80 columns, as PyTorch wraps them
print(f"After ReLU: {torch.relu(rows)}")
