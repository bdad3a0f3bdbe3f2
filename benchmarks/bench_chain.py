"""chain: forward + backward of 100 elementwise ops, then ``.sum()``, in float64.

The ops cycle through [tanh, mul by c (0.9), sin, add b, sigmoid], which keeps the values
bounded; c and b are constant tensors of the input's shape that do not require grad. A second
64x64 case swaps sin for relu: NumPy's float64 sin and cos are scalar libm loops here (33 us
for 4096 elements, against 3.7 us for exp), so with sin the 64x64 case measures mostly
NumPy's sin against PyTorch's vectorised one rather than the autodiff engines. Each
contender builds the leaf, runs the chain forward, sums and gets the input's gradient:
chainrule and PyTorch with their autograd, NumPy by hand (the forward saves what the backward
needs; the backward runs in reverse order). Reported in microseconds per op (total / 100).
"""

import numpy as np
from _timing import compare, row

import chainrule as cr

try:
    import torch
except ImportError:
    torch = None

NAME = "chain"
N_OPS = 100
CASES = {"1 element": ((1,), "sin"), "64x64": ((64, 64), "sin"),
         "64x64, relu for sin": ((64, 64), "relu")}


def autograd_chain(lib, x0, c, b, third="sin"):
    """A contender for an autograd library with a PyTorch-style API (chainrule, torch)."""
    x0, c, b = (lib.tensor(a) for a in (x0, c, b))
    ops = [lib.tanh, lambda y: y * c, getattr(lib, third), lambda y: y + b, lib.sigmoid]
    ops = [ops[i % len(ops)] for i in range(N_OPS)]

    def run():
        x = x0.detach().requires_grad_()
        y = x
        for op in ops:
            y = op(y)
        y.sum().backward()
        return x.grad

    return run


def numpy_chain(x0, c, b, third="sin"):
    """Hand-written NumPy: ``forward(y) -> (out, saved)`` and ``backward(g, saved) -> g``."""
    def sigmoid(y):
        s = 1 / (1 + np.exp(-y))
        return s, s

    sin = (lambda y: (np.sin(y), y), lambda g, y: g * np.cos(y))
    relu = (lambda y: (np.maximum(y, 0),) * 2, lambda g, r: g * (r > 0))
    ops = [(lambda y: (np.tanh(y),) * 2, lambda g, t: g * (1 - t * t)),
           (lambda y: (y * c, None), lambda g, _: g * c),
           sin if third == "sin" else relu,
           (lambda y: (y + b, None), lambda g, _: g),
           (sigmoid, lambda g, s: g * (s * (1 - s)))]
    ops = [ops[i % len(ops)] for i in range(N_OPS)]

    def run():
        y, saved = x0, []
        for forward, _ in ops:
            y, s = forward(y)
            saved.append(s)
        y.sum()  # the loss, as the autograd contenders compute it
        g = np.ones_like(y)
        for (_, backward), s in zip(reversed(ops), reversed(saved)):
            g = backward(g, s)
        return g

    return run


def run(quick=False):
    rows = []
    for case, (shape, third) in CASES.items():
        rng = np.random.default_rng(0)
        x0, b = rng.standard_normal(shape), 0.1 * rng.standard_normal(shape)
        c = np.full(shape, 0.9)
        contenders = {"chainrule": autograd_chain(cr, x0, c, b, third),
                      "numpy": numpy_chain(x0, c, b, third)}
        if torch is not None:
            contenders["torch"] = autograd_chain(torch, x0, c, b, third)
        samples, grads = compare(contenders, repeat=3 if quick else 7, warmup=2,
                                 min_sample=0.02 if quick else 0.1)
        for name, g in grads.items():  # all contenders compute the same gradient
            g = g if isinstance(g, np.ndarray) else g.detach().numpy()
            np.testing.assert_allclose(g, grads["numpy"], rtol=1e-9, atol=1e-15, err_msg=name)
        rows.append(row(NAME, case, "us/op", 1e-6 * N_OPS, samples))
    return rows
