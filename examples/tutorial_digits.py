"""The tutorial's third program (digits, 64 sigmoid hidden units), with chainrule.

Same data, same seed handling and same arithmetic as the tutorial's NumPy code, so it prints
the same losses; the hand-written backward pass is replaced by ``loss.backward()``.

NOTE: the tutorial's gradient d_output = output - y is the gradient of the *summed* squared
error 1/2 sum (output - y)^2, while it prints the mean. We backpropagate the sum (to get its
numbers) and print the mean, as it does. Its biases are never updated, so they are constants.
"""

import argparse

import numpy as np

import chainrule as cr


def load(seed):
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import OneHotEncoder

    np.random.seed(seed)
    digits = load_digits()
    X = digits.data / 16.0
    y = digits.target.reshape(-1, 1)
    y_onehot = OneHotEncoder(sparse_output=False).fit_transform(y)
    X_train, X_test, y_train, y_test = train_test_split(X, y_onehot, test_size=0.3)
    W1 = np.random.randn(X_train.shape[1], 64)
    W2 = np.random.randn(64, y_train.shape[1])
    return X_train, X_test, y_train, y_test, W1, W2


def train(seed=0, epochs=1000, learning_rate=0.01, log_every=100, verbose=True):
    X_train, X_test, y_train, y_test, W1_0, W2_0 = load(seed)
    X, Y = cr.tensor(X_train), cr.tensor(y_train)
    W1 = cr.tensor(W1_0, requires_grad=True)
    W2 = cr.tensor(W2_0, requires_grad=True)
    b1 = cr.zeros(1, 64, dtype=cr.float64)
    b2 = cr.zeros(1, 10, dtype=cr.float64)
    losses = []
    for epoch in range(epochs):
        a1 = cr.sigmoid(X @ W1 + b1)
        output = cr.sigmoid(a1 @ W2 + b2)
        err = 0.5 * (output - Y) ** 2
        loss = err.mean().item()
        losses.append(loss)
        err.sum().backward()
        with cr.no_grad():
            W2 -= learning_rate * W2.grad
            W1 -= learning_rate * W1.grad
        W1.grad = W2.grad = None
        if verbose and epoch % log_every == 0:
            print(f"Epoch {epoch}, Loss: {loss:.4f}")
    with cr.no_grad():
        out = cr.sigmoid(cr.sigmoid(cr.tensor(X_test) @ W1) @ W2)
    acc = float((out.argmax(dim=1).numpy() == y_test.argmax(axis=1)).mean())
    if verbose:
        print(f"Test accuracy: {acc:.2%}")
    return losses, acc, W1.detach().numpy(), W2.detach().numpy()


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--epochs", type=int, default=1000)
    a = p.parse_args()
    train(a.seed, a.epochs)
