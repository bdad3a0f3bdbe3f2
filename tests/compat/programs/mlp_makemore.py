# ruff: noqa: E501, B007  (written in the style of published programs)
"""A character MLP with an embedding table indexed by context (makemore, part 2 style)."""
import numpy as np
import torch
import torch.nn.functional as F

words = ["anna", "bob", "carla", "dan", "eve", "frank", "gina", "hugo", "iris", "jack"]
chars = sorted(set("".join(words)))
stoi = {s: i + 1 for i, s in enumerate(chars)}
stoi["."] = 0
block_size = 3
X, Y = [], []
for w in words:
    context = [0] * block_size
    for ch in w + ".":
        ix = stoi[ch]
        X.append(context)
        Y.append(ix)
        context = context[1:] + [ix]
X = torch.tensor(X)
Y = torch.tensor(Y)
print(tuple(X.shape), X.dtype == torch.int64)

rng = np.random.default_rng(42)
def param(*shape, scale=1.0):
    return torch.from_numpy((scale * rng.normal(0, 1, shape)).astype(np.float32))

vocab = len(stoi)
C = param(vocab, 4)
W1 = param(12, 32, scale=0.2)
b1 = param(32, scale=0.01)
W2 = param(32, vocab, scale=0.1)
b2 = torch.zeros(vocab)
parameters = [C, W1, b1, W2, b2]
print("parameters:", sum(p.nelement() for p in parameters))
for p in parameters:
    p.requires_grad = True

for i in range(60):
    emb = C[X]
    h = torch.tanh(emb.view(-1, 12) @ W1 + b1)
    logits = h @ W2 + b2
    loss = F.cross_entropy(logits, Y)
    for p in parameters:
        p.grad = None
    loss.backward()
    lr = 0.1 if i < 40 else 0.01
    for p in parameters:
        p.data += -lr * p.grad
    if i % 20 == 0:
        print(f"{i:4d}: {loss.item():.4f}")
print("final loss", round(loss.item(), 4))
