# ruff: noqa: E501, B007  (written in the style of published programs)
"""A custom autograd Function (MyReLU) with ctx.save_for_backward, as in the tutorial."""
import numpy as np
import torch


class MyReLU(torch.autograd.Function):
    @staticmethod
    def forward(ctx, input):
        ctx.save_for_backward(input)
        return input.clamp(min=0)

    @staticmethod
    def backward(ctx, grad_output):
        input, = ctx.saved_tensors
        grad_input = grad_output.clone()
        grad_input[input < 0] = 0
        return grad_input


class Cube(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x ** 3

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output * 3 * x ** 2


rng = np.random.default_rng(8)
x = torch.from_numpy(rng.normal(0, 1, (16, 3)).astype(np.float32))
y = torch.from_numpy(rng.normal(0, 1, (16, 2)).astype(np.float32))
w1 = torch.from_numpy(rng.normal(0, 0.5, (3, 5)).astype(np.float32)).requires_grad_()
w2 = torch.from_numpy(rng.normal(0, 0.5, (5, 2)).astype(np.float32)).requires_grad_()
for t in range(50):
    relu = MyReLU.apply
    y_pred = relu(x.mm(w1)).mm(w2)
    loss = (y_pred - y).pow(2).sum()
    if t % 10 == 9:
        print(t, round(loss.item(), 4))
    loss.backward()
    with torch.no_grad():
        w1 -= 1e-3 * w1.grad
        w2 -= 1e-3 * w2.grad
        w1.grad.zero_()
        w2.grad.zero_()
z = torch.tensor([1.0, -2.0, 0.5], requires_grad=True)
Cube.apply(z).sum().backward()
print("cube grad:", z.grad.tolist())
print("gradcheck:", torch.autograd.gradcheck(Cube.apply, (torch.tensor([0.3, -0.7], dtype=torch.double, requires_grad=True),)))
