# ruff: noqa: E501, B007  (written in the style of published programs)
"""An old-style program: Variable, FloatTensor/LongTensor constructors, x.type(...)."""
# needs: torch.FloatTensor, torch.LongTensor, torch.autograd.Variable, Tensor.type
import numpy as np
import torch
from torch.autograd import Variable

dtype = torch.FloatTensor
rng = np.random.default_rng(18)
x = Variable(torch.from_numpy(rng.normal(0, 1, (10, 3)).astype(np.float32)).type(dtype), requires_grad=False)
y = Variable(torch.FloatTensor(rng.normal(0, 1, (10, 1)).tolist()), requires_grad=False)
w = Variable(torch.from_numpy(rng.normal(0, 0.5, (3, 1)).astype(np.float32)).type(dtype), requires_grad=True)
learning_rate = 1e-2
for t in range(30):
    y_pred = x.mm(w)
    loss = (y_pred - y).pow(2).sum()
    loss.backward()
    w.data -= learning_rate * w.grad.data
    w.grad.data.zero_()
    if t % 10 == 9:
        print(t, round(loss.item(), 5))
labels = torch.LongTensor([2, 0, 1])
print(labels.type(), x.type(), labels.tolist())
empty = torch.FloatTensor(2, 3).zero_()
print(empty.sum().item(), tuple(empty.size()))
