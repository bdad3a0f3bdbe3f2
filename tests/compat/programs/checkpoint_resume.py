# ruff: noqa: E501, B007  (written in the style of published programs)
"""Saving a training checkpoint (model, optimizer, epoch) and resuming from it."""
import os
import tempfile

import numpy as np
import torch
import torch.nn as nn
import torch.optim as optim


def make():
    model = nn.Sequential(nn.Linear(2, 6), nn.ReLU(), nn.Linear(6, 1))
    rng = np.random.default_rng(12)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.from_numpy(rng.normal(0, 0.5, tuple(p.shape)).astype(np.float32)))
    return model, optim.Adam(model.parameters(), lr=0.01)


rng = np.random.default_rng(13)
X = torch.from_numpy(rng.normal(0, 1, (30, 2)).astype(np.float32))
y = X[:, :1] * X[:, 1:] + 0.5


def train(model, optimizer, epochs):
    for _ in range(epochs):
        optimizer.zero_grad()
        loss = nn.functional.mse_loss(model(X), y)
        loss.backward()
        optimizer.step()
    return loss.item()


model, optimizer = make()
print("first half: %.6f" % train(model, optimizer, 20))
path = os.path.join(tempfile.mkdtemp(), "checkpoint.tar")
torch.save({"epoch": 20, "model_state_dict": model.state_dict(),
            "optimizer_state_dict": optimizer.state_dict(), "loss": 0.5}, path)
print("straight on: %.6f" % train(model, optimizer, 20))

model2, optimizer2 = make()
checkpoint = torch.load(path)
model2.load_state_dict(checkpoint["model_state_dict"])
optimizer2.load_state_dict(checkpoint["optimizer_state_dict"])
epoch = checkpoint["epoch"]
model2.train()
print("resumed at epoch", epoch, "loss %.6f" % train(model2, optimizer2, 20))
