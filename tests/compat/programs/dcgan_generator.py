# ruff: noqa: E501, B007  (written in the style of published programs)
"""A DCGAN-style generator and a discriminator with adaptive pooling (forward and backward)."""
# needs: torch.nn.ConvTranspose2d, torch.nn.AdaptiveAvgPool2d, torch.nn.Dropout2d
import numpy as np
import torch
import torch.nn as nn


class Generator(nn.Module):
    def __init__(self, nz=4, ngf=4):
        super().__init__()
        self.main = nn.Sequential(
            nn.ConvTranspose2d(nz, ngf * 2, 4, 1, 0, bias=False), nn.BatchNorm2d(ngf * 2), nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 2, 1, 4, 2, 1, bias=False), nn.Tanh())

    def forward(self, z):
        return self.main(z)


class Discriminator(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.LeakyReLU(0.2), nn.Dropout2d(0.0),
                                      nn.AdaptiveAvgPool2d((1, 1)))
        self.fc = nn.Linear(4, 1)

    def forward(self, x):
        return torch.sigmoid(self.fc(torch.flatten(self.features(x), 1)))


rng = np.random.default_rng(19)
netG, netD = Generator(), Discriminator()
for net in (netG, netD):
    with torch.no_grad():
        for name, p in net.named_parameters():  # every parameter: biases too (the two
            # libraries' default initialisations draw from different generators)
            p.copy_(torch.from_numpy(rng.normal(0, 0.2, tuple(p.shape)).astype(np.float32)))
z = torch.from_numpy(rng.normal(0, 1, (2, 4, 1, 1)).astype(np.float32))
fake = netG(z)
print("fake:", tuple(fake.shape), round(fake.abs().sum().item(), 4))
out = netD(fake)
out.mean().backward()
print("D(G(z)):", [round(v, 5) for v in out.view(-1).tolist()])
print("grad norm:", round(sum(p.grad.pow(2).sum() for p in netG.parameters() if p.grad is not None).sqrt().item(), 5))
