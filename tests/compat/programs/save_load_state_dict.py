# ruff: noqa: E501, B007  (written in the style of published programs)
"""Train, save the state dict, load it into a fresh model, check both agree."""
import os
import tempfile

import numpy as np
import torch
import torch.nn as nn


def make_model():
    return nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 1))


rng = np.random.default_rng(5)
X = torch.from_numpy(rng.normal(0, 1, (40, 3)).astype(np.float32))
y = torch.from_numpy(np.sin(X.numpy().sum(1, keepdims=True)).astype(np.float32))
model = make_model()
with torch.no_grad():
    for p in model.parameters():
        p.copy_(torch.from_numpy(rng.uniform(-0.4, 0.4, tuple(p.shape)).astype(np.float32)))
opt = torch.optim.RMSprop(model.parameters(), lr=0.01)
for step in range(30):
    opt.zero_grad()
    loss = nn.functional.mse_loss(model(X), y)
    loss.backward()
    opt.step()
print("trained loss: %.5f" % loss.item())

path = os.path.join(tempfile.mkdtemp(), "model.pth")
torch.save(model.state_dict(), path)
print("keys:", list(torch.load(path).keys()))
restored = make_model()
result = restored.load_state_dict(torch.load(path, map_location="cpu"))
restored.eval()
with torch.no_grad():
    same = torch.allclose(restored(X), model(X))
print("restored agrees:", same)
print("first outputs:", [round(v, 4) for v in restored(X[:3]).view(-1).tolist()])
