# ruff: noqa: E501, B007  (written in the style of published programs)
"""Linear regression with tensors and autograd, weights updated by hand."""
import numpy as np
import torch

rng = np.random.default_rng(0)
x = torch.from_numpy(rng.uniform(-1, 1, (64, 1)).astype(np.float32))
y = 3 * x + 0.5 + torch.from_numpy(rng.normal(0, 0.05, (64, 1)).astype(np.float32))

w = torch.zeros(1, 1, requires_grad=True)
b = torch.zeros(1, requires_grad=True)
learning_rate = 0.1
for epoch in range(100):
    y_pred = x.mm(w) + b
    loss = (y_pred - y).pow(2).mean()
    loss.backward()
    with torch.no_grad():
        w -= learning_rate * w.grad
        b -= learning_rate * b.grad
        w.grad.zero_()
        b.grad.zero_()
    if epoch % 20 == 19:
        print(f"epoch {epoch + 1}: loss {loss.item():.6f}")
print(f"w = {w.item():.4f}, b = {b.item():.4f}")
