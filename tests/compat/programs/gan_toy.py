# ruff: noqa: E501, B007  (written in the style of published programs)
"""A tiny GAN on 1-d data: generator and discriminator, BCELoss, two optimizers, detach()."""
import numpy as np
import torch
import torch.nn as nn

rng = np.random.default_rng(11)
G = nn.Sequential(nn.Linear(2, 8), nn.LeakyReLU(0.2), nn.Linear(8, 1))
D = nn.Sequential(nn.Linear(1, 8), nn.LeakyReLU(0.2), nn.Linear(8, 1), nn.Sigmoid())
for net in (G, D):
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.from_numpy(rng.normal(0, 0.5, tuple(p.shape)).astype(np.float32)))
criterion = nn.BCELoss()
optD = torch.optim.Adam(D.parameters(), lr=2e-3, betas=(0.5, 0.999))
optG = torch.optim.Adam(G.parameters(), lr=2e-3, betas=(0.5, 0.999))
real_label, fake_label = 1.0, 0.0
for it in range(30):
    real = torch.from_numpy(rng.normal(3.0, 0.5, (16, 1)).astype(np.float32))
    noise = torch.from_numpy(rng.normal(0, 1, (16, 2)).astype(np.float32))
    D.zero_grad()
    label = torch.full((16, 1), real_label)
    errD_real = criterion(D(real), label)
    errD_real.backward()
    fake = G(noise)
    label.fill_(fake_label)
    errD_fake = criterion(D(fake.detach()), label)
    errD_fake.backward()
    errD = errD_real + errD_fake
    optD.step()
    G.zero_grad()
    label.fill_(real_label)
    errG = criterion(D(fake), label)
    errG.backward()
    optG.step()
    if it % 10 == 9:
        print("[%d] Loss_D: %.4f Loss_G: %.4f D(x): %.4f" % (it + 1, errD.item(), errG.item(), D(real).mean().item()))
