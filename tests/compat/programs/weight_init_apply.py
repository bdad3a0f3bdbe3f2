# ruff: noqa: E501, B007  (written in the style of published programs)
"""Initialising weights with model.apply and torch.nn.init."""
import torch
import torch.nn as nn


def weights_init(m):
    if isinstance(m, nn.Linear):
        nn.init.constant_(m.weight, 0.05)
        nn.init.zeros_(m.bias)
    elif isinstance(m, nn.BatchNorm1d):
        nn.init.ones_(m.weight)
        nn.init.constant_(m.bias, 0.1)


model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 2))
model.apply(weights_init)
print("parameters:", sum(p.numel() for p in model.parameters()))
print("trainable:", sum(p.numel() for p in model.parameters() if p.requires_grad))
model.eval()
print("output:", model(torch.ones(2, 3)).tolist())
for name, param in model.named_parameters():
    print(name, tuple(param.shape), round(param.sum().item(), 4))
w = torch.empty(3, 5)
nn.init.constant_(w, 0.5)
print("constant:", w.sum().item())
nn.init.uniform_(w, a=-0.1, b=0.1)
print("uniform in range:", bool(w.abs().max() <= 0.1))
nn.init.kaiming_normal_(w, mode="fan_out", nonlinearity="relu")
nn.init.xavier_uniform_(w, gain=nn.init.calculate_gain("tanh"))
print("gain tanh:", round(nn.init.calculate_gain("tanh"), 4), "relu:", round(nn.init.calculate_gain("relu"), 4))
