# ruff: noqa: E501, B007  (written in the style of published programs)
"""Fitting a curve with LBFGS and a closure."""
# needs: torch.optim.LBFGS
import numpy as np
import torch

rng = np.random.default_rng(20)
x = torch.from_numpy(np.linspace(-2, 2, 40).astype(np.float64))
y = 1.5 * torch.sin(x) + 0.3 + torch.from_numpy(rng.normal(0, 0.05, 40))
params = torch.tensor([1.0, 0.0], dtype=torch.float64, requires_grad=True)
optimizer = torch.optim.LBFGS([params], lr=1, max_iter=20, history_size=10)


def closure():
    optimizer.zero_grad()
    loss = ((params[0] * torch.sin(x) + params[1] - y) ** 2).mean()
    loss.backward()
    return loss


for i in range(3):
    loss = optimizer.step(closure)
    print(i, round(loss.item(), 8), [round(v, 5) for v in params.tolist()])
