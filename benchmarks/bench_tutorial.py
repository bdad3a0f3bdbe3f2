"""tutorial_digits: the tutorial's digits training loop, full batch, float64.

scikit-learn digits (1257x64 train split), 64 sigmoid hidden units, 10 sigmoid outputs,
squared error, learning rate 0.01. Contenders: the tutorial's hand-written NumPy loop
(baseline), the same loop with chainrule as in examples/tutorial_digits.py, and with PyTorch.
All start from the same data and weights; data loading is not timed, the per-epoch loss is
computed (not printed) as in the tutorial. chainrule's final weights must match NumPy's to
1e-9, so the benchmark provably times the same computation.
"""

import numpy as np
from _timing import compare, row

import chainrule as cr

try:
    import torch
except ImportError:
    torch = None

NAME = "tutorial_digits"
LR = 0.01


def load(seed=0):
    """Data and initial weights exactly as the tutorial (and examples/tutorial_digits.py)."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import OneHotEncoder

    np.random.seed(seed)
    digits = load_digits()
    X = digits.data / 16.0
    y_onehot = OneHotEncoder(sparse_output=False).fit_transform(digits.target.reshape(-1, 1))
    X_train, _, y_train, _ = train_test_split(X, y_onehot, test_size=0.3)
    W1 = np.random.randn(X_train.shape[1], 64)
    W2 = np.random.randn(64, y_train.shape[1])
    return X_train, y_train, W1, W2


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def train_numpy(X_train, y_train, W1, W2, epochs):
    """The tutorial's loop, verbatim but for the print."""
    W1, W2 = W1.copy(), W2.copy()
    b1, b2 = np.zeros((1, W1.shape[1])), np.zeros((1, W2.shape[1]))
    for _ in range(epochs):
        z1 = np.dot(X_train, W1) + b1
        a1 = sigmoid(z1)
        z2 = np.dot(a1, W2) + b2
        output = sigmoid(z2)
        loss = np.mean(0.5 * (output - y_train) ** 2)  # noqa: F841  (the tutorial prints it)
        d_output = output - y_train
        d_z2 = d_output * output * (1 - output)
        d_W2 = np.dot(a1.T, d_z2)
        d_a1 = np.dot(d_z2, W2.T)
        d_z1 = d_a1 * a1 * (1 - a1)
        d_W1 = np.dot(X_train.T, d_z1)
        W2 -= LR * d_W2
        W1 -= LR * d_W1
    return W1, W2


def train_autograd(lib, X_train, y_train, W1_0, W2_0, epochs):
    """examples/tutorial_digits.py's loop; ``lib`` is chainrule or torch."""
    X, Y = lib.tensor(X_train), lib.tensor(y_train)
    W1 = lib.tensor(W1_0, requires_grad=True)
    W2 = lib.tensor(W2_0, requires_grad=True)
    b1 = lib.zeros(1, 64, dtype=lib.float64)
    b2 = lib.zeros(1, 10, dtype=lib.float64)
    losses = []
    for _ in range(epochs):
        a1 = lib.sigmoid(X @ W1 + b1)
        output = lib.sigmoid(a1 @ W2 + b2)
        err = 0.5 * (output - Y) ** 2
        losses.append(err.mean().item())
        err.sum().backward()
        with lib.no_grad():
            W2 -= LR * W2.grad
            W1 -= LR * W1.grad
        W1.grad = W2.grad = None
    return W1.detach().numpy(), W2.detach().numpy()


def run(quick=False):
    epochs = 200 if quick else 1000
    data = load()
    contenders = {"chainrule": lambda: train_autograd(cr, *data, epochs),
                  "numpy": lambda: train_numpy(*data, epochs)}
    if torch is not None:
        contenders["torch"] = lambda: train_autograd(torch, *data, epochs)
    samples, weights = compare(contenders, repeat=2 if quick else 3)
    diff = {name: max(float(np.max(np.abs(a - b))) for a, b in zip(w, weights["numpy"]))
            for name, w in weights.items() if name != "numpy"}
    assert diff["chainrule"] <= 1e-9, f"chainrule's weights differ from NumPy's by {diff}"
    return [row(NAME, f"{epochs} epochs", "s", 1.0, samples, max_weight_diff=diff,
                note=f"max |W - W_numpy| = {diff['chainrule']:.1e}")]
