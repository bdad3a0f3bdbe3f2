# ruff: noqa: E501, B007  (written in the style of published programs)
"""Device objects as the tensors tutorial and device-agnostic scripts use them: naming a GPU
device is fine without a GPU; only moving data there would fail, and the scripts check first."""
import torch

tensor = torch.rand(3, 4)
print(f"Device tensor is stored on: {tensor.device}")
if torch.cuda.is_available() & (torch.device('cuda').index is not None):
    tensor = tensor.to('cuda')
print("still on:", tensor.device.type)

gpu = torch.device("cuda:0")
print(gpu, repr(gpu), gpu.type, gpu.index)
print(repr(torch.device("cuda", 1)), repr(torch.device("mps")), repr(torch.device("cpu")))
print("cpu == cpu:", torch.device("cpu") == torch.device("cpu"), "| cuda:0 == cpu:", gpu == torch.device("cpu"))
devices = {torch.device("cpu"): "host", gpu: "accelerator"}
print("lookup:", devices[tensor.device], len(devices))
device = gpu if torch.cuda.is_available() else torch.device("cpu")
model = torch.nn.Linear(4, 2).to(device)
with torch.no_grad():
    model.weight.fill_(0.5)
    model.bias.zero_()
print("output device:", model(torch.ones(1, 4, device=device)).device, model(torch.ones(1, 4)).tolist())
try:
    torch.device("gpu")
except RuntimeError as e:
    print("bad device name:", str(e).split(" device type")[0][:22])
