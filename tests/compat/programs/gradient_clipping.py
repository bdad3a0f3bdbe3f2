# ruff: noqa: E501, B007  (written in the style of published programs)
"""Clipping gradients by norm and by value inside a training loop."""
import numpy as np
import torch
import torch.nn as nn

rng = np.random.default_rng(9)
model = nn.Sequential(nn.Linear(5, 5), nn.Tanh(), nn.Linear(5, 1))
with torch.no_grad():
    for p in model.parameters():
        p.copy_(torch.from_numpy(rng.normal(0, 1.0, tuple(p.shape)).astype(np.float32)))
X = torch.from_numpy(rng.normal(0, 3, (20, 5)).astype(np.float32))
y = torch.from_numpy(rng.normal(0, 3, (20, 1)).astype(np.float32))
optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
for step in range(5):
    optimizer.zero_grad()
    loss = ((model(X) - y) ** 2).mean()
    loss.backward()
    total_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
    clipped = sum(p.grad.pow(2).sum() for p in model.parameters()).sqrt()
    optimizer.step()
    print(f"step {step}: loss {loss.item():.4f} norm before {total_norm.item():.4f} after {clipped.item():.4f}")
nn.utils.clip_grad_value_(model.parameters(), clip_value=0.01)
print("max |grad| after clip_grad_value_:", max(p.grad.abs().max().item() for p in model.parameters()))
