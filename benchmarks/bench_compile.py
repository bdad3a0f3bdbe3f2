"""compile: ``cr.compile``'s replayed training steps against PyTorch eager and NumPy.

Cases:
- one training step of the digits MLP (64-128-10 ReLU, batch 32, cross-entropy, Adam,
  float32): chainrule compiled ("chainrule"), chainrule eager, PyTorch eager, the step
  written naively in NumPy (bench_mlp's hand-written step: fresh arrays for everything), and
  the same step by hand with every buffer preallocated and flat Adam buffers
  ("numpy_prealloc": the level a replay over NumPy can reach);
- the tutorial's digits loop (1000 full-batch epochs, float64, sigmoid, squared error,
  in-place SGD): compiled against the tutorial's own NumPy program; the weights must be
  bit-equal;
- one training step of the digits CNN of ``chainrule train digits --model cnn`` (bench_conv's:
  conv + batch norm + ReLU twice, max pool, 512-128-10 with dropout, label smoothing, Adam):
  compiled against chainrule eager and PyTorch eager;
- tracing: the two traced calls plus building the program, for the MLP step.

Every compiled contender is checked to give the eager numbers bit for bit before timing.
"""

import time

import bench_mlp
import bench_tutorial
import numpy as np
from _timing import compare, row

import chainrule as cr

try:
    import torch
except ImportError:
    torch = None

NAME = "compile"
BATCH = 32


def _batches(X, y, n):
    rng = np.random.default_rng(0)
    perm = rng.permutation(len(X))
    return [(X[perm[i * BATCH:(i + 1) * BATCH]], y[perm[i * BATCH:(i + 1) * BATCH]])
            for i in range(n)]


def _cr_step(model, batches, compiled, smoothing=0.0):
    opt = cr.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = cr.nn.CrossEntropyLoss(label_smoothing=smoothing)

    def step(x, y):
        loss = loss_fn(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss

    fn = cr.compile(step) if compiled else step
    data = [(cr.tensor(x), cr.tensor(y)) for x, y in batches]
    i = [0]

    def one():
        x, y = data[i[0] % len(data)]
        i[0] += 1
        return fn(x, y)

    return one, fn


def _torch_step(model, batches, smoothing=0.0):
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss(label_smoothing=smoothing)
    data = [(torch.from_numpy(x), torch.from_numpy(y)) for x, y in batches]
    i = [0]

    def one():
        x, y = data[i[0] % len(data)]
        i[0] += 1
        loss = loss_fn(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss

    return one


def _numpy_step(init, batches):
    """bench_mlp's hand-written step, one mini-batch per call."""
    params = [p.copy() for p in init]
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    b1c, b2c, eps, lr = 0.9, 0.999, 1e-8, 1e-3
    state = {"t": 0}

    def one():
        xb, yb = batches[state["t"] % len(batches)]
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
        state["t"] += 1
        t = state["t"]
        for k, (w, g) in enumerate(zip(params, grads)):
            m[k] *= b1c
            m[k] += (1 - b1c) * g
            v[k] *= b2c
            v[k] += (1 - b2c) * g * g
            denom = np.sqrt(v[k]) / np.sqrt(1 - b2c ** t) + eps
            w -= (lr / (1 - b1c ** t)) * m[k] / denom

    return one


def _numpy_prealloc_step(init, batches):
    """The same step written by hand with every buffer preallocated (per batch size) and the
    parameters, gradients and Adam moments in flat buffers, updated with in-place ufuncs: what
    a replay over NumPy can hope to reach (the issue's 'preallocated' step)."""
    n = sum(p.size for p in init)
    P, G, M, V, T1, T2 = (np.zeros(n, np.float32) for _ in range(6))
    offs = np.cumsum([0] + [p.size for p in init])
    views = [P[a:b].reshape(p.shape) for a, b, p in zip(offs, offs[1:], init)]
    grads = [G[a:b].reshape(p.shape) for a, b, p in zip(offs, offs[1:], init)]
    for v, p in zip(views, init):
        v[...] = p
    (W1, b1, W2, b2), (gW1, gb1, gW2, gb2) = views, grads
    bufs = {}
    state = {"t": 0}

    def one():
        xb, yb = batches[state["t"] % len(batches)]
        B = len(xb)
        if B not in bufs:
            bufs[B] = (np.empty((B, 128), np.float32), np.empty((B, 128), np.float32),
                       np.empty((B, 128), bool), np.empty((B, 10), np.float32),
                       np.empty((B, 1), np.float32), np.arange(B))
        h, a, mask, z, m, rows = bufs[B]
        np.matmul(xb, W1.T, h)
        np.add(h, b1, h)
        np.maximum(h, 0, out=a)
        np.matmul(a, W2.T, z)
        np.add(z, b2, z)
        np.maximum.reduce(z, 1, None, m, True)
        np.subtract(z, m, z)
        np.exp(z, z)
        np.add.reduce(z, 1, None, m, True)
        np.divide(z, m, z)
        z[rows, yb] -= 1
        np.divide(z, B, z)
        np.matmul(z, W2, h)
        np.greater(a, 0, mask)
        np.multiply(h, mask, h)
        np.matmul(h.T, xb, gW1)
        np.add.reduce(h, 0, None, gb1)
        np.matmul(z.T, a, gW2)
        np.add.reduce(z, 0, None, gb2)
        state["t"] += 1
        t = state["t"]
        np.multiply(M, 0.9, M)
        np.multiply(G, 0.1, T1)
        np.add(M, T1, M)
        np.multiply(V, 0.999, V)
        np.multiply(G, 0.001, T1)
        np.multiply(T1, G, T1)
        np.add(V, T1, V)
        np.sqrt(V, T1)
        np.divide(T1, np.sqrt(1 - 0.999 ** t), T1)
        np.add(T1, 1e-8, T1)
        np.multiply(M, -1e-3 / (1 - 0.9 ** t), T2)
        np.divide(T2, T1, T2)
        np.add(P, T2, P)

    return one


def _mlp(init):
    model = cr.nn.Sequential(cr.nn.Linear(64, 128), cr.nn.ReLU(), cr.nn.Linear(128, 10))
    with cr.no_grad():
        for p, v in zip(model.parameters(), init):
            p.copy_(cr.tensor(v))
    return model


def _same_as_eager(make, batches, steps=5, smoothing=0.0):
    """Compiled and eager runs of ``make()`` give the same losses and weights, bit for bit."""
    cr.manual_seed(0)
    m1 = make()
    e, _ = _cr_step(m1, batches, False, smoothing)
    cr.manual_seed(0)
    m2 = make()
    c, fn = _cr_step(m2, batches, True, smoothing)
    cr.manual_seed(1)
    losses = [e().item() for _ in range(steps)]
    cr.manual_seed(1)
    assert losses == [c().item() for _ in range(steps)]
    for p, q in zip(m1.state_dict().values(), m2.state_dict().values()):
        assert np.array_equal(p.detach().numpy(), q.detach().numpy())
    assert fn.programs(), "the step was not captured"


def mlp_rows(quick):
    X, y, init = bench_mlp.data()
    batches = _batches(X, y, 40)
    _same_as_eager(lambda: _mlp(init), batches)
    compiled, fn = _cr_step(_mlp(init), batches, True)
    eager, _ = _cr_step(_mlp(init), batches, False)
    contenders = {"chainrule": compiled, "eager": eager, "numpy": _numpy_step(init, batches),
                  "numpy_prealloc": _numpy_prealloc_step(init, batches)}
    if torch is not None:
        tm = torch.nn.Sequential(torch.nn.Linear(64, 128), torch.nn.ReLU(),
                                 torch.nn.Linear(128, 10))
        with torch.no_grad():
            for p, v in zip(tm.parameters(), init):
                p.copy_(torch.from_numpy(v))
        contenders["torch"] = _torch_step(tm, batches)
    repeat, min_sample = (3, 0.02) if quick else (7, 0.1)
    samples, _ = compare(contenders, repeat=repeat, warmup=3, min_sample=min_sample)
    rows = [row(NAME, "digits MLP training step (compiled), batch 32, Adam", "us/step", 1e-6,
                samples, note="eager = chainrule without cr.compile")]
    trace = []
    for _ in range(3 if quick else 7):
        one, fn = _cr_step(_mlp(init), batches, True)
        t0 = time.perf_counter()
        one()
        one()
        trace.append(time.perf_counter() - t0)
    rows.append(row(NAME, "tracing the MLP step (2 traced calls + build)", "ms", 1e-3,
                    {"chainrule": trace}))
    return rows


def tutorial_rows(quick):
    epochs = 200 if quick else 1000
    X, Y, W1_0, W2_0 = bench_tutorial.load()
    LR = bench_tutorial.LR

    def compiled():
        Xt, Yt = cr.tensor(X), cr.tensor(Y)
        W1 = cr.tensor(W1_0, requires_grad=True)
        W2 = cr.tensor(W2_0, requires_grad=True)
        b1, b2 = cr.zeros(1, 64, dtype=cr.float64), cr.zeros(1, 10, dtype=cr.float64)

        @cr.compile
        def epoch():
            a1 = cr.sigmoid(Xt @ W1 + b1)
            output = cr.sigmoid(a1 @ W2 + b2)
            err = 0.5 * (output - Yt) ** 2
            err.sum().backward()
            with cr.no_grad():
                W2.sub_(LR * W2.grad)
                W1.sub_(LR * W1.grad)
            W1.grad = W2.grad = None
            return err.mean()

        for _ in range(epochs):
            epoch()
        return W1.detach().numpy(), W2.detach().numpy()

    contenders = {"chainrule": compiled,
                  "numpy": lambda: bench_tutorial.train_numpy(X, Y, W1_0, W2_0, epochs)}
    samples, weights = compare(contenders, repeat=2 if quick else 3)
    same = all(np.array_equal(a, b) for a, b in zip(weights["chainrule"], weights["numpy"]))
    assert same, "the compiled tutorial loop is not bit-equal to the tutorial's NumPy"
    return [row(NAME, f"tutorial digits loop (compiled), {epochs} epochs, float64", "s", 1.0,
                samples, note="weights bit-equal to the NumPy program")]


def cnn_rows(quick):
    import bench_conv

    from chainrule.cli.recipes import Config, build_model

    batches = bench_conv.digits_batches()
    make = lambda: build_model(Config(model="cnn"))  # noqa: E731
    _same_as_eager(make, batches, steps=4, smoothing=0.1)
    cr.manual_seed(0)
    model = make()
    compiled, _ = _cr_step(model, batches, True, 0.1)
    cr.manual_seed(0)
    eager, _ = _cr_step(make(), batches, False, 0.1)
    contenders = {"chainrule": compiled, "eager": eager}
    if torch is not None:
        contenders["torch"] = bench_conv.torch_step(batches, model.state_dict())
    repeat, min_sample = (3, 0.02) if quick else (7, 0.1)
    samples, _ = compare(contenders, repeat=repeat, warmup=3, min_sample=min_sample)
    return [row(NAME, "digits CNN training step (compiled), batch 32", "us/step", 1e-6,
                samples, note="batch norm, dropout, label smoothing, Adam")]


def run(quick=False):
    return mlp_rows(quick) + tutorial_rows(quick) + cnn_rows(quick)
