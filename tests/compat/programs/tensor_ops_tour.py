# ruff: noqa: E501, B007  (written in the style of published programs)
"""A tour of everyday tensor operations, printed as lists and numbers."""
import numpy as np
import torch

x = torch.arange(12, dtype=torch.float32).view(3, 4)
print("sum:", x.sum().item(), "rows:", x.sum(dim=1).tolist(), "cols:", x.mean(0).tolist())
print("max:", x.max().item(), "argmax rows:", x.argmax(dim=1).tolist())
vals, idx = x.max(dim=0)
print("max over dim 0:", vals.tolist(), idx.tolist())
print("reshape:", x.reshape(2, 6).tolist())
print("transpose:", x.t().shape[0], x.t().contiguous().view(-1)[:4].tolist())
print("permute:", x.unsqueeze(0).permute(2, 0, 1).shape[0])
print("cat:", torch.cat([x, x], dim=0).size(0), "stack:", torch.stack([x, x]).dim())
print("chunk:", [c.shape[1] for c in x.chunk(2, dim=1)], "split:", [s.size(1) for s in x.split(3, dim=1)])
print("squeeze:", torch.zeros(1, 3, 1).squeeze().numel(), "unsqueeze:", x.unsqueeze(-1).dim())
print("clamp:", x.clamp(2, 5)[0].tolist(), "where:", torch.where(x > 5, x, torch.zeros_like(x))[1].tolist())
print("mask:", x[x > 8].tolist(), "fancy:", x[[0, 2]][:, 1].tolist())
print("matmul:", (x @ x.t()).diagonal().tolist() if hasattr(x, "diagonal") else (x * x).sum(1).tolist())
print("broadcast:", (x + torch.tensor([1.0, 0.0, -1.0, 2.0]))[2].tolist())
print("std/var:", round(x.std().item(), 4), round(x.var(dim=1).mean().item(), 4))
print("exp/log:", round(x.exp().log().sum().item(), 3), "softmax:", round(torch.softmax(x, 1)[0, 3].item(), 5))
a = np.ones((2, 2), dtype=np.float32)
t = torch.from_numpy(a)
a[0, 0] = 5
print("shared memory:", t[0, 0].item(), "to numpy:", t.numpy().sum())
print("eq:", torch.equal(x, x.clone()), "allclose:", torch.allclose(x, x + 1e-9))
print("item types:", type(x.sum().item()).__name__, type(x.argmax().item()).__name__)
print("float/long:", x.long().dtype == torch.int64, x.int().float().dtype == torch.float32)
