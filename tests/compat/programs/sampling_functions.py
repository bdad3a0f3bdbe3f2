# ruff: noqa: E501, B007  (written in the style of published programs)
"""topk, sort, norm and tril in a small attention-mask and ranking program."""
# needs: torch.topk, torch.sort, torch.tril, Tensor.norm, Tensor.masked_fill
import numpy as np
import torch
import torch.nn.functional as F

rng = np.random.default_rng(23)
scores = torch.from_numpy(rng.normal(0, 1, (4, 6)).astype(np.float32))
values, indices = torch.topk(scores, k=2, dim=1)
print("topk:", [[round(v, 4) for v in row] for row in values.tolist()], indices.tolist())
sorted_vals, order = torch.sort(scores[0], descending=True)
print("sort:", order.tolist())
print("norms:", [round(v, 4) for v in scores.norm(dim=1).tolist()])
T = 4
mask = torch.tril(torch.ones(T, T))
att = scores[:, :T].masked_fill(mask == 0, float("-inf"))
att = F.softmax(att, dim=-1)
print("causal attention row 1:", [round(v, 4) for v in att[1].tolist()])
