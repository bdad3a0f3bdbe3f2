"""rnn: the issue's LSTM training step, chainrule against PyTorch (CPU) in the same process.

One training step of a 2-layer LSTM (input 128, hidden 128), sequence 50, batch 32, float32:
forward over the sequence, a Linear(128 -> 10) head on the last step's output, cross-entropy,
backward, Adam. Same initial weights (PyTorch's state_dict loaded into chainrule), same
data; the loss of the first step is checked to agree before timing. Reported in milliseconds
per step.
"""

import numpy as np
from _timing import compare, row

import chainrule as cr

try:
    import torch
except ImportError:
    torch = None

NAME = "rnn"
T, B, I, H, LAYERS, CLASSES = 50, 32, 128, 128, 2, 10


def make_step(lib, nn, F, x, y, state):
    lstm, head = nn.LSTM(I, H, LAYERS), nn.Linear(H, CLASSES)
    if state is not None:
        lstm.load_state_dict({k: lib.tensor(v) for k, v in state[0].items()})
        head.load_state_dict({k: lib.tensor(v) for k, v in state[1].items()})
    opt = lib.optim.Adam(list(lstm.parameters()) + list(head.parameters()), lr=1e-3)
    xt, yt = lib.tensor(x), lib.tensor(y)

    def step():
        out, _ = lstm(xt)
        loss = F.cross_entropy(head(out[-1]), yt)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss.item()

    return (lstm, head), step


def _state(m):
    return {k: v.detach().numpy().copy() for k, v in m.state_dict().items()}


def run(quick=False):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((T, B, I)).astype(np.float32)
    y = rng.integers(0, CLASSES, B)
    repeat, min_sample = (3, 0.05) if quick else (5, 0.2)
    cr.manual_seed(0)
    contenders, state, first = {}, None, {}
    if torch is not None:
        torch.manual_seed(0)
        mods, contenders["torch"] = make_step(torch, torch.nn, torch.nn.functional, x, y, None)
        state = tuple(_state(m) for m in mods)
    _, contenders["chainrule"] = make_step(cr, cr.nn, cr.nn.functional, x, y, state)
    contenders = dict(sorted(contenders.items(), key=lambda kv: kv[0] != "chainrule"))
    for name, fn in contenders.items():
        first[name] = fn()
    if torch is not None:  # the same model and data: the same first loss (float32 rounding)
        np.testing.assert_allclose(first["chainrule"], first["torch"], rtol=1e-4)
    samples, losses = compare(contenders, repeat=repeat, warmup=2, min_sample=min_sample)
    note = ", ".join(f"{k} loss {v:.3f}" for k, v in losses.items())
    return [row(NAME, f"LSTM {LAYERS}x{H}, seq {T}, batch {B}: fwd+bwd+Adam", "ms/step", 1e-3,
                samples, note=f"float32; last {note}")]
