"""The tutorial's second program (one step of backpropagation), with chainrule.

The original derives d_W1 and d_W2 by hand with the chain rule:
    d_z2 = (output - y) * output * (1 - output);  d_W2 = a1^T d_z2
    d_z1 = (d_z2 W2^T) * a1 * (1 - a1);            d_W1 = X^T d_z1
Here ``loss.backward()`` applies the same chain rule through the recorded graph.
"""

import numpy as np
from tutorial_forward import forward

import chainrule as cr


def one_step(learning_rate=0.1):
    output, (X, W1, b1, W2, b2, a1) = forward()
    y = cr.tensor(np.array([[1.0]]))
    loss = 0.5 * (output - y) ** 2        # L = 1/2 (y_hat - y)^2
    loss.sum().backward()                 # fills W1.grad and W2.grad
    with cr.no_grad():                    # the update is not part of the graph
        W2 -= learning_rate * W2.grad
        W1 -= learning_rate * W1.grad
    return loss, W1, W2


if __name__ == "__main__":
    loss, W1, W2 = one_step()
    print("损失 (loss):", loss.item())
    print("更新后的 W1 (updated W1):", W1.detach().numpy())
    print("更新后的 W2 (updated W2):", W2.detach().numpy())
