# ruff: noqa: E501, B007  (written in the style of published programs)
"""Per-layer learning rates with parameter groups, changed by hand during training."""
import torch
import torch.nn as nn

model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
with torch.no_grad():
    model[0].weight.copy_(torch.tensor([[0.1, 0.2], [-0.3, 0.4], [0.5, -0.6]]))
    model[0].bias.fill_(0.1)
    model[2].weight.copy_(torch.tensor([[0.3, -0.2, 0.1]]))
    model[2].bias.zero_()
optimizer = torch.optim.SGD([
    {"params": model[0].parameters()},
    {"params": model[2].parameters(), "lr": 1e-3},
], lr=1e-2, momentum=0.9)
x = torch.tensor([[1.0, 2.0], [0.5, -1.0]])
target = torch.tensor([[1.0], [0.0]])
for epoch in range(6):
    optimizer.zero_grad()
    loss = ((model(x) - target) ** 2).mean()
    loss.backward()
    optimizer.step()
    if epoch == 2:
        for param_group in optimizer.param_groups:
            param_group["lr"] = param_group["lr"] * 0.1
    print(epoch, round(loss.item(), 6), [g["lr"] for g in optimizer.param_groups])
print("groups:", len(optimizer.param_groups), "momentum:", optimizer.param_groups[1]["momentum"])
