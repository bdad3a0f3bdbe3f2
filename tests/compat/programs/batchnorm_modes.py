# ruff: noqa: E501, B007  (written in the style of published programs)
"""BatchNorm in training and evaluation mode, and its running statistics."""
import numpy as np
import torch
import torch.nn as nn

rng = np.random.default_rng(10)
bn = nn.BatchNorm1d(3, momentum=0.1)
net = nn.Sequential(nn.Linear(4, 3), bn, nn.ReLU())
with torch.no_grad():
    net[0].weight.copy_(torch.from_numpy(rng.normal(0, 1, (3, 4)).astype(np.float32)))
    net[0].bias.zero_()
for i in range(3):
    batch = torch.from_numpy(rng.normal(i, 1, (8, 4)).astype(np.float32))
    out = net(batch)
    print("train batch", i, "mean out", round(out.mean().item(), 5))
print("running_mean", [round(v, 5) for v in bn.running_mean.tolist()])
print("running_var", [round(v, 5) for v in bn.running_var.tolist()])
print("batches tracked", int(bn.num_batches_tracked))
net.eval()
with torch.no_grad():
    test = torch.from_numpy(rng.normal(0, 1, (2, 4)).astype(np.float32))
    print("eval out", np.round(net(test).numpy(), 4).tolist())
print("training flags", net.training, bn.training)
