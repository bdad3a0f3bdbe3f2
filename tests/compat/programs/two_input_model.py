# ruff: noqa: E501, B007  (written in the style of published programs)
"""A model with two inputs whose features are concatenated, trained with Adam and a step LR."""
import numpy as np
import torch
import torch.nn as nn


class TwoTower(nn.Module):
    def __init__(self):
        super().__init__()
        self.left = nn.Sequential(nn.Linear(3, 4), nn.ELU())
        self.right = nn.Sequential(nn.Linear(2, 4), nn.GELU())
        self.head = nn.Linear(8, 1)

    def forward(self, a, b):
        return self.head(torch.cat((self.left(a), self.right(b)), dim=1)).squeeze(1)


rng = np.random.default_rng(16)
A = torch.from_numpy(rng.normal(0, 1, (24, 3)).astype(np.float32))
B = torch.from_numpy(rng.normal(0, 1, (24, 2)).astype(np.float32))
t = A.sum(1) - B.prod(1)
model = TwoTower()
with torch.no_grad():
    for p in model.parameters():
        p.copy_(torch.from_numpy(rng.normal(0, 0.4, tuple(p.shape)).astype(np.float32)))
opt = torch.optim.Adam(model.parameters(), lr=0.02)
sched = torch.optim.lr_scheduler.StepLR(opt, step_size=10, gamma=0.5)
for epoch in range(30):
    opt.zero_grad()
    loss = ((model(A, B) - t) ** 2).mean()
    loss.backward()
    opt.step()
    sched.step()
    if epoch % 10 == 9:
        print(f"epoch {epoch + 1}: mse {loss.item():.5f} lr {sched.get_last_lr()[0]:.4f}")
