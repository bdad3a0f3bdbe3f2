# ruff: noqa: E501, B007  (written in the style of published programs)
"""Train/validate loop with model.eval(), torch.no_grad(), accuracy and best-model tracking."""
import copy

import numpy as np
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, TensorDataset

rng = np.random.default_rng(14)
X = rng.normal(0, 1, (80, 5)).astype(np.float32)
y = (X[:, 0] - X[:, 1] > 0).astype(np.int64)
train_ds = TensorDataset(torch.from_numpy(X[:60]), torch.from_numpy(y[:60]))
val_ds = TensorDataset(torch.from_numpy(X[60:]), torch.from_numpy(y[60:]))
dataloaders = {"train": DataLoader(train_ds, batch_size=20), "val": DataLoader(val_ds, batch_size=20)}

model = nn.Sequential(nn.Linear(5, 10), nn.ReLU(), nn.Dropout(0.0), nn.Linear(10, 2))
with torch.no_grad():
    for p in model.parameters():
        p.copy_(torch.from_numpy(rng.normal(0, 0.3, tuple(p.shape)).astype(np.float32)))
criterion = nn.CrossEntropyLoss()
optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
best_acc = 0.0
best_model_wts = copy.deepcopy(model.state_dict())
for epoch in range(4):
    for phase in ["train", "val"]:
        model.train() if phase == "train" else model.eval()
        running_loss, running_corrects = 0.0, 0
        for inputs, labels in dataloaders[phase]:
            optimizer.zero_grad()
            with torch.set_grad_enabled(phase == "train"):
                outputs = model(inputs)
                _, preds = torch.max(outputs, 1)
                loss = criterion(outputs, labels)
                if phase == "train":
                    loss.backward()
                    optimizer.step()
            running_loss += loss.item() * inputs.size(0)
            running_corrects += torch.sum(preds == labels.data).item()
        n = len(dataloaders[phase].dataset)
        epoch_loss, epoch_acc = running_loss / n, running_corrects / n
        print("{} Loss: {:.4f} Acc: {:.4f}".format(phase, epoch_loss, epoch_acc))
        if phase == "val" and epoch_acc > best_acc:
            best_acc = epoch_acc
            best_model_wts = copy.deepcopy(model.state_dict())
print("Best val Acc: {:4f}".format(best_acc))
model.load_state_dict(best_model_wts)
