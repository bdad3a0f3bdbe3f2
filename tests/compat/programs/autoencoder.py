# ruff: noqa: E501, B007  (written in the style of published programs)
"""A fully connected autoencoder trained with Adam on reconstruction loss."""
import numpy as np
import torch
from torch import nn


class Autoencoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(16, 8), nn.ReLU(True), nn.Linear(8, 3))
        self.decoder = nn.Sequential(nn.Linear(3, 8), nn.ReLU(True), nn.Linear(8, 16),
                                     nn.Sigmoid())

    def forward(self, x):
        x = self.encoder(x)
        x = self.decoder(x)
        return x


rng = np.random.default_rng(7)
data = torch.from_numpy(rng.uniform(0, 1, (32, 16)).astype(np.float32))
model = Autoencoder()
with torch.no_grad():
    for name, p in model.named_parameters():
        scale = 0.0 if name.endswith("bias") else 0.3
        p.copy_(torch.from_numpy(scale * rng.normal(0, 1, tuple(p.shape)).astype(np.float32)))
criterion = nn.MSELoss()
optimizer = torch.optim.Adam(model.parameters(), lr=1e-2, weight_decay=1e-5)
for epoch in range(40):
    output = model(data)
    loss = criterion(output, data)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    if epoch % 10 == 9:
        print("epoch [{}/{}], loss:{:.4f}".format(epoch + 1, 40, loss.item()))
codes = model.encoder(data[:2]).detach()
print("codes:", np.round(codes.numpy(), 3).tolist())
