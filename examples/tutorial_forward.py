"""The tutorial's first program (forward propagation of a 2-2-1 network), with chainrule.

The NumPy original computes z1 = X W1 + b1, a1 = sigmoid(z1), z2 = a1 W2 + b2,
output = sigmoid(z2) by hand. Here the same lines build a computational graph as they run.
"""

import numpy as np

import chainrule as cr


def forward():
    X = cr.tensor(np.array([[0.5, 1.2]]))  # NumPy arrays keep their dtype: float64
    W1 = cr.tensor(np.array([[0.4, 0.3], [0.2, 0.7]]), requires_grad=True)
    b1 = cr.tensor(np.array([[0.1, 0.2]]))
    W2 = cr.tensor(np.array([[0.6], [0.8]]), requires_grad=True)
    b2 = cr.tensor(np.array([[0.3]]))

    z1 = X @ W1 + b1
    a1 = cr.sigmoid(z1)
    z2 = a1 @ W2 + b2
    output = cr.sigmoid(z2)
    return output, (X, W1, b1, W2, b2, a1)


if __name__ == "__main__":
    output, _ = forward()
    print("网络输出 (network output):", output.detach().numpy())
    print("graph:", " -> ".join(n.name for n in cr.graph.nodes(output)))
