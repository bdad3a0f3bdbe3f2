# ruff: noqa: E501, B007  (written in the style of published programs)
"""The classic XOR network: two tanh units, trained with plain SGD."""
import torch
import torch.nn as nn

X = torch.tensor([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=torch.float32)
Y = torch.tensor([[0], [1], [1], [0]], dtype=torch.float32)


class XOR(nn.Module):
    def __init__(self, input_dim=2, output_dim=1):
        super(XOR, self).__init__()
        self.lin1 = nn.Linear(input_dim, 2)
        self.lin2 = nn.Linear(2, output_dim)

    def forward(self, x):
        x = self.lin1(x)
        x = torch.tanh(x)
        x = self.lin2(x)
        return x


model = XOR()
with torch.no_grad():
    model.lin1.weight.copy_(torch.tensor([[0.5, -0.4], [-0.3, 0.6]]))
    model.lin1.bias.copy_(torch.tensor([0.1, -0.1]))
    model.lin2.weight.copy_(torch.tensor([[0.7, 0.8]]))
    model.lin2.bias.zero_()
loss_func = nn.MSELoss()
optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
for i in range(300):
    for j in range(4):
        optimizer.zero_grad()
        y_hat = model(X[j])
        loss = loss_func(y_hat, Y[j])
        loss.backward()
        optimizer.step()
    if i % 100 == 99:
        print("Epoch: {0}, Loss: {1:.5f}".format(i + 1, loss.item()))
print([round(v, 3) for v in model(X).view(-1).tolist()])
