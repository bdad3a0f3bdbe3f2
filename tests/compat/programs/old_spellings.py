# ruff: noqa: E501, B007  (written in the style of published programs)
"""Pre-1.0 spellings older tutorials still use: nn.init.xavier_uniform / constant (no trailing
underscore), nn.utils.clip_grad_norm, and device checks that ask torch.xpu as well as cuda."""
import numpy as np
import torch
import torch.nn as nn

use_cuda = torch.cuda.is_available()
use_xpu = torch.xpu.is_available()
device = torch.device("cuda" if use_cuda else "xpu" if use_xpu else "cpu")
print("device:", device, "xpu devices:", torch.xpu.device_count())


class Net(nn.Module):
    def __init__(self):
        super(Net, self).__init__()
        self.fc1 = nn.Linear(4, 8)
        self.fc2 = nn.Linear(8, 1)
        self.apply(self.init_weights)

    def init_weights(self, m):
        if isinstance(m, nn.Linear):
            torch.nn.init.xavier_uniform(m.weight)
            m.bias.data.fill_(0.01)

    def forward(self, x):
        return self.fc2(torch.tanh(self.fc1(x)))


model = Net().to(device)
print("bias after init:", model.fc1.bias.sum().item())
bound = (6.0 / (4 + 8)) ** 0.5
print("xavier bound holds:", bool(model.fc1.weight.abs().max() <= bound))
rng = np.random.RandomState(0)
with torch.no_grad():  # the same starting weights in every run
    model.fc1.weight.copy_(torch.from_numpy(rng.uniform(-0.5, 0.5, (8, 4)).astype(np.float32)))
    model.fc2.weight.copy_(torch.from_numpy(rng.uniform(-0.5, 0.5, (1, 8)).astype(np.float32)))
w = torch.empty(2, 3)
nn.init.constant(w, 0.25)
nn.init.uniform(torch.empty(3), -0.1, 0.1)
nn.init.normal(torch.empty(3), 0.0, 0.02)
print("constant:", w.tolist())
x = torch.from_numpy(rng.randn(16, 4).astype(np.float32))
y = x.sum(1, keepdim=True)
for step in range(20):
    model.zero_grad()
    loss = ((model(x) - y) ** 2).mean()
    loss.backward()
    norm = torch.nn.utils.clip_grad_norm(model.parameters(), 0.5)
    for p in model.parameters():
        p.data.add_(p.grad.data, alpha=-0.1)
    if step % 5 == 0:
        print("step {} loss {:.5f} grad norm {:.4f}".format(step, loss.item(), float(norm)))
