"""transformer_step: one training step of a small causal transformer language model.

4 layers (nn.TransformerEncoderLayer, post-norm, ReLU), 4 heads, d_model 128, feed-forward
512, dropout 0.1, batch_first; token embedding (a parameter indexed by the tokens) plus a
learned position embedding in, a linear head over a 64-token vocabulary out; a batch of 16
sequences of 64 tokens, causal mask (Transformer.generate_square_subsequent_mask), softmax
cross-entropy against the next tokens, Adam (lr 1e-3), float32. Same initial weights in both
contenders (PyTorch's state dict loaded into chainrule). Reported per step (forward +
backward + Adam).
"""

import numpy as np
from _timing import compare, row

import chainrule as cr

try:
    import torch
except ImportError:
    torch = None

NAME = "transformer_step"
LAYERS, HEADS, WIDTH, FF, VOCAB, BATCH, SEQ, DROPOUT = 4, 4, 128, 512, 64, 16, 64, 0.1


def _model(nn, lib):
    class LM(nn.Module):
        def __init__(self):
            super().__init__()
            self.tok = nn.Parameter(lib.randn(VOCAB, WIDTH) * 0.1)
            self.pos = nn.Parameter(lib.randn(SEQ, WIDTH) * 0.1)
            layer = nn.TransformerEncoderLayer(WIDTH, HEADS, FF, DROPOUT, batch_first=True)
            self.encoder = nn.TransformerEncoder(layer, LAYERS, enable_nested_tensor=False)
            self.head = nn.Linear(WIDTH, VOCAB)
            self.mask = nn.Transformer.generate_square_subsequent_mask(SEQ)

        def forward(self, idx):
            x = self.tok[idx] + self.pos
            return self.head(self.encoder(x, mask=self.mask, is_causal=True))

    return LM()


def steps(lib, nn, F, model, tokens, targets):
    opt = lib.optim.Adam(model.parameters(), lr=1e-3)
    idx, tgt = lib.tensor(tokens), lib.tensor(targets)

    def step():
        logits = model(idx)
        loss = F.cross_entropy(logits.reshape(-1, VOCAB), tgt.reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss.detach()

    return step


def run(quick=False):
    rng = np.random.default_rng(0)
    tokens = rng.integers(0, VOCAB, (BATCH, SEQ))
    targets = np.roll(tokens, -1, axis=1)
    contenders = {}
    cr.manual_seed(0)
    crm = _model(cr.nn, cr)
    if torch is not None:
        torch.manual_seed(0)
        tm = _model(torch.nn, torch)
        crm.load_state_dict({k: cr.tensor(v.detach().numpy())
                             for k, v in tm.state_dict().items()})
    contenders["chainrule"] = steps(cr, cr.nn, cr.nn.functional, crm, tokens, targets)
    if torch is not None:
        contenders["torch"] = steps(torch, torch.nn, torch.nn.functional, tm, tokens, targets)
    samples, _ = compare(contenders, repeat=2 if quick else 5, warmup=2,
                         min_sample=0.0)
    case = f"{LAYERS}x{HEADS}h {WIDTH}w, {BATCH}x{SEQ} tokens"
    return [row(NAME, case, "ms/step", 1e-3, samples,
                note="causal LM step: forward + backward + Adam, float32")]


if __name__ == "__main__":
    for r in run():
        print(r["case"], {k: round(v, 2) for k, v in r["value"].items()}, r["ratios"])
