# ruff: noqa: E501, B007  (written in the style of published programs)
"""A custom loss as an nn.Module mixing built-in losses and reductions."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


class WeightedLoss(nn.Module):
    def __init__(self, alpha=0.7):
        super().__init__()
        self.alpha = alpha
        self.mse = nn.MSELoss(reduction="mean")
        self.l1 = nn.L1Loss(reduction="sum")

    def forward(self, pred, target):
        return self.alpha * self.mse(pred, target) + (1 - self.alpha) * self.l1(pred, target) / pred.numel()


rng = np.random.default_rng(15)
pred = torch.from_numpy(rng.normal(0, 1, (6, 2)).astype(np.float32)).requires_grad_()
target = torch.from_numpy(rng.normal(0, 1, (6, 2)).astype(np.float32))
loss = WeightedLoss()(pred, target)
loss.backward()
print("loss: %.6f" % loss.item())
print("grad row 0:", [round(v, 6) for v in pred.grad[0].tolist()])
logits = torch.from_numpy(rng.normal(0, 1, (4, 3)).astype(np.float32))
labels = torch.tensor([0, 2, 1, 2])
print("ce none:", [round(v, 5) for v in F.cross_entropy(logits, labels, reduction="none").tolist()])
print("ce weighted: %.5f" % F.cross_entropy(logits, labels, weight=torch.tensor([1.0, 2.0, 0.5])).item())
print("ce smoothing: %.5f" % F.cross_entropy(logits, labels, label_smoothing=0.1).item())
print("nll: %.5f" % F.nll_loss(F.log_softmax(logits, dim=1), labels).item())
bce = nn.BCEWithLogitsLoss(pos_weight=torch.tensor([2.0]))
print("bce logits: %.5f" % bce(logits[:, :1], torch.tensor([[1.0], [0.0], [1.0], [0.0]])).item())
