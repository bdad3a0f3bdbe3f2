# ruff: noqa: E501, B007  (written in the style of published programs)
"""torch.save(model, path) and torch.load with weights_only: the 2.6+ rules."""
import os
import pickle
import tempfile

import numpy as np
import torch
import torch.nn as nn


class TinyNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.hidden = nn.Linear(2, 4)
        self.out = nn.Linear(4, 1)

    def forward(self, x):
        return self.out(torch.relu(self.hidden(x)))


model = TinyNet()
rng = np.random.default_rng(6)
with torch.no_grad():
    for p in model.parameters():
        p.copy_(torch.from_numpy(rng.normal(0, 0.5, tuple(p.shape)).astype(np.float32)))
x = torch.tensor([[0.5, -1.0], [2.0, 0.25]])
path = os.path.join(tempfile.mkdtemp(), "whole.pt")
torch.save(model, path)

try:
    torch.load(path)
    print("loaded without allow-listing")
except pickle.UnpicklingError:
    print("weights_only=True refused the model class")

with torch.serialization.safe_globals([TinyNet, nn.Linear]):
    trusted = torch.load(path)
print("safe_globals load:", type(trusted).__name__, [round(v, 5) for v in trusted(x).view(-1).tolist()])

anything = torch.load(path, weights_only=False)
print("weights_only=False load:", [round(v, 5) for v in anything(x).view(-1).tolist()])

ckpt = {"epoch": 3, "model": model.state_dict(), "note": "plain"}
torch.save(ckpt, path)
back = torch.load(path)
print("checkpoint:", back["epoch"], back["note"], sorted(back["model"]))
