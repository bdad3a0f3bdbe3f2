# ruff: noqa: E501, B007  (written in the style of published programs)
"""Learning-rate schedules stepped once per epoch, as in training scripts."""
import torch
import torch.nn as nn
from torch.optim.lr_scheduler import CosineAnnealingLR, ExponentialLR, StepLR

model = nn.Linear(2, 1)
for name, make in [("StepLR", lambda o: StepLR(o, step_size=2, gamma=0.5)),
                   ("ExponentialLR", lambda o: ExponentialLR(o, gamma=0.9)),
                   ("CosineAnnealingLR", lambda o: CosineAnnealingLR(o, T_max=5))]:
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    scheduler = make(optimizer)
    lrs = []
    for epoch in range(6):
        optimizer.zero_grad()
        model(torch.ones(1, 2)).sum().backward()
        optimizer.step()
        scheduler.step()
        lrs.append(round(scheduler.get_last_lr()[0], 6))
    print(name, lrs, optimizer.param_groups[0]["lr"] == lrs[-1])
