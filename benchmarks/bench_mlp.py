"""mlp_digits: training a 64-128-10 ReLU MLP on the digits, the way people train networks.

Standardised digits (1257 training images), mini-batches of 32 (shuffled each epoch),
softmax cross-entropy, Adam (lr 1e-3), float32. Contenders: chainrule (nn + optim +
DataLoader), the same network hand-written in NumPy (forward, backward and Adam), PyTorch,
and scikit-learn's MLPClassifier (same architecture, optimizer and batch size; it runs its
own loop, so only its total time is comparable). Reported per optimizer step.
"""

import numpy as np
from _timing import compare, row

import chainrule as cr

try:
    import torch
except ImportError:
    torch = None

NAME = "mlp_digits"
HIDDEN, BATCH, LR = 128, 32, 1e-3


def data():
    from chainrule.data import load_digits

    d = load_digits(test_size=0.3, seed=0)
    rng = np.random.default_rng(0)
    W1 = (rng.uniform(-1, 1, (HIDDEN, 64)) / 8).astype(np.float32)
    b1 = (rng.uniform(-1, 1, HIDDEN) / 8).astype(np.float32)
    W2 = (rng.uniform(-1, 1, (10, HIDDEN)) / np.sqrt(HIDDEN)).astype(np.float32)
    b2 = (rng.uniform(-1, 1, 10) / np.sqrt(HIDDEN)).astype(np.float32)
    return d.X_train.astype(np.float32), d.y_train, (W1, b1, W2, b2)


def perms(n, epochs):
    rng = np.random.default_rng(1)
    return [rng.permutation(n) for _ in range(epochs)]


def train_chainrule(X, y, init, epochs):
    from chainrule import nn

    model = nn.Sequential(nn.Linear(64, HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, 10))
    with cr.no_grad():
        for p, v in zip(model.parameters(), init):
            p.copy_(cr.tensor(v))
    opt = cr.optim.Adam(model.parameters(), lr=LR)
    loss_fn = nn.CrossEntropyLoss()
    loader = cr.data.DataLoader(cr.data.TensorDataset(cr.tensor(X), cr.tensor(y)),
                                batch_size=BATCH, shuffle=True,
                                generator=cr.Generator().manual_seed(1))
    for _ in range(epochs):
        for xb, yb in loader:
            loss = loss_fn(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
    return [p.detach().numpy() for p in model.parameters()]


def train_numpy(X, y, init, epochs):
    """Forward, backward and Adam written out by hand, buffers reused where it is natural."""
    params = [p.copy() for p in init]
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    b1c, b2c, eps, t = 0.9, 0.999, 1e-8, 0
    for perm in perms(len(X), epochs):
        for i in range(0, len(X), BATCH):
            idx = perm[i:i + BATCH]
            xb, yb = X[idx], y[idx]
            W1, b1, W2, b2 = params
            h = xb @ W1.T + b1
            a = np.maximum(h, 0)
            z = a @ W2.T + b2
            z -= z.max(axis=1, keepdims=True)
            e = np.exp(z)
            p = e / e.sum(axis=1, keepdims=True)
            p[np.arange(len(yb)), yb] -= 1
            dz = p / len(yb)
            da = dz @ W2
            da *= h > 0
            grads = [da.T @ xb, da.sum(0), dz.T @ a, dz.sum(0)]
            t += 1
            for k, (w, g) in enumerate(zip(params, grads)):
                m[k] *= b1c
                m[k] += (1 - b1c) * g
                v[k] *= b2c
                v[k] += (1 - b2c) * g * g
                denom = np.sqrt(v[k]) / np.sqrt(1 - b2c ** t) + eps
                w -= (LR / (1 - b1c ** t)) * m[k] / denom
    return params


def train_torch(X, y, init, epochs):
    model = torch.nn.Sequential(torch.nn.Linear(64, HIDDEN), torch.nn.ReLU(),
                                torch.nn.Linear(HIDDEN, 10))
    with torch.no_grad():
        for p, v in zip(model.parameters(), init):
            p.copy_(torch.from_numpy(v))
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    loss_fn = torch.nn.CrossEntropyLoss()
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    for perm in perms(len(X), epochs):
        perm = torch.from_numpy(perm)
        for i in range(0, len(X), BATCH):
            idx = perm[i:i + BATCH]
            loss = loss_fn(model(Xt[idx]), yt[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    return [p.detach().numpy() for p in model.parameters()]


def train_sklearn(X, y, epochs):
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    clf = MLPClassifier(hidden_layer_sizes=(HIDDEN,), solver="adam", batch_size=BATCH,
                        learning_rate_init=LR, max_iter=epochs, random_state=0,
                        n_iter_no_change=epochs + 1, tol=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    return clf


def run(quick=False):
    epochs = 5 if quick else 30
    X, y, init = data()
    steps = epochs * -(-len(X) // BATCH)
    contenders = {"chainrule": lambda: train_chainrule(X, y, init, epochs),
                  "numpy": lambda: train_numpy(X, y, init, epochs)}
    if torch is not None:
        contenders["torch"] = lambda: train_torch(X, y, init, epochs)
    try:
        import sklearn  # noqa: F401

        contenders["sklearn"] = lambda: train_sklearn(X, y, epochs)
    except ImportError:
        pass
    samples, results = compare(contenders, repeat=2 if quick else 3)
    # Same data, init and update rule: chainrule and PyTorch/NumPy land on the same weights
    # up to float32 rounding, which shows the benchmark times the same computation.
    ref = results.get("torch", results["numpy"])
    diff = max(float(np.max(np.abs(a - b))) for a, b in zip(results["numpy"], ref))
    return [row(NAME, f"{epochs} epochs, batch {BATCH}", "us/step", 1e-6 * steps, samples,
                note=f"{steps} steps; |W_numpy - W_ref| = {diff:.1e}")]
