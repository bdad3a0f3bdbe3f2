"""conv: convolutions and the digits CNN, chainrule against PyTorch (CPU) in the same process.

Cases, float32 (as training runs):
- forward + backward of Conv2d(1 -> 16, 3x3, padding 1) on a batch of 64 8x8 images (the
  first layer: the input needs no gradient), then ``.sum()``;
- forward + backward of Conv2d(16 -> 32, 3x3) on a batch of 64 16-channel 8x8 inputs (a
  middle layer: the input gradient too);
- one training step of the digits CNN of ``chainrule train digits --model cnn`` (two
  conv + batch norm + ReLU blocks, 2x2 max pool, 512-128-10 with dropout 0.25, label-smoothed
  cross-entropy, Adam), on mini-batches of 32 standardised digits, the same batches and the
  same initial weights for both.

The layers' gradients are checked to agree before timing. Reported in microseconds per call
(per optimizer step for the training case).
"""

import numpy as np
from _timing import compare, row

import chainrule as cr

try:
    import torch
except ImportError:
    torch = None

NAME = "conv"
BATCH, STEP_BATCH = 64, 32


def conv_case(lib, nn, x, w, b, padding, input_grad):
    """forward + backward of one Conv2d layer with the given weights (chainrule or torch)."""
    conv = nn.Conv2d(w.shape[1], w.shape[0], w.shape[2], padding=padding)
    with lib.no_grad():
        conv.weight.copy_(lib.tensor(w))
        conv.bias.copy_(lib.tensor(b))
    xt = lib.tensor(x)

    def run():
        xin = xt.detach().requires_grad_() if input_grad else xt
        conv.weight.grad = conv.bias.grad = None
        conv(xin).sum().backward()
        return [t.grad for t in ((xin,) if input_grad else ()) + (conv.weight, conv.bias)]

    return run


def to_numpy(t):
    return t.detach().numpy()


def digits_batches():
    from chainrule.data import load_digits

    d = load_digits(test_size=0.3, seed=0)
    X, y = d.X_train.reshape(-1, 1, 8, 8), d.y_train
    perm = np.random.default_rng(0).permutation(len(X))
    n = len(X) // STEP_BATCH
    return [(X[perm[i * STEP_BATCH:(i + 1) * STEP_BATCH]], y[perm[i * STEP_BATCH:(i + 1) *
                                                              STEP_BATCH]]) for i in range(n)]


def cycling_step(model, opt, loss_fn, data):
    """A training step per call (chainrule's or PyTorch's objects alike), on the batches of
    ``data`` in turn; it returns the loss."""
    i = [0]

    def step():
        xb, yb = data[i[0] % len(data)]
        i[0] += 1
        loss = loss_fn(model(xb), yb)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss.item()

    return step


def chainrule_step(batches):
    from chainrule import nn
    from chainrule.cli.recipes import Config, build_model

    cr.manual_seed(0)
    model = build_model(Config(model="cnn"))
    opt = cr.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=0.1)
    data = [(cr.tensor(x), cr.tensor(y)) for x, y in batches]
    return model, cycling_step(model, opt, loss_fn, data)


def torch_step(batches, state):
    t = torch.nn
    model = t.Sequential(t.Conv2d(1, 16, 3, padding=1), t.BatchNorm2d(16), t.ReLU(),
                         t.Conv2d(16, 32, 3, padding=1), t.BatchNorm2d(32), t.ReLU(),
                         t.MaxPool2d(2), t.Flatten(), t.Linear(512, 128), t.ReLU(),
                         t.Dropout(0.25), t.Linear(128, 10))
    model.load_state_dict({k: torch.from_numpy(v.detach().numpy().copy())
                           for k, v in state.items()})
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = t.CrossEntropyLoss(label_smoothing=0.1)
    data = [(torch.from_numpy(x), torch.from_numpy(y)) for x, y in batches]
    return cycling_step(model, opt, loss_fn, data)


def run(quick=False):
    rows = []
    rng = np.random.default_rng(0)
    repeat, min_sample = (3, 0.02) if quick else (7, 0.1)
    layers = {
        "Conv2d(1->16, 3x3, pad 1), batch 64, fwd+bwd": (1, 16, 1, False),
        "Conv2d(16->32, 3x3), batch 64, fwd+bwd": (16, 32, 0, True),
    }
    for case, (cin, cout, pad, input_grad) in layers.items():
        x = rng.standard_normal((BATCH, cin, 8, 8)).astype(np.float32)
        w = (rng.uniform(-1, 1, (cout, cin, 3, 3)) / np.sqrt(9 * cin)).astype(np.float32)
        b = (rng.uniform(-1, 1, cout) / np.sqrt(9 * cin)).astype(np.float32)
        contenders = {"chainrule": conv_case(cr, cr.nn, x, w, b, pad, input_grad)}
        if torch is not None:
            contenders["torch"] = conv_case(torch, torch.nn, x, w, b, pad, input_grad)
        samples, grads = compare(contenders, repeat=repeat, warmup=3, min_sample=min_sample)
        if torch is not None:  # the same gradients (float32 rounding apart)
            for c, t in zip(grads["chainrule"], grads["torch"]):
                np.testing.assert_allclose(to_numpy(c), to_numpy(t), rtol=1e-4, atol=1e-3)
        rows.append(row(NAME, case, "us", 1e-6, samples))

    batches = digits_batches()
    model, step = chainrule_step(batches)
    contenders = {"chainrule": step}
    if torch is not None:
        contenders["torch"] = torch_step(batches, model.state_dict())
    samples, losses = compare(contenders, repeat=repeat, warmup=3, min_sample=min_sample)
    note = ", ".join(f"{k} loss {v:.3f}" for k, v in losses.items())
    rows.append(row(NAME, f"digits CNN training step, batch {STEP_BATCH}", "us/step", 1e-6,
                    samples, note=f"Adam; last {note} (dropout masks differ)"))
    return rows
