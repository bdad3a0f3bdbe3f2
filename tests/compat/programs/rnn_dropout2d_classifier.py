# ruff: noqa: E501, B007  (written in the style of published programs)
"""An MNIST-RNN-style classifier: LSTM over rows, BatchNorm1d and Dropout2d on the (N, hidden)
output (PyTorch warns and drops single elements there), Adadelta with StepLR."""
import warnings

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from torch.optim.lr_scheduler import StepLR

warnings.filterwarnings("ignore", message="dropout2d")


class Net(nn.Module):
    def __init__(self, p=0.25):
        super(Net, self).__init__()
        self.rnn = nn.LSTM(input_size=6, hidden_size=8, batch_first=True)
        self.batchnorm = nn.BatchNorm1d(8)
        self.dropout1 = nn.Dropout2d(p)
        self.fc1 = nn.Linear(8, 3)

    def forward(self, input):
        input = input.reshape(-1, 6, 6)
        output, hidden = self.rnn(input)
        output = output[:, -1, :]
        output = self.batchnorm(output)
        output = self.dropout1(output)
        return F.log_softmax(self.fc1(output), dim=1)


rng = np.random.RandomState(0)
model = Net(p=0.0)
with torch.no_grad():  # the same starting weights in every run
    for name, p in model.named_parameters():
        p.copy_(torch.from_numpy(rng.uniform(-0.3, 0.3, tuple(p.shape)).astype(np.float32)))
data = torch.from_numpy(rng.randn(12, 1, 6, 6).astype(np.float32))
target = torch.from_numpy(rng.randint(0, 3, 12)).long()
optimizer = optim.Adadelta(model.parameters(), lr=1.0)
scheduler = StepLR(optimizer, step_size=1, gamma=0.7)
for epoch in range(1, 4):
    model.train()
    for batch_idx in range(3):
        x, y = data[batch_idx * 4:(batch_idx + 1) * 4], target[batch_idx * 4:(batch_idx + 1) * 4]
        optimizer.zero_grad()
        loss = F.nll_loss(model(x), y)
        loss.backward()
        optimizer.step()
    print('Train Epoch: {} lr {:.3f}\tLoss: {:.6f}'.format(epoch, scheduler.get_last_lr()[0], loss.item()))
    scheduler.step()
model.eval()
with torch.no_grad():
    pred = model(data).argmax(dim=1, keepdim=True)
    print('correct:', pred.eq(target.view_as(pred)).sum().item(), 'of', len(target))

drop = nn.Dropout2d(0.5)
y2 = drop(torch.ones(64, 8))  # 2-D: single elements dropped, the rest scaled by 2
print('2-D values:', sorted(set(y2.view(-1).tolist())), 'some rows mixed:', bool(((y2 == 0).any(1) & (y2 != 0).any(1)).any()))
y3 = drop(torch.ones(16, 4, 5))  # 3-D is read as (N, C, L): whole length-5 rows kept or dropped
print('3-D rows uniform:', bool((y3.max(-1)[0] == y3.min(-1)[0]).all()))
y4 = drop(torch.ones(2, 16, 3, 3))
print('4-D channels uniform:', bool((y4.flatten(2).max(-1)[0] == y4.flatten(2).min(-1)[0]).all()))
