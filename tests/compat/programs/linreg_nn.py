# ruff: noqa: E501, B007  (written in the style of published programs)
"""Linear regression with nn.Linear, MSELoss and SGD."""
import numpy as np
import torch
import torch.nn as nn

rng = np.random.default_rng(1)
x_train = rng.uniform(0, 10, (50, 1)).astype(np.float32)
y_train = (2.5 * x_train - 1.0 + rng.normal(0, 0.3, (50, 1))).astype(np.float32)

model = nn.Linear(1, 1)
with torch.no_grad():
    model.weight.fill_(0.1)
    model.bias.fill_(0.0)
criterion = nn.MSELoss()
optimizer = torch.optim.SGD(model.parameters(), lr=0.01)

num_epochs = 60
for epoch in range(num_epochs):
    inputs = torch.from_numpy(x_train)
    targets = torch.from_numpy(y_train)
    outputs = model(inputs)
    loss = criterion(outputs, targets)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    if (epoch + 1) % 10 == 0:
        print("Epoch [{}/{}], Loss: {:.4f}".format(epoch + 1, num_epochs, loss.item()))

predicted = model(torch.from_numpy(x_train)).detach().numpy()
print("first predictions:", np.round(predicted[:3, 0], 3).tolist())
