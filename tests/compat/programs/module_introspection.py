# ruff: noqa: E501, B007  (written in the style of published programs)
"""Looking inside modules: print, children, named_modules, state_dict, train/eval."""
import torch
import torch.nn as nn


class Block(nn.Module):
    def __init__(self, n):
        super().__init__()
        self.fc = nn.Linear(n, n)
        self.act = nn.ReLU()

    def forward(self, x):
        return self.act(self.fc(x)) + x


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.blocks = nn.ModuleList([Block(4) for _ in range(2)])
        self.head = nn.Linear(4, 2)
        self.register_buffer("scale", torch.tensor(2.0))

    def forward(self, x):
        for block in self.blocks:
            x = block(x)
        return self.head(x) * self.scale


model = Model()
print(model)
print("children:", [name for name, _ in model.named_children()])
print("modules:", len(list(model.modules())))
print("state_dict:", list(model.state_dict().keys()))
print("buffers:", [name for name, _ in model.named_buffers()])
model.eval()
print("eval:", model.training, model.blocks[0].training)
model.train()
print("train:", model.training, model.head.training)
for p in model.blocks.parameters():
    p.requires_grad = False
print("frozen:", [n for n, p in model.named_parameters() if not p.requires_grad])
print("still trainable:", [n for n, p in model.named_parameters() if p.requires_grad])
