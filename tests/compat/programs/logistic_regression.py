# ruff: noqa: E501, B007  (written in the style of published programs)
"""Binary logistic regression as an nn.Module subclass with BCELoss."""
import numpy as np
import torch
import torch.nn as nn


class LogisticRegression(nn.Module):
    def __init__(self, n_features):
        super(LogisticRegression, self).__init__()
        self.linear = nn.Linear(n_features, 1)

    def forward(self, x):
        return torch.sigmoid(self.linear(x))


rng = np.random.default_rng(2)
X = rng.normal(0, 1, (120, 3)).astype(np.float32)
y = (X @ np.array([1.5, -2.0, 0.5]) > 0).astype(np.float32).reshape(-1, 1)
X_t, y_t = torch.from_numpy(X), torch.from_numpy(y)

model = LogisticRegression(3)
with torch.no_grad():
    model.linear.weight.copy_(torch.tensor([[0.1, 0.1, 0.1]]))
    model.linear.bias.zero_()
criterion = nn.BCELoss()
optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
for epoch in range(50):
    y_pred = model(X_t)
    loss = criterion(y_pred, y_t)
    loss.backward()
    optimizer.step()
    optimizer.zero_grad()
    if (epoch + 1) % 10 == 0:
        print(f"epoch: {epoch + 1}, loss = {loss.item():.4f}")

with torch.no_grad():
    y_predicted_cls = (model(X_t) > 0.5).float()
    acc = y_predicted_cls.eq(y_t).sum() / float(y_t.shape[0])
    print(f"accuracy: {acc.item():.4f}")
