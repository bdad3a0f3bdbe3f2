# ruff: noqa: E501, B007  (written in the style of published programs)
"""Device-agnostic code: pick a device, move the model and batches to it."""
import torch
import torch.backends.cudnn as cudnn
import torch.nn as nn

use_cuda = torch.cuda.is_available()
device = torch.device("cuda" if use_cuda else "cpu")
if use_cuda:
    cudnn.benchmark = True
torch.backends.cudnn.deterministic = True
kwargs = {"num_workers": 1, "pin_memory": True} if use_cuda else {}
print("device:", device, device.type, "gpus:", torch.cuda.device_count())
torch.cuda.manual_seed_all(0)

model = nn.Linear(3, 1).to(device)
with torch.no_grad():
    model.weight.copy_(torch.tensor([[1.0, -1.0, 0.5]]))
    model.bias.fill_(0.25)
x = torch.ones(4, 3).to(device)
out = model(x).cpu().detach().numpy()
print("output:", out.ravel().tolist())
print("weight device:", model.weight.device, "is_cuda:", model.weight.is_cuda)
print(kwargs)
