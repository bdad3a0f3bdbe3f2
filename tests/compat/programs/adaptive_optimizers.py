# ruff: noqa: E501, B007  (written in the style of published programs)
"""The same regression fitted with Adadelta and Adagrad."""
# needs: torch.optim.Adadelta, torch.optim.Adagrad
import numpy as np
import torch
import torch.nn as nn

rng = np.random.default_rng(22)
X = torch.from_numpy(rng.normal(0, 1, (32, 4)).astype(np.float32))
y = X @ torch.tensor([[1.0], [-2.0], [0.5], [0.0]]) + 0.1
init = [torch.from_numpy(rng.normal(0, 0.5, s).astype(np.float32)) for s in [(1, 4), (1,)]]
for name, make in [("Adadelta", lambda p: torch.optim.Adadelta(p, lr=1.0, rho=0.9)),
                   ("Adagrad", lambda p: torch.optim.Adagrad(p, lr=0.1, lr_decay=0.01))]:
    model = nn.Linear(4, 1)
    with torch.no_grad():
        model.weight.copy_(init[0])
        model.bias.copy_(init[1])
    optimizer = make(model.parameters())
    for step in range(25):
        optimizer.zero_grad()
        loss = nn.MSELoss()(model(X), y)
        loss.backward()
        optimizer.step()
    print(name, round(loss.item(), 6), [round(v, 4) for v in model.weight.view(-1).tolist()])
