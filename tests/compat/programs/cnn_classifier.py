# ruff: noqa: E501, B007  (written in the style of published programs)
"""A small CNN in the style of the MNIST example: conv, max-pool, dropout, log-softmax, NLL."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim


class Net(nn.Module):
    def __init__(self):
        super(Net, self).__init__()
        self.conv1 = nn.Conv2d(1, 4, 3, 1)
        self.conv2 = nn.Conv2d(4, 8, 3, 1)
        self.dropout1 = nn.Dropout(0.25)
        self.fc1 = nn.Linear(8 * 2 * 2, 16)
        self.fc2 = nn.Linear(16, 3)

    def forward(self, x):
        x = self.conv1(x)
        x = F.relu(x)
        x = self.conv2(x)
        x = F.relu(x)
        x = F.max_pool2d(x, 2)
        x = self.dropout1(x)
        x = torch.flatten(x, 1)
        x = self.fc1(x)
        x = F.relu(x)
        x = self.fc2(x)
        return F.log_softmax(x, dim=1)


def init_weights(model, seed):
    rng = np.random.default_rng(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.from_numpy(rng.normal(0, 0.2, tuple(p.shape)).astype(np.float32)))


rng = np.random.default_rng(4)
images = torch.from_numpy(rng.normal(0, 1, (24, 1, 8, 8)).astype(np.float32))
targets = torch.from_numpy((np.arange(24) % 3).astype(np.int64))
images[targets == 1, :, :4] += 1.0
images[targets == 2, :, 4:] -= 1.0

model = Net()
init_weights(model, 1)
optimizer = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
model.train()
for epoch in range(1, 4):
    for batch_idx in range(3):
        data, target = images[batch_idx * 8:(batch_idx + 1) * 8], targets[batch_idx * 8:(batch_idx + 1) * 8]
        model.eval()  # dropout off: the same numbers in both libraries
        optimizer.zero_grad()
        output = model(data)
        loss = F.nll_loss(output, target)
        loss.backward()
        optimizer.step()
    print("Train Epoch: {} [{}/{}]\tLoss: {:.6f}".format(epoch, 24, 24, loss.item()))

model.eval()
with torch.no_grad():
    output = model(images)
    test_loss = F.nll_loss(output, targets, reduction="sum").item() / 24
    pred = output.argmax(dim=1, keepdim=True)
    correct = pred.eq(targets.view_as(pred)).sum().item()
print("Test set: Average loss: {:.4f}, Accuracy: {}/{}".format(test_loss, correct, 24))
