# ruff: noqa: E501, B007  (written in the style of published programs)
"""Multi-head model with nn.ModuleDict, a ParameterList and SmoothL1Loss."""
# needs: torch.nn.ModuleDict, torch.nn.ParameterList, torch.nn.SmoothL1Loss, torch.optim.Adagrad
import numpy as np
import torch
import torch.nn as nn


class MultiHead(nn.Module):
    def __init__(self):
        super().__init__()
        self.trunk = nn.Linear(3, 5)
        self.heads = nn.ModuleDict({"reg": nn.Linear(5, 1), "cls": nn.Linear(5, 2)})
        self.scales = nn.ParameterList([nn.Parameter(torch.ones(1)) for _ in range(2)])
        self.skip = nn.Identity()

    def forward(self, x):
        h = torch.relu(self.trunk(self.skip(x)))
        return self.heads["reg"](h) * self.scales[0], self.heads["cls"](h) * self.scales[1]


rng = np.random.default_rng(21)
model = MultiHead()
with torch.no_grad():
    for p in model.parameters():
        p.copy_(torch.from_numpy(rng.normal(0, 0.5, tuple(p.shape)).astype(np.float32)))
x = torch.from_numpy(rng.normal(0, 1, (12, 3)).astype(np.float32))
yr = torch.from_numpy(rng.normal(0, 1, (12, 1)).astype(np.float32))
yc = torch.from_numpy(rng.integers(0, 2, 12))
opt = torch.optim.Adagrad(model.parameters(), lr=0.1)
for step in range(15):
    reg, cls = model(x)
    loss = nn.SmoothL1Loss()(reg, yr) + nn.CrossEntropyLoss()(cls, yc)
    opt.zero_grad()
    loss.backward()
    opt.step()
    if step % 5 == 4:
        print(step, round(loss.item(), 5))
print(list(model.heads.keys()), len(model.scales), [n for n, _ in model.named_parameters()][:4])
