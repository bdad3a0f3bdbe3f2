# ruff: noqa: E501, B007  (written in the style of published programs)
"""REINFORCE on a contextual bandit with torch.distributions.Categorical."""
# needs: torch.distributions.Categorical
import numpy as np
import torch
import torch.nn as nn
import torch.optim as optim
from torch.distributions import Categorical


class Policy(nn.Module):
    def __init__(self):
        super(Policy, self).__init__()
        self.affine1 = nn.Linear(2, 16)
        self.affine2 = nn.Linear(16, 3)

    def forward(self, x):
        x = torch.relu(self.affine1(x))
        return torch.softmax(self.affine2(x), dim=1)


rng = np.random.default_rng(17)
policy = Policy()
with torch.no_grad():
    for p in policy.parameters():
        p.copy_(torch.from_numpy(rng.normal(0, 0.3, tuple(p.shape)).astype(np.float32)))
optimizer = optim.Adam(policy.parameters(), lr=1e-2)
for episode in range(20):
    state = torch.from_numpy(rng.normal(0, 1, (8, 2)).astype(np.float32))
    probs = policy(state)
    m = Categorical(probs)
    # the actions come from NumPy, so that both libraries take the same ones
    action = torch.from_numpy(rng.integers(0, 3, 8))
    reward = (action == (state[:, 0] > 0).long()).float()
    returns = (reward - reward.mean()) / (reward.std() + 1e-6)
    loss = -(m.log_prob(action) * returns).sum() - 0.01 * m.entropy().sum()
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    if episode % 5 == 4:
        print(f"episode {episode + 1}: loss {loss.item():.5f} entropy {m.entropy().mean().item():.5f}")
